// The guardrail matcher (SPEC "Guardrails"): which rules a deny entry denies, what `internet`
// means at the edges of the IANA special-purpose ranges, and when an exception applies. Property
// tests over generated rules and networks, plus the examples the contract names.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  denialOf,
  entryDenies,
  globalIntervals,
  reachesInternet,
  utcDate,
  type DenyEntry,
  type DenySource,
  type Guardrail,
} from '../../src/model/guardrail.js';
import { canonicalCidr, canonicalRule, type Rule, type RuleSource } from '../../src/model/rule.js';

const AT = { file: 'guardrails.yaml', line: 1, column: 1 };

function entry(from: DenySource, protocol?: string, ports?: [number, number][]): DenyEntry {
  return {
    protocol,
    ports: ports?.map(([from, to]) => ({ from, to })),
    from,
    position: AT,
  };
}

function rule(protocol: string, fromPort: number, toPort: number, source: RuleSource): Rule {
  return canonicalRule({ protocol, fromPort, toPort, source });
}

function cidr(text: string): RuleSource {
  return canonicalCidr(text);
}

const INTERNET: DenySource = { kind: 'internet' };
const ANY: DenySource = { kind: 'any' };

/** An IPv4 address as four octets text. */
function ipv4Text(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The network of `prefix` bits that contains address n. */
function ipv4Network(n: number, prefix: number): string {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return `${ipv4Text((n & mask) >>> 0)}/${prefix}`;
}

function ipv6Text(n: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(':');
}

function ipv6Network(n: bigint, prefix: number): string {
  const size = 1n << BigInt(128 - prefix);
  return canonicalCidr(`${ipv6Text((n / size) * size)}/${prefix}`).value;
}

const ipv4 = fc.integer({ min: 0, max: 0xffffffff });
const ipv6 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });

