// Faults between the built CLI / daemon and EC2 (issue 5, "Faults"): moto_server behind the fault
// proxy (test/helpers/fault-proxy.ts). Throttling, failing reads, a dead endpoint, connection resets
// and slow answers must never lose a rule, duplicate one, or turn a failed read into "no groups".
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CLI,
  ROOT,
  eventsNamed,
  motoEnv,
  parseEvents,
  runCli,
  writePolicies,
  type Event,
} from '../helpers/cli.js';
import { killAfterTest, killDaemonsAfterEach } from '../helpers/daemon.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import {
  createGroup,
  defaultVpcId,
  freePort,
  listIngressRules,
  startMoto,
  type MotoServer,
} from '../helpers/moto.js';

const AUTHORIZE = 'AuthorizeSecurityGroupIngress';
const DESCRIBE_GROUPS = 'DescribeSecurityGroups';

let moto: MotoServer;
let ec2: EC2Client;
let vpcId: string;
let proxy: FaultProxy;
killDaemonsAfterEach();
let groupSeq = 0;

beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto.stop();
});
beforeEach(async () => {
  await moto.reset();
  ec2 = moto.ec2('us-east-1');
  vpcId = await defaultVpcId(ec2);
  proxy = await startFaultProxy(moto.endpoint);
});
afterEach(async () => {
  await proxy.stop();
});

/** One desired rule: tcp `port` from `cidr`. */
interface WantedRule {
  readonly port: number;
  readonly cidr: string;
}

interface Fixture {
  readonly dir: string;
  /** groupId -> the rules its policy wants. */
  readonly groups: ReadonlyMap<string, readonly WantedRule[]>;
}

const RULES: readonly WantedRule[] = [
  { port: 22, cidr: '203.0.113.0/24' },
  { port: 443, cidr: '198.51.100.0/24' },
  { port: 8080, cidr: '192.0.2.0/24' },
];

/**
 * `count` new groups, each with a policy of its own wanting `rules` (the first group targeted by ID,
 * the others by a tag, so both read paths are exercised).
 */
async function fixture(count: number, rules: readonly WantedRule[] = RULES): Promise<Fixture> {
  const groups = new Map<string, readonly WantedRule[]>();
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const name = `faults-${++groupSeq}`;
    const groupId = await createGroup(ec2, { name, vpcId, tags: { fixture: name } });
    groups.set(groupId, rules);
    const target = i === 0 ? `groupId: ${groupId}` : `tags: { fixture: ${name} }`;
    files[`${name}.yaml`] = [
      'apiVersion: sg-reconciler/v1',
      'kind: IngressPolicy',
      'metadata:',
      `  name: ${name}`,
      'spec:',
      '  region: us-east-1',
      '  targets:',
      `    - ${target}`,
      '  ingress:',
      ...rules.flatMap((rule) => [
        '    - protocol: tcp',
        `      ports: ${rule.port}`,
        `      description: port ${rule.port}`,
        `      sources: [{ cidr: ${rule.cidr} }]`,
      ]),
      '',
    ].join('\n');
  }
  return { dir: await writePolicies(files), groups };
}

const ruleKey = (groupId: string, protocol: string, from: unknown, to: unknown, cidr: unknown): string =>
  `${groupId} ${protocol} ${String(from)}-${String(to)} ${String(cidr)}`;

function wantedKeys(fx: Fixture): string[] {
  return [...fx.groups].flatMap(([groupId, rules]) =>
    rules.map((rule) => ruleKey(groupId, 'tcp', rule.port, rule.port, rule.cidr)),
  );
}

/** Every ingress rule moto holds for the fixture's groups, read directly (not through the proxy). */
async function keysInMoto(fx: Fixture): Promise<string[]> {
  const keys: string[] = [];
  for (const groupId of fx.groups.keys()) {
    for (const rule of await listIngressRules(ec2, groupId)) {
      keys.push(
        ruleKey(groupId, rule.IpProtocol ?? '', rule.FromPort, rule.ToPort, rule.CidrIpv4 ?? rule.CidrIpv6),
      );
    }
  }
  return keys.sort();
}

