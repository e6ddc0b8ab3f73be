import type { IpPermission } from '@aws-sdk/client-ec2';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  expandIpPermission,
  expandIpPermissions,
  liveGroupFromSecurityGroup,
  liveRuleFromSecurityGroupRule,
  toIpPermissions,
} from '../../src/aws/permissions.js';
import {
  canonicalRule,
  describeRule,
  ruleKey,
  type Rule,
  type RuleFields,
  type RuleSource,
} from '../../src/model/rule.js';

describe('expandIpPermission', () => {
  const cases: { name: string; permission: IpPermission; expected: RuleFields[] }[] = [
    {
      name: 'a multi-source tcp permission becomes one rule per source, each with its own description',
      permission: {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'office' }, { CidrIp: '192.168.0.0/16' }],
        Ipv6Ranges: [{ CidrIpv6: '2001:db8::/64', Description: 'v6 office' }],
        PrefixListIds: [{ PrefixListId: 'pl-0123456789abcdef0', Description: 'vpn' }],
        UserIdGroupPairs: [{ GroupId: 'sg-1a2b3c4d', UserId: '123456789012', Description: 'bastion' }],
      },
      expected: [
        {
          protocol: 'tcp',
          fromPort: 22,
          toPort: 22,
          source: { kind: 'cidr', value: '10.0.0.0/8' },
          description: 'office',
        },
        { protocol: 'tcp', fromPort: 22, toPort: 22, source: { kind: 'cidr', value: '192.168.0.0/16' } },
        {
          protocol: 'tcp',
          fromPort: 22,
          toPort: 22,
          source: { kind: 'cidrIpv6', value: '2001:db8::/64' },
          description: 'v6 office',
        },
        {
          protocol: 'tcp',
          fromPort: 22,
          toPort: 22,
          source: { kind: 'prefixList', value: 'pl-0123456789abcdef0' },
          description: 'vpn',
        },
        {
          protocol: 'tcp',
          fromPort: 22,
          toPort: 22,
          source: { kind: 'securityGroup', value: 'sg-1a2b3c4d', userId: '123456789012' },
          description: 'bastion',
        },
      ],
    },
    {
      name: 'all traffic without FromPort/ToPort reads back as -1/-1',
      permission: { IpProtocol: '-1', IpRanges: [{ CidrIp: '10.1.0.0/16' }] },
      expected: [
        { protocol: '-1', fromPort: -1, toPort: -1, source: { kind: 'cidr', value: '10.1.0.0/16' } },
      ],
    },
    {
      name: 'protocol numbers of named protocols read back as names (6 = tcp, 17 = udp)',
      permission: { IpProtocol: '6', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      expected: [
        { protocol: 'tcp', fromPort: 443, toPort: 443, source: { kind: 'cidr', value: '0.0.0.0/0' } },
      ],
    },
    {
      name: 'icmpv6 given as 58 is icmpv6, with all types and codes',
      permission: { IpProtocol: '58', FromPort: -1, ToPort: -1, Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
      expected: [
        { protocol: 'icmpv6', fromPort: -1, toPort: -1, source: { kind: 'cidrIpv6', value: '::/0' } },
      ],
    },
    {
      name: 'icmp type/code stay as FromPort/ToPort',
      permission: { IpProtocol: 'icmp', FromPort: 8, ToPort: 0, IpRanges: [{ CidrIp: '10.2.0.0/16' }] },
      expected: [
        { protocol: 'icmp', fromPort: 8, toPort: 0, source: { kind: 'cidr', value: '10.2.0.0/16' } },
      ],
    },
    {
      name: 'another protocol number keeps its number and loses any ports',
      permission: { IpProtocol: '50', FromPort: 0, ToPort: 0, IpRanges: [{ CidrIp: '10.3.0.0/16' }] },
      expected: [
        { protocol: '50', fromPort: -1, toPort: -1, source: { kind: 'cidr', value: '10.3.0.0/16' } },
      ],
    },
    {
      name: 'networks stored verbatim (host bits, upper-case IPv6) read back canonical',
      permission: {
        IpProtocol: 'TCP',
        FromPort: 80,
        ToPort: 80,
        IpRanges: [{ CidrIp: '10.0.0.5/24' }],
        Ipv6Ranges: [{ CidrIpv6: '2001:DB8:0:0:1::5/64' }],
      },
      expected: [
        { protocol: 'tcp', fromPort: 80, toPort: 80, source: { kind: 'cidr', value: '10.0.0.0/24' } },
        { protocol: 'tcp', fromPort: 80, toPort: 80, source: { kind: 'cidrIpv6', value: '2001:db8::/64' } },
      ],
    },
    {
      name: 'a peered group reference keeps its VPC and peering connection',
      permission: {
        IpProtocol: 'udp',
        FromPort: 53,
        ToPort: 53,
        UserIdGroupPairs: [
          {
            GroupId: 'sg-0AAA1111bbbb2222c',
            UserId: '210987654321',
            VpcId: 'vpc-0def',
            VpcPeeringConnectionId: 'pcx-0123',
            PeeringStatus: 'active',
          },
        ],
      },
      expected: [
        {
          protocol: 'udp',
          fromPort: 53,
          toPort: 53,
          source: {
            kind: 'securityGroup',
            value: 'sg-0aaa1111bbbb2222c',
            userId: '210987654321',
            vpcId: 'vpc-0def',
            vpcPeeringConnectionId: 'pcx-0123',
          },
        },
      ],
    },
    {
      name: 'a permission without sources expands to nothing',
      permission: { IpProtocol: 'tcp', FromPort: 1, ToPort: 2, IpRanges: [], UserIdGroupPairs: [] },
      expected: [],
    },
  ];

  for (const { name, permission, expected } of cases) {
    it(name, () => {
      expect(expandIpPermission(permission)).toEqual(expected);
    });
  }

  it('expands every permission of a group in order', () => {
    const rules = expandIpPermissions([
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '10.1.0.0/16' }] },
    ]);
    expect(rules.map(ruleKey)).toEqual(['tcp|22|22|cidr|10.0.0.0/8', '-1|-1|-1|cidr|10.1.0.0/16']);
    expect(expandIpPermissions(undefined)).toEqual([]);
  });

  it("drops the UserId EC2 gives a group of the group's own account, and keeps another account's", () => {
    const permission = {
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
      UserIdGroupPairs: [
        { GroupId: 'sg-own', UserId: '111111111111' },
        { GroupId: 'sg-peer', UserId: '222222222222' },
      ],
    };
    expect(expandIpPermissions([permission], '111111111111').map((r) => describeRule(r))).toEqual([
      'tcp 5432 from sg-own',
      'tcp 5432 from 222222222222/sg-peer',
    ]);
    // Without the owner (never the case for a group EC2 returns) nothing is dropped.
    expect(expandIpPermissions([permission]).map((r) => r.source.userId)).toEqual([
      '111111111111',
      '222222222222',
    ]);
  });

  it('reads a DescribeSecurityGroups group with its own account left out of its group pairs', () => {
    const group = liveGroupFromSecurityGroup({
      GroupId: 'sg-db',
      OwnerId: '111111111111',
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 5432,
          ToPort: 5432,
          UserIdGroupPairs: [{ GroupId: 'sg-app', UserId: '111111111111' }],
        },
      ],
    });
    expect(group?.rules.map((r) => r.source)).toEqual([{ kind: 'securityGroup', value: 'sg-app' }]);
  });
});

