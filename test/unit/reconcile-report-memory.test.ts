// The daemon's report memory on its own: which findings of a pass (drift, description drift,
// guardrail violations, unresolved targets) and which policy errors are news (appeared, changed)
// and which are the same as on the previous pass (unchanged), and what a failed read leaves
// remembered. Plans are built by hand: the memory reads nothing but them.
import { describe, expect, it } from 'vitest';
import type { Denial } from '../../src/model/guardrail.js';
import type { PolicyError } from '../../src/model/policy.js';
import type { LiveRule } from '../../src/model/rule.js';
import { createReportMemory } from '../../src/reconcile/report-memory.js';
import type {
  AccountFailure,
  DescriptionDrift,
  GroupPlan,
  Plan,
  ReadFailure,
  UnresolvedTarget,
} from '../../src/reconcile/types.js';
import { tcp } from '../helpers/fake-ec2.js';

const ACCOUNT = '111111111111';
const REGION = 'us-east-1';
const RDP: LiveRule = tcp(3389, '0.0.0.0/0', 'rdp');
const SSH: LiveRule = tcp(22, '0.0.0.0/0');
const AT = { file: 'policies/guardrails.yaml', line: 9, column: 7 };

function denial(entry = 0, expired?: string): Denial {
  return {
    guardrail: 'no-internet-admin',
    entry,
    position: AT,
    ...(expired !== undefined
      ? { expired: { policy: 'web', expires: expired, reason: 'SEC-1', position: AT } }
      : {}),
  };
}

function descriptionDrift(groupId: string, live: string, desired: string): DescriptionDrift {
  const rule = tcp(443, '203.0.113.0/24', desired);
  return {
    desired: { account: ACCOUNT, region: REGION, groupId, rule, policy: 'web', policies: ['web'], tags: {} },
    live: { ...rule, description: live },
  };
}

/** A group's plan holding only what the memory looks at. */
function group(
  groupId: string,
  found: Partial<Pick<GroupPlan, 'drift' | 'descriptionDrift' | 'violations' | 'policies'>> = {},
): GroupPlan {
  const quota = { current: 0, projected: 0 };
  return {
    account: ACCOUNT,
    region: REGION,
    group: { groupId, groupName: groupId, vpcId: 'vpc-1', ownerId: ACCOUNT, tags: {} },
    policies: found.policies ?? ['web'],
    desired: [],
    desiredCount: 0,
    missing: [],
    blocked: [],
    violations: found.violations ?? [],
    drift: found.drift ?? [],
    descriptionDrift: found.descriptionDrift ?? [],
    quota: { limit: 60, ipv4: quota, ipv6: quota, exceeded: false },
  };
}

function unresolved(policy: string, target: string, reason?: string): UnresolvedTarget {
  return { account: ACCOUNT, region: REGION, policy, target, ...(reason !== undefined ? { reason } : {}) };
}

function plan(
  groups: readonly GroupPlan[],
  more: {
    unresolved?: readonly UnresolvedTarget[];
    readFailures?: readonly ReadFailure[];
    accountFailures?: readonly AccountFailure[];
  } = {},
): Plan {
  return {
    groups,
    unresolved: more.unresolved ?? [],
    readFailures: more.readFailures ?? [],
    ...(more.accountFailures !== undefined ? { accountFailures: more.accountFailures } : {}),
  };
}

function readFailure(policies: readonly string[], targets: readonly string[]): ReadFailure {
  return {
    account: ACCOUNT,
    region: REGION,
    action: 'DescribeSecurityGroups',
    errorCode: 'RequestLimitExceeded',
    error: 'throttled',
    policies,
    targets,
  };
}