function eventKey(event: Event): string {
  const source = event['source'] as { value?: unknown } | undefined;
  return ruleKey(
    String(event['groupId']),
    String(event['protocol']),
    event['fromPort'],
    event['toPort'],
    source?.value,
  );
}

function completed(events: readonly Event[]): Event {
  const done = eventsNamed(events, 'reconcile.completed');
  expect(done, 'exactly one reconcile.completed').toHaveLength(1);
  return done[0] as Event;
}

/** Per-rule events other than failures and plan-only reports: what says "this rule is in place". */
const SETTLED_EVENTS = new Set(['rule.authorized', 'rule.already_present', 'rule.present', 'rule.unchanged']);

/**
 * Every wanted rule is accounted for by exactly one per-rule event that says it is in place
 * (rule.authorized, or a per-rule "already present" report), with nothing failed or lost.
 */
function expectAccountedFor(
  result: { code: number | null; durationMs: number; events: Event[] },
  fx: Fixture,
): void {
  const { events } = result;
  const settled = events.filter((e) => SETTLED_EVENTS.has(e.event ?? '')).map(eventKey);
  expect(settled.sort(), `one per-rule event for every wanted rule; ${describeRun(result)}`).toEqual(
    wantedKeys(fx).sort(),
  );
  for (const event of eventsNamed(events, 'rule.authorized')) {
    expect(
      event['ruleId'] ?? event['ruleIdPending'],
      `rule.authorized names its rule: ${eventKey(event)}`,
    ).toBeTruthy();
  }
}

function apply(dir: string, extra: readonly string[] = [], env: Record<string, string> = {}) {
  return runCli(
    ['apply', '--policies', dir, '--endpoint', proxy.endpoint, '--region', 'us-east-1', ...extra],
    {
      env: motoEnv(proxy.endpoint, env),
      timeoutMs: 120_000,
    },
  );
}

function describeRun(result: { code: number | null; durationMs: number; events: readonly Event[] }): string {
  return `exit ${String(result.code)} after ${result.durationMs} ms; events:\n${result.events
    .map((e) => JSON.stringify(e))
    .join('\n')}`;
}

