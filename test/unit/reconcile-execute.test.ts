import { describe, expect, it } from 'vitest';
import { Ec2Error } from '../../src/aws/port.js';
import type { Policy } from '../../src/model/policy.js';
import type { Rule } from '../../src/model/rule.js';
import { ruleKey } from '../../src/model/rule.js';
import { executePlan } from '../../src/reconcile/execute.js';
import { planRegion } from '../../src/reconcile/plan.js';
import { readRegion } from '../../src/reconcile/read.js';
import type { GroupPlan, RuleOutcome } from '../../src/reconcile/types.js';
import { fakeWorld, policy, tcp, type FakeEc2 } from '../helpers/fake-ec2.js';

const REGION = 'us-east-1';
const AUTHORIZE = 'AuthorizeSecurityGroupIngress';

/** Read and plan against the fake, then forget the read calls so a test counts only the writes. */
async function planFor(
  world: FakeEc2,
  policies: readonly Policy[],
  maxRulesPerGroup = 60,
): Promise<GroupPlan[]> {
  const read = await readRegion({ region: REGION, policies, port: world.port() });
  world.resetCalls();
  return planRegion({ account: '111111111111', region: REGION, policies, read, maxRulesPerGroup });
}

function execute(
  world: FakeEc2,
  groups: readonly GroupPlan[],
  options: {
    mode?: 'apply' | 'dry-run';
    concurrency?: number;
    signal?: AbortSignal;
    onOutcome?: (o: RuleOutcome) => void;
  } = {},
): Promise<RuleOutcome[]> {
  return executePlan({
    mode: options.mode ?? 'apply',
    groups,
    portFor: (region) => world.port(region),
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.onOutcome !== undefined ? { onOutcome: options.onOutcome } : {}),
  });
}

/** Outcomes as `status key [code]` lines, easy to compare. */
function summary(outcomes: readonly RuleOutcome[]): string[] {
  return outcomes.map((o) => {
    const base = `${o.desired.groupId} ${o.status} ${ruleKey(o.desired.rule)}`;
    if (o.status === 'failed') return `${base} ${o.errorCode}`;
    if (o.status === 'dry-run') return `${base} ${o.permitted ? 'permitted' : 'denied'}`;
    return base;
  });
}

const liveKeys = (world: FakeEc2, groupId: string): string[] =>
  world
    .rulesOf(groupId)
    .map((r) => ruleKey(r))
    .sort();
const k = (rule: Rule): string => ruleKey(rule);

const ssh = tcp(22, '10.0.0.0/8', 'ssh');
const https = tcp(443, '0.0.0.0/0', 'https');
const http = tcp(80, '0.0.0.0/0', 'http');
const app = tcp(8080, '10.1.0.0/16', 'app');

