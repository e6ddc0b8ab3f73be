// The daemon's report memory (drift, violations, unresolved targets and account-selector errors
// reported when they appear or change, not on every pass) and reconcile.progress (a long pass says
// how far it has got), driven through reconcilePass on the in-memory EC2.
import { describe, expect, it } from 'vitest';
import { captureLogger, type LogLine } from '../helpers/log-capture.js';
import { Ec2Error } from '../../src/aws/port.js';
import type { LogLevel } from '../../src/logging.js';
import type { Guardrail } from '../../src/model/guardrail.js';
import type { Policy } from '../../src/model/policy.js';
import { createReportMemory, type ReportMemory } from '../../src/reconcile/report-memory.js';
import { reconcilePass, type PassDeps } from '../../src/reconcile/pass.js';
import type { PassMode, PassResult } from '../../src/reconcile/types.js';
import { fakeWorld, policy, tcp, type FakeEc2 } from '../helpers/fake-ec2.js';

const REGION = 'us-east-1';
const ssh = tcp(22, '10.0.0.0/8', 'SSH from the office');

async function pass(
  world: FakeEc2,
  options: {
    mode?: PassMode;
    reportMemory?: ReportMemory;
    deps?: Partial<PassDeps>;
    level?: LogLevel;
    policies?: readonly Policy[];
    guardrails?: readonly Guardrail[];
  } = {},
): Promise<{ result: PassResult; lines: LogLine[] }> {
  const { logger, lines } = captureLogger(options.level ?? 'info');
  const result = await reconcilePass(
    {
      ports: world.ports(),
      logger,
      ...(options.reportMemory !== undefined ? { reportMemory: options.reportMemory } : {}),
      ...options.deps,
    },
    {
      mode: options.mode ?? 'apply',
      policies: options.policies ?? [policy({ name: 'office', targets: ['sg-1'], rules: [ssh] })],
      defaultRegion: REGION,
      maxRulesPerGroup: 60,
      ...(options.guardrails !== undefined ? { guardrails: options.guardrails } : {}),
    },
  );
  return { result, lines };
}

const named = (lines: readonly LogLine[], event: string, level = 'info'): LogLine[] =>
  lines.filter((l) => l.event === event && l.level === level);

describe('drift reported by a daemon (a drift memory across passes)', () => {
  it('reports a drift at info when it appears or changes, as a debug line while unchanged, and counts the unchanged', async () => {
    const world = fakeWorld()
      .group({ id: 'sg-1' })
      .rule('sg-1', tcp(3389, '0.0.0.0/0', 'rdp'))
      .rule('sg-1', tcp(22, '10.0.0.0/8', 'old text'));
    const reportMemory = createReportMemory();

    const first = await pass(world, { reportMemory, level: 'debug' });
    expect(named(first.lines, 'rule.drift').map((l) => [l.fromPort, l.change])).toEqual([[3389, 'appeared']]);
    expect(named(first.lines, 'rule.description_drift').map((l) => [l.live, l.change])).toEqual([
      ['old text', 'appeared'],
    ]);
    expect(named(first.lines, 'reconcile.completed')[0]).toMatchObject({
      drift: 1,
      driftUnchanged: 0,
      descriptionDriftUnchanged: 0,
    });

    // Nothing changed: no info line, one debug line each, the totals unchanged.
    const second = await pass(world, { reportMemory, level: 'debug' });
    expect(named(second.lines, 'rule.drift')).toEqual([]);
    expect(named(second.lines, 'rule.description_drift')).toEqual([]);
    expect(named(second.lines, 'rule.drift', 'debug').map((l) => [l.fromPort, l.change])).toEqual([
      [3389, 'unchanged'],
    ]);
    expect(named(second.lines, 'rule.description_drift', 'debug')).toHaveLength(1);
    expect(named(second.lines, 'reconcile.completed')[0]).toMatchObject({
      drift: 1,
      descriptionDrift: 1,
      driftUnchanged: 1,
      descriptionDriftUnchanged: 1,
    });

    // A new undeclared rule appears, and the existing one's description changes: both reported.
    world.rule('sg-1', tcp(8080, '192.0.2.0/24'));
    await world.port().updateIngressDescriptions({
      groupId: 'sg-1',
      rules: [tcp(3389, '0.0.0.0/0', 'rdp, now documented')],
      dryRun: false,
    });
    const third = await pass(world, { reportMemory });
    expect(named(third.lines, 'rule.drift').map((l) => [l.fromPort, l.change])).toEqual(
      expect.arrayContaining([
        [3389, 'changed'],
        [8080, 'appeared'],
      ]),
    );
    expect(named(third.lines, 'reconcile.completed')[0]).toMatchObject({ drift: 2, driftUnchanged: 0 });
  });

  it('one-shot plan and apply (no memory) report every drift at info on every pass', async () => {
    const world = fakeWorld().group({ id: 'sg-1' }).rule('sg-1', tcp(3389, '0.0.0.0/0'));
    for (const mode of ['plan', 'apply', 'apply'] as const) {
      const { lines } = await pass(world, { mode });
      expect(named(lines, 'rule.drift').map((l) => l.fromPort)).toEqual([3389]);
      expect(named(lines, 'rule.drift')[0]).not.toHaveProperty('change');
      expect(named(lines, 'reconcile.completed')[0]).not.toHaveProperty('driftUnchanged');
    }
  });

  it('keeps what it knew of a group whose read failed, so its drift is not reported again after', async () => {
    const world = fakeWorld()
      .group({ id: 'sg-1' })
      .group({ id: 'sg-2' })
      .rule('sg-1', tcp(3389, '0.0.0.0/0'));
    const reportMemory = createReportMemory();
    await pass(world, { reportMemory });
    world.fail(
      'DescribeSecurityGroups',
      new Ec2Error('UnauthorizedOperation', 'denied', 'DescribeSecurityGroups'),
      {
        times: 1,
      },
    );
    const failedRead = await pass(world, { reportMemory });
    expect(named(failedRead.lines, 'read.failed', 'error')).toHaveLength(1);
    const after = await pass(world, { reportMemory });
    expect(named(after.lines, 'rule.drift')).toEqual([]);
  });
});

