// The one place that decides what a pass's outcome means for the daemon: which events it adds, which
// metrics move, and whether the daemon is ready (after controller-runtime's reconcileHandler).
// reconcilePass emits its own reconcile.* and rule.* events; this adds only those it cannot: skips,
// and the failure of a pass that threw or never settled.
import { emit, emitPolicyErrors, type Logger } from '../logging.js';
import type { PolicyError, PolicySetChangingReason } from '../model/policy.js';
import type { PassMode, PassResult } from '../reconcile/types.js';
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
  /** The policy directory, re-read for this pass, is invalid: nothing was read or written. */
  | { readonly kind: 'skipped-invalid'; readonly runId: string; readonly errors: readonly PolicyError[] }
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

export function createOutcomeHandler(options: OutcomeHandlerOptions): OutcomeHandler {
  const { metrics, logger, mode } = options;
  const now = options.now ?? Date.now;
  const state: DaemonState = {
    completedPasses: 0,
    lastFailure: undefined,
    policySetValid: false,
    shuttingDown: false,
    lastCompletedAt: undefined,
  };

  const setPolicySetValid = (valid: boolean): void => {
    state.policySetValid = valid;
    metrics.policySetValid.set(valid ? 1 : 0);
  };

  const recordFailure = (errorCode: string, durationMs: number): void => {
    metrics.passes.labels('failed').inc();
    metrics.passDuration.labels('failed').observe(durationMs / 1000);
    state.lastFailure = errorCode;
  };

  const handle = (outcome: PassOutcome): void => {
    switch (outcome.kind) {
      case 'result': {
        metrics.passInProgress.set(0);
        // The set was loaded and valid, or the pass would have been skipped.
        setPolicySetValid(true);
        const result = outcome.result;
        if (result.status === 'failed') {
          recordFailure(result.errorCode, result.durationMs);
          return;
        }
        const { counts } = result;
        metrics.passes.labels('completed').inc();
        metrics.passDuration.labels('completed').observe(result.durationMs / 1000);
        metrics.rulesAuthorized.inc(counts.authorized);
        metrics.rulesFailed.inc(counts.failed);
        metrics.rulesDesired.set(counts.desired);
        metrics.rulesMissing.set(counts.missing);
        metrics.rulesDrift.set(counts.drift);
        metrics.rulesDescriptionDrift.set(counts.descriptionDrift);
        metrics.groups.set(counts.groups);
        metrics.targetsUnresolved.set(counts.unresolved);
        metrics.readFailures.set(counts.readFailures);
        const finishedAt = now();
        metrics.lastSuccess.set(finishedAt / 1000);
        state.completedPasses += 1;
        state.lastCompletedAt = finishedAt;
        state.lastFailure = undefined;
        return;
      }
      case 'crashed': {
        metrics.passInProgress.set(0);
        emit(
          logger,
          'error',
          'reconcile.failed',
          {
            runId: outcome.runId,
            mode,
            errorCode: outcome.errorCode,
            error: outcome.error,
            durationMs: outcome.durationMs,
          },
          'reconcile pass failed',
        );
        recordFailure(outcome.errorCode, outcome.durationMs);
        return;
      }
      case 'skipped-overlap': {
        emit(
          logger,
          'warn',
          'reconcile.skipped',
          { runId: outcome.runId, reason: 'overlap', inFlightRunId: outcome.inFlightRunId },
          'reconcile pass skipped: the previous pass is still running',
        );
        metrics.passes.labels('skipped_overlap').inc();
        return;
      }
      case 'skipped-invalid': {
        metrics.passInProgress.set(0);
        emitPolicyErrors(logger.child({ runId: outcome.runId }), outcome.errors);
        emit(
          logger,
          'error',
          'reconcile.skipped',
          { runId: outcome.runId, reason: 'invalid-policies', errors: outcome.errors.length },
          'reconcile pass skipped: the policy set is invalid, nothing was authorized',
        );
        metrics.passes.labels('skipped_invalid').inc();
        setPolicySetValid(false);
        return;
      }
      case 'skipped-changing': {
        metrics.passInProgress.set(0);
        // Not a verdict on the set: validity stays what the last complete load said.
        emit(
          logger,
          'warn',
          'reconcile.skipped',
          {
            runId: outcome.runId,
            reason: 'policies-changing',
            change: outcome.reason,
            file: outcome.file,
            attempts: outcome.attempts,
          },
          'reconcile pass deferred: the policy directory is changing, nothing was authorized',
        );
        metrics.passes.labels('skipped_changing').inc();
        return;
      }
    }
  };

  return {
    state,
    policiesLoaded: () => setPolicySetValid(true),
    passStarted: () => metrics.passInProgress.set(1),
    handle,
    shuttingDown: () => {
      state.shuttingDown = true;
    },
    readiness: () => readinessOf(state),
  };
}
