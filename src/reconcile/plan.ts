// The planner: desired rules x live groups -> what is missing, what drifted, and whether the
// missing rules fit the per-group quota. Pure: it imports types and the rule model only (no AWS,
// no file system, no logger), so it can be driven with generated cases in milliseconds.
import type { PrefixListInfo } from '../model/group.js';
import type { Denial } from '../model/guardrail.js';
import type { Policy } from '../model/policy.js';
import type { LiveRule, Rule } from '../model/rule.js';
import { createCanonicaliser, ruleFamilies, ruleKey } from '../model/rule.js';

type Canonicaliser = ReturnType<typeof createCanonicaliser>;
import type {
  BlockedRule,
  DescriptionDrift,
  DesiredRule,
  GroupPlan,
  GroupRead,
  Plan,
  QuotaProjection,
  RegionRead,
  Violation,
} from './types.js';
import { compareStrings } from '../model/compare.js';

export const MANAGED_BY_TAG = 'managed-by';
export const MANAGED_BY_VALUE = 'sg-reconciler';
export const POLICY_TAG = 'sg-reconciler/policy';

export interface PlanRegionInput {
  /** The account the region was read in (12 digits). */
  readonly account: string;
  readonly region: string;
  /** The policies of this region. */
  readonly policies: readonly Policy[];
  /** What read.ts returned for this region (only groups, readFailures and prefixLists are used). */
  readonly read: Pick<RegionRead, 'groups' | 'readFailures' | 'prefixLists'>;
  readonly maxRulesPerGroup: number;
  /** What must never be authorized, and the UTC date (`YYYY-MM-DD`) their exceptions are judged on. */
  readonly guardrails?: GuardrailInput;
}

/** The guardrail verdict of a rule wanted by `policies` (none for a rule nobody declares). */
export type Guard = (rule: Rule, policies: readonly string[]) => Denial | undefined;

/**
 * The guardrails of a plan: their names, and the verdict (model/guardrail.ts denialOf, bound to
 * the guardrails and the day by the caller, so the planner imports no more than the rule model).
 */
export interface GuardrailInput {
  readonly names: readonly string[];
  readonly judge: Guard;
}

function guardFor(input: GuardrailInput | undefined): Guard {
  return input === undefined || input.names.length === 0 ? () => undefined : input.judge;
}

/** Descriptions compare with undefined and '' as the same thing: EC2 returns no description as either. */
function sameDescription(a: string | undefined, b: string | undefined): boolean {
  return (a ?? '') === (b ?? '');
}

/** The tags a rule of `policy` is created with; the contract's two tags win over ruleTags. */
export function ruleTagsFor(policy: Policy): Record<string, string> {
  return { ...policy.ruleTags, [MANAGED_BY_TAG]: MANAGED_BY_VALUE, [POLICY_TAG]: policy.name };
}

/** A policy rule bound to one group: `self` becomes the group itself; canonical. */
function bindRule(rule: Rule, selfSource: boolean, groupId: string, canonical: Canonicaliser): Rule {
  return canonical(selfSource ? { ...rule, source: { kind: 'securityGroup', value: groupId } } : rule);
}

/**
 * The desired rules of one group: the union of the rules of every policy that targets it, one per
 * identity. Policies are visited in name order, so when several want the same rule the first by name
 * owns it (its tags, and its description: a second policy asking for another description for the
 * same rule cannot get it, since EC2 keeps one description per rule).
 */
function desiredRules(
  groupId: string,
  policies: readonly Policy[],
  canonical: Canonicaliser,
): Map<string, { rule: Rule; policies: string[]; owner: Policy }> {
  const byKey = new Map<string, { rule: Rule; policies: string[]; owner: Policy }>();
  for (const policy of policies) {
    for (const policyRule of policy.rules) {
      const rule = bindRule(policyRule.rule, policyRule.selfSource, groupId, canonical);
      const key = ruleKey(rule);
      const entry = byKey.get(key);
      if (entry === undefined) byKey.set(key, { rule, policies: [policy.name], owner: policy });
      else if (!entry.policies.includes(policy.name)) entry.policies.push(policy.name);
    }
  }
  return byKey;
}

