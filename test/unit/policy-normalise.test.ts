// Normalisation: one canonical rule per (ingress entry x source), the way EC2 identifies rules,
// with descriptions resolved and positions pointing at the source entries.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/model/policy.js';
import { isSelfSource, ruleKey } from '../../src/model/rule.js';
import { parsePolicyTexts } from '../../src/policy/index.js';

const FILE = 'test/fixtures/policies/valid/spec-example.yaml';

function load(): Policy[] {
  const result = parsePolicyTexts([{ file: FILE, text: readFileSync(FILE, 'utf8') }]);
  if (!result.ok) throw new Error(JSON.stringify(result.errors, null, 2));
  return [...result.policies];
}

const at = (line: number, column: number) => ({ file: FILE, line, column });

describe('normalisePolicy', () => {
  it('normalises the SPEC.md example into one rule per source', () => {
    const [policy] = load();

    expect(policy).toEqual({
      name: 'office-ssh',
      file: FILE,
      position: at(3, 1),
      region: 'us-east-1',
      // Where spec.region is written: where a person fixes a missing region.
      regionPosition: at(8, 11),
      targets: [
        { selector: { kind: 'groupId', groupId: 'sg-903004f8' }, position: at(10, 7) },
        { selector: { kind: 'groupName', groupName: 'web' }, position: at(11, 7) },
        { selector: { kind: 'tags', tags: { tier: 'web' }, vpcId: 'vpc-0abc1234' }, position: at(12, 7) },
      ],
      ruleTags: { team: 'platform' },
      rules: [
        {
          rule: {
            protocol: 'tcp',
            fromPort: 22,
            toPort: 22,
            source: { kind: 'cidr', value: '203.0.113.0/24' },
            description: 'overrides the description of the rule',
          },
          position: at(20, 11),
        },
        {
          rule: {
            protocol: 'tcp',
            fromPort: 22,
            toPort: 22,
            source: { kind: 'cidrIpv6', value: '2001:db8:1234:1a00::/64' },
            description: 'SSH access from the LA office',
          },
          position: at(22, 11),
        },
        {
          rule: {
            protocol: 'tcp',
            fromPort: 22,
            toPort: 22,
            source: { kind: 'prefixList', value: 'pl-0123456789abcdef0' },
            description: 'SSH access from the LA office',
          },
          position: at(23, 11),
        },
        {
          rule: {
            protocol: 'tcp',
            fromPort: 22,
            toPort: 22,
            source: { kind: 'securityGroup', value: 'sg-1a2b3c4d' },
            description: 'SSH access from the LA office',
          },
          position: at(24, 11),
        },
        {
          rule: { protocol: 'icmp', fromPort: 8, toPort: -1, source: { kind: 'cidr', value: '0.0.0.0/0' } },
          position: at(28, 11),
        },
        {
          rule: {
            protocol: '-1',
            fromPort: -1,
            toPort: -1,
            source: { kind: 'securityGroup', value: 'sg-1a2b3c4d' },
          },
          position: at(30, 17),
        },
      ],
    });
  });

  it('canonicalises protocol names, numbers and case, port forms, IPv6 spelling and ICMP defaults', () => {
    const [, policy] = load();

    expect(policy?.name).toBe('peered-database');
    expect(policy?.region).toBeUndefined();
    expect(
      policy?.rules.map((entry) => [
        ruleKey(entry.rule),
        entry.rule.description,
        isSelfSource(entry.rule.source),
      ]),
    ).toEqual([
      ['tcp|5432|5433|securityGroup|sg-0123456789abcdef0', 'app tier (peered)', false],
      ['tcp|5432|5433|securityGroup|self', 'Postgres from the peered app VPC', true],
      ['udp|8000|8100|cidrIpv6|2001:db8::/64', undefined, false],
      ['icmpv6|128|-1|cidrIpv6|::/0', undefined, false],
      ['-1|-1|-1|prefixList|pl-12345678', undefined, false],
    ]);
  });

  it('carries the account, VPC and peering connection of a peered security-group source', () => {
    const [, policy] = load();

    expect(policy?.rules[0]?.rule.source).toEqual({
      kind: 'securityGroup',
      value: 'sg-0123456789abcdef0',
      userId: '123456789012',
      vpcId: 'vpc-0123456789abcdef0',
      vpcPeeringConnectionId: 'pcx-1a2b3c4d',
    });
    expect(policy?.rules[1]?.rule.source).toEqual({ kind: 'securityGroup', value: 'self' });
  });

  it('gives the same rule key to a rule written in equivalent ways', () => {
    const variants = [
      "{ protocol: tcp, ports: 443, sources: [{ cidr: '2001:DB8:0:0::/64' }] }",
      "{ protocol: TCP, ports: '443', sources: [{ cidr: '2001:db8::/64' }] }",
      "{ protocol: 6, ports: { from: 443, to: 443 }, sources: [{ cidr: '2001:0db8:0000::/64' }] }",
      "{ protocol: '6', ports: 443-443, sources: [{ cidr: '2001:db8::0/64' }] }",
    ];
    const keys = variants.map((rule, index) => {
      const text = `apiVersion: sg-reconciler/v1\nkind: IngressPolicy\nmetadata: { name: v${index} }\nspec:\n  targets: [{ groupName: web }]\n  ingress:\n    - ${rule}\n`;
      const result = parsePolicyTexts([{ file: `v${index}.yaml`, text }]);
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      return result.policies[0]?.rules.map((entry) => ruleKey(entry.rule));
    });

    expect(keys).toEqual(variants.map(() => ['tcp|443|443|cidrIpv6|2001:db8::/64']));
  });
});
