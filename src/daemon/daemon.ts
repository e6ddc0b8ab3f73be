// The daemon's process life cycle: start-up checks, the HTTP server, the schedule, signals, and a
// graceful stop on SIGTERM/SIGINT. The passes themselves (single flight, timeout, re-reading the
// policies) are the pass runner's (pass-runner.ts). Everything it talks to is passed in, so tests
// drive it with a fake pass, a hand-cranked scheduler and a fake process.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { report } from '../events.js';
import { exitCodeFor } from '../exit-codes.js';
import { reportPolicyErrors, type Logger } from '../logging.js';
import type { PolicySetLoad } from '../model/policy.js';
import type { PassMode } from '../reconcile/types.js';
import { closeServer, createHealthServer, formatAddress, listen, type HttpLimits } from './http.js';
import { createDaemonMetrics, type DaemonMetrics } from './metrics.js';
import { createOutcomeHandler, type OutcomeHandler } from './outcome.js';
import {
  createPassRunner,
  PassAbortedError,
  type InFlight,
  type PassRunner,
  type ReadSet,
  type RunPass,
} from './pass-runner.js';
import type { ScheduledJob, Scheduler } from './schedule.js';
import { counted } from '../text.js';

export { classifyDaemonAbort, PassAbortedError, type PassContext, type RunPass } from './pass-runner.js';

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

/** The daemon's options, already parsed and checked by the CLI (a valid cron expression and zone, a positive timeout). */
export interface DaemonOptions {
  /** The --policies paths (directories or files), re-read at the start of every pass. */
  readonly policiesDir: string | readonly string[];
  readonly schedule: string;
  readonly timezone: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly mode: PassMode;
  readonly passTimeoutSeconds: number;
  /** `--update-descriptions` (reported on daemon.started; the passes are bound to it by runDaemon). */
  readonly updateDescriptions?: boolean;
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

/** The daemon's handle: run it, stop it, and what tests and the CLI read from it. */
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

/**
 * True when `work` settles within `ms` milliseconds, false when the time runs out first (`work` runs
 * on either way). The timer is cancelled as soon as the race is decided, so it holds no process open.
 */
async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([work.then(() => true), delay(ms, false, { signal: timer.signal })]);
  } finally {
    timer.abort();
  }
}

/** Loads tried at start-up while the policy directory settles (about 2 s apart at most). */
const STARTUP_SETTLE_ATTEMPTS = 10;

/** What the life cycle's parts share: the wiring, and the state that run, stop and signals change. */
interface Lifecycle {
  readonly options: DaemonOptions;
  readonly deps: DaemonDeps;
  readonly logger: Logger;
  readonly proc: DaemonProcess;
  readonly now: () => number;
  readonly shutdownGraceMs: number;
  readonly abortGraceMs: number;
  readonly outcomes: OutcomeHandler;
  readonly runner: PassRunner;
  readonly server: Server;
  boundAddress: string | undefined;
  job: ScheduledJob | undefined;
  /** Set by the first stop; later stops (and a second signal) see it. */
  stopping: Promise<void> | undefined;
  /** Settles once stop has finished: run() resolves then. */
  readonly stopped: Promise<void>;
  resolveStopped: () => void;
  removeSignalHandlers: () => void;
}

/**
 * The daemon: nothing happens until run(). run() loads and checks the policies, listens, installs
 * the signal handlers, starts a pass at once and then one per tick of the schedule, until stop()
 * (or SIGTERM/SIGINT); it resolves with the exit code (exitCodeFor, command `run`).
 */
export function createDaemon(options: DaemonOptions, deps: DaemonDeps): Daemon {
  const logger = deps.logger;
  const now = deps.now ?? Date.now;
  const abortGraceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;
  const metrics = deps.metrics ?? createDaemonMetrics();
  const outcomes = createOutcomeHandler({ metrics, logger, mode: options.mode, now });
  const runner = createPassRunner(
    {
      policiesDir: options.policiesDir,
      mode: options.mode,
      passTimeoutSeconds: options.passTimeoutSeconds,
      abortGraceMs,
    },
    {
      logger,
      loadPolicySet: deps.loadPolicySet,
      runPass: deps.runPass,
      outcomes,
      now,
      newRunId: deps.newRunId ?? randomUUID,
    },
  );
  const server = createHealthServer({
    ...(options.httpLimits !== undefined ? { limits: options.httpLimits } : {}),
    readiness: outcomes.readiness,
    registry: metrics.registry,
    logger,
  });
  let resolveStopped = (): void => undefined;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  const life: Lifecycle = {
    options,
    deps,
    logger,
    proc: deps.process ?? process,
    now,
    shutdownGraceMs: options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
    abortGraceMs,
    outcomes,
    runner,
    server,
    boundAddress: undefined,
    job: undefined,
    stopping: undefined,
    stopped,
    resolveStopped,
    removeSignalHandlers: () => undefined,
  };
  return {
    run: () => runLifecycle(life),
    stop: (reason) => stopDaemon(life, reason),
    address: () => life.boundAddress,
    metrics,
    outcomes,
  };
}