describe('executePlan: apply', () => {
  it('makes one authorize call per group and tag set, and tags every rule', async () => {
    const world = fakeWorld().group({ id: 'sg-1' }).group({ id: 'sg-2' });
    const policies = [
      policy({ name: 'a', targets: ['sg-1', 'sg-2'], rules: [ssh, https, http], ruleTags: { team: 'a' } }),
      policy({ name: 'b', targets: ['sg-1'], rules: [app] }),
    ];
    const groups = await planFor(world, policies);

    const outcomes = await execute(world, groups);

    expect(world.count(AUTHORIZE)).toBe(3);
    const batches = world
      .callsOf(AUTHORIZE)
      .map((c) => c.input as { groupId: string; rules: Rule[]; tags: Record<string, string> })
      .map((r) => `${r.groupId} ${r.tags['sg-reconciler/policy']} ${r.rules.length}`)
      .sort();
    expect(batches).toEqual(['sg-1 a 3', 'sg-1 b 1', 'sg-2 a 3']);
    expect(
      outcomes.every(
        (o) => o.status === 'authorized' && o.ruleId?.startsWith('sgr-') === true && !o.ruleIdPending,
      ),
    ).toBe(true);
    expect(outcomes).toHaveLength(7);
    expect(world.rulesOf('sg-1').find((r) => r.fromPort === 8080)?.tags).toEqual({
      'managed-by': 'sg-reconciler',
      'sg-reconciler/policy': 'b',
    });
    expect(world.rulesOf('sg-1').find((r) => r.fromPort === 22)?.tags).toEqual({
      team: 'a',
      'managed-by': 'sg-reconciler',
      'sg-reconciler/policy': 'a',
    });
    expect(world.count('DescribeSecurityGroupRules')).toBe(0);
  });

  it('reports the rule IDs EC2 returned, matched by identity', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https] })]);

    const outcomes = await execute(world, groups);

    const truth = new Map(world.rulesOf('sg-1').map((r) => [ruleKey(r), r.ruleId]));
    expect(outcomes.map((o) => (o.status === 'authorized' ? o.ruleId : 'x'))).toEqual(
      outcomes.map((o) => truth.get(ruleKey(o.desired.rule))),
    );
  });

  it('when EC2 names fewer rules than it created, reads the group once to find the others', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    world.authorizeReturns = 'last';
    const groups = await planFor(world, [
      policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https, http] }),
    ]);

    const outcomes = await execute(world, groups);

    expect(world.count('DescribeSecurityGroupRules')).toBe(1);
    const truth = new Map(world.rulesOf('sg-1').map((r) => [ruleKey(r), r.ruleId]));
    for (const o of outcomes) {
      expect(o.status).toBe('authorized');
      if (o.status === 'authorized') expect(o.ruleId).toBe(truth.get(ruleKey(o.desired.rule)));
    }
  });

  it('a rule not yet visible after EC2 said OK is authorized with its ID pending, not failed', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    world.authorizeReturns = 'none';
    world.invisibleReads = 1;
    const groups = await planFor(world, [policy({ name: 'a', targets: ['sg-1'], rules: [ssh] })]);

    const outcomes = await execute(world, groups);

    expect(outcomes).toEqual([
      { status: 'authorized', desired: groups[0]?.missing[0], ruleId: undefined, ruleIdPending: true },
    ]);
    expect(world.count('DescribeSecurityGroupRules')).toBe(1);
  });

  it('on Duplicate, re-reads the group and authorizes only what is still missing', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [
      policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https, http] }),
    ]);
    world.rule('sg-1', tcp(443, '0.0.0.0/0', 'added by someone else'));

    const outcomes = await execute(world, groups);

    expect(summary(outcomes).sort()).toEqual(
      [`sg-1 authorized ${k(ssh)}`, `sg-1 already-present ${k(https)}`, `sg-1 authorized ${k(http)}`].sort(),
    );
    expect(world.count(AUTHORIZE)).toBe(2);
    expect(world.count('DescribeSecurityGroupRules')).toBe(1);
    expect((world.callsOf(AUTHORIZE)[1]?.input as { rules: Rule[] }).rules.map(k).sort()).toEqual(
      [k(ssh), k(http)].sort(),
    );
    const present = outcomes.find((o) => o.status === 'already-present');
    expect(present?.status === 'already-present' && present.ruleId?.startsWith('sgr-')).toBe(true);
  });

  it('a Duplicate on a retried attempt means our lost first attempt landed: those rules are reported authorized', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https] })]);
    // The first attempt reached EC2 and created both rules; its answer was lost and the SDK's
    // second attempt was told Duplicate.
    world.rule('sg-1', ssh).rule('sg-1', https);
    world.fail(
      AUTHORIZE,
      new Ec2Error('InvalidPermission.Duplicate', 'the specified rule already exists', AUTHORIZE, 400, 2),
    );

    const outcomes = await execute(world, groups);

    expect(summary(outcomes).sort()).toEqual(
      [`sg-1 authorized ${k(ssh)}`, `sg-1 authorized ${k(https)}`].sort(),
    );
    for (const o of outcomes) {
      expect(o).toMatchObject({
        recoveredAfter: 'InvalidPermission.Duplicate',
        ruleId: expect.stringMatching(/^sgr-/),
      });
    }
    expect(world.count(AUTHORIZE)).toBe(1);
    expect(liveKeys(world, 'sg-1')).toEqual([k(ssh), k(https)].sort());
  });

  it('an atomic batch that fails on one rule is retried rule by rule: only the bad rule fails, with its code', async () => {
    const world = fakeWorld().group({ id: 'sg-1' }).group({ id: 'sg-peer' });
    const bad = tcp(5432, 'sg-does-not-exist');
    const good = tcp(5432, 'sg-peer');
    const groups = await planFor(world, [
      policy({ name: 'a', targets: ['sg-1'], rules: [ssh, bad, good, https] }),
    ]);

    const outcomes = await execute(world, groups);

    const failed = outcomes.filter((o) => o.status === 'failed');
    expect(failed).toEqual([
      expect.objectContaining({
        status: 'failed',
        errorCode: 'InvalidGroup.NotFound',
        error: "The security group 'sg-does-not-exist' does not exist",
      }),
    ]);
    expect(failed[0]?.desired.rule).toEqual(bad);
    expect(outcomes.filter((o) => o.status === 'authorized')).toHaveLength(3);
    expect(liveKeys(world, 'sg-1')).toEqual([k(ssh), k(good), k(https)].sort());
    expect(world.count(AUTHORIZE)).toBe(1 + 4);
    expect(world.count('DescribeSecurityGroupRules')).toBe(1);
  });

  it('rules found present after a failed batch (a non-atomic endpoint) are reported as authorized, recovered', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [
      policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https, http] }),
    ]);
    // Like moto: the permissions before the failing one are kept.
    world.fail(AUTHORIZE, () => {
      world.rule('sg-1', http);
      return new Ec2Error('InvalidParameterValue', 'Invalid value for portRange', AUTHORIZE, 400);
    });

    const outcomes = await execute(world, groups);

    const recovered = outcomes.find(
      (o) => o.desired.rule === groups[0]?.missing.find((m) => k(m.rule) === k(http))?.rule,
    );
    expect(recovered).toMatchObject({
      status: 'authorized',
      recoveredAfter: 'InvalidParameterValue',
      ruleIdPending: false,
    });
    expect(recovered?.status === 'authorized' && recovered.ruleId?.startsWith('sgr-')).toBe(true);
    expect(outcomes.filter((o) => o.status === 'authorized')).toHaveLength(3);
    expect(world.count(AUTHORIZE)).toBe(1 + 2);
  });

  it('a quota-exceeded group fails every missing rule with no call at all; other groups go ahead', async () => {
    const world = fakeWorld().group({ id: 'sg-full' }).group({ id: 'sg-ok' });
    for (let i = 0; i < 59; i++) world.rule('sg-full', tcp(443, `10.${i}.0.0/16`));
    const groups = await planFor(world, [
      policy({ name: 'a', targets: ['sg-full'], rules: [ssh, http] }),
      policy({ name: 'b', targets: ['sg-ok'], rules: [ssh] }),
    ]);

    const outcomes = await execute(world, groups);

    expect(summary(outcomes).sort()).toEqual(
      [
        `sg-full failed ${k(ssh)} QuotaExceeded`,
        `sg-full failed ${k(http)} QuotaExceeded`,
        `sg-ok authorized ${k(ssh)}`,
      ].sort(),
    );
    expect(world.callsOf(AUTHORIZE).map((c) => (c.input as { groupId: string }).groupId)).toEqual(['sg-ok']);
    const failure = outcomes.find((o) => o.status === 'failed');
    expect(failure?.status === 'failed' && failure.error).toContain('61 IPv4');
  });

  it('EC2 refusing on quota fails the batch without retrying rule by rule (no half-applied group)', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    world.ruleLimit = 2;
    const groups = await planFor(world, [
      policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https, http] }),
    ]);

    const outcomes = await execute(world, groups);

    expect(outcomes.map((o) => (o.status === 'failed' ? o.errorCode : o.status))).toEqual([
      'RulesPerSecurityGroupLimitExceeded',
      'RulesPerSecurityGroupLimitExceeded',
      'RulesPerSecurityGroupLimitExceeded',
    ]);
    expect(world.count(AUTHORIZE)).toBe(1);
    expect(world.rulesOf('sg-1')).toEqual([]);
  });

  it('one group failing never stops another', async () => {
    const world = fakeWorld()
      .group({ id: 'sg-1' })
      .group({ id: 'sg-2' })
      .group({ id: 'sg-3' })
      .fail(
        AUTHORIZE,
        new Ec2Error(
          'UnauthorizedOperation',
          'You are not authorized to perform this operation.',
          AUTHORIZE,
          403,
        ),
        {
          times: Infinity,
          when: (input) => (input as { groupId: string }).groupId === 'sg-2',
        },
      );
    const groups = await planFor(world, [
      policy({ name: 'a', targets: ['sg-1', 'sg-2', 'sg-3'], rules: [ssh, https] }),
    ]);

    const outcomes = await execute(world, groups, { concurrency: 1 });

    expect(outcomes.map((o) => `${o.desired.groupId} ${o.status}`)).toEqual([
      'sg-1 authorized',
      'sg-1 authorized',
      'sg-2 failed',
      'sg-2 failed',
      'sg-3 authorized',
      'sg-3 authorized',
    ]);
  });

  it('writes groups concurrently, within the bound', async () => {
    const world = fakeWorld();
    world.latencyMs = 15;
    const ids = Array.from({ length: 6 }, (_, i) => `sg-${i}`);
    for (const id of ids) world.group({ id });
    const groups = await planFor(world, [policy({ name: 'a', targets: ids, rules: [ssh] })]);

    await execute(world, groups, { concurrency: 3 });

    expect(world.count(AUTHORIZE)).toBe(6);
    expect(world.maxInFlight(AUTHORIZE)).toBe(3);
  });
});

