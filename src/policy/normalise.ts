// Turns one valid policy document into the normalised Policy the planner consumes: one canonical
// rule per (ingress entry x source), targets as selectors, every part with its position.
// Only called on documents that passed the schema and every rule, so shapes are trusted here.
import type { Policy, PolicyRule, PolicyTarget, SourcePosition, TargetSelector } from '../model/policy.js';
import { canonicalProtocol, canonicalRule, portKind, SELF_GROUP, type RuleSource } from '../model/rule.js';
import type { AccountSelector, PolicyAccountSelector } from '../model/accounts.js';
import type {
  AccountSelectorDocument,
  IngressRuleDocument,
  PolicyDocument,
  SourceDocument,
  TargetDocument,
} from './kinds/ingress-policy.js';
import type { Segment } from './issue.js';
import { parsePorts } from './values.js';

export type Locate = (segments: readonly Segment[]) => SourcePosition;

function accountSelector(document: AccountSelectorDocument): AccountSelector {
  if (document.id !== undefined) return { kind: 'id', id: document.id };
  if (document.name !== undefined) return { kind: 'name', pattern: document.name };
  if (document.ou !== undefined) return { kind: 'ou', ou: document.ou };
  return { kind: 'tags', tags: { ...(document.tags ?? {}) } };
}

function selector(target: TargetDocument): TargetSelector {
  if (target.groupId !== undefined) return { kind: 'groupId', groupId: target.groupId };
  if (target.groupName !== undefined) return { kind: 'groupName', groupName: target.groupName };
  return {
    kind: 'tags',
    tags: { ...(target.tags ?? {}) },
    ...(target.vpcId !== undefined ? { vpcId: target.vpcId } : {}),
  };
}

function portsOf(entry: IngressRuleDocument, protocol: string): { fromPort: number; toPort: number } {
  switch (portKind(protocol)) {
    case 'ports': {
      const range = parsePorts(entry.ports);
      // Validation guarantees a range here; -1/-1 keeps the function total.
      return range === undefined ? { fromPort: -1, toPort: -1 } : { fromPort: range.from, toPort: range.to };
    }
    case 'icmp':
      return entry.icmp === undefined
        ? { fromPort: -1, toPort: -1 }
        : { fromPort: entry.icmp.type, toPort: entry.icmp.code ?? -1 };
    case 'none':
      return { fromPort: -1, toPort: -1 };
  }
}

/** The source as written; canonicalRule masks networks and picks the family (`cidr`/`cidrIpv6`). */
function ruleSource(source: SourceDocument): RuleSource {
  if (source.cidr !== undefined) return { kind: 'cidr', value: source.cidr };
  if (source.prefixList !== undefined) return { kind: 'prefixList', value: source.prefixList };
  return {
    kind: 'securityGroup',
    value: source.securityGroup ?? SELF_GROUP,
    ...(source.account !== undefined ? { userId: source.account } : {}),
    ...(source.vpcId !== undefined ? { vpcId: source.vpcId } : {}),
    ...(source.vpcPeeringConnectionId !== undefined
      ? { vpcPeeringConnectionId: source.vpcPeeringConnectionId }
      : {}),
  };
}

/** One valid IngressPolicy document -> the normalised Policy, every part located in `file`. */
export function normalisePolicy(document: PolicyDocument, file: string, locate: Locate): Policy {
  const { spec } = document;
  const targets: PolicyTarget[] = spec.targets.map((target, index) => ({
    selector: selector(target),
    position: locate(['spec', 'targets', index]),
  }));
  const rules: PolicyRule[] = [];
  spec.ingress.forEach((entry, ruleIndex) => {
    const protocol = canonicalProtocol(entry.protocol);
    const { fromPort, toPort } = portsOf(entry, protocol);
    entry.sources.forEach((source, sourceIndex) => {
      const description = source.description ?? entry.description;
      rules.push({
        rule: canonicalRule({
          protocol,
          fromPort,
          toPort,
          source: ruleSource(source),
          ...(description !== undefined ? { description } : {}),
        }),
        position: locate(['spec', 'ingress', ruleIndex, 'sources', sourceIndex]),
      });
    });
  });
  return {
    name: document.metadata.name,
    file,
    position: locate([]),
    region: spec.region,
    regionPosition: locate(['spec', 'region']),
    ...(spec.regions !== undefined ? { regions: [...spec.regions] } : {}),
    ...(spec.accounts !== undefined
      ? {
          accounts: spec.accounts.map((selector, index): PolicyAccountSelector => ({
            selector: accountSelector(selector),
            position: locate(['spec', 'accounts', index]),
          })),
        }
      : {}),
    targets,
    ruleTags: { ...(spec.ruleTags ?? {}) },
    rules,
  };
}

/**
 * The field path of each desired rule's source in an IngressPolicy document, in the order
 * normalisePolicy emits the rules (entry by entry, source by source): `spec.ingress[0].sources[1]`.
 */
export function rulePaths(document: Record<string, unknown>): string[] {
  const spec = document.spec as PolicyDocument['spec'] | undefined;
  const paths: string[] = [];
  (spec?.ingress ?? []).forEach((entry, i) => {
    entry.sources.forEach((_, j) => paths.push(`spec.ingress[${i}].sources[${j}]`));
  });
  return paths;
}