describe('the report memory: findings of a pass', () => {
  it('judges drift, description drift, violations and unresolved targets: appeared, then unchanged', () => {
    const memory = createReportMemory();
    const sg1 = group('sg-1', {
      drift: [RDP],
      descriptionDrift: [descriptionDrift('sg-1', 'old', 'new')],
      violations: [{ rule: RDP, denial: denial() }],
    });
    const target = unresolved('web', 'groupName=gone');
    const judge = (p: Plan): string[] => {
      const j = memory.pass(p);
      const [g] = p.groups;
      if (g === undefined) return p.unresolved.map((t) => j.unresolved(t));
      return [
        ...g.drift.map((r) => j.drift(g, r)),
        ...g.descriptionDrift.map((d) => j.descriptionDrift(g, d)),
        ...g.violations.map((v) => j.violation(g, v)),
        ...p.unresolved.map((t) => j.unresolved(t)),
      ];
    };
    const first = plan([sg1], { unresolved: [target] });
    expect(judge(first)).toEqual(['appeared', 'appeared', 'appeared', 'appeared']);
    // Equal values from a new read (new objects): the same findings.
    const again = plan([group('sg-1', { ...sg1 })], { unresolved: [unresolved('web', 'groupName=gone')] });
    expect(judge(again)).toEqual(['unchanged', 'unchanged', 'unchanged', 'unchanged']);
  });

  it('says changed when what describes a finding differs, and appeared for another identity', () => {
    const memory = createReportMemory();
    memory.pass(
      plan(
        [
          group('sg-1', {
            drift: [RDP],
            descriptionDrift: [descriptionDrift('sg-1', 'old', 'new')],
            violations: [{ rule: RDP, denial: denial(0) }],
          }),
        ],
        { unresolved: [unresolved('web', 'groupName=web')] },
      ),
    );
    const sg1 = group('sg-1', {
      drift: [{ ...RDP, description: 'rdp, documented' }, SSH],
      descriptionDrift: [descriptionDrift('sg-1', 'older', 'new')],
      violations: [
        // The guardrail now denies it by another deny entry.
        { rule: { ...RDP, description: 'rdp, documented' }, denial: denial(1) },
        { rule: SSH, denial: denial(0, '2026-01-31') },
      ],
    });
    const target = unresolved(
      'web',
      'groupName=web',
      'the region has no default VPC to resolve group names in',
    );
    const judge = memory.pass(plan([sg1], { unresolved: [target] }));
    expect(sg1.drift.map((r) => judge.drift(sg1, r))).toEqual(['changed', 'appeared']);
    expect(sg1.descriptionDrift.map((d) => judge.descriptionDrift(sg1, d))).toEqual(['changed']);
    expect(sg1.violations.map((v) => judge.violation(sg1, v))).toEqual(['changed', 'appeared']);
    expect(judge.unresolved(target)).toBe('changed');

    // An expired exception whose date changes is a change of the violation too.
    const later = group('sg-1', { violations: [{ rule: SSH, denial: denial(0, '2026-02-28') }] });
    const next = memory.pass(plan([later]));
    expect(later.violations.map((v) => next.violation(later, v))).toEqual(['changed']);
  });

  it('forgets what a complete pass no longer finds: it appears again when it comes back', () => {
    const memory = createReportMemory();
    const withAll = plan([group('sg-1', { drift: [RDP], violations: [{ rule: RDP, denial: denial() }] })], {
      unresolved: [unresolved('web', 'groupName=web')],
    });
    memory.pass(withAll);
    // The rule was removed, the target now resolves; the group is still read.
    memory.pass(plan([group('sg-1')]));
    const back = memory.pass(withAll);
    const [sg1] = withAll.groups as [GroupPlan];
    expect(back.drift(sg1, RDP)).toBe('appeared');
    expect(back.violation(sg1, { rule: RDP, denial: denial() })).toBe('appeared');
    expect(back.unresolved(unresolved('web', 'groupName=web'))).toBe('appeared');

    // A group no longer targeted at all (not in a plan whose reads all succeeded) is forgotten too.
    memory.pass(plan([]));
    expect(memory.pass(withAll).drift(sg1, RDP)).toBe('appeared');
  });

  it('keeps what a failed read hid: the group and target it covered are unchanged after it', () => {
    const memory = createReportMemory();
    const sg1 = group('sg-1', { drift: [RDP], violations: [{ rule: RDP, denial: denial() }] });
    const target = unresolved('web', 'tags{team=web}');
    memory.pass(plan([sg1, group('sg-2', { policies: ['db'], drift: [SSH] })], { unresolved: [target] }));

    // The read of policy web's targets fails: sg-1 and the tag target are not seen; sg-2 is read.
    memory.pass(
      plan([group('sg-2', { policies: ['db'], drift: [SSH] })], {
        readFailures: [readFailure(['web'], ['groupId=sg-1', 'tags{team=web}'])],
      }),
    );
    const after = memory.pass(plan([sg1], { unresolved: [target] }));
    expect(after.drift(sg1, RDP)).toBe('unchanged');
    expect(after.violation(sg1, { rule: RDP, denial: denial() })).toBe('unchanged');
    expect(after.unresolved(target)).toBe('unchanged');
  });

  it('forgets what a pass could see despite a failed read elsewhere (another policy, target or region)', () => {
    const memory = createReportMemory();
    const sg1 = group('sg-1', { drift: [RDP] });
    const target = unresolved('web', 'groupName=web');
    memory.pass(plan([sg1], { unresolved: [target] }));
    // A read of another policy (db) fails; web's group is gone and its target resolves: both seen.
    memory.pass(plan([], { readFailures: [readFailure(['db'], ['groupId=sg-9'])] }));
    const back = memory.pass(plan([sg1], { unresolved: [target] }));
    expect(back.drift(sg1, RDP)).toBe('appeared');
    expect(back.unresolved(target)).toBe('appeared');

    // A group read clean is seen, even while another read of its own policy fails.
    memory.pass(plan([sg1]));
    memory.pass(plan([group('sg-1')], { readFailures: [readFailure(['web'], ['tags{team=web}'])] }));
    expect(memory.pass(plan([sg1])).drift(sg1, RDP)).toBe('appeared');

    // A failed read of the same policy but another of its targets does not hide this target.
    memory.pass(plan([], { unresolved: [target] }));
    memory.pass(plan([], { readFailures: [readFailure(['web'], ['tags{team=web}'])] }));
    expect(memory.pass(plan([], { unresolved: [target] })).unresolved(target)).toBe('appeared');
  });

  it('keeps everything of an account that could not be reached', () => {
    const memory = createReportMemory();
    const sg1 = group('sg-1', { drift: [RDP] });
    const target = unresolved('web', 'groupName=web');
    memory.pass(plan([sg1], { unresolved: [target] }));
    memory.pass(
      plan([], {
        accountFailures: [
          { account: ACCOUNT, errorCode: 'AccessDenied', error: 'denied', regions: [REGION] },
        ],
      }),
    );
    const after = memory.pass(plan([sg1], { unresolved: [target] }));
    expect(after.drift(sg1, RDP)).toBe('unchanged');
    expect(after.unresolved(target)).toBe('unchanged');
  });
});

