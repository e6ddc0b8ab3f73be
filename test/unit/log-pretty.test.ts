// The readable form of events for a terminal: one line per event, the rule in words, the counts of
// a completed pass, and no credential even where a JSON line would have censored one.
import { describe, expect, it } from 'vitest';
import { formatEvent } from '../../src/log-pretty.js';
import { report } from '../../src/events.js';
import { createLogger } from '../../src/logging.js';
import type { Guardrail } from '../../src/model/guardrail.js';
import { reconcilePass } from '../../src/reconcile/pass.js';
import type { PassMode } from '../../src/reconcile/types.js';
import { captureLogger } from '../helpers/log-capture.js';
import { Ec2Error } from '../../src/aws/port.js';
import { fakeWorld, policy, tcp } from '../helpers/fake-ec2.js';

const TIME = '2026-11-30T06:12:03.456Z';

function rule(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    level: 'info',
    time: TIME,
    runId: 'b4f0e0c2-2f7e-4d7b-9a0e-6a0f3c1e5d11',
    region: 'us-east-1',
    groupId: 'sg-0123456789abcdef0',
    policy: 'office-ssh',
    fromPort: 22,
    toPort: 22,
    protocol: 'tcp',
    source: { kind: 'cidr', value: '203.0.113.0/24' },
    ...extra,
  };
}

