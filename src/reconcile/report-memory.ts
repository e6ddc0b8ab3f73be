// What a daemon has already reported of the findings that persist from pass to pass: drift,
// description drift, guardrail violations, unresolved targets, and the errors of an invalid policy
// set. Each is said at its own level when it appears or changes, not again on every pass: an
// unchanged one is a debug line, counted on the pass's summary event (reconcile.completed, or
// reconcile.skipped for an invalid set), and the daemon's gauges keep the totals. One memory per
// daemon, kept across its passes; one-shot plan and apply have none and report everything. Pure: it
// compares values and holds strings; it logs nothing.
import type { PolicyError } from '../model/policy.js';
import { ruleKey, type LiveRule } from '../model/rule.js';
import type { DescriptionDrift, GroupPlan, Plan, UnresolvedTarget, Violation } from './types.js';

/** A finding compared with the previous pass of the same daemon: the `change` field of its event. */
export type ReportChange = 'appeared' | 'changed' | 'unchanged';

/**
 * How this pass's findings compare with the previous pass's (ReportMemory.pass). Each method is
 * `appeared` for a finding the memory did not hold, `unchanged` when what identifies it and what
 * describes it are both as remembered, `changed` when only the description differs.
 */
export interface PlanJudge {
  /** A live rule no policy declares (group + rule key): `changed` when its description differs. */
  drift(group: GroupPlan, rule: LiveRule): ReportChange;
  /** A declared rule whose live description differs (group + rule key): `changed` when the live or desired text did. */
  descriptionDrift(group: GroupPlan, drift: DescriptionDrift): ReportChange;
  /**
   * A live rule a guardrail denies (group + rule key + guardrail): `changed` when the guardrail
   * denies it by another `deny` entry, or an expired exception appeared, went or changed its date.
   */
  violation(group: GroupPlan, violation: Violation): ReportChange;
  /** A target that matched no group (account + region + policy + target): `changed` when its reason did. */
  unresolved(target: UnresolvedTarget): ReportChange;
}

/**
 * Which check found policy errors. Each check is remembered on its own, and forgotten only when
 * that check runs again and finds none: `load` is the daemon's load of the policy set (the files,
 * and account selectors against an inventory file); `selectors` is a pass's check of account
 * selectors against an inventory it discovered (`--accounts organizations`), which a pass that
 * cannot read the inventory never reaches.
 */
export type PolicyCheck = 'load' | 'selectors';

/** One daemon's memory of what it reported (createReportMemory). */
export interface ReportMemory {
  /**
   * Remembers the findings of `plan` and returns how each compares with what the memory held before.
   * A finding is forgotten when the pass could have seen it and did not; one the pass could not see
   * is kept: a group not in the plan, or an unresolved target not reported, whose account was
   * unreachable or whose (account, region) had a failed read covering one of its policies (and, for
   * a target, that target). So a failed read never makes a finding "disappear" and then "appear"
   * again; a group no longer targeted, or a target that now resolves, is forgotten, and reported as
   * appeared if it comes back.
   */
  pass(plan: Plan): PlanJudge;
  /**
   * Remembers the errors `check` found (none: the check passed, and what it found before is
   * forgotten) and returns, for each error in order, `appeared` or `unchanged`. An error is its file,
   * line, column, field path, text and guardrail verdict: the same errors from edited files are
   * unchanged, and errors fixed and then made again appear again. Never `changed`: an error whose
   * text differs is another error.
   */
  policyErrors(check: PolicyCheck, errors: readonly PolicyError[]): ReportChange[];
}

/** Where a remembered finding was seen, to tell whether a later pass could see it again. */
interface Scope {
  readonly account: string;
  readonly region: string;
  /** The policies whose targets reached it (a group's policies; an unresolved target's policy). */
  readonly policies: readonly string[];
  /** An unresolved target's selector (describeTarget): only a failed read of that target hides it. */
  readonly target?: string;
}

/** The findings of one group, or one unresolved target, by finding key: the text that makes a change. */
interface Item {
  readonly scope: Scope;
  readonly entries: ReadonlyMap<string, string>;
}

const groupItemKey = (group: GroupPlan): string =>
  `group|${group.account}|${group.region}|${group.group.groupId}`;
const targetItemKey = (target: UnresolvedTarget): string =>
  `target|${target.account ?? ''}|${target.region}|${target.policy}|${target.target}`;

