import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LiveGroup } from '../../src/aws/port.js';
import { canonicalRule, ruleKey, type Rule } from '../../src/model/rule.js';
import { adoptGroups, ingressDocuments, policyNames } from '../../src/policy/adopt.js';
import { parsePolicyTexts } from '../../src/policy/index.js';
import { planRegion } from '../../src/reconcile/plan.js';
import { rule, tcp } from '../helpers/fake-ec2.js';

const SCHEMA = 'https://example.test/policy.schema.json';
const OWNER = '123456789012';

function group(id: string, name: string, rules: readonly Rule[], extra: Partial<LiveGroup> = {}): LiveGroup {
  return { groupId: id, groupName: name, vpcId: 'vpc-1', ownerId: OWNER, tags: {}, rules, ...extra };
}

/** The adopted policies, loaded back as the CLI would, and planned against the groups they came from. */
function roundTrip(groups: readonly LiveGroup[]) {
  const adopted = adoptGroups({ region: 'us-east-1', groups, schemaUrl: SCHEMA });
  const loaded = parsePolicyTexts(
    adopted.policies.map((p) => ({ file: p.fileName, text: new TextEncoder().encode(p.text) })),
  );
  if (!loaded.ok) return { adopted, loaded, plans: [] };
  const byName = new Map(adopted.policies.map((p) => [p.group.groupId, p.name]));
  const plans = planRegion({
    account: OWNER,
    region: 'us-east-1',
    policies: loaded.policies,
    read: {
      groups: new Map(
        groups
          .filter((g) => g.rules.length > 0)
          .map((g) => [g.groupId, { group: g, policies: new Set([byName.get(g.groupId) ?? '']) }]),
      ),
      readFailures: [],
      prefixLists: new Map(),
    },
    maxRulesPerGroup: 1000,
  });
  return { adopted, loaded, plans };
}

describe('policy names for imported groups', () => {
  it('makes group names valid policy names and appends the group ID where two would collide', () => {
    const names = policyNames([
      group('sg-0000000000000000a', 'default', []),
      group('sg-0000000000000000b', 'default', []),
      group('sg-0000000000000000c', 'Web Servers (prod)', []),
      group('sg-0000000000000000d', '***', []),
      group('sg-0000000000000000e', 'API', []),
      group('sg-0000000000000000f', 'api', []),
      group('sg-00000000000000010', 'x'.repeat(80), []),
    ]);
    expect(Object.fromEntries(names)).toEqual({
      'sg-0000000000000000a': 'default-sg-0000000000000000a',
      'sg-0000000000000000b': 'default-sg-0000000000000000b',
      'sg-0000000000000000c': 'web-servers-prod',
      'sg-0000000000000000d': 'sg-0000000000000000d',
      'sg-0000000000000000e': 'api-sg-0000000000000000e',
      'sg-0000000000000000f': 'api-sg-0000000000000000f',
      'sg-00000000000000010': 'x'.repeat(63),
    });
    for (const name of names.values()) expect(name).toMatch(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/);
  });
});

describe('ingress entries', () => {
  it('folds sources per protocol and ports; a shared description becomes the entry description', () => {
    const g = group('sg-1', 'web', [
      tcp(443, '0.0.0.0/0', 'https'),
      tcp(443, '::/0', 'https'),
      tcp(80, '10.0.0.0/8', 'a'),
      tcp(80, '10.1.0.0/16'),
    ]);
    expect(ingressDocuments(g)).toEqual([
      {
        protocol: 'tcp',
        ports: 80,
        sources: [{ cidr: '10.0.0.0/8', description: 'a' }, { cidr: '10.1.0.0/16' }],
      },
      {
        protocol: 'tcp',
        ports: 443,
        description: 'https',
        sources: [{ cidr: '0.0.0.0/0' }, { cidr: '::/0' }],
      },
    ]);
  });

  it('lists sources in numeric network order, as every plan format does (10.0.2.0/24 before 10.0.10.0/24)', () => {
    const g = group('sg-1', 'web', [
      tcp(22, '2001:db8::/32'),
      tcp(22, '10.0.10.0/24'),
      tcp(22, '100.64.0.0/10'),
      tcp(22, '10.0.2.0/24'),
    ]);
    expect(ingressDocuments(g)[0]?.sources).toEqual([
      { cidr: '10.0.2.0/24' },
      { cidr: '10.0.10.0/24' },
      { cidr: '100.64.0.0/10' },
      { cidr: '2001:db8::/32' },
    ]);
  });

  it('writes self, a cross-account group with account, and peering details', () => {
    const g = group('sg-1', 'web', [
      canonicalRule({
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'securityGroup', value: 'sg-1', userId: OWNER },
      }),
      canonicalRule({
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: {
          kind: 'securityGroup',
          value: 'sg-2',
          userId: '210987654321',
          vpcId: 'vpc-9',
          vpcPeeringConnectionId: 'pcx-1',
        },
      }),
      canonicalRule({
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'securityGroup', value: 'sg-3', userId: OWNER },
      }),
    ]);
    expect(ingressDocuments(g)).toEqual([
      {
        protocol: 'tcp',
        ports: 22,
        sources: [
          { securityGroup: 'self' },
          { securityGroup: 'sg-2', account: '210987654321', vpcId: 'vpc-9', vpcPeeringConnectionId: 'pcx-1' },
          { securityGroup: 'sg-3' },
        ],
      },
    ]);
  });

  it('writes all traffic as all, protocol numbers as numbers, and ICMP types only when not all', () => {
    const g = group('sg-1', 'web', [
      rule('-1', undefined, '10.0.0.0/8'),
      rule('50', undefined, '10.0.0.0/8'),
      rule('icmp', [3, 4], '10.0.0.0/8'),
      rule('icmpv6', [-1, -1], '::/0'),
    ]);
    expect(ingressDocuments(g)).toEqual([
      { protocol: 'icmp', icmp: { type: 3, code: 4 }, sources: [{ cidr: '10.0.0.0/8' }] },
      { protocol: 'icmpv6', sources: [{ cidr: '::/0' }] },
      { protocol: 50, sources: [{ cidr: '10.0.0.0/8' }] },
      { protocol: 'all', sources: [{ cidr: '10.0.0.0/8' }] },
    ]);
  });
});