describe('executePlan: bounded attempts', () => {
  const cases: {
    name: string;
    error: Ec2Error;
    authorizeCalls: number;
    reads: number;
    statuses: string[];
  }[] = [
    {
      name: 'Duplicate forever: two re-read rounds, then rule by rule, where Duplicate is final',
      error: new Ec2Error('InvalidPermission.Duplicate', 'the specified rule already exists', AUTHORIZE, 400),
      authorizeCalls: 3 + 3,
      reads: 2,
      statuses: ['already-present', 'already-present', 'already-present'],
    },
    {
      name: 'a rule-level error forever: one batch, one re-read, one attempt per rule',
      error: new Ec2Error('InvalidParameterValue', 'invalid', AUTHORIZE, 400),
      authorizeCalls: 1 + 3,
      reads: 1,
      statuses: ['failed', 'failed', 'failed'],
    },
    {
      name: 'throttling forever: one batch, one re-read, no rule-by-rule retries',
      error: new Ec2Error('RequestLimitExceeded', 'Request limit exceeded.', AUTHORIZE, 503),
      authorizeCalls: 1,
      reads: 1,
      statuses: ['failed', 'failed', 'failed'],
    },
  ];

  it.each(cases)('$name', async ({ error, authorizeCalls, reads, statuses }) => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [
      policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https, http] }),
    ]);
    world.fail(AUTHORIZE, error, { times: Infinity });

    const outcomes = await execute(world, groups);

    expect(outcomes.map((o) => o.status)).toEqual(statuses);
    expect(world.count(AUTHORIZE)).toBe(authorizeCalls);
    expect(world.count('DescribeSecurityGroupRules')).toBe(reads);
  });

  it('a group-level error while going rule by rule ends the group without more calls', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [
      policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https, http] }),
    ]);
    world
      .fail(AUTHORIZE, new Ec2Error('InvalidParameterValue', 'invalid', AUTHORIZE, 400), { call: 1 })
      .fail(AUTHORIZE, new Ec2Error('RequestLimitExceeded', 'Request limit exceeded.', AUTHORIZE, 503), {
        call: 2,
      });

    const outcomes = await execute(world, groups);

    expect(outcomes.map((o) => (o.status === 'failed' ? o.errorCode : o.status))).toEqual([
      'RequestLimitExceeded',
      'RequestLimitExceeded',
      'RequestLimitExceeded',
    ]);
    expect(world.count(AUTHORIZE)).toBe(2);
  });
});

