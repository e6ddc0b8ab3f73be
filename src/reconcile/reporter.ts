// The one place that turns what a pass read, planned and did into events (through the event table in
// src/events.ts) and, at the same moment, into observations for metrics. The pass and the daemon hand
// it typed values; it builds every field. Events stream as work happens, so a process killed
// mid-pass has logged everything it did before the kill (pino writes synchronously).
import { report } from '../events.js';
import type { Logger } from '../logging.js';
import type { Denial } from '../model/guardrail.js';
import { compareStrings } from '../model/compare.js';
import type { PolicyError } from '../model/policy.js';
import type { LiveRule, RuleSource } from '../model/rule.js';
import { QUOTA_EXCEEDED } from './execute.js';
import type { ProgressFields } from './progress.js';
import type { PlanJudge, ReportChange, ReportMemory } from './report-memory.js';
import type {
  AccountFailure,
  AuthorizeRequested,
  DescriptionDrift,
  DescriptionOutcome,
  DesiredRule,
  GroupPlan,
  PassCounts,
  PassMode,
  Plan,
  RuleOutcome,
  SkippedPolicy,
} from './types.js';

/** The event fields of a rule's source (SPEC "Events": `{kind, value}` plus group-pair details). */
export interface SourceFields {
  readonly kind: RuleSource['kind'];
  readonly value: string;
  readonly userId?: string;
  readonly vpcId?: string;
  readonly vpcPeeringConnectionId?: string;
}

function sourceFields(source: RuleSource): SourceFields {
  return {
    kind: source.kind,
    value: source.value,
    ...(source.userId !== undefined ? { userId: source.userId } : {}),
    ...(source.vpcId !== undefined ? { vpcId: source.vpcId } : {}),
    ...(source.vpcPeeringConnectionId !== undefined
      ? { vpcPeeringConnectionId: source.vpcPeeringConnectionId }
      : {}),
  };
}

/** The fields of rule.missing / rule.authorized / rule.failed / rule.description_drift for a desired rule. */
export function ruleFields(desired: DesiredRule): Record<string, unknown> {
  const { rule } = desired;
  return {
    policy: desired.policy,
    policies: desired.policies,
    account: desired.account,
    region: desired.region,
    groupId: desired.groupId,
    protocol: rule.protocol,
    fromPort: rule.fromPort,
    toPort: rule.toPort,
    source: sourceFields(rule.source),
    description: rule.description,
  };
}

/** The fields of rule.drift (and rule.violation) for a live rule. */
export function liveRuleFields(
  account: string,
  region: string,
  groupId: string,
  rule: LiveRule,
): Record<string, unknown> {
  return {
    account,
    region,
    groupId,
    protocol: rule.protocol,
    fromPort: rule.fromPort,
    toPort: rule.toPort,
    source: sourceFields(rule.source),
    description: rule.description,
    ...(rule.ruleId !== undefined ? { ruleId: rule.ruleId } : {}),
  };
}

function quotaFields(group: GroupPlan): Record<string, unknown> {
  const { limit, ipv4, ipv6, unknownPrefixLists } = group.quota;
  return { quota: { limit, ipv4: ipv4.projected, ipv6: ipv6.projected, unknownPrefixLists } };
}

/**
 * What the daemon's metrics hear, at the moment the matching event is logged: every rule outcome
 * (also in a pass that is later aborted) and the plan of a pass that got that far.
 */
export interface PassObserver {
  ruleOutcome?(outcome: RuleOutcome): void;
  descriptionOutcome?(outcome: DescriptionOutcome): void;
  planned?(plan: Plan): void;
}

/** A pass's failure as reported: a stable code and a sentence. */
export interface PassFailure {
  readonly errorCode: string;
  readonly error: string;
  /**
   * InvalidAccountSelectors: the located selectors the inventory cannot serve (already reported as
   * policy.invalid), so a command can render them as invalid policies.
   */
  readonly policyErrors?: readonly PolicyError[];
  /**
   * InvalidAccountSelectors in the daemon: how many of `policyErrors` an earlier pass reported (their
   * policy.invalid were debug lines); reported on reconcile.failed as `errorsUnchanged`.
   */
  readonly errorsUnchanged?: number;
}