describe('throttling', () => {
  it('a 503 RequestLimitExceeded on the first attempt of every request is absorbed by the retries', async () => {
    const fx = await fixture(2);
    proxy.addRule({
      attempt: 1,
      times: 'always',
      fault: { kind: 'error', status: 503, code: 'RequestLimitExceeded' },
    });

    const result = await apply(fx.dir);
    expect(result.code, describeRun(result)).toBe(0);
    expect(eventsNamed(result.events, 'rule.failed')).toEqual([]);
    expect(eventsNamed(result.events, 'read.failed')).toEqual([]);
    const done = completed(result.events);
    expect(done).toMatchObject({ missing: 6, authorized: 6, failed: 0 });
    expectAccountedFor(result, fx);
    expect(await keysInMoto(fx)).toEqual(wantedKeys(fx).sort());

    // Every request was throttled once and went through on its second attempt: no third attempts,
    // no request that escaped the fault, and one write per group.
    const attempts = proxy.attemptCounts();
    const actions = Object.keys(proxy.counts());
    expect(actions).toEqual(expect.arrayContaining([DESCRIBE_GROUPS, AUTHORIZE]));
    for (const action of actions) {
      expect(attempts[`${action}#2`], `${action}: retries == first attempts`).toBe(attempts[`${action}#1`]);
    }
    expect(Object.keys(attempts).filter((key) => !/#[12]$/.test(key))).toEqual([]);
    expect(proxy.calls().filter((c) => c.attempt === 1 && c.fault !== 'error')).toEqual([]);
    expect(proxy.forwardedCounts()[AUTHORIZE]).toBe(2);
    console.info(
      `[faults] throttled first attempts: ${result.durationMs} ms, calls ${JSON.stringify(attempts)}`,
    );

    // Still throttled, the next pass finds nothing missing and writes nothing.
    proxy.resetCounts();
    const again = await apply(fx.dir);
    expect(again.code, describeRun(again)).toBe(0);
    expect(completed(again.events)).toMatchObject({ missing: 0, authorized: 0, failed: 0 });
    expect(proxy.counts()[AUTHORIZE]).toBeUndefined();
    expect(await keysInMoto(fx)).toEqual(wantedKeys(fx).sort());
  }, 60_000);

  it('DescribeSecurityGroups that keeps failing: no write at all, exit 1, and the cause named', async () => {
    const fx = await fixture(2);
    proxy.addRule({
      action: DESCRIBE_GROUPS,
      times: 'always',
      fault: { kind: 'error', status: 503, code: 'RequestLimitExceeded' },
    });

    const result = await apply(fx.dir);
    expect(result.code, describeRun(result)).toBe(1);
    expect(proxy.counts()[AUTHORIZE], 'AuthorizeSecurityGroupIngress calls').toBeUndefined();
    expect(proxy.forwardedCounts()[DESCRIBE_GROUPS]).toBeUndefined();
    // The SDK did retry the throttled reads before giving up.
    expect(proxy.counts()[DESCRIBE_GROUPS]).toBeGreaterThan(1);

    const failures = [
      ...eventsNamed(result.events, 'read.failed'),
      ...eventsNamed(result.events, 'reconcile.failed'),
    ];
    expect(failures.length, describeRun(result)).toBeGreaterThan(0);
    for (const failure of failures) expect(failure['errorCode']).toBe('RequestLimitExceeded');
    // Never "found no groups": no target is reported unmatched and no pass completes as if clean.
    expect(eventsNamed(result.events, 'target.unresolved')).toEqual([]);
    expect(eventsNamed(result.events, 'rule.authorized')).toEqual([]);
    for (const done of eventsNamed(result.events, 'reconcile.completed')) {
      expect(done['readFailures']).toBeGreaterThan(0);
    }
    expect(await keysInMoto(fx)).toEqual([]);
    console.info(
      `[faults] describe always throttled: exit ${String(result.code)} after ${result.durationMs} ms, ` +
        `calls ${JSON.stringify(proxy.attemptCounts())}`,
    );
  }, 60_000);
});

describe('a dead endpoint', () => {
  it('apply against a refused endpoint fails with reconcile.failed within a bounded time', async () => {
    const fx = await fixture(1);
    await proxy.refuse();

    const result = await apply(fx.dir);
    console.info(`[faults] refused endpoint: exit ${String(result.code)} after ${result.durationMs} ms`);
    expect(result.code, describeRun(result)).toBe(1);
    const failed = eventsNamed(result.events, 'reconcile.failed');
    expect(failed, describeRun(result)).toHaveLength(1);
    expect(failed[0]?.['errorCode']).toBe('NetworkingError');
    expect(eventsNamed(result.events, 'reconcile.completed')).toEqual([]);
    expect(result.durationMs).toBeLessThan(60_000);
    expect(await keysInMoto(fx)).toEqual([]);
  }, 90_000);

  it('the daemon stays up and not ready while the endpoint is refused, and recovers when it returns', async () => {
    const fx = await fixture(1, [{ port: 5432, cidr: '10.20.0.0/16' }]);
    await proxy.refuse();
    const daemon = await startDaemon(fx.dir);
    try {
      // A pass fails against the dead endpoint; the process serves on, reporting not ready.
      await daemon.waitFor((events) => eventsNamed(events, 'reconcile.failed').length > 0, 30_000);
      expect((await daemon.get('/healthz')).status).toBe(200);
      const notReady = await daemon.get('/readyz');
      expect(notReady.status).toBe(503);
      expect(notReady.body).toMatchObject({ ready: false, reason: expect.stringMatching(/failed/) });
      expect(eventsNamed(daemon.events(), 'reconcile.failed')[0]?.['errorCode']).toBe('NetworkingError');
      expect(daemon.exitCode()).toBeNull();

      const downSince = Date.now();
      await proxy.restore();
      await daemon.waitFor((events) => eventsNamed(events, 'rule.authorized').length > 0, 30_000);
      await waitUntil(async () => (await daemon.get('/readyz')).status === 200, 15_000);
      console.info(`[faults] daemon ready again ${Date.now() - downSince} ms after the endpoint returned`);
      expect(await keysInMoto(fx)).toEqual(wantedKeys(fx));
      expect(eventsNamed(daemon.events(), 'rule.authorized')).toHaveLength(1);
      expect(eventsNamed(daemon.events(), 'rule.failed')).toEqual([]);
    } finally {
      const code = await daemon.stop();
      expect(code, daemon.stderr()).toBe(0);
    }
  }, 90_000);
  it('a daemon pass against an endpoint that never answers is bounded by --pass-timeout, and recovers', async () => {
    const fx = await fixture(1, [{ port: 6379, cidr: '10.30.0.0/16' }]);
    proxy.addRule({ times: 'always', fault: { kind: 'hang' } });
    const started = Date.now();
    const daemon = await startDaemon(fx.dir, ['--pass-timeout', '2']);
    try {
      await daemon.waitFor((events) => eventsNamed(events, 'reconcile.failed').length > 0, 20_000);
      const failedAfter = Date.now() - started;
      console.info(
        `[faults] daemon, hanging endpoint, --pass-timeout 2: reconcile.failed after ${failedAfter} ms`,
      );
      expect(
        eventsNamed(daemon.events(), 'reconcile.failed')[0]?.['errorCode'],
        JSON.stringify(daemon.events()),
      ).toBe('PassTimeout');
      expect((await daemon.get('/healthz')).status).toBe(200);
      expect((await daemon.get('/readyz')).status).toBe(503);
      expect(proxy.counts()[AUTHORIZE]).toBeUndefined();

      proxy.clearRules();
      await daemon.waitFor((events) => eventsNamed(events, 'rule.authorized').length > 0, 20_000);
      await waitUntil(async () => (await daemon.get('/readyz')).status === 200, 15_000);
      expect(await keysInMoto(fx)).toEqual(wantedKeys(fx));
      expect(eventsNamed(daemon.events(), 'rule.authorized')).toHaveLength(1);
    } finally {
      const code = await daemon.stop();
      expect(code, daemon.stderr()).toBe(0);
    }
  }, 60_000);
});

describe('connection resets and slow answers', () => {
  it('a reset after moto applied the first authorize (answer lost) neither fails the pass nor duplicates a rule', async () => {
    const fx = await fixture(2);
    proxy.addRule({ action: AUTHORIZE, fault: { kind: 'reset', when: 'after' } });

    const result = await apply(fx.dir);
    expect(proxy.calls().filter((c) => c.action === AUTHORIZE)[0]).toMatchObject({
      fault: 'reset',
      forwarded: true,
      status: 200,
    });
    expect(result.code, describeRun(result)).toBe(0);
    expect(eventsNamed(result.events, 'rule.failed')).toEqual([]);
    expect(await keysInMoto(fx)).toEqual(wantedKeys(fx).sort());
    expect(completed(result.events)).toMatchObject({ missing: 6, failed: 0 });
    expectAccountedFor(result, fx);
    console.info(`[faults] reset after first authorize: calls ${JSON.stringify(proxy.attemptCounts())}`);
  }, 60_000);

  it('every answer to authorize lost: the rules EC2 applied are reported authorized, once each', async () => {
    const fx = await fixture(1);
    proxy.addRule({ action: AUTHORIZE, times: 'always', fault: { kind: 'reset', when: 'after' } });

    const result = await apply(fx.dir);
    expect(result.code, describeRun(result)).toBe(0);
    expect(eventsNamed(result.events, 'rule.failed')).toEqual([]);
    expect(await keysInMoto(fx)).toEqual(wantedKeys(fx).sort());
    expect(completed(result.events)).toMatchObject({ missing: 3, failed: 0 });
    expectAccountedFor(result, fx);
    console.info(`[faults] every authorize answer lost: calls ${JSON.stringify(proxy.attemptCounts())}`);
  }, 60_000);

  it('resets before the request reaches moto, on reads and writes, are retried without loss', async () => {
    const fx = await fixture(2);
    proxy.addRule({ action: DESCRIBE_GROUPS, fault: { kind: 'reset' } });
    proxy.addRule({ action: AUTHORIZE, fault: { kind: 'reset' } });

    const result = await apply(fx.dir);
    expect(result.code, describeRun(result)).toBe(0);
    expect(eventsNamed(result.events, 'rule.failed')).toEqual([]);
    expect(eventsNamed(result.events, 'read.failed')).toEqual([]);
    expect(completed(result.events)).toMatchObject({ missing: 6, authorized: 6, failed: 0 });
    expectAccountedFor(result, fx);
    expect(await keysInMoto(fx)).toEqual(wantedKeys(fx).sort());
    expect(
      proxy
        .calls()
        .filter((c) => c.fault === 'reset')
        .map((c) => c.action)
        .sort(),
    ).toEqual([AUTHORIZE, DESCRIBE_GROUPS]);
  }, 60_000);

  it('a 2 s delay on every authorize still converges', async () => {
    const fx = await fixture(2);
    proxy.addRule({ action: AUTHORIZE, times: 'always', fault: { kind: 'delay', ms: 2_000 } });

    const result = await apply(fx.dir);
    expect(result.code, describeRun(result)).toBe(0);
    expect(result.durationMs).toBeGreaterThanOrEqual(2_000);
    expect(eventsNamed(result.events, 'rule.failed')).toEqual([]);
    expect(completed(result.events)).toMatchObject({ missing: 6, authorized: 6, failed: 0 });
    expectAccountedFor(result, fx);
    expect(await keysInMoto(fx)).toEqual(wantedKeys(fx).sort());
    expect(proxy.counts()[AUTHORIZE]).toBe(2);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------
// The daemon as a child process

interface DaemonHandle {
  events(): Event[];
  stderr(): string;
  exitCode(): number | null;
  get(path: string): Promise<{ status: number; body: unknown }>;
  waitFor(predicate: (events: Event[]) => boolean, timeoutMs: number): Promise<void>;
  /** SIGTERM, then the exit code (SIGKILL after 15 s). */
  stop(): Promise<number | null>;
}

async function startDaemon(dir: string, extra: readonly string[] = []): Promise<DaemonHandle> {
  const port = await freePort();
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [
      CLI,
      'run',
      '--policies',
      dir,
      '--endpoint',
      proxy.endpoint,
      '--region',
      'us-east-1',
      '--listen',
      `127.0.0.1:${port}`,
      '--schedule',
      '*/1 * * * * *',
      ...extra,
    ],
    { cwd: ROOT, env: motoEnv(proxy.endpoint), stdio: 'pipe' },
  );
  killAfterTest(child);
  let stdout = '';
  let stderr = '';
  let exitCode: number | null = null;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      exitCode = code;
      resolve();
    }),
  );
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const base = `http://127.0.0.1:${port}`;

  const handle: DaemonHandle = {
    events: () => parseEvents(stdout),
    stderr: () => stderr,
    exitCode: () => exitCode,
    async get(path) {
      const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5_000) });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (e.g. /metrics)
      }
      return { status: response.status, body };
    },
    async waitFor(predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(parseEvents(stdout))) {
        if (exitCode !== null) throw new Error(`the daemon exited (${exitCode}):\n${stdout}\n${stderr}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for the daemon; stdout:\n${stdout}`);
        await sleep(100);
      }
    },
    async stop() {
      if (exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      return exitCode;
    },
  };
  // Serving: /healthz answers (the first pass may still be running).
  await waitUntil(async () => {
    if (exitCode !== null) throw new Error(`the daemon exited (${exitCode}):\n${stdout}\n${stderr}`);
    try {
      return (await handle.get('/healthz')).status === 200;
    } catch {
      return false;
    }
  }, 15_000);
  return handle;
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------------------------
// Attribution (SPEC "Safety rules of the pass", "Events"): every rule the tool ever created is named
// by an event, even when the process is killed or the pass aborted while a write's answer is held.

