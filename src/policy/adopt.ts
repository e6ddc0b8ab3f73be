// Adopting existing groups: turns live security groups into IngressPolicy documents that declare
// exactly the ingress rules the groups hold, written the way a person writes them. Pure (no I/O):
// `sg-reconciler import` reads the groups and writes the files. The same groups always give the
// same text, byte for byte (no timestamps; every list in a fixed order).
import { stringify } from 'yaml';

import type { LiveGroup } from '../model/group.js';
import type { Rule } from '../model/rule.js';
import { compareRules } from '../model/order.js';
import { portKind } from '../model/rule.js';
import {
  API_VERSION,
  KIND,
  type IngressRuleDocument,
  type PolicyDocument,
  type PortsDocument,
  type SourceDocument,
} from './document.js';
import { compareStrings as compare } from '../model/compare.js';

/** A policy name's limits (metadata.name: ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$). */
const MAX_NAME_LENGTH = 63;

export interface AdoptInput {
  /** The region the groups were read in; written as spec.region. */
  readonly region: string;
  readonly groups: readonly LiveGroup[];
  /** The policy schema's `$id`, for the `yaml-language-server` line at the top of each file. */
  readonly schemaUrl: string;
}

/** The groups read in one (account, region) unit. */
export interface AdoptUnit {
  /** Written as spec.region. */
  readonly region: string;
  /**
   * The account, when it is not the credentials' own: written as `spec.accounts: [{ id }]`, so the
   * policy works in that account (a policy without spec.accounts means the own account).
   */
  readonly account?: string;
  readonly groups: readonly LiveGroup[];
}

/** Groups of several (account, region) units: one batch, so that policy names are unique across it. */
export interface AdoptUnitsInput {
  readonly units: readonly AdoptUnit[];
  /** The policy schema's `$id`, for the `yaml-language-server` line at the top of each file. */
  readonly schemaUrl: string;
}

/** One policy to write. */
export interface AdoptedPolicy {
  /** metadata.name: from the group's name, made valid and unique within the batch. */
  readonly name: string;
  /** `<name>.yaml` */
  readonly fileName: string;
  readonly group: LiveGroup;
  /** The unit the group was read in (`account` only when it is not the credentials' own). */
  readonly region: string;
  readonly account?: string;
  /** One-source rules declared (the group's live ingress rules). */
  readonly rules: number;
  /** Ingress entries they were folded into (one per protocol and port range). */
  readonly entries: number;
  /** The YAML text, ending in a newline. */
  readonly text: string;
}

export interface AdoptResult {
  /** Sorted by name. */
  readonly policies: readonly AdoptedPolicy[];
  /** Groups with no ingress rule: no policy (it would have nothing to declare). Sorted by ID. */
  readonly withoutIngress: readonly LiveGroup[];
}

/** A valid policy name from a group name: lower case, runs of other characters as one `-`. */
function baseName(group: LiveGroup): string {
  const name = group.groupName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_NAME_LENGTH)
    .replace(/-+$/, '');
  return name === '' ? group.groupId.toLowerCase() : name;
}

/** `<base>-<group ID>`, the base shortened so the whole stays within 63 characters. */
function withId(base: string, group: LiveGroup): string {
  const id = group.groupId.toLowerCase();
  const room = MAX_NAME_LENGTH - id.length - 1;
  const head = base.slice(0, Math.max(0, room)).replace(/-+$/, '');
  return head === '' || head === id ? id : `${head}-${id}`;
}

/**
 * Policy names for the groups: the group's name made valid, and where two groups would get the
 * same name (`default` of every VPC, names differing in case), each of them gets its group ID
 * appended. Deterministic for a given set of groups.
 */
export function policyNames(groups: readonly LiveGroup[]): Map<string, string> {
  const byBase = new Map<string, LiveGroup[]>();
  for (const group of [...groups].sort((a, b) => compare(a.groupId, b.groupId))) {
    const base = baseName(group);
    byBase.set(base, [...(byBase.get(base) ?? []), group]);
  }
  const names = new Map<string, string>();
  const taken = new Set<string>();
  for (const [base, members] of [...byBase.entries()].sort(([a], [b]) => compare(a, b))) {
    if (members.length === 1 && members[0] !== undefined && !taken.has(base)) {
      names.set(members[0].groupId, base);
      taken.add(base);
      continue;
    }
    for (const group of members) {
      const name = withId(base, group);
      names.set(group.groupId, name);
      taken.add(name);
    }
  }
  return names;
}

function protocolDocument(protocol: string): string | number {
  if (protocol === '-1') return 'all';
  return /^\d+$/.test(protocol) ? Number(protocol) : protocol;
}

function portsDocument(rule: Rule): PortsDocument {
  return rule.fromPort === rule.toPort ? rule.fromPort : `${rule.fromPort}-${rule.toPort}`;
}