const AT = { file: 'policies/guardrails.yaml', line: 9, column: 7 };
const NO_INTERNET_RDP: Guardrail = {
  name: 'no-internet-rdp',
  file: AT.file,
  position: AT,
  description: undefined,
  deny: [{ protocol: 'tcp', ports: [{ from: 3389, to: 3389 }], from: { kind: 'internet' }, position: AT }],
  exceptions: [],
};

describe('violations and unresolved targets reported by a daemon', () => {
  const policies = [policy({ name: 'office', targets: ['sg-1', { name: 'no-such-group' }], rules: [ssh] })];
  const guarded = (
    world: FakeEc2,
    options: { reportMemory?: ReportMemory; mode?: PassMode },
  ): ReturnType<typeof pass> =>
    pass(world, { ...options, policies, guardrails: [NO_INTERNET_RDP], level: 'debug' });
  const seen = (lines: readonly LogLine[], event: string): unknown[][] =>
    lines.filter((l) => l.event === event).map((l) => [l.level, l.change]);

  it('reports violations at warn on every pass (change: appeared, then unchanged) and unchanged unresolved targets as debug lines, and counts the unchanged on reconcile.completed', async () => {
    const world = fakeWorld().vpc('vpc-1', { default: true }).group({ id: 'sg-1' });
    world.rule('sg-1', tcp(3389, '0.0.0.0/0', 'rdp'));
    const reportMemory = createReportMemory();

    const first = await guarded(world, { reportMemory });
    expect(seen(first.lines, 'rule.violation')).toEqual([['warn', 'appeared']]);
    expect(seen(first.lines, 'target.unresolved')).toEqual([['warn', 'appeared']]);
    expect(named(first.lines, 'reconcile.completed')[0]).toMatchObject({
      violations: 1,
      violationsUnchanged: 0,
      unresolved: 1,
      unresolvedUnchanged: 0,
    });

    const second = await guarded(world, { reportMemory });
    expect(seen(second.lines, 'rule.violation')).toEqual([['warn', 'unchanged']]);
    expect(seen(second.lines, 'target.unresolved')).toEqual([['debug', 'unchanged']]);
    // SPEC: every violating live rule a pass reads is reported, so it stays a warning; its message
    // (and change) say it is not news. The unresolved target is a debug line with all its fields.
    expect(named(second.lines, 'rule.violation', 'warn')[0]).toMatchObject({
      guardrail: 'no-internet-rdp',
      guardrailEntry: 0,
      groupId: 'sg-1',
      fromPort: 3389,
      msg: 'live ingress rule violates a guardrail, unchanged since the last pass; it is not revoked',
    });
    expect(named(second.lines, 'target.unresolved', 'debug')[0]).toMatchObject({
      policy: 'office',
      target: 'groupName=no-such-group',
      region: REGION,
    });
    expect(named(second.lines, 'reconcile.completed')[0]).toMatchObject({
      violations: 1,
      violationsUnchanged: 1,
      unresolved: 1,
      unresolvedUnchanged: 1,
    });

    // A second violating rule appears: only it is news; the group now resolves the name target.
    world.rule('sg-1', tcp(3389, '8.8.8.0/24', 'rdp from a partner'));
    world.group({ id: 'sg-2', name: 'no-such-group', vpcId: 'vpc-1' });
    const third = await guarded(world, { reportMemory });
    expect(seen(third.lines, 'rule.violation')).toEqual(
      expect.arrayContaining([
        ['warn', 'unchanged'],
        ['warn', 'appeared'],
      ]),
    );
    expect(seen(third.lines, 'target.unresolved')).toEqual([]);
    expect(named(third.lines, 'reconcile.completed')[0]).toMatchObject({
      violations: 2,
      violationsUnchanged: 1,
      unresolved: 0,
      unresolvedUnchanged: 0,
    });
  });

  it('a failed read does not make them disappear: after it they are still unchanged', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    world.rule('sg-1', tcp(3389, '0.0.0.0/0', 'rdp'));
    const reportMemory = createReportMemory();
    await guarded(world, { reportMemory });
    world.fail(
      'DescribeSecurityGroups',
      new Ec2Error('RequestLimitExceeded', 'throttled', 'DescribeSecurityGroups'),
      {
        times: Infinity,
      },
    );
    const failed = await guarded(world, { reportMemory });
    expect(named(failed.lines, 'read.failed', 'error').length).toBeGreaterThanOrEqual(1);
    expect(seen(failed.lines, 'rule.violation')).toEqual([]);
    const fresh = fakeWorld().group({ id: 'sg-1' });
    fresh.rule('sg-1', tcp(3389, '0.0.0.0/0', 'rdp'));
    const after = await guarded(fresh, { reportMemory });
    expect(seen(after.lines, 'rule.violation')).toEqual([['warn', 'unchanged']]);
    expect(seen(after.lines, 'target.unresolved')).toEqual([['debug', 'unchanged']]);
  });

  it('one-shot plan and apply (no memory) report every one at warn on every pass, without change', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    world.rule('sg-1', tcp(3389, '0.0.0.0/0', 'rdp'));
    for (const mode of ['plan', 'apply', 'apply'] as const) {
      const { lines } = await guarded(world, { mode });
      expect(seen(lines, 'rule.violation')).toEqual([['warn', undefined]]);
      expect(seen(lines, 'target.unresolved')).toEqual([['warn', undefined]]);
      expect(named(lines, 'reconcile.completed')[0]).not.toHaveProperty('violationsUnchanged');
      expect(named(lines, 'reconcile.completed')[0]).not.toHaveProperty('unresolvedUnchanged');
    }
  });

  it('account selectors the inventory cannot serve: policy.invalid appeared, then unchanged (still at error), appeared again after a pass that passed the check', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const selecting = [
      policy({
        name: 'office',
        targets: ['sg-1'],
        rules: [ssh],
        accounts: [{ kind: 'id', id: '222222222222' }],
      }),
    ];
    const reportMemory = createReportMemory();
    const run = (p: readonly Policy[]): ReturnType<typeof pass> =>
      pass(world, { reportMemory, policies: p, level: 'debug' });
    const invalid = (lines: readonly LogLine[]): unknown[][] => seen(lines, 'policy.invalid');

    const first = await run(selecting);
    expect(invalid(first.lines)).toEqual([['error', 'appeared']]);
    expect(named(first.lines, 'reconcile.failed', 'error')[0]).toMatchObject({
      errorCode: 'InvalidAccountSelectors',
      errors: 1,
      errorsUnchanged: 0,
    });
    const again = await run(selecting);
    // SPEC: one policy.invalid per error, so it stays an error; its message and change say it is not news.
    expect(invalid(again.lines)).toEqual([['error', 'unchanged']]);
    // The pass still fails at error level as before (a configuration error every time), counting the
    // errors that were not news.
    expect(again.result).toMatchObject({ status: 'failed', errorCode: 'InvalidAccountSelectors' });
    expect(named(again.lines, 'reconcile.failed', 'error')[0]).toMatchObject({
      errors: 1,
      errorsUnchanged: 1,
    });
    // A pass whose selectors pass the check forgets the errors: made again, they are news again.
    expect(invalid((await run(policies)).lines)).toEqual([]);
    expect(invalid((await run(selecting)).lines)).toEqual([['error', 'appeared']]);
  });
});