describe('every write is attributable', () => {
  const NAMING_EVENTS = new Set(['rule.authorized', 'rule.already_present']);

  /** Rule keys named by rule.authorized / rule.already_present, or sent in an authorize.requested. */
  function namedKeys(events: readonly Event[]): Set<string> {
    const keys = new Set(events.filter((e) => NAMING_EVENTS.has(e.event ?? '')).map(eventKey));
    for (const request of eventsNamed(events, 'authorize.requested')) {
      for (const rule of request['rules'] as Record<string, unknown>[]) {
        keys.add(eventKey({ ...rule, groupId: request['groupId'] }));
      }
    }
    return keys;
  }

  /** Spawns apply and kills it with SIGKILL once `requests` authorize.requested lines were written. */
  async function applyKilledAfter(dir: string, requests: number): Promise<Event[]> {
    const child = spawn(
      process.execPath,
      [CLI, 'apply', '--policies', dir, '--endpoint', proxy.endpoint, '--region', 'us-east-1'],
      { cwd: ROOT, env: motoEnv(proxy.endpoint), stdio: 'pipe' },
    );
    killAfterTest(child);
    let stdout = '';
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (eventsNamed(parseEvents(stdout), 'authorize.requested').length >= requests) child.kill('SIGKILL');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    return parseEvents(stdout);
  }

  it.each([1, 3, 5])(
    'kill -9 of apply after %i write(s) were sent: after a second run every live rule is named by an event',
    async (requests) => {
      const fx = await fixture(6);
      // Writes reach moto at once; their answers are held 3 s, so the kill lands while they are in flight.
      proxy.addRule({
        action: AUTHORIZE,
        times: 'always',
        fault: { kind: 'delay', ms: 3_000, when: 'after' },
      });
      const first = await applyKilledAfter(fx.dir, requests);
      expect(eventsNamed(first, 'authorize.requested').length).toBeGreaterThanOrEqual(requests);

      proxy.clearRules();
      const second = await apply(fx.dir);
      expect(second.code, describeRun(second)).toBe(0);

      const live = await keysInMoto(fx);
      expect(live).toEqual(wantedKeys(fx).sort());
      const named = namedKeys([...first, ...second.events]);
      expect(live.filter((key) => !named.has(key))).toEqual([]);
      // Every rule.authorized of the first run was sent in an authorize.requested before it.
      for (const event of eventsNamed(first, 'rule.authorized')) {
        expect(namedKeys(eventsNamed(first, 'authorize.requested')).has(eventKey(event))).toBe(true);
      }
    },
    60_000,
  );

  it('a write that landed before --pass-timeout fired is never rule.failed, and the metrics equal the events', async () => {
    const fx = await fixture(1);
    proxy.addRule({ action: AUTHORIZE, times: 'always', fault: { kind: 'delay', ms: 6_000, when: 'after' } });
    const daemon = await startDaemon(fx.dir, ['--pass-timeout', '2', '--schedule', '*/30 * * * * *']);
    try {
      await daemon.waitFor((events) => eventsNamed(events, 'reconcile.failed').length > 0, 30_000);
      const events = daemon.events();
      expect(eventsNamed(events, 'reconcile.failed')[0]).toMatchObject({ errorCode: 'PassTimeout' });
      expect(eventsNamed(events, 'rule.failed')).toEqual([]);
      // The re-read after the abort found the rules: authorized, recovered after the abort.
      const authorized = eventsNamed(events, 'rule.authorized');
      expect(authorized.map(eventKey).sort()).toEqual(wantedKeys(fx).sort());
      for (const event of authorized) expect(event['recoveredAfter']).toBe('AbortError');
      expect(await keysInMoto(fx)).toEqual(wantedKeys(fx).sort());

      const metrics = String((await daemon.get('/metrics')).body);
      const sample = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
      expect(sample('sgr_rules_authorized_total')).toBe(authorized.length);
      expect(sample('sgr_rules_failed_total')).toBe(eventsNamed(events, 'rule.failed').length);
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  }, 60_000);
});
