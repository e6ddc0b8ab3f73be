import { describe, expect, it } from 'vitest';
import { captureLogger, type LogLine } from '../helpers/log-capture.js';
import { Ec2Error, type LiveGroup } from '../../src/aws/port.js';
import { exitCodeFor } from '../../src/exit-codes.js';
import type { Policy } from '../../src/model/policy.js';
import { reconcilePass, type PassRequest } from '../../src/reconcile/pass.js';
import type { PassMode, PassResult } from '../../src/reconcile/types.js';
import { fakeWorld, policy, selfRule, tcp, type FakeEc2 } from '../helpers/fake-ec2.js';

const REGION = 'us-east-1';
const AUTHORIZE = 'AuthorizeSecurityGroupIngress';

function events(lines: readonly LogLine[], name: string): LogLine[] {
  return lines.filter((l) => l.event === name);
}

async function pass(
  world: FakeEc2,
  policies: readonly Policy[],
  mode: PassMode,
  extra: Partial<PassRequest> = {},
): Promise<{ result: PassResult; lines: LogLine[] }> {
  const { logger, lines } = captureLogger();
  let clock = 1_000;
  const result = await reconcilePass(
    { ports: world.ports(), logger, now: () => (clock += 5) },
    { mode, policies, defaultRegion: REGION, maxRulesPerGroup: 60, ...extra },
  );
  return { result, lines };
}

const ssh = tcp(22, '10.0.0.0/8', 'SSH from the office');
const https = tcp(443, '0.0.0.0/0', 'public HTTPS');

function completed(result: PassResult) {
  if (result.status !== 'completed') throw new Error(`pass failed: ${result.errorCode} ${result.error}`);
  return result;
}