describe('executePlan: dry-run', () => {
  it('sends the same batches with DryRun and reports DryRunOperation as permitted; changes nothing', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [
      policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https] }),
      policy({ name: 'b', targets: ['sg-1'], rules: [http] }),
    ]);

    const outcomes = await execute(world, groups, { mode: 'dry-run' });

    expect(outcomes.map((o) => o.status === 'dry-run' && o.permitted)).toEqual([true, true, true]);
    expect(world.callsOf(AUTHORIZE).map((c) => (c.input as { dryRun: boolean }).dryRun)).toEqual([
      true,
      true,
    ]);
    expect(world.rulesOf('sg-1')).toEqual([]);
  });

  it('reports UnauthorizedOperation as denied', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    world.denied.add(AUTHORIZE);
    const groups = await planFor(world, [policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https] })]);

    const outcomes = await execute(world, groups, { mode: 'dry-run' });

    expect(outcomes.map((o) => o.status === 'dry-run' && o.permitted)).toEqual([false, false]);
    expect(world.count(AUTHORIZE)).toBe(1);
  });

  it('another error fails only the rule it is about', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https] })]);
    const invalid = new Ec2Error('InvalidParameterValue', 'invalid', AUTHORIZE, 400);
    world.fail(AUTHORIZE, invalid, { call: 1 }).fail(AUTHORIZE, invalid, {
      when: (input) => (input as { rules: Rule[] }).rules.some((r) => r.fromPort === 443),
    });

    const outcomes = await execute(world, groups, { mode: 'dry-run' });

    expect(summary(outcomes)).toEqual([
      `sg-1 dry-run ${k(ssh)} permitted`,
      `sg-1 failed ${k(https)} InvalidParameterValue`,
    ]);
    expect(world.rulesOf('sg-1')).toEqual([]);
  });

  it('a quota-exceeded group makes no call in dry-run either', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https] })], 1);

    const outcomes = await execute(world, groups, { mode: 'dry-run' });

    expect(outcomes.map((o) => (o.status === 'failed' ? o.errorCode : o.status))).toEqual([
      'QuotaExceeded',
      'QuotaExceeded',
    ]);
    expect(world.count(AUTHORIZE)).toBe(0);
  });
});

