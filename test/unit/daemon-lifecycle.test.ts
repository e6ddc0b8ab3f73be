// The daemon's life cycle driven without AWS: a fake pass, a hand-cranked scheduler, a fake process
// for signals, and the real HTTP server on a loopback port.
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../src/logging.js';
import {
  createDaemon,
  PassAbortedError,
  type Daemon,
  type DaemonOptions,
  type DaemonProcess,
  type PassContext,
} from '../../src/daemon/daemon.js';
import type { Scheduler } from '../../src/daemon/schedule.js';
import type { Policy, PolicyError, PolicyLoadResult, PolicySetLoad } from '../../src/model/policy.js';
import type { PassResult } from '../../src/reconcile/types.js';

type Line = Record<string, unknown>;

function capture(level: 'info' | 'debug' = 'info'): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = createLogger({
    level,
    destination: { write: (text: string) => void lines.push(JSON.parse(text) as Line) },
  });
  return { logger, lines };
}

const POLICY: Policy = {
  name: 'office-ssh',
  file: 'office.yaml',
  position: { file: 'office.yaml', line: 1, column: 1 },
  region: 'us-east-1',
  targets: [],
  ruleTags: {},
  rules: [],
};
const VALID: PolicyLoadResult = { ok: true, policies: [POLICY], files: ['office.yaml'], warnings: [] };
const POLICY_ERROR: PolicyError = {
  file: 'office.yaml',
  line: 7,
  column: 9,
  path: 'spec.ingress[0].ports',
  message: 'ports is required for tcp: write e.g. `ports: 22`',
};
const INVALID: PolicyLoadResult = { ok: false, errors: [POLICY_ERROR], files: ['office.yaml'] };
const DIGEST = 'a'.repeat(64);
const CHANGING: PolicySetLoad = {
  kind: 'changing',
  reason: 'links-moved',
  file: '/policies/a.yaml',
  attempts: 3,
  retryAfterMs: undefined,
};
const SETTLING: PolicySetLoad = {
  kind: 'changing',
  reason: 'settling',
  file: '/policies/a.yaml',
  attempts: 1,
  retryAfterMs: 1_200,
};