function sourceDocument(rule: Rule, group: LiveGroup): SourceDocument {
  const { source } = rule;
  switch (source.kind) {
    case 'cidr':
    case 'cidrIpv6':
      return { cidr: source.value };
    case 'prefixList':
      return { prefixList: source.value };
    case 'securityGroup': {
      if (source.value.toLowerCase() === group.groupId.toLowerCase()) return { securityGroup: 'self' };
      const crossAccount =
        source.userId !== undefined && group.ownerId !== undefined && source.userId !== group.ownerId;
      return {
        securityGroup: source.value,
        ...(crossAccount ? { account: source.userId } : {}),
        ...(source.vpcId !== undefined ? { vpcId: source.vpcId } : {}),
        ...(source.vpcPeeringConnectionId !== undefined
          ? { vpcPeeringConnectionId: source.vpcPeeringConnectionId }
          : {}),
      };
    }
  }
}

/**
 * The group's rules folded as a person writes them: one ingress entry per protocol and port range
 * (ICMP type and code) with all its sources; a description every source shares becomes the
 * entry's description, otherwise each source keeps its own (a source without one gets none, since
 * an entry's description would be inherited by it).
 */
export function ingressDocuments(group: LiveGroup): IngressRuleDocument[] {
  // Canonical already: the EC2 read (or the snapshot) is the edge that canonicalised them.
  const rules = [...group.rules].sort(compareRules);
  const entries = new Map<string, Rule[]>();
  for (const rule of rules) {
    const key = `${rule.protocol}|${rule.fromPort}|${rule.toPort}`;
    entries.set(key, [...(entries.get(key) ?? []), rule]);
  }
  return [...entries.values()].map((members) => {
    const first = members[0] as Rule;
    const descriptions = new Set(members.map((rule) => rule.description ?? ''));
    const shared = descriptions.size === 1 ? [...descriptions][0] : undefined;
    const kind = portKind(first.protocol);
    const entry: IngressRuleDocument = {
      protocol: protocolDocument(first.protocol),
      ...(kind === 'ports' ? { ports: portsDocument(first) } : {}),
      ...(kind === 'icmp' && first.fromPort !== -1
        ? { icmp: { type: first.fromPort, code: first.toPort } }
        : {}),
      ...(shared !== undefined && shared !== '' ? { description: shared } : {}),
      sources: members.map((rule) => ({
        ...sourceDocument(rule, group),
        ...(shared === undefined && (rule.description ?? '') !== '' ? { description: rule.description } : {}),
      })),
    };
    return entry;
  });
}

/** One line of a comment: no line breaks or other control characters. */
function commentText(text: string): string {
  let out = '';
  for (const char of text) out += char.charCodeAt(0) < 0x20 || char === '\u007f' ? ' ' : char;
  return out;
}

/**
 * One IngressPolicy per group with ingress rules, targeting the group by ID in `region`, declaring
 * every live ingress rule with its description. Groups without ingress rules are listed instead.
 */
export function adoptGroups(input: AdoptInput): AdoptResult {
  return adoptUnits({ units: [{ region: input.region, groups: input.groups }], schemaUrl: input.schemaUrl });
}

/**
 * adoptGroups over several (account, region) units at once: one policy per group with ingress
 * rules (spec.region its unit's region; spec.accounts its account when that is not the
 * credentials' own), names unique across every unit. Sorted by name; deterministic.
 */
export function adoptUnits(input: AdoptUnitsInput): AdoptResult {
  const located = input.units.flatMap((unit) => unit.groups.map((group) => ({ unit, group })));
  const sorted = located.sort(
    (a, b) =>
      compare(a.group.groupId, b.group.groupId) ||
      compare(a.unit.account ?? '', b.unit.account ?? '') ||
      compare(a.unit.region, b.unit.region),
  );
  const withIngress = sorted.filter(({ group }) => group.rules.length > 0);
  const names = policyNames(withIngress.map(({ group }) => group));
  const policies = withIngress.map(({ unit, group }): AdoptedPolicy => {
    const name = names.get(group.groupId) ?? group.groupId;
    const ingress = ingressDocuments(group);
    const document: PolicyDocument = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name },
      spec: {
        region: unit.region,
        ...(unit.account !== undefined ? { accounts: [{ id: unit.account }] } : {}),
        targets: [{ groupId: group.groupId }],
        ingress,
      },
    };
    const owner = group.ownerId === undefined ? '' : `, account ${group.ownerId}`;
    const header = [
      `# yaml-language-server: $schema=${input.schemaUrl}`,
      `# Imported by sg-reconciler from security group ${group.groupId} (${commentText(JSON.stringify(group.groupName))}) in ${unit.region}${owner}:`,
      '# every ingress rule the group held, so that plan reports nothing missing and no drift for it.',
    ];
    const body = stringify(document, { lineWidth: 0 });
    return {
      name,
      fileName: `${name}.yaml`,
      group,
      region: unit.region,
      ...(unit.account !== undefined ? { account: unit.account } : {}),
      rules: group.rules.length,
      entries: ingress.length,
      text: `${header.join('\n')}\n${body}`,
    };
  });
  return {
    policies: policies.sort((a, b) => compare(a.name, b.name)),
    withoutIngress: sorted.filter(({ group }) => group.rules.length === 0).map(({ group }) => group),
  };
}
