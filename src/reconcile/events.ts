// The one mapping from rules to the fields of the contract's events (SPEC "Events"), so every
// rule.* event names a rule the same way.
import type { LiveRule, RuleSource } from '../model/rule.js';
import type { DesiredRule } from './types.js';

export interface SourceFields {
  readonly kind: RuleSource['kind'];
  readonly value: string;
  readonly userId?: string;
  readonly vpcId?: string;
  readonly vpcPeeringConnectionId?: string;
}

function sourceFields(source: RuleSource): SourceFields {
  return {
    kind: source.kind,
    value: source.value,
    ...(source.userId !== undefined ? { userId: source.userId } : {}),
    ...(source.vpcId !== undefined ? { vpcId: source.vpcId } : {}),
    ...(source.vpcPeeringConnectionId !== undefined
      ? { vpcPeeringConnectionId: source.vpcPeeringConnectionId }
      : {}),
  };
}

/** The fields of rule.missing / rule.authorized / rule.failed / rule.description_drift for a desired rule. */
export function ruleFields(desired: DesiredRule): Record<string, unknown> {
  const { rule } = desired;
  return {
    policy: desired.policy,
    policies: desired.policies,
    account: desired.account,
    region: desired.region,
    groupId: desired.groupId,
    protocol: rule.protocol,
    fromPort: rule.fromPort,
    toPort: rule.toPort,
    source: sourceFields(rule.source),
    description: rule.description,
  };
}

/** The fields of rule.drift for a live rule no policy declares. */
export function liveRuleFields(
  account: string,
  region: string,
  groupId: string,
  rule: LiveRule,
): Record<string, unknown> {
  return {
    account,
    region,
    groupId,
    protocol: rule.protocol,
    fromPort: rule.fromPort,
    toPort: rule.toPort,
    source: sourceFields(rule.source),
    description: rule.description,
    ...(rule.ruleId !== undefined ? { ruleId: rule.ruleId } : {}),
  };
}