describe('from: internet', () => {
  it('matches and refuses the networks the contract names', () => {
    for (const network of ['0.0.0.0/0', '0.0.0.0/1', '8.8.8.0/24', '::/0', '2600::/16'])
      expect(reachesInternet(canonicalCidr(network).value), network).toBe(true);
    for (const network of [
      '10.0.0.0/8',
      '100.64.0.0/10',
      '203.0.113.0/24',
      '192.168.1.0/24',
      '127.0.0.1/32',
      'fc00::/7',
      'fe80::/10',
      '2001:db8::/32',
      '::1/128',
    ])
      expect(reachesInternet(canonicalCidr(network).value), network).toBe(false);
  });

  it('is decided at the edges of the special ranges, address by address (IPv4)', () => {
    // 10.0.0.0/8 ends at 10.255.255.255; 11.0.0.0 is globally reachable. 100.64.0.0/10 ends at 100.127.255.255.
    expect(reachesInternet('10.255.255.255/32')).toBe(false);
    expect(reachesInternet('11.0.0.0/32')).toBe(true);
    expect(reachesInternet('9.255.255.255/32')).toBe(true);
    expect(reachesInternet('100.63.255.255/32')).toBe(true);
    expect(reachesInternet('100.64.0.0/32')).toBe(false);
    expect(reachesInternet('100.127.255.255/32')).toBe(false);
    expect(reachesInternet('100.128.0.0/32')).toBe(true);
    expect(reachesInternet('172.15.255.255/32')).toBe(true);
    expect(reachesInternet('172.16.0.0/12')).toBe(false);
    expect(reachesInternet('172.32.0.0/32')).toBe(true);
    // 10.0.0.0/7 is 10/8 plus 11/8: one global address is enough.
    expect(reachesInternet('10.0.0.0/7')).toBe(true);
    // 224.0.0.0/3 is multicast and reserved: nothing global.
    expect(reachesInternet('224.0.0.0/3')).toBe(false);
  });

  it('is decided at the edges of the special ranges (IPv6)', () => {
    expect(reachesInternet('2001:db8::/32')).toBe(false);
    expect(reachesInternet('2001:db7:ffff:ffff:ffff:ffff:ffff:ffff/128')).toBe(true); // just below 2001:db8::/32
    expect(reachesInternet('2001:db9::/128')).toBe(true); // just above it
    expect(reachesInternet('2001:200::/32')).toBe(true); // just past 2001::/23
    expect(reachesInternet('2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff/128')).toBe(false);
    expect(reachesInternet('2002::/16')).toBe(false); // 6to4
    expect(reachesInternet('2003::/16')).toBe(true);
    expect(reachesInternet('fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128')).toBe(true);
    expect(reachesInternet('fc00::/7')).toBe(false);
    expect(reachesInternet('fe00::/9')).toBe(true);
    expect(reachesInternet('::ffff:0:0/96')).toBe(false); // IPv4-mapped
  });

  it('agrees with the complement intervals for every single address (IPv4)', () => {
    const global = globalIntervals().ipv4;
    fc.assert(
      fc.property(ipv4, (n) => {
        const inGlobal = global.some(({ lo, hi }) => lo <= BigInt(n) && BigInt(n) <= hi);
        expect(reachesInternet(`${ipv4Text(n)}/32`)).toBe(inGlobal);
      }),
      { numRuns: 2000 },
    );
  });

  it('a rule denied for some address stays denied for every wider network containing it (IPv4)', () => {
    const deny = entry(INTERNET);
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 0, max: 32 }), fc.integer({ min: 0, max: 32 }), (n, a, b) => {
        const [wide, narrow] = a <= b ? [a, b] : [b, a];
        const inner = rule('tcp', 22, 22, cidr(ipv4Network(n, narrow)));
        const outer = rule('tcp', 22, 22, cidr(ipv4Network(n, wide)));
        if (entryDenies(deny, inner)) expect(entryDenies(deny, outer)).toBe(true);
        // And the converse: a network that reaches nothing global holds no narrower one that does.
        if (!entryDenies(deny, outer)) expect(entryDenies(deny, inner)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('a rule denied for some address stays denied for every wider network containing it (IPv6)', () => {
    const deny = entry(INTERNET);
    fc.assert(
      fc.property(ipv6, fc.integer({ min: 0, max: 128 }), fc.integer({ min: 0, max: 128 }), (n, a, b) => {
        const [wide, narrow] = a <= b ? [a, b] : [b, a];
        const inner = rule('tcp', 22, 22, cidr(ipv6Network(n, narrow)));
        const outer = rule('tcp', 22, 22, cidr(ipv6Network(n, wide)));
        if (entryDenies(deny, inner)) expect(entryDenies(deny, outer)).toBe(true);
        if (!entryDenies(deny, outer)) expect(entryDenies(deny, inner)).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('never matches a prefix list or a security group', () => {
    expect(
      entryDenies(entry(INTERNET), rule('tcp', 22, 22, { kind: 'prefixList', value: 'pl-12345678' })),
    ).toBe(false);
    expect(
      entryDenies(entry(INTERNET), rule('tcp', 22, 22, { kind: 'securityGroup', value: 'sg-12345678' })),
    ).toBe(false);
  });
});

const anySource: fc.Arbitrary<RuleSource> = fc.oneof(
  fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([n, p]) => cidr(ipv4Network(n, p))),
  fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([n, p]) => cidr(ipv6Network(n, p))),
  fc.constantFrom<RuleSource>(
    { kind: 'prefixList', value: 'pl-0123456789abcdef0' },
    { kind: 'securityGroup', value: 'sg-1a2b3c4d' },
    { kind: 'securityGroup', value: 'sg-1a2b3c4d', userId: '123456789012' },
  ),
);

const anyRule: fc.Arbitrary<Rule> = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('tcp', 'udp'),
      fc.integer({ min: 0, max: 65535 }),
      fc.integer({ min: 0, max: 65535 }),
      anySource,
    )
    .map(([p, a, b, s]) => rule(p, Math.min(a, b), Math.max(a, b), s)),
  fc.tuple(fc.constantFrom('icmp', 'icmpv6'), anySource).map(([p, s]) => rule(p, -1, -1, s)),
  fc.tuple(fc.constantFrom('-1', '47', '50'), anySource).map(([p, s]) => rule(p, -1, -1, s)),
);

describe('from: any', () => {
  it('denies every rule: every protocol, port and source kind', () => {
    fc.assert(
      fc.property(anyRule, (r) => {
        expect(entryDenies(entry(ANY), r)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('protocol and ports', () => {
  it('a rule of protocol all matches every entry, whatever its protocol and ports', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('tcp', 'udp', 'icmp', '47', undefined),
        fc.integer({ min: 0, max: 65535 }),
        (protocol, port) => {
          const deny = entry(
            ANY,
            protocol,
            protocol === 'icmp' || protocol === '47' ? undefined : [[port, port]],
          );
          expect(entryDenies(deny, rule('-1', -1, -1, cidr('0.0.0.0/0')))).toBe(true);
        },
      ),
    );
  });

  it('a rule without ports (a protocol number) matches any ports; ICMP never matches ports', () => {
    const deny = entry(ANY, undefined, [[22, 22]]);
    expect(entryDenies(deny, rule('47', -1, -1, cidr('0.0.0.0/0')))).toBe(true);
    expect(entryDenies(deny, rule('icmp', -1, -1, cidr('0.0.0.0/0')))).toBe(false);
  });

  it('port ranges match exactly when they overlap', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })),
        fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 })),
        ([a, b], [c, d]) => {
          const [from, to] = [Math.min(a, b), Math.max(a, b)];
          const [lo, hi] = [Math.min(c, d), Math.max(c, d)];
          const overlaps = from <= hi && lo <= to;
          expect(entryDenies(entry(ANY, 'tcp', [[lo, hi]]), rule('tcp', from, to, cidr('0.0.0.0/0')))).toBe(
            overlaps,
          );
        },
      ),
      { numRuns: 2000 },
    );
    expect(entryDenies(entry(ANY, 'tcp', [[22, 22]]), rule('tcp', 0, 65535, cidr('0.0.0.0/0')))).toBe(true);
  });

  it('a protocol entry does not match another protocol', () => {
    expect(entryDenies(entry(ANY, 'tcp', [[22, 22]]), rule('udp', 22, 22, cidr('0.0.0.0/0')))).toBe(false);
  });
});

