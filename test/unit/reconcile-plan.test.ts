import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LiveGroup, PrefixListInfo } from '../../src/model/group.js';
import type { Policy } from '../../src/model/policy.js';
import type { LiveRule, Rule, RuleFields } from '../../src/model/rule.js';
import { ruleKey } from '../../src/model/rule.js';
import { buildPlan, planRegion } from '../../src/reconcile/plan.js';
import type { GroupRead, ReadFailure, RegionRead } from '../../src/reconcile/types.js';
import { policy, rule, selfRule, tcp } from '../helpers/fake-ec2.js';
import { canonicalRules } from '../helpers/rules.js';

const REGION = 'us-east-1';

function group(id: string, rules: readonly LiveRule[], extra: Partial<LiveGroup> = {}): LiveGroup {
  return { groupId: id, groupName: id, vpcId: 'vpc-1', ownerId: '123456789012', tags: {}, rules, ...extra };
}

function read(
  entries: readonly (readonly [LiveGroup, readonly string[]])[],
  options: { prefixLists?: Map<string, PrefixListInfo>; readFailures?: ReadFailure[] } = {},
): RegionRead {
  return {
    region: REGION,
    groups: new Map<string, GroupRead>(
      entries.map(([g, names]) => [g.groupId, { group: g, policies: new Set(names) }]),
    ),
    unresolved: [],
    readFailures: options.readFailures ?? [],
    prefixLists: options.prefixLists ?? new Map(),
    prefixListFailure: undefined,
    readsSucceeded: 1,
  };
}

function plan1(
  policies: readonly Policy[],
  live: LiveGroup,
  options: Parameters<typeof read>[1] = {},
  max = 60,
) {
  const groups = planRegion({
    account: '111111111111',
    region: REGION,
    policies,
    read: read([[live, policies.map((p) => p.name)]], options),
    maxRulesPerGroup: max,
  });
  expect(groups).toHaveLength(1);
  const [only] = groups;
  if (only === undefined) throw new Error('no group planned');
  return only;
}

const keys = (rules: readonly { rule: Rule }[] | readonly Rule[]): string[] =>
  rules.map((r) => ruleKey('rule' in r ? r.rule : r));

/** `n` distinct IPv4 (or IPv6) tcp/443 rules. */
function many(n: number, family: 'ipv4' | 'ipv6' = 'ipv4'): Rule[] {
  return Array.from({ length: n }, (_, i) =>
    tcp(
      443,
      family === 'ipv4' ? `10.${Math.floor(i / 256)}.${i % 256}.0/24` : `2001:db8:${i.toString(16)}::/48`,
    ),
  );
}

