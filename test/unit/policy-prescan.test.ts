// The linear pre-scan that bounds what the yaml library is given: nesting depth and values per
// document, located, with no false findings on real policies (quoted, block and commented text).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MAX_DOCUMENT_VALUES,
  MAX_DOCUMENTS,
  MAX_FILE_VALUES,
  MAX_NESTING_DEPTH,
  prescanYaml,
} from '../../src/policy/prescan.js';

/** 1-based line and column of a finding, as errors show them. */
function at(text: string): { line: number; column: number; message: string } | undefined {
  const finding = prescanYaml(text);
  if (finding === undefined) return undefined;
  const before = text.slice(0, finding.offset);
  const line = before.split('\n').length;
  return { line, column: finding.offset - before.lastIndexOf('\n'), message: finding.message };
}

const POLICY = [
  'apiVersion: sg-reconciler/v1',
  'kind: IngressPolicy',
  'metadata:',
  '  name: web',
  'spec:',
  '  targets:',
  '    - groupId: sg-0123456789abcdef0',
  '  ingress:',
  '    - protocol: tcp',
  '      ports: 443',
  '      sources:',
  '        - cidr: 203.0.113.0/24',
  '',
].join('\n');

const N = MAX_NESTING_DEPTH;

describe('prescanYaml: nesting', () => {
  it.each([
    {
      title: 'flow sequences in a policy field',
      text: POLICY.replace(
        '  ingress:\n',
        `  ruleTags: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n  ingress:\n`,
      ),
      line: 8,
      column: 13 + N - 2,
    },
    {
      title: 'flow mappings',
      text: `${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}\n`,
      line: 1,
      column: 1 + 4 * N,
    },
    { title: 'compact block sequences', text: `${'- '.repeat(10_000)}x\n`, line: 1, column: 2 * N + 1 },
    {
      title: 'indented block mappings',
      text: Array.from({ length: 1_000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n',
      line: N + 1,
      column: N + 1,
    },
    {
      title: 'one level past the limit',
      text: `${'['.repeat(N + 1)}${']'.repeat(N + 1)}\n`,
      line: 1,
      column: N + 1,
    },
    {
      title: 'a flow collection spread over lines',
      text: `a:\n${Array.from({ length: N + 5 }, () => '  [').join('\n')}\n`,
      line: N + 1,
      column: 3,
    },
    {
      title: 'nesting after a block scalar, in a sibling key',
      text: `a:\n  b: |\n    [[[[ text ]]]]\n  c: ${'['.repeat(N)}\n`,
      line: 4,
      column: 6 + N - 2,
    },
    {
      title: 'sequences and mappings alternating (- k: - k: ...)',
      text: Array.from({ length: 100 }, (_, i) => `${' '.repeat(4 * i)}- k:`).join('\n') + ' 1\n',
      line: N / 2 + 1,
      column: 4 * (N / 2) + 1,
    },
  ])('finds $title too deep, where the limit is passed', ({ text, line, column }) => {
    expect(at(text)).toEqual({
      line,
      column,
      message: expect.stringContaining(`more than ${N} levels deep`),
    });
  });

  it(`accepts exactly ${N} levels`, () => {
    expect(at(`${'['.repeat(N)}${']'.repeat(N)}\n`)).toBeUndefined();
    expect(at(`${'- '.repeat(N)}x\n`)).toBeUndefined();
  });

  it('ignores brackets in quoted, block and plain scalars and in comments', () => {
    const deep = '['.repeat(N + 10);
    const text = [
      `a: "${deep}"`,
      `b: '${deep} it''s'`,
      `c: "multi ${deep}`,
      `   line ${deep}"`,
      `d: |`,
      `  ${deep}`,
      `  - ${'- '.repeat(N + 10)}`,
      `e: plain${deep}`,
      `f: 1 # ${deep}`,
      `# ${deep}`,
      `g: >-`,
      `    ${deep}`,
      '',
    ].join('\n');
    expect(at(text)).toBeUndefined();
  });

  it('finds nothing in the example policies or in a large real set', () => {
    for (const file of readdirSync('policies').filter((f) => f.endsWith('.yaml'))) {
      expect(at(readFileSync(join('policies', file), 'utf8'))).toBeUndefined();
    }
    const many = Array.from({ length: 1_000 }, (_, i) => POLICY.replace('name: web', `name: web-${i}`));
    expect(at(many.join('---\n'))).toBeUndefined();
  });
});

describe('prescanYaml: size of a document and of a file', () => {
  it(`refuses a document of more than ${MAX_DOCUMENT_VALUES} values, at the first one past the limit`, () => {
    const flow = `[${'1,'.repeat(MAX_DOCUMENT_VALUES + 10)}1]\n`;
    expect(at(flow)).toEqual({
      line: 1,
      column: 1 + 2 * MAX_DOCUMENT_VALUES,
      message: expect.stringContaining(`more than ${MAX_DOCUMENT_VALUES} values`),
    });
    const block = '- 1\n'.repeat(MAX_DOCUMENT_VALUES + 1);
    // The sequence itself is one value, so the 20,000th item is the first past the limit.
    expect(at(block)).toMatchObject({ line: MAX_DOCUMENT_VALUES, column: 3 });
  });

  it('counts values per document: many small documents are fine', () => {
    const doc = `${'- 1\n'.repeat(MAX_DOCUMENT_VALUES / 2)}`;
    expect(at(`${doc}---\n${doc}---\n${doc}`)).toBeUndefined();
  });

  it(`refuses a file of more than ${MAX_FILE_VALUES} values in all its documents`, () => {
    const doc = `${'- 1\n'.repeat(MAX_DOCUMENT_VALUES - 1)}---\n`;
    const finding = at(doc.repeat(Math.ceil(MAX_FILE_VALUES / MAX_DOCUMENT_VALUES) + 1));
    expect(finding).toMatchObject({
      message: expect.stringContaining(`more than ${MAX_FILE_VALUES} values`),
    });
    // Each document is one line per value (the sequence and its items less one, plus `---`).
    expect(finding?.line).toBe(MAX_FILE_VALUES + 1);
  });

  it(`refuses a file of more than ${MAX_DOCUMENTS} documents`, () => {
    expect(at('---\n'.repeat(MAX_DOCUMENTS + 5))).toEqual({
      line: MAX_DOCUMENTS + 1,
      column: 1,
      message: expect.stringContaining(`more than ${MAX_DOCUMENTS} YAML documents`),
    });
  });
});
