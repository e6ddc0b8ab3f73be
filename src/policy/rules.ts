// The small named rules the JSON Schema cannot express: cross-field and EC2-specific checks. Each
// rule reads the raw document defensively (the schema may have failed elsewhere), reports only
// what the schema does not already report, and returns issues as values.
import { describeProtocol, portKind } from '../model/rule.js';
import { RESERVED_RULE_TAG_KEYS } from './kinds/ingress-policy.js';
import { isRecord, quote, type Issue, type Segment } from './issue.js';
import { misplacedSourceMessage } from './sentences.js';
import {
  GROUP_DESCRIPTION_CHARS,
  MAX_PORT,
  checkCidr,
  describeChars,
  disallowedDescriptionChars,
  parseProtocol,
} from './values.js';

export type ValidationRule = (document: Record<string, unknown>) => Issue[];

interface IngressEntry {
  readonly entry: Record<string, unknown>;
  readonly segments: readonly Segment[];
}

function ingressEntries(document: Record<string, unknown>): IngressEntry[] {
  const spec = document.spec;
  if (!isRecord(spec) || !Array.isArray(spec.ingress)) return [];
  const entries: IngressEntry[] = [];
  spec.ingress.forEach((entry: unknown, index) => {
    if (isRecord(entry)) entries.push({ entry, segments: ['spec', 'ingress', index] });
  });
  return entries;
}

interface SourceEntry {
  readonly rule: IngressEntry;
  readonly source: Record<string, unknown>;
  readonly segments: readonly Segment[];
}

function sourceEntries(document: Record<string, unknown>): SourceEntry[] {
  const sources: SourceEntry[] = [];
  for (const rule of ingressEntries(document)) {
    if (!Array.isArray(rule.entry.sources)) continue;
    rule.entry.sources.forEach((source: unknown, index) => {
      if (isRecord(source)) sources.push({ rule, source, segments: [...rule.segments, 'sources', index] });
    });
  }
  return sources;
}

/** A protocol number written as a string beyond 255 passes the schema's pattern. */
export const protocolNumberInRange: ValidationRule = (document) =>
  ingressEntries(document).flatMap(({ entry, segments }) => {
    const protocol = entry.protocol;
    if (typeof protocol === 'string' && /^[0-9]{1,3}$/.test(protocol) && Number(protocol) > 255) {
      return [
        {
          segments: [...segments, 'protocol'],
          at: 'value',
          message: `protocol ${quote(protocol)} is not a protocol number; write a number from 0 to 255, or tcp, udp, icmp, icmpv6 or all`,
        },
      ];
    }
    return [];
  });

/** A "from-to" string's ports are in range and in order; an object's from <= to. */
export const portRangeOrdered: ValidationRule = (document) =>
  ingressEntries(document).flatMap(({ entry, segments }): Issue[] => {
    const ports = entry.ports;
    const at = [...segments, 'ports'];
    if (typeof ports === 'string') {
      const match = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(ports);
      if (match === null) return [];
      const from = Number(match[1]);
      const to = Number(match[2] ?? match[1]);
      const outside = [from, to].filter((port) => port > MAX_PORT);
      if (outside.length > 0) {
        return [
          {
            segments: at,
            at: 'value',
            message: `ports ${quote(ports)} is out of range; write ports from 0 to ${MAX_PORT}`,
          },
        ];
      }
      if (from > to) {
        return [
          {
            segments: at,
            at: 'value',
            message: `ports ${quote(ports)} runs backwards; write the lower port first: "${to}-${from}"`,
          },
        ];
      }
      return [];
    }
    if (isRecord(ports) && typeof ports.from === 'number' && typeof ports.to === 'number') {
      if (ports.from > ports.to) {
        return [
          {
            segments: at,
            at: 'value',
            message: `ports from ${ports.from} to ${ports.to} runs backwards; write {from: ${ports.to}, to: ${ports.from}}`,
          },
        ];
      }
    }
    return [];
  });

