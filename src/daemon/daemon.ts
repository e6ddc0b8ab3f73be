// The daemon's life cycle: start-up checks, the HTTP server, the schedule, single-flight passes with
// a timeout, and a graceful stop on SIGTERM/SIGINT. Everything it talks to is passed in, so tests
// drive it with a fake pass, a hand-cranked scheduler and a fake process.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { report } from '../events.js';
import { exitCodeFor } from '../exit-codes.js';
import { reportPolicyErrors, type Logger } from '../logging.js';
import type { PassFailure, PassObserver } from '../reconcile/reporter.js';
import type { Policy, PolicySetLoad } from '../model/policy.js';
import type { PassMode, PassResult, UnsettledRule } from '../reconcile/types.js';
import type { Guardrail } from '../model/guardrail.js';
import { closeServer, createHealthServer, formatAddress, listen, type HttpLimits } from './http.js';
import { createDaemonMetrics, type DaemonMetrics } from './metrics.js';
import { createOutcomeHandler, type OutcomeHandler, type PassOutcome } from './outcome.js';
import type { ScheduledJob, Scheduler } from './schedule.js';

/** Defaults the daemon applies when its options leave them out. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
export const DEFAULT_ABORT_GRACE_MS = 10_000;

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
export type StopSignal = (typeof SIGNALS)[number];
/** A second signal ends the process at once with the shell's convention: 128 + the signal number. */
export const FORCED_EXIT_CODES: Readonly<Record<StopSignal, number>> = {
  SIGINT: exitCodeFor({ command: 'run', end: 'forced', signal: 'SIGINT' }),
  SIGTERM: exitCodeFor({ command: 'run', end: 'forced', signal: 'SIGTERM' }),
};

/** The slice of `process` the daemon uses; tests pass a fake. */
export interface DaemonProcess {
  on(event: StopSignal | 'SIGHUP', listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: StopSignal | 'SIGHUP', listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): void;
}

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
}

/** One reconcile pass over a loaded policy set (reconcilePass, bound to the EC2 ports). */
export type RunPass = (
  policies: readonly Policy[],
  policyFiles: number,
  context: PassContext,
) => Promise<PassResult>;

/** The daemon's options, already parsed and checked by the CLI (a valid cron expression and zone, a positive timeout). */
export interface DaemonOptions {
  /** The --policies paths (directories or files), re-read at the start of every pass. */
  readonly policiesDir: string | readonly string[];
  readonly schedule: string;
  readonly timezone: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly mode: PassMode;
  readonly passTimeoutSeconds: number;
  /** How long a stop waits for the pass in flight before aborting it. */
  readonly shutdownGraceMs?: number;
  /** How long an aborted pass (timeout or stop) may take to settle before the daemon gives up on it. */
  readonly abortGraceMs?: number;
  /** What a client may hold on the HTTP port (DEFAULT_HTTP_LIMITS unless set). */
  readonly httpLimits?: Partial<HttpLimits>;
}

export interface DaemonDeps {
  readonly logger: Logger;
  /** Reads the policy directory as one version (loadPolicySet with the daemon's settle window). */
  readonly loadPolicySet: (paths: string | readonly string[]) => Promise<PolicySetLoad>;
  /** Waits between start-up loads while the directory settles (default: a timer). */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly runPass: RunPass;
  readonly scheduler: Scheduler;
  readonly process?: DaemonProcess;
  readonly metrics?: DaemonMetrics;
  readonly now?: () => number;
  readonly newRunId?: () => string;
}

export interface Daemon {
  /** Start-up checks, then serve until stopped; resolves with the exit code. */
  run(): Promise<number>;
  /** What a first SIGTERM does; resolves when the daemon has stopped. */
  stop(reason?: string): Promise<void>;
  /** The bound HTTP address (`host:port`) once listening. */
  address(): string | undefined;
  readonly metrics: DaemonMetrics;
  readonly outcomes: OutcomeHandler;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const codeOf = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};
const sleep = (ms: number): { promise: Promise<void>; cancel: () => void } => {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
};

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

/** A load that found one version of the set (valid or not). */
type ReadSet = Extract<PolicySetLoad, { kind: 'read' }>;