describe('planRegion: what is missing', () => {
  const cases: {
    name: string;
    desired: Rule[];
    /** Live rules as EC2 may spell them; the read edge canonicalises them (canonicalRule) as the port does. */
    live: RuleFields[];
    missing: Rule[];
    drift: Rule[];
    descriptionDrift?: number;
  }[] = [
    {
      name: 'a desired rule with no live rule of its identity is missing',
      desired: [tcp(22, '10.0.0.0/8')],
      live: [tcp(80, '10.0.0.0/8')],
      missing: [tcp(22, '10.0.0.0/8')],
      drift: [tcp(80, '10.0.0.0/8')],
    },
    {
      name: 'a rule already live is not missing, and a live rule nobody declares is drift',
      desired: [tcp(22, '10.0.0.0/8')],
      live: [tcp(22, '10.0.0.0/8'), tcp(3389, '0.0.0.0/0')],
      missing: [],
      drift: [tcp(3389, '0.0.0.0/0')],
    },
    {
      name: 'protocol numbers and names are one protocol, and ports of "all" are ignored',
      desired: [rule('all', undefined, '10.0.0.0/8'), rule('tcp', 443, '10.1.0.0/16')],
      live: [
        { protocol: '-1', fromPort: 0, toPort: 65535, source: { kind: 'cidr', value: '10.0.0.0/8' } },
        { protocol: '6', fromPort: 443, toPort: 443, source: { kind: 'cidr', value: '10.1.0.0/16' } },
      ],
      missing: [],
      drift: [],
    },
    {
      name: 'IPv6 networks compare in canonical form',
      desired: [tcp(443, '2001:db8::/64')],
      live: [
        {
          protocol: 'tcp',
          fromPort: 443,
          toPort: 443,
          source: { kind: 'cidrIpv6', value: '2001:DB8:0:0::/64' },
        },
      ],
      missing: [],
      drift: [],
    },
    {
      name: 'the port range is part of identity',
      desired: [tcp([8000, 8080], '10.0.0.0/8')],
      live: [tcp([8000, 8081], '10.0.0.0/8')],
      missing: [tcp([8000, 8080], '10.0.0.0/8')],
      drift: [tcp([8000, 8081], '10.0.0.0/8')],
    },
    {
      name: 'ICMP type/code is part of identity; all types implies all codes',
      desired: [rule('icmp', [8, -1], '10.0.0.0/8'), rule('icmp', [-1, 5], '10.2.0.0/16')],
      live: [rule('icmp', [8, 0], '10.0.0.0/8'), rule('icmp', [-1, -1], '10.2.0.0/16')],
      missing: [rule('icmp', [8, -1], '10.0.0.0/8')],
      drift: [rule('icmp', [8, 0], '10.0.0.0/8')],
    },
    {
      name: 'the description is not identity: a different one is description drift, not missing',
      desired: [tcp(22, '10.0.0.0/8', 'office')],
      live: [tcp(22, '10.0.0.0/8', 'old office')],
      missing: [],
      drift: [],
      descriptionDrift: 1,
    },
    {
      name: 'no description and an empty description are the same',
      desired: [tcp(22, '10.0.0.0/8')],
      live: [tcp(22, '10.0.0.0/8', '')],
      missing: [],
      drift: [],
      descriptionDrift: 0,
    },
  ];

  it.each(cases)('$name', ({ desired, live, missing, drift, descriptionDrift }) => {
    const p = policy({ name: 'office', targets: ['sg-1'], rules: desired });
    const planned = plan1([p], group('sg-1', canonicalRules(live)));
    expect(keys(planned.missing)).toEqual(keys(missing).sort());
    expect(keys(planned.drift)).toEqual(keys(drift).sort());
    expect(planned.descriptionDrift).toHaveLength(descriptionDrift ?? 0);
  });

  it('reports the live and desired descriptions of a description drift', () => {
    const p = policy({ name: 'office', targets: ['sg-1'], rules: [tcp(22, '10.0.0.0/8', 'office')] });
    const planned = plan1([p], group('sg-1', [{ ...tcp(22, '10.0.0.0/8', 'old'), ruleId: 'sgr-1' }]));
    expect(planned.descriptionDrift).toEqual([
      {
        desired: expect.objectContaining({ policy: 'office', rule: tcp(22, '10.0.0.0/8', 'office') }),
        live: expect.objectContaining({ description: 'old', ruleId: 'sgr-1' }),
      },
    ]);
  });

  it('the same rule from two policies is one desired rule, owned by the first policy by name', () => {
    const zeta = policy({
      name: 'zeta',
      targets: ['sg-1'],
      rules: [tcp(22, '10.0.0.0/8', 'from zeta')],
      ruleTags: { team: 'z' },
    });
    const alpha = policy({
      name: 'alpha',
      targets: ['sg-1'],
      rules: [tcp(22, '10.0.0.0/8', 'from alpha')],
      ruleTags: { team: 'a' },
    });
    const planned = plan1([zeta, alpha], group('sg-1', []));
    expect(planned.desired).toEqual([
      {
        account: '111111111111',
        region: REGION,
        groupId: 'sg-1',
        rule: tcp(22, '10.0.0.0/8', 'from alpha'),
        policy: 'alpha',
        policies: ['alpha', 'zeta'],
        tags: { team: 'a', 'managed-by': 'sg-reconciler', 'sg-reconciler/policy': 'alpha' },
      },
    ]);
    expect(planned.missing).toEqual(planned.desired);
    expect(planned.policies).toEqual(['alpha', 'zeta']);
  });

  it('the contract tags win over ruleTags that try to set them', () => {
    const p = policy({
      name: 'p',
      targets: ['sg-1'],
      rules: [tcp(22, '10.0.0.0/8')],
      ruleTags: { 'managed-by': 'someone-else', owner: 'me' },
    });
    expect(plan1([p], group('sg-1', [])).desired[0]?.tags).toEqual({
      'managed-by': 'sg-reconciler',
      'sg-reconciler/policy': 'p',
      owner: 'me',
    });
  });

  it('`self` is bound to each target group', () => {
    const p = policy({ name: 'mesh', targets: ['sg-1', 'sg-2'], rules: [selfRule('tcp', 7946)] });
    const groups = planRegion({
      account: '111111111111',
      region: REGION,
      policies: [p],
      read: read([
        [group('sg-2', [tcp(7946, 'sg-2')]), ['mesh']],
        [group('sg-1', []), ['mesh']],
      ]),
      maxRulesPerGroup: 60,
    });
    expect(groups.map((g) => g.group.groupId)).toEqual(['sg-1', 'sg-2']);
    expect(groups[0]?.missing.map((m) => m.rule.source)).toEqual([{ kind: 'securityGroup', value: 'sg-1' }]);
    expect(groups[1]?.missing).toEqual([]);
    expect(groups[1]?.drift).toEqual([]);
  });

  it('only the policies that target a group contribute to it', () => {
    const a = policy({ name: 'a', targets: ['sg-1'], rules: [tcp(22, '10.0.0.0/8')] });
    const b = policy({ name: 'b', targets: ['sg-2'], rules: [tcp(80, '10.0.0.0/8')] });
    const groups = planRegion({
      account: '111111111111',
      region: REGION,
      policies: [a, b],
      read: read([
        [group('sg-1', []), ['a']],
        [group('sg-2', []), ['b']],
      ]),
      maxRulesPerGroup: 60,
    });
    expect(groups.map((g) => keys(g.missing))).toEqual([
      [ruleKey(tcp(22, '10.0.0.0/8'))],
      [ruleKey(tcp(80, '10.0.0.0/8'))],
    ]);
  });

  it('rules of a policy whose targets could not be read are not reported as drift', () => {
    const a = policy({ name: 'a', targets: ['sg-1'], rules: [tcp(22, '10.0.0.0/8')] });
    const b = policy({ name: 'b', targets: [{ tags: { tier: 'web' } }], rules: [tcp(443, '0.0.0.0/0')] });
    const failure: ReadFailure = {
      region: REGION,
      errorCode: 'RequestLimitExceeded',
      error: 'Request limit exceeded.',
      policies: ['b'],
      targets: ['tags{tier=web}'],
    };
    const groups = planRegion({
      account: '111111111111',
      region: REGION,
      policies: [a, b],
      read: read([[group('sg-1', [tcp(443, '0.0.0.0/0'), tcp(25, '0.0.0.0/0')]), ['a']]], {
        readFailures: [failure],
      }),
      maxRulesPerGroup: 60,
    });
    expect(keys(groups[0]?.drift ?? [])).toEqual([ruleKey(tcp(25, '0.0.0.0/0'))]);
    expect(keys(groups[0]?.missing ?? [])).toEqual([ruleKey(tcp(22, '10.0.0.0/8'))]);
  });

  it('output is sorted: groups by region then group ID, rules in numeric rule order', () => {
    const p = policy({
      name: 'p',
      targets: ['sg-b', 'sg-a'],
      rules: [tcp(443, '10.0.0.0/8'), tcp(22, '10.0.0.0/8'), tcp(80, '10.0.0.0/8')],
    });
    const plan = buildPlan({
      maxRulesPerGroup: 60,
      regions: [
        {
          account: '111111111111',
          region: 'us-west-2',
          policies: [p],
          read: { ...read([[group('sg-c', []), ['p']]]), region: 'us-west-2' },
        },
        {
          account: '111111111111',
          region: 'eu-west-1',
          policies: [p],
          read: read([
            [group('sg-b', [tcp(8080, '10.0.0.0/8'), tcp(1, '10.0.0.0/8')]), ['p']],
            [group('sg-a', []), ['p']],
          ]),
        },
      ],
    });
    expect(plan.groups.map((g) => `${g.region}/${g.group.groupId}`)).toEqual([
      'eu-west-1/sg-a',
      'eu-west-1/sg-b',
      'us-west-2/sg-c',
    ]);
    // Ports compare as numbers (22, 80, 443), not as text (22, 443, 80): model/order.ts.
    for (const g of plan.groups) expect(g.missing.map((d) => d.rule.fromPort)).toEqual([22, 80, 443]);
    expect(plan.groups[1]?.drift.map((r) => r.fromPort)).toEqual([1, 8080]);
  });
});

