// Guardrails: what must never be authorized (SPEC "Guardrails"). The normalised Guardrail and the
// matcher that decides whether a canonical rule is denied. Pure: no I/O, no AWS types, no logger;
// time comes in as a date string, so exception expiry is decided by the caller's clock.
import ipaddr from 'ipaddr.js';
import type { SourcePosition } from './policy.js';
import { portKind, type Rule, type RuleSource } from './rule.js';

/** An inclusive port range, 0-65535. */
export interface PortSpan {
  readonly from: number;
  readonly to: number;
}

/** Who a deny entry is about: every address outside the special-purpose registries, everyone, or networks. */
export type DenySource =
  | { readonly kind: 'internet' }
  | { readonly kind: 'any' }
  | { readonly kind: 'networks'; readonly networks: readonly string[] };

/** One `deny` entry, normalised. */
export interface DenyEntry {
  /** Canonical protocol (`tcp`, `-1`, `47`, ...), or undefined for every protocol. */
  readonly protocol: string | undefined;
  /** Port ranges, or undefined for every port. */
  readonly ports: readonly PortSpan[] | undefined;
  readonly from: DenySource;
  readonly position: SourcePosition;
}

/** A dated exception: the policy's rules are not denied by this guardrail before `expires`. */
export interface GuardrailException {
  readonly policy: string;
  /** A calendar date, `YYYY-MM-DD` (UTC): the first day on which the exception no longer applies. */
  readonly expires: string;
  readonly reason: string;
  readonly position: SourcePosition;
}

export interface Guardrail {
  readonly name: string;
  readonly file: string;
  readonly position: SourcePosition;
  readonly description: string | undefined;
  readonly deny: readonly DenyEntry[];
  readonly exceptions: readonly GuardrailException[];
}

// ---- internet: interval arithmetic over the special-purpose registries ----

interface Interval {
  readonly lo: bigint;
  readonly hi: bigint;
}

type Family = 'ipv4' | 'ipv6';
const BITS: Readonly<Record<Family, number>> = { ipv4: 32, ipv6: 128 };

function toBigInt(bytes: readonly number[]): bigint {
  let n = 0n;
  for (const byte of bytes) n = (n << 8n) | BigInt(byte);
  return n;
}

/** The addresses of a network as an inclusive interval. */
function interval(family: Family, address: readonly number[], prefix: number): Interval {
  const size = 1n << BigInt(BITS[family] - prefix);
  const lo = (toBigInt(address) / size) * size;
  return { lo, hi: lo + size - 1n };
}

/** Sorted, merged (overlapping or adjacent) intervals. */
function merge(intervals: readonly Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const out: Interval[] = [];
  for (const next of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && next.lo <= last.hi + 1n) {
      out[out.length - 1] = { lo: last.lo, hi: next.hi > last.hi ? next.hi : last.hi };
    } else {
      out.push(next);
    }
  }
  return out;
}

/** The gaps of merged intervals within [0, 2^bits - 1]. */
function complement(merged: readonly Interval[], bits: number): Interval[] {
  const max = (1n << BigInt(bits)) - 1n;
  const out: Interval[] = [];
  let next = 0n;
  for (const { lo, hi } of merged) {
    if (lo > next) out.push({ lo: next, hi: lo - 1n });
    next = hi + 1n;
  }
  if (next <= max) out.push({ lo: next, hi: max });
  return out;
}

type RangeTable = Readonly<
  Record<string, [ipaddr.IPv4 | ipaddr.IPv6, number] | [ipaddr.IPv4 | ipaddr.IPv6, number][]>
>;

/** Every network ipaddr.js names in its table of special ranges (the IANA special-purpose registry). */
function specialNetworks(family: Family): Interval[] {
  const table = (family === 'ipv4' ? ipaddr.IPv4.prototype : ipaddr.IPv6.prototype) as unknown as {
    SpecialRanges: RangeTable;
  };
  const out: Interval[] = [];
  for (const entry of Object.values(table.SpecialRanges)) {
    const list = (Array.isArray(entry[0]) ? entry : [entry]) as [ipaddr.IPv4 | ipaddr.IPv6, number][];
    for (const [address, prefix] of list) out.push(interval(family, address.toByteArray(), prefix));
  }
  return out;
}

let globalRanges: Readonly<Record<Family, readonly Interval[]>> | undefined;

/**
 * The globally reachable addresses of each family: the complement of the special-purpose ranges.
 * Computed once.
 */
export function globalIntervals(): Readonly<Record<Family, readonly { lo: bigint; hi: bigint }[]>> {
  globalRanges ??= {
    ipv4: complement(merge(specialNetworks('ipv4')), 32),
    ipv6: complement(merge(specialNetworks('ipv6')), 128),
  };
  return globalRanges;
}