describe('liveRuleFromSecurityGroupRule', () => {
  it('maps each source field and keeps the rule ID', () => {
    expect(
      [
        {
          SecurityGroupRuleId: 'sgr-1',
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          CidrIpv4: '10.0.0.5/8',
          Description: 'a',
        },
        {
          SecurityGroupRuleId: 'sgr-2',
          IpProtocol: '58',
          FromPort: -1,
          ToPort: -1,
          CidrIpv6: '2001:DB8::/32',
        },
        { SecurityGroupRuleId: 'sgr-3', IpProtocol: 'udp', FromPort: 53, ToPort: 53, PrefixListId: 'pl-abc' },
        {
          SecurityGroupRuleId: 'sgr-4',
          IpProtocol: '-1',
          FromPort: -1,
          ToPort: -1,
          ReferencedGroupInfo: { GroupId: 'sg-1', UserId: '123456789012' },
        },
        {
          SecurityGroupRuleId: 'sgr-5',
          GroupOwnerId: '123456789012',
          IpProtocol: '-1',
          FromPort: -1,
          ToPort: -1,
          ReferencedGroupInfo: { GroupId: 'sg-2', UserId: '123456789012' },
        },
      ].map(liveRuleFromSecurityGroupRule),
    ).toEqual([
      {
        ruleId: 'sgr-1',
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidr', value: '10.0.0.0/8' },
        description: 'a',
      },
      {
        ruleId: 'sgr-2',
        protocol: 'icmpv6',
        fromPort: -1,
        toPort: -1,
        source: { kind: 'cidrIpv6', value: '2001:db8::/32' },
      },
      {
        ruleId: 'sgr-3',
        protocol: 'udp',
        fromPort: 53,
        toPort: 53,
        source: { kind: 'prefixList', value: 'pl-abc' },
      },
      {
        ruleId: 'sgr-4',
        protocol: '-1',
        fromPort: -1,
        toPort: -1,
        source: { kind: 'securityGroup', value: 'sg-1', userId: '123456789012' },
      },
      {
        ruleId: 'sgr-5',
        protocol: '-1',
        fromPort: -1,
        toPort: -1,
        source: { kind: 'securityGroup', value: 'sg-2' },
      },
    ]);
  });

  it('gives undefined for a rule with no source it can model', () => {
    expect(
      liveRuleFromSecurityGroupRule({ SecurityGroupRuleId: 'sgr-9', IpProtocol: 'tcp' }),
    ).toBeUndefined();
  });
});

