// The daemon's drift memory (a drift reported when it appears or changes, not on every pass) and
// reconcile.progress (a long pass says how far it has got), driven through reconcilePass on the
// in-memory EC2.
import { describe, expect, it } from 'vitest';
import { captureLogger, type LogLine } from '../helpers/log-capture.js';
import { Ec2Error } from '../../src/aws/port.js';
import type { LogLevel } from '../../src/logging.js';
import { createDriftMemory, type DriftMemory } from '../../src/reconcile/drift-memory.js';
import { reconcilePass, type PassDeps } from '../../src/reconcile/pass.js';
import type { PassMode, PassResult } from '../../src/reconcile/types.js';
import { fakeWorld, policy, tcp, type FakeEc2 } from '../helpers/fake-ec2.js';

const REGION = 'us-east-1';
const ssh = tcp(22, '10.0.0.0/8', 'SSH from the office');

async function pass(
  world: FakeEc2,
  options: { mode?: PassMode; driftMemory?: DriftMemory; deps?: Partial<PassDeps>; level?: LogLevel } = {},
): Promise<{ result: PassResult; lines: LogLine[] }> {
  const { logger, lines } = captureLogger(options.level ?? 'info');
  const result = await reconcilePass(
    {
      ports: world.ports(),
      logger,
      ...(options.driftMemory !== undefined ? { driftMemory: options.driftMemory } : {}),
      ...options.deps,
    },
    {
      mode: options.mode ?? 'apply',
      policies: [policy({ name: 'office', targets: ['sg-1'], rules: [ssh] })],
      defaultRegion: REGION,
      maxRulesPerGroup: 60,
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
    const driftMemory = createDriftMemory();

    const first = await pass(world, { driftMemory, level: 'debug' });
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
    const second = await pass(world, { driftMemory, level: 'debug' });
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
    const third = await pass(world, { driftMemory });
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
    const driftMemory = createDriftMemory();
    await pass(world, { driftMemory });
    world.fail(
      'DescribeSecurityGroups',
      new Ec2Error('UnauthorizedOperation', 'denied', 'DescribeSecurityGroups'),
      {
        times: 1,
      },
    );
    const failedRead = await pass(world, { driftMemory });
    expect(named(failedRead.lines, 'read.failed', 'error')).toHaveLength(1);
    const after = await pass(world, { driftMemory });
    expect(named(after.lines, 'rule.drift')).toEqual([]);
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
