// The planner: desired rules x live groups -> what is missing, what drifted, and whether the
// missing rules fit the per-group quota. Pure: it imports types and the rule model only (no AWS,
// no file system, no logger), so it can be driven with generated cases in milliseconds.
import type { GroupInfo, LiveGroup, PrefixListInfo } from '../model/group.js';
import type { Denial } from '../model/guardrail.js';
import type { Policy } from '../model/policy.js';
import type { LiveRule, Rule } from '../model/rule.js';
import { bindSelf, isSelfSource, ruleFamilies, ruleKey } from '../model/rule.js';
import type {
  BlockedRule,
  DescriptionDrift,
  DesiredRule,
  GroupPlan,
  GroupRead,
  Plan,
  PrefixListReadFailure,
  QuotaProjection,
  ReadFailure,
  RegionRead,
  UnresolvedTarget,
  Violation,
} from './types.js';
import { compareStrings } from '../model/compare.js';
import { sortByRule } from '../model/order.js';

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
export function sameDescription(a: string | undefined, b: string | undefined): boolean {
  return (a ?? '') === (b ?? '');
}

/** The tags a rule of `policy` is created with; the contract's two tags win over ruleTags. */
export function ruleTagsFor(policy: Policy): Record<string, string> {
  return { ...policy.ruleTags, [MANAGED_BY_TAG]: MANAGED_BY_VALUE, [POLICY_TAG]: policy.name };
}

