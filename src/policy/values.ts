// Reading the individual values of a policy (protocol, ports, ICMP, networks, descriptions) the way
// EC2 reads them. Shared by the validation rules and the normaliser so both agree. Pure.
import ipaddr from 'ipaddr.js';
import { canonicalProtocol } from '../model/rule.js';

export const PROTOCOL_HINT = 'tcp, udp, icmp, icmpv6, all (or -1), or a protocol number from 0 to 255';
export const PROTOCOL_NAMES = ['tcp', 'udp', 'icmp', 'icmpv6', 'all'] as const;

/** The canonical protocol (`tcp`, ..., `-1`, or a decimal number), or undefined if it is not one. */
export function parseProtocol(value: unknown): string | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= -1 && value <= 255 ? canonicalProtocol(value) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const text = value.toLowerCase();
  if ((PROTOCOL_NAMES as readonly string[]).includes(text) || text === '-1') return canonicalProtocol(text);
  if (/^[0-9]{1,3}$/.test(text) && Number(text) <= 255) return canonicalProtocol(text);
  return undefined;
}

export const MAX_PORT = 65535;

export interface PortRange {
  readonly from: number;
  readonly to: number;
}

/** The range a `ports` value names, or undefined when it is not a well-formed, in-range, ordered one. */
export function parsePorts(value: unknown): PortRange | undefined {
  let range: PortRange | undefined;
  if (typeof value === 'number') range = { from: value, to: value };
  else if (typeof value === 'string') {
    const match = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(value);
    if (match !== null) range = { from: Number(match[1]), to: Number(match[2] ?? match[1]) };
  } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { from, to } = value as { from?: unknown; to?: unknown };
    if (typeof from === 'number' && typeof to === 'number') range = { from, to };
  }
  if (range === undefined) return undefined;
  const inRange = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= MAX_PORT;
  return inRange(range.from) && inRange(range.to) && range.from <= range.to ? range : undefined;
}

export type CidrCheck =
  | { readonly ok: true; readonly family: 'ipv4' | 'ipv6' }
  | { readonly ok: false; readonly reason: 'invalid' | 'no-prefix' | 'host-bits'; readonly network?: string };

/**
 * Checks a network as EC2 reads CidrIp / CidrIpv6: dotted-quad IPv4 (no octal or hex forms) or
 * IPv6 without a zone, with a prefix length, and without host bits (EC2 would silently mask them,
 * so the rule read back would never match the policy).
 */
export function checkCidr(text: string): CidrCheck {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const ipv4 = ipaddr.IPv4.isValidFourPartDecimal(address);
  const ipv6 = !ipv4 && !address.includes('%') && ipaddr.IPv6.isValid(address);
  if (!ipv4 && !ipv6) return { ok: false, reason: 'invalid' };
  if (slash === -1) return { ok: false, reason: 'no-prefix' };
  const prefixText = text.slice(slash + 1);
  const max = ipv4 ? 32 : 128;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefixText) || Number(prefixText) > max) {
    return { ok: false, reason: 'invalid' };
  }
  const cidr = `${address}/${prefixText}`;
  if (ipv4) {
    const network = ipaddr.IPv4.networkAddressFromCIDR(cidr).toString();
    if (network !== ipaddr.IPv4.parse(address).toString()) {
      return { ok: false, reason: 'host-bits', network: `${network}/${prefixText}` };
    }
    return { ok: true, family: 'ipv4' };
  }
  const network = ipaddr.IPv6.networkAddressFromCIDR(cidr);
  const given = ipaddr.IPv6.parse(address);
  if (network.toNormalizedString() !== given.toNormalizedString()) {
    return { ok: false, reason: 'host-bits', network: `${network.toRFC5952String()}/${prefixText}` };
  }
  return { ok: true, family: 'ipv6' };
}

// Allowed description characters, from the EC2 API reference (IpRange, Ipv6Range, PrefixListId,
// UserIdGroupPair). Only IP ranges allow `&`.
export const CIDR_DESCRIPTION_CHARS = 'a-zA-Z0-9 ._-:/()#,@[]+=&;{}!$*';
export const GROUP_DESCRIPTION_CHARS = 'a-zA-Z0-9 ._-:/()#,@[]+=;{}!$*';
const CIDR_ALLOWED = /[a-zA-Z0-9 ._\-:/()#,@[\]+=&;{}!$*]/;
const GROUP_ALLOWED = /[a-zA-Z0-9 ._\-:/()#,@[\]+=;{}!$*]/;
export const MAX_DESCRIPTION_LENGTH = 255;

/** The distinct characters of a description that EC2 rejects for this kind of source, in order. */
export function disallowedDescriptionChars(description: string, allowAmpersand: boolean): string[] {
  const allowed = allowAmpersand ? CIDR_ALLOWED : GROUP_ALLOWED;
  const bad: string[] = [];
  for (const char of description) {
    if (!allowed.test(char) && !bad.includes(char)) bad.push(char);
  }
  return bad;
}

/** Characters named in a message: printable ones quoted, the rest as U+XXXX. */
export function describeChars(chars: readonly string[]): string {
  return chars
    .map((char) => {
      const code = char.codePointAt(0) ?? 0;
      if (code < 0x20 || code === 0x7f || char === ' ' || /\s/.test(char)) {
        return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
      }
      return JSON.stringify(char);
    })
    .join(', ');
}

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment), for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row !== undefined) row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The candidate closest to `word` when it is near enough to be a likely typo, else undefined. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (best === undefined || distance < best.distance) best = { candidate, distance };
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(best.candidate.length / 3));
  return best.distance <= limit ? best.candidate : undefined;
}
