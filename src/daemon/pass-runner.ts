// The daemon's pass runner: single flight, the policy set re-read for each pass, the pass timeout
// and its classification, and a pass that ignores its abort given up on after a grace period. It
// owns one pass at a time from the tick to the handled outcome; the process life cycle (start-up,
// HTTP, signals, stop) is in daemon.ts and only asks it to tick, close, and what is in flight.
import { reportPolicyWarnings, type Logger } from '../logging.js';
import { report } from '../events.js';
import type { Guardrail } from '../model/guardrail.js';
import type { Policy, PolicySetLoad, PolicyWarning } from '../model/policy.js';
import { createReportMemory, type ReportMemory } from '../reconcile/report-memory.js';
import type { PassFailure, PassObserver } from '../reconcile/reporter.js';
import type { PassMode, PassResult, UnsettledRule } from '../reconcile/types.js';
import type { OutcomeHandler, PassOutcome } from './outcome.js';

/** What one pass is given by the daemon besides the policies. */
export interface PassContext {
  readonly runId: string;
  /** The guardrails loaded with the policies, when the set has any. */
  readonly guardrails?: readonly Guardrail[];
  readonly mode: PassMode;
  readonly signal: AbortSignal;
  /** sha256 of the policy set this pass applies (reported on reconcile.started). */
  readonly policySetDigest: string;
  /** The ConfigMap / git-sync version directory the set was read from, when there is one. */
  readonly policyVersion: string | undefined;
  /** What the signal's reason means: the daemon owns its timeout and its stop (PassAbortedError). */
  readonly classifyAbort: (reason: unknown) => PassFailure;
  /** Counts rule outcomes into the metrics as they are reported. */
  readonly observer: PassObserver;
  /** Rules an earlier pass sent without learning the outcome. */
  readonly unsettled: readonly UnsettledRule[];
  /**
   * What this daemon has reported (drift, violations, unresolved targets, policy errors): each is
   * reported at its level when it appears or changes, and as a debug line while it stays the same.
   */
  readonly reportMemory: ReportMemory;
}

/** One reconcile pass over a loaded policy set (reconcilePass, bound to the EC2 ports). */
export type RunPass = (
  policies: readonly Policy[],
  policyFiles: number,
  context: PassContext,
) => Promise<PassResult>;

/**
 * Why a pass's AbortSignal fired. Named like the DOM's reasons (`TimeoutError` for the pass timeout,
 * `AbortError` for a stop), which is what reconcilePass and the SDK look at.
 */
export class PassAbortedError extends Error {
  override readonly name: 'TimeoutError' | 'AbortError';
  constructor(
    readonly code: 'PassTimeout' | 'ShuttingDown',
    text: string,
  ) {
    super(text);
    this.name = code === 'PassTimeout' ? 'TimeoutError' : 'AbortError';
  }
}

/** The daemon's classification of its own abort reasons; anything else is a plain abort. */
export function classifyDaemonAbort(reason: unknown): PassFailure {
  if (reason instanceof PassAbortedError) {
    return {
      errorCode: reason.code,
      error:
        reason.code === 'PassTimeout'
          ? 'the pass did not finish within its time limit (--pass-timeout, SGR_PASS_TIMEOUT) and was stopped; ' +
            'raise it if passes of this size need longer'
          : 'the daemon is stopping and the pass was aborted before it finished',
    };
  }
  return { errorCode: 'Aborted', error: 'the pass was aborted before it finished' };
}

/** A load that found one version of the set (valid or not). */
export type ReadSet = Extract<PolicySetLoad, { kind: 'read' }>;

/** The pass in flight. */
export interface InFlight {
  readonly runId: string;
  readonly controller: AbortController;
  /** Settles when the pass has settled (its outcome is handled by then, or earlier if it hung). Never rejects. */
  readonly done: Promise<void>;
}

export interface PassRunnerOptions {
  /** The --policies paths (directories or files), re-read at the start of every pass. */
  readonly policiesDir: string | readonly string[];
  readonly mode: PassMode;
  /** --pass-timeout: the pass's signal is aborted with PassAbortedError('PassTimeout') after it. */
  readonly passTimeoutSeconds: number;
  /** How long an aborted pass may take to settle before it is reported failed and given up on. */
  readonly abortGraceMs: number;
}