const driftKey = (rule: LiveRule): string => `drift|${ruleKey(rule)}`;
const descriptionKey = (drift: DescriptionDrift): string => `description|${ruleKey(drift.desired.rule)}`;
const descriptionValue = (drift: DescriptionDrift): string =>
  JSON.stringify([drift.live.description ?? '', drift.desired.rule.description ?? '']);
const violationKey = ({ rule, denial }: Violation): string =>
  `violation|${denial.guardrail}|${ruleKey(rule)}`;
const violationValue = ({ denial }: Violation): string =>
  JSON.stringify([denial.entry, denial.expired?.expires ?? null]);
const UNRESOLVED = 'unresolved';
const unresolvedValue = (target: UnresolvedTarget): string => target.reason ?? '';

/** Everything one group found worth reporting, keyed as the judge looks it up. */
function groupItem(group: GroupPlan): Item {
  const entries = new Map<string, string>();
  for (const rule of group.drift) entries.set(driftKey(rule), rule.description ?? '');
  for (const drift of group.descriptionDrift) entries.set(descriptionKey(drift), descriptionValue(drift));
  for (const violation of group.violations) entries.set(violationKey(violation), violationValue(violation));
  return {
    scope: { account: group.account, region: group.region, policies: group.policies },
    entries,
  };
}

function targetItem(target: UnresolvedTarget): Item {
  return {
    scope: {
      account: target.account ?? '',
      region: target.region,
      policies: [target.policy],
      target: target.target,
    },
    entries: new Map([[UNRESOLVED, unresolvedValue(target)]]),
  };
}

/**
 * True when `plan` could not have seen what was found at `scope`: its account was unreachable, or a
 * read of its (account, region) failed for one of its policies (and its target, for a target). A
 * failed read names no account only outside a pass's planner; it is then taken to cover every account.
 */
function unseen(plan: Plan, scope: Scope): boolean {
  const unreachable = (plan.accountFailures ?? []).some(
    (f) => f.account === scope.account && f.regions.includes(scope.region),
  );
  return (
    unreachable ||
    plan.readFailures.some(
      (f) =>
        (f.account === undefined || f.account === scope.account) &&
        f.region === scope.region &&
        scope.policies.some((p) => f.policies.includes(p)) &&
        (scope.target === undefined || f.targets.includes(scope.target)),
    )
  );
}

/** This pass's items, plus the remembered ones it could not have seen. */
function nextItems(previous: ReadonlyMap<string, Item>, plan: Plan): Map<string, Item> {
  const next = new Map<string, Item>();
  // A group read and found clean is seen (nothing of it is kept) but not held: a daemon over
  // thousands of groups remembers only the few with something to report.
  const read = new Set<string>();
  for (const group of plan.groups) {
    const key = groupItemKey(group);
    const item = groupItem(group);
    read.add(key);
    if (item.entries.size > 0) next.set(key, item);
  }
  for (const target of plan.unresolved) next.set(targetItemKey(target), targetItem(target));
  for (const [key, item] of previous) {
    if (!read.has(key) && !next.has(key) && unseen(plan, item.scope)) next.set(key, item);
  }
  return next;
}

const errorKey = (error: PolicyError): string =>
  JSON.stringify([
    error.file,
    error.line,
    error.column,
    error.path,
    error.message,
    error.guardrail ?? null,
    error.guardrailEntry ?? null,
  ]);

/** An empty memory: the first pass reports every finding as appeared. */
export function createReportMemory(): ReportMemory {
  let items = new Map<string, Item>();
  const errors = new Map<PolicyCheck, ReadonlySet<string>>();
  return {
    pass: (plan) => {
      const previous = items;
      items = nextItems(previous, plan);
      const judge = (item: string, key: string, value: string): ReportChange => {
        const before = previous.get(item)?.entries.get(key);
        if (before === undefined) return 'appeared';
        return before === value ? 'unchanged' : 'changed';
      };
      return {
        drift: (group, rule) => judge(groupItemKey(group), driftKey(rule), rule.description ?? ''),
        descriptionDrift: (group, drift) =>
          judge(groupItemKey(group), descriptionKey(drift), descriptionValue(drift)),
        violation: (group, violation) =>
          judge(groupItemKey(group), violationKey(violation), violationValue(violation)),
        unresolved: (target) => judge(targetItemKey(target), UNRESOLVED, unresolvedValue(target)),
      };
    },
    policyErrors: (check, found) => {
      const before = errors.get(check) ?? new Set<string>();
      const keys = found.map(errorKey);
      errors.set(check, new Set(keys));
      return keys.map((key) => (before.has(key) ? 'unchanged' : 'appeared'));
    },
  };
}