/** Reports one pass; every method logs its events at once. Create one per pass (it holds the runId). */
export interface PassReporter {
  started(fields: { policies: number; policyFiles?: number } & Record<string, unknown>): void;
  /** Unresolved targets, failed reads, drift, description drift; plan mode adds rule.missing. */
  planned(plan: Plan): void;
  requested(batch: AuthorizeRequested): void;
  outcome(outcome: RuleOutcome, group?: GroupPlan): void;
  /** `--update-descriptions`: what became of one description drift. */
  descriptionOutcome(outcome: DescriptionOutcome): void;
  accountFailed(failure: AccountFailure): void;
  /** One policy.skipped per policy the pass cannot work on (no region), located where the fix goes. */
  skipped(policies: readonly SkippedPolicy[]): void;
  completed(durationMs: number, counts: PassCounts, extra?: Readonly<Record<string, unknown>>): void;
  failed(failure: PassFailure, durationMs?: number): void;
  /** reconcile.progress: a long pass is still running (every 10 s by default). */
  progress(fields: ProgressFields): void;
}

/**
 * What the daemon's memory found unchanged since its last pass: reported as debug lines, counted on
 * reconcile.completed so that the totals still add up.
 */
interface UnchangedCounts {
  driftUnchanged: number;
  descriptionDriftUnchanged: number;
  unresolvedUnchanged: number;
  violationsUnchanged: number;
}

/** The daemon's judge of this pass's findings (none for one-shot commands) and what it found unchanged. */
interface Judging {
  readonly judge: PlanJudge | undefined;
  readonly unchanged: UnchangedCounts;
}

/** The variant of an event a memory may judge: `unchanged` (debug) or `reported` (its own level). */
const variantOf = (change: ReportChange | undefined): 'reported' | 'unchanged' =>
  change === 'unchanged' ? 'unchanged' : 'reported';

/** The `change` field of a judged event; none without a memory (plan, apply). */
const changeField = (change: ReportChange | undefined): { change?: ReportChange } =>
  change !== undefined ? { change } : {};

/** The unchanged counts of reconcile.completed (violations only when the pass checked guardrails). */
function unchangedFields(unchanged: UnchangedCounts, counts: PassCounts): Partial<UnchangedCounts> {
  const { violationsUnchanged, ...rest } = unchanged;
  return { ...rest, ...(counts.violations !== undefined ? { violationsUnchanged } : {}) };
}

/**
 * The reporter of one pass, logging through `log` (which should carry the pass's runId). With a
 * report memory (the daemon), drift, description drift, guardrail violations and unresolved targets
 * are reported at their level when they appeared or changed since the memory's last pass (with
 * `change`) and as debug lines otherwise; reconcile.completed then counts the unchanged ones.
 */
