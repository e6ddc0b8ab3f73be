// The one place that decides what a pass's outcome means for the daemon: which metrics move, and
// whether the daemon is ready (after controller-runtime's reconcileHandler). Events go through the
// reporters (src/events.ts, reconcile/reporter.ts): a pass reports its own reconcile.* and rule.*
// events; this reports only what a pass cannot: skips, and the failure of a pass that threw or never
// settled. Rule counters move as each outcome is reported (PassObserver), so a pass that is aborted
// after some writes still counts them; rules a lost answer left unsettled are handed to the next pass.
import { report } from '../events.js';
import { reportPolicyErrors, type Logger } from '../logging.js';
import { ruleKey } from '../model/rule.js';
import type { PolicyError, PolicySetChangingReason } from '../model/policy.js';
import { createPassReporter, type PassObserver } from '../reconcile/reporter.js';
import type { ReportChange } from '../reconcile/report-memory.js';
import type { PassMode, PassResult, RuleOutcome, UnsettledRule } from '../reconcile/types.js';
import type { DaemonMetrics } from './metrics.js';

/** How one scheduled (or start-up) pass ended, as the daemon saw it. */
export type PassOutcome =
  /** reconcilePass ran and returned; it has emitted reconcile.completed or reconcile.failed itself. */
  | { readonly kind: 'result'; readonly result: PassResult }
  /** The pass threw, or ignored its abort past the deadline: it failed, and nothing said so yet. */
  | {
      readonly kind: 'crashed';
      readonly runId: string;
      readonly durationMs: number;
      readonly errorCode: string;
      readonly error: string;
    }
  /** A tick came while a pass was running. */
  | { readonly kind: 'skipped-overlap'; readonly runId: string; readonly inFlightRunId: string | undefined }
  /**
   * The policy directory, re-read for this pass, is invalid: nothing was read or written. `changes`
   * (the daemon's report memory, one per error in order) says which errors an earlier pass reported.
   */
  | {
      readonly kind: 'skipped-invalid';
      readonly runId: string;
      readonly errors: readonly PolicyError[];
      readonly changes?: readonly ReportChange[];
    }
  /** The policy directory did not hold still (swapped, edited, or too freshly written): deferred. */
  | {
      readonly kind: 'skipped-changing';
      readonly runId: string;
      readonly reason: PolicySetChangingReason;
      readonly file: string;
      readonly attempts: number;
    };

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/** What readiness is decided from; only the outcome handler writes it (and `shutdown`). */
export interface DaemonState {
  completedPasses: number;
  /** errorCode of the last pass that ran, when it failed outright; undefined after a completed one. */
  lastFailure: string | undefined;
  policySetValid: boolean;
  shuttingDown: boolean;
  lastCompletedAt: number | undefined;
}

export interface OutcomeHandlerOptions {
  readonly metrics: DaemonMetrics;
  readonly logger: Logger;
  readonly mode: PassMode;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
}

export interface OutcomeHandler {
  readonly state: Readonly<DaemonState>;
  /** The metrics observer of pass `runId`: counts each rule outcome as it is reported. */
  observerFor(runId: string): PassObserver;
  /** Rules whose write outcome is still unknown (rule.outcome_unknown), for the next pass to settle. */
  unsettled(): readonly UnsettledRule[];
  /** The policies validated at start-up: the set is valid before the first pass has finished. */
  policiesLoaded(): void;
  passStarted(): void;
  handle(outcome: PassOutcome): void;
  shuttingDown(): void;
  readiness(): Readiness;
}

/**
 * Readiness: 503 while shutting down; 503 until a pass has completed; 503 while the last pass that
 * ran failed outright (reconcile.failed). A skipped pass (overlap, or an invalid policy set on a
 * later pass) changes nothing: the last reconciled state still holds and is still being served,
 * and an invalid set is visible as sgr_policy_set_valid 0 and in the events. A completed pass with
 * rule or read failures is ready: those are per-group failures, counted in the metrics.
 */
export function readinessOf(state: Readonly<DaemonState>): Readiness {
  if (state.shuttingDown) return { ready: false, reason: 'shutting down' };
  if (state.lastFailure !== undefined)
    return { ready: false, reason: `last pass failed: ${state.lastFailure}` };
  if (state.completedPasses === 0) {
    return { ready: false, reason: state.policySetValid ? 'no pass completed yet' : 'policies invalid' };
  }
  return { ready: true };
}

/** The daemon's bookkeeping the outcome handler's parts share. */
interface Bookkeeping {
  readonly metrics: DaemonMetrics;
  readonly logger: Logger;
  readonly mode: PassMode;
  readonly now: () => number;
  readonly state: DaemonState;
  readonly tally: RuleTally;
}