/** A canonical network's family and interval, or undefined if it does not parse. */
function networkInterval(cidr: string): { family: Family; range: Interval } | undefined {
  try {
    if (cidr.includes(':')) {
      const [address, prefix] = ipaddr.IPv6.parseCIDR(cidr);
      return { family: 'ipv6', range: interval('ipv6', address.toByteArray(), prefix) };
    }
    const [address, prefix] = ipaddr.IPv4.parseCIDR(cidr);
    return { family: 'ipv4', range: interval('ipv4', address.toByteArray(), prefix) };
  } catch {
    return undefined;
  }
}

const internetMemo = new Map<string, boolean>();

/**
 * Does the network hold at least one globally reachable address (one outside every special-purpose
 * range)? `0.0.0.0/1`, `8.8.8.0/24`, `::/0`: yes; `10.0.0.0/8`, `100.64.0.0/10`, `203.0.113.0/24`: no.
 */
export function reachesInternet(cidr: string): boolean {
  let known = internetMemo.get(cidr);
  if (known === undefined) {
    const parsed = networkInterval(cidr);
    known =
      parsed !== undefined &&
      globalIntervals()[parsed.family].some((g) => g.lo <= parsed.range.hi && parsed.range.lo <= g.hi);
    if (internetMemo.size > 100_000) internetMemo.clear();
    internetMemo.set(cidr, known);
  }
  return known;
}

/** Do two networks share an address? Networks of different families never do. */
export function networksOverlap(a: string, b: string): boolean {
  const x = networkInterval(a);
  const y = networkInterval(b);
  return (
    x !== undefined &&
    y !== undefined &&
    x.family === y.family &&
    x.range.lo <= y.range.hi &&
    y.range.lo <= x.range.hi
  );
}

// ---- the matcher ----

function protocolMatches(entry: DenyEntry, rule: Rule): boolean {
  // A rule of protocol all opens every protocol, so every entry is about it.
  return (
    entry.protocol === undefined ||
    entry.protocol === '-1' ||
    rule.protocol === '-1' ||
    entry.protocol === rule.protocol
  );
}

function portsMatch(entry: DenyEntry, rule: Rule): boolean {
  if (entry.ports === undefined) return true;
  switch (portKind(rule.protocol)) {
    case 'none':
      // all, or a protocol number EC2 opens whole: every port is open.
      return true;
    case 'icmp':
      // ICMP has types and codes, never ports.
      return false;
    case 'ports':
      return entry.ports.some((span) => span.from <= rule.toPort && rule.fromPort <= span.to);
  }
}

function sourceMatches(from: DenySource, source: RuleSource): boolean {
  if (from.kind === 'any') return true;
  if (source.kind !== 'cidr' && source.kind !== 'cidrIpv6') return false;
  if (from.kind === 'internet') return reachesInternet(source.value);
  return from.networks.some((network) => networksOverlap(network, source.value));
}

/** Does this deny entry match the rule? Protocol, ports and source must all match. */
export function entryDenies(entry: DenyEntry, rule: Rule): boolean {
  return protocolMatches(entry, rule) && portsMatch(entry, rule) && sourceMatches(entry.from, rule.source);
}

/** A guardrail's verdict on one rule. */
export interface Denial {
  readonly guardrail: string;
  /** The index of the matching `deny` entry. */
  readonly entry: number;
  readonly position: SourcePosition;
  /** Set when an exception for the rule's policy exists but expired (on or before `today`). */
  readonly expired?: GuardrailException;
}

/** Is the exception in force on `today` (`YYYY-MM-DD`, UTC)? It applies before its date, not from it on. */
export function exceptionApplies(exception: GuardrailException, today: string): boolean {
  return today < exception.expires;
}

/** The calendar date (UTC) of a moment, `YYYY-MM-DD`: what exception dates are compared with. */
export function utcDate(moment: Date): string {
  return moment.toISOString().slice(0, 10);
}

/**
 * The first guardrail (in the given order) that denies `rule`, unless an exception in force covers
 * one of `policies` (the policies that want the rule; none for a live rule nobody declares).
 */
export function denialOf(
  guardrails: readonly Guardrail[],
  rule: Rule,
  policies: readonly string[],
  today: string,
): Denial | undefined {
  for (const guardrail of guardrails) {
    const entry = guardrail.deny.findIndex((deny) => entryDenies(deny, rule));
    if (entry === -1) continue;
    const exceptions = guardrail.exceptions.filter((e) => policies.includes(e.policy));
    if (exceptions.some((e) => exceptionApplies(e, today))) continue;
    const [expired] = exceptions;
    return {
      guardrail: guardrail.name,
      entry,
      position: guardrail.deny[entry]?.position ?? guardrail.position,
      ...(expired !== undefined ? { expired } : {}),
    };
  }
  return undefined;
}