function completed(context: PassContext): PassResult {
  return {
    status: 'completed',
    runId: context.runId,
    mode: context.mode,
    durationMs: 5,
    plan: { groups: [], unresolved: [], readFailures: [] },
    counts: {
      groups: 1,
      desired: 2,
      missing: 1,
      authorized: 1,
      failed: 0,
      drift: 0,
      descriptionDrift: 0,
      unresolved: 0,
      readFailures: 0,
    },
  };
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

class FakeProcess extends EventEmitter implements DaemonProcess {
  readonly exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
}

/** A pass the test finishes by hand; each call to runPass gets the next one. */
interface PassCall {
  readonly policies: readonly Policy[];
  readonly context: PassContext;
  readonly result: Deferred<PassResult>;
}

interface Harness {
  readonly daemon: Daemon;
  readonly lines: Line[];
  readonly calls: PassCall[];
  readonly loads: string[];
  readonly proc: FakeProcess;
  readonly scheduled: { expression: string; timezone: string }[];
  readonly stops: number[];
  tick(): void;
  /** Result of daemon.run(), started by `start`. */
  exit: Promise<number> | undefined;
  start(): Promise<void>;
  get(path: string): Promise<{ status: number; body: unknown }>;
  /** What the next loads return (or throw); VALID once empty. A PolicyLoadResult is read with DIGEST. */
  policies: (PolicyLoadResult | PolicySetLoad | Error)[];
  /** The start-up waits for a settling directory, in milliseconds. */
  readonly sleeps: number[];
}

const running: Harness[] = [];

afterEach(async () => {
  for (const h of running.splice(0)) {
    for (const call of h.calls) call.result.resolve(completed(call.context));
    await h.daemon.stop('test-cleanup');
  }
});

function harness(overrides: Partial<DaemonOptions> = {}, level: 'info' | 'debug' = 'info'): Harness {
  const { logger, lines } = capture(level);
  const proc = new FakeProcess();
  const calls: PassCall[] = [];
  const loads: string[] = [];
  const scheduled: { expression: string; timezone: string }[] = [];
  const stops: number[] = [];
  let onTick: (() => void) | undefined;
  let runIds = 0;
  const scheduler: Scheduler = (expression, timezone, fn) => {
    scheduled.push({ expression, timezone });
    onTick = fn;
    return { stop: () => void stops.push(Date.now()) };
  };
  const h: Harness = {
    daemon: undefined as unknown as Daemon,
    lines,
    calls,
    loads,
    proc,
    scheduled,
    stops,
    exit: undefined,
    policies: [],
    sleeps: [],
    tick: () => {
      if (onTick === undefined) throw new Error('not scheduled');
      onTick();
    },
    start: async () => {
      h.exit = h.daemon.run();
      const deadline = Date.now() + 5_000;
      while (h.daemon.address() === undefined && Date.now() < deadline) {
        const settled = await Promise.race([
          h.exit.then(() => true),
          new Promise((r) => setTimeout(() => r(false), 5)),
        ]);
        if (settled) return;
      }
    },
    get: async (path) => {
      const res = await fetch(`http://${h.daemon.address() ?? 'nowhere'}${path}`);
      const text = await res.text();
      return {
        status: res.status,
        body: res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text,
      };
    },
  };
  (h as { daemon: Daemon }).daemon = createDaemon(
    {
      policiesDir: '/policies',
      schedule: '*/5 * * * *',
      timezone: 'UTC',
      listen: { host: '127.0.0.1', port: 0 },
      mode: 'apply',
      passTimeoutSeconds: 60,
      shutdownGraceMs: 2_000,
      abortGraceMs: 200,
      ...overrides,
    },
    {
      logger,
      process: proc,
      scheduler,
      newRunId: () => `run-${++runIds}`,
      loadPolicySet: (dir) => {
        loads.push(String(dir));
        const next = h.policies.shift() ?? VALID;
        if (next instanceof Error) return Promise.reject(next);
        return Promise.resolve(
          'kind' in next ? next : { kind: 'read', result: next, digest: DIGEST, version: undefined },
        );
      },
      sleep: (ms) => {
        h.sleeps.push(ms);
        return Promise.resolve();
      },
      runPass: (policies, _files, context) => {
        const call: PassCall = { policies, context, result: deferred<PassResult>() };
        calls.push(call);
        return call.result.promise;
      },
    },
  );
  running.push(h);
  return h;
}

const events = (lines: Line[], name: string): Line[] => lines.filter((l) => l['event'] === name);
const until = async (predicate: () => boolean, what: string, timeoutMs = 3_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};
/** Lets the promise callbacks the daemon queued run. */
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 10));

describe('daemon start-up', () => {
  it('starts: announces itself, serves HTTP, runs a pass at once with the policies it validated, then schedules', async () => {
    const h = harness({ timezone: 'Europe/Berlin', schedule: '*/1 * * * * *' });
    await h.start();

    expect(events(h.lines, 'daemon.started')).toEqual([
      expect.objectContaining({
        schedule: '*/1 * * * * *',
        timezone: 'Europe/Berlin',
        listen: h.daemon.address(),
        mode: 'apply',
        policyFiles: 1,
      }),
    ]);
    expect(h.daemon.address()).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(h.scheduled).toEqual([{ expression: '*/1 * * * * *', timezone: 'Europe/Berlin' }]);
    // The start-up pass reuses the start-up load: the directory is read once so far.
    expect(h.loads).toEqual(['/policies']);
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]?.policies).toEqual([POLICY]);
    expect(h.calls[0]?.context).toMatchObject({ runId: 'run-1', mode: 'apply' });

    expect(await h.get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await h.get('/readyz')).toEqual({
      status: 503,
      body: { ready: false, reason: 'no pass completed yet' },
    });

    h.calls[0]?.result.resolve(completed(h.calls[0].context));
    await settle();
    expect(await h.get('/readyz')).toEqual({ status: 200, body: { ready: true } });
  });

  it('exits 3 with one policy.invalid event per error when the policies are invalid at start-up', async () => {
    const h = harness();
    h.policies.push({
      ...INVALID,
      errors: [POLICY_ERROR, { ...POLICY_ERROR, line: 9, path: 'spec.targets' }],
    });
    await h.start();

    expect(await h.exit).toBe(3);
    expect(events(h.lines, 'policy.invalid')).toEqual([
      expect.objectContaining({
        file: 'office.yaml',
        line: 7,
        column: 9,
        path: 'spec.ingress[0].ports',
        error: POLICY_ERROR.message,
      }),
      expect.objectContaining({ file: 'office.yaml', line: 9, column: 9, path: 'spec.targets' }),
    ]);
    // The last event says the daemon did not start, and with which exit code.
    expect(h.lines.at(-1)).toMatchObject({
      event: 'daemon.failed',
      level: 'error',
      errorCode: 'InvalidPolicies',
      errors: 2,
      exitCode: 3,
      msg: 'the daemon could not start',
    });
    expect(h.calls).toEqual([]);
    expect(h.daemon.address()).toBeUndefined();
  });

  it('exits 1 with a clear event when the listen address is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const h = harness({ listen: { host: '127.0.0.1', port } });
      await h.start();
      expect(await h.exit).toBe(1);
      expect(events(h.lines, 'daemon.failed')).toEqual([
        expect.objectContaining({
          errorCode: 'EADDRINUSE',
          listen: `127.0.0.1:${port}`,
          error: expect.stringContaining('already in use'),
          exitCode: 1,
        }),
      ]);
      expect(h.lines.at(-1)).toMatchObject({ event: 'daemon.failed' });
      expect(h.calls).toEqual([]);
      expect(h.proc.listenerCount('SIGINT')).toBe(0);
    } finally {
      blocker.close();
    }
  });
});