/** Installs SIGTERM/SIGINT (stop; a second one exits at once) and SIGHUP (reconcile now); returns their removal. */
function installSignalHandlers(life: Lifecycle): () => void {
  const { logger, proc, runner } = life;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (life.stopping === undefined) {
      void stopDaemon(life, signal);
      return;
    }
    // controller-runtime's signals handler: the first signal stops gracefully, the second exits.
    const code = exitCodeFor({ command: 'run', end: 'forced', signal });
    report(logger, ['daemon.stopped', 'forced'], {
      signal,
      forced: true,
      exitCode: code,
      inFlightRunId: runner.inFlight()?.runId,
    });
    remove();
    proc.exit(code);
  };
  // SIGHUP: reconcile now, with the policies re-read, as other daemons reload on SIGHUP. It never
  // stops the process; the usual rules hold (a pass in flight makes it an overlap skip; none while stopping).
  const onHangup = (signal: NodeJS.Signals): void => {
    report(logger, 'daemon.reload', {
      signal,
      inFlightRunId: runner.inFlight()?.runId,
      stopping: life.stopping !== undefined,
    });
    runner.tick();
  };
  const remove = (): void => {
    for (const signal of SIGNALS) proc.off(signal, onSignal);
    proc.off('SIGHUP', onHangup);
  };
  for (const signal of SIGNALS) proc.on(signal, onSignal);
  proc.on('SIGHUP', onHangup);
  return remove;
}

/**
 * The graceful stop (the first SIGTERM/SIGINT): no more passes, the one in flight gets
 * `shutdownGraceMs` and is then aborted, the HTTP server drains, daemon.stopped with the `exitCode`
 * the process ends with (0 after a signal). Idempotent.
 */
function stopDaemon(
  life: Lifecycle,
  reason = 'stop',
  exitCode = exitCodeFor({ command: 'run', end: 'stopped' }),
): Promise<void> {
  if (life.stopping !== undefined) return life.stopping;
  life.stopping = (async () => {
    const startedAt = life.now();
    life.outcomes.shuttingDown();
    life.runner.close();
    life.job?.stop();
    life.job = undefined;
    const pass = life.runner.inFlight();
    report(life.logger, ['daemon.stopping', pass === undefined ? 'idle' : 'in-flight'], {
      signal: reason,
      inFlightRunId: pass?.runId,
      graceMs: life.shutdownGraceMs,
    });
    const abandoned = pass !== undefined && !(await drainPass(life, pass));
    // The listener stayed open through the drain (/healthz 200, /readyz 503 `shutting down`).
    // Connections still open (a slow scrape) get a moment more; then they are cut.
    const closed = closeServer(life.server);
    await settlesWithin(closed, 1000);
    life.server.closeAllConnections();
    await closed;
    life.removeSignalHandlers();
    report(life.logger, ['daemon.stopped', 'graceful'], {
      signal: reason,
      durationMs: Math.max(0, life.now() - startedAt),
      abandonedRunId: abandoned ? pass.runId : undefined,
      exitCode,
    });
    life.resolveStopped();
  })();
  return life.stopping;
}

/** Waits out the shutdown grace, then aborts the pass; false when it still had not settled after that. */
async function drainPass(life: Lifecycle, pass: InFlight): Promise<boolean> {
  if (await settlesWithin(pass.done, life.shutdownGraceMs)) return true;
  report(life.logger, ['daemon.warning', 'shutdown-grace-expired'], {
    runId: pass.runId,
    reason: 'shutdown-grace-expired',
    graceMs: life.shutdownGraceMs,
  });
  pass.controller.abort(
    new PassAbortedError(
      'ShuttingDown',
      `the daemon is stopping and the pass outlived the ${life.shutdownGraceMs} ms grace period`,
    ),
  );
  return settlesWithin(pass.done, life.abortGraceMs + 1000);
}

/**
 * The start-up load: a directory still settling (just written, or swapped while read) is waited
 * for, a bounded number of times, since start-up must say whether the set is valid.
 */
async function loadSettled(life: Lifecycle): Promise<PolicySetLoad> {
  const { deps, options } = life;
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  let set = await deps.loadPolicySet(options.policiesDir);
  for (let attempt = 1; set.kind === 'changing' && attempt < STARTUP_SETTLE_ATTEMPTS; attempt++) {
    await sleep(Math.min(Math.max(set.retryAfterMs ?? 0, 100), 2_000));
    set = await deps.loadPolicySet(options.policiesDir);
  }
  return set;
}

/** Why a daemon could not start: invalid input (policies, options; exit 3) or anything else (exit 1). */
export type StartFailure = 'invalid-input' | 'start-failed';

