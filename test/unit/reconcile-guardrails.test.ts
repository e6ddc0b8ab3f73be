// The second and third enforcement points of the guardrails (SPEC "Guardrails"), on the in-memory
// EC2: a pass checks again before any write and never sends a denied rule (rule.blocked), reports
// every live rule a guardrail denies (rule.violation) without revoking it, and the daemon counts
// violations in sgr_guardrail_violations by guardrail.
import { describe, expect, it } from 'vitest';
import { captureLogger, type LogLine } from '../helpers/log-capture.js';
import { createDaemonMetrics } from '../../src/daemon/metrics.js';
import { createOutcomeHandler } from '../../src/daemon/outcome.js';
import type { Guardrail } from '../../src/model/guardrail.js';
import type { Policy } from '../../src/model/policy.js';
import { reconcilePass } from '../../src/reconcile/pass.js';
import type { PassMode, PassResult } from '../../src/reconcile/types.js';
import { fakeWorld, policy, rule, tcp, type FakeEc2 } from '../helpers/fake-ec2.js';

const REGION = 'us-east-1';
const AT = { file: 'policies/guardrails.yaml', line: 9, column: 7 };

const NO_INTERNET_SSH: Guardrail = {
  name: 'no-internet-ssh',
  file: AT.file,
  position: AT,
  description: undefined,
  deny: [{ protocol: 'tcp', ports: [{ from: 22, to: 22 }], from: { kind: 'internet' }, position: AT }],
  exceptions: [{ policy: 'break-glass', expires: '2027-01-31', reason: 'SEC-123', position: AT }],
};

async function pass(
  world: FakeEc2,
  policies: readonly Policy[],
  mode: PassMode,
  today: string,
): Promise<{ result: PassResult; lines: LogLine[] }> {
  const { logger, lines } = captureLogger();
  const result = await reconcilePass(
    { ports: world.ports(), logger, clock: () => new Date(`${today}T12:00:00Z`) },
    { mode, policies, defaultRegion: REGION, maxRulesPerGroup: 60, guardrails: [NO_INTERNET_SSH] },
  );
  return { result, lines };
}

function named(lines: readonly LogLine[], event: string): LogLine[] {
  return lines.filter((l) => l.event === event);
}

describe('a pass with guardrails', () => {
  it('never sends a denied rule: rule.blocked, the rest of the group is authorized, apply fails', async () => {
    const world = fakeWorld().group({ id: 'sg-1' });
    const policies = [
      policy({ name: 'office', targets: ['sg-1'], rules: [tcp(22, '0.0.0.0/0'), tcp(443, '0.0.0.0/0')] }),
    ];

    const { result, lines } = await pass(world, policies, 'apply', '2026-11-30');

    const sent = JSON.stringify(world.callsOf('AuthorizeSecurityGroupIngress').map((c) => c.input));
    expect(sent).toContain('"fromPort":443');
    expect(sent).not.toContain('"fromPort":22');
    expect(world.rulesOf('sg-1').map((r) => r.fromPort)).toEqual([443]);
    expect(named(lines, 'rule.blocked')).toEqual([
      expect.objectContaining({
        level: 'error',
        guardrail: 'no-internet-ssh',
        guardrailEntry: 0,
        policy: 'office',
        groupId: 'sg-1',
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidr', value: '0.0.0.0/0' },
        msg: 'desired ingress rule denied by a guardrail; it was not sent',
      }),
    ]);
    expect(result.status === 'completed' && result.counts).toMatchObject({
      missing: 1,
      authorized: 1,
      blocked: 1,
    });
  });

  it('lets a rule through while its policy has an exception, and blocks it from the expiry date on', async () => {
    const policies = [policy({ name: 'break-glass', targets: ['sg-1'], rules: [tcp(22, '0.0.0.0/0')] })];

    const before = fakeWorld().group({ id: 'sg-1' });
    const early = await pass(before, policies, 'apply', '2027-01-30');
    expect(named(early.lines, 'rule.blocked')).toEqual([]);
    expect(before.rulesOf('sg-1').map((r) => r.fromPort)).toEqual([22]);

    const after = fakeWorld().group({ id: 'sg-1' });
    const late = await pass(after, policies, 'apply', '2027-01-31');
    expect(named(late.lines, 'rule.blocked')).toEqual([
      expect.objectContaining({ guardrail: 'no-internet-ssh', exceptionExpired: '2027-01-31' }),
    ]);
    expect(after.rulesOf('sg-1')).toEqual([]);
  });

  it('reports every live rule a guardrail denies as rule.violation, in plan and apply, and never revokes it', async () => {
    const world = fakeWorld()
      .group({ id: 'sg-1' })
      .rule('sg-1', tcp([0, 1024], '0.0.0.0/0', 'added by hand'))
      .rule('sg-1', rule('-1', undefined, '::/0'))
      .rule('sg-1', tcp(22, '10.0.0.0/8'));
    const policies = [policy({ name: 'office', targets: ['sg-1'], rules: [tcp(443, '10.0.0.0/8')] })];

    for (const mode of ['plan', 'apply'] as const) {
      world.resetCalls();
      const { result, lines } = await pass(world, policies, mode, '2026-11-30');
      const violations = named(lines, 'rule.violation');
      expect(violations.map((v) => [v.guardrail, v.groupId, v.protocol, v.fromPort, v.source])).toEqual([
        // In rule order (model/order.ts): tcp before all traffic.
        ['no-internet-ssh', 'sg-1', 'tcp', 0, { kind: 'cidr', value: '0.0.0.0/0' }],
        ['no-internet-ssh', 'sg-1', '-1', -1, { kind: 'cidrIpv6', value: '::/0' }],
      ]);
      // (The fake's DescribeSecurityGroups returns no rule IDs, as EC2's does not; the CLI test sees them.)
      expect(violations.every((v) => v.region === REGION && v.level === 'warn')).toBe(true);
      expect(result.status === 'completed' && result.counts.violations).toBe(2);
    }
    expect(world.rulesOf('sg-1')).toHaveLength(4);
  });

  it('counts violations by guardrail in the daemon metrics, every checked guardrail with a series', async () => {
    const world = fakeWorld().group({ id: 'sg-1' }).rule('sg-1', tcp(22, '0.0.0.0/0'));
    const { result } = await pass(
      world,
      [policy({ name: 'office', targets: ['sg-1'], rules: [] })],
      'apply',
      '2026-11-30',
    );
    const metrics = createDaemonMetrics({ defaultMetrics: false });
    const handler = createOutcomeHandler({ metrics, logger: captureLogger().logger, mode: 'apply' });

    handler.handle({ kind: 'result', result });

    const text = await metrics.registry.metrics();
    expect(text).toContain('sgr_guardrail_violations{guardrail="no-internet-ssh"} 1');
  });
});