/** One desired rule of a group before it is bound to the group's account, region and ID. */
interface DesiredEntry {
  readonly key: string;
  readonly rule: Rule;
  /** The owner: the first policy by name that wants the rule. */
  readonly policy: string;
  /** Every policy that wants it, sorted. */
  readonly policies: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

/** A group's desired rules sorted by identity key, with a lookup by identity. */
interface DesiredSet {
  readonly entries: readonly DesiredEntry[];
  /**
   * Entry indexes by source value: finding a live rule's identity this way builds no key string
   * (a pass compares every live rule it reads).
   */
  readonly bySource: ReadonlyMap<string, readonly number[]>;
}

/** The index in `set.entries` of the desired rule with the identity of `rule` (ruleKey), or -1. */
function indexOf(set: DesiredSet, rule: Rule): number {
  const candidates = set.bySource.get(rule.source.value);
  if (candidates === undefined) return -1;
  for (const index of candidates) {
    const wanted = set.entries[index]?.rule;
    // The fields of ruleKey, compared one by one.
    if (
      wanted !== undefined &&
      wanted.protocol === rule.protocol &&
      wanted.fromPort === rule.fromPort &&
      wanted.toPort === rule.toPort &&
      wanted.source.kind === rule.source.kind
    ) {
      return index;
    }
  }
  return -1;
}

/**
 * What one plan shares between its groups: identity keys and tag objects of the
 * policies' rules, which every group they target would otherwise rebuild.
 */
interface PlanContext {
  readonly tags: Map<Policy, Readonly<Record<string, string>>>;
  /** Identity key per canonical rule object (policy rules are shared by every group they target). */
  readonly keys: WeakMap<Rule, string>;
  /** Quota projections without unsized prefix lists, by their counts. */
  readonly quotas: Map<string, QuotaProjection>;
  /**
   * Combinations by their names joined with a newline, across the plan's units: every unit of a
   * pass holds the same Policy objects, so a combination's desired set is built once per pass, not
   * once per (account, region). Checked against each unit's policies before it is reused.
   */
  readonly combinations: Map<string, Combination>;
}

function planContext(): PlanContext {
  return {
    tags: new Map(),
    keys: new WeakMap(),
    quotas: new Map(),
    combinations: new Map(),
  };
}

function keyOf(rule: Rule, context: PlanContext): string {
  let key = context.keys.get(rule);
  if (key === undefined) {
    key = ruleKey(rule);
    context.keys.set(rule, key);
  }
  return key;
}

function tagsOf(policy: Policy, context: PlanContext): Readonly<Record<string, string>> {
  let tags = context.tags.get(policy);
  if (tags === undefined) {
    tags = ruleTagsFor(policy);
    context.tags.set(policy, tags);
  }
  return tags;
}

/**
 * The desired rules of one group: the union of the rules of every policy that targets it, one per
 * identity. Policies are visited in name order, so when several want the same rule the first by name
 * owns it (its tags, and its description: a second policy asking for another description for the
 * same rule cannot get it, since EC2 keeps one description per rule).
 */
function buildDesiredSet(groupId: string, policies: readonly Policy[], context: PlanContext): DesiredSet {
  const byKey = new Map<string, { rule: Rule; policies: string[]; owner: Policy }>();
  for (const policy of policies) {
    for (const policyRule of policy.rules) {
      const self = isSelfSource(policyRule.rule.source);
      // Policy rules are canonical (the normaliser made them); a group ID from EC2 is canonical too.
      const rule = bindSelf(policyRule.rule, groupId);
      const key = self ? ruleKey(rule) : keyOf(rule, context);
      const entry = byKey.get(key);
      if (entry === undefined) byKey.set(key, { rule, policies: [policy.name], owner: policy });
      else if (!entry.policies.includes(policy.name)) entry.policies.push(policy.name);
    }
  }
  // In rule order (model/order.ts: numbers as numbers), once per set: shared sets are built once.
  const entries: DesiredEntry[] = sortByRule(byKey.entries(), ([, { rule }]) => rule).map(
    ([key, { rule, policies: names, owner }]) => ({
      key,
      rule,
      policy: owner.name,
      policies: [...names].sort(compareStrings),
      tags: tagsOf(owner, context),
    }),
  );
  const bySource = new Map<string, number[]>();
  entries.forEach(({ rule }, index) => {
    const indexes = bySource.get(rule.source.value);
    if (indexes === undefined) bySource.set(rule.source.value, [index]);
    else indexes.push(index);
  });
  return { entries, bySource };
}

/**
 * The policies that target one group (by name, sorted) and what they want there. Groups targeted
 * by the same policies share one: their desired set is built once (unless a `self` rule binds it to
 * each group), and its rules, policy lists and tag objects are shared by every such group. In a
 * 100,000-group pass this removes most of the plan's allocation, and so most of its GC time.
 */
interface Combination {
  readonly names: readonly string[];
  readonly policies: readonly Policy[];
  /** Undefined when a rule is `self`: then each group has its own set. */
  readonly shared: DesiredSet | undefined;
}

/** The shared, frozen empty list of a GroupPlan field (most groups have no drift, nothing missing). */
const NONE: readonly never[] = Object.freeze([]);

/** What a quota sum carries: rules per family, and the prefix lists that could not be sized. */
interface QuotaSum {
  ipv4: number;
  ipv6: number;
  /** Created on the first unsized list (most groups reference none). */
  unknown: Set<string> | undefined;
}

/**
 * Adds what a rule weighs in EC2's per-group quota: one rule in its address family; a
 * security-group reference one in each; a prefix-list reference its list's max entries in the
 * list's family (both when the family is unknown), or one in both when the list could not be sized.
 */
function addWeight(sum: QuotaSum, rule: Rule, prefixLists: ReadonlyMap<string, PrefixListInfo>): void {
  if (rule.source.kind === 'prefixList') {
    const info = prefixLists.get(rule.source.value.toLowerCase());
    if (info === undefined) {
      sum.ipv4 += 1;
      sum.ipv6 += 1;
      (sum.unknown ??= new Set()).add(rule.source.value);
      return;
    }
    const n = info.maxEntries;
    if (info.addressFamily !== 'IPv6') sum.ipv4 += n;
    if (info.addressFamily !== 'IPv4') sum.ipv6 += n;
    return;
  }
  const families = ruleFamilies(rule);
  if (families.includes('ipv4')) sum.ipv4 += 1;
  if (families.includes('ipv6')) sum.ipv6 += 1;
}

function projectQuota(
  current: QuotaSum,
  added: QuotaSum,
  limit: number,
  shared: Map<string, QuotaProjection>,
): QuotaProjection {
  // Groups with the same counts share one projection (a large plan has many thousands alike).
  const id =
    current.unknown === undefined && added.unknown === undefined
      ? `${limit} ${current.ipv4} ${added.ipv4} ${current.ipv6} ${added.ipv6}`
      : undefined;
  const known = id === undefined ? undefined : shared.get(id);
  if (known !== undefined) return known;
  const ipv4 = { current: current.ipv4, projected: current.ipv4 + added.ipv4 };
  const ipv6 = { current: current.ipv6, projected: current.ipv6 + added.ipv6 };
  // Only a family the missing rules add to can fail the group: a group already over the limit in a
  // family we do not touch (a lowered quota, rules added by hand) is EC2's concern, not this change's.
  const exceeded = (added.ipv4 > 0 && ipv4.projected > limit) || (added.ipv6 > 0 && ipv6.projected > limit);
  if (id === undefined) {
    const unknown = new Set([...(current.unknown ?? []), ...(added.unknown ?? [])]);
    return { limit, ipv4, ipv6, exceeded, unknownPrefixLists: [...unknown].sort() };
  }
  const projection = { limit, ipv4, ipv6, exceeded };
  shared.set(id, projection);
  return projection;
}

/** The region-wide inputs of planGroup. */
interface RegionContext {
  readonly account: string;
  readonly region: string;
  readonly policiesByName: ReadonlyMap<string, Policy>;
  /** Policies whose targets could not be read (sorted by name). */
  readonly uncertainPolicies: readonly Policy[];
  readonly prefixLists: ReadonlyMap<string, PrefixListInfo>;
  readonly limit: number;
  readonly guard: Guard;
  readonly guarded: boolean;
  readonly plan: PlanContext;
  /** Combinations of this region by their names joined with a newline (checked, see PlanContext). */
  readonly combinations: Map<string, Combination>;
}

function combinationOf(names: ReadonlySet<string>, region: RegionContext): Combination {
  // The one-policy case (the common one) joins and sorts nothing.
  const id = names.size === 1 ? names.values().next().value! : [...names].sort(compareStrings).join('\n');
  let combination = region.combinations.get(id);
  if (combination === undefined) {
    const sorted = [...names].sort(compareStrings);
    const policies = sorted.flatMap((name) => {
      const policy = region.policiesByName.get(name);
      return policy === undefined ? [] : [policy];
    });
    const known = region.plan.combinations.get(id);
    if (known !== undefined && samePolicies(known.policies, policies)) combination = known;
    else {
      const self = policies.some((p) => p.rules.some((r) => isSelfSource(r.rule.source)));
      combination = {
        names: sorted,
        policies,
        // Any group ID will do for a set without `self` rules.
        shared: self ? undefined : buildDesiredSet('', policies, region.plan),
      };
      region.plan.combinations.set(id, combination);
    }
    region.combinations.set(id, combination);
  }
  return combination;
}

function samePolicies(a: readonly Policy[], b: readonly Policy[]): boolean {
  return a.length === b.length && a.every((policy, i) => policy === b[i]);
}

/** The rules of a map in rule order (model/order.ts); the shared empty list for none. */
function sortedByKey(byKey: ReadonlyMap<string, LiveRule> | undefined): readonly LiveRule[] {
  return byKey === undefined ? NONE : sortByRule(byKey.values(), (rule) => rule);
}

/** A desired rule of `entry` bound to one group. */
function desiredRule(account: string, region: string, groupId: string, entry: DesiredEntry): DesiredRule {
  return {
    account,
    region,
    groupId,
    rule: entry.rule,
    policy: entry.policy,
    policies: entry.policies,
    tags: entry.tags,
  };
}

/** What a plan keeps of a live group: everything but its rules (see GroupPlan.group). */
function groupInfo(group: LiveGroup): GroupInfo {
  return {
    groupId: group.groupId,
    groupName: group.groupName,
    vpcId: group.vpcId,
    ownerId: group.ownerId,
    tags: group.tags,
  };
}

/** Live rules of one group measured against its desired set. */
interface LiveMatch {
  /** Per desired entry, the first live rule of its identity. */
  readonly found: readonly (LiveRule | undefined)[];
  readonly drift: ReadonlyMap<string, LiveRule> | undefined;
  /** Every live rule by identity (guarded plans only: guardrails judge them all). */
  readonly live: ReadonlyMap<string, LiveRule> | undefined;
  readonly current: QuotaSum;
}

function matchLive(
  rules: readonly LiveRule[],
  wanted: DesiredSet,
  uncertain: DesiredSet | undefined,
  region: RegionContext,
): LiveMatch {
  // Live rules are canonical (the Rule type: the EC2 read canonicalised them), so they are compared
  // as they are. The first live rule of an identity is the one compared and reported.
  const current: QuotaSum = { ipv4: 0, ipv6: 0, unknown: undefined };
  const found = new Array<LiveRule | undefined>(wanted.entries.length);
  let drift: Map<string, LiveRule> | undefined;
  let live: Map<string, LiveRule> | undefined;
  for (const rule of rules) {
    addWeight(current, rule, region.prefixLists);
    const index = indexOf(wanted, rule);
    if (index >= 0) found[index] ??= rule;
    else if (uncertain === undefined || indexOf(uncertain, rule) < 0) {
      const key = ruleKey(rule);
      drift ??= new Map();
      if (!drift.has(key)) drift.set(key, rule);
    }
    if (region.guarded) {
      const key = ruleKey(rule);
      live ??= new Map();
      if (!live.has(key)) live.set(key, rule);
    }
  }
  return { found, drift, live, current };
}

function planGroup(read: GroupRead, region: RegionContext): GroupPlan {
  const { group } = read;
  const { account, plan, guard, prefixLists } = region;
  const combination = combinationOf(read.policies, region);
  const wanted = combination.shared ?? buildDesiredSet(group.groupId, combination.policies, plan);
  // A policy whose targets could not be read may well target this group: its rules are not drift.
  const uncertain =
    region.uncertainPolicies.length > 0
      ? buildDesiredSet(group.groupId, region.uncertainPolicies, plan)
      : undefined;
  const { found, drift, live, current } = matchLive(group.rules, wanted, uncertain, region);

  // A DesiredRule is built here only for a rule that is missing or whose description drifted; the
  // others only when someone reads `desired` (PlannedGroup).
  let built: Map<number, DesiredRule> | undefined;
  let missing: DesiredRule[] | undefined;
  let blocked: BlockedRule[] | undefined;
  let descriptionDrift: DescriptionDrift[] | undefined;
  const added: QuotaSum = { ipv4: 0, ipv6: 0, unknown: undefined };
  wanted.entries.forEach((entry, index) => {
    const existing = found[index];
    if (existing !== undefined && sameDescription(existing.description, entry.rule.description)) return;
    const rule = desiredRule(account, region.region, group.groupId, entry);
    (built ??= new Map()).set(index, rule);
    if (existing === undefined) {
      const denial = guard(rule.rule, rule.policies);
      if (denial === undefined) {
        (missing ??= []).push(rule);
        addWeight(added, rule.rule, prefixLists);
      } else (blocked ??= []).push({ desired: rule, denial });
    } else {
      (descriptionDrift ??= []).push({ desired: rule, live: existing });
    }
  });

  let violations: Violation[] | undefined;
  for (const rule of sortedByKey(live)) {
    const index = indexOf(wanted, rule);
    const denial = guard(rule, index >= 0 ? (wanted.entries[index]?.policies ?? []) : []);
    if (denial !== undefined) (violations ??= []).push({ rule, denial });
  }

  return new PlannedGroup(
    {
      account,
      region: region.region,
      group: groupInfo(group),
      policies: combination.names,
      missing: missing ?? NONE,
      blocked: blocked ?? NONE,
      violations: violations ?? NONE,
      drift: sortedByKey(drift),
      descriptionDrift: descriptionDrift ?? NONE,
      quota: projectQuota(current, added, region.limit, plan.quotas),
    },
    wanted.entries,
    built,
  );
}

/**
 * A GroupPlan whose `desired` list is built on its first read (see GroupPlan.desired) from the
 * desired entries bound to the group, reusing the DesiredRule objects already built for missing,
 * blocked and drifting rules (so `missing` holds the very objects of `desired`). A class, so the
 * getter is shared on the prototype and each plan stays a small fast-mode object: a getter per
 * object literal gives every group its own hidden class and dictionary properties, ~800 bytes each.
 */
class PlannedGroup implements GroupPlan {
  readonly account: string;
  readonly region: string;
  readonly group: GroupInfo;
  readonly policies: readonly string[];
  readonly desiredCount: number;
  readonly missing: readonly DesiredRule[];
  readonly blocked: readonly BlockedRule[];
  readonly violations: readonly Violation[];
  readonly drift: readonly LiveRule[];
  readonly descriptionDrift: readonly DescriptionDrift[];
  readonly quota: QuotaProjection;
  readonly #entries: readonly DesiredEntry[];
  readonly #built: ReadonlyMap<number, DesiredRule> | undefined;
  #desired: readonly DesiredRule[] | undefined;

