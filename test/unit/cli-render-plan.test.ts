import { describe, expect, it } from 'vitest';
import { renderPlan } from '../../src/cli/render-plan.js';
import type { LiveGroup } from '../../src/model/group.js';
import type { LiveRule } from '../../src/model/rule.js';
import { buildPlan, type GuardrailInput } from '../../src/reconcile/plan.js';
import type { GroupRead, PassResult, Plan, RegionRead } from '../../src/reconcile/types.js';
import { policy, rule, tcp } from '../helpers/fake-ec2.js';

const ACCOUNT = '111111111111';
const REGION = 'us-east-1';
const GROUP = 'sg-0123456789abcdef0';

function region(live: readonly LiveRule[], extra: Partial<RegionRead> = {}): RegionRead {
  const group: LiveGroup = {
    groupId: GROUP,
    groupName: 'web',
    vpcId: 'vpc-1',
    ownerId: ACCOUNT,
    tags: {},
    rules: live,
  };
  return {
    region: REGION,
    groups: new Map<string, GroupRead>([[GROUP, { group, policies: new Set(['web']) }]]),
    unresolved: [],
    readFailures: [],
    prefixLists: new Map(),
    prefixListFailure: undefined,
    readsSucceeded: 1,
    ...extra,
  };
}

/** A completed plan pass of one group targeted by policy `web` with `desired` rules. */
function pass(
  desired: Parameters<typeof policy>[0]['rules'],
  live: readonly LiveRule[],
  extra: Partial<RegionRead> = {},
  guardrails?: GuardrailInput,
): PassResult {
  const plan: Plan = buildPlan({
    ...(guardrails !== undefined ? { guardrails } : {}),
    regions: [
      {
        account: ACCOUNT,
        region: REGION,
        policies: [policy({ name: 'web', targets: [GROUP], rules: desired })],
        read: region(live, extra),
      },
    ],
    maxRulesPerGroup: 60,
  });
  const count = (what: 'missing' | 'drift' | 'descriptionDrift'): number =>
    plan.groups.reduce((n, g) => n + g[what].length, 0);
  return {
    status: 'completed',
    runId: 'run-1',
    mode: 'plan',
    durationMs: 1,
    plan,
    counts: {
      groups: plan.groups.length,
      desired: plan.groups.reduce((n, g) => n + g.desired.length, 0),
      missing: count('missing'),
      authorized: 0,
      failed: 0,
      drift: count('drift'),
      descriptionDrift: count('descriptionDrift'),
      unresolved: plan.unresolved.length,
      readFailures: plan.readFailures.length,
      units: 1,
      accountsFailed: 0,
    },
  };
}

interface JsonGroup {
  missing: { description: unknown }[];
  drift: { description: unknown; ruleId?: string }[];
  descriptionDrift: { live: unknown; desired: unknown }[];
}

function jsonGroups(result: PassResult): JsonGroup[] {
  return (JSON.parse(renderPlan(result, 'json')) as { groups: JsonGroup[] }).groups;
}

describe('renderPlan: an empty description reads the same in every format', () => {
  // EC2 returns "no description" as an absent field or as ''; both must read as none.
  const result = pass(
    [tcp(22, '10.0.0.0/8', 'ssh'), tcp(443, '10.0.0.0/8')],
    [
      { ...tcp(22, '10.0.0.0/8'), description: '' },
      { ...tcp(25, '10.0.0.0/8'), description: '' },
    ],
  );

  it('text says (none)', () => {
    const text = renderPlan(result, 'text');
    expect(text).toContain('description (none) -> "ssh"');
    expect(text).toMatch(/\+ +tcp +443 +cidr 10\.0\.0\.0\/8 +\(none\)/);
    expect(text).toMatch(/! +tcp +25 +cidr 10\.0\.0\.0\/8 +\(none\)/);
  });

  it('Markdown says (none) where the live description is empty, never a bare arrow', () => {
    const markdown = renderPlan(result, 'markdown');
    // Without --update-descriptions the drift is in the reported-only table; with it, a `~` change.
    expect(markdown).toContain('| tcp | 22 | `10.0.0.0/8` | _(none)_ | ssh | web |');
    const updating = renderPlan(
      result.status === 'completed'
        ? { ...result, plan: { ...result.plan, updateDescriptions: true } }
        : result,
      'markdown',
    );
    expect(updating).toContain('| ~ | tcp | 22 | `10.0.0.0/8` | _(none)_ → ssh | web |');
    expect(updating).not.toMatch(/\| +→/);
    expect(markdown).toContain('| + | tcp | 443 | `10.0.0.0/8` | _(none)_ | web |');
    expect(markdown).toContain('| tcp | 25 | `10.0.0.0/8` | _(none)_ |');
    expect(markdown).not.toMatch(/\| +→/);
  });

  it('JSON says null, never an empty string or a missing field', () => {
    const [group] = jsonGroups(result);
    expect(group?.descriptionDrift).toEqual([expect.objectContaining({ live: null, desired: 'ssh' })]);
    expect(group?.missing).toEqual([expect.objectContaining({ description: null })]);
    expect(group?.drift).toEqual([expect.objectContaining({ description: null })]);
  });
});