describe('daemon passes', () => {
  it('skips a tick while a pass runs (overlap) and starts the next pass after it', async () => {
    const h = harness();
    await h.start();
    h.tick();
    h.tick();

    expect(h.calls).toHaveLength(1);
    expect(events(h.lines, 'reconcile.skipped')).toEqual([
      expect.objectContaining({ reason: 'overlap', runId: 'run-2', inFlightRunId: 'run-1' }),
      expect.objectContaining({ reason: 'overlap', runId: 'run-3', inFlightRunId: 'run-1' }),
    ]);

    h.calls[0]?.result.resolve(completed(h.calls[0].context));
    await settle();
    h.tick();
    await until(() => h.calls.length === 2, 'the second pass');
    expect(h.calls[1]?.context.runId).toBe('run-4');
    const metrics = (await h.get('/metrics')).body as string;
    expect(metrics).toContain('sgr_passes_total{result="skipped_overlap"} 2');
    expect(metrics).toContain('sgr_passes_total{result="completed"} 1');
    expect(metrics).toContain('sgr_pass_in_progress 1');
  });

  it('re-reads the policies for every scheduled pass; an invalid set skips the pass, keeps serving, and a fix is picked up', async () => {
    const h = harness();
    await h.start();
    h.calls[0]?.result.resolve(completed(h.calls[0].context));
    await settle();

    h.policies.push(INVALID);
    h.tick();
    await until(() => events(h.lines, 'reconcile.skipped').length === 1, 'the skip');
    expect(h.loads).toEqual(['/policies', '/policies']);
    expect(h.calls).toHaveLength(1);
    expect(events(h.lines, 'policy.invalid')).toEqual([
      expect.objectContaining({
        runId: 'run-2',
        file: 'office.yaml',
        line: 7,
        path: 'spec.ingress[0].ports',
      }),
    ]);
    expect(events(h.lines, 'reconcile.skipped')).toEqual([
      expect.objectContaining({ runId: 'run-2', reason: 'invalid-policies', errors: 1 }),
    ]);
    // A skipped pass is not a failed one: still ready; the invalid set shows in the metrics.
    expect(await h.get('/readyz')).toEqual({ status: 200, body: { ready: true } });
    let metrics = (await h.get('/metrics')).body as string;
    expect(metrics).toContain('sgr_policy_set_valid 0');
    expect(metrics).toContain('sgr_passes_total{result="skipped_invalid"} 1');
    expect(metrics).toContain('sgr_pass_in_progress 0');

    h.tick();
    await until(() => h.calls.length === 2, 'the pass after the fix');
    h.calls[1]?.result.resolve(completed(h.calls[1].context));
    await settle();
    metrics = (await h.get('/metrics')).body as string;
    expect(metrics).toContain('sgr_policy_set_valid 1');
    expect(metrics).toContain('sgr_passes_total{result="completed"} 2');
  });

  it('reports the errors of a set that stays invalid once (error, change: appeared), then still at error but marked unchanged (SPEC: one policy.invalid per error on every invalid pass), counted on the skip; a fix forgets them', async () => {
    const h = harness({}, 'debug');
    await h.start();
    h.calls[0]?.result.resolve(completed(h.calls[0].context));
    await settle();
    const other: PolicyError = { ...POLICY_ERROR, line: 12, message: 'cidr has host bits set' };
    // The same error edited elsewhere in the file is another error: its position is part of it.
    const moved: PolicyError = { ...POLICY_ERROR, line: 8 };
    h.policies.push(
      INVALID,
      INVALID,
      CHANGING,
      { ...INVALID, errors: [POLICY_ERROR, other] },
      { ...INVALID, errors: [moved, other] },
      VALID,
      INVALID,
    );
    const skip = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        const before = events(h.lines, 'reconcile.skipped').length;
        h.tick();
        await until(() => events(h.lines, 'reconcile.skipped').length > before, 'a skip');
      }
    };
    const invalidOf = (runId: string): [unknown, unknown, unknown][] =>
      events(h.lines, 'policy.invalid')
        .filter((l) => l['runId'] === runId)
        .map((l) => [l['line'], l['level'], l['change']]);
    const skippedOf = (runId: string): Line | undefined =>
      events(h.lines, 'reconcile.skipped').find((l) => l['runId'] === runId);

    await skip(4);
    expect(invalidOf('run-2')).toEqual([[7, 'error', 'appeared']]);
    expect(skippedOf('run-2')).toMatchObject({ errors: 1, errorsUnchanged: 0 });
    // The next pass finds the same set invalid the same way: still an error (the message says unchanged), counted on the skip.
    expect(invalidOf('run-3')).toEqual([[7, 'error', 'unchanged']]);
    expect(skippedOf('run-3')).toMatchObject({ level: 'error', errors: 1, errorsUnchanged: 1 });
    // A deferred load (files changing) says nothing about the errors and forgets none.
    expect(skippedOf('run-4')).toMatchObject({ reason: 'policies-changing' });
    expect(invalidOf('run-5')).toEqual([
      [7, 'error', 'unchanged'],
      [12, 'error', 'appeared'],
    ]);
    expect(skippedOf('run-5')).toMatchObject({ errors: 2, errorsUnchanged: 1 });

    await skip(1);
    expect(invalidOf('run-6')).toEqual([
      [8, 'error', 'appeared'],
      [12, 'error', 'unchanged'],
    ]);

    // Fixed: a pass runs, and the errors are forgotten; made again, they are news again.
    h.tick();
    await until(() => h.calls.length === 2, 'the pass after the fix');
    h.calls[1]?.result.resolve(completed(h.calls[1].context));
    await settle();
    await skip(1);
    expect(invalidOf('run-8')).toEqual([[7, 'error', 'appeared']]);
    expect(skippedOf('run-8')).toMatchObject({ errors: 1, errorsUnchanged: 0 });
    // Every skip still counts as one, and the set is still invalid in the metrics.
    const metrics = (await h.get('/metrics')).body as string;
    expect(metrics).toContain('sgr_passes_total{result="skipped_invalid"} 5');
    expect(metrics).toContain('sgr_policy_set_valid 0');
  });

  it('defers a pass while the policy directory is changing: reconcile.skipped policies-changing, nothing run, still ready', async () => {
    const h = harness();
    await h.start();
    expect(h.calls[0]?.context).toMatchObject({ policySetDigest: DIGEST, policyVersion: undefined });
    h.calls[0]?.result.resolve(completed(h.calls[0].context));
    await settle();

    h.policies.push(CHANGING);
    h.tick();
    await until(() => events(h.lines, 'reconcile.skipped').length === 1, 'the deferral');
    expect(h.calls).toHaveLength(1);
    expect(events(h.lines, 'reconcile.skipped')).toEqual([
      expect.objectContaining({
        level: 'warn',
        runId: 'run-2',
        reason: 'policies-changing',
        change: 'links-moved',
        file: '/policies/a.yaml',
        attempts: 3,
      }),
    ]);
    expect(await h.get('/readyz')).toEqual({ status: 200, body: { ready: true } });
    const metrics = (await h.get('/metrics')).body as string;
    expect(metrics).toContain('sgr_passes_total{result="skipped_changing"} 1');
    expect(metrics).toContain('sgr_policy_set_valid 1');
    expect(metrics).toContain('sgr_pass_in_progress 0');

    h.policies.push({
      kind: 'read',
      result: VALID,
      digest: 'b'.repeat(64),
      version: '..2026_11_30_06_00_00.1',
    });
    h.tick();
    await until(() => h.calls.length === 2, 'the next pass');
    expect(h.calls[1]?.context).toMatchObject({
      policySetDigest: 'b'.repeat(64),
      policyVersion: '..2026_11_30_06_00_00.1',
    });
  });

  it('waits at start-up while the policy directory settles, then starts', async () => {
    const h = harness();
    h.policies.push(SETTLING, SETTLING);
    await h.start();

    expect(h.loads).toHaveLength(3);
    expect(h.sleeps).toEqual([1_200, 1_200]);
    expect(events(h.lines, 'daemon.started')).toHaveLength(1);
    expect(h.calls).toHaveLength(1);
  });

  it('exits 1 when the policy directory never holds still at start-up', async () => {
    const h = harness();
    h.policies.push(...Array.from({ length: 10 }, () => CHANGING));
    await h.start();

    expect(await h.exit).toBe(1);
    expect(h.loads).toHaveLength(10);
    expect(events(h.lines, 'daemon.failed')).toEqual([
      expect.objectContaining({ errorCode: 'PoliciesChanging', policies: '/policies', exitCode: 1 }),
    ]);
    expect(events(h.lines, 'daemon.started')).toEqual([]);
    expect(h.calls).toEqual([]);
  });

  it('reports policy warnings at start-up and again only when they change', async () => {
    const h = harness();
    const warned = (messages: string[]): PolicyLoadResult => ({
      ...VALID,
      warnings: messages.map((message) => ({ message })),
    });
    h.policies.push(warned(['a.yaml: skipped, this file was already read under another path']));
    h.policies.push(warned(['a.yaml: skipped, this file was already read under another path']));
    h.policies.push(warned([]));
    await h.start();
    for (let pass = 0; pass < 2; pass++) {
      h.calls[pass]?.result.resolve(completed(h.calls[pass]!.context));
      await settle();
      h.tick();
      await until(() => h.calls.length === pass + 2, 'the next pass');
    }

    expect(h.loads).toHaveLength(3);
    expect(events(h.lines, 'policy.warning')).toEqual([
      expect.objectContaining({
        level: 'warn',
        warning: 'a.yaml: skipped, this file was already read under another path',
      }),
    ]);
  });

  it('fails only the pass when it throws: reconcile.failed InternalError, not ready, and the next pass runs', async () => {
    const h = harness();
    await h.start();
    h.calls[0]?.result.reject(new TypeError('cannot read properties of undefined'));
    await settle();

    expect(events(h.lines, 'reconcile.failed')).toEqual([
      expect.objectContaining({
        runId: 'run-1',
        errorCode: 'InternalError',
        error: 'cannot read properties of undefined',
        mode: 'apply',
      }),
    ]);
    expect(await h.get('/readyz')).toEqual({
      status: 503,
      body: { ready: false, reason: 'last pass failed: InternalError' },
    });

    h.tick();
    await until(() => h.calls.length === 2, 'the next pass');
    h.calls[1]?.result.resolve(completed(h.calls[1].context));
    await settle();
    expect(await h.get('/readyz')).toEqual({ status: 200, body: { ready: true } });
  });

  it('fails only the pass when loading the policies throws', async () => {
    const h = harness();
    await h.start();
    h.calls[0]?.result.resolve(completed(h.calls[0].context));
    await settle();
    h.policies.push(new Error('EACCES: permission denied, scandir /policies'));
    h.tick();
    await until(() => events(h.lines, 'reconcile.failed').length === 1, 'the failure');
    expect(events(h.lines, 'reconcile.failed')[0]).toMatchObject({
      runId: 'run-2',
      errorCode: 'InternalError',
      error: 'EACCES: permission denied, scandir /policies',
    });
    expect(h.calls).toHaveLength(1);
  });

  it('takes a failed result as not ready without reporting the failure a second time', async () => {
    const h = harness();
    await h.start();
    const context = h.calls[0]!.context;
    h.calls[0]?.result.resolve({
      status: 'failed',
      runId: context.runId,
      mode: 'apply',
      durationMs: 3,
      errorCode: 'AuthFailure',
      error: 'bad credentials',
    });
    await settle();
    expect(await h.get('/readyz')).toEqual({
      status: 503,
      body: { ready: false, reason: 'last pass failed: AuthFailure' },
    });
    expect(events(h.lines, 'reconcile.failed')).toEqual([]);
    expect((await h.get('/metrics')).body).toContain('sgr_passes_total{result="failed"} 1');
  });

  it('aborts a pass that outlives --pass-timeout through its AbortSignal', async () => {
    const h = harness({ passTimeoutSeconds: 0.05 });
    await h.start();
    const call = h.calls[0]!;
    const reasons: unknown[] = [];
    call.context.signal.addEventListener('abort', () => {
      reasons.push(call.context.signal.reason);
      call.result.resolve({
        status: 'failed',
        runId: call.context.runId,
        mode: 'apply',
        durationMs: 50,
        errorCode: 'AbortError',
        error: 'aborted',
      });
    });
    await until(() => reasons.length === 1, 'the abort');

    expect(reasons[0]).toBeInstanceOf(PassAbortedError);
    expect(reasons[0]).toMatchObject({ code: 'PassTimeout', name: 'TimeoutError' });
    expect(events(h.lines, 'daemon.warning')).toEqual([
      expect.objectContaining({ runId: 'run-1', reason: 'pass-timeout', passTimeoutSeconds: 0.05 }),
    ]);
    await settle();
    expect(await h.get('/readyz')).toEqual({
      status: 503,
      body: { ready: false, reason: 'last pass failed: AbortError' },
    });
  });

  it('fails a pass that ignores its abort, and still runs no second pass until it has really stopped', async () => {
    const h = harness({ passTimeoutSeconds: 0.05, abortGraceMs: 50 });
    await h.start();
    await until(() => events(h.lines, 'reconcile.failed').length === 1, 'the give-up');
    expect(events(h.lines, 'reconcile.failed')[0]).toMatchObject({
      runId: 'run-1',
      errorCode: 'PassTimeout',
    });
    expect(await h.get('/readyz')).toEqual({
      status: 503,
      body: { ready: false, reason: 'last pass failed: PassTimeout' },
    });

    h.tick();
    expect(h.calls).toHaveLength(1);
    expect(events(h.lines, 'reconcile.skipped')).toEqual([
      expect.objectContaining({ reason: 'overlap', inFlightRunId: 'run-1' }),
    ]);

    h.calls[0]?.result.resolve(completed(h.calls[0].context));
    await settle();
    h.tick();
    await until(() => h.calls.length === 2, 'the next pass');
  });
});

