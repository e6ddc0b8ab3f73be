// What drift a daemon has already reported, so that a drift is said (at info) when it appears or
// changes, not again on every pass: the daemon's gauges keep the totals, and an unchanged drift is
// a debug line. One memory per daemon, kept across its passes; one-shot plan and apply have none and
// report every drift.
import { ruleKey, type LiveRule } from '../model/rule.js';
import type { DescriptionDrift, GroupPlan, Plan } from './types.js';

/** A drift compared with the previous pass of the same daemon. */
export type DriftChange = 'appeared' | 'changed' | 'unchanged';

/** How this pass's drifts compare with the previous pass's (DriftMemory.pass). */
export interface DriftJudge {
  /** A live rule no policy declares: `changed` when its description differs from last time. */
  drift(group: GroupPlan, rule: LiveRule): DriftChange;
  /** A declared rule whose live description differs: `changed` when the live or desired text did. */
  descriptionDrift(group: GroupPlan, drift: DescriptionDrift): DriftChange;
}

export interface DriftMemory {
  /**
   * Remembers the drift of `plan` and returns how each of its drifts compares with what the memory
   * held before. A group the plan did not read (a failed read) keeps what was remembered of it; a
   * group no longer in a plan whose reads all succeeded is forgotten (if it comes back, its drift
   * is reported as it appears).
   */
  pass(plan: Plan): DriftJudge;
}

const groupKey = (group: GroupPlan): string => `${group.account}|${group.region}|${group.group.groupId}`;
const driftKey = (rule: LiveRule): string => `drift|${ruleKey(rule)}`;
const descriptionKey = (drift: DescriptionDrift): string => `description|${ruleKey(drift.desired.rule)}`;
const descriptionValue = (drift: DescriptionDrift): string =>
  JSON.stringify([drift.live.description ?? '', drift.desired.rule.description ?? '']);

/** The drift of one group, by drift key: the text that makes a change (description, live/desired). */
function groupDrift(group: GroupPlan): Map<string, string> {
  const entries = new Map<string, string>();
  for (const rule of group.drift) entries.set(driftKey(rule), rule.description ?? '');
  for (const drift of group.descriptionDrift) entries.set(descriptionKey(drift), descriptionValue(drift));
  return entries;
}

/** An empty memory: the first pass reports every drift as appeared. */
export function createDriftMemory(): DriftMemory {
  let groups = new Map<string, Map<string, string>>();
  return {
    pass: (plan) => {
      const previous = groups;
      const complete = plan.readFailures.length === 0 && (plan.accountFailures?.length ?? 0) === 0;
      groups = complete ? new Map() : new Map(previous);
      for (const group of plan.groups) groups.set(groupKey(group), groupDrift(group));
      const judge = (group: GroupPlan, key: string, value: string): DriftChange => {
        const before = previous.get(groupKey(group))?.get(key);
        if (before === undefined) return 'appeared';
        return before === value ? 'unchanged' : 'changed';
      };
      return {
        drift: (group, rule) => judge(group, driftKey(rule), rule.description ?? ''),
        descriptionDrift: (group, drift) => judge(group, descriptionKey(drift), descriptionValue(drift)),
      };
    },
  };
}
