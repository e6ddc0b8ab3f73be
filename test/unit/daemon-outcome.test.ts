// The outcome handler: the one place that turns a pass's outcome into events, metrics and readiness.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../src/logging.js';
import {
  createDaemonMetrics,
  MAX_ACCOUNT_LABELS,
  OTHER_ACCOUNTS_LABEL,
  type DaemonMetrics,
} from '../../src/daemon/metrics.js';
import { createOutcomeHandler, readinessOf, type DaemonState } from '../../src/daemon/outcome.js';
import type { PassCounts, PassResult } from '../../src/reconcile/types.js';

type Line = Record<string, unknown>;

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (text: string) => void lines.push(JSON.parse(text) as Line) },
  });
  return { logger, lines };
}

async function value(
  metrics: DaemonMetrics,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  // A histogram's _count and _sum series belong to the histogram itself.
  const base = name.replace(/_(count|sum)$/, '');
  const metric = metrics.registry.getSingleMetric(name) ?? metrics.registry.getSingleMetric(base);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const match = values.find(
    (v: { metricName?: string; labels: Record<string, string | number | undefined> }) =>
      (v.metricName ?? name) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  if (match === undefined) throw new Error(`no ${name} series with ${JSON.stringify(labels)}`);
  return match.value;
}

const COUNTS: PassCounts = {
  groups: 3,
  desired: 10,
  missing: 4,
  authorized: 3,
  failed: 1,
  drift: 2,
  descriptionDrift: 1,
  unresolved: 1,
  readFailures: 0,
};

function completed(runId: string, counts: Partial<PassCounts> = {}, durationMs = 1500): PassResult {
  return {
    status: 'completed',
    runId,
    mode: 'apply',
    durationMs,
    plan: { groups: [], unresolved: [], readFailures: [] },
    counts: { ...COUNTS, ...counts },
  };
}

function failed(runId: string, errorCode: string): PassResult {
  return { status: 'failed', runId, mode: 'apply', durationMs: 200, errorCode, error: 'it broke' };
}

function setup(now = 1_700_000_000_000): {
  handler: ReturnType<typeof createOutcomeHandler>;
  metrics: DaemonMetrics;
  lines: Line[];
} {
  const { logger, lines } = capture();
  const metrics = createDaemonMetrics({ defaultMetrics: false });
  const handler = createOutcomeHandler({ metrics, logger, mode: 'apply', now: () => now });
  // As the daemon does once the start-up policy set has validated.
  handler.policiesLoaded();
  return { handler, metrics, lines };
}

describe('readinessOf', () => {
  const base: DaemonState = {
    completedPasses: 0,
    lastFailure: undefined,
    policySetValid: true,
    shuttingDown: false,
    lastCompletedAt: undefined,
  };

  it.each([
    ['before any pass', {}, { ready: false, reason: 'no pass completed yet' }],
    ['after a completed pass', { completedPasses: 1 }, { ready: true }],
    [
      'when the last pass failed outright',
      { completedPasses: 2, lastFailure: 'AuthFailure' },
      { ready: false, reason: 'last pass failed: AuthFailure' },
    ],
    [
      'when the first pass failed',
      { lastFailure: 'InternalError' },
      { ready: false, reason: 'last pass failed: InternalError' },
    ],
    [
      'when no pass completed and the policy set went invalid',
      { policySetValid: false },
      { ready: false, reason: 'policies invalid' },
    ],
    [
      'after a completed pass even if the policy set is now invalid',
      { completedPasses: 1, policySetValid: false },
      { ready: true },
    ],
    [
      'while shutting down, whatever else holds',
      { completedPasses: 5, shuttingDown: true },
      { ready: false, reason: 'shutting down' },
    ],
  ])('is %s', (_name, patch, expected) => {
    expect(readinessOf({ ...base, ...patch })).toEqual(expected);
  });
});

describe('createOutcomeHandler', () => {
  it('records a completed pass: counters add up, gauges hold the last pass, readiness turns on', async () => {
    const { handler, metrics, lines } = setup();
    expect(handler.readiness()).toEqual({ ready: false, reason: 'no pass completed yet' });

    handler.passStarted();
    expect(await value(metrics, 'sgr_pass_in_progress')).toBe(1);
    handler.handle({ kind: 'result', result: completed('r1') });
    handler.handle({
      kind: 'result',
      result: completed('r2', { authorized: 2, failed: 0, missing: 2, drift: 5, readFailures: 2 }),
    });

    expect(handler.readiness()).toEqual({ ready: true });
    expect(await value(metrics, 'sgr_pass_in_progress')).toBe(0);
    expect(await value(metrics, 'sgr_passes_total', { result: 'completed' })).toBe(2);
    expect(await value(metrics, 'sgr_rules_authorized_total')).toBe(5);
    expect(await value(metrics, 'sgr_rules_failed_total')).toBe(1);
    expect(await value(metrics, 'sgr_rules_missing')).toBe(2);
    expect(await value(metrics, 'sgr_rules_drift')).toBe(5);
    expect(await value(metrics, 'sgr_rules_description_drift')).toBe(1);
    expect(await value(metrics, 'sgr_rules_desired')).toBe(10);
    expect(await value(metrics, 'sgr_groups')).toBe(3);
    expect(await value(metrics, 'sgr_targets_unresolved')).toBe(1);
    expect(await value(metrics, 'sgr_read_failures')).toBe(2);
    expect(await value(metrics, 'sgr_last_success_timestamp_seconds')).toBe(1_700_000_000);
    expect(await value(metrics, 'sgr_policy_set_valid')).toBe(1);
    expect(await value(metrics, 'sgr_pass_duration_seconds_count', { result: 'completed' })).toBe(2);
    expect(await value(metrics, 'sgr_pass_duration_seconds_sum', { result: 'completed' })).toBe(3);
    // reconcilePass reports its own passes; the handler adds nothing for them.
    expect(lines).toEqual([]);
  });

  it('exposes every pass result series at zero before any pass', async () => {
    const { metrics } = setup();
    expect(await value(metrics, 'sgr_policy_set_valid')).toBe(1);
    for (const result of ['completed', 'failed', 'skipped_overlap', 'skipped_invalid']) {
      expect(await value(metrics, 'sgr_passes_total', { result })).toBe(0);
    }
    expect(await value(metrics, 'sgr_last_success_timestamp_seconds')).toBe(0);
  });

  it('turns readiness off when a pass fails outright and on again after the next completed pass', async () => {
    const { handler, metrics, lines } = setup();
    handler.handle({ kind: 'result', result: completed('r1') });
    handler.handle({ kind: 'result', result: failed('r2', 'RequestLimitExceeded') });

    expect(handler.readiness()).toEqual({ ready: false, reason: 'last pass failed: RequestLimitExceeded' });
    expect(await value(metrics, 'sgr_passes_total', { result: 'failed' })).toBe(1);
    expect(await value(metrics, 'sgr_pass_duration_seconds_count', { result: 'failed' })).toBe(1);
    // The gauges keep describing the last completed pass.
    expect(await value(metrics, 'sgr_rules_missing')).toBe(4);
    expect(lines).toEqual([]);

    handler.handle({ kind: 'result', result: completed('r3') });
    expect(handler.readiness()).toEqual({ ready: true });
  });

  it('shows the failed reads of a pass that failed outright, and counts every failed read', async () => {
    const { handler, metrics } = setup();
    const readFailure = {
      region: 'us-east-1',
      action: 'DescribeSecurityGroups',
      errorCode: 'UnauthorizedOperation',
      error: 'denied',
      policies: ['web'],
      targets: ['groupId sg-1'],
    };
    // A completed pass with one failed read, then a pass whose three reads all failed: the pass
    // reports read.failed (planned) and then fails outright (reconcile.failed).
    const first = handler.observerFor('r1');
    first.planned?.({ groups: [], unresolved: [], readFailures: [readFailure] });
    handler.handle({ kind: 'result', result: completed('r1', { readFailures: 1 }) });
    expect(await value(metrics, 'sgr_read_failures')).toBe(1);

    const second = handler.observerFor('r2');
    second.planned?.({ groups: [], unresolved: [], readFailures: [readFailure, readFailure, readFailure] });
    handler.handle({ kind: 'result', result: failed('r2', 'UnauthorizedOperation') });
    expect(await value(metrics, 'sgr_read_failures')).toBe(3);
    expect(await value(metrics, 'sgr_read_failures_total')).toBe(4);

    // A pass that failed before it read anything had no failed read.
    handler.observerFor('r3');
    handler.handle({ kind: 'result', result: failed('r3', 'NoRegion') });
    expect(await value(metrics, 'sgr_read_failures')).toBe(0);
    expect(await value(metrics, 'sgr_read_failures_total')).toBe(4);
  });

  it('exposes sgr_build_info 1 with the version and the Node.js version', async () => {
    const metrics = createDaemonMetrics({ defaultMetrics: false, version: '9.8.7' });
    expect(
      await value(metrics, 'sgr_build_info', { version: '9.8.7', node_version: process.versions.node }),
    ).toBe(1);
    const text = await metrics.registry.metrics();
    expect(text).toContain(`sgr_build_info{version="9.8.7",node_version="${process.versions.node}"} 1`);
    // By default the package's own version.
    const own = await createDaemonMetrics({ defaultMetrics: false }).registry.metrics();
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(own).toContain(`sgr_build_info{version="${version}",`);
  });

  it('reports a pass that threw as reconcile.failed with its runId and counts it as failed', async () => {
    const { handler, metrics, lines } = setup();
    handler.passStarted();
    handler.handle({
      kind: 'crashed',
      runId: 'r9',
      durationMs: 42,
      errorCode: 'InternalError',
      error: 'boom',
    });

    expect(lines).toEqual([
      expect.objectContaining({
        event: 'reconcile.failed',
        level: 'error',
        runId: 'r9',
        mode: 'apply',
        errorCode: 'InternalError',
        error: 'boom',
        durationMs: 42,
      }),
    ]);
    expect(handler.readiness()).toEqual({ ready: false, reason: 'last pass failed: InternalError' });
    expect(await value(metrics, 'sgr_passes_total', { result: 'failed' })).toBe(1);
    expect(await value(metrics, 'sgr_pass_in_progress')).toBe(0);
  });

  it('reports an overlapping tick as reconcile.skipped and leaves readiness alone', async () => {
    const { handler, metrics, lines } = setup();
    handler.handle({ kind: 'result', result: completed('r1') });
    handler.passStarted();
    handler.handle({ kind: 'skipped-overlap', runId: 'r2', inFlightRunId: 'r1' });

    expect(lines).toEqual([
      expect.objectContaining({
        event: 'reconcile.skipped',
        reason: 'overlap',
        runId: 'r2',
        inFlightRunId: 'r1',
      }),
    ]);
    expect(handler.readiness()).toEqual({ ready: true });
    expect(await value(metrics, 'sgr_passes_total', { result: 'skipped_overlap' })).toBe(1);
    // The pass in flight is still in flight.
    expect(await value(metrics, 'sgr_pass_in_progress')).toBe(1);
  });

  it('reports an invalid policy set per error, marks the set invalid, and stays ready', async () => {
    const { handler, metrics, lines } = setup();
    handler.handle({ kind: 'result', result: completed('r1') });
    handler.handle({
      kind: 'skipped-invalid',
      runId: 'r2',
      errors: [
        {
          file: 'a.yaml',
          line: 3,
          column: 5,
          path: 'spec.ingress[0].ports',
          message: 'ports is required for tcp',
        },
        { file: 'b.yaml', line: 1, column: 1, path: '', message: 'not a YAML mapping' },
      ],
    });

    expect(lines.map((l) => [l['event'], l['runId']])).toEqual([
      ['policy.invalid', 'r2'],
      ['policy.invalid', 'r2'],
      ['reconcile.skipped', 'r2'],
    ]);
    expect(lines[0]).toMatchObject({
      file: 'a.yaml',
      line: 3,
      column: 5,
      path: 'spec.ingress[0].ports',
      error: 'ports is required for tcp',
    });
    expect(lines[2]).toMatchObject({ reason: 'invalid-policies', errors: 2, level: 'error' });
    expect(handler.readiness()).toEqual({ ready: true });
    expect(await value(metrics, 'sgr_policy_set_valid')).toBe(0);
    expect(await value(metrics, 'sgr_passes_total', { result: 'skipped_invalid' })).toBe(1);

    handler.handle({ kind: 'result', result: completed('r3') });
    expect(await value(metrics, 'sgr_policy_set_valid')).toBe(1);
  });

  it('a pass that failed on account selectors the discovered inventory cannot serve makes the set invalid', async () => {
    const { handler, metrics } = setup();
    handler.handle({ kind: 'result', result: completed('r1') });
    expect(await value(metrics, 'sgr_policy_set_valid')).toBe(1);
    handler.handle({
      kind: 'result',
      result: {
        ...failed('r2', 'InvalidAccountSelectors'),
        policyErrors: [
          { file: 'a.yaml', line: 6, column: 14, path: 'spec.accounts[0]', message: 'no such account' },
        ],
      } as PassResult,
    });
    expect(await value(metrics, 'sgr_policy_set_valid')).toBe(0);
    handler.handle({ kind: 'result', result: failed('r3', 'AuthFailure') });
    expect(await value(metrics, 'sgr_policy_set_valid')).toBe(1);
  });

  it('says "shutting down" once told so', () => {
    const { handler } = setup();
    handler.handle({ kind: 'result', result: completed('r1') });
    handler.shuttingDown();
    expect(handler.readiness()).toEqual({ ready: false, reason: 'shutting down' });
  });
});

describe('metrics of unreachable accounts', () => {
  function withFailures(runId: string, accounts: readonly string[]): PassResult {
    return {
      status: 'completed',
      runId,
      mode: 'apply',
      durationMs: 10,
      plan: {
        groups: [],
        unresolved: [],
        readFailures: [],
        accountFailures: accounts.map((account) => ({
          account,
          errorCode: 'AccessDenied',
          error: 'denied',
          regions: ['us-east-1'],
        })),
      },
      counts: { ...COUNTS, units: 2 * accounts.length + 5, accountsFailed: accounts.length },
    };
  }

  it('count failed accounts, and failures per account with at most MAX_ACCOUNT_LABELS series', async () => {
    const { handler, metrics } = setup();
    const many = Array.from({ length: MAX_ACCOUNT_LABELS + 30 }, (_, i) => String(100_000_000_000 + i));
    handler.handle({ kind: 'result', result: withFailures('r1', many) });
    handler.handle({ kind: 'result', result: withFailures('r2', [many[0] as string, '999999999999']) });

    expect(await value(metrics, 'sgr_accounts_failed')).toBe(2);
    expect(await value(metrics, 'sgr_units')).toBe(9);
    expect(await value(metrics, 'sgr_account_failures_total', { account: many[0] as string })).toBe(2);
    // The 30 accounts past the cap, and a new one later, share one series.
    expect(await value(metrics, 'sgr_account_failures_total', { account: OTHER_ACCOUNTS_LABEL })).toBe(31);
    const series =
      (await metrics.registry.getSingleMetric('sgr_account_failures_total')?.get())?.values ?? [];
    expect(series).toHaveLength(MAX_ACCOUNT_LABELS + 1);
  });
});
