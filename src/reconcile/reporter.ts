// The one place that turns what a pass read, planned and did into events (through the event table in
// src/events.ts) and, at the same moment, into observations for metrics. The pass and the daemon hand
// it typed values; it builds every field. Events stream as work happens, so a process killed
// mid-pass has logged everything it did before the kill (pino writes synchronously).
import { report } from '../events.js';
import type { Logger } from '../logging.js';
import type { Denial } from '../model/guardrail.js';
import type { PolicyError } from '../model/policy.js';
import type { LiveRule, RuleSource } from '../model/rule.js';
import type { DriftChange, DriftJudge, DriftMemory } from './drift-memory.js';
import { QUOTA_EXCEEDED } from './execute.js';
import type { ProgressFields } from './progress.js';
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
  ReadFailure,
  RuleOutcome,
  SkippedPolicy,
  UnresolvedTarget,
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

/** Drift the daemon's memory found unchanged since its last pass (debug lines; counted on reconcile.completed). */
interface UnchangedDrift {
  driftUnchanged: number;
  descriptionDriftUnchanged: number;
}

/** The daemon's judge of this pass's drift (none for one-shot commands) and what it found unchanged. */
interface DriftReporting {
  readonly judge: DriftJudge | undefined;
  readonly unchanged: UnchangedDrift;
}

/**
 * The reporter of one pass, logging through `log` (which should carry the pass's runId). With a
 * drift memory (the daemon), a drift is reported at info when it appeared or changed since the
 * memory's last pass and as a debug line otherwise; reconcile.completed then counts the unchanged.
 */
export function createPassReporter(
  log: Logger,
  mode: PassMode,
  observer: PassObserver = {},
  driftMemory?: DriftMemory,
): PassReporter {
  const unchanged: UnchangedDrift = { driftUnchanged: 0, descriptionDriftUnchanged: 0 };
  return {
    started: (fields) => report(log, 'reconcile.started', { mode, ...fields }),
    planned: (plan) => {
      reportReads(log, plan.unresolved, plan.readFailures, plan);
      const judge = driftMemory?.pass(plan);
      for (const group of plan.groups) {
        reportGroup(log, mode, group, plan.updateDescriptions === true, { judge, unchanged });
      }
      observer.planned?.(plan);
    },
    requested: ({ group, rules }) =>
      report(log, 'authorize.requested', () => ({
        account: group.account,
        region: group.region,
        groupId: group.group.groupId,
        policies: group.policies,
        rules: rules.map(({ rule }) => ({
          protocol: rule.protocol,
          fromPort: rule.fromPort,
          toPort: rule.toPort,
          source: sourceFields(rule.source),
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
        ...(driftMemory !== undefined ? unchanged : {}),
        ...extra,
      }),
    progress: (fields) => report(log, 'reconcile.progress', { mode, ...fields }),
    failed: (failure, durationMs) =>
      report(log, 'reconcile.failed', {
        mode,
        errorCode: failure.errorCode,
        error: failure.error,
        ...(durationMs !== undefined ? { durationMs } : {}),
      }),
  };
}

function reportReads(
  log: Logger,
  unresolved: readonly UnresolvedTarget[],
  readFailures: readonly ReadFailure[],
  plan: Plan,
): void {
  for (const target of unresolved) report(log, 'target.unresolved', target);
  for (const failure of readFailures) report(log, ['read.failed', 'groups'], failure);
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
  memory: DriftReporting,
): void {
  const { groupId } = group.group;
  for (const { rule, denial } of group.violations) {
    report(log, 'rule.violation', {
      ...denialFields(denial),
      ...liveRuleFields(group.account, group.region, groupId, rule),
    });
  }
  for (const { desired, denial } of group.blocked) {
    report(log, 'rule.blocked', { ...denialFields(denial), ...ruleFields(desired) });
  }
  reportDrift(log, mode, group, updateDescriptions, memory);
  if (mode !== 'plan') return;
  for (const desired of group.missing) {
    report(log, 'rule.missing', {
      ...ruleFields(desired),
      ...(group.quota.exceeded ? { quotaExceeded: true, ...quotaFields(group) } : {}),
    });
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
  memory: DriftReporting,
): void {
  const { judge, unchanged } = memory;
  const variant = (change: DriftChange | undefined): 'reported' | 'unchanged' =>
    change === 'unchanged' ? 'unchanged' : 'reported';
  for (const rule of group.drift) {
    const change = judge?.drift(group, rule);
    if (change === 'unchanged') unchanged.driftUnchanged += 1;
    report(log, ['rule.drift', variant(change)], () => ({
      ...liveRuleFields(group.account, group.region, group.group.groupId, rule),
      groupName: group.group.groupName,
      ...(change !== undefined ? { change } : {}),
    }));
  }
  // Under --update-descriptions, apply and dry-run report each drift by its outcome instead.
  if (updateDescriptions && mode !== 'plan') return;
  for (const drift of group.descriptionDrift) {
    const change = judge?.descriptionDrift(group, drift);
    if (change === 'unchanged') unchanged.descriptionDriftUnchanged += 1;
    report(log, ['rule.description_drift', variant(change)], () => ({
      ...descriptionFields(drift),
      reportedOnly: !updateDescriptions,
      ...(change !== undefined ? { change } : {}),
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
