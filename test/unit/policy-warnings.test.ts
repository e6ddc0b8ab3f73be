// Findings that leave a policy valid but that its author almost certainly did not mean: each is a
// located warning (file, line, column, field path, what to write), and the set stays valid.
import { describe, expect, it } from 'vitest';
import type { PolicyWarning } from '../../src/model/policy.js';
import { parsePolicyTexts } from '../../src/policy/index.js';

const FILE = 'policies/office.yaml';

/** A policy whose ingress is `ingress` (YAML, indented under `ingress:`). Line 8 is `ingress:`. */
function policy(ingress: string): string {
  return [
    'apiVersion: sg-reconciler/v1', // 1
    'kind: IngressPolicy', // 2
    'metadata:', // 3
    '  name: office', // 4
    'spec:', // 5
    '  targets:', // 6
    '    - groupId: sg-903004f8', // 7
    '  ingress:', // 8
    ingress,
    '',
  ].join('\n');
}

function warningsOf(text: string): readonly PolicyWarning[] {
  const result = parsePolicyTexts([{ file: FILE, text }]);
  if (!result.ok) throw new Error(`rejected: ${JSON.stringify(result.errors)}`);
  return result.warnings;
}

describe('the same rule twice in one policy', () => {
  it('warns at the second, naming the first and both descriptions', () => {
    const text = policy(
      [
        '    - protocol: tcp', // 9
        '      ports: 22', // 10
        '      description: office', // 11
        '      sources:', // 12
        '        - cidr: 10.0.0.0/8', // 13
        '    - protocol: "6"', // 14  (tcp by number: the same protocol)
        '      ports: "22-22"', // 15
        '      sources:', // 16
        '        - cidr: 10.0.0.0/8', // 17
        '          description: vpn', // 18
      ].join('\n'),
    );
    expect(warningsOf(text)).toEqual([
      {
        file: FILE,
        line: 17,
        column: 11,
        path: 'spec.ingress[1].sources[0]',
        message:
          'tcp 22 from 10.0.0.0/8 is already declared at policies/office.yaml:13:11 with description "office"; ' +
          'EC2 keeps one description per rule and the first one wins, so description "vpn" here is never applied; ' +
          'give both the same description, or remove one',
      },
    ]);
  });

  it('warns when only one of the two has a description, and not when both say the same', () => {
    const text = policy(
      [
        '    - protocol: tcp', // 9
        '      ports: 443', // 10
        '      sources:', // 11
        '        - cidr: 2001:db8::/32', // 12
        '        - cidr: "2001:0db8::/32"', // 13  (the same network, written longer)
        '          description: https', // 14
        '        - cidr: 10.0.0.0/8', // 15
        '          description: same', // 16
        '        - cidr: 10.0.0.0/8', // 17
        '          description: same', // 18
      ].join('\n'),
    );
    expect(warningsOf(text)).toEqual([
      expect.objectContaining({
        line: 13,
        path: 'spec.ingress[0].sources[1]',
        message: expect.stringContaining(
          'with no description; EC2 keeps one description per rule and the first one wins, so description "https" here is never applied',
        ) as unknown,
      }),
    ]);
  });
});

describe('ICMP and the address family of the source', () => {
  it('warns at an IPv6 source of protocol icmp and an IPv4 source of icmpv6, and not otherwise', () => {
    const text = policy(
      [
        '    - protocol: icmp', // 9
        '      icmp: { type: 8 }', // 10
        '      sources:', // 11
        '        - cidr: 10.0.0.0/8', // 12
        '        - cidr: 2001:db8::/32', // 13
        '    - protocol: 58', // 14  (icmpv6 by number)
        '      sources:', // 15
        '        - cidr: 2001:db8::/32', // 16
        '        - cidr: 192.0.2.0/24', // 17
        '        - securityGroup: sg-0123456789abcdef0', // 18
      ].join('\n'),
    );
    expect(warningsOf(text)).toEqual([
      {
        file: FILE,
        line: 13,
        column: 17,
        path: 'spec.ingress[0].sources[1].cidr',
        message:
          'protocol icmp matches IPv4 traffic only, so this rule from the IPv6 network 2001:db8::/32 never matches anything; move this source to a rule with protocol: icmpv6',
      },
      {
        file: FILE,
        line: 17,
        column: 17,
        path: 'spec.ingress[1].sources[1].cidr',
        message:
          'protocol icmpv6 matches IPv6 traffic only, so this rule from the IPv4 network 192.0.2.0/24 never matches anything; move this source to a rule with protocol: icmp',
      },
    ]);
  });

  it('leaves the set valid: the policy applies as written', () => {
    const result = parsePolicyTexts([
      {
        file: FILE,
        text: policy('    - protocol: icmp\n      sources: [{ cidr: "::/0" }]'),
      },
    ]);
    expect(result.ok && result.policies.map((p) => p.name)).toEqual(['office']);
    expect(result.ok && result.warnings).toHaveLength(1);
  });
});
