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
import type { RuleSite } from './guardrail-check.js';

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

/** The canonical rules of one valid `spec.ingress` entry: one per source, each located at its source. */
function entryRules(
  entry: IngressRuleDocument,
  ruleIndex: number,
  locate: Locate,
  keep: (sourceIndex: number) => boolean = () => true,
): PolicyRule[] {
  const protocol = canonicalProtocol(entry.protocol);
  const { fromPort, toPort } = portsOf(entry, protocol);
  return entry.sources.flatMap((source, sourceIndex) => {
    if (!keep(sourceIndex)) return [];
    const description = source.description ?? entry.description;
    return {
      rule: canonicalRule({
        protocol,
        fromPort,
        toPort,
        source: ruleSource(source),
        ...(description !== undefined ? { description } : {}),
      }),
      position: locate(['spec', 'ingress', ruleIndex, 'sources', sourceIndex]),
    };
  });
}

/**
 * Where the errors of an IngressPolicy document lie, for cleanRulesOf: `all` when above the
 * entries (nothing can be trusted); else the `spec.ingress` entries with an error in a field of
 * their own (protocol, ports, ...), and the sources (`entry/source`) with an error of their own.
 */
export type DirtyRules =
  'all' | { readonly entries: ReadonlySet<number>; readonly sources: ReadonlySet<string> };

/**
 * The rules of an IngressPolicy document that has errors, for the guardrail check only: each
 * source without an error of its own, in an `spec.ingress` entry whose other fields have none (the
 * schema checked them), is normalised, so a guardrail denial is reported together with the
 * document's other errors instead of after they are fixed. The sites' Policy has no targets and is
 * never planned. Empty when `dirty` is `all`, or the document has no usable name or ingress list.
 * Never throws: an entry that does not normalise is left out.
 */
export function cleanRulesOf(
  document: Record<string, unknown>,
  dirty: DirtyRules,
  file: string,
  locate: Locate,
): RuleSite[] {
  const metadata = document.metadata as { name?: unknown } | undefined;
  const spec = document.spec as { ingress?: unknown } | undefined;
  if (dirty === 'all' || typeof metadata?.name !== 'string' || !Array.isArray(spec?.ingress)) return [];
  const rules: PolicyRule[] = [];
  const paths: string[] = [];
  (spec.ingress as unknown[]).forEach((entry, ruleIndex) => {
    if (dirty.entries.has(ruleIndex)) return;
    const keep = (j: number): boolean => !dirty.sources.has(`${ruleIndex}/${j}`);
    try {
      const sources = (entry as IngressRuleDocument).sources.map((_, j) => j).filter(keep);
      const entryRulesOf = entryRules(entry as IngressRuleDocument, ruleIndex, locate, keep);
      sources.forEach((j) => paths.push(`spec.ingress[${ruleIndex}].sources[${j}]`));
      rules.push(...entryRulesOf);
    } catch {
      // Not checkable on its own; its document's errors are reported anyway.
    }
  });
  const policy: Policy = {
    name: metadata.name,
    file,
    position: locate([]),
    region: undefined,
    targets: [],
    ruleTags: {},
    rules,
  };
  return rules.map((_, index) => ({ policy, index, path: paths[index] ?? '' }));
}

/** One valid IngressPolicy document -> the normalised Policy, every part located in `file`. */
export function normalisePolicy(document: PolicyDocument, file: string, locate: Locate): Policy {
  const { spec } = document;
  const targets: PolicyTarget[] = spec.targets.map((target, index) => ({
    selector: selector(target),
    position: locate(['spec', 'targets', index]),
  }));
  const rules: PolicyRule[] = [];
  spec.ingress.forEach((entry, ruleIndex) => rules.push(...entryRules(entry, ruleIndex, locate)));
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