interface Weight {
  ipv4: number;
  ipv6: number;
  unknownPrefixList: string | undefined;
}

/**
 * What a rule weighs in EC2's per-group quota: one rule in its address family; a security-group
 * reference one in each; a prefix-list reference its list's max entries in the list's family (both
 * when the family is unknown), or one in both when the list could not be sized.
 */
function weight(rule: Rule, prefixLists: ReadonlyMap<string, PrefixListInfo>): Weight {
  if (rule.source.kind === 'prefixList') {
    const info = prefixLists.get(rule.source.value.toLowerCase());
    if (info === undefined) return { ipv4: 1, ipv6: 1, unknownPrefixList: rule.source.value };
    const n = info.maxEntries;
    if (info.addressFamily === 'IPv4') return { ipv4: n, ipv6: 0, unknownPrefixList: undefined };
    if (info.addressFamily === 'IPv6') return { ipv4: 0, ipv6: n, unknownPrefixList: undefined };
    return { ipv4: n, ipv6: n, unknownPrefixList: undefined };
  }
  const families = ruleFamilies(rule);
  return {
    ipv4: families.includes('ipv4') ? 1 : 0,
    ipv6: families.includes('ipv6') ? 1 : 0,
    unknownPrefixList: undefined,
  };
}

function projectQuota(
  live: readonly Rule[],
  missing: readonly Rule[],
  prefixLists: ReadonlyMap<string, PrefixListInfo>,
  limit: number,
): QuotaProjection {
  const unknown = new Set<string>();
  const sum = (rules: readonly Rule[]): { ipv4: number; ipv6: number } => {
    let ipv4 = 0;
    let ipv6 = 0;
    for (const rule of rules) {
      const w = weight(rule, prefixLists);
      ipv4 += w.ipv4;
      ipv6 += w.ipv6;
      if (w.unknownPrefixList !== undefined) unknown.add(w.unknownPrefixList);
    }
    return { ipv4, ipv6 };
  };
  const current = sum(live);
  const added = sum(missing);
  const ipv4 = { current: current.ipv4, projected: current.ipv4 + added.ipv4 };
  const ipv6 = { current: current.ipv6, projected: current.ipv6 + added.ipv6 };
  // Only a family the missing rules add to can fail the group: a group already over the limit in a
  // family we do not touch (a lowered quota, rules added by hand) is EC2's concern, not this change's.
  const exceeded = (added.ipv4 > 0 && ipv4.projected > limit) || (added.ipv6 > 0 && ipv6.projected > limit);
  return {
    limit,
    ipv4,
    ipv6,
    exceeded,
    ...(unknown.size > 0 ? { unknownPrefixLists: [...unknown].sort() } : {}),
  };
}

