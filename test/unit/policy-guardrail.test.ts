// Guardrail documents in the policy loader (SPEC "Guardrails"): the same located, actionable errors
// as IngressPolicy, and the first enforcement point: a desired rule a guardrail denies is an error
// at the rule's source, unless its policy has an exception in force on the day.
import { describe, expect, it } from 'vitest';
import type { PolicyError } from '../../src/model/policy.js';
import { parsePolicyTexts } from '../../src/policy/index.js';

const GUARDRAIL = `apiVersion: sg-reconciler/v1
kind: Guardrail
metadata:
  name: no-internet-ssh
spec:
  deny:
    - protocol: tcp
      ports: [22, "3389"]
      from: internet
  exceptions:
    - policy: break-glass
      expires: 2027-01-31
      reason: incident response, SEC-123
`;

function openSsh(name: string, cidr = '0.0.0.0/0'): string {
  return `apiVersion: sg-reconciler/v1
kind: IngressPolicy
metadata:
  name: ${name}
spec:
  targets: [{ groupName: bastion }]
  ingress:
    - protocol: tcp
      ports: 22
      sources:
        - cidr: 10.0.0.0/8
        - cidr: ${cidr}
`;
}

function errorsOf(files: Record<string, string>, now = '2026-11-30T12:00:00Z'): PolicyError[] {
  const result = parsePolicyTexts(
    Object.entries(files).map(([file, text]) => ({ file, text })),
    { now: new Date(now) },
  );
  return result.ok ? [] : [...result.errors];
}

function guardrail(spec: string): string {
  return `apiVersion: sg-reconciler/v1\nkind: Guardrail\nmetadata:\n  name: g\nspec:\n${spec}`;
}

describe('a denied desired rule', () => {
  it('is an error at the rule source: file, line, column, path, the guardrail and entry, and what to do', () => {
    expect(errorsOf({ 'g.yaml': GUARDRAIL, 'pr.yaml': openSsh('office-ssh') })).toEqual([
      {
        file: 'pr.yaml',
        line: 12,
        column: 11,
        path: 'spec.ingress[0].sources[1]',
        message:
          'tcp 22 from 0.0.0.0/0 is denied by guardrail no-internet-ssh (deny[0] at g.yaml:7:7); narrow the source to the networks that need access, or add to guardrail no-internet-ssh an exception for policy office-ssh with an expires date and a reason',
        guardrail: 'no-internet-ssh',
        guardrailEntry: 0,
      },
    ]);
  });

  it('passes while its policy has an exception, and names the date once the exception has expired', () => {
    const files = { 'g.yaml': GUARDRAIL, 'bg.yaml': openSsh('break-glass', '::/0') };
    expect(errorsOf(files, '2027-01-30T23:59:59Z')).toEqual([]);
    expect(errorsOf(files, '2027-01-31T00:00:00Z')).toEqual([
      expect.objectContaining({
        file: 'bg.yaml',
        path: 'spec.ingress[0].sources[1]',
        message:
          'tcp 22 from ::/0 is denied by guardrail no-internet-ssh (deny[0] at g.yaml:7:7); its exception for policy break-glass expired on 2027-01-31; narrow the source to the networks that need access, or renew the exception with a later expires date',
      }),
    ]);
  });

  it('does not deny networks without a globally reachable address, nor other ports', () => {
    expect(errorsOf({ 'g.yaml': GUARDRAIL, 'p.yaml': openSsh('lan', '100.64.0.0/10') })).toEqual([]);
    const https = openSsh('web', '0.0.0.0/0').replace('ports: 22', 'ports: 443');
    expect(errorsOf({ 'g.yaml': GUARDRAIL, 'p.yaml': https })).toEqual([]);
  });

  it('from: any denies security-group sources too, self included', () => {
    const anyone = guardrail('  deny:\n    - protocol: tcp\n      ports: ["0-1023"]\n      from: any\n');
    const self = openSsh('self-ssh').replace(
      '        - cidr: 0.0.0.0/0\n',
      '        - securityGroup: self\n',
    );
    expect(errorsOf({ 'g.yaml': anyone, 'p.yaml': self }).map((e) => e.path)).toEqual([
      'spec.ingress[0].sources[0]',
      'spec.ingress[0].sources[1]',
    ]);
  });

  it('is reported together with the other errors of its policy, not once they are fixed', () => {
    // A typo'd target and a second entry with its own error: the denial of the clean entry shows now.
    const pr = openSsh('office-ssh')
      .replace('groupName: bastion', 'groupId: bastion')
      .concat('    - protocol: tcpp\n      ports: 22\n      sources:\n        - cidr: 0.0.0.0/0\n');
    expect(
      errorsOf({ 'g.yaml': GUARDRAIL, 'pr.yaml': pr }).map((e) => [e.path, e.message.slice(0, 40)]),
    ).toEqual([
      ['spec.targets[0].groupId', 'groupId "bastion" is not a security grou'],
      ['spec.ingress[0].sources[1]', 'tcp 22 from 0.0.0.0/0 is denied by guard'],
      ['spec.ingress[1].protocol', 'protocol "tcpp" is not a protocol; did y'],
    ]);
    // A source with an error of its own does not hide a denied source beside it in the same entry.
    const sameEntry = openSsh('same-entry').replace(
      '        - cidr: 10.0.0.0/8\n',
      '        - cidr: 10.0.0.1/8\n',
    );
    expect(errorsOf({ 'g.yaml': GUARDRAIL, 'pr.yaml': sameEntry }).map((e) => e.path)).toEqual([
      'spec.ingress[0].sources[0].cidr',
      'spec.ingress[0].sources[1]',
    ]);
    // An error above the entries (no ingress list to trust) checks none of them.
    const broken = openSsh('broken').replace('  ingress:\n', '  ingress: 7\n  x:\n');
    expect(
      errorsOf({ 'g.yaml': GUARDRAIL, 'b.yaml': broken }).some((e) => e.message.includes('denied')),
    ).toBe(false);
  });

  it('warns about an exception for a policy the set does not have', () => {
    const result = parsePolicyTexts([{ file: 'g.yaml', text: GUARDRAIL }]);
    expect(result.ok && result.warnings).toEqual([
      {
        file: 'g.yaml',
        line: 11,
        column: 7,
        path: 'spec.exceptions[0]',
        message:
          'guardrail no-internet-ssh has an exception for policy break-glass, but no IngressPolicy of the set has that name; write the name of an IngressPolicy, or remove the exception',
      },
    ]);
  });

  it('suggests the closest policy name for an exception that names none of the set', () => {
    const result = parsePolicyTexts([
      { file: 'g.yaml', text: GUARDRAIL },
      { file: 'p.yaml', text: openSsh('break-glas', '10.0.0.0/8') },
    ]);
    expect(result.ok && result.warnings).toEqual([
      expect.objectContaining({
        path: 'spec.exceptions[0]',
        message: expect.stringMatching(/; did you mean policy: break-glas\?$/) as unknown,
      }),
    ]);
  });
});