/**
 * The last event of a daemon that could not start (`daemon.failed`, variant start-up, with
 * `errorCode`, `error` and the `exitCode` it ends with, from exitCodeFor); returns that exit code.
 * The CLI's start-up checks (inventory file, region) end the same way.
 */
export function reportStartFailure(
  logger: Logger,
  end: StartFailure,
  failure: { readonly errorCode: string; readonly error: string },
  fields: object = {},
): number {
  const exitCode = exitCodeFor({ command: 'run', end });
  report(logger, ['daemon.failed', 'start-up'], { ...failure, ...fields, exitCode });
  return exitCode;
}

/** daemon.failed (start-up) and the exit code of a daemon that could not start (exit 1). */
function startFailed(life: Lifecycle, errorCode: string, error: string, fields: object): number {
  return reportStartFailure(life.logger, 'start-failed', { errorCode, error }, fields);
}

/** A set that was read and is valid. */
interface ValidSet {
  readonly set: ReadSet;
  readonly loaded: Extract<ReadSet['result'], { ok: true }>;
}

/** The start-up policy load and check: the valid set, or the exit code to end with. */
async function loadAtStartUp(life: Lifecycle): Promise<ValidSet | number> {
  const { options } = life;
  let set: PolicySetLoad;
  try {
    set = await loadSettled(life);
  } catch (error) {
    return startFailed(life, 'InternalError', message(error), { policies: options.policiesDir });
  }
  if (set.kind === 'changing') {
    return startFailed(
      life,
      'PoliciesChanging',
      `the policy directory did not hold still for ${STARTUP_SETTLE_ATTEMPTS} loads (${set.reason} at ${set.file}); nothing was applied`,
      { policies: options.policiesDir },
    );
  }
  if (!set.result.ok) {
    const { errors } = set.result;
    reportPolicyErrors(life.logger, errors);
    return reportStartFailure(
      life.logger,
      'invalid-input',
      {
        errorCode: 'InvalidPolicies',
        error: `${counted(errors.length, 'error')} in the policies (policy.invalid events); fix them and start again`,
      },
      { policies: options.policiesDir, errors: errors.length },
    );
  }
  return { set, loaded: set.result };
}

/** Binds the HTTP listener; undefined when listening, else the exit code after daemon.failed. */
async function listenAtStartUp(life: Lifecycle): Promise<number | undefined> {
  const { host, port } = life.options.listen;
  try {
    life.boundAddress = formatAddress(await listen(life.server, host, port));
    return undefined;
  } catch (error) {
    const code = codeOf(error) ?? 'ListenFailed';
    const advice: Readonly<Record<string, string>> = {
      EADDRINUSE: `${host}:${port} is already in use: stop what listens there or pass another --listen`,
      EADDRNOTAVAIL: `${host} is not an address of this host: pass --listen with one of its addresses, or 0.0.0.0:${port} (every address), 127.0.0.1:${port} (this host only)`,
      EACCES: `permission denied to listen on ${host}:${port}: a port below 1024 needs privileges; pass --listen with a port of 1024 or more`,
    };
    const text = advice[code] ?? message(error);
    return startFailed(life, code, text, { listen: `${host}:${port}` });
  }
}

/** run(): start-up checks, then serve until stopped. */
async function runLifecycle(life: Lifecycle): Promise<number> {
  // The options were parsed and checked once, by the CLI (cli/options.ts).
  const { options, logger, outcomes, runner } = life;
  const start = await loadAtStartUp(life);
  if (typeof start === 'number') return start;
  outcomes.policiesLoaded();
  runner.reportWarnings(start.loaded.warnings, {});
  const listenFailure = await listenAtStartUp(life);
  if (listenFailure !== undefined) return listenFailure;

  life.removeSignalHandlers = installSignalHandlers(life);
  report(logger, 'daemon.started', {
    schedule: options.schedule,
    timezone: options.timezone,
    listen: life.boundAddress,
    mode: options.mode,
    policies: options.policiesDir,
    policyFiles: start.loaded.files.length,
    passTimeoutSeconds: options.passTimeoutSeconds,
    updateDescriptions: options.updateDescriptions === true,
  });

  runner.tick(start.set);
  try {
    life.job = life.deps.scheduler(options.schedule, options.timezone, () => runner.tick());
  } catch (error) {
    // Validated by the CLI, so this is node-cron disagreeing with itself: stop cleanly, not crash.
    const exitCode = exitCodeFor({ command: 'run', end: 'start-failed' });
    report(logger, ['daemon.failed', 'schedule'], {
      errorCode: 'ScheduleFailed',
      error: message(error),
      exitCode,
    });
    await stopDaemon(life, 'schedule-failed', exitCode);
    return exitCode;
  }
  await life.stopped;
  return exitCodeFor({ command: 'run', end: 'stopped' });
}