describe('from: a list of networks', () => {
  it('matches a network exactly when the two overlap', () => {
    fc.assert(
      fc.property(
        ipv4,
        fc.integer({ min: 0, max: 32 }),
        ipv4,
        fc.integer({ min: 0, max: 32 }),
        (n, p, m, q) => {
          const listed = ipv4Network(n, p);
          const source = ipv4Network(m, q);
          // Two networks overlap exactly when the shorter prefix contains the other's address.
          const short = Math.min(p, q);
          const overlap = ipv4Network(n, short) === ipv4Network(m, short);
          expect(
            entryDenies(entry({ kind: 'networks', networks: [listed] }), rule('tcp', 22, 22, cidr(source))),
          ).toBe(overlap);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never matches across address families', () => {
    expect(
      entryDenies(entry({ kind: 'networks', networks: ['0.0.0.0/0'] }), rule('tcp', 22, 22, cidr('::/0'))),
    ).toBe(false);
  });
});

describe('exceptions', () => {
  const guardrail: Guardrail = {
    name: 'no-internet-ssh',
    file: 'g.yaml',
    position: AT,
    description: undefined,
    deny: [entry(INTERNET, 'tcp', [[22, 22]])],
    exceptions: [{ policy: 'break-glass', expires: '2027-01-31', reason: 'SEC-123', position: AT }],
  };
  const ssh = rule('tcp', 22, 22, cidr('0.0.0.0/0'));

  it('applies before its expires date and not from that date on', () => {
    expect(denialOf([guardrail], ssh, ['break-glass'], '2027-01-30')).toBeUndefined();
    expect(denialOf([guardrail], ssh, ['break-glass'], '2027-01-31')).toMatchObject({
      guardrail: 'no-internet-ssh',
      entry: 0,
      expired: { expires: '2027-01-31' },
    });
    expect(denialOf([guardrail], ssh, ['break-glass'], '2030-06-01')?.expired?.expires).toBe('2027-01-31');
  });

  it('covers only the policy it names', () => {
    expect(denialOf([guardrail], ssh, ['office-ssh'], '2026-01-01')).toEqual({
      guardrail: 'no-internet-ssh',
      entry: 0,
      position: AT,
    });
  });

  it('takes the calendar date in UTC', () => {
    expect(utcDate(new Date('2027-01-30T23:59:59-05:00'))).toBe('2027-01-31');
  });
});