export interface PassRunnerDeps {
  readonly logger: Logger;
  readonly loadPolicySet: (paths: string | readonly string[]) => Promise<PolicySetLoad>;
  readonly runPass: RunPass;
  /** Where every pass's outcome goes (metrics, readiness, the events a pass cannot emit). */
  readonly outcomes: OutcomeHandler;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  readonly newRunId: () => string;
}

/** Single-flight passes for the daemon's life cycle. */
export interface PassRunner {
  /**
   * A tick of the schedule, SIGHUP, or the start-up pass (with the set start-up already loaded):
   * starts a pass unless the runner is closed; while one runs, reports an overlap skip instead.
   */
  tick(preloaded?: ReadSet): void;
  /** The pass in flight, if any. */
  inFlight(): InFlight | undefined;
  /** Starts no more passes (the daemon is stopping); the pass in flight runs on. */
  close(): void;
  /** Reports the policy set's warnings (policy.warning) when they differ from the last reported. */
  reportWarnings(warnings: readonly PolicyWarning[], fields: Readonly<Record<string, unknown>>): void;
}

/** What the functions of one pass share. */
interface RunnerScope {
  readonly options: PassRunnerOptions;
  readonly deps: PassRunnerDeps;
  readonly handle: (outcome: PassOutcome) => void;
  /** The daemon's one report memory, shared by every pass and by the policy-set checks between them. */
  readonly reportMemory: ReportMemory;
  readonly reportWarnings: (
    warnings: readonly PolicyWarning[],
    fields: Readonly<Record<string, unknown>>,
  ) => void;
}

