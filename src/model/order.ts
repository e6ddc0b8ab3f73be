// The order of rules in everything the tool prints or writes (plans in every format, their events,
// apply outcomes, imported policies): numbers compare as numbers, so 10.0.2.0/24 comes before
// 10.0.10.0/24 and port 443 before 8080. Pure: no I/O; ipaddr.js parses IPv6.
import ipaddr from 'ipaddr.js';
import { compareStrings } from './compare.js';
import { ruleKey, type Rule, type RuleSource, type SourceKind } from './rule.js';

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, '0');
}

/**
 * A string that sorts as the network does: IPv4 before IPv6, then by address (numerically), then by
 * prefix length (shorter first). Text that is not a network sorts after every network, as text.
 */
export function cidrSortKey(cidr: string): string {
  const v4 = IPV4_CIDR.exec(cidr);
  if (v4 !== null) {
    const octets = [v4[1], v4[2], v4[3], v4[4]].map(Number);
    const prefix = Number(v4[5]);
    if (octets.every((o) => o <= 255) && prefix <= 32) {
      return `4${octets.map((o) => hex(o, 2)).join('')}/${hex(prefix, 2)}`;
    }
  }
  const slash = cidr.lastIndexOf('/');
  const address = slash === -1 ? cidr : cidr.slice(0, slash);
  const prefix = slash === -1 ? 128 : Number(cidr.slice(slash + 1));
  if (address.includes(':') && ipaddr.IPv6.isValid(address) && Number.isInteger(prefix) && prefix <= 128) {
    const bytes = ipaddr.IPv6.parse(address).toByteArray();
    return `6${bytes.map((b) => hex(b, 2)).join('')}/${hex(prefix, 2)}`;
  }
  return `9${cidr}`;
}

/**
 * Orders two networks (`10.0.2.0/24`, `2001:db8::/32`): IPv4 before IPv6, then numerically by
 * address, then by prefix length. Negative, zero or positive, as Array.prototype.sort expects.
 */
export function compareCidrs(a: string, b: string): number {
  return compareStrings(cidrSortKey(a), cidrSortKey(b));
}

const SOURCE_ORDER: Readonly<Record<SourceKind, number>> = {
  cidr: 0,
  cidrIpv6: 1,
  prefixList: 2,
  securityGroup: 3,
};

/** tcp, udp, icmp, icmpv6 first (what people write most), then protocol numbers, then all (-1). */
const PROTOCOL_RANKS: Readonly<Record<string, number>> = { tcp: 0, udp: 1, icmp: 2, icmpv6: 3 };

/** A canonical protocol's place: 0-3 the named ones, 4-259 a protocol number + 4, 260 all, 261 else. */
function protocolRank(protocol: string): number {
  const named = PROTOCOL_RANKS[protocol];
  if (named !== undefined) return named;
  if (protocol === '-1') return 260;
  const n = Number(protocol);
  return /^\d+$/.test(protocol) && n <= 255 ? n + 4 : 261;
}

/** A port, ICMP type or code (-1..65535) as fixed-width digits that sort numerically. */
function portKey(port: number): string {
  return String(port + 1).padStart(5, '0');
}

function sourceSortKey(source: RuleSource): string {
  const value =
    source.kind === 'cidr' || source.kind === 'cidrIpv6' ? cidrSortKey(source.value) : source.value;
  return `${SOURCE_ORDER[source.kind]}${value}|${source.userId ?? ''}`;
}

/**
 * A string that sorts as the rule does: protocol (tcp, udp, icmp, icmpv6, other protocol numbers
 * numerically, all), then from and to port (or ICMP type and code) numerically, then the source (IPv4 networks, IPv6 networks,
 * prefix lists, security groups; networks numerically). Expects a canonical rule.
 */
export function ruleSortKey(rule: Rule): string {
  return `${String(protocolRank(rule.protocol)).padStart(3, '0')}|${portKey(rule.fromPort)}|${portKey(rule.toPort)}|${sourceSortKey(rule.source)}|${ruleKey(rule)}`;
}

/** Orders two canonical rules as ruleSortKey does. */
export function compareRules(a: Rule, b: Rule): number {
  return compareStrings(ruleSortKey(a), ruleSortKey(b));
}

/**
 * `items` sorted by their rules (see ruleSortKey), each key computed once per item; `keyOf` may be
 * a memo (createRuleSortKey) when the same rule objects are sorted again and again. A new array.
 */
export function sortByRule<T>(
  items: Iterable<T>,
  ruleOf: (item: T) => Rule,
  keyOf: (rule: Rule) => string = ruleSortKey,
): T[] {
  return [...items]
    .map((item) => ({ item, key: keyOf(ruleOf(item)) }))
    .sort((a, b) => compareStrings(a.key, b.key))
    .map(({ item }) => item);
}

/**
 * ruleSortKey with memory, for planning thousands of groups that share their desired rule objects.
 * Owns its cache; make one per plan.
 */
export function createRuleSortKey(): (rule: Rule) => string {
  const keys = new WeakMap<Rule, string>();
  return (rule) => {
    let key = keys.get(rule);
    if (key === undefined) {
      key = ruleSortKey(rule);
      keys.set(rule, key);
    }
    return key;
  };
}