describe('renderPlan: drift rows', () => {
  it('Markdown shows no empty rule-ID column when the read returned no rule IDs (DescribeSecurityGroups)', () => {
    const markdown = renderPlan(pass([tcp(22, '10.0.0.0/8')], [tcp(25, '10.0.0.0/8', 'mail')]), 'markdown');
    expect(markdown).toContain('| protocol | ports | source | description |\n|---|---|---|---|\n');
    expect(markdown).toContain('| tcp | 25 | `10.0.0.0/8` | mail |\n');
  });

  it('Markdown and text show the rule ID when the read returned one', () => {
    const result = pass(
      [tcp(22, '10.0.0.0/8')],
      [
        { ...tcp(25, '10.0.0.0/8'), ruleId: 'sgr-0aaaaaaaaaaaaaaa1' },
        { ...tcp(26, '10.0.0.0/8'), ruleId: undefined },
      ],
    );
    const markdown = renderPlan(result, 'markdown');
    expect(markdown).toContain('| protocol | ports | source | description | rule ID |');
    expect(markdown).toContain('| tcp | 25 | `10.0.0.0/8` | _(none)_ | sgr-0aaaaaaaaaaaaaaa1 |');
    expect(markdown).toContain('| tcp | 26 | `10.0.0.0/8` | _(none)_ | — |');
    const text = renderPlan(result, 'text');
    expect(text).toContain('drift (sgr-0aaaaaaaaaaaaaaa1): no policy declares it; left alone');
    expect(text).toMatch(/tcp +26 .*drift: no policy declares it/);
  });

  it('a group of another account reads as account/sg-… in text and Markdown', () => {
    const result = pass(
      [
        {
          ...rule('tcp', 5432, 'sg-0fedcba9876543210'),
          source: { kind: 'securityGroup', value: 'sg-0fedcba9876543210', userId: '222222222222' },
        },
      ],
      [],
    );
    expect(renderPlan(result, 'text')).toContain('securityGroup 222222222222/sg-0fedcba9876543210');
    expect(renderPlan(result, 'markdown')).toContain('| `222222222222/sg-0fedcba9876543210` |');
  });
});

describe('renderPlan: guardrail findings', () => {
  const noSsh: GuardrailInput = {
    names: ['no-ssh'],
    judge: (r) =>
      r.fromPort === 22
        ? { guardrail: 'no-ssh', entry: 0, position: { file: 'g.yaml', line: 1, column: 1 } }
        : undefined,
  };

  it('Markdown violations show the rule ID column only when the read had IDs, and no stacked blank lines', () => {
    const withoutIds = renderPlan(
      pass([tcp(443, '10.0.0.0/8')], [tcp(22, '0.0.0.0/0')], {}, noSsh),
      'markdown',
    );
    expect(withoutIds).toContain('| account / region | group | protocol | ports | source | guardrail |\n');
    expect(withoutIds).not.toMatch(/\n\n\n/);
    const withIds = renderPlan(
      pass(
        [tcp(443, '10.0.0.0/8')],
        [{ ...tcp(22, '0.0.0.0/0'), ruleId: 'sgr-0bbbbbbbbbbbbbbb2' }],
        {},
        noSsh,
      ),
      'markdown',
    );
    expect(withIds).toContain(
      `| 111111111111 / us-east-1 | \`${GROUP}\` | tcp | 22 | \`0.0.0.0/0\` | guardrail no-ssh deny\\[0\\] | sgr-0bbbbbbbbbbbbbbb2 |`,
    );
  });

  it('text and JSON report the violation without an empty description', () => {
    const result = pass([tcp(443, '10.0.0.0/8')], [tcp(22, '0.0.0.0/0')], {}, noSsh);
    expect(renderPlan(result, 'text')).not.toMatch(/\n\n\n/);
    const doc = JSON.parse(renderPlan(result, 'json')) as { guardrails: { violations: unknown[] } };
    expect(doc.guardrails.violations).toEqual([expect.objectContaining({ fromPort: 22, description: null })]);
  });
});