/** ports only where the protocol takes them (and required there); icmp only for ICMP protocols. */
export const portsMatchProtocol: ValidationRule = (document) =>
  ingressEntries(document).flatMap(({ entry, segments }): Issue[] => {
    const protocol = parseProtocol(entry.protocol);
    if (protocol === undefined) return [];
    const kind = portKind(protocol);
    const name = describeProtocol(protocol);
    const issues: Issue[] = [];
    if (kind === 'ports' && entry.ports === undefined) {
      issues.push({
        segments,
        at: 'value',
        missing: 'ports',
        message: `protocol ${name} needs ports; write ports: 443, ports: "8000-8080" or ports: {from: 8000, to: 8080}; for every port write ports: "0-65535"`,
      });
    }
    if (kind !== 'ports' && entry.ports !== undefined) {
      const message =
        kind === 'icmp'
          ? `ports do not apply to protocol ${name}; to choose an ICMP type write icmp: {type: 8, code: -1} instead`
          : protocol === '-1'
            ? 'ports do not apply to protocol all, which opens every port; remove ports, or write protocol: tcp or udp'
            : `ports do not apply to protocol ${name}, whose every port EC2 opens; remove ports, or write protocol: tcp or udp`;
      issues.push({ segments: [...segments, 'ports'], at: 'key', supersedes: true, message });
    }
    if (kind !== 'icmp' && entry.icmp !== undefined) {
      issues.push({
        segments: [...segments, 'icmp'],
        at: 'key',
        supersedes: true,
        message: `icmp applies only to protocol icmp or icmpv6, not ${name}; remove it, or write protocol: icmp`,
      });
    }
    return issues;
  });

/** EC2: all ICMP types (-1) implies all codes, so a specific code needs a specific type. */
export const icmpCodeNeedsType: ValidationRule = (document) =>
  ingressEntries(document).flatMap(({ entry, segments }): Issue[] => {
    const icmp = entry.icmp;
    if (!isRecord(icmp) || icmp.type !== -1) return [];
    if (typeof icmp.code !== 'number' || icmp.code === -1 || !Number.isInteger(icmp.code)) return [];
    if (icmp.code < -1 || icmp.code > 255) return [];
    return [
      {
        segments: [...segments, 'icmp', 'code'],
        at: 'value',
        message: `icmp code ${icmp.code} needs a specific type; with type -1 (all types) omit code or write code: -1`,
      },
    ];
  });

/** A network parses, has a prefix length and no host bits. */
export const cidrIsNetwork: ValidationRule = (document) =>
  sourceEntries(document).flatMap(({ source, segments }): Issue[] => {
    const cidr = source.cidr;
    if (typeof cidr !== 'string' || cidr === '') return [];
    const check = checkCidr(cidr);
    if (check.ok) return [];
    const at = [...segments, 'cidr'];
    switch (check.reason) {
      case 'host-bits': {
        const host = cidr.includes(':')
          ? `${cidr.split('/')[0] ?? ''}/128`
          : `${cidr.split('/')[0] ?? ''}/32`;
        return [
          {
            segments: at,
            at: 'value',
            message: `cidr ${cidr} has host bits set; write ${check.network ?? ''} (or ${host} for the single host)`,
          },
        ];
      }
      case 'no-prefix': {
        const host = cidr.includes(':') ? `${cidr}/128` : `${cidr}/32`;
        return [
          {
            segments: at,
            at: 'value',
            message: `cidr ${cidr} has no prefix length; write ${host} for the single host, or the network, e.g. 203.0.113.0/24`,
          },
        ];
      }
      default:
        return [
          {
            segments: at,
            at: 'value',
            message:
              misplacedSourceMessage('cidr', cidr) ??
              `cidr ${quote(cidr)} is not an IPv4 or IPv6 network; write a network in CIDR notation, e.g. 203.0.113.0/24 or 2001:db8::/64`,
          },
        ];
    }
  });