describe('planRegion: quota projection', () => {
  const pl = (id: string, maxEntries: number, addressFamily: 'IPv4' | 'IPv6' | undefined) =>
    [id, { maxEntries, addressFamily }] as const;

  const cases: {
    name: string;
    live: Rule[];
    desired: Rule[];
    prefixLists?: Map<string, PrefixListInfo>;
    ipv4: [number, number];
    ipv6: [number, number];
    exceeded: boolean;
    unknownPrefixLists?: string[];
  }[] = [
    {
      name: 'IPv4: 58 live + 3 missing goes over 60',
      live: many(58),
      desired: many(61),
      ipv4: [58, 61],
      ipv6: [0, 0],
      exceeded: true,
    },
    {
      name: 'IPv4: 57 live + 3 missing is exactly 60, which fits',
      live: many(57),
      desired: many(60),
      ipv4: [57, 60],
      ipv6: [0, 0],
      exceeded: false,
    },
    {
      name: 'IPv6 counts separately: 60 IPv4 live + 2 IPv6 missing fits',
      live: many(60),
      desired: [...many(60), ...many(2, 'ipv6')],
      ipv4: [60, 60],
      ipv6: [0, 2],
      exceeded: false,
    },
    {
      name: 'IPv6 over the limit on its own',
      live: many(59, 'ipv6'),
      desired: many(61, 'ipv6'),
      ipv4: [0, 0],
      ipv6: [59, 61],
      exceeded: true,
    },
    {
      name: 'a security-group reference counts in both families',
      live: many(60, 'ipv6'),
      desired: [tcp(5432, 'sg-0aaa')],
      ipv4: [0, 1],
      ipv6: [60, 61],
      exceeded: true,
    },
    {
      name: 'a prefix-list rule weighs its max entries in its family',
      live: many(51),
      desired: [tcp(443, 'pl-0aa')],
      prefixLists: new Map([pl('pl-0aa', 10, 'IPv4')]),
      ipv4: [51, 61],
      ipv6: [0, 0],
      exceeded: true,
    },
    {
      name: 'an IPv6 prefix list does not weigh on IPv4',
      live: many(51),
      desired: [tcp(443, 'pl-0bb')],
      prefixLists: new Map([pl('pl-0bb', 10, 'IPv6')]),
      ipv4: [51, 51],
      ipv6: [0, 10],
      exceeded: false,
    },
    {
      name: 'a live prefix-list rule weighs its max entries too',
      live: [tcp(443, 'pl-0cc'), ...many(20)],
      desired: [tcp(22, '10.9.9.0/24')],
      prefixLists: new Map([pl('pl-0cc', 40, 'IPv4')]),
      ipv4: [60, 61],
      ipv6: [0, 0],
      exceeded: true,
    },
    {
      name: 'a prefix list that could not be sized weighs one in both families and is flagged',
      live: [],
      desired: [tcp(443, 'pl-0dd')],
      ipv4: [0, 1],
      ipv6: [0, 1],
      exceeded: false,
      unknownPrefixLists: ['pl-0dd'],
    },
    {
      name: 'a group already over the limit with nothing missing is not failed',
      live: many(65),
      desired: many(10),
      ipv4: [65, 65],
      ipv6: [0, 0],
      exceeded: false,
    },
    {
      name: 'over the limit in IPv6 does not fail IPv4 additions that fit',
      live: many(62, 'ipv6'),
      desired: [tcp(22, '10.0.0.0/8')],
      ipv4: [0, 1],
      ipv6: [62, 62],
      exceeded: false,
    },
  ];

  it.each(cases)('$name', ({ live, desired, prefixLists, ipv4, ipv6, exceeded, unknownPrefixLists }) => {
    const p = policy({ name: 'p', targets: ['sg-1'], rules: desired });
    const { quota } = plan1([p], group('sg-1', live), prefixLists ? { prefixLists } : {});
    expect(quota).toEqual({
      limit: 60,
      ipv4: { current: ipv4[0], projected: ipv4[1] },
      ipv6: { current: ipv6[0], projected: ipv6[1] },
      exceeded,
      ...(unknownPrefixLists ? { unknownPrefixLists } : {}),
    });
  });

  it('projects against the configured limit', () => {
    const p = policy({ name: 'p', targets: ['sg-1'], rules: many(6) });
    expect(plan1([p], group('sg-1', many(3)), {}, 5).quota.exceeded).toBe(true);
    expect(plan1([p], group('sg-1', many(3)), {}, 6).quota.exceeded).toBe(false);
  });
});