export function createPassReporter(
  log: Logger,
  mode: PassMode,
  observer: PassObserver = {},
  memory?: ReportMemory,
): PassReporter {
  const unchanged: UnchangedCounts = {
    driftUnchanged: 0,
    descriptionDriftUnchanged: 0,
    unresolvedUnchanged: 0,
    violationsUnchanged: 0,
  };
  return {
    started: (fields) => report(log, 'reconcile.started', { mode, ...fields }),
    planned: (plan) => {
      const judging: Judging = { judge: memory?.pass(plan), unchanged };
      reportReads(log, plan, judging);
      for (const group of plan.groups) {
        reportGroup(log, mode, group, plan.updateDescriptions === true, judging);
      }
      observer.planned?.(plan);
    },
    requested: ({ group, rules }) =>
      report(log, 'authorize.requested', () => ({
        account: group.account,
        region: group.region,
        groupId: group.group.groupId,
        // The policies of these rules (not every policy of the group), and each rule's own: what a
        // rule left without its outcome (kill -9) is attributed to.
        policies: [...new Set(rules.flatMap((desired) => desired.policies))].sort(compareStrings),
        rules: rules.map(({ rule, policy, policies }) => ({
          protocol: rule.protocol,
          fromPort: rule.fromPort,
          toPort: rule.toPort,
          source: sourceFields(rule.source),
          policy,
          policies,
        })),
      })),
    outcome: (outcome, group) => {
      reportOutcome(log, outcome, group);
      observer.ruleOutcome?.(outcome);
    },
    descriptionOutcome: (outcome) => {
      reportDescriptionOutcome(log, outcome);
      observer.descriptionOutcome?.(outcome);
    },
    accountFailed: (failure) => report(log, 'account.failed', failure),
    skipped: (policies) => {
      for (const skipped of policies) report(log, 'policy.skipped', skipped);
    },
    completed: (durationMs, counts, extra) =>
      report(log, 'reconcile.completed', {
        mode,
        durationMs,
        ...counts,
        ...(memory !== undefined ? unchangedFields(unchanged, counts) : {}),
        ...extra,
      }),
    progress: (fields) => report(log, 'reconcile.progress', { mode, ...fields }),
    failed: (failure, durationMs) =>
      report(log, 'reconcile.failed', {
        mode,
        errorCode: failure.errorCode,
        error: failure.error,
        ...(failure.policyErrors !== undefined ? { errors: failure.policyErrors.length } : {}),
        ...(failure.errorsUnchanged !== undefined ? { errorsUnchanged: failure.errorsUnchanged } : {}),
        ...(durationMs !== undefined ? { durationMs } : {}),
      }),
  };
}

/** target.unresolved (judged, with a memory) and read.failed of the plan. */
function reportReads(log: Logger, plan: Plan, { judge, unchanged }: Judging): void {
  for (const target of plan.unresolved) {
    const change = judge?.unresolved(target);
    if (change === 'unchanged') unchanged.unresolvedUnchanged += 1;
    report(log, ['target.unresolved', variantOf(change)], { ...target, ...changeField(change) });
  }
  for (const failure of plan.readFailures) report(log, ['read.failed', 'groups'], failure);
  for (const failure of plan.prefixListFailures ?? []) {
    report(log, ['read.failed', 'prefix-lists'], {
      ...failure,
      action: 'DescribeManagedPrefixLists',
      policies: [],
      targets: [],
    });
  }
}

/** The fields that name a guardrail's verdict on rule.violation and rule.blocked. */
function denialFields(denial: Denial): Record<string, unknown> {
  return {
    guardrail: denial.guardrail,
    guardrailEntry: denial.entry,
    ...(denial.expired !== undefined ? { exceptionExpired: denial.expired.expires } : {}),
  };
}

/** The fields of the description events: the rule, the live and the policy's text, the rule ID. */
function descriptionFields({ desired, live }: DescriptionDrift): Record<string, unknown> {
  return {
    ...ruleFields(desired),
    live: live.description ?? '',
    desired: desired.rule.description ?? '',
    ...(live.ruleId !== undefined ? { ruleId: live.ruleId } : {}),
  };
}

function reportGroup(
  log: Logger,
  mode: PassMode,
  group: GroupPlan,
  updateDescriptions: boolean,
  judging: Judging,
): void {
  reportViolations(log, group, judging);
  for (const { desired, denial } of group.blocked) {
    report(log, 'rule.blocked', { ...denialFields(denial), ...ruleFields(desired) });
  }
  reportDrift(log, mode, group, updateDescriptions, judging);
  if (mode !== 'plan') return;
  for (const desired of group.missing) {
    report(log, 'rule.missing', {
      ...ruleFields(desired),
      ...(group.quota.exceeded ? { quotaExceeded: true, ...quotaFields(group) } : {}),
    });
  }
}

/** rule.violation of one group: every one at warn, or with the daemon's judge, at warn when it appeared or changed. */
function reportViolations(log: Logger, group: GroupPlan, { judge, unchanged }: Judging): void {
  for (const violation of group.violations) {
    const change = judge?.violation(group, violation);
    if (change === 'unchanged') unchanged.violationsUnchanged += 1;
    report(log, ['rule.violation', variantOf(change)], () => ({
      ...denialFields(violation.denial),
      ...liveRuleFields(group.account, group.region, group.group.groupId, violation.rule),
      ...changeField(change),
    }));
  }
}