describe('guardrail document errors', () => {
  const cases: [string, string, [number, number, string, string][]][] = [
    [
      'an exception without a date',
      '  deny: [{ from: internet }]\n  exceptions:\n    - policy: p\n      reason: why\n',
      [
        [
          8,
          7,
          'spec.exceptions[0].expires',
          'missing field "expires"; add expires: with the date from which the exception no longer applies, e.g. expires: 2027-01-31; exceptions do not last for ever',
        ],
      ],
    ],
    [
      'a date that is no calendar day',
      '  deny: [{ from: internet }]\n  exceptions:\n    - policy: p\n      expires: 2027-02-30\n      reason: why\n',
      [
        [
          9,
          16,
          'spec.exceptions[0].expires',
          'expires "2027-02-30" is not a calendar date; write a real day as YYYY-MM-DD, e.g. expires: 2027-01-31',
        ],
      ],
    ],
    [
      'one network written without a list',
      '  deny:\n    - from: 0.0.0.0/0\n',
      [
        [
          7,
          13,
          'spec.deny[0].from',
          'from "0.0.0.0/0" is not internet or any; for networks write a list, e.g. from: [0.0.0.0/0]',
        ],
      ],
    ],
    [
      'a word that is neither a keyword nor a network',
      '  deny:\n    - from: everywhere\n',
      [
        [
          7,
          13,
          'spec.deny[0].from',
          'from "everywhere" is not valid; write internet, any, or a list of networks, e.g. from: [0.0.0.0/0]',
        ],
      ],
    ],
    [
      'a misspelt word',
      '  deny:\n    - from: internett\n',
      [[7, 13, 'spec.deny[0].from', 'from "internett" is not valid; did you mean internet?']],
    ],
    [
      'a network with host bits',
      '  deny:\n    - from: [10.0.0.5/8]\n',
      [[7, 14, 'spec.deny[0].from[0]', 'network 10.0.0.5/8 has host bits set; write 10.0.0.0/8']],
    ],
    [
      'ports written as one port',
      '  deny:\n    - ports: 22\n      from: internet\n',
      [
        [
          7,
          14,
          'spec.deny[0].ports',
          'ports must be a list of ports and "from-to" ranges, e.g. ports: [22, 3389, "5900-5910"]',
        ],
      ],
    ],
    [
      'a range that runs backwards',
      '  deny:\n    - ports: ["3389-22"]\n      from: internet\n',
      [
        [
          7,
          15,
          'spec.deny[0].ports[0]',
          'ports entry "3389-22" runs backwards; write the lower port first: "22-3389"',
        ],
      ],
    ],
    [
      'ports with a protocol that has none',
      '  deny:\n    - protocol: icmp\n      ports: [22]\n      from: internet\n',
      [
        [
          8,
          7,
          'spec.deny[0].ports',
          'ports do not apply to protocol icmp; remove ports, or write protocol: tcp or udp (or omit protocol to match every protocol)',
        ],
      ],
    ],
    [
      'a field of an IngressPolicy',
      '  deny: [{ from: any }]\n  ingress: []\n',
      [[7, 3, 'spec.ingress', 'unknown field "ingress"; allowed fields here: description, deny, exceptions']],
    ],
  ];

  it.each(cases)('%s', (_name, spec, expected) => {
    expect(errorsOf({ 'g.yaml': guardrail(spec) })).toEqual(
      expected.map(([line, column, path, message]) => ({ file: 'g.yaml', line, column, path, message })),
    );
  });

  it('a misspelt kind is checked as the kind it is closest to', () => {
    const text = guardrail('  deny: [{ from: any }]\n').replace('kind: Guardrail', 'kind: Guardrails');
    expect(errorsOf({ 'g.yaml': text })).toEqual([
      {
        file: 'g.yaml',
        line: 2,
        column: 7,
        path: 'kind',
        message: 'kind "Guardrails" is not supported; write kind: Guardrail',
      },
    ]);
  });

  it('an unknown kind is checked by the shape of its spec, and one shaped like no kind names every kind', () => {
    const denyList = guardrail('  deny: [{ from: any }]\n').replace('kind: Guardrail', 'kind: DenyList');
    expect(errorsOf({ 'g.yaml': denyList }).map((e) => e.message)).toEqual([
      'kind "DenyList" is not supported; write kind: Guardrail',
    ]);
    const firewall = 'apiVersion: sg-reconciler/v1\nkind: Firewall\nmetadata:\n  name: f\n';
    expect(errorsOf({ 'f.yaml': firewall })).toEqual([
      {
        file: 'f.yaml',
        line: 2,
        column: 7,
        path: 'kind',
        message:
          'kind "Firewall" is not supported; write kind: IngressPolicy (ingress rules for security groups) or kind: Guardrail (rules that no policy may open)',
      },
    ]);
  });

  it("one of our kinds over another kind's spec is one error that names the kind the spec fits", () => {
    const policyAsGuardrail = openSsh('office').replace('kind: IngressPolicy', 'kind: Guardrail');
    expect(errorsOf({ 'p.yaml': policyAsGuardrail })).toEqual([
      {
        file: 'p.yaml',
        line: 2,
        column: 7,
        path: 'kind',
        message:
          'kind Guardrail does not fit this spec: targets and ingress belong to kind IngressPolicy; write kind: IngressPolicy, or give the Guardrail its own spec (deny or exceptions)',
      },
    ]);
    const guardrailAsPolicy = guardrail('  deny: [{ from: any }]\n').replace(
      'kind: Guardrail',
      'kind: IngressPolicy',
    );
    expect(errorsOf({ 'g.yaml': guardrailAsPolicy }).map((e) => e.message)).toEqual([
      'kind IngressPolicy does not fit this spec: deny belongs to kind Guardrail; write kind: Guardrail, or give the IngressPolicy its own spec (targets or ingress)',
    ]);
  });

  it('an account inventory in the policy directory is one error that says to pass it with --accounts', () => {
    const inventory =
      'apiVersion: sg-reconciler/v1\nkind: AccountInventory\naccounts:\n  - id: "111111111111"\n';
    expect(errorsOf({ 'accounts.yaml': inventory })).toEqual([
      {
        file: 'accounts.yaml',
        line: 2,
        column: 7,
        path: 'kind',
        message:
          'kind "AccountInventory" is an account inventory, not a policy: pass it with --accounts FILE ' +
          'and keep it outside the policy directory',
      },
    ]);
  });

  it('guardrail names are unique among guardrails, not across kinds', () => {
    const named = (name: string) =>
      guardrail('  deny: [{ protocol: udp, from: any }]\n').replace('name: g', `name: ${name}`);
    expect(errorsOf({ 'a.yaml': named('shared'), 'p.yaml': openSsh('shared', '10.1.0.0/16') })).toEqual([]);
    expect(errorsOf({ 'a.yaml': named('dup'), 'b.yaml': named('dup') })).toEqual([
      {
        file: 'b.yaml',
        line: 4,
        column: 9,
        path: 'metadata.name',
        message:
          'metadata.name "dup" is already used by the guardrail at a.yaml:4:9; give each guardrail a unique name',
      },
    ]);
  });
});