describe('renderPlan: layout', () => {
  it('Markdown never stacks blank lines, also before <details> of a group with only drift', () => {
    const cases = [
      pass([tcp(22, '10.0.0.0/8')], [tcp(22, '10.0.0.0/8'), tcp(25, '10.0.0.0/8')]),
      pass([tcp(22, '10.0.0.0/8')], [tcp(25, '10.0.0.0/8')]),
      pass([tcp(22, '10.0.0.0/8')], [tcp(25, '10.0.0.0/8')], {
        unresolved: [{ region: REGION, policy: 'web', target: 'groupId: sg-1' }],
        readFailures: [
          {
            region: REGION,
            errorCode: 'Throttling',
            error: 'slow down',
            policies: ['db'],
            targets: ['groupName: db'],
          },
        ],
      }),
    ];
    for (const result of cases) {
      const markdown = renderPlan(result, 'markdown');
      expect(markdown).not.toMatch(/\n\n\n/);
      expect(markdown).toMatch(/[^\n]\n\n<details>/);
      expect(renderPlan(result, 'text')).not.toMatch(/\n\n\n/);
    }
  });

  it('unresolved targets and failed reads name their unit and the reason, without a stray blank', () => {
    const result = pass([tcp(22, '10.0.0.0/8')], [], {
      unresolved: [
        { region: REGION, policy: 'web', target: 'groupName: api', reason: 'the region has no default VPC' },
      ],
      readFailures: [
        {
          region: REGION,
          errorCode: 'Throttling',
          error: 'slow down',
          policies: ['db'],
          targets: ['groupName: db'],
        },
      ],
    });
    const text = renderPlan(result, 'text');
    expect(text).toContain(
      'unresolved: 111111111111 / us-east-1 policy web target groupName: api matched no group (the region has no default VPC)',
    );
    expect(text).toContain(
      'read failed: 111111111111 / us-east-1 Throttling: slow down (skipped policies: db)',
    );
    const markdown = renderPlan(result, 'markdown');
    expect(markdown).toContain(
      '- 111111111111 / us-east-1 policy web target groupName: api matched no group (the region has no default VPC)',
    );
    expect(markdown).toContain('- 111111111111 / us-east-1 `Throttling` slow down');
  });
});

describe('renderPlan text: each unit is named once', () => {
  it('heads the unit with account/region and starts each group line with the group ID', () => {
    const lines = renderPlan(pass([tcp(22, '10.0.0.0/8')], []), 'text').split('\n');
    expect(lines).toContain(`account ${ACCOUNT} / ${REGION}`);
    expect(lines).toContain(`${GROUP} (web, vpc-1)  policies: web`);
    expect(lines.filter((line) => line.includes(REGION))).toEqual([`account ${ACCOUNT} / ${REGION}`]);
  });
});

describe('renderPlan: a group over its quota', () => {
  it('the summary says its missing rules will not be written, in text and Markdown', () => {
    const live = Array.from({ length: 60 }, (_, i) => tcp(443, `10.1.${i}.0/24`));
    const result = pass([...live, tcp(22, '10.0.0.0/8')], live);
    const summary = ', 1 group OVER QUOTA: its 1 rule will not be written';
    expect(renderPlan(result, 'text').split('\n')[0]).toContain(summary);
    expect(renderPlan(result, 'markdown')).toContain(summary);
    expect(renderPlan(pass([tcp(22, '10.0.0.0/8')], []), 'text')).not.toContain('OVER QUOTA');
  });
});