describe('formatEvent', () => {
  it('shows a rule event as the group, the rule in words, its description, rule id and policy', () => {
    expect(
      formatEvent(
        rule({
          event: 'rule.authorized',
          description: 'SSH from LA',
          ruleId: 'sgr-0abc',
          msg: 'ingress rule authorized',
        }),
      ),
    ).toBe(
      '06:12:03 INFO  rule.authorized  sg-0123456789abcdef0 (us-east-1)  tcp 22 from 203.0.113.0/24  "SSH from LA"  sgr-0abc  [office-ssh]',
    );
  });

  it('names the account beside the region when the event carries one (many-account passes)', () => {
    expect(formatEvent(rule({ event: 'rule.authorized', account: '111111111111', msg: 'x' }))).toContain(
      'sg-0123456789abcdef0 (111111111111/us-east-1)  tcp 22',
    );
  });

  it.each([
    [{ protocol: 'icmp', fromPort: 8, toPort: -1 }, 'icmp type 8, all codes from 203.0.113.0/24'],
    [{ protocol: 'icmp', fromPort: 3, toPort: 4 }, 'icmp type 3 code 4 from 203.0.113.0/24'],
    [{ protocol: 'icmpv6', fromPort: -1, toPort: -1 }, 'icmpv6 all types from 203.0.113.0/24'],
    [{ protocol: 'tcp', fromPort: 8000, toPort: 8080 }, 'tcp 8000-8080 from 203.0.113.0/24'],
    [{ protocol: '-1', fromPort: -1, toPort: -1 }, 'all traffic from 203.0.113.0/24'],
    [{ protocol: '50', fromPort: -1, toPort: -1 }, 'protocol 50 from 203.0.113.0/24'],
  ])('writes ICMP type/code and port ranges readably, never as "8--1" (%j)', (fields, words) => {
    const line = formatEvent(rule({ event: 'rule.missing', ...fields }));
    expect(line).toContain(words);
    expect(line).not.toMatch(/\d--1/);
  });

  it('shows a failed rule with its error, and a description drift with both descriptions', () => {
    expect(
      formatEvent(
        rule({
          level: 'error',
          event: 'rule.failed',
          errorCode: 'RulesPerSecurityGroupLimitExceeded',
          error: 'too many',
        }),
      ),
    ).toMatch(
      /^06:12:03 ERROR rule\.failed {2}.*\[office-ssh\] {2}RulesPerSecurityGroupLimitExceeded: too many$/,
    );
    expect(formatEvent(rule({ event: 'rule.description_drift', live: '', desired: 'SSH' }))).toContain(
      'tcp 22 from 203.0.113.0/24  description "" -> "SSH"',
    );
  });

  it('locates a skipped policy as it locates an invalid one', () => {
    const line = formatEvent({
      level: 'error',
      time: '2026-11-30T06:12:03.000Z',
      event: 'policy.skipped',
      policy: 'office',
      reason: 'no-region',
      file: 'policies/office.yaml',
      line: 6,
      column: 3,
      path: 'spec.region',
      error: 'policy office names no region',
    });
    expect(line).toMatch(
      /policy\.skipped {2}policies\/office\.yaml:6:3 {2}spec\.region {2}policy office names no region$/,
    );
  });

  it('says a description drift is reported only, and shows an update with both descriptions', () => {
    expect(
      formatEvent(rule({ event: 'rule.description_drift', live: 'old', desired: 'SSH', reportedOnly: true })),
    ).toContain('description "old" -> "SSH"  reported only');
    expect(
      formatEvent(rule({ event: 'rule.description_updated', live: 'old', desired: 'SSH', ruleId: 'sgr-1' })),
    ).toMatch(/rule\.description_updated {2}.*description "old" -> "SSH" {2}sgr-1/);
  });

  it('gives reconcile.completed the counts its constant message leaves out', () => {
    const fields = {
      level: 'info',
      time: TIME,
      event: 'reconcile.completed',
      msg: 'reconcile pass completed',
      mode: 'apply',
      durationMs: 1234,
      groups: 5,
      desired: 40,
      missing: 3,
      authorized: 3,
      failed: 0,
      drift: 2,
      descriptionDrift: 1,
      unresolved: 1,
      readFailures: 0,
    };
    expect(formatEvent(fields)).toBe(
      '06:12:03 INFO  reconcile.completed  apply: 5 groups, 40 desired rules, 3 missing, 3 authorized, 0 failed, 2 drift, 1 description drift, 1 unresolved target in 1.2 s',
    );
    expect(formatEvent({ ...fields, mode: 'plan' })).not.toContain('authorized');
  });

  it('says which accounts phase a pass is in while STS and Organizations answer, never 0 of 0', () => {
    const progress = {
      level: 'info',
      time: TIME,
      event: 'reconcile.progress',
      mode: 'plan',
      phase: 'accounts',
    };
    expect(formatEvent({ ...progress, groupsRead: 0, elapsedMs: 12_300 })).toBe(
      '06:12:03 INFO  reconcile.progress  plan, accounts: finding the accounts (STS, Organizations), 12 s so far',
    );
    expect(formatEvent({ ...progress, done: 2, total: 5, groupsRead: 0, elapsedMs: 21_000 })).toBe(
      '06:12:03 INFO  reconcile.progress  plan, accounts: 2 of 5 accounts reached, 21 s so far',
    );
    expect(formatEvent({ ...progress, done: 4, total: 5, groupsRead: 30, elapsedMs: 31_000 })).toBe(
      '06:12:03 INFO  reconcile.progress  plan, accounts: 4 of 5 accounts reached, 30 groups read, 31 s so far',
    );
  });

  it("says how far a long pass has got, and how much of the daemon's drift, unresolved targets and violations was unchanged", () => {
    expect(
      formatEvent({
        level: 'info',
        time: TIME,
        event: 'reconcile.progress',
        msg: 'reconcile pass in progress',
        mode: 'apply',
        phase: 'reading',
        done: 3,
        total: 10,
        groupsRead: 120,
        elapsedMs: 20_400,
      }),
    ).toBe(
      '06:12:03 INFO  reconcile.progress  apply, reading: 3 of 10 units done, 120 groups read, 20 s so far',
    );
    expect(
      formatEvent({
        level: 'info',
        time: TIME,
        event: 'reconcile.completed',
        mode: 'apply',
        groups: 1,
        desired: 1,
        missing: 0,
        authorized: 0,
        failed: 0,
        drift: 2,
        driftUnchanged: 1,
        descriptionDrift: 1,
        descriptionDriftUnchanged: 0,
      }),
    ).toMatch(/2 drift \(1 unchanged\), 1 description drift$/);
    expect(
      formatEvent({
        level: 'info',
        time: TIME,
        event: 'reconcile.completed',
        mode: 'apply',
        groups: 1,
        desired: 1,
        missing: 0,
        authorized: 0,
        failed: 0,
        drift: 0,
        descriptionDrift: 0,
        unresolved: 2,
        unresolvedUnchanged: 2,
        violations: 3,
        violationsUnchanged: 1,
      }),
    ).toMatch(/, 2 unresolved targets \(2 unchanged\), 3 guardrail violations \(1 unchanged\)$/);
  });

  it('shows a validation error as file:line:column, path and message', () => {
    expect(
      formatEvent({
        level: 'error',
        time: TIME,
        event: 'policy.invalid',
        file: 'policies/web.yaml',
        line: 7,
        column: 16,
        path: 'spec.targets[0].groupId',
        error: 'groupId "web" is not a security group ID',
        msg: 'policy is invalid',
      }),
    ).toBe(
      '06:12:03 ERROR policy.invalid  policies/web.yaml:7:16  spec.targets[0].groupId  groupId "web" is not a security group ID',
    );
  });

  it('shows other events as their message and their fields as key=value, without the runId', () => {
    expect(
      formatEvent({
        level: 'info',
        time: TIME,
        runId: 'r-1',
        event: 'reconcile.started',
        mode: 'plan',
        policies: 4,
        msg: 'reconcile pass started',
      }),
    ).toBe('06:12:03 INFO  reconcile.started  reconcile pass started  mode=plan policies=4');
  });
});