describe('reconcile.progress', () => {
  it('a slow pass reports phase, units done of total and groups read, every interval, and stops when it ends', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    world.latencyMs = 60;
    const { result, lines } = await pass(world, { deps: { progressIntervalMs: 25 } });
    expect(result.status).toBe('completed');
    const progress = lines.filter((l) => l.event === 'reconcile.progress');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]).toMatchObject({ level: 'info', mode: 'apply', phase: 'reading', done: 0, total: 1 });
    expect(progress.at(-1)).toMatchObject({ phase: 'writing', total: 1, groupsRead: 1 });
    expect(progress.every((l) => typeof l.elapsedMs === 'number' && l.runId === result.runId)).toBe(true);
    // Nothing after the pass ended.
    const completedAt = lines.findIndex((l) => l.event === 'reconcile.completed');
    expect(lines.slice(completedAt).filter((l) => l.event === 'reconcile.progress')).toEqual([]);
    await new Promise((r) => setTimeout(r, 80));
    expect(lines.filter((l) => l.event === 'reconcile.progress')).toHaveLength(progress.length);
  });

  it('while the own account and the accounts are still answering: phase accounts, no units (never 0 of 0), then accounts reached of total', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const { logger, lines } = captureLogger('info');
    const slowly = <T>(value: T, ms: number): Promise<T> =>
      new Promise((resolve) => setTimeout(() => resolve(value), ms));
    const result = await reconcilePass(
      {
        ports: world.ports(),
        logger,
        progressIntervalMs: 20,
        accounts: {
          // GetCallerIdentity, then AssumeRole, each answering slowly.
          ownAccount: () => slowly({ account: '111111111111', partition: 'aws' }, 70),
          reach: () => slowly(undefined, 70),
        },
      },
      {
        mode: 'plan',
        policies: [policy({ name: 'office', targets: ['sg-1'], rules: [ssh] })],
        defaultRegion: REGION,
        maxRulesPerGroup: 60,
      },
    );
    expect(result.status).toBe('completed');
    const progress = lines.filter((l) => l.event === 'reconcile.progress');
    const accounts = progress.filter((l) => l.phase === 'accounts');
    expect(accounts.length).toBeGreaterThanOrEqual(2);
    // Before the own account is known: no done/total at all.
    expect(accounts[0]).toMatchObject({ phase: 'accounts', groupsRead: 0 });
    expect(accounts[0]).not.toHaveProperty('total');
    // Then the one account to reach.
    expect(accounts.at(-1)).toMatchObject({ phase: 'accounts', done: 0, total: 1 });
    expect(progress.some((l) => l.total === 0)).toBe(false);
  });

  it('says nothing for a pass shorter than the interval (the default is 10 s)', async () => {
    const { lines } = await pass(fakeWorld().group({ id: 'sg-1' }));
    expect(lines.filter((l) => l.event === 'reconcile.progress')).toEqual([]);
  });

  it('stops when the pass is aborted, even while the pass is still stuck', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    world.latencyMs = 200;
    const controller = new AbortController();
    const { logger, lines } = captureLogger('info');
    const running = reconcilePass(
      { ports: world.ports(), logger, progressIntervalMs: 20 },
      {
        mode: 'apply',
        policies: [policy({ name: 'office', targets: ['sg-1'], rules: [ssh] })],
        defaultRegion: REGION,
        maxRulesPerGroup: 60,
        signal: controller.signal,
      },
    );
    await new Promise((r) => setTimeout(r, 70));
    controller.abort();
    const count = lines.filter((l) => l.event === 'reconcile.progress').length;
    expect(count).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 80));
    expect(lines.filter((l) => l.event === 'reconcile.progress')).toHaveLength(count);
    expect((await running).status).toBe('failed');
  });
});
