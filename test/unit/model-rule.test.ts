// Property tests of the canonical rule: inputs EC2 treats as the same rule get the same ruleKey,
// and canonicalisation is idempotent. Thousands of generated cases, in milliseconds.
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  canonicalProtocol,
  canonicalCidr,
  canonicalRule,
  ruleKey,
  type RuleFields,
  type RuleSource,
} from '../../src/model/rule.js';

/** Random upper/lower case of a string. */
function recase(text: string, mask: number): string {
  return [...text].map((char, i) => ((mask >> i) & 1 ? char.toUpperCase() : char.toLowerCase())).join('');
}

const PROTOCOL_SPELLINGS: Readonly<Record<string, readonly (string | number)[]>> = {
  tcp: ['tcp', '6', 6, '006'],
  udp: ['udp', '17', 17],
  icmp: ['icmp', '1', 1],
  icmpv6: ['icmpv6', '58', 58],
  '-1': ['all', '-1', -1],
};

/** A protocol and two ways of writing it (names in any case, numbers as text or integers). */
const protocolPair = fc.constantFrom(...Object.keys(PROTOCOL_SPELLINGS)).chain((canonical) => {
  const spellings = PROTOCOL_SPELLINGS[canonical] ?? [];
  const spelling = fc
    .tuple(fc.constantFrom(...spellings), fc.nat(63))
    .map(([value, mask]) => (typeof value === 'string' ? recase(value, mask) : value));
  return fc.tuple(fc.constant(canonical), spelling, spelling);
});

const otherProtocol = fc
  .integer({ min: 0, max: 255 })
  .filter((n) => ![1, 6, 17, 58].includes(n))
  .chain((n) =>
    fc.tuple(
      fc.constant(String(n)),
      fc.constantFrom<string | number>(n, String(n)),
      fc.constantFrom<string | number>(n, String(n)),
    ),
  );

const port = fc.integer({ min: -1, max: 65535 });

/** An IPv6 network written three ways: RFC 5952, fixed-length upper case, and with host bits set. */
const ipv6Spellings = fc
  .tuple(
    fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }),
    fc.integer({ min: 0, max: 128 }),
  )
  .map(([parts, prefix]) => {
    const address = new ipaddr.IPv6(parts);
    const network = ipaddr.IPv6.networkAddressFromCIDR(`${address.toNormalizedString()}/${prefix}`);
    const fixed = network.parts.map((part) => part.toString(16).padStart(4, '0')).join(':');
    return [
      `${network.toRFC5952String()}/${prefix}`,
      `${fixed.toUpperCase()}/${prefix}`,
      `${address.toNormalizedString()}/${prefix}`,
    ] as const;
  });

const ipv4Source = fc
  .tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }))
  .map(([address, prefix]): RuleSource => ({ kind: 'cidr', value: `${address}/${prefix}` }));

const idSource = fc
  .tuple(
    fc.constantFrom<'prefixList' | 'securityGroup'>('prefixList', 'securityGroup'),
    fc.stringMatching(/^[0-9a-f]{8}$/),
  )
  .map(([kind, hex]): RuleSource => ({ kind, value: `${kind === 'prefixList' ? 'pl' : 'sg'}-${hex}` }));

const anySource = fc.oneof(
  ipv4Source,
  idSource,
  ipv6Spellings.map(([spelled]): RuleSource => ({ kind: 'cidrIpv6', value: spelled })),
);

const anyRule = fc
  .tuple(
    fc.oneof(protocolPair, otherProtocol),
    port,
    port,
    anySource,
    fc.option(fc.string(), { nil: undefined }),
  )
  .map(([[, protocol], fromPort, toPort, source, description]): RuleFields => ({
    protocol: String(protocol),
    fromPort,
    toPort,
    source,
    description,
  }));

