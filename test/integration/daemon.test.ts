// `sg-reconciler run` end to end: the built CLI as a child process against moto (through a
// fault-injecting proxy where a pass must be slow), observed through its JSON events on stdout,
// its HTTP endpoints, its exit code and the rules moto ends up with.
import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, writePolicies, type Event } from '../helpers/cli.js';
import {
  isEvent,
  killDaemonsAfterEach,
  startDaemon as startRun,
  type RunningDaemon,
} from '../helpers/daemon.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import {
  authorize,
  createGroup,
  defaultVpcId,
  freePort,
  listIngressRules,
  startMoto,
  type MotoServer,
} from '../helpers/moto.js';

let moto: MotoServer;
let vpcId: string;
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(join(CLI, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  moto = await startMoto();
  vpcId = await defaultVpcId(moto.ec2());
});

afterAll(async () => {
  await moto?.stop();
});

const cleanups: (() => Promise<void>)[] = [];

killDaemonsAfterEach();
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** `run` against moto (or the proxy in front of it), with a one-second schedule. */
function startDaemon(options: {
  policies: string;
  endpoint?: string;
  port?: number;
  extraArgs?: readonly string[];
  env?: Record<string, string>;
}): Promise<RunningDaemon> {
  return startRun({ ...options, endpoint: options.endpoint ?? moto.endpoint });
}

function policyYaml(name: string, groupId: string, ports: readonly (number | string)[]): string {
  return [
    'apiVersion: sg-reconciler/v1',
    'kind: IngressPolicy',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  targets:',
    `    - groupId: ${groupId}`,
    '  ingress:',
    ...ports.flatMap((port) => [
      '    - protocol: tcp',
      `      ports: ${port}`,
      `      description: ${name} port ${port}`,
      '      sources:',
      '        - cidr: 203.0.113.0/24',
    ]),
    '',
  ].join('\n');
}

async function tcpPorts(groupId: string): Promise<number[]> {
  const rules = await listIngressRules(moto.ec2(), groupId);
  return rules
    .filter((r) => r.IpProtocol === 'tcp' && r.CidrIpv4 === '203.0.113.0/24')
    .map((r) => r.FromPort ?? -1)
    .sort((a, b) => a - b);
}

