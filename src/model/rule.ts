// The canonical ingress rule: one protocol, one port range (or ICMP type/code) and exactly one
// source, identified the way EC2 identifies it. Pure: no I/O, no AWS types, no logger.
import ipaddr from 'ipaddr.js';

export const SOURCE_KINDS = ['cidr', 'cidrIpv6', 'prefixList', 'securityGroup'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** One source of a rule. `value` is canonical: masked IPv4 network, RFC 5952 IPv6 network, or an ID. */
export interface RuleSource {
  readonly kind: SourceKind;
  readonly value: string;
  /** securityGroup only: the owning account, when the group belongs to another account. */
  readonly userId?: string;
  /** securityGroup only: the VPC of a referenced group across a peering connection. */
  readonly vpcId?: string;
  /** securityGroup only: the peering connection of a referenced group. */
  readonly vpcPeeringConnectionId?: string;
}

/**
 * The value of a `securityGroup` source that stands for the target group itself (`securityGroup:
 * self` in a policy). It exists only in policy rules: the planner binds it to each target group
 * (bindSelf), so EC2 never sees it. The one encoding of `self`.
 */
export const SELF_GROUP = 'self';

/** Is this a policy rule's `securityGroup: self` source? */
export function isSelfSource(source: RuleSource): boolean {
  return source.kind === 'securityGroup' && source.value === SELF_GROUP;
}

/** A policy rule bound to `groupId`: a `self` source becomes that group; any other rule is returned as is. */
export function bindSelf<R extends Rule>(rule: R, groupId: string): R {
  return isSelfSource(rule.source) ? { ...rule, source: { kind: 'securityGroup', value: groupId } } : rule;
}

/**
 * The fields of an ingress rule without its group, before or after canonicalisation. `protocol` is
 * `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all) or a decimal protocol number; `fromPort`/`toPort` are
 * the port range for tcp/udp, the ICMP type/code for icmp/icmpv6 (-1 = all), and -1/-1 for every
 * protocol that takes no ports. Only canonicalRule turns these fields into a Rule.
 */
export interface RuleFields {
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  readonly source: RuleSource;
  readonly description?: string | undefined;
}

/** The brand only canonicalRule sets: a type-level mark, no property at run time. */
declare const CANONICAL: unique symbol;

/** The mark of a canonical rule (see Rule). */
export interface Canonical {
  readonly [CANONICAL]: true;
}

/**
 * The one rule type from policy to EC2 and back: the policy normaliser produces it, the planner
 * compares it (by ruleKey), the EC2 port accepts and returns it. It is canonicalised once at each
 * edge (canonicalRule: the policy in, the EC2 read in) and the brand makes the compiler refuse a
 * rule that did not pass through canonicalRule, so nothing downstream canonicalises again.
 * Changing the description of a canonical rule keeps it canonical.
 */
export type Rule = RuleFields & Canonical;

/** A rule that exists in a security group, as read back from EC2 (canonical). */
export type LiveRule = Rule & { readonly ruleId?: string | undefined };

const PROTOCOL_NAMES: Readonly<Record<string, string>> = {
  tcp: 'tcp',
  '6': 'tcp',
  udp: 'udp',
  '17': 'udp',
  icmp: 'icmp',
  '1': 'icmp',
  icmpv6: 'icmpv6',
  '58': 'icmpv6',
  all: '-1',
  '-1': '-1',
};

/** Canonical protocol: names for tcp/udp/icmp/icmpv6, `-1` for all traffic, else the decimal number. */
export function canonicalProtocol(protocol: string | number): string {
  const text = String(protocol).trim().toLowerCase();
  const named = PROTOCOL_NAMES[text];
  if (named !== undefined) return named;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return PROTOCOL_NAMES[String(n)] ?? String(n);
  }
  return text;
}

export type PortKind = 'ports' | 'icmp' | 'none';