describe('adoptGroups', () => {
  it('writes no policy for a group without ingress rules, and names it', () => {
    const result = adoptGroups({
      region: 'us-east-1',
      groups: [group('sg-2', 'empty', []), group('sg-1', 'web', [tcp(22, '10.0.0.0/8')])],
      schemaUrl: SCHEMA,
    });
    expect(result.policies.map((p) => p.fileName)).toEqual(['web.yaml']);
    expect(result.withoutIngress.map((g) => g.groupId)).toEqual(['sg-2']);
    expect(result.policies[0]?.text.split('\n')[0]).toBe(`# yaml-language-server: $schema=${SCHEMA}`);
  });

  // Live rules as EC2 could hold them: canonical, unique by identity, descriptions from EC2's
  // character set (the subset allowed for every kind of source).
  const description = fc.option(fc.stringMatching(/^[a-zA-Z0-9 ._:/()#,@+=;{}!$*-]{1,40}$/), {
    nil: undefined,
  });
  const sourceArb = fc.oneof(
    fc
      .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 8, max: 32 }))
      .map(([a, p]) => `${a}.0.0.0/${p}`),
    fc.constantFrom('2001:db8::/32', '::/0', '2001:db8:1234:1a00::/64'),
    fc.constantFrom('pl-0123456789abcdef0', 'pl-00000000000000001'),
    fc.constantFrom('sg-00000000000000001', 'sg-00000000000000002', 'sg-0000000000000000a'),
  );
  const ruleArb = fc
    .tuple(
      fc.constantFrom('tcp', 'udp', 'icmp', 'icmpv6', '-1', '50'),
      fc.integer({ min: 0, max: 65535 }),
      fc.integer({ min: 0, max: 100 }),
      sourceArb,
      description,
    )
    .map(([protocol, from, span, source, text]) => {
      const ports: [number, number] =
        protocol === 'icmp' || protocol === 'icmpv6'
          ? [from % 256, span % 2 === 0 ? -1 : span]
          : [from, Math.min(65535, from + span)];
      return rule(protocol, ports, source, text);
    });
  const groupArb = fc
    .tuple(fc.string({ maxLength: 20 }), fc.array(ruleArb, { maxLength: 12 }))
    .map(([name, rules]) => {
      const unique = new Map(rules.map((r) => [ruleKey(r), r]));
      return group('sg-0000000000000000a', name, [...unique.values()]);
    });

  it('round trip: every adopted policy validates, and plans to nothing missing, no drift, no description drift', () => {
    fc.assert(
      fc.property(groupArb, (g) => {
        const { adopted, loaded, plans } = roundTrip([g]);
        expect(loaded.ok ? [] : loaded.errors).toEqual([]);
        if (g.rules.length === 0) {
          expect(adopted.policies).toEqual([]);
          return;
        }
        expect(plans).toHaveLength(1);
        expect(plans[0]?.missing).toEqual([]);
        expect(plans[0]?.drift).toEqual([]);
        expect(plans[0]?.descriptionDrift).toEqual([]);
        expect(plans[0]?.desired).toHaveLength(g.rules.length);
      }),
      { numRuns: 150 },
    );
  });

  it('gives the same bytes for the same groups, in any order', () => {
    fc.assert(
      fc.property(fc.array(groupArb, { maxLength: 4 }), (groups) => {
        const distinct = groups.map((g, i) => ({ ...g, groupId: `sg-${String(i).padStart(17, '0')}` }));
        const once = adoptGroups({ region: 'us-east-1', groups: distinct, schemaUrl: SCHEMA });
        const again = adoptGroups({
          region: 'us-east-1',
          groups: [...distinct].reverse(),
          schemaUrl: SCHEMA,
        });
        expect(again.policies.map((p) => p.text)).toEqual(once.policies.map((p) => p.text));
        expect(new Set(once.policies.map((p) => p.name)).size).toBe(once.policies.length);
      }),
    );
  });
});