describe('formatEvent on guardrails and requests', () => {
  it('names the guardrail and its deny entry of a violation, and an exception that expired', () => {
    const line = formatEvent(
      rule({
        level: 'warn',
        event: 'rule.violation',
        policy: undefined,
        source: { kind: 'cidr', value: '0.0.0.0/0' },
        ruleId: 'sgr-0b24',
        guardrail: 'cis-admin-ports',
        guardrailEntry: 0,
        exceptionExpired: '2026-11-01',
      }),
    );
    expect(line).toBe(
      '06:12:03 WARN  rule.violation  sg-0123456789abcdef0 (us-east-1)  tcp 22 from 0.0.0.0/0  sgr-0b24  guardrail cis-admin-ports deny[0] (exception expired 2026-11-01)',
    );
  });

  it("says when the daemon's finding is a repeat of the previous pass, and nothing when it is news", () => {
    const violation = rule({ level: 'warn', event: 'rule.violation', guardrail: 'g', guardrailEntry: 0 });
    expect(formatEvent({ ...violation, change: 'unchanged' })).toMatch(
      /deny\[0\] {2}\[office-ssh\] {2}\(unchanged since the last pass\)$/,
    );
    expect(formatEvent({ ...violation, change: 'changed' })).toMatch(/\(changed since the last pass\)$/);
    expect(formatEvent({ ...violation, change: 'appeared' })).toMatch(/\[office-ssh\]$/);
    const invalid = {
      level: 'error',
      time: TIME,
      event: 'policy.invalid',
      file: 'p.yaml',
      line: 3,
      column: 5,
      path: 'spec',
      error: 'bad',
      change: 'unchanged',
    };
    expect(formatEvent(invalid)).toBe(
      '06:12:03 ERROR policy.invalid  p.yaml:3:5  spec  bad  (unchanged since the last pass)',
    );
  });

  it('shows authorize.requested as the group, its rules in words and the policies, not as JSON', () => {
    const line = formatEvent({
      level: 'info',
      time: TIME,
      event: 'authorize.requested',
      account: '111111111111',
      region: 'us-east-1',
      groupId: 'sg-1',
      policies: ['ssh', 'web'],
      rules: [
        { protocol: 'tcp', fromPort: 22, toPort: 22, source: { kind: 'cidr', value: '10.0.0.0/8' } },
        {
          protocol: 'icmp',
          fromPort: 8,
          toPort: -1,
          source: { kind: 'securityGroup', value: 'sg-2', userId: '222222222222' },
        },
      ],
      msg: 'sending AuthorizeSecurityGroupIngress',
    });
    expect(line).toBe(
      '06:12:03 INFO  authorize.requested  sg-1 (111111111111/us-east-1)  2 rules: tcp 22 from 10.0.0.0/8; icmp type 8, all codes from 222222222222/sg-2  [ssh, web]',
    );
  });

  // The kind of fault: a field whose value is a list or an object shown as raw JSON. Every event a
  // real pass writes, in each mode, with a violation, a blocked rule, a write, an unresolved target,
  // drift and a failed read, must read as words.
  it.each(['plan', 'apply'] as PassMode[])('writes no raw JSON for any event of a %s pass', async (mode) => {
    const guardrail: Guardrail = {
      name: 'no-internet-ssh',
      file: 'g.yaml',
      position: { file: 'g.yaml', line: 1, column: 1 },
      description: undefined,
      deny: [
        {
          protocol: 'tcp',
          ports: [{ from: 22, to: 22 }],
          from: { kind: 'internet' },
          position: { file: 'g.yaml', line: 3, column: 7 },
        },
      ],
      exceptions: [],
    };
    const world = fakeWorld()
      .group({ id: 'sg-1' })
      .rule('sg-1', tcp(22, '::/0'), tcp(80, '10.0.0.0/8', 'old'))
      .group({ id: 'sg-2', region: 'eu-west-1' })
      .fail(
        'DescribeSecurityGroups',
        new Ec2Error('UnauthorizedOperation', 'not allowed', 'DescribeSecurityGroups', 403),
        { region: 'eu-west-1' },
      );
    const policies = [
      policy({
        name: 'web',
        targets: ['sg-1', 'sg-404'],
        rules: [tcp(443, '0.0.0.0/0'), tcp(22, '0.0.0.0/0'), tcp(80, '10.0.0.0/8', 'new')],
      }),
      policy({ name: 'eu', region: 'eu-west-1', targets: ['sg-2'], rules: [tcp(443, '10.0.0.0/8')] }),
    ];
    const { logger, lines } = captureLogger();
    await reconcilePass(
      { ports: world.ports(), logger, clock: () => new Date('2026-11-30T12:00:00Z') },
      { mode, policies, defaultRegion: 'us-east-1', maxRulesPerGroup: 60, guardrails: [guardrail] },
    );
    const events = new Set(lines.map((l) => l.event));
    for (const expected of [
      'rule.violation',
      'rule.blocked',
      'target.unresolved',
      'read.failed',
      'rule.drift',
    ])
      expect(events).toContain(expected);
    if (mode === 'apply') expect(events).toContain('authorize.requested');
    for (const line of lines) expect(formatEvent(line)).not.toMatch(/\[\{|\{"|\[object/);
  });
});

describe('createLogger with format pretty', () => {
  it('writes one readable line per event, with credentials censored as in JSON', () => {
    const out: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => void out.push(line) },
      format: 'pretty',
    });
    report(logger, ['daemon.warning', 'missed-execution'], { reason: 'x', secretAccessKey: 'SECRET-1' });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(
      /^\d\d:\d\d:\d\d WARN {2}daemon\.warning {2}missed a scheduled pass: the event loop was blocked at the scheduled time {2}reason=x secretAccessKey=\[redacted\]\n$/,
    );
  });
});