describe('daemon stop', () => {
  it('on SIGTERM stops scheduling, closes HTTP, lets the pass in flight finish, then exits 0 and removes its listeners', async () => {
    const h = harness();
    await h.start();
    expect(h.proc.listenerCount('SIGTERM')).toBe(1);
    expect(h.proc.listenerCount('SIGINT')).toBe(1);
    const address = h.daemon.address();

    h.proc.emit('SIGTERM', 'SIGTERM');
    await settle();
    expect(h.stops).toHaveLength(1);
    expect(events(h.lines, 'daemon.stopping')).toEqual([
      expect.objectContaining({ signal: 'SIGTERM', inFlightRunId: 'run-1' }),
    ]);
    expect(events(h.lines, 'daemon.stopped')).toEqual([]);
    // SPEC "The daemon": while it drains, the HTTP server still answers.
    expect(await h.get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await h.get('/readyz')).toEqual({ status: 503, body: { ready: false, reason: 'shutting down' } });
    let exited = false;
    void h.exit?.then(() => (exited = true));
    await settle();
    expect(exited).toBe(false);
    // A tick that was already queued starts nothing.
    h.tick();
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]?.context.signal.aborted).toBe(false);

    h.calls[0]?.result.resolve(completed(h.calls[0].context));
    expect(await h.exit).toBe(0);
    expect(events(h.lines, 'daemon.stopped')).toEqual([
      expect.objectContaining({ signal: 'SIGTERM', exitCode: 0 }),
    ]);
    // Closed once stopped.
    await expect(fetch(`http://${address}/healthz`)).rejects.toThrow();
    expect(h.proc.listenerCount('SIGTERM')).toBe(0);
    expect(h.proc.listenerCount('SIGINT')).toBe(0);
    expect(h.proc.listenerCount('SIGHUP')).toBe(0);
    expect(h.proc.exits).toEqual([]);
  });

  it('aborts the pass in flight once the grace period is over, and still exits 0', async () => {
    const h = harness({ shutdownGraceMs: 50 });
    await h.start();
    const call = h.calls[0]!;
    call.context.signal.addEventListener('abort', () => {
      call.result.resolve({
        status: 'failed',
        runId: call.context.runId,
        mode: 'apply',
        durationMs: 60,
        errorCode: 'AbortError',
        error: 'aborted',
      });
    });
    h.proc.emit('SIGINT', 'SIGINT');

    expect(await h.exit).toBe(0);
    expect(call.context.signal.reason).toMatchObject({ code: 'ShuttingDown' });
    expect(events(h.lines, 'daemon.warning')).toEqual([
      expect.objectContaining({ reason: 'shutdown-grace-expired', runId: 'run-1' }),
    ]);
    expect(events(h.lines, 'daemon.stopped')).toEqual([
      expect.objectContaining({ signal: 'SIGINT', exitCode: 0 }),
    ]);
  });

  it('on SIGHUP runs a pass now with the policies re-read, logs it, and keeps running', async () => {
    const h = harness();
    await h.start();
    expect(h.proc.listenerCount('SIGHUP')).toBe(1);
    h.calls[0]?.result.resolve(completed(h.calls[0].context));
    await settle();

    h.proc.emit('SIGHUP', 'SIGHUP');
    await until(() => h.calls.length === 2, 'the pass SIGHUP asked for');

    expect(h.loads).toHaveLength(2);
    expect(events(h.lines, 'daemon.reload')).toEqual([
      expect.objectContaining({ level: 'info', signal: 'SIGHUP', stopping: false }),
    ]);
    // A SIGHUP during a pass is an overlap skip, as a tick would be; the process never exits.
    h.proc.emit('SIGHUP', 'SIGHUP');
    await until(() => events(h.lines, 'reconcile.skipped').length === 1, 'the overlap skip');
    expect(events(h.lines, 'reconcile.skipped')[0]).toMatchObject({
      reason: 'overlap',
      inFlightRunId: 'run-2',
    });
    expect(h.proc.exits).toEqual([]);
    expect(events(h.lines, 'daemon.stopping')).toEqual([]);
  });

  it('exits at once on a second signal: 143 for SIGTERM, 130 for SIGINT', async () => {
    for (const [signal, code] of [
      ['SIGTERM', 143],
      ['SIGINT', 130],
    ] as const) {
      const h = harness();
      await h.start();
      h.proc.emit(signal, signal);
      await settle();
      h.proc.emit(signal, signal);
      expect(h.proc.exits).toEqual([code]);
      expect(events(h.lines, 'daemon.stopped')).toEqual([
        expect.objectContaining({ forced: true, exitCode: code, inFlightRunId: 'run-1' }),
      ]);
      expect(h.proc.listenerCount('SIGTERM')).toBe(0);
    }
  });

  it('stops at once when no pass is running', async () => {
    const h = harness();
    await h.start();
    h.calls[0]?.result.resolve(completed(h.calls[0].context));
    await settle();
    const started = Date.now();
    h.proc.emit('SIGTERM', 'SIGTERM');
    expect(await h.exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(events(h.lines, 'daemon.stopping')[0]).not.toHaveProperty('inFlightRunId');
  });
});