/**
 * The outcome handler: the only writer of the daemon's state and of the pass metrics. `handle` is
 * called once per pass (or skip); the observer counts rules while a pass runs.
 */
export function createOutcomeHandler(options: OutcomeHandlerOptions): OutcomeHandler {
  const { metrics } = options;
  const state: DaemonState = {
    completedPasses: 0,
    lastFailure: undefined,
    policySetValid: false,
    shuttingDown: false,
    lastCompletedAt: undefined,
  };
  const tally = createRuleTally(metrics);
  const books: Bookkeeping = {
    metrics,
    logger: options.logger,
    mode: options.mode,
    now: options.now ?? Date.now,
    state,
    tally,
  };
  return {
    state,
    observerFor: tally.observerFor,
    unsettled: tally.unsettled,
    policiesLoaded: () => setPolicySetValid(books, true),
    passStarted: () => metrics.passInProgress.set(1),
    handle: (outcome) => handleOutcome(books, outcome),
    shuttingDown: () => {
      state.shuttingDown = true;
    },
    readiness: () => readinessOf(state),
  };
}

/** Rule counts per pass as they are reported, and the rules whose write outcome is still unknown. */
interface RuleTally {
  observerFor(runId: string): PassObserver;
  unsettled(): readonly UnsettledRule[];
  /** What pass `runId` counted through its observer; forgets the pass. */
  take(runId: string): PassTally;
}

/** What the observer of one pass counted: rule outcomes, and the failed reads of its plan. */
interface PassTally {
  authorized: number;
  failed: number;
  /** read.failed (groups) of the pass; 0 when it failed before its reads were planned. */
  readFailures: number;
}

function createRuleTally(metrics: DaemonMetrics): RuleTally {
  // Rules counted per pass as their outcomes were reported; a completed pass's counts add the rest
  // (a pass that reported no outcomes through the observer, e.g. a test's fake pass).
  const counted = new Map<string, PassTally>();
  const unsettled = new Map<string, UnsettledRule>();
  const unsettledKey = (o: { desired: RuleOutcome['desired'] }): string =>
    `${o.desired.account}|${o.desired.region}|${o.desired.groupId}|${ruleKey(o.desired.rule)}`;

  const observerFor = (runId: string): PassObserver => {
    const tally: PassTally = { authorized: 0, failed: 0, readFailures: 0 };
    counted.set(runId, tally);
    return {
      ruleOutcome: (outcome) => {
        const failed = outcome.status === 'failed' || (outcome.status === 'dry-run' && !outcome.permitted);
        if (outcome.status === 'authorized') {
          tally.authorized += 1;
          metrics.rulesAuthorized.inc();
        } else if (failed) {
          tally.failed += 1;
          metrics.rulesFailed.inc();
        }
        if (outcome.status === 'outcome-unknown') {
          unsettled.set(unsettledKey(outcome), { desired: outcome.desired, errorCode: outcome.errorCode });
        } else {
          unsettled.delete(unsettledKey(outcome));
        }
      },
      descriptionOutcome: (outcome) => {
        if (outcome.status === 'updated') metrics.descriptionsUpdated.inc();
        // Dry-run: an update EC2 would deny is one the real pass would fail on (as for rules).
        if (outcome.status === 'failed' || (outcome.status === 'dry-run' && !outcome.permitted)) {
          metrics.descriptionUpdatesFailed.inc();
        }
      },
      planned: (plan) => {
        // Counted when read.failed is reported: a pass that then fails outright (every read
        // failed, an abort) still shows its failed reads.
        tally.readFailures = plan.readFailures.length;
        metrics.readFailuresTotal.inc(plan.readFailures.length);
        // A group read again settles its unsettled rules in this pass: present ones are reported
        // authorized (recoveredAfter), absent ones are simply missing and authorized again.
        const read = new Set(plan.groups.map((g) => `${g.account}|${g.region}|${g.group.groupId}|`));
        for (const key of [...unsettled.keys()]) {
          if ([...read].some((prefix) => key.startsWith(prefix))) unsettled.delete(key);
        }
      },
    };
  };

  return {
    observerFor,
    unsettled: () => [...unsettled.values()],
    take: (runId) => {
      const tally = counted.get(runId) ?? { authorized: 0, failed: 0, readFailures: 0 };
      counted.delete(runId);
      return tally;
    },
  };
}

function setPolicySetValid(books: Bookkeeping, valid: boolean): void {
  books.state.policySetValid = valid;
  books.metrics.policySetValid.set(valid ? 1 : 0);
}

/** A pass that failed outright: counted, timed, its failed reads shown, and the daemon not ready. */
function recordFailure(books: Bookkeeping, errorCode: string, durationMs: number, tally: PassTally): void {
  books.metrics.passes.labels('failed').inc();
  books.metrics.passDuration.labels('failed').observe(durationMs / 1000);
  books.metrics.readFailures.set(tally.readFailures);
  books.state.lastFailure = errorCode;
}