/**
 * rule.drift and rule.description_drift of one group: every one at info, or with the daemon's
 * judge, at info when it appeared or changed (`change`) and as a debug line when it did not.
 */
function reportDrift(
  log: Logger,
  mode: PassMode,
  group: GroupPlan,
  updateDescriptions: boolean,
  { judge, unchanged }: Judging,
): void {
  for (const rule of group.drift) {
    const change = judge?.drift(group, rule);
    if (change === 'unchanged') unchanged.driftUnchanged += 1;
    report(log, ['rule.drift', variantOf(change)], () => ({
      ...liveRuleFields(group.account, group.region, group.group.groupId, rule),
      groupName: group.group.groupName,
      ...changeField(change),
    }));
  }
  // Under --update-descriptions, apply and dry-run report each drift by its outcome instead.
  if (updateDescriptions && mode !== 'plan') return;
  for (const drift of group.descriptionDrift) {
    const change = judge?.descriptionDrift(group, drift);
    if (change === 'unchanged') unchanged.descriptionDriftUnchanged += 1;
    report(log, ['rule.description_drift', variantOf(change)], () => ({
      ...descriptionFields(drift),
      reportedOnly: !updateDescriptions,
      ...changeField(change),
    }));
  }
}

function reportDescriptionOutcome(log: Logger, outcome: DescriptionOutcome): void {
  const fields = (): Record<string, unknown> => descriptionFields(outcome.drift);
  switch (outcome.status) {
    case 'updated':
      return report(log, 'rule.description_updated', () => ({
        ...fields(),
        ...(outcome.ruleId !== undefined ? { ruleId: outcome.ruleId } : {}),
        ...(outcome.recoveredAfter !== undefined ? { recoveredAfter: outcome.recoveredAfter } : {}),
      }));
    case 'failed':
      return report(log, 'rule.description_update_failed', () => ({
        ...fields(),
        errorCode: outcome.errorCode,
        error: outcome.error,
      }));
    case 'dry-run':
      return report(log, ['rule.description_drift', 'reported'], () => ({
        ...fields(),
        reportedOnly: false,
        permitted: outcome.permitted,
      }));
    case 'not-attempted':
      // Never sent: covered by the reconcile.failed of the aborted pass.
      return;
  }
}

function reportOutcome(log: Logger, outcome: RuleOutcome, group: GroupPlan | undefined): void {
  // Fields are built only when the event's level is on (report calls the function).
  const rule = (): Record<string, unknown> => ruleFields(outcome.desired);
  switch (outcome.status) {
    case 'authorized':
      return report(log, 'rule.authorized', () => ({
        ...rule(),
        ruleId: outcome.ruleId,
        ...(outcome.ruleIdPending ? { ruleIdPending: true } : {}),
        ...(outcome.recoveredAfter !== undefined ? { recoveredAfter: outcome.recoveredAfter } : {}),
      }));
    case 'failed':
      return report(log, 'rule.failed', () => ({
        ...rule(),
        errorCode: outcome.errorCode,
        error: outcome.error,
        ...(outcome.errorCode === QUOTA_EXCEEDED && group !== undefined ? quotaFields(group) : {}),
      }));
    case 'dry-run':
      return report(log, 'rule.missing', () => ({ ...rule(), permitted: outcome.permitted }));
    case 'already-present':
      // EC2 said Duplicate: someone else (or EC2's eventual consistency) got there first.
      return report(log, 'rule.already_present', () => ({
        ...rule(),
        ...(outcome.ruleId !== undefined ? { ruleId: outcome.ruleId } : {}),
      }));
    case 'outcome-unknown':
      return report(log, 'rule.outcome_unknown', () => ({
        ...rule(),
        errorCode: outcome.errorCode,
        error: outcome.error,
        recheck: outcome.recheck,
      }));
    case 'not-attempted':
      // Never sent: covered by the reconcile.failed of the aborted pass.
      return;
  }
}