describe('the report memory: policy errors', () => {
  const error = (line: number, message = 'ports is required for tcp'): PolicyError => ({
    file: 'policies/web.yaml',
    line,
    column: 9,
    path: 'spec.ingress[0].ports',
    message,
  });

  it('an error is news once; the same errors from edited files are unchanged, new ones appear', () => {
    const memory = createReportMemory();
    expect(memory.policyErrors('load', [error(7)])).toEqual(['appeared']);
    expect(memory.policyErrors('load', [{ ...error(7) }])).toEqual(['unchanged']);
    expect(memory.policyErrors('load', [error(7), error(12)])).toEqual(['unchanged', 'appeared']);
    // Another text, or another place, is another error.
    expect(memory.policyErrors('load', [error(7, 'ports 99999 is out of range'), error(13)])).toEqual([
      'appeared',
      'appeared',
    ]);
  });

  it('a check that passes forgets its errors: fixed and broken again, they appear again', () => {
    const memory = createReportMemory();
    memory.policyErrors('load', [error(7)]);
    expect(memory.policyErrors('load', [])).toEqual([]);
    expect(memory.policyErrors('load', [error(7)])).toEqual(['appeared']);
  });

  it('remembers each check apart: a passing selector check does not forget the load errors', () => {
    const memory = createReportMemory();
    memory.policyErrors('load', [error(7)]);
    memory.policyErrors('selectors', []);
    expect(memory.policyErrors('load', [error(7)])).toEqual(['unchanged']);
    expect(memory.policyErrors('selectors', [error(7)])).toEqual(['appeared']);
  });
});