/** The one switch from a pass's outcome to metrics, readiness and the events a pass cannot emit. */
function handleOutcome(books: Bookkeeping, outcome: PassOutcome): void {
  const { metrics, logger } = books;
  switch (outcome.kind) {
    case 'result':
      return recordResult(books, outcome.result);
    case 'crashed': {
      metrics.passInProgress.set(0);
      const tally = books.tally.take(outcome.runId);
      createPassReporter(logger.child({ runId: outcome.runId }), books.mode).failed(
        { errorCode: outcome.errorCode, error: outcome.error },
        outcome.durationMs,
      );
      recordFailure(books, outcome.errorCode, outcome.durationMs, tally);
      return;
    }
    case 'skipped-overlap': {
      report(logger, ['reconcile.skipped', 'overlap'], {
        runId: outcome.runId,
        reason: 'overlap',
        inFlightRunId: outcome.inFlightRunId,
      });
      metrics.passes.labels('skipped_overlap').inc();
      return;
    }
    case 'skipped-invalid': {
      metrics.passInProgress.set(0);
      reportPolicyErrors(logger.child({ runId: outcome.runId }), outcome.errors, outcome.changes);
      // Errors reported on an earlier pass are debug lines now: the skip still counts every one.
      const unchanged = outcome.changes?.filter((change) => change === 'unchanged').length;
      report(logger, ['reconcile.skipped', 'invalid-policies'], {
        runId: outcome.runId,
        reason: 'invalid-policies',
        errors: outcome.errors.length,
        ...(unchanged !== undefined ? { errorsUnchanged: unchanged } : {}),
      });
      metrics.passes.labels('skipped_invalid').inc();
      setPolicySetValid(books, false);
      return;
    }
    case 'skipped-changing': {
      metrics.passInProgress.set(0);
      // Not a verdict on the set: validity stays what the last complete load said.
      report(logger, ['reconcile.skipped', 'policies-changing'], {
        runId: outcome.runId,
        reason: 'policies-changing',
        change: outcome.reason,
        file: outcome.file,
        attempts: outcome.attempts,
      });
      metrics.passes.labels('skipped_changing').inc();
      return;
    }
  }
}

/** A pass that returned: failed, or completed with its counts (the rules not yet counted added). */
function recordResult(books: Bookkeeping, result: PassResult): void {
  const { metrics, state } = books;
  metrics.passInProgress.set(0);
  // The set was loaded and valid, or the pass would have been skipped; but a pass that found its
  // account selectors invalid against the inventory it discovered (--accounts organizations)
  // failed on policy errors: the set is invalid too, as its policy.invalid events say.
  setPolicySetValid(books, !(result.status === 'failed' && result.policyErrors !== undefined));
  const tally = books.tally.take(result.runId);
  if (result.status === 'failed') {
    recordFailure(books, result.errorCode, result.durationMs, tally);
    return;
  }
  const { counts } = result;
  metrics.passes.labels('completed').inc();
  metrics.passDuration.labels('completed').observe(result.durationMs / 1000);
  metrics.rulesAuthorized.inc(Math.max(0, counts.authorized - tally.authorized));
  metrics.rulesFailed.inc(Math.max(0, counts.failed - tally.failed));
  metrics.rulesDesired.set(counts.desired);
  metrics.rulesMissing.set(counts.missing);
  metrics.rulesDrift.set(counts.drift);
  metrics.rulesDescriptionDrift.set(counts.descriptionDrift);
  metrics.groups.set(counts.groups);
  metrics.targetsUnresolved.set(counts.unresolved);
  metrics.readFailures.set(counts.readFailures);
  metrics.readFailuresTotal.inc(Math.max(0, counts.readFailures - tally.readFailures));
  // Every guardrail checked has a series (0 when nothing violates it); a removed one goes away.
  metrics.guardrailViolations.reset();
  for (const name of result.plan.guardrails ?? []) metrics.guardrailViolations.labels(name).set(0);
  for (const group of result.plan.groups) {
    for (const { denial } of group.violations) metrics.guardrailViolations.labels(denial.guardrail).inc();
  }
  metrics.accountsFailed.set(counts.accountsFailed ?? 0);
  metrics.units.set(counts.units ?? 0);
  for (const failure of result.plan.accountFailures ?? []) {
    metrics.accountFailures.labels(metrics.accountLabel(failure.account)).inc();
  }
  const finishedAt = books.now();
  metrics.lastSuccess.set(finishedAt / 1000);
  state.completedPasses += 1;
  state.lastCompletedAt = finishedAt;
  state.lastFailure = undefined;
}
