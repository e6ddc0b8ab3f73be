// The description step of apply and dry-run under `--update-descriptions`: for every group whose
// declared rules carry another description than the policy's, one
// UpdateSecurityGroupRuleDescriptionsIngress call (EC2 API reference; IpPermissions form, so each
// rule is selected by its identity and its access cannot change). Like execute.ts it emits nothing
// itself: the caller hears of each outcome as it is known (onOutcome), and it never throws.
import type { Ec2Port } from '../aws/port.js';
import type { LiveRule, Rule } from '../model/rule.js';
import { ruleKey } from '../model/rule.js';
import {
  DRY_RUN_OK,
  GROUP_LEVEL_CODES,
  RECHECK_TIMEOUT_MS,
  UNAUTHORIZED,
  type WriteRequest,
} from './execute.js';
import { sameDescription } from './plan.js';
import { errorInfo, mapBounded, type ErrorInfo } from './support.js';
import type { DescriptionDrift, DescriptionOutcome, GroupPlan } from './types.js';

/** A write phase over the groups' descriptionDrift (the rest of each group plan is not used). */
export interface DescriptionUpdateInput extends WriteRequest {
  /** Called as each drift's outcome is known (for streaming events and metrics). */
  readonly onOutcome?: (outcome: DescriptionOutcome, group: GroupPlan) => void;
}

/**
 * The rule as the call sends it: the live rule's identity with the policy's description. An empty
 * description is sent as none, which EC2 reads as "remove the description".
 */
function withPolicyDescription({ desired }: DescriptionDrift): Rule {
  const { description, ...identity } = desired.rule;
  return description === undefined || description === '' ? identity : { ...identity, description };
}

/** One group's description updates; outcomes in the order of the group's descriptionDrift. */
async function updateGroup(
  group: GroupPlan,
  port: Ec2Port,
  input: DescriptionUpdateInput,
): Promise<DescriptionOutcome[]> {
  const outcomes: DescriptionOutcome[] = [];
  const record = (outcome: DescriptionOutcome): void => {
    outcomes.push(outcome);
    input.onOutcome?.(outcome, group);
  };
  const { signal } = input;
  const aborted = (): boolean => signal?.aborted === true;
  const drifts = group.descriptionDrift;
  const send = (batch: readonly DescriptionDrift[]): Promise<void> =>
    port.updateIngressDescriptions(
      {
        groupId: group.group.groupId,
        rules: batch.map(withPolicyDescription),
        dryRun: input.mode === 'dry-run',
      },
      signal,
    );

  if (aborted()) {
    for (const drift of drifts) record({ status: 'not-attempted', drift });
    return outcomes;
  }

  if (input.mode === 'dry-run') {
    try {
      await send(drifts);
      // EC2 never succeeds with DryRun set; an endpoint that does is taken as permitting it.
      for (const drift of drifts) record({ status: 'dry-run', drift, permitted: true });
    } catch (error) {
      const failure = errorInfo(error);
      if (failure.errorCode === DRY_RUN_OK || failure.errorCode === UNAUTHORIZED) {
        const permitted = failure.errorCode === DRY_RUN_OK;
        for (const drift of drifts) record({ status: 'dry-run', drift, permitted });
      } else {
        for (const drift of drifts) record({ status: 'failed', drift, ...failure });
      }
    }
    return outcomes;
  }

  let failure: ErrorInfo | undefined;
  try {
    await send(drifts);
  } catch (error) {
    failure = errorInfo(error);
  }
  // One read of the group: the rule IDs for the events, and after a failed call the truth about
  // what changed (a timeout may hide a success; a batch may fail on one rule that is gone).
  const live = await readRules(port, group.group.groupId, signal);
  const liveOf = (drift: DescriptionDrift): LiveRule | undefined => live?.get(ruleKey(drift.desired.rule));
  if (failure === undefined) {
    for (const drift of drifts) record({ status: 'updated', drift, ruleId: liveOf(drift)?.ruleId });
    return outcomes;
  }
  const still: DescriptionDrift[] = [];
  for (const drift of drifts) {
    const now = liveOf(drift);
    if (now !== undefined && sameDescription(now.description, drift.desired.rule.description)) {
      record({ status: 'updated', drift, ruleId: now.ruleId, recoveredAfter: failure.errorCode });
    } else {
      still.push(drift);
    }
  }
  if (still.length <= 1 || GROUP_LEVEL_CODES.has(failure.errorCode) || aborted()) {
    for (const drift of still) record({ status: 'failed', drift, ...failure });
    return outcomes;
  }
  // One bad rule (revoked meanwhile: InvalidPermission.NotFound) never blocks the others.
  for (const drift of still) {
    try {
      await send([drift]);
      record({ status: 'updated', drift, ruleId: liveOf(drift)?.ruleId });
    } catch (error) {
      record({ status: 'failed', drift, ...errorInfo(error) });
    }
  }
  return outcomes;
}

/** The group's live rules by identity; undefined when the read fails. */
async function readRules(
  port: Ec2Port,
  groupId: string,
  signal: AbortSignal | undefined,
): Promise<Map<string, LiveRule> | undefined> {
  try {
    // After an abort the read gets a deadline of its own, as execute.ts's re-read does.
    const bounded = signal?.aborted === true ? AbortSignal.timeout(RECHECK_TIMEOUT_MS) : signal;
    const rules = await port.describeIngressRules(groupId, bounded);
    return new Map(rules.map((rule) => [ruleKey(rule), rule] as const));
  } catch {
    return undefined;
  }
}

/**
 * Update (or dry-run) the descriptions of every planned group's description drift, groups in
 * parallel up to `concurrency`. Resolves with every drift's outcome, groups in plan order; never
 * rejects for an EC2 error.
 */
export async function updateDescriptions(input: DescriptionUpdateInput): Promise<DescriptionOutcome[]> {
  const groups = input.groups.filter((g) => g.descriptionDrift.length > 0);
  const results = await mapBounded(groups, input.concurrency ?? 4, (group) =>
    updateGroup(group, input.portFor(group.region, group.account), input),
  );
  return results.flat();
}