describe('executePlan: abort', () => {
  it('an aborted signal starts no batch', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [policy({ name: 'a', targets: ['sg-1'], rules: [ssh] })]);
    const controller = new AbortController();
    controller.abort();

    const outcomes = await execute(world, groups, { signal: controller.signal });

    expect(outcomes.map((o) => o.status)).toEqual(['not-attempted']);
    expect(world.count(AUTHORIZE)).toBe(0);
  });

  it('aborting mid-pass stops new batches and the signal reaches the calls', async () => {
    const world = fakeWorld().group({ id: 'sg-1' }).group({ id: 'sg-2' }).group({ id: 'sg-3' });
    const groups = await planFor(world, [
      policy({ name: 'a', targets: ['sg-1', 'sg-2', 'sg-3'], rules: [ssh] }),
    ]);
    const controller = new AbortController();

    const outcomes = await execute(world, groups, {
      concurrency: 1,
      signal: controller.signal,
      onOutcome: () => controller.abort(),
    });

    expect(outcomes.map((o) => `${o.desired.groupId} ${o.status}`)).toEqual([
      'sg-1 authorized',
      'sg-2 not-attempted',
      'sg-3 not-attempted',
    ]);
    expect(world.count(AUTHORIZE)).toBe(1);
  });
});

describe('executePlan: a write whose answer was lost (SPEC "Safety rules of the pass")', () => {
  it('announces every real write before it is sent, with its group and rules; dry-run sends none', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https] })]);
    const seen: string[] = [];
    await executePlan({
      mode: 'apply',
      groups,
      portFor: (region) => world.port(region),
      onRequested: ({ group, rules }) =>
        seen.push(`${group.group.groupId} ${rules.length} calls=${world.count(AUTHORIZE)}`),
    });
    // Announced while no call had been made yet.
    expect(seen).toEqual(['sg-1 2 calls=0']);

    const dry = await planFor(fakeWorld().group({ id: 'sg-1' }), [
      policy({ name: 'a', targets: ['sg-1'], rules: [ssh] }),
    ]);
    const dryRequests: unknown[] = [];
    await executePlan({
      mode: 'dry-run',
      groups: dry,
      portFor: (region) => world.port(region),
      onRequested: (batch) => dryRequests.push(batch),
    });
    expect(dryRequests).toEqual([]);
  });

  it('a write that landed before the pass was aborted is authorized (recoveredAfter), never failed', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https] })]);
    const controller = new AbortController();
    // EC2 applied the batch; the pass was aborted before the answer came back.
    world.fail(AUTHORIZE, () => {
      world.rule('sg-1', ssh).rule('sg-1', https);
      controller.abort(new DOMException('pass timed out', 'TimeoutError'));
      return new Ec2Error('AbortError', 'Request aborted', AUTHORIZE);
    });

    const outcomes = await execute(world, groups, { signal: controller.signal });

    expect(summary(outcomes).sort()).toEqual(
      [`sg-1 authorized ${k(ssh)}`, `sg-1 authorized ${k(https)}`].sort(),
    );
    for (const o of outcomes) {
      expect(o).toMatchObject({ recoveredAfter: 'AbortError', ruleId: expect.stringMatching(/^sgr-/) });
    }
    // The re-read was made although the pass's own signal had fired.
    expect(world.count('DescribeSecurityGroupRules')).toBe(1);
  });

  it('a lost answer that a re-read cannot confirm is outcome-unknown, not failed', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [policy({ name: 'a', targets: ['sg-1'], rules: [ssh] })]);
    world.fail(AUTHORIZE, new Ec2Error('TimeoutError', 'the call did not answer in time', AUTHORIZE));
    world.fail(
      'DescribeSecurityGroupRules',
      new Ec2Error('RequestLimitExceeded', 'slow down', 'DescribeSecurityGroupRules', 503),
    );

    const outcomes = await execute(world, groups);

    expect(outcomes).toEqual([
      expect.objectContaining({ status: 'outcome-unknown', errorCode: 'TimeoutError', recheck: 'failed' }),
    ]);
  });

  it('a broken connection after a batch: the present rules are authorized, the absent ones unknown', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const groups = await planFor(world, [policy({ name: 'a', targets: ['sg-1'], rules: [ssh, https] })]);
    world.fail(AUTHORIZE, () => {
      world.rule('sg-1', ssh);
      return new Ec2Error('NetworkingError', 'socket hang up', AUTHORIZE);
    });

    const outcomes = await execute(world, groups);

    expect(summary(outcomes).sort()).toEqual(
      [`sg-1 authorized ${k(ssh)}`, `sg-1 outcome-unknown ${k(https)}`].sort(),
    );
    expect(outcomes.find((o) => o.status === 'outcome-unknown')).toMatchObject({ recheck: 'absent' });
    expect(outcomes.some((o) => o.status === 'failed')).toBe(false);
  });
});