describe('liveGroupFromSecurityGroup', () => {
  it('maps identity, tags and ingress, and ignores egress', () => {
    expect(
      liveGroupFromSecurityGroup({
        GroupId: 'sg-1',
        GroupName: 'web',
        VpcId: 'vpc-1',
        OwnerId: '123456789012',
        Tags: [
          { Key: 'tier', Value: 'web' },
          { Key: 'empty', Value: '' },
        ],
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
        IpPermissionsEgress: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    ).toEqual({
      groupId: 'sg-1',
      groupName: 'web',
      vpcId: 'vpc-1',
      ownerId: '123456789012',
      tags: { tier: 'web', empty: '' },
      rules: [{ protocol: 'tcp', fromPort: 443, toPort: 443, source: { kind: 'cidr', value: '0.0.0.0/0' } }],
    });
    expect(liveGroupFromSecurityGroup({ GroupName: 'no id' })).toBeUndefined();
  });
});

describe('toIpPermissions', () => {
  const cidr = (value: string): RuleSource => ({ kind: 'cidr', value });
  /** What a write sends: rules canonicalised once at the policy edge (canonicalRule), then grouped. */
  const send = (rules: readonly RuleFields[]): ReturnType<typeof toIpPermissions> =>
    toIpPermissions(rules.map((r) => canonicalRule(r)));

  it('groups rules sharing protocol and ports into one permission with several sources', () => {
    const rules: RuleFields[] = [
      {
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidr', value: '10.0.0.0/8' },
        description: 'a',
      },
      { protocol: 'tcp', fromPort: 443, toPort: 443, source: { kind: 'cidr', value: '0.0.0.0/0' } },
      {
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidrIpv6', value: '2001:db8::/64' },
        description: 'b',
      },
      {
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'prefixList', value: 'pl-1' },
        description: 'c',
      },
      {
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: {
          kind: 'securityGroup',
          value: 'sg-2',
          userId: '123456789012',
          vpcId: 'vpc-9',
          vpcPeeringConnectionId: 'pcx-1',
        },
        description: 'd',
      },
    ];
    expect(send(rules)).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'a' }],
        Ipv6Ranges: [{ CidrIpv6: '2001:db8::/64', Description: 'b' }],
        PrefixListIds: [{ PrefixListId: 'pl-1', Description: 'c' }],
        UserIdGroupPairs: [
          {
            GroupId: 'sg-2',
            UserId: '123456789012',
            VpcId: 'vpc-9',
            VpcPeeringConnectionId: 'pcx-1',
            Description: 'd',
          },
        ],
      },
      { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ]);
  });

  const protocolCases: {
    name: string;
    rule: RuleFields;
    expected: Pick<IpPermission, 'IpProtocol' | 'FromPort' | 'ToPort'>;
  }[] = [
    {
      name: 'all traffic is sent as -1 with explicit -1/-1 ports',
      rule: { protocol: 'all', fromPort: 0, toPort: 65535, source: cidr('10.0.0.0/8') },
      expected: { IpProtocol: '-1', FromPort: -1, ToPort: -1 },
    },
    {
      name: 'icmpv6 (given as 58) is sent by name with -1/-1 for all types',
      rule: { protocol: '58', fromPort: -1, toPort: 5, source: cidr('10.0.0.0/8') },
      expected: { IpProtocol: 'icmpv6', FromPort: -1, ToPort: -1 },
    },
    {
      name: 'icmp type 8 code -1 is sent as FromPort 8 ToPort -1',
      rule: { protocol: 'icmp', fromPort: 8, toPort: -1, source: cidr('10.0.0.0/8') },
      expected: { IpProtocol: 'icmp', FromPort: 8, ToPort: -1 },
    },
    {
      name: 'another protocol is sent as its number with -1/-1',
      rule: { protocol: '50', fromPort: 0, toPort: 0, source: cidr('10.0.0.0/8') },
      expected: { IpProtocol: '50', FromPort: -1, ToPort: -1 },
    },
    {
      name: 'tcp given as 6 is sent as tcp with its port range',
      rule: { protocol: '6', fromPort: 8000, toPort: 8080, source: cidr('10.0.0.0/8') },
      expected: { IpProtocol: 'tcp', FromPort: 8000, ToPort: 8080 },
    },
  ];
  for (const { name, rule, expected } of protocolCases) {
    it(name, () => {
      const [permission, ...rest] = send([rule]);
      expect(rest).toEqual([]);
      expect(permission).toEqual({ ...expected, IpRanges: [{ CidrIp: '10.0.0.0/8' }] });
    });
  }

  it('sends a rule repeated in the batch once, with its first description', () => {
    const permissions = send([
      {
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidr', value: '10.0.0.0/8' },
        description: 'first',
      },
      {
        protocol: '6',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidr', value: '10.0.0.7/8' },
        description: 'second',
      },
    ]);
    expect(permissions).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'first' }],
      },
    ]);
  });

  it('sends canonical sources (masked IPv4, RFC 5952 IPv6, lower-case IDs) as EC2 spells them', () => {
    expect(
      send([
        { protocol: 'tcp', fromPort: 1, toPort: 1, source: { kind: 'cidrIpv6', value: '2001:DB8:0::1/64' } },
        { protocol: 'tcp', fromPort: 1, toPort: 1, source: { kind: 'securityGroup', value: 'SG-ABC' } },
      ]),
    ).toEqual([
      {
        IpProtocol: 'tcp',
        FromPort: 1,
        ToPort: 1,
        Ipv6Ranges: [{ CidrIpv6: '2001:db8::/64' }],
        UserIdGroupPairs: [{ GroupId: 'sg-abc' }],
      },
    ]);
  });

  it('round-trips: expanding the grouped permissions gives back the canonical rules', () => {
    const protocol = fc.constantFrom('tcp', 'udp', 'icmp', 'icmpv6', '-1', '6', '17', '50', 'all');
    const source = fc.oneof(
      fc
        .ipV4()
        .chain((ip) =>
          fc.integer({ min: 0, max: 32 }).map((p) => ({ kind: 'cidr' as const, value: `${ip}/${p}` })),
        ),
      fc
        .ipV6()
        .chain((ip) =>
          fc.integer({ min: 0, max: 128 }).map((p) => ({ kind: 'cidrIpv6' as const, value: `${ip}/${p}` })),
        ),
      fc.stringMatching(/^[0-9a-f]{8,17}$/).map((h) => ({ kind: 'prefixList' as const, value: `pl-${h}` })),
      fc
        .stringMatching(/^[0-9a-f]{8,17}$/)
        .map((h) => ({ kind: 'securityGroup' as const, value: `sg-${h}` })),
    );
    const rule = fc.record({
      protocol,
      fromPort: fc.integer({ min: -1, max: 3 }),
      toPort: fc.integer({ min: -1, max: 3 }),
      source,
      description: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 25 }), (rules) => {
        const expected = new Map<string, Rule>();
        for (const r of rules) {
          const canonical = canonicalRule(r);
          if (!expected.has(ruleKey(canonical))) expected.set(ruleKey(canonical), canonical);
        }
        const roundTripped = expandIpPermissions(send(rules));
        const byKey = new Map(roundTripped.map((r) => [ruleKey(r), r]));
        expect(roundTripped).toHaveLength(expected.size);
        for (const [key, r] of expected) {
          expect(byKey.get(key)).toEqual(r);
        }
      }),
    );
  });
});