describe('reconcilePass: apply', () => {
  it('authorizes what is missing with one event per rule, and a second pass authorizes nothing', async () => {
    const world = fakeWorld().group({ id: 'sg-1' }).rule('sg-1', tcp(3389, '0.0.0.0/0'));
    const policies = [
      policy({ name: 'office', targets: ['sg-1'], rules: [ssh, https], ruleTags: { team: 'platform' } }),
    ];

    const first = await pass(world, policies, 'apply');

    expect(completed(first.result).counts).toEqual({
      groups: 1,
      desired: 2,
      missing: 2,
      authorized: 2,
      failed: 0,
      drift: 1,
      descriptionDrift: 0,
      unresolved: 0,
      readFailures: 0,
      units: 1,
      accountsFailed: 0,
      alreadyPresent: 0,
    });
    const authorized = events(first.lines, 'rule.authorized');
    const ids = new Map(world.rulesOf('sg-1').map((r) => [r.fromPort, r.ruleId]));
    expect(authorized).toEqual([
      expect.objectContaining({
        level: 'info',
        policy: 'office',
        policies: ['office'],
        region: REGION,
        groupId: 'sg-1',
        ruleId: ids.get(22),
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidr', value: '10.0.0.0/8' },
        description: 'SSH from the office',
      }),
      expect.objectContaining({
        fromPort: 443,
        ruleId: ids.get(443),
        source: { kind: 'cidr', value: '0.0.0.0/0' },
      }),
    ]);
    expect(events(first.lines, 'rule.missing')).toEqual([]);
    expect(world.rulesOf('sg-1').find((r) => r.fromPort === 22)?.tags).toEqual({
      team: 'platform',
      'managed-by': 'sg-reconciler',
      'sg-reconciler/policy': 'office',
    });

    world.resetCalls();
    const second = await pass(world, policies, 'apply');

    expect(completed(second.result).counts).toMatchObject({
      desired: 2,
      missing: 0,
      authorized: 0,
      failed: 0,
    });
    expect(events(second.lines, 'rule.authorized')).toEqual([]);
    expect(world.count(AUTHORIZE)).toBe(0);
  });

  it('every line carries event, runId, level, time and msg; one runId per pass', async () => {
    const world = fakeWorld().group({ id: 'sg-1' }).rule('sg-1', tcp(25, '0.0.0.0/0'));
    const policies = [policy({ name: 'office', targets: ['sg-1', 'sg-gone'], rules: [ssh] })];

    const first = await pass(world, policies, 'apply');
    const second = await pass(world, policies, 'apply');

    for (const { lines, result } of [first, second]) {
      expect(lines.length).toBeGreaterThanOrEqual(4);
      for (const line of lines) {
        expect(line).toEqual(
          expect.objectContaining({
            event: expect.any(String),
            runId: result.runId,
            level: expect.any(String),
            time: expect.any(String),
            msg: expect.any(String),
          }),
        );
      }
    }
    expect(first.result.runId).not.toBe(second.result.runId);
    expect(first.lines.map((l) => l.event)).toEqual([
      'reconcile.started',
      'target.unresolved',
      'rule.drift',
      'authorize.requested',
      'rule.authorized',
      'reconcile.completed',
    ]);
  });

  it('messages are constant sentences: values live in fields only', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const { lines } = await pass(
      world,
      [policy({ name: 'office', targets: ['sg-1'], rules: [ssh] })],
      'apply',
    );
    for (const line of lines) {
      expect(String(line.msg)).not.toMatch(/sg-1|office|10\.0\.0\.0|sgr-/);
    }
  });

  it('a rule wanted by two policies is authorized once, naming both', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const policies = [
      policy({ name: 'zeta', targets: ['sg-1'], rules: [ssh] }),
      policy({ name: 'alpha', targets: ['sg-1'], rules: [ssh] }),
    ];

    const { result, lines } = await pass(world, policies, 'apply');

    expect(events(lines, 'rule.authorized')).toEqual([
      expect.objectContaining({ policy: 'alpha', policies: ['alpha', 'zeta'] }),
    ]);
    expect(world.count(AUTHORIZE)).toBe(1);
    expect(completed(result).counts.authorized).toBe(1);
  });

  it('binds `self` to the target group', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const { lines } = await pass(
      world,
      [policy({ name: 'mesh', targets: ['sg-1'], rules: [selfRule('tcp', 7946)] })],
      'apply',
    );
    expect(events(lines, 'rule.authorized')).toEqual([
      expect.objectContaining({ source: { kind: 'securityGroup', value: 'sg-1' } }),
    ]);
  });

  it('a failed rule is one rule.failed event with its code; the rest of the group is authorized', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const policies = [policy({ name: 'p', targets: ['sg-1'], rules: [ssh, tcp(5432, 'sg-nope'), https] })];

    const { result, lines } = await pass(world, policies, 'apply');

    expect(events(lines, 'rule.failed')).toEqual([
      expect.objectContaining({
        level: 'error',
        groupId: 'sg-1',
        fromPort: 5432,
        source: { kind: 'securityGroup', value: 'sg-nope' },
        errorCode: 'InvalidGroup.NotFound',
        error: "The security group 'sg-nope' does not exist",
      }),
    ]);
    expect(completed(result).counts).toMatchObject({ missing: 3, authorized: 2, failed: 1 });
  });

  it('a quota-exceeded group: rule.failed QuotaExceeded with the projection, and no write', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    for (let i = 0; i < 60; i++) world.rule('sg-1', tcp(443, `10.${i}.0.0/16`));
    const { result, lines } = await pass(
      world,
      [policy({ name: 'p', targets: ['sg-1'], rules: [ssh] })],
      'apply',
    );

    expect(events(lines, 'rule.failed')).toEqual([
      expect.objectContaining({
        errorCode: 'QuotaExceeded',
        quota: { limit: 60, ipv4: 61, ipv6: 0 },
      }),
    ]);
    expect(world.count(AUTHORIZE)).toBe(0);
    expect(completed(result).counts.failed).toBe(1);
  });

  it('reports Duplicate rules as already present (rule.already_present), not authorized and not failed', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    // Someone else creates the rule between our read and our write.
    world.fail(AUTHORIZE, (input) => {
      world.rule('sg-1', ssh);
      return new Ec2Error(
        'InvalidPermission.Duplicate',
        `duplicate ${JSON.stringify(input).length}`,
        AUTHORIZE,
        400,
      );
    });

    const { result, lines } = await pass(
      world,
      [policy({ name: 'p', targets: ['sg-1'], rules: [ssh, https] })],
      'apply',
    );

    expect(completed(result).counts).toMatchObject({
      missing: 2,
      authorized: 1,
      failed: 0,
      alreadyPresent: 1,
    });
    expect(events(lines, 'rule.authorized').map((l) => l.fromPort)).toEqual([443]);
    expect(events(lines, 'rule.already_present')).toEqual([
      expect.objectContaining({
        groupId: 'sg-1',
        fromPort: 22,
        policy: 'p',
        ruleId: expect.stringMatching(/^sgr-/),
      }),
    ]);
    expect(events(lines, 'reconcile.completed')[0]).toMatchObject({ alreadyPresent: 1 });
  });

  it('authorizes across regions, each policy in its own region or the default one', async () => {
    const world = fakeWorld().group({ id: 'sg-east' }).group({ id: 'sg-west', region: 'us-west-2' });
    const policies = [
      policy({ name: 'east', targets: ['sg-east'], rules: [ssh] }),
      policy({ name: 'west', region: 'us-west-2', targets: ['sg-west'], rules: [ssh] }),
    ];

    const { result, lines } = await pass(world, policies, 'apply');

    expect(events(lines, 'rule.authorized').map((l) => `${l.region} ${l.groupId}`)).toEqual(
      expect.arrayContaining(['us-east-1 sg-east', 'us-west-2 sg-west']),
    );
    expect(world.count(AUTHORIZE, 'us-west-2')).toBe(1);
    expect(completed(result).plan.groups.map((g) => g.region)).toEqual(['us-east-1', 'us-west-2']);
  });
});