  constructor(
    fields: Omit<GroupPlan, 'desired' | 'desiredCount'>,
    entries: readonly DesiredEntry[],
    built: ReadonlyMap<number, DesiredRule> | undefined,
  ) {
    this.account = fields.account;
    this.region = fields.region;
    this.group = fields.group;
    this.policies = fields.policies;
    this.desiredCount = entries.length;
    this.missing = fields.missing;
    this.blocked = fields.blocked;
    this.violations = fields.violations;
    this.drift = fields.drift;
    this.descriptionDrift = fields.descriptionDrift;
    this.quota = fields.quota;
    this.#entries = entries;
    this.#built = built;
  }

  get desired(): readonly DesiredRule[] {
    this.#desired ??= this.#entries.map(
      (entry, index) =>
        this.#built?.get(index) ?? desiredRule(this.account, this.region, this.group.groupId, entry),
    );
    return this.#desired;
  }

  /** The same group with other violations (e.g. their rule IDs filled in). */
  withViolations(violations: readonly Violation[]): PlannedGroup {
    return new PlannedGroup({ ...this, violations }, this.#entries, this.#built);
  }
}

/**
 * `group` with its violations replaced. A planned group keeps its lazily built `desired` list (an
 * object spread would drop the getter); any other GroupPlan is copied.
 */
export function withViolations(group: GroupPlan, violations: readonly Violation[]): GroupPlan {
  return group instanceof PlannedGroup ? group.withViolations(violations) : { ...group, violations };
}

/** Plan every group read in one region, sorted by group ID. */
export function planRegion(input: PlanRegionInput): GroupPlan[] {
  return planRegionIn(input, planContext());
}

function planRegionIn(input: PlanRegionInput, plan: PlanContext): GroupPlan[] {
  const uncertainNames = new Set(input.read.readFailures.flatMap((f) => f.policies));
  const region: RegionContext = {
    account: input.account,
    region: input.region,
    policiesByName: new Map(input.policies.map((p) => [p.name, p] as const)),
    uncertainPolicies: input.policies
      .filter((p) => uncertainNames.has(p.name))
      .sort((a, b) => compareStrings(a.name, b.name)),
    prefixLists: input.read.prefixLists,
    limit: input.maxRulesPerGroup,
    guard: guardFor(input.guardrails),
    guarded: input.guardrails !== undefined && input.guardrails.names.length > 0,
    plan,
    combinations: new Map(),
  };
  const groups: GroupPlan[] = [];
  for (const read of input.read.groups.values()) groups.push(planGroup(read, region));
  return groups.sort((a, b) => compareStrings(a.group.groupId, b.group.groupId));
}

/** One (account, region) unit as read: its policies and what read.ts returned. */
export interface UnitRead {
  readonly account: string;
  readonly region: string;
  readonly policies: readonly Policy[];
  readonly read: RegionRead;
}

export interface BuildPlanInput {
  /** One entry per (account, region) unit. */
  readonly regions: readonly UnitRead[];
  readonly maxRulesPerGroup: number;
  readonly guardrails?: GuardrailInput;
  /** `--update-descriptions`: description drift is a change of this pass, not only a report. */
  readonly updateDescriptions?: boolean;
}

/**
 * One unit's share of the plan: its groups (sorted by group ID), unresolved targets, failed reads
 * and failed prefix-list read, each carrying the unit's account. Holds no live rule but those the
 * plan reports (drift, description drift, violations).
 */
export interface PlannedUnit {
  readonly account: string;
  readonly region: string;
  readonly groups: readonly GroupPlan[];
  readonly unresolved: readonly UnresolvedTarget[];
  readonly readFailures: readonly ReadFailure[];
  readonly prefixListFailure: PrefixListReadFailure | undefined;
}

/**
 * A pass's planner: `unit` plans one unit as soon as it has been read, so the caller can drop that
 * unit's live groups at once (a pass over 1,000 units then never holds every live rule it read);
 * `plan` assembles the pass's plan from every planned unit. Units share the planner's caches
 * (identity keys, tag objects, desired sets, quota projections). Pure, like buildPlan.
 */
export interface Planner {
  unit(read: UnitRead): PlannedUnit;
  plan(units: readonly PlannedUnit[]): Plan;
}

export function createPlanner(options: Omit<BuildPlanInput, 'regions'>): Planner {
  const context = planContext();
  const { guardrails, maxRulesPerGroup } = options;
  return {
    unit: ({ account, region, policies, read }) => ({
      account,
      region,
      groups: planRegionIn(
        {
          account,
          region,
          policies,
          read,
          maxRulesPerGroup,
          ...(guardrails !== undefined ? { guardrails } : {}),
        },
        context,
      ),
      unresolved: read.unresolved.map((u) => ({ account, ...u })),
      readFailures: read.readFailures.map((f) => ({ account, ...f })),
      prefixListFailure:
        read.prefixListFailure === undefined ? undefined : { account, ...read.prefixListFailure },
    }),
    plan: (units) => assemblePlan(units, options),
  };
}

/** The pass's plan from its planned units, sorted by account, then region. */
function assemblePlan(units: readonly PlannedUnit[], options: Omit<BuildPlanInput, 'regions'>): Plan {
  const sorted = [...units].sort(
    (a, b) => compareStrings(a.account, b.account) || compareStrings(a.region, b.region),
  );
  const prefixListFailures = sorted.flatMap((u) =>
    u.prefixListFailure === undefined ? [] : [u.prefixListFailure],
  );
  const { guardrails } = options;
  return {
    groups: sorted.flatMap((u) => u.groups),
    ...(options.updateDescriptions === true ? { updateDescriptions: true } : {}),
    unresolved: sorted.flatMap((u) => u.unresolved),
    readFailures: sorted.flatMap((u) => u.readFailures),
    ...(prefixListFailures.length > 0 ? { prefixListFailures } : {}),
    ...(guardrails !== undefined && guardrails.names.length > 0 ? { guardrails: guardrails.names } : {}),
  };
}

/**
 * The whole pass's plan: every unit's groups, unresolved targets and failed reads, sorted by
 * account, then region; each unresolved target and failed read carries its unit's account.
 */
export function buildPlan(input: BuildPlanInput): Plan {
  const planner = createPlanner(input);
  return planner.plan(input.regions.map((unit) => planner.unit(unit)));
}
