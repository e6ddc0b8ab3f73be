// --update-descriptions (SPEC "Options"): the pass sets the policy's description on declared rules
// whose live description differs, never touching their access; without the option description drift
// is reported only, and every plan format says so.
import { describe, expect, it } from 'vitest';
import { captureLogger, type LogLine } from '../helpers/log-capture.js';
import { renderPlan } from '../../src/cli/render-plan.js';
import { Ec2Error } from '../../src/aws/port.js';
import type { Policy } from '../../src/model/policy.js';
import { reconcilePass, type PassRequest } from '../../src/reconcile/pass.js';
import type { PassMode, PassResult } from '../../src/reconcile/types.js';
import { fakeWorld, policy, tcp, type FakeEc2 } from '../helpers/fake-ec2.js';

const UPDATE = 'UpdateSecurityGroupRuleDescriptionsIngress';

const named = (lines: readonly LogLine[], name: string): LogLine[] => lines.filter((l) => l.event === name);

async function pass(
  world: FakeEc2,
  policies: readonly Policy[],
  mode: PassMode,
  extra: Partial<PassRequest> = {},
): Promise<{ result: Extract<PassResult, { status: 'completed' }>; lines: LogLine[] }> {
  const { logger, lines } = captureLogger();
  const result = await reconcilePass(
    { ports: world.ports(), logger },
    { mode, policies, defaultRegion: 'us-east-1', maxRulesPerGroup: 60, ...extra },
  );
  if (result.status !== 'completed') throw new Error(`pass failed: ${result.errorCode} ${result.error}`);
  return { result, lines };
}

/** sg-1 with two declared rules whose descriptions drifted, and one rule that matches. */
function drifted(): { world: FakeEc2; policies: Policy[] } {
  const world = fakeWorld()
    .group({ id: 'sg-1', name: 'web' })
    .rule(
      'sg-1',
      tcp(22, '10.0.0.0/8', 'old ssh text'),
      tcp(443, '0.0.0.0/0'),
      tcp(80, '0.0.0.0/0', 'plain HTTP'),
    );
  const policies = [
    policy({
      name: 'web',
      targets: ['sg-1'],
      rules: [
        tcp(22, '10.0.0.0/8', 'SSH from the office'),
        tcp(443, '0.0.0.0/0', 'public HTTPS'),
        tcp(80, '0.0.0.0/0', 'plain HTTP'),
      ],
    }),
  ];
  return { world, policies };
}

const describedRules = (world: FakeEc2) =>
  world
    .rulesOf('sg-1')
    .map((r) => [r.ruleId, r.protocol, r.fromPort, r.toPort, r.source.value, r.description ?? ''] as const);

describe('apply --update-descriptions', () => {
  it('sets the policy description with one call per group, keeps every rule and its access, and reports each', async () => {
    const { world, policies } = drifted();
    const before = describedRules(world);

    const { result, lines } = await pass(world, policies, 'apply', { updateDescriptions: true });

    expect(world.count(UPDATE)).toBe(1);
    expect(world.count('AuthorizeSecurityGroupIngress')).toBe(0);
    const after = describedRules(world);
    // Same rule IDs, protocols, ports and sources: only the description column moved.
    expect(after.map((r) => r.slice(0, 5))).toEqual(before.map((r) => r.slice(0, 5)));
    expect(after.map((r) => [r[2], r[5]])).toEqual([
      [22, 'SSH from the office'],
      [443, 'public HTTPS'],
      [80, 'plain HTTP'],
    ]);
    const ids = new Map(after.map((r) => [r[2], r[0]]));
    expect(named(lines, 'rule.description_updated')).toEqual([
      expect.objectContaining({
        groupId: 'sg-1',
        fromPort: 22,
        ruleId: ids.get(22),
        live: 'old ssh text',
        desired: 'SSH from the office',
        policy: 'web',
      }),
      expect.objectContaining({ fromPort: 443, ruleId: ids.get(443), live: '', desired: 'public HTTPS' }),
    ]);
    // The outcome is the report: no second, "reported only" line for the same drift.
    expect(named(lines, 'rule.description_drift')).toEqual([]);
    expect(result.counts).toMatchObject({
      descriptionDrift: 2,
      descriptionUpdates: 2,
      descriptionsUpdated: 2,
    });
    expect(result.counts.descriptionsFailed).toBe(0);

    const again = await pass(world, policies, 'apply', { updateDescriptions: true });
    expect(again.result.counts.descriptionDrift).toBe(0);
    expect(world.count(UPDATE)).toBe(1);
  });

  it('without the option changes nothing and labels each drift reported only', async () => {
    const { world, policies } = drifted();
    const before = describedRules(world);

    const { result, lines } = await pass(world, policies, 'apply');

    expect(world.count(UPDATE)).toBe(0);
    expect(describedRules(world)).toEqual(before);
    expect(named(lines, 'rule.description_drift').map((l) => [l.fromPort, l.reportedOnly])).toEqual([
      [22, true],
      [443, true],
    ]);
    expect(result.counts.descriptionUpdates).toBeUndefined();
  });

  it('fails only the rule that is gone (retried one by one) and counts the failure', async () => {
    const { world, policies } = drifted();
    // The batch fails as EC2 fails it when one rule was revoked meanwhile; the retry of 443 succeeds.
    world.fail(UPDATE, new Ec2Error('InvalidPermission.NotFound', 'rule does not exist', UPDATE, 400), {
      call: 1,
    });
    world.fail(UPDATE, new Ec2Error('InvalidPermission.NotFound', 'rule does not exist', UPDATE, 400), {
      call: 2,
    });

    const { result, lines } = await pass(world, policies, 'apply', { updateDescriptions: true });

    expect(world.count(UPDATE)).toBe(3);
    expect(named(lines, 'rule.description_update_failed')).toEqual([
      expect.objectContaining({
        fromPort: 22,
        errorCode: 'InvalidPermission.NotFound',
        live: 'old ssh text',
      }),
    ]);
    expect(named(lines, 'rule.description_updated').map((l) => l.fromPort)).toEqual([443]);
    expect(result.counts).toMatchObject({ descriptionsUpdated: 1, descriptionsFailed: 1 });
  });

  it('fails every drift of the group at once for an error about the call (missing IAM action)', async () => {
    const { world, policies } = drifted();
    world.denied.add(UPDATE);

    const { result, lines } = await pass(world, policies, 'apply', { updateDescriptions: true });

    expect(world.count(UPDATE)).toBe(1);
    expect(named(lines, 'rule.description_update_failed').map((l) => l.errorCode)).toEqual([
      'UnauthorizedOperation',
      'UnauthorizedOperation',
    ]);
    expect(result.counts.descriptionsFailed).toBe(2);
  });

  it('dry-run sends DryRun=true, changes nothing and reports permitted or denied', async () => {
    const { world, policies } = drifted();
    const before = describedRules(world);

    const permitted = await pass(world, policies, 'dry-run', { updateDescriptions: true });
    world.denied.add(UPDATE);
    const denied = await pass(world, policies, 'dry-run', { updateDescriptions: true });

    expect(world.callsOf(UPDATE).map((c) => (c.input as { dryRun: boolean }).dryRun)).toEqual([true, true]);
    expect(describedRules(world)).toEqual(before);
    expect(
      named(permitted.lines, 'rule.description_drift').map((l) => [l.permitted, l.reportedOnly]),
    ).toEqual([
      [true, false],
      [true, false],
    ]);
    expect(permitted.result.counts.descriptionsFailed).toBe(0);
    expect(named(denied.lines, 'rule.description_drift').map((l) => l.permitted)).toEqual([false, false]);
    expect(denied.result.counts.descriptionsFailed).toBe(2);
  });
});

