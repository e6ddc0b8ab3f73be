// The rule IDs of live guardrail violations. A pass reads groups with DescribeSecurityGroups, whose
// permissions carry no SecurityGroupRuleId; rule.violation must name the rule, so each group that
// has a violation (rare: these are the rules someone must remove by hand) is read once more with
// DescribeSecurityGroupRules. A failed lookup leaves the IDs unknown; the violation is still reported.
import type { Ec2PortFactory } from '../aws/port.js';
import { ruleKey } from '../model/rule.js';
import { withViolations } from './plan.js';
import { mapBounded } from './support.js';
import type { GroupPlan, Plan } from './types.js';

async function withIds(
  group: GroupPlan,
  ports: Ec2PortFactory,
  signal: AbortSignal | undefined,
): Promise<GroupPlan> {
  if (group.violations.every((v) => v.rule.ruleId !== undefined)) return group;
  let ids: Map<string, string | undefined>;
  try {
    const rules = await ports(group.region, group.account).describeIngressRules(group.group.groupId, signal);
    // The port returns canonical rules (the EC2 read edge canonicalises).
    ids = new Map(rules.map((rule) => [ruleKey(rule), rule.ruleId]));
  } catch {
    return group;
  }
  return withViolations(
    group,
    group.violations.map((v) => {
      const ruleId = v.rule.ruleId ?? ids.get(ruleKey(v.rule));
      return ruleId === undefined ? v : { ...v, rule: { ...v.rule, ruleId } };
    }),
  );
}

/** The plan with the rule IDs of its violations filled in where EC2 gives them. */
export async function fillViolationRuleIds(
  plan: Plan,
  ports: Ec2PortFactory,
  options: { readonly concurrency?: number; readonly signal?: AbortSignal } = {},
): Promise<Plan> {
  if (plan.groups.every((g) => g.violations.length === 0)) return plan;
  const groups = await mapBounded(plan.groups, options.concurrency ?? 4, (group) =>
    group.violations.length === 0 ? Promise.resolve(group) : withIds(group, ports, options.signal),
  );
  return { ...plan, groups };
}