function planGroup(
  account: string,
  region: string,
  read: GroupRead,
  policiesByName: ReadonlyMap<string, Policy>,
  uncertainPolicies: readonly Policy[],
  prefixLists: ReadonlyMap<string, PrefixListInfo>,
  limit: number,
  canonical: Canonicaliser,
  guard: Guard,
): GroupPlan {
  const { group } = read;
  const groupPolicies = [...read.policies].sort(compareStrings);
  const policies = groupPolicies.flatMap((name) => {
    const policy = policiesByName.get(name);
    return policy === undefined ? [] : [policy];
  });
  const wanted = desiredRules(group.groupId, policies, canonical);
  const desired: DesiredRule[] = [...wanted.entries()]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([, { rule, policies: names, owner }]) => ({
      account,
      region,
      groupId: group.groupId,
      rule,
      policy: owner.name,
      policies: [...names].sort(compareStrings),
      tags: ruleTagsFor(owner),
    }));

  // Ports return canonical rules already; canonicalising again (cheaply, through the memo) keeps a
  // port that does not from causing a perpetual diff.
  const liveRules: LiveRule[] = group.rules.map((rule) => canonical(rule));
  const liveByKey = new Map<string, LiveRule>();
  for (const rule of liveRules) if (!liveByKey.has(ruleKey(rule))) liveByKey.set(ruleKey(rule), rule);

  const missing: DesiredRule[] = [];
  const blocked: BlockedRule[] = [];
  const descriptionDrift: DescriptionDrift[] = [];
  for (const rule of desired) {
    const live = liveByKey.get(ruleKey(rule.rule));
    if (live === undefined) {
      const denial = guard(rule.rule, rule.policies);
      if (denial === undefined) missing.push(rule);
      else blocked.push({ desired: rule, denial });
    } else if (!sameDescription(live.description, rule.rule.description)) {
      descriptionDrift.push({ desired: rule, live });
    }
  }

  // A policy whose targets could not be read may well target this group: its rules are not drift.
  const declared = new Set(wanted.keys());
  for (const [key] of desiredRules(group.groupId, uncertainPolicies, canonical)) declared.add(key);
  const drift = [...liveByKey.entries()]
    .filter(([key]) => !declared.has(key))
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([, rule]) => rule);

  const violations: Violation[] = [];
  for (const [key, rule] of [...liveByKey.entries()].sort(([a], [b]) => compareStrings(a, b))) {
    const denial = guard(rule, wanted.get(key)?.policies ?? []);
    if (denial !== undefined) violations.push({ rule, denial });
  }

  return {
    account,
    region,
    group,
    policies: groupPolicies,
    desired,
    missing,
    blocked,
    violations,
    drift,
    descriptionDrift,
    quota: projectQuota(
      liveRules,
      missing.map((m) => m.rule),
      prefixLists,
      limit,
    ),
  };
}

/** Plan every group read in one region, sorted by group ID. */
export function planRegion(input: PlanRegionInput): GroupPlan[] {
  const canonical = createCanonicaliser();
  const guard = guardFor(input.guardrails);
  const policiesByName = new Map(input.policies.map((p) => [p.name, p] as const));
  const uncertainNames = new Set(input.read.readFailures.flatMap((f) => f.policies));
  const uncertainPolicies = input.policies
    .filter((p) => uncertainNames.has(p.name))
    .sort((a, b) => compareStrings(a.name, b.name));
  return [...input.read.groups.values()]
    .map((read) =>
      planGroup(
        input.account,
        input.region,
        read,
        policiesByName,
        uncertainPolicies,
        input.read.prefixLists,
        input.maxRulesPerGroup,
        canonical,
        guard,
      ),
    )
    .sort((a, b) => compareStrings(a.group.groupId, b.group.groupId));
}

export interface BuildPlanInput {
  /** One entry per (account, region) unit. */
  readonly regions: readonly {
    readonly account: string;
    readonly region: string;
    readonly policies: readonly Policy[];
    readonly read: RegionRead;
  }[];
  readonly maxRulesPerGroup: number;
  readonly guardrails?: GuardrailInput;
}

/**
 * The whole pass's plan: every unit's groups, unresolved targets and failed reads, sorted by
 * account, then region; each unresolved target and failed read carries its unit's account.
 */
export function buildPlan(input: BuildPlanInput): Plan {
  const regions = [...input.regions].sort(
    (a, b) => compareStrings(a.account, b.account) || compareStrings(a.region, b.region),
  );
  const groups = regions.flatMap(({ account, region, policies, read }) =>
    planRegion({
      account,
      region,
      policies,
      read,
      maxRulesPerGroup: input.maxRulesPerGroup,
      ...(input.guardrails !== undefined ? { guardrails: input.guardrails } : {}),
    }),
  );
  const prefixListFailures = regions.flatMap(({ account, read }) =>
    read.prefixListFailure === undefined ? [] : [{ account, ...read.prefixListFailure }],
  );
  return {
    groups,
    unresolved: regions.flatMap(({ account, read }) => read.unresolved.map((u) => ({ account, ...u }))),
    readFailures: regions.flatMap(({ account, read }) => read.readFailures.map((f) => ({ account, ...f }))),
    ...(prefixListFailures.length > 0 ? { prefixListFailures } : {}),
    ...(input.guardrails !== undefined && input.guardrails.names.length > 0
      ? { guardrails: input.guardrails.names }
      : {}),
  };
}