/** The value of one sample in a Prometheus text exposition, e.g. `sgr_passes_total{result="completed"}`. */
function sample(metricsText: string, series: string): number {
  const line = metricsText.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no sample ${series} in:\n${metricsText}`);
  return Number(line.slice(series.length + 1));
}

/** Every `sgr_` sample of a Prometheus text exposition but the process's default metrics and histogram buckets. */
function ownSamples(metricsText: string): Record<string, number> {
  const samples: Record<string, number> = {};
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('sgr_') || /^sgr_(process|nodejs)_/.test(line) || /_bucket\{/.test(line)) continue;
    const at = line.lastIndexOf(' ');
    samples[line.slice(0, at)] = Number(line.slice(at + 1));
  }
  return samples;
}

/** A guardrail that RDP is never open to the internet (the daemon tests' violations). */
const NO_INTERNET_RDP = [
  'apiVersion: sg-reconciler/v1',
  'kind: Guardrail',
  'metadata:',
  '  name: no-internet-rdp',
  'spec:',
  '  description: RDP is never open to the internet',
  '  deny:',
  '    - protocol: tcp',
  '      ports: [3389]',
  '      from: internet',
  '',
].join('\n');

/**
 * What /metrics must say after the passes whose events are `events` (SPEC "The daemon"): counters
 * sum the events of every pass, gauges are the last completed pass's reconcile.completed, and
 * sgr_read_failures counts the read.failed events of the last pass that ran, completed or failed.
 * Compared whole: a metric this function does not know of fails the test.
 */
function expectMetricsToMatchEvents(metricsText: string, events: readonly Event[]): void {
  const named = (name: string, runId?: unknown): Event[] =>
    events.filter((e) => e.event === name && (runId === undefined || e['runId'] === runId));
  const groupReadFailures = (runId?: unknown): number =>
    named('read.failed', runId).filter((e) => e['action'] !== 'DescribeManagedPrefixLists').length;
  const completed = named('reconcile.completed');
  const failed = named('reconcile.failed');
  const last = completed.at(-1);
  const lastRan = events.filter((e) => e === last || failed.includes(e)).at(-1);
  if (last === undefined || lastRan === undefined) throw new Error('no completed pass');
  const durations = (passes: Event[]): number =>
    passes.reduce((sum, e) => sum + (e['durationMs'] as number), 0) / 1000;
  const skipped = (reason: string): number =>
    named('reconcile.skipped').filter((e) => e['reason'] === reason).length;
  // Every violation of the last completed pass is one rule.violation at warn (SPEC: every one, every
  // pass); those an earlier pass reported say `change: unchanged`, and are the pass's violationsUnchanged.
  const lastViolations = named('rule.violation', last['runId']);
  const violations = new Map<string, number>();
  for (const v of lastViolations) {
    violations.set(v['guardrail'] as string, (violations.get(v['guardrail'] as string) ?? 0) + 1);
  }
  if (last['violations'] !== undefined) {
    expect(lastViolations.length).toBe(last['violations']);
    expect(lastViolations.every((v) => v['level'] === 'warn')).toBe(true);
    expect(lastViolations.filter((v) => v['change'] === 'unchanged').length).toBe(
      last['violationsUnchanged'] ?? 0,
    );
  }
  const expected: Record<string, number> = {
    'sgr_passes_total{result="completed"}': completed.length,
    'sgr_passes_total{result="failed"}': failed.length,
    'sgr_passes_total{result="skipped_overlap"}': skipped('overlap'),
    'sgr_passes_total{result="skipped_invalid"}': skipped('invalid-policies'),
    'sgr_passes_total{result="skipped_changing"}': skipped('policies-changing'),
    'sgr_pass_duration_seconds_count{result="completed"}': completed.length,
    ...(failed.length > 0 ? { 'sgr_pass_duration_seconds_count{result="failed"}': failed.length } : {}),
    sgr_rules_authorized_total: named('rule.authorized').length,
    sgr_rules_failed_total: named('rule.failed').length,
    sgr_rule_descriptions_updated_total: named('rule.description_updated').length,
    sgr_rule_descriptions_update_failed_total: named('rule.description_update_failed').length,
    sgr_rules_desired: last['desired'] as number,
    sgr_rules_missing: last['missing'] as number,
    sgr_rules_drift: last['drift'] as number,
    sgr_rules_description_drift: last['descriptionDrift'] as number,
    sgr_groups: last['groups'] as number,
    sgr_targets_unresolved: last['unresolved'] as number,
    sgr_units: last['units'] as number,
    sgr_accounts_failed: last['accountsFailed'] as number,
    sgr_read_failures: groupReadFailures(lastRan['runId']),
    sgr_read_failures_total: groupReadFailures(),
    sgr_policy_set_valid: 1,
    sgr_pass_in_progress: 0,
    ...Object.fromEntries(
      [...violations].map(([name, n]) => [`sgr_guardrail_violations{guardrail="${name}"}`, n]),
    ),
    [`sgr_build_info{version="${PACKAGE_VERSION}",node_version="${process.versions.node}"}`]: 1,
  };
  const actual = ownSamples(metricsText);
  // Sums of seconds and a timestamp: compared apart, as numbers close to the events' own.
  expect(actual['sgr_pass_duration_seconds_sum{result="completed"}']).toBeCloseTo(durations(completed), 6);
  expect(actual['sgr_pass_duration_seconds_sum{result="failed"}'] ?? 0).toBeCloseTo(durations(failed), 6);
  expect(actual['sgr_last_success_timestamp_seconds']).toBeCloseTo(
    Date.parse(last['time'] as string) / 1000,
    0,
  );
  delete actual['sgr_pass_duration_seconds_sum{result="completed"}'];
  delete actual['sgr_pass_duration_seconds_sum{result="failed"}'];
  delete actual['sgr_last_success_timestamp_seconds'];
  expect(actual).toEqual(expected);
}

async function newGroup(name: string): Promise<string> {
  return createGroup(moto.ec2(), { name: `${name}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`, vpcId });
}

async function policiesDir(files: Record<string, string>): Promise<string> {
  const dir = await writePolicies(files);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('sg-reconciler run', () => {
  it('is ready after its first pass, authorizes a rule added to a policy file on a later pass, and counts it in /metrics', async () => {
    const groupId = await newGroup('ready');
    const dir = await policiesDir({ 'web.yaml': policyYaml('web', groupId, [22]) });
    const daemon = await startDaemon({ policies: dir });

    const started = await daemon.waitFor('daemon.started', isEvent('daemon.started'));
    expect(started).toMatchObject({
      schedule: '*/1 * * * * *',
      timezone: 'UTC',
      listen: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
    const first = await daemon.waitFor('the first pass', isEvent('reconcile.completed'));
    expect(first).toMatchObject({ mode: 'apply', authorized: 1, failed: 0 });
    expect(typeof first['runId']).toBe('string');
    expect(await daemon.get('/readyz')).toEqual({ status: 200, text: '{"ready":true}' });
    expect(await daemon.get('/healthz')).toEqual({ status: 200, text: '{"status":"ok"}' });
    expect(await tcpPorts(groupId)).toEqual([22]);

    let metrics = (await daemon.get('/metrics')).text;
    expect(sample(metrics, 'sgr_rules_authorized_total')).toBe(1);
    expect(sample(metrics, 'sgr_passes_total{result="completed"}')).toBeGreaterThanOrEqual(1);
    expect(sample(metrics, 'sgr_policy_set_valid')).toBe(1);
    expect(sample(metrics, 'sgr_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(metrics).toMatch(/^sgr_process_resident_memory_bytes \d+/m);

    // The policy directory is re-read every pass: a new rule is picked up without a restart.
    const mark = daemon.events.length;
    await writeFile(join(dir, 'web.yaml'), policyYaml('web', groupId, [22, 443]));
    const authorized = await daemon.waitFor(
      'rule.authorized for 443',
      isEvent('rule.authorized', { fromPort: 443 }),
      15_000,
      mark,
    );
    expect(authorized).toMatchObject({
      groupId,
      policy: 'web',
      toPort: 443,
      source: { kind: 'cidr', value: '203.0.113.0/24' },
    });
    expect(await tcpPorts(groupId)).toEqual([22, 443]);
    const completedAfter = await daemon.waitFor(
      'the completed pass that authorized 443',
      isEvent('reconcile.completed', { runId: authorized['runId'] }),
      15_000,
      mark,
    );
    expect(completedAfter).toMatchObject({ authorized: 1, missing: 1 });

    // Later passes find nothing missing; the gauges describe the last pass, the counters add up.
    await daemon.waitFor(
      'a pass with nothing missing',
      isEvent('reconcile.completed', { missing: 0 }),
      15_000,
      daemon.events.indexOf(completedAfter) + 1,
    );
    metrics = (await daemon.get('/metrics')).text;
    expect(sample(metrics, 'sgr_rules_authorized_total')).toBe(2);
    expect(sample(metrics, 'sgr_rules_failed_total')).toBe(0);
    expect(sample(metrics, 'sgr_rules_desired')).toBe(2);
    expect(sample(metrics, 'sgr_rules_missing')).toBe(0);
    expect(sample(metrics, 'sgr_rules_drift')).toBe(0);
    expect(sample(metrics, 'sgr_pass_duration_seconds_count{result="completed"}')).toBe(
      sample(metrics, 'sgr_passes_total{result="completed"}'),
    );

    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toEqual({ code: 0, signal: null });
    expect(daemon.events.filter((e) => e.event === 'daemon.stopped')).toEqual([
      expect.objectContaining({ signal: 'SIGTERM', exitCode: 0 }),
    ]);
  });

  it('skips passes while a policy file is invalid, keeps running, and authorizes again once it is fixed', async () => {
    const groupId = await newGroup('invalid');
    const dir = await policiesDir({ 'web.yaml': policyYaml('web', groupId, [22]) });
    const daemon = await startDaemon({ policies: dir });
    await daemon.waitFor('the first pass', isEvent('reconcile.completed'));

    // A new policy with a rule the daemon must not apply while another part of the file is invalid.
    const mark = daemon.events.length;
    const broken = policyYaml('extra', groupId, [8443]).replace(
      '      ports: 8443',
      '      ports: 8443\n      colour: blue',
    );
    await writeFile(join(dir, 'extra.yaml'), broken);
    const skipped = await daemon.waitFor(
      'a skipped pass',
      isEvent('reconcile.skipped', { reason: 'invalid-policies' }),
      15_000,
      mark,
    );
    const invalid = daemon.events.slice(mark).filter(isEvent('policy.invalid', { runId: skipped['runId'] }));
    expect(invalid.length).toBeGreaterThanOrEqual(1);
    expect(invalid[0]).toMatchObject({
      file: expect.stringContaining('extra.yaml'),
      line: expect.any(Number),
      column: expect.any(Number),
      path: expect.any(String),
      error: expect.any(String),
    });
    // Several ticks pass: the process lives, stays ready, and applies nothing.
    await daemon.waitFor(
      'a second skipped pass',
      (e) =>
        isEvent('reconcile.skipped', { reason: 'invalid-policies' })(e) && e['runId'] !== skipped['runId'],
      15_000,
      mark,
    );
    expect(daemon.child.exitCode).toBeNull();
    expect(await tcpPorts(groupId)).toEqual([22]);
    expect(daemon.events.slice(mark).filter(isEvent('reconcile.started'))).toEqual([]);
    expect(await daemon.get('/readyz')).toEqual({ status: 200, text: '{"ready":true}' });
    let metrics = (await daemon.get('/metrics')).text;
    expect(sample(metrics, 'sgr_policy_set_valid')).toBe(0);
    expect(sample(metrics, 'sgr_passes_total{result="skipped_invalid"}')).toBeGreaterThanOrEqual(2);

    const fixMark = daemon.events.length;
    await writeFile(join(dir, 'extra.yaml'), policyYaml('extra', groupId, [8443]));
    await daemon.waitFor(
      'rule.authorized for 8443',
      isEvent('rule.authorized', { fromPort: 8443, policy: 'extra' }),
      15_000,
      fixMark,
    );
    expect(await tcpPorts(groupId)).toEqual([22, 8443]);
    metrics = (await daemon.get('/metrics')).text;
    expect(sample(metrics, 'sgr_policy_set_valid')).toBe(1);

    daemon.child.kill('SIGTERM');
    expect((await daemon.exit).code).toBe(0);
  });

  it('on SIGHUP runs a pass at once with the policies re-read, keeps running, and closes a silent connection', async () => {
    const groupId = await newGroup('sighup');
    const dir = await policiesDir({ 'web.yaml': policyYaml('web', groupId, [22]) });
    const daemon = await startDaemon({
      policies: dir,
      // Once a year: only the start-up pass and SIGHUP run passes here.
      extraArgs: ['--schedule', '0 0 1 1 *'],
      env: { SGR_INTERNAL_HTTP_IDLE_TIMEOUT_MS: '1000' },
    });
    await daemon.waitFor('the first pass', isEvent('reconcile.completed'));

    // A connection that never sends a byte is closed by the idle timeout.
    const silent = connect(Number(new URL(daemon.base).port), '127.0.0.1');
    silent.on('error', () => undefined);
    const openedAt = Date.now();
    await new Promise<void>((resolve) => silent.once('close', () => resolve()));
    expect(Date.now() - openedAt).toBeLessThan(5_000);

    await writeFile(join(dir, 'web.yaml'), policyYaml('web', groupId, [22, 443]));
    await new Promise((r) => setTimeout(r, 2_100)); // past the 2-second settle rule
    const mark = daemon.events.length;
    daemon.child.kill('SIGHUP');
    const reload = await daemon.waitFor('daemon.reload', isEvent('daemon.reload'), 15_000, mark);
    expect(reload).toMatchObject({ signal: 'SIGHUP' });
    await daemon.waitFor('rule.authorized 443', isEvent('rule.authorized', { fromPort: 443 }), 15_000, mark);
    expect(await tcpPorts(groupId)).toEqual([22, 443]);
    expect(daemon.child.exitCode).toBeNull();
    expect((await daemon.get('/healthz')).status).toBe(200);

    daemon.child.kill('SIGTERM');
    expect(await daemon.exit).toEqual({ code: 0, signal: null });
  });

  describe('with a slow EC2 endpoint', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(moto.endpoint);
    });
    afterAll(async () => {
      await proxy?.stop();
    });
    afterEach(() => {
      proxy.clearRules();
      proxy.resetCounts();
    });

    it('on SIGTERM during a pass lets the pass finish, then exits 0', async () => {
      const groupId = await newGroup('sigterm');
      const dir = await policiesDir({ 'web.yaml': policyYaml('web', groupId, [22]) });
      proxy.addRule({
        action: 'AuthorizeSecurityGroupIngress',
        fault: { kind: 'delay', ms: 2_000 },
        times: 'always',
      });
      const daemon = await startDaemon({ policies: dir, endpoint: proxy.endpoint });
      const started = await daemon.waitFor('the first pass', isEvent('reconcile.started'));
      // The authorize call is on its way to moto and held by the proxy: the pass is in flight.
      const deadline = Date.now() + 15_000;
      while ((proxy.counts()['AuthorizeSecurityGroupIngress'] ?? 0) === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(proxy.counts()['AuthorizeSecurityGroupIngress']).toBe(1);

      daemon.child.kill('SIGTERM');
      const stopping = await daemon.waitFor('daemon.stopping', isEvent('daemon.stopping'));
      expect(stopping).toMatchObject({ signal: 'SIGTERM', inFlightRunId: started['runId'] });
      // While it drains, the HTTP server still answers (SPEC "The daemon").
      expect(await daemon.get('/readyz')).toEqual({
        status: 503,
        text: '{"ready":false,"reason":"shutting down"}',
      });
      expect(await daemon.get('/healthz')).toEqual({ status: 200, text: '{"status":"ok"}' });
      const exit = await daemon.exit;

      expect(exit).toEqual({ code: 0, signal: null });
      const order = daemon.events.map((e) => `${e.event}${e.runId === started['runId'] ? '@pass' : ''}`);
      const completedAt = order.indexOf('reconcile.completed@pass');
      expect(completedAt).toBeGreaterThan(order.indexOf('daemon.stopping'));
      expect(order.indexOf('daemon.stopped')).toBeGreaterThan(completedAt);
      expect(daemon.events.find(isEvent('reconcile.completed', { runId: started['runId'] }))).toMatchObject({
        authorized: 1,
        failed: 0,
      });
      expect(await tcpPorts(groupId)).toEqual([22]);
      // Scheduling stopped with the signal: no pass started after it.
      const stoppingAt = order.indexOf('daemon.stopping');
      expect(daemon.events.slice(stoppingAt).filter(isEvent('reconcile.started'))).toEqual([]);
    });

    it('a pass held up by a slow endpoint logs reconcile.progress every 10 s until it completes', async () => {
      const groupId = await newGroup('progress');
      const dir = await policiesDir({ 'web.yaml': policyYaml('web', groupId, [22]) });
      proxy.addRule({
        action: 'DescribeSecurityGroups',
        fault: { kind: 'delay', ms: 11_000 },
      });
      const daemon = await startDaemon({
        policies: dir,
        endpoint: proxy.endpoint,
        extraArgs: ['--schedule', '0 0 1 1 *'],
      });
      const started = await daemon.waitFor('the first pass', isEvent('reconcile.started'));
      const progress = await daemon.waitFor('reconcile.progress', isEvent('reconcile.progress'), 15_000);
      expect(progress).toMatchObject({
        runId: started['runId'],
        level: 'info',
        mode: 'apply',
        phase: 'reading',
        done: 0,
        total: 1,
        groupsRead: 0,
      });
      expect(progress['elapsedMs']).toBeGreaterThanOrEqual(9_000);
      const completed = await daemon.waitFor('the pass', isEvent('reconcile.completed'), 15_000);
      expect(completed).toMatchObject({ authorized: 1 });
      // None after the pass ended.
      await new Promise((r) => setTimeout(r, 500));
      const after = daemon.events.slice(daemon.events.indexOf(completed));
      expect(after.filter(isEvent('reconcile.progress'))).toEqual([]);

      daemon.child.kill('SIGTERM');
      expect((await daemon.exit).code).toBe(0);
    });

    it('exits at once with 143 on a second SIGTERM', async () => {
      const groupId = await newGroup('forced');
      const dir = await policiesDir({ 'web.yaml': policyYaml('web', groupId, [22]) });
      proxy.addRule({
        action: 'AuthorizeSecurityGroupIngress',
        fault: { kind: 'delay', ms: 10_000 },
        times: 'always',
      });
      const daemon = await startDaemon({ policies: dir, endpoint: proxy.endpoint });
      await daemon.waitFor('the first pass', isEvent('reconcile.started'));
      const deadline = Date.now() + 15_000;
      while ((proxy.counts()['AuthorizeSecurityGroupIngress'] ?? 0) === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }

      daemon.child.kill('SIGTERM');
      await daemon.waitFor('daemon.stopping', isEvent('daemon.stopping'));
      const sentAt = Date.now();
      daemon.child.kill('SIGTERM');
      const exit = await daemon.exit;

      expect(exit).toEqual({ code: 143, signal: null });
      expect(Date.now() - sentAt).toBeLessThan(5_000);
      expect(daemon.events.find(isEvent('daemon.stopped'))).toMatchObject({ forced: true, exitCode: 143 });
    });

    it('fails a pass that outlives --pass-timeout, reports not ready, and keeps running', async () => {
      const groupId = await newGroup('timeout');
      const dir = await policiesDir({ 'web.yaml': policyYaml('web', groupId, [22]) });
      proxy.addRule({ action: 'DescribeSecurityGroups', fault: { kind: 'hang' }, times: 'always' });
      const daemon = await startDaemon({
        policies: dir,
        endpoint: proxy.endpoint,
        extraArgs: ['--pass-timeout', '1'],
      });

      const failed = await daemon.waitFor('the timed-out pass', isEvent('reconcile.failed'));
      expect(failed).toMatchObject({ errorCode: 'PassTimeout' });
      expect(await daemon.get('/readyz')).toEqual({
        status: 503,
        text: '{"ready":false,"reason":"last pass failed: PassTimeout"}',
      });
      expect(
        sample((await daemon.get('/metrics')).text, 'sgr_passes_total{result="failed"}'),
      ).toBeGreaterThanOrEqual(1);

      // The endpoint recovers: the next pass completes and the daemon is ready again.
      proxy.clearRules();
      const mark = daemon.events.length;
      await daemon.waitFor('a completed pass', isEvent('reconcile.completed'), 20_000, mark);
      expect((await daemon.get('/readyz')).status).toBe(200);
      expect(await tcpPorts(groupId)).toEqual([22]);

      daemon.child.kill('SIGINT');
      expect((await daemon.exit).code).toBe(0);
    });
  });

  describe('/metrics against the events of the same passes', () => {
    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(moto.endpoint);
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    it('every gauge and counter agrees with the events: a pass with changes, one with a failed read, one that failed outright', async () => {
      const team = `metrics-${Date.now()}`;
      const web = await newGroup('metrics-web');
      const tagged = await createGroup(moto.ec2(), { name: `${team}-tagged`, vpcId, tags: { team } });
      // Live state: an undeclared RDP rule open to the internet (drift, and a guardrail violation),
      // and a declared rule whose description differs (description drift).
      await authorize(moto.ec2(), web, [
        { IpProtocol: 'tcp', FromPort: 3389, ToPort: 3389, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        {
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
          IpRanges: [{ CidrIp: '203.0.113.0/24', Description: 'old text' }],
        },
      ]);
      const dir = await policiesDir({
        'web.yaml': policyYaml('web', web, [22, 443]),
        'tagged.yaml': policyYaml('tagged', 'sg-00000000', [8080]).replace(
          '    - groupId: sg-00000000',
          `    - tags: { team: ${team} }\n    - groupName: no-such-group-${team}`,
        ),
        'guardrail.yaml': NO_INTERNET_RDP,
      });
      // Once a year: the start-up pass, then only the passes SIGHUP asks for. At the default level:
      // the violation reported by the first pass and unchanged since must still be seen (SPEC).
      const daemon = await startDaemon({
        policies: dir,
        endpoint: proxy.endpoint,
        extraArgs: ['--schedule', '0 0 1 1 *'],
      });
      const pass = async (what: string): Promise<Event> => {
        const mark = daemon.events.length;
        if (mark > 0) daemon.child.kill('SIGHUP');
        return daemon.waitFor(
          what,
          (e) => e.event === 'reconcile.completed' || e.event === 'reconcile.failed',
          20_000,
          mark,
        );
      };
      const scrape = async (): Promise<string> => (await daemon.get('/metrics')).text;

      // 1. A completed pass with changes: two rules authorized, drift, a violation, an unresolved target.
      const first = await pass('the start-up pass');
      expect(first).toMatchObject({ event: 'reconcile.completed', authorized: 2, drift: 1, unresolved: 1 });
      expect(daemon.events.filter(isEvent('rule.authorized')).map((e) => e['groupId'])).toEqual(
        expect.arrayContaining([web, tagged]),
      );
      expectMetricsToMatchEvents(await scrape(), daemon.events);

      // 2. The read of the tagged target is denied: the pass completes without that group.
      proxy.addRule({
        action: 'DescribeSecurityGroups',
        when: (call) => [...call.params.values()].includes(`tag:team`),
        fault: { kind: 'error', status: 403, code: 'UnauthorizedOperation' },
        times: 'always',
      });
      const second = await pass('the pass with a failed read');
      expect(second).toMatchObject({ event: 'reconcile.completed', readFailures: 1, groups: 1 });
      // The violation is the first pass's, unchanged: still reported (change: unchanged), in the gauge.
      expect(second).toMatchObject({ violations: 1, violationsUnchanged: 1 });
      expectMetricsToMatchEvents(await scrape(), daemon.events);

      // 3. Every read is denied: the pass fails outright, and its failed reads still show.
      proxy.addRule({
        action: /^Describe/,
        fault: { kind: 'error', status: 403, code: 'UnauthorizedOperation' },
        times: 'always',
      });
      const third = await pass('the pass that fails outright');
      expect(third).toMatchObject({ event: 'reconcile.failed', errorCode: 'UnauthorizedOperation' });
      const text = await scrape();
      expectMetricsToMatchEvents(text, daemon.events);
      expect(sample(text, 'sgr_read_failures')).toBeGreaterThanOrEqual(2);

      daemon.child.kill('SIGTERM');
      expect((await daemon.exit).code).toBe(0);
    });
  });

  it('reports a drift when it appears or changes, not again on every pass; the gauge keeps the total', async () => {
    const groupId = await newGroup('drift');
    await authorize(moto.ec2(), groupId, [
      { IpProtocol: 'tcp', FromPort: 3389, ToPort: 3389, IpRanges: [{ CidrIp: '198.51.100.0/24' }] },
    ]);
    const dir = await policiesDir({ 'web.yaml': policyYaml('web', groupId, [22]) });
    const daemon = await startDaemon({ policies: dir, extraArgs: ['--schedule', '0 0 1 1 *'] });
    const passAfter = async (mark: number): Promise<Event> => {
      daemon.child.kill('SIGHUP');
      return daemon.waitFor('a pass', isEvent('reconcile.completed'), 15_000, mark);
    };
    const driftOf = (runId: unknown): Event[] =>
      daemon.events.filter((e) => e.event === 'rule.drift' && e['runId'] === runId);

    const first = await daemon.waitFor('the first pass', isEvent('reconcile.completed'));
    expect(driftOf(first['runId']).map((e) => [e['fromPort'], e['change'], e['level']])).toEqual([
      [3389, 'appeared', 'info'],
    ]);

    // The same drift on the next pass: counted, not repeated (it is a debug line).
    const second = await passAfter(daemon.events.length);
    expect(driftOf(second['runId'])).toEqual([]);
    expect(second).toMatchObject({ drift: 1, driftUnchanged: 1 });

    // A new undeclared rule: only it is reported.
    await authorize(moto.ec2(), groupId, [
      { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, IpRanges: [{ CidrIp: '198.51.100.0/24' }] },
    ]);
    const third = await passAfter(daemon.events.length);
    expect(driftOf(third['runId']).map((e) => [e['fromPort'], e['change']])).toEqual([[5432, 'appeared']]);
    expect(third).toMatchObject({ drift: 2, driftUnchanged: 1 });
    expect(sample((await daemon.get('/metrics')).text, 'sgr_rules_drift')).toBe(2);

    daemon.child.kill('SIGTERM');
    expect((await daemon.exit).code).toBe(0);
  });

  it('marks an unchanged guardrail violation and invalid policy set as unchanged (still warn, error: SPEC reports every one on every pass) and makes an unchanged unresolved target a debug line', async () => {
    const groupId = await newGroup('repeat');
    await authorize(moto.ec2(), groupId, [
      { IpProtocol: 'tcp', FromPort: 3389, ToPort: 3389, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ]);
    const webPolicy = (missingName: string): string =>
      policyYaml('web', groupId, [22]).replace(
        `    - groupId: ${groupId}`,
        `    - groupId: ${groupId}\n    - groupName: ${missingName}`,
      );
    const dir = await policiesDir({
      'web.yaml': webPolicy(`no-such-group-${groupId}`),
      'guardrail.yaml': NO_INTERNET_RDP,
    });
    // Once a year: the start-up pass, then only SIGHUP's. At debug, to see the unchanged lines.
    const daemon = await startDaemon({
      policies: dir,
      extraArgs: ['--schedule', '0 0 1 1 *', '--log-level', 'debug'],
    });
    // The pass's last event: completed, or skipped for an invalid set. A pass deferred because a
    // policy file was written less than 2 s ago (the settle rule) is asked for again.
    const ended = (e: Event): boolean =>
      e.event === 'reconcile.completed' ||
      e.event === 'reconcile.failed' ||
      (e.event === 'reconcile.skipped' && e['reason'] !== 'overlap');
    const nextPass = async (what: string): Promise<Event> => {
      for (;;) {
        const mark = daemon.events.length;
        daemon.child.kill('SIGHUP');
        const end = await daemon.waitFor(what, ended, 20_000, mark);
        if (end['reason'] !== 'policies-changing') return end;
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    const of = (pass: Event, name: string): [unknown, unknown][] =>
      daemon.events
        .filter((e) => e.event === name && e['runId'] === pass['runId'])
        .map((e) => [e['level'], e['change']]);

    // 1. Both appear: warn, change: appeared.
    const first = await daemon.waitFor('the start-up pass', ended);
    expect(first).toMatchObject({ event: 'reconcile.completed', violations: 1, unresolved: 1 });
    expect(of(first, 'rule.violation')).toEqual([['warn', 'appeared']]);
    expect(of(first, 'target.unresolved')).toEqual([['warn', 'appeared']]);
    expect(first).toMatchObject({ violationsUnchanged: 0, unresolvedUnchanged: 0 });

    // 2. The same on the next pass: the violation marked unchanged, the target a debug line, counted.
    const second = await nextPass('the second pass');
    expect(of(second, 'rule.violation')).toEqual([['warn', 'unchanged']]);
    expect(of(second, 'target.unresolved')).toEqual([['debug', 'unchanged']]);
    expect(second).toMatchObject({
      violations: 1,
      violationsUnchanged: 1,
      unresolved: 1,
      unresolvedUnchanged: 1,
    });
    let metrics = (await daemon.get('/metrics')).text;
    expect(sample(metrics, 'sgr_guardrail_violations{guardrail="no-internet-rdp"}')).toBe(1);
    expect(sample(metrics, 'sgr_targets_unresolved')).toBe(1);

    // 3. A second internet RDP rule, and the policy now names another missing group: only those are news.
    await authorize(moto.ec2(), groupId, [
      { IpProtocol: 'tcp', FromPort: 3389, ToPort: 3389, IpRanges: [{ CidrIp: '8.8.8.0/24' }] },
    ]);
    await writeFile(join(dir, 'web.yaml'), webPolicy(`still-no-group-${groupId}`));
    const third = await nextPass('the pass after the changes');
    expect(third).toMatchObject({ event: 'reconcile.completed', violations: 2, violationsUnchanged: 1 });
    expect(of(third, 'rule.violation')).toEqual(
      expect.arrayContaining([
        ['warn', 'appeared'],
        ['warn', 'unchanged'],
      ]),
    );
    expect(
      daemon.events
        .filter((e) => e.event === 'target.unresolved' && e['runId'] === third['runId'])
        .map((e) => [e['target'], e['level'], e['change']]),
    ).toEqual([[`groupName=still-no-group-${groupId}`, 'warn', 'appeared']]);
    expect(third).toMatchObject({ unresolved: 1, unresolvedUnchanged: 0 });

    // 4. The set turns invalid: each error appeared, then unchanged (still at error), counted on the skip.
    const broken = policyYaml('extra', groupId, [8443]).replace(
      '      ports: 8443',
      '      ports: 8443\n      colour: blue',
    );
    await writeFile(join(dir, 'extra.yaml'), broken);
    const fourth = await nextPass('the first skipped pass');
    expect(fourth).toMatchObject({ reason: 'invalid-policies', level: 'error', errorsUnchanged: 0 });
    const errors = fourth['errors'] as number;
    expect(errors).toBeGreaterThanOrEqual(1);
    expect(of(fourth, 'policy.invalid')).toEqual(Array(errors).fill(['error', 'appeared']));
    const fifth = await nextPass('the second skipped pass');
    expect(fifth).toMatchObject({ reason: 'invalid-policies', errors, errorsUnchanged: errors });
    expect(of(fifth, 'policy.invalid')).toEqual(Array(errors).fill(['error', 'unchanged']));
    // The file is written again, the same errors at the same places: still unchanged.
    await writeFile(join(dir, 'extra.yaml'), `${broken}# edited, still broken\n`);
    const sixth = await nextPass('the pass after the same file was rewritten');
    expect(sixth).toMatchObject({ reason: 'invalid-policies', errors, errorsUnchanged: errors });
    metrics = (await daemon.get('/metrics')).text;
    expect(sample(metrics, 'sgr_policy_set_valid')).toBe(0);
    expect(sample(metrics, 'sgr_passes_total{result="skipped_invalid"}')).toBe(3);

    // 5. Fixed: a pass runs (what it found before is still the same); broken again: news again.
    await writeFile(join(dir, 'extra.yaml'), policyYaml('extra', groupId, [8443]));
    const fixed = await nextPass('the pass after the fix');
    expect(fixed).toMatchObject({
      event: 'reconcile.completed',
      violationsUnchanged: 2,
      unresolvedUnchanged: 1,
    });
    expect(of(fixed, 'rule.violation')).toEqual(Array(2).fill(['warn', 'unchanged']));
    await writeFile(join(dir, 'extra.yaml'), broken);
    const again = await nextPass('the pass after it broke again');
    expect(again).toMatchObject({ reason: 'invalid-policies', errors, errorsUnchanged: 0 });
    expect(of(again, 'policy.invalid')).toEqual(Array(errors).fill(['error', 'appeared']));

    daemon.child.kill('SIGTERM');
    expect((await daemon.exit).code).toBe(0);
  }, 120_000);

  describe('--update-descriptions', () => {
    /** A group whose SSH rule policy `web` declares with another description ('web port 22'). */
    async function describedGroup(name: string): Promise<{ groupId: string; dir: string }> {
      const groupId = await newGroup(name);
      await authorize(moto.ec2(), groupId, [
        {
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          IpRanges: [{ CidrIp: '203.0.113.0/24', Description: 'old ssh text' }],
        },
      ]);
      return { groupId, dir: await policiesDir({ 'web.yaml': policyYaml('web', groupId, [22]) }) };
    }

    let proxy: FaultProxy;
    beforeAll(async () => {
      proxy = await startFaultProxy(moto.endpoint);
    });
    afterAll(async () => {
      await proxy?.stop();
    });

    it('SGR_UPDATE_DESCRIPTIONS=true: the daemon sets the policy description, retries one that failed, and counts both', async () => {
      const { groupId, dir } = await describedGroup('describe');
      // The first update is refused; the next pass (SIGHUP) updates it.
      proxy.addRule({
        action: 'UpdateSecurityGroupRuleDescriptionsIngress',
        fault: { kind: 'error', status: 403, code: 'UnauthorizedOperation' },
      });
      const daemon = await startDaemon({
        policies: dir,
        endpoint: proxy.endpoint,
        extraArgs: ['--schedule', '0 0 1 1 *'],
        env: { SGR_UPDATE_DESCRIPTIONS: 'true' },
      });
      expect(await daemon.waitFor('daemon.started', isEvent('daemon.started'))).toMatchObject({
        updateDescriptions: true,
      });
      const first = await daemon.waitFor('the first pass', isEvent('reconcile.completed'));
      expect(first).toMatchObject({ descriptionDrift: 1, descriptionUpdates: 1, descriptionsFailed: 1 });
      expect(daemon.events.filter(isEvent('rule.description_update_failed'))).toEqual([
        expect.objectContaining({
          groupId,
          live: 'old ssh text',
          desired: 'web port 22',
          errorCode: 'UnauthorizedOperation',
        }),
      ]);
      expectMetricsToMatchEvents((await daemon.get('/metrics')).text, daemon.events);

      const mark = daemon.events.length;
      daemon.child.kill('SIGHUP');
      const updated = await daemon.waitFor(
        'rule.description_updated',
        isEvent('rule.description_updated'),
        15_000,
        mark,
      );
      expect(updated).toMatchObject({ groupId, live: 'old ssh text', desired: 'web port 22', fromPort: 22 });
      const second = await daemon.waitFor('the second pass', isEvent('reconcile.completed'), 15_000, mark);
      expect(second).toMatchObject({ descriptionsUpdated: 1, descriptionsFailed: 0 });
      const rules = await listIngressRules(moto.ec2(), groupId);
      expect(rules.map((r) => [r.FromPort, r.Description])).toEqual([[22, 'web port 22']]);
      const text = (await daemon.get('/metrics')).text;
      expectMetricsToMatchEvents(text, daemon.events);
      expect(sample(text, 'sgr_rule_descriptions_updated_total')).toBe(1);
      expect(sample(text, 'sgr_rule_descriptions_update_failed_total')).toBe(1);

      daemon.child.kill('SIGTERM');
      expect((await daemon.exit).code).toBe(0);
    });

    it('without it, the daemon reports description drift only and changes nothing', async () => {
      const { groupId, dir } = await describedGroup('describe-off');
      const daemon = await startDaemon({ policies: dir, extraArgs: ['--schedule', '0 0 1 1 *'] });
      const first = await daemon.waitFor('the first pass', isEvent('reconcile.completed'));
      expect(first).toMatchObject({ descriptionDrift: 1 });
      expect(daemon.events.filter(isEvent('rule.description_drift'))).toEqual([
        expect.objectContaining({ groupId, live: 'old ssh text', reportedOnly: true }),
      ]);
      expect(daemon.events.filter(isEvent('rule.description_updated'))).toEqual([]);
      expect((await listIngressRules(moto.ec2(), groupId)).map((r) => r.Description)).toEqual([
        'old ssh text',
      ]);
      daemon.child.kill('SIGTERM');
      expect((await daemon.exit).code).toBe(0);
    });
  });

  describe('start-up failures', () => {
    it('exits 3 on a bad --schedule, before serving', async () => {
      const dir = await policiesDir({ 'web.yaml': policyYaml('web', 'sg-0123456789abcdef0', [22]) });
      const port = await freePort();
      const daemon = await startDaemon({ policies: dir, port, extraArgs: ['--schedule', '61 * * * *'] });
      const exit = await daemon.exit;
      expect(exit.code).toBe(3);
      expect(daemon.stdout()).toMatch(/minute/);
      expect(daemon.events.filter(isEvent('daemon.started'))).toEqual([]);
      expect(
        daemon.events.some(
          (e) => typeof e['error'] === 'string' && (e['error'] as string).includes('61 * * * *'),
        ),
      ).toBe(true);
    });

    it('exits 3 with one policy.invalid event per error when the policies are invalid at start-up', async () => {
      const dir = await policiesDir({
        'web.yaml': policyYaml('web', 'sg-0123456789abcdef0', [22]).replace(
          '      ports: 22',
          '      ports: 99999',
        ),
      });
      const daemon = await startDaemon({ policies: dir });
      const exit = await daemon.exit;
      expect(exit.code).toBe(3);
      const invalid = daemon.events.filter(isEvent('policy.invalid'));
      expect(invalid.length).toBeGreaterThanOrEqual(1);
      expect(invalid[0]).toMatchObject({
        file: expect.stringContaining('web.yaml'),
        line: 10,
        path: expect.stringContaining('ports'),
      });
      expect(daemon.events.filter(isEvent('daemon.started'))).toEqual([]);
      expect(daemon.events.filter(isEvent('reconcile.started'))).toEqual([]);
      // The last event says the daemon did not start, after the errors, with the exit code.
      expect(daemon.events.at(-1)).toMatchObject({
        event: 'daemon.failed',
        level: 'error',
        errorCode: 'InvalidPolicies',
        errors: invalid.length,
        exitCode: 3,
      });
    });

    it('exits 1 with daemon.failed when the listen address is not one of this host', async () => {
      const dir = await policiesDir({ 'web.yaml': policyYaml('web', 'sg-0123456789abcdef0', [22]) });
      const daemon = await startDaemon({
        policies: dir,
        // TEST-NET-1 (RFC 5737): never an address of this machine.
        extraArgs: ['--listen', '192.0.2.1:9464'],
      });
      expect((await daemon.exit).code).toBe(1);
      expect(daemon.events.at(-1)).toMatchObject({
        event: 'daemon.failed',
        errorCode: 'EADDRNOTAVAIL',
        listen: '192.0.2.1:9464',
        exitCode: 1,
        // What to write instead, not only Node's "address not available".
        error: expect.stringContaining(
          '192.0.2.1 is not an address of this host: pass --listen with one of its addresses',
        ) as unknown,
      });
      expect(daemon.events.filter(isEvent('daemon.started'))).toEqual([]);
    });

    it('exits 3 with daemon.failed when the account inventory file is invalid', async () => {
      const dir = await policiesDir({
        'web.yaml': policyYaml('web', 'sg-0123456789abcdef0', [22]),
        'inventory/accounts.yml':
          'apiVersion: sg-reconciler/v1\nkind: AccountInventory\nspec:\n  acounts: []\n',
      });
      const daemon = await startDaemon({
        policies: join(dir, 'web.yaml'),
        extraArgs: ['--accounts', join(dir, 'inventory', 'accounts.yml')],
      });
      expect((await daemon.exit).code).toBe(3);
      expect(daemon.events.filter(isEvent('policy.invalid')).length).toBeGreaterThanOrEqual(1);
      expect(daemon.events.at(-1)).toMatchObject({
        event: 'daemon.failed',
        errorCode: 'InvalidInventory',
        exitCode: 3,
      });
    });

    it('exits 1 with a clear event when the listen port is taken', async () => {
      const blocker: Server = createServer();
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
      cleanups.push(() => new Promise((r) => blocker.close(() => r())));
      const port = (blocker.address() as { port: number }).port;
      const dir = await policiesDir({ 'web.yaml': policyYaml('web', 'sg-0123456789abcdef0', [22]) });
      const daemon = await startDaemon({ policies: dir, port });
      expect((await daemon.exit).code).toBe(1);
      expect(daemon.events.find(isEvent('daemon.failed'))).toMatchObject({
        errorCode: 'EADDRINUSE',
        listen: `127.0.0.1:${port}`,
        exitCode: 1,
      });
    });
  });
});
