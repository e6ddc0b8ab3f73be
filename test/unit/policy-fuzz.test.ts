// Property tests: whatever bytes or text a policy file holds, the pure pipeline returns a value
// (never throws), and every error it reports is located in a real file position.
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { PolicyLoadResult } from '../../src/model/policy.js';
import { parsePolicyTexts } from '../../src/policy/index.js';

function expectWellFormed(result: PolicyLoadResult, files: readonly string[]): void {
  if (result.ok) {
    for (const policy of result.policies) {
      expect(files).toContain(policy.file);
      for (const rule of policy.rules) expect(rule.position.line).toBeGreaterThanOrEqual(1);
    }
    return;
  }
  expect(result.errors.length).toBeGreaterThan(0);
  for (const error of result.errors) {
    expect(files).toContain(error.file);
    expect(Number.isInteger(error.line) && error.line >= 1).toBe(true);
    expect(Number.isInteger(error.column) && error.column >= 1).toBe(true);
    expect(typeof error.path).toBe('string');
    expect(error.message.length).toBeGreaterThan(0);
  }
}

const VALID = `apiVersion: sg-reconciler/v1
kind: IngressPolicy
metadata:
  name: fuzz
spec:
  region: us-east-1
  targets:
    - groupName: web
    - tags: { tier: web }
      vpcId: vpc-0abc1234
  ruleTags: { team: platform }
  ingress:
    - protocol: tcp
      ports: "8000-8080"
      description: app
      sources:
        - cidr: 203.0.113.0/24
        - securityGroup: sg-1a2b3c4d
          account: "123456789012"
    - protocol: icmp
      icmp: { type: 8, code: 0 }
      sources: [{ prefixList: pl-0123456789abcdef0 }]
`;

const SEED = parse(VALID) as Record<string, unknown>;

/** Any JSON-like value, to drop into a policy's fields. */
const anyValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string(),
    fc.integer({ min: -100_000, max: 100_000 }),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom(
      'tcp',
      'udp',
      'icmp',
      'all',
      '-1',
      '6',
      '443-80',
      '10.0.0.5/24',
      '::/0',
      'self',
      'sg-1a2b3c4d',
    ),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('from', 'to', 'type', 'code', 'cidr', 'x', 'aws:x'), tie('value'), {
      maxKeys: 3,
    }),
  ),
})).value;

describe('parsePolicyTexts on arbitrary input', () => {
  it('never throws on arbitrary text, and locates every error', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
        expectWellFormed(parsePolicyTexts([{ file: 'fuzz.yaml', text }]), ['fuzz.yaml']);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes, and locates every error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expectWellFormed(parsePolicyTexts([{ file: 'fuzz.yaml', text: bytes }]), ['fuzz.yaml']);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws when a valid policy is cut or spliced with YAML syntax', () => {
    const fragments = fc.constantFrom(
      '\n',
      ':',
      '- ',
      '&a ',
      '*a',
      '[',
      ']',
      '{',
      '}',
      '"',
      "'",
      '#',
      '---\n',
      '\t',
      '  ',
      '!tag ',
      '? ',
    );
    fc.assert(
      fc.property(
        fc.nat(VALID.length),
        fc.nat(VALID.length),
        fc.array(fragments, { maxLength: 4 }),
        (a, b, inserted) => {
          const [from, to] = a <= b ? [a, b] : [b, a];
          const text = VALID.slice(0, from) + inserted.join('') + VALID.slice(to);
          expectWellFormed(parsePolicyTexts([{ file: 'cut.yaml', text }]), ['cut.yaml']);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws when any field of a valid policy holds any value', () => {
    const paths: (string | number)[][] = [
      ['apiVersion'],
      ['metadata'],
      ['metadata', 'name'],
      ['spec', 'region'],
      ['spec', 'targets', 0],
      ['spec', 'targets', 1, 'tags'],
      ['spec', 'ruleTags'],
      ['spec', 'ingress', 0],
      ['spec', 'ingress', 0, 'protocol'],
      ['spec', 'ingress', 0, 'ports'],
      ['spec', 'ingress', 0, 'icmp'],
      ['spec', 'ingress', 0, 'description'],
      ['spec', 'ingress', 0, 'sources', 0],
      ['spec', 'ingress', 0, 'sources', 0, 'cidr'],
      ['spec', 'ingress', 0, 'sources', 1, 'account'],
      ['spec', 'ingress', 1, 'icmp'],
      ['spec', 'ingress', 1, 'protocol'],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...paths), anyValue, (path, value) => {
        const document = structuredClone(SEED);
        let node: Record<string | number, unknown> = document;
        for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
        node[path[path.length - 1] as string | number] = value;
        const text = stringify(document);
        expectWellFormed(parsePolicyTexts([{ file: 'field.yaml', text }]), ['field.yaml']);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts the unmodified seed policy', () => {
    expect(parsePolicyTexts([{ file: 'seed.yaml', text: VALID }]).ok).toBe(true);
  });
});