describe('canonicalRule and ruleKey', () => {
  it('gives every spelling of a protocol the same canonical form', () => {
    fc.assert(
      fc.property(fc.oneof(protocolPair, otherProtocol), ([canonical, a, b]) => {
        expect(canonicalProtocol(a)).toBe(canonical);
        expect(canonicalProtocol(b)).toBe(canonical);
      }),
      { numRuns: 2000 },
    );
  });

  it('keys a rule the same however its protocol is written', () => {
    fc.assert(
      fc.property(
        fc.oneof(protocolPair, otherProtocol),
        port,
        port,
        anySource,
        ([, a, b], from, to, source) => {
          const ruleA = canonicalRule({ protocol: String(a), fromPort: from, toPort: to, source });
          const ruleB = canonicalRule({ protocol: String(b), fromPort: from, toPort: to, source });
          expect(ruleKey(ruleA)).toBe(ruleKey(ruleB));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('ignores the ports of protocols that take none', () => {
    const spellings = fc.constantFrom(
      ['all', '-1'],
      ['-1', '-1'],
      ['ALL', '-1'],
      [-1, '-1'],
      ['50', '50'],
      [132, '132'],
    );
    fc.assert(
      fc.property(spellings, port, port, anySource, ([protocol, canonical], from, to, source) => {
        const withPorts = canonicalRule({ protocol: String(protocol), fromPort: from, toPort: to, source });
        const without = canonicalRule({ protocol: canonical, fromPort: -1, toPort: -1, source });
        expect([withPorts.fromPort, withPorts.toPort]).toEqual([-1, -1]);
        expect(ruleKey(withPorts)).toBe(ruleKey(without));
      }),
      { numRuns: 1000 },
    );
  });

  it('treats all ICMP types as all codes', () => {
    fc.assert(
      fc.property(fc.constantFrom('icmp', 'icmpv6'), port, anySource, (protocol, code, source) => {
        const rule = canonicalRule({ protocol, fromPort: -1, toPort: code, source });
        expect([rule.fromPort, rule.toPort]).toEqual([-1, -1]);
      }),
      { numRuns: 500 },
    );
  });

  it('keys an IPv6 network the same in every spelling and case', () => {
    fc.assert(
      fc.property(ipv6Spellings, fc.constantFrom('tcp', 'TCP', '6'), port, (spellings, protocol, p) => {
        const keys = spellings.map((value) =>
          ruleKey(canonicalRule({ protocol, fromPort: p, toPort: p, source: { kind: 'cidrIpv6', value } })),
        );
        expect(new Set(keys).size).toBe(1);
        expect(keys[0]).toBe(`tcp|${p}|${p}|cidrIpv6|${spellings[0]}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves the description out of the key', () => {
    fc.assert(
      fc.property(anyRule, fc.string(), (rule, description) => {
        expect(ruleKey(canonicalRule({ ...rule, description }))).toBe(ruleKey(canonicalRule(rule)));
      }),
      { numRuns: 1000 },
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(anyRule, (rule) => {
        const once = canonicalRule(rule);
        expect(canonicalRule(once)).toEqual(once);
        expect(ruleKey(canonicalRule(once))).toBe(ruleKey(once));
      }),
      { numRuns: 3000 },
    );
  });

  it('masks IPv4 networks exactly as ipaddr.js does, fast path included', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (address, prefix) => {
        const reference = `${ipaddr.IPv4.networkAddressFromCIDR(`${address}/${prefix}`).toString()}/${prefix}`;
        expect(canonicalCidr(`${address}/${prefix}`)).toEqual({ kind: 'cidr', value: reference });
      }),
      { numRuns: 5000 },
    );
    expect(canonicalCidr('10.0.0.5/24')).toEqual({ kind: 'cidr', value: '10.0.0.0/24' });
    expect(canonicalCidr('255.255.255.255/0')).toEqual({ kind: 'cidr', value: '0.0.0.0/0' });
    expect(() => canonicalCidr('10.0.0.256/24')).toThrow();
    expect(() => canonicalCidr('10.0.0.0/33')).toThrow();
  });

  it('keys IDs the same in any case', () => {
    fc.assert(
      fc.property(idSource, fc.nat(1023), (source, mask) => {
        const spelled = { ...source, value: recase(source.value, mask) };
        const key = (s: RuleSource) =>
          ruleKey(canonicalRule({ protocol: 'all', fromPort: -1, toPort: -1, source: s }));
        expect(key(spelled)).toBe(key(source));
      }),
      { numRuns: 1000 },
    );
  });
});