describe('plan formats: description drift is a change only with --update-descriptions', () => {
  it('text: "~" among the changes with the option, "!" and "reported only" without', async () => {
    const { world, policies } = drifted();
    const off = renderPlan((await pass(world, policies, 'plan')).result, 'text');
    const on = renderPlan((await pass(world, policies, 'plan', { updateDescriptions: true })).result, 'text');

    const sshRow = (text: string): string => text.split('\n').find((l) => l.includes('10.0.0.0/8')) ?? '';
    expect(sshRow(off)).toMatch(
      /^ {2}! .*description "old ssh text" -> "SSH from the office" .*reported only/,
    );
    expect(sshRow(on)).toMatch(/^ {2}~ .*description "old ssh text" -> "SSH from the office"/);
    expect(sshRow(on)).not.toContain('reported only');
    expect(off.split('\n')[0]).toContain('2 description drift (reported only)');
    expect(on.split('\n')[0]).toContain('2 descriptions to update');
  });

  it('JSON: reportedOnly on each drift; counted in changes and descriptionUpdates only with the option', async () => {
    const { world, policies } = drifted();
    type Report = {
      summary: { changes: boolean; descriptionDrift: number; descriptionUpdates: number };
      groups: { descriptionDrift: { fromPort: number; reportedOnly: boolean }[] }[];
    };
    const json = async (extra: Partial<PassRequest>): Promise<Report> =>
      JSON.parse(renderPlan((await pass(world, policies, 'plan', extra)).result, 'json')) as Report;

    const off = await json({});
    const on = await json({ updateDescriptions: true });

    expect(off.summary).toMatchObject({ changes: false, descriptionDrift: 2, descriptionUpdates: 0 });
    expect(off.groups[0]?.descriptionDrift.map((d) => d.reportedOnly)).toEqual([true, true]);
    expect(on.summary).toMatchObject({ changes: true, descriptionDrift: 2, descriptionUpdates: 2 });
    expect(on.groups[0]?.descriptionDrift.map((d) => d.reportedOnly)).toEqual([false, false]);
  });

  it('Markdown: a "reported only" table outside the changes without the option, "~" rows with it', async () => {
    const { world, policies } = drifted();
    const off = renderPlan((await pass(world, policies, 'plan')).result, 'markdown');
    const on = renderPlan(
      (await pass(world, policies, 'plan', { updateDescriptions: true })).result,
      'markdown',
    );

    expect(off).not.toMatch(/^\| ~ \|/m);
    expect(off).toContain(
      '2 description differences, **reported only**: not changed without `--update-descriptions`',
    );
    expect(off).toContain('| tcp | 443 | `0.0.0.0/0` | _(none)_ | public HTTPS | web |');
    expect(on).toMatch(
      /^\| ~ \| tcp \| 22 \| `10\.0\.0\.0\/8` \| old ssh text → SSH from the office \| web \|$/m,
    );
    expect(on).not.toContain('reported only');
  });
});
