import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareCidrs, compareRules, sortByRule } from '../../src/model/order.js';
import { canonicalCidr, type Rule } from '../../src/model/rule.js';
import { buildPlan } from '../../src/reconcile/plan.js';
import type { GroupRead, RegionRead } from '../../src/reconcile/types.js';
import { policy, rule, tcp } from '../helpers/fake-ec2.js';

describe('compareCidrs', () => {
  it('orders networks numerically, not as text', () => {
    const networks = ['10.0.10.0/24', '10.0.2.0/24', '9.0.0.0/8', '100.64.0.0/10', '10.0.0.0/8'];
    expect([...networks].sort(compareCidrs)).toEqual([
      '9.0.0.0/8',
      '10.0.0.0/8',
      '10.0.2.0/24',
      '10.0.10.0/24',
      '100.64.0.0/10',
    ]);
  });

  it('puts IPv4 before IPv6, and the shorter prefix first for the same address', () => {
    const networks = ['2001:db8::/48', '::/0', '10.0.0.0/16', '2001:db8::/32', '10.0.0.0/8', '0.0.0.0/0'];
    expect([...networks].sort(compareCidrs)).toEqual([
      '0.0.0.0/0',
      '10.0.0.0/8',
      '10.0.0.0/16',
      '::/0',
      '2001:db8::/32',
      '2001:db8::/48',
    ]);
  });

  it('orders IPv6 by address value, not by its compressed text', () => {
    expect(['2001:db8:a::/48', '2001:db8:1a::/48', '2001:db8:2::/48'].sort(compareCidrs)).toEqual([
      '2001:db8:2::/48',
      '2001:db8:a::/48',
      '2001:db8:1a::/48',
    ]);
  });

  it('agrees with the numeric order of any two IPv4 networks', () => {
    const network = fc
      .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
      .map(([address, prefix]) => ({
        address,
        prefix,
        text: canonicalCidr(
          `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}/${prefix}`,
        ).value,
      }));
    fc.assert(
      fc.property(network, network, (a, b) => {
        const numeric = (n: { text: string }): [number, number] => {
          const [ip = '', prefix = ''] = n.text.split('/');
          const value = ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
          return [value, Number(prefix)];
        };
        const [va, pa] = numeric(a);
        const [vb, pb] = numeric(b);
        const expected = Math.sign(va - vb || pa - pb);
        expect(Math.sign(compareCidrs(a.text, b.text))).toBe(expected);
      }),
    );
  });
});

describe('compareRules', () => {
  it('orders ports numerically; protocols tcp, udp, icmp, icmpv6, numbers, then all', () => {
    const rules: Rule[] = [
      tcp(8080, '10.0.0.0/8'),
      rule('50', undefined, '10.0.0.0/8'),
      tcp(443, '10.0.0.0/8'),
      rule('udp', 53, '10.0.0.0/8'),
      tcp([1000, 2000], '10.0.0.0/8'),
      rule('icmp', [8, -1], '10.0.0.0/8'),
      rule('-1', undefined, '10.0.0.0/8'),
      tcp(10000, '10.0.0.0/8'),
    ];
    expect([...rules].sort(compareRules).map((r) => `${r.protocol} ${r.fromPort}-${r.toPort}`)).toEqual([
      'tcp 443-443',
      'tcp 1000-2000',
      'tcp 8080-8080',
      'tcp 10000-10000',
      'udp 53-53',
      'icmp 8--1',
      '50 -1--1',
      '-1 -1--1',
    ]);
  });

  it('orders sources: IPv4 networks numerically, then IPv6, prefix lists, security groups', () => {
    const rules = [
      tcp(22, 'sg-0123456789abcdef0'),
      tcp(22, 'pl-0123456789abcdef0'),
      tcp(22, '2001:db8::/32'),
      tcp(22, '10.0.10.0/24'),
      tcp(22, '10.0.2.0/24'),
    ];
    expect(sortByRule(rules, (r) => r).map((r) => r.source.value)).toEqual([
      '10.0.2.0/24',
      '10.0.10.0/24',
      '2001:db8::/32',
      'pl-0123456789abcdef0',
      'sg-0123456789abcdef0',
    ]);
  });
});

describe('plan order', () => {
  it('lists missing rules and drift with networks in numeric order', () => {
    const group = 'sg-0123456789abcdef0';
    const read: RegionRead = {
      region: 'us-east-1',
      groups: new Map<string, GroupRead>([
        [
          group,
          {
            group: {
              groupId: group,
              groupName: 'web',
              vpcId: 'vpc-1',
              ownerId: '111111111111',
              tags: {},
              rules: [tcp(25, '10.0.10.0/24'), tcp(25, '10.0.2.0/24'), tcp(25, '10.0.1.0/24')],
            },
            policies: new Set(['web']),
          },
        ],
      ]),
      unresolved: [],
      readFailures: [],
      prefixLists: new Map(),
      prefixListFailure: undefined,
      readsSucceeded: 1,
    };
    const plan = buildPlan({
      regions: [
        {
          account: '111111111111',
          region: 'us-east-1',
          policies: [
            policy({
              name: 'web',
              targets: [group],
              rules: [tcp(22, '10.0.10.0/24'), tcp(22, '2001:db8::/32'), tcp(22, '10.0.2.0/24')],
            }),
          ],
          read,
        },
      ],
      maxRulesPerGroup: 60,
    });
    const [planned] = plan.groups;
    expect(planned?.missing.map((d) => d.rule.source.value)).toEqual([
      '10.0.2.0/24',
      '10.0.10.0/24',
      '2001:db8::/32',
    ]);
    expect(planned?.drift.map((r) => r.source.value)).toEqual(['10.0.1.0/24', '10.0.2.0/24', '10.0.10.0/24']);
  });
});