describe('reconcilePass: plan and dry-run', () => {
  it('plan reports missing, drift and description drift without any write', async () => {
    const world = fakeWorld()
      .group({ id: 'sg-1', name: 'web' })
      .rule('sg-1', tcp(22, '10.0.0.0/8', 'old text'), tcp(8080, '192.168.0.0/16'));
    const { result, lines } = await pass(
      world,
      [policy({ name: 'p', targets: ['sg-1'], rules: [ssh, https] })],
      'plan',
    );

    expect(world.count(AUTHORIZE)).toBe(0);
    expect(events(lines, 'reconcile.started')).toEqual([
      expect.objectContaining({ mode: 'plan', policies: 1 }),
    ]);
    expect(events(lines, 'rule.missing')).toEqual([
      expect.objectContaining({
        policy: 'p',
        region: REGION,
        groupId: 'sg-1',
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        source: { kind: 'cidr', value: '0.0.0.0/0' },
        description: 'public HTTPS',
      }),
    ]);
    expect(events(lines, 'rule.missing')[0]).not.toHaveProperty('ruleId');
    expect(events(lines, 'rule.drift')).toEqual([
      expect.objectContaining({
        groupId: 'sg-1',
        fromPort: 8080,
        source: { kind: 'cidr', value: '192.168.0.0/16' },
      }),
    ]);
    expect(events(lines, 'rule.description_drift')).toEqual([
      expect.objectContaining({
        policy: 'p',
        groupId: 'sg-1',
        fromPort: 22,
        live: 'old text',
        desired: 'SSH from the office',
      }),
    ]);
    const done = events(lines, 'reconcile.completed')[0];
    expect(done).toMatchObject({
      mode: 'plan',
      durationMs: expect.any(Number),
      groups: 1,
      desired: 2,
      missing: 1,
      authorized: 0,
      failed: 0,
      drift: 1,
      descriptionDrift: 1,
      unresolved: 0,
      readFailures: 0,
    });
    const done2 = completed(result);
    expect(done2.plan.groups[0]?.missing).toHaveLength(1);
    expect(done2.outcomes).toBeUndefined();
  });

  it('plan flags rules of a group the change would take over quota', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const { lines } = await pass(
      world,
      [policy({ name: 'p', targets: ['sg-1'], rules: [ssh, https] })],
      'plan',
      {
        maxRulesPerGroup: 1,
      },
    );
    expect(events(lines, 'rule.missing').map((l) => l.quotaExceeded)).toEqual([true, true]);
  });

  it('dry-run reports each missing rule with permitted, and changes nothing', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const { result, lines } = await pass(
      world,
      [policy({ name: 'p', targets: ['sg-1'], rules: [ssh, https] })],
      'dry-run',
    );

    expect(events(lines, 'rule.missing').map((l) => [l.fromPort, l.permitted])).toEqual([
      [22, true],
      [443, true],
    ]);
    expect(world.rulesOf('sg-1')).toEqual([]);
    expect(completed(result).counts).toMatchObject({
      missing: 2,
      authorized: 0,
      failed: 0,
      permitted: 2,
      denied: 0,
    });
  });

  it('dry-run denied rules count as failed, so the exit code says apply would fail', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    world.denied.add(AUTHORIZE);
    const { result, lines } = await pass(
      world,
      [policy({ name: 'p', targets: ['sg-1'], rules: [ssh] })],
      'dry-run',
    );

    expect(events(lines, 'rule.missing')).toEqual([expect.objectContaining({ permitted: false })]);
    expect(completed(result).counts).toMatchObject({ failed: 1, permitted: 0, denied: 1 });
  });
});