describe('planRegion: properties', () => {
  const arbRule = fc
    .record({
      proto: fc.constantFrom('tcp', '6', 'udp', 'icmp', '-1', 'all', '47'),
      port: fc.integer({ min: 0, max: 4 }),
      net: fc.integer({ min: 0, max: 5 }),
      v6: fc.boolean(),
    })
    .map(({ proto, port, net, v6 }) =>
      rule(
        proto,
        proto === 'icmp' ? [port, -1] : [port, port + 1],
        v6 ? `2001:db8:${net}::/48` : `10.${net}.0.0/16`,
      ),
    );

  it('missing and present partition the desired rules; applying the missing leaves nothing missing', () => {
    fc.assert(
      fc.property(
        fc.array(arbRule, { maxLength: 12 }),
        fc.array(arbRule, { maxLength: 12 }),
        (desired, live) => {
          const p = policy({ name: 'p', targets: ['sg-1'], rules: desired });
          const first = plan1([p], group('sg-1', live), {}, 1000);
          const liveKeys = new Set(keys(live));
          expect(first.missing.every((m) => !liveKeys.has(ruleKey(m.rule)))).toBe(true);
          expect(first.desired.length).toBe(new Set(keys(desired)).size);
          const present = first.desired.filter((d) => liveKeys.has(ruleKey(d.rule)));
          expect(present.length + first.missing.length).toBe(first.desired.length);
          const second = plan1([p], group('sg-1', [...live, ...first.missing.map((m) => m.rule)]), {}, 1000);
          expect(second.missing).toEqual([]);
          expect(keys(second.drift)).toEqual(keys(first.drift));
        },
      ),
      { numRuns: 300 },
    );
  });
});
