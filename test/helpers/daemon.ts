// `sg-reconciler run` as a child process for integration tests: its JSON events as they arrive,
// waiting for one, its HTTP endpoints, and its exit. Every daemon started is killed after each test.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { CLI, motoEnv, parseEvents, type Event } from './cli.js';
import { freePort } from './moto.js';

/** A running `sg-reconciler run`, its events as they arrive, and its exit. */
export interface RunningDaemon {
  readonly child: ChildProcess;
  readonly base: string;
  readonly port: number;
  readonly events: Event[];
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  /** Resolves with the first event (from `from` on) the predicate accepts; fails the test after timeoutMs. */
  waitFor(what: string, predicate: (e: Event) => boolean, timeoutMs?: number, from?: number): Promise<Event>;
  get(path: string): Promise<{ status: number; text: string }>;
}

export interface DaemonStart {
  readonly policies: string;
  readonly endpoint: string;
  readonly port?: number;
  readonly extraArgs?: readonly string[];
  /** Extra environment variables (e.g. the daemon's internal test knobs). */
  readonly env?: Record<string, string>;
}

const started: ChildProcess[] = [];

function killStarted(): void {
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

// A test that times out can leave its worker before its own clean-up ran: the worker's exit still
// kills what it started, so no daemon outlives the test run.
process.once('exit', killStarted);

/** Registers the afterEach hook that SIGKILLs every daemon a test left running. */
export function killDaemonsAfterEach(): void {
  afterEach(killStarted);
}

/** Puts a daemon a test spawned itself under the same clean-up as startDaemon's (killDaemonsAfterEach). */
export function killAfterTest(child: ChildProcess): void {
  started.push(child);
}

/** `event` named `name` whose fields equal `fields`. */
export const isEvent =
  (name: string, fields: Record<string, unknown> = {}) =>
  (e: Event): boolean =>
    e.event === name && Object.entries(fields).every(([k, v]) => e[k] === v);

/** Starts `run` with a one-second schedule on a loopback port, against `endpoint`. */
export async function startDaemon(options: DaemonStart): Promise<RunningDaemon> {
  const port = options.port ?? (await freePort());
  const args = [
    CLI,
    'run',
    '--policies',
    options.policies,
    '--endpoint',
    options.endpoint,
    '--region',
    'us-east-1',
    '--listen',
    `127.0.0.1:${port}`,
    '--schedule',
    '*/1 * * * * *',
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, {
    env: motoEnv(options.endpoint, options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const events: Event[] = [];
  let stdout = '';
  let pending = '';
  const waiters = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    events.push(...parseEvents(lines.join('\n')));
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding('utf8').on('data', () => undefined);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      for (const wake of waiters) wake();
      resolve({ code, signal });
    });
  });

  const daemon: RunningDaemon = {
    child,
    base: `http://127.0.0.1:${port}`,
    port,
    events,
    exit,
    stdout: () => stdout,
    waitFor: (what, predicate, timeoutMs = 15_000, from = 0) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.slice(from).find(predicate);
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(
              new Error(
                `the daemon exited (${child.exitCode ?? child.signalCode}) before ${what}; stdout:\n${stdout.slice(-3000)}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stdout:\n${stdout.slice(-3000)}`),
          );
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    get: async (path) => {
      const res = await fetch(`${daemon.base}${path}`);
      return { status: res.status, text: await res.text() };
    },
  };
  return daemon;
}