describe('reconcilePass: failures', () => {
  it('a policy with no region fails the pass before any call', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const { result, lines } = await pass(
      world,
      [policy({ name: 'office', targets: ['sg-1'], rules: [ssh] })],
      'apply',
      {
        defaultRegion: undefined,
      },
    );

    expect(result).toMatchObject({ status: 'failed', errorCode: 'NoRegion' });
    expect(result.status === 'failed' && result.error).toMatch(/office.*spec\.region.*--region.*AWS_REGION/);
    expect(events(lines, 'reconcile.failed')).toEqual([
      expect.objectContaining({ errorCode: 'NoRegion', level: 'error' }),
    ]);
    expect(events(lines, 'policy.skipped')).toEqual([
      expect.objectContaining({ policy: 'office', reason: 'no-region', path: 'spec.region' }),
    ]);
    expect(world.calls).toEqual([]);
  });

  it('a policy with no region is skipped, located, while the policies that name one are reconciled', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const { result, lines } = await pass(
      world,
      [
        policy({ name: 'named', region: REGION, targets: ['sg-1'], rules: [ssh] }),
        policy({ name: 'office', targets: ['sg-1'], rules: [https] }),
      ],
      'apply',
      { defaultRegion: undefined },
    );

    const done = completed(result);
    expect(done.counts).toMatchObject({ authorized: 1, policiesSkipped: 1 });
    expect(done.plan.skippedPolicies).toEqual([
      expect.objectContaining({ policy: 'office', file: 'policies/office.yaml', line: 1, column: 1 }),
    ]);
    expect(events(lines, 'policy.skipped')).toEqual([
      expect.objectContaining({
        policy: 'office',
        level: 'error',
        error: expect.stringMatching(/^policy office names no region .*spec\.region.*--region/),
      }),
    ]);
    expect(world.rulesOf('sg-1').map((r) => r.fromPort)).toEqual([22]);
    expect(exitCodeFor({ command: 'apply', result })).toBe(1);
  });

  it('a failed read skips its groups with read.failed; the rest of the pass goes on', async () => {
    const world = fakeWorld()
      .group({ id: 'sg-1' })
      .group({ id: 'sg-web', tags: { tier: 'web' } })
      .fail(
        'DescribeSecurityGroups',
        new Ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 'DescribeSecurityGroups', 503),
        {
          times: Infinity,
          when: (input) => JSON.stringify(input).includes('tag:tier'),
        },
      );
    const policies = [
      policy({ name: 'ids', targets: ['sg-1'], rules: [ssh] }),
      policy({ name: 'web', targets: [{ tags: { tier: 'web' } }], rules: [https] }),
    ];

    const { result, lines } = await pass(world, policies, 'apply');

    expect(events(lines, 'read.failed')).toEqual([
      expect.objectContaining({
        level: 'error',
        region: REGION,
        errorCode: 'RequestLimitExceeded',
        error: 'Request limit exceeded.',
        policies: ['web'],
        targets: ['tags{tier=web}'],
      }),
    ]);
    expect(world.callsOf(AUTHORIZE).map((c) => (c.input as { groupId: string }).groupId)).toEqual(['sg-1']);
    expect(world.rulesOf('sg-web')).toEqual([]);
    expect(completed(result).counts).toMatchObject({ readFailures: 1, authorized: 1 });
    expect(events(lines, 'reconcile.completed')[0]).toMatchObject({ readFailures: 1 });
  });

  it('when nothing could be read at all, the pass fails with the first failure code', async () => {
    const world = fakeWorld()
      .group({ id: 'sg-1' })
      .fail(
        'DescribeSecurityGroups',
        new Ec2Error(
          'AuthFailure',
          'AWS was not able to validate the provided access credentials',
          'DescribeSecurityGroups',
          401,
        ),
        {
          times: Infinity,
        },
      );

    const { result, lines } = await pass(
      world,
      [policy({ name: 'p', targets: ['sg-1'], rules: [ssh] })],
      'apply',
    );

    expect(result).toMatchObject({ status: 'failed', errorCode: 'AuthFailure' });
    expect(events(lines, 'read.failed')).toHaveLength(1);
    expect(events(lines, 'reconcile.failed')).toEqual([
      expect.objectContaining({ errorCode: 'AuthFailure' }),
    ]);
    expect(events(lines, 'reconcile.completed')).toEqual([]);
    expect(world.count(AUTHORIZE)).toBe(0);
  });

  it('a port that cannot be created is a read failure of its region, not a crash', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const { logger, lines } = captureLogger();
    const result = await reconcilePass(
      {
        ports: (region) => {
          if (region === 'eu-west-1') throw new Error('no endpoint for region');
          return world.port(region);
        },
        logger,
      },
      {
        mode: 'apply',
        policies: [
          policy({ name: 'a', targets: ['sg-1'], rules: [ssh] }),
          policy({ name: 'b', region: 'eu-west-1', targets: ['sg-9'], rules: [ssh] }),
        ],
        defaultRegion: REGION,
        maxRulesPerGroup: 60,
      },
    );

    expect(completed(result).counts).toMatchObject({ authorized: 1, readFailures: 1 });
    expect(events(lines, 'read.failed')).toEqual([
      expect.objectContaining({ region: 'eu-west-1', errorCode: 'UnknownError', policies: ['b'] }),
    ]);
  });

  it('an unexpected exception fails the pass with InternalError instead of throwing', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const broken = policy({ name: 'broken', targets: ['sg-1'], rules: [tcp(22, '10.0.0.0/8')] });
    // A bug the planner meets when it builds the rules' tags (rules are canonical by type, so an
    // invalid network can no longer reach it).
    Object.defineProperty(broken, 'ruleTags', {
      get(): never {
        throw new TypeError('a bug in the planner');
      },
    });

    const { result, lines } = await pass(world, [broken], 'apply');

    expect(result).toMatchObject({ status: 'failed', errorCode: 'InternalError' });
    expect(events(lines, 'reconcile.failed')).toEqual([
      expect.objectContaining({ errorCode: 'InternalError' }),
    ]);
  });

  it('authorize.requested names the policies of the rules it sends, each rule with its own, not every policy of the group', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    world.rule('sg-1', tcp(443, '0.0.0.0/0'));
    const policies = [
      policy({ name: 'web', targets: ['sg-1'], rules: [tcp(443, '0.0.0.0/0')] }),
      policy({ name: 'ssh', targets: ['sg-1'], rules: [tcp(22, '10.0.0.0/8')] }),
      policy({ name: 'ssh-too', targets: ['sg-1'], rules: [tcp(22, '10.0.0.0/8')] }),
    ];
    const { lines } = await pass(world, policies, 'apply');
    expect(events(lines, 'authorize.requested')).toEqual([
      expect.objectContaining({
        policies: ['ssh', 'ssh-too'],
        rules: [expect.objectContaining({ fromPort: 22, policy: 'ssh', policies: ['ssh', 'ssh-too'] })],
      }),
    ]);
  });

  it("a bug inside a unit's read fails the pass with InternalError, never a read failure that looks like EC2's", async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const { logger, lines } = captureLogger();
    const result = await reconcilePass(
      {
        // The port answers, but with a group no EC2 would send: reading it is a bug, not a failed call.
        ports: (region) => ({
          ...world.port(region),
          describeSecurityGroups: () => Promise.resolve([null as unknown as LiveGroup]),
        }),
        logger,
      },
      {
        mode: 'apply',
        policies: [policy({ name: 'a', targets: ['sg-1'], rules: [ssh] })],
        defaultRegion: REGION,
        maxRulesPerGroup: 60,
      },
    );
    expect(result).toMatchObject({ status: 'failed', errorCode: 'InternalError' });
    expect(events(lines, 'read.failed')).toEqual([]);
    expect(world.count(AUTHORIZE)).toBe(0);
  });

  it('a pass aborted for its time limit fails with PassTimeout; any other abort with Aborted', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const policies = [policy({ name: 'p', targets: ['sg-1'], rules: [ssh] })];

    const timeout = new AbortController();
    timeout.abort(new DOMException('pass timed out', 'TimeoutError'));
    const timedOut = await pass(world, policies, 'apply', { signal: timeout.signal });
    const stop = new AbortController();
    stop.abort();
    const stopped = await pass(world, policies, 'apply', { signal: stop.signal });

    expect(timedOut.result).toMatchObject({ status: 'failed', errorCode: 'PassTimeout' });
    expect(stopped.result).toMatchObject({ status: 'failed', errorCode: 'Aborted' });
    expect(world.calls).toEqual([]);
  });

  it('an abort during the reads stops the pass before any write', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    world.latencyMs = 30;
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 5);

    const { result, lines } = await pass(
      world,
      [policy({ name: 'p', targets: ['sg-1'], rules: [ssh] })],
      'apply',
      {
        signal: controller.signal,
      },
    );

    expect(result).toMatchObject({ status: 'failed', errorCode: 'Aborted' });
    expect(world.count(AUTHORIZE)).toBe(0);
    expect(events(lines, 'reconcile.completed')).toEqual([]);
  });

  it('reports unresolved targets with policy and target', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const { result, lines } = await pass(
      world,
      [policy({ name: 'p', targets: ['sg-1', 'sg-gone'], rules: [ssh] })],
      'plan',
    );

    expect(events(lines, 'target.unresolved')).toEqual([
      expect.objectContaining({ level: 'warn', policy: 'p', region: REGION, target: 'groupId=sg-gone' }),
    ]);
    expect(completed(result).counts.unresolved).toBe(1);
  });
});