/** What the protocol's FromPort/ToPort mean: a port range, an ICMP type/code, or nothing. */
export function portKind(canonical: string): PortKind {
  if (canonical === 'tcp' || canonical === 'udp') return 'ports';
  if (canonical === 'icmp' || canonical === 'icmpv6') return 'icmp';
  return 'none';
}

const PLAIN_IPV4_CIDR = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\/(\d{1,2})$/;

/**
 * The common case without a parser: four plain decimal octets and a prefix, masked with integer
 * arithmetic. Anything unusual (leading zeros, hex, out of range) is left to ipaddr.js.
 */
function canonicalIpv4Fast(text: string): string | undefined {
  const m = PLAIN_IPV4_CIDR.exec(text);
  if (m === null) return undefined;
  const octets = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  const prefix = Number(m[5]);
  if (prefix > 32 || octets.some((o) => o > 255)) return undefined;
  const address = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (address & mask) >>> 0;
  return `${network >>> 24}.${(network >>> 16) & 255}.${(network >>> 8) & 255}.${network & 255}/${prefix}`;
}

/** Canonical IPv4 or IPv6 network text (host bits masked, IPv6 in RFC 5952 lower case). */
export function canonicalCidr(cidr: string): { kind: 'cidr' | 'cidrIpv6'; value: string } {
  const text = cidr.trim();
  // Parse with the right family directly: ipaddr.parseCIDR tries IPv6 first and throws and catches
  // for every IPv4 network, which was most of a 10,000-group plan's CPU.
  if (!text.includes(':')) {
    const fast = canonicalIpv4Fast(text);
    if (fast !== undefined) return { kind: 'cidr', value: fast };
    const [address, prefix] = ipaddr.IPv4.parseCIDR(text);
    const network = ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
    return { kind: 'cidr', value: `${network.toString()}/${prefix}` };
  }
  const [address, prefix] = ipaddr.IPv6.parseCIDR(text);
  const network = ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${prefix}`);
  return { kind: 'cidrIpv6', value: `${network.toRFC5952String()}/${prefix}` };
}

function onlyKindAndValue(source: RuleSource): boolean {
  return (
    source.userId === undefined && source.vpcId === undefined && source.vpcPeeringConnectionId === undefined
  );
}

/** A function from network text to its canonical form (canonicalCidr, or a cached canonicalCidr). */
export type CidrCanonicaliser = (cidr: string) => { kind: 'cidr' | 'cidrIpv6'; value: string };

/** Canonical source: networks canonicalised, IDs lower-cased as EC2 returns them. */
export function canonicalSource(source: RuleSource, cidr: CidrCanonicaliser = canonicalCidr): RuleSource {
  if (source.kind === 'cidr' || source.kind === 'cidrIpv6') {
    const canonical = cidr(source.value);
    // Already canonical (what EC2 returns): keep the object, a large plan allocates less.
    if (canonical.kind === source.kind && canonical.value === source.value && onlyKindAndValue(source)) {
      return source;
    }
    return { ...canonical };
  }
  const value = source.value.trim().toLowerCase();
  if (source.kind === 'prefixList') {
    return value === source.value && onlyKindAndValue(source) ? source : { kind: 'prefixList', value };
  }
  if (value === source.value) return source;
  return {
    kind: 'securityGroup',
    value,
    ...(source.userId !== undefined ? { userId: source.userId } : {}),
    ...(source.vpcId !== undefined ? { vpcId: source.vpcId } : {}),
    ...(source.vpcPeeringConnectionId !== undefined
      ? { vpcPeeringConnectionId: source.vpcPeeringConnectionId }
      : {}),
  };
}

/**
 * Canonical rule: protocol, ports (-1/-1 where the protocol takes none) and source; idempotent.
 * The only function that makes a Rule. Throws what canonicalCidr throws for a network it cannot parse.
 */
export function canonicalRule<R extends RuleFields>(
  rule: R,
  cidr: CidrCanonicaliser = canonicalCidr,
): R & Canonical {
  const protocol = canonicalProtocol(rule.protocol);
  const kind = portKind(protocol);
  let fromPort = rule.fromPort;
  let toPort = rule.toPort;
  if (kind === 'none') {
    fromPort = -1;
    toPort = -1;
  } else if (kind === 'icmp') {
    // EC2: all ICMP types implies all codes.
    if (fromPort === -1) toPort = -1;
  }
  const source = canonicalSource(rule.source, cidr);
  if (
    protocol === rule.protocol &&
    fromPort === rule.fromPort &&
    toPort === rule.toPort &&
    source === rule.source
  ) {
    return rule as R & Canonical;
  }
  return { ...rule, protocol, fromPort, toPort, source } as R & Canonical;
}

/**
 * canonicalCidr with memory: each network text is parsed once. Owns its cache; make one per plan,
 * not per process. Throws as canonicalCidr does.
 */
export function createCidrCanonicaliser(): CidrCanonicaliser {
  const cidrs = new Map<string, { kind: 'cidr' | 'cidrIpv6'; value: string }>();
  return (text) => {
    let canonical = cidrs.get(text);
    if (canonical === undefined) {
      canonical = canonicalCidr(text);
      cidrs.set(text, canonical);
    }
    return canonical;
  };
}

/**
 * The identity of a rule within its group, as EC2 identifies it: protocol, port range or ICMP
 * type/code, and source. The description is not part of it. Expects a canonical rule.
 */
export function ruleKey(rule: Rule): string {
  return `${rule.protocol}|${rule.fromPort}|${rule.toPort}|${rule.source.kind}|${rule.source.value}`;
}

const IPV4_ONLY = ['ipv4'] as const;
const IPV6_ONLY = ['ipv6'] as const;
const BOTH_FAMILIES = ['ipv4', 'ipv6'] as const;

/** The address family a rule counts against in EC2's per-group quota (shared arrays: do not mutate). */
export function ruleFamilies(rule: Rule): readonly ('ipv4' | 'ipv6')[] {
  switch (rule.source.kind) {
    case 'cidr':
      return IPV4_ONLY;
    case 'cidrIpv6':
      return IPV6_ONLY;
    default:
      return BOTH_FAMILIES;
  }
}

/**
 * A short human form of a rule's ports: `22`, `8000-8080`; for ICMP the type and code (`type 8,
 * all codes`, `type 3 code 4`, `all types`); `all` for protocols without ports. EC2's -1 ("all") is
 * never shown as a number, so `icmp 8 -1` does not read as a range `8--1`.
 */
export function describePorts(rule: RuleFields): string {
  const kind = portKind(rule.protocol);
  if (kind === 'none') return 'all';
  if (kind === 'icmp') {
    if (rule.fromPort === -1) return 'all types';
    return rule.toPort === -1
      ? `type ${rule.fromPort}, all codes`
      : `type ${rule.fromPort} code ${rule.toPort}`;
  }
  return rule.fromPort === rule.toPort ? String(rule.fromPort) : `${rule.fromPort}-${rule.toPort}`;
}

/** A short human name of a protocol, e.g. `all` for `-1`. */
export function describeProtocol(protocol: string): string {
  return protocol === '-1' ? 'all' : protocol;
}

/**
 * A source for people: the network or ID, a group of another account as `account/sg-...` (so the
 * same group ID in two accounts never reads as one source).
 */
export function describeSource(source: RuleSource): string {
  return source.userId !== undefined ? `${source.userId}/${source.value}` : source.value;
}

/**
 * A rule in one phrase for people: `tcp 22 from 10.0.0.0/8`, `icmp type 8, all codes from ...`,
 * `all traffic from sg-...`, `protocol 50 from ...` (account-qualified groups as `account/sg-...`).
 */
export function describeRule(rule: RuleFields): string {
  const from = describeSource(rule.source);
  if (portKind(rule.protocol) !== 'none') return `${rule.protocol} ${describePorts(rule)} from ${from}`;
  return `${rule.protocol === '-1' ? 'all traffic' : `protocol ${rule.protocol}`} from ${from}`;
}