/**
 * Prefix-list and security-group sources do not allow `&` in descriptions, including the rule's
 * description they inherit. Other characters are the schema's to report.
 */
export const groupDescriptionCharacters: ValidationRule = (document) =>
  sourceEntries(document).flatMap(({ rule, source, segments }): Issue[] => {
    if (source.prefixList === undefined && source.securityGroup === undefined) return [];
    const own = typeof source.description === 'string';
    const description = own ? source.description : rule.entry.description;
    if (typeof description !== 'string') return [];
    // Only `&` is new here; a description with other disallowed characters fails the schema already.
    if (disallowedDescriptionChars(description, true).length > 0) return [];
    const bad = disallowedDescriptionChars(description, false);
    if (bad.length === 0) return [];
    const kind = source.prefixList !== undefined ? 'prefix-list' : 'security-group';
    const allowed = GROUP_DESCRIPTION_CHARS.slice('a-zA-Z0-9 '.length);
    if (own) {
      return [
        {
          segments: [...segments, 'description'],
          at: 'value',
          message: `description contains ${describeChars(bad)}, which EC2 does not allow for ${kind} sources; use only letters, digits, spaces and ${allowed}`,
        },
      ];
    }
    const where = `sources[${String(segments[segments.length - 1])}]`;
    return [
      {
        segments: [...rule.segments, 'description'],
        at: 'value',
        message: `description contains ${describeChars(bad)}, which EC2 does not allow for ${kind} sources such as ${where}; remove it, or give that source its own description`,
      },
    ];
  });

/** The product sets managed-by and sg-reconciler/policy itself. */
export const reservedRuleTags: ValidationRule = (document) => {
  const spec = document.spec;
  if (!isRecord(spec) || !isRecord(spec.ruleTags)) return [];
  return Object.keys(spec.ruleTags).flatMap((key): Issue[] =>
    (RESERVED_RULE_TAG_KEYS as readonly string[]).includes(key.toLowerCase())
      ? [
          {
            segments: ['spec', 'ruleTags', key],
            at: 'key',
            message: `tag key ${JSON.stringify(key)} is set by sg-reconciler on every rule it creates; remove it from ruleTags`,
          },
        ]
      : [],
  );
};

/** `self` is the target group itself: an account, VPC or peering connection makes no sense there. */
export const selfHasNoPeer: ValidationRule = (document) =>
  sourceEntries(document).flatMap(({ source, segments }): Issue[] => {
    if (source.securityGroup !== 'self') return [];
    return (['account', 'vpcId', 'vpcPeeringConnectionId'] as const)
      .filter((field) => source[field] !== undefined)
      .map((field) => ({
        segments: [...segments, field],
        at: 'key' as const,
        message: `${field} does not apply to securityGroup: self, which is the target group itself; remove ${field}`,
      }));
  });

/** `spec.region` names one region, `spec.regions` several: a policy says one or the other. */
export const regionOrRegions: ValidationRule = (document) => {
  const spec = document.spec;
  if (!isRecord(spec) || spec.region === undefined || spec.regions === undefined) return [];
  const both = Array.isArray(spec.regions) ? [spec.region, ...(spec.regions as unknown[])] : [spec.region];
  const names = [...new Set(both.filter((r): r is string => typeof r === 'string'))].join(', ');
  return [
    {
      segments: ['spec', 'regions'],
      at: 'key',
      message: `spec.region and spec.regions are both set; write one of them, e.g. regions: [${names}], and remove region`,
    },
  ];
};

/** The rules of an IngressPolicy, run after its schema (kinds/index.ts). */
export const INGRESS_POLICY_RULES: readonly ValidationRule[] = [
  protocolNumberInRange,
  portRangeOrdered,
  portsMatchProtocol,
  icmpCodeNeedsType,
  cidrIsNetwork,
  groupDescriptionCharacters,
  reservedRuleTags,
  selfHasNoPeer,
  regionOrRegions,
];