describe('reconcilePass: rules an earlier pass could not settle', () => {
  it('a rule sent with a lost answer and now present is reported authorized with recoveredAfter', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const policies = [policy({ name: 'office', targets: ['sg-1'], rules: [ssh, https] })];
    // Pass 1: the answer to the write is lost and the re-read fails too.
    world.fail(AUTHORIZE, () => {
      world.rule('sg-1', ssh).rule('sg-1', https);
      return new Ec2Error('NetworkingError', 'socket hang up', AUTHORIZE);
    });
    world.fail(
      'DescribeSecurityGroupRules',
      new Ec2Error('RequestLimitExceeded', 'slow down', 'DescribeSecurityGroupRules', 503),
    );
    const first = await pass(world, policies, 'apply');
    const unknown = completed(first.result).outcomes?.filter((o) => o.status === 'outcome-unknown') ?? [];
    expect(unknown).toHaveLength(2);
    expect(events(first.lines, 'rule.outcome_unknown')).toHaveLength(2);
    expect(events(first.lines, 'rule.failed')).toEqual([]);
    expect(events(first.lines, 'authorize.requested')).toEqual([
      expect.objectContaining({ groupId: 'sg-1', rules: [expect.anything(), expect.anything()] }),
    ]);

    // Pass 2 (the daemon's next pass): both are present, so they are ours.
    const second = await pass(world, policies, 'apply', {
      unsettled: unknown.map((o) => ({ desired: o.desired, errorCode: 'NetworkingError' })),
    });

    expect(events(second.lines, 'rule.authorized')).toEqual([
      expect.objectContaining({
        groupId: 'sg-1',
        recoveredAfter: 'NetworkingError',
        ruleId: expect.stringMatching(/^sgr-/),
      }),
      expect.objectContaining({
        groupId: 'sg-1',
        recoveredAfter: 'NetworkingError',
        ruleId: expect.stringMatching(/^sgr-/),
      }),
    ]);
    expect(completed(second.result).counts).toMatchObject({ missing: 0, authorized: 2 });
    expect(world.count(AUTHORIZE)).toBe(1);
  });
});