/** Loads tried at start-up while the policy directory settles (about 2 s apart at most). */
const STARTUP_SETTLE_ATTEMPTS = 10;

/** The daemon's classification of its own abort reasons; anything else is a plain abort. */
export function classifyDaemonAbort(reason: unknown): PassFailure {
  if (reason instanceof PassAbortedError) {
    return {
      errorCode: reason.code,
      error:
        reason.code === 'PassTimeout'
          ? 'the pass did not finish within its time limit and was stopped'
          : 'the daemon is stopping and the pass was aborted before it finished',
    };
  }
  return { errorCode: 'Aborted', error: 'the pass was aborted before it finished' };
}

interface InFlight {
  readonly runId: string;
  readonly controller: AbortController;
  /** Settles when the pass has settled (its outcome is handled by then, or earlier if it hung). */
  readonly done: Promise<void>;
}

export function createDaemon(options: DaemonOptions, deps: DaemonDeps): Daemon {
  const logger = deps.logger;
  const proc: DaemonProcess = deps.process ?? process;
  const now = deps.now ?? Date.now;
  const newRunId = deps.newRunId ?? randomUUID;
  const sleepFor = deps.sleep ?? ((ms: number) => sleep(ms).promise);
  const shutdownGraceMs = options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS;
  const abortGraceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
  const metrics = deps.metrics ?? createDaemonMetrics();
  const outcomes = createOutcomeHandler({ metrics, logger, mode: options.mode, now });
  const server: Server = createHealthServer({
    ...(options.httpLimits !== undefined ? { limits: options.httpLimits } : {}),
    readiness: outcomes.readiness,
    registry: metrics.registry,
    logger,
  });

  let boundAddress: string | undefined;
  let job: ScheduledJob | undefined;
  let inFlight: InFlight | undefined;
  let stopping: Promise<void> | undefined;
  let resolveStopped: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });

  // Warnings (a file reached twice through a symlink, ...) are reported when they change, not on
  // every pass: the same set every five minutes would be noise.
  let reportedWarnings: string | undefined;
  const reportWarnings = (warnings: readonly string[], fields: object): void => {
    const key = JSON.stringify(warnings);
    if (key === reportedWarnings) return;
    reportedWarnings = key;
    for (const warning of warnings) report(logger, 'policy.warning', { ...fields, warning });
  };

  const handle = (outcome: PassOutcome): void => {
    try {
      outcomes.handle(outcome);
    } catch (error) {
      // A bug in bookkeeping must not take the daemon down either.
      report(logger, ['daemon.warning', 'bookkeeping'], { err: error });
    }
  };

  /** The body of one pass, from (re)loading the policies to handling the outcome. Never rejects. */
  const execute = async (runId: string, controller: AbortController, preloaded?: ReadSet): Promise<void> => {
    const startedAt = now();
    const elapsed = (): number => Math.max(0, now() - startedAt);
    const timeoutMs = options.passTimeoutSeconds * 1000;
    const timeout = setTimeout(() => {
      report(logger, ['daemon.warning', 'pass-timeout'], {
        runId,
        reason: 'pass-timeout',
        passTimeoutSeconds: options.passTimeoutSeconds,
      });
      controller.abort(
        new PassAbortedError(
          'PassTimeout',
          `the pass exceeded --pass-timeout (${options.passTimeoutSeconds} s)`,
        ),
      );
    }, timeoutMs);
    outcomes.passStarted();
    let pass: Promise<PassResult> | undefined;
    try {
      const set = preloaded ?? (await deps.loadPolicySet(options.policiesDir));
      if (set.kind === 'changing') {
        const { reason, file, attempts } = set;
        handle({ kind: 'skipped-changing', runId, reason, file, attempts });
        return;
      }
      const loaded = set.result;
      if (!loaded.ok) {
        handle({ kind: 'skipped-invalid', runId, errors: loaded.errors });
        return;
      }
      reportWarnings(loaded.warnings, { runId });
      if (controller.signal.aborted) throw controller.signal.reason;
      pass = deps.runPass(loaded.policies, loaded.files.length, {
        runId,
        ...(loaded.guardrails !== undefined ? { guardrails: loaded.guardrails } : {}),
        mode: options.mode,
        signal: controller.signal,
        policySetDigest: set.digest,
        policyVersion: set.version,
        classifyAbort: classifyDaemonAbort,
        observer: outcomes.observerFor(runId),
        unsettled: outcomes.unsettled(),
      });
      const settled = await settleOrGiveUp(pass, controller.signal);
      if (settled === 'hung') {
        const reason: unknown = controller.signal.reason;
        handle({
          kind: 'crashed',
          runId,
          durationMs: elapsed(),
          errorCode: reason instanceof PassAbortedError ? reason.code : 'PassTimeout',
          error: `${message(reason)}, and it did not stop within ${abortGraceMs} ms of being aborted`,
        });
        // Single flight holds until the pass has really stopped: never two passes at once.
        await pass.catch(() => undefined);
        return;
      }
      handle({ kind: 'result', result: settled.result });
    } catch (error) {
      const reason: unknown = controller.signal.reason;
      const aborted = controller.signal.aborted && reason instanceof PassAbortedError;
      handle({
        kind: 'crashed',
        runId,
        durationMs: elapsed(),
        errorCode: aborted ? reason.code : 'InternalError',
        error: aborted ? reason.message : message(error),
      });
    } finally {
      clearTimeout(timeout);
    }
  };

  /** The pass's result, or 'hung' when it has not settled `abortGraceMs` after its signal fired. */
  const settleOrGiveUp = (
    pass: Promise<PassResult>,
    signal: AbortSignal,
  ): Promise<{ result: PassResult } | 'hung'> =>
    new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        timer = setTimeout(() => resolve('hung'), abortGraceMs);
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      pass.then(
        (result) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve({ result });
        },
        (error: unknown) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      );
    });

  /** A tick of the schedule (or the start-up pass): start a pass unless one is running. */
  const tick = (preloaded?: ReadSet): void => {
    if (stopping !== undefined) return;
    const runId = newRunId();
    if (inFlight !== undefined) {
      handle({ kind: 'skipped-overlap', runId, inFlightRunId: inFlight.runId });
      return;
    }
    const controller = new AbortController();
    const current: InFlight = {
      runId,
      controller,
      done: execute(runId, controller, preloaded).finally(() => {
        if (inFlight === current) inFlight = undefined;
      }),
    };
    inFlight = current;
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping === undefined) {
      void stop(signal);
      return;
    }
    // controller-runtime's signals handler: the first signal stops gracefully, the second exits.
    const code = exitCodeFor({ command: 'run', end: 'forced', signal });
    report(logger, ['daemon.stopped', 'forced'], {
      signal,
      forced: true,
      exitCode: code,
      inFlightRunId: inFlight?.runId,
    });
    removeSignalHandlers();
    proc.exit(code);
  };
  // SIGHUP: reconcile now, with the policies re-read, as other daemons reload on SIGHUP. It never
  // stops the process; the usual rules hold (a pass in flight makes it an overlap skip; none while stopping).
  const onHangup = (signal: NodeJS.Signals): void => {
    report(logger, 'daemon.reload', {
      signal,
      inFlightRunId: inFlight?.runId,
      stopping: stopping !== undefined,
    });
    tick();
  };
  const addSignalHandlers = (): void => {
    for (const signal of SIGNALS) proc.on(signal, onSignal);
    proc.on('SIGHUP', onHangup);
  };
  const removeSignalHandlers = (): void => {
    for (const signal of SIGNALS) proc.off(signal, onSignal);
    proc.off('SIGHUP', onHangup);
  };

  const stop = (reason = 'stop'): Promise<void> => {
    if (stopping !== undefined) return stopping;
    stopping = (async () => {
      const startedAt = now();
      outcomes.shuttingDown();
      job?.stop();
      job = undefined;
      const pass = inFlight;
      report(logger, ['daemon.stopping', pass === undefined ? 'idle' : 'in-flight'], {
        signal: reason,
        inFlightRunId: pass?.runId,
        graceMs: shutdownGraceMs,
      });
      let abandoned = false;
      if (pass !== undefined) {
        const grace = sleep(shutdownGraceMs);
        const finished = await Promise.race([pass.done.then(() => true), grace.promise.then(() => false)]);
        grace.cancel();
        if (!finished) {
          report(logger, ['daemon.warning', 'shutdown-grace-expired'], {
            runId: pass.runId,
            reason: 'shutdown-grace-expired',
            graceMs: shutdownGraceMs,
          });
          pass.controller.abort(
            new PassAbortedError(
              'ShuttingDown',
              `the daemon is stopping and the pass outlived the ${shutdownGraceMs} ms grace period`,
            ),
          );
          const settle = sleep(abortGraceMs + 1000);
          abandoned = !(await Promise.race([pass.done.then(() => true), settle.promise.then(() => false)]));
          settle.cancel();
        }
      }
      // The listener stayed open through the drain (/healthz 200, /readyz 503 `shutting down`).
      // Connections still open (a slow scrape) get a moment more; then they are cut.
      const closed = closeServer(server);
      const drain = sleep(1000);
      await Promise.race([closed, drain.promise]);
      drain.cancel();
      server.closeAllConnections();
      await closed;
      removeSignalHandlers();
      report(logger, ['daemon.stopped', 'graceful'], {
        signal: reason,
        durationMs: Math.max(0, now() - startedAt),
        abandonedRunId: abandoned ? pass?.runId : undefined,
      });
      resolveStopped?.();
    })();
    return stopping;
  };

  /**
   * The start-up load: a directory still settling (just written, or swapped while read) is waited
   * for, a bounded number of times, since start-up must say whether the set is valid.
   */
  const loadSettled = async (): Promise<PolicySetLoad> => {
    let set = await deps.loadPolicySet(options.policiesDir);
    for (let attempt = 1; set.kind === 'changing' && attempt < STARTUP_SETTLE_ATTEMPTS; attempt++) {
      await sleepFor(Math.min(Math.max(set.retryAfterMs ?? 0, 100), 2_000));
      set = await deps.loadPolicySet(options.policiesDir);
    }
    return set;
  };

  const startFailed = (errorCode: string, error: string, fields: object): number => {
    report(logger, ['daemon.failed', 'start-up'], { errorCode, error, ...fields });
    return exitCodeFor({ command: 'run', end: 'start-failed' });
  };

  const run = async (): Promise<number> => {
    // The options were parsed and checked once, by the CLI (cli/options.ts).
    let set: PolicySetLoad;
    try {
      set = await loadSettled();
    } catch (error) {
      return startFailed('InternalError', message(error), { policies: options.policiesDir });
    }
    if (set.kind === 'changing') {
      return startFailed(
        'PoliciesChanging',
        `the policy directory did not hold still for ${STARTUP_SETTLE_ATTEMPTS} loads (${set.reason} at ${set.file}); nothing was applied`,
        { policies: options.policiesDir },
      );
    }
    const loaded = set.result;
    if (!loaded.ok) {
      reportPolicyErrors(logger, loaded.errors);
      return exitCodeFor({ command: 'run', end: 'invalid-input' });
    }
    outcomes.policiesLoaded();
    reportWarnings(loaded.warnings, {});

    try {
      const address = await listen(server, options.listen.host, options.listen.port);
      boundAddress = formatAddress(address);
    } catch (error) {
      const code = codeOf(error) ?? 'ListenFailed';
      const text =
        code === 'EADDRINUSE'
          ? `${options.listen.host}:${options.listen.port} is already in use: stop what listens there or pass another --listen`
          : message(error);
      return startFailed(code, text, { listen: `${options.listen.host}:${options.listen.port}` });
    }

    addSignalHandlers();
    report(logger, 'daemon.started', {
      schedule: options.schedule,
      timezone: options.timezone,
      listen: boundAddress,
      mode: options.mode,
      policies: options.policiesDir,
      policyFiles: loaded.files.length,
      passTimeoutSeconds: options.passTimeoutSeconds,
    });

    tick(set);
    try {
      job = deps.scheduler(options.schedule, options.timezone, () => tick());
    } catch (error) {
      // Validated by the CLI, so this is node-cron disagreeing with itself: stop cleanly, not crash.
      report(logger, ['daemon.failed', 'schedule'], { errorCode: 'ScheduleFailed', error: message(error) });
      await stop('schedule-failed');
      return exitCodeFor({ command: 'run', end: 'start-failed' });
    }
    await stopped;
    return exitCodeFor({ command: 'run', end: 'stopped' });
  };

  return { run, stop, address: () => boundAddress, metrics, outcomes };
}