/** One pass: its id, its abort controller and when it started (ms since the epoch). */
interface PassRun {
  readonly runId: string;
  readonly controller: AbortController;
  readonly elapsed: () => number;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Builds the runner; nothing runs until the first tick. */
export function createPassRunner(options: PassRunnerOptions, deps: PassRunnerDeps): PassRunner {
  let inFlight: InFlight | undefined;
  let closed = false;
  // Warnings (a file reached twice through a symlink, ...) are reported when they change, not on
  // every pass: the same set every five minutes would be noise.
  let reportedWarnings: string | undefined;
  const reportWarnings = (
    warnings: readonly PolicyWarning[],
    fields: Readonly<Record<string, unknown>>,
  ): void => {
    const key = JSON.stringify(warnings);
    if (key === reportedWarnings) return;
    reportedWarnings = key;
    reportPolicyWarnings(deps.logger, warnings, fields);
  };
  const handle = (outcome: PassOutcome): void => {
    try {
      deps.outcomes.handle(outcome);
    } catch (error) {
      // A bug in bookkeeping must not take the daemon down either.
      report(deps.logger, ['daemon.warning', 'bookkeeping'], { err: error });
    }
  };
  const scope: RunnerScope = { options, deps, handle, reportWarnings, reportMemory: createReportMemory() };

  const tick = (preloaded?: ReadSet): void => {
    if (closed) return;
    const runId = deps.newRunId();
    if (inFlight !== undefined) {
      handle({ kind: 'skipped-overlap', runId, inFlightRunId: inFlight.runId });
      return;
    }
    const controller = new AbortController();
    const current: InFlight = {
      runId,
      controller,
      done: executePass(scope, runId, controller, preloaded).finally(() => {
        if (inFlight === current) inFlight = undefined;
      }),
    };
    inFlight = current;
  };

  return {
    tick,
    inFlight: () => inFlight,
    close: () => {
      closed = true;
    },
    reportWarnings,
  };
}

/** Aborts the pass with PassAbortedError('PassTimeout') once --pass-timeout has passed. */
function armPassTimeout(scope: RunnerScope, run: PassRun): NodeJS.Timeout {
  const { passTimeoutSeconds } = scope.options;
  return setTimeout(() => {
    report(scope.deps.logger, ['daemon.warning', 'pass-timeout'], {
      runId: run.runId,
      reason: 'pass-timeout',
      passTimeoutSeconds,
    });
    run.controller.abort(
      new PassAbortedError('PassTimeout', `the pass exceeded --pass-timeout (${passTimeoutSeconds} s)`),
    );
  }, passTimeoutSeconds * 1000);
}

/** The body of one pass, from (re)loading the policies to handling the outcome. Never rejects. */
async function executePass(
  scope: RunnerScope,
  runId: string,
  controller: AbortController,
  preloaded: ReadSet | undefined,
): Promise<void> {
  const startedAt = scope.deps.now();
  const run: PassRun = { runId, controller, elapsed: () => Math.max(0, scope.deps.now() - startedAt) };
  const timeout = armPassTimeout(scope, run);
  scope.deps.outcomes.passStarted();
  try {
    const set = preloaded ?? (await scope.deps.loadPolicySet(scope.options.policiesDir));
    if (set.kind === 'changing') {
      const { reason, file, attempts } = set;
      scope.handle({ kind: 'skipped-changing', runId, reason, file, attempts });
      return;
    }
    // The same errors of a set still invalid are not news; a valid load forgets them, so errors
    // fixed and then made again are reported again.
    const changes = scope.reportMemory.policyErrors('load', set.result.ok ? [] : set.result.errors);
    if (!set.result.ok) {
      scope.handle({ kind: 'skipped-invalid', runId, errors: set.result.errors, changes });
      return;
    }
    scope.reportWarnings(set.result.warnings, { runId });
    if (controller.signal.aborted) throw controller.signal.reason;
    await runLoadedSet(scope, run, set, set.result);
  } catch (error) {
    const reason: unknown = controller.signal.reason;
    const aborted = controller.signal.aborted && reason instanceof PassAbortedError;
    scope.handle({
      kind: 'crashed',
      runId,
      durationMs: run.elapsed(),
      errorCode: aborted ? reason.code : 'InternalError',
      error: aborted ? reason.message : message(error),
    });
  } finally {
    clearTimeout(timeout);
  }
}

/** Runs the pass over a valid set and hands its result on; a pass that hangs past its abort is reported. */
async function runLoadedSet(
  scope: RunnerScope,
  run: PassRun,
  set: ReadSet,
  loaded: Extract<ReadSet['result'], { ok: true }>,
): Promise<void> {
  const { runId, controller } = run;
  const pass = scope.deps.runPass(loaded.policies, loaded.files.length, {
    runId,
    ...(loaded.guardrails !== undefined ? { guardrails: loaded.guardrails } : {}),
    mode: scope.options.mode,
    signal: controller.signal,
    policySetDigest: set.digest,
    policyVersion: set.version,
    classifyAbort: classifyDaemonAbort,
    observer: scope.deps.outcomes.observerFor(runId),
    unsettled: scope.deps.outcomes.unsettled(),
    reportMemory: scope.reportMemory,
  });
  const settled = await settleOrGiveUp(pass, controller.signal, scope.options.abortGraceMs);
  if (settled !== 'hung') {
    scope.handle({ kind: 'result', result: settled.result });
    return;
  }
  const reason: unknown = controller.signal.reason;
  scope.handle({
    kind: 'crashed',
    runId,
    durationMs: run.elapsed(),
    errorCode: reason instanceof PassAbortedError ? reason.code : 'PassTimeout',
    error: `${message(reason)}, and it did not stop within ${scope.options.abortGraceMs} ms of being aborted`,
  });
  // Single flight holds until the pass has really stopped: never two passes at once.
  await pass.catch(() => undefined);
}

/** The pass's result, or 'hung' when it has not settled `graceMs` after its signal fired. */
function settleOrGiveUp(
  pass: Promise<PassResult>,
  signal: AbortSignal,
  graceMs: number,
): Promise<{ result: PassResult } | 'hung'> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      timer = setTimeout(() => resolve('hung'), graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    };
    pass.then(
      (result) => {
        settle();
        resolve({ result });
      },
      (error: unknown) => {
        settle();
        reject(error);
      },
    );
  });
}
