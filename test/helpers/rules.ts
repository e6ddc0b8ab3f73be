// Canonical rules for tests: the Rule type is made only by canonicalRule (the policy and EC2-read
// edges), so a test that hands rules to a port or the planner canonicalises them the same way.
import { canonicalRule, type Rule, type RuleFields } from '../../src/model/rule.js';

/** `fields` as canonical rules (canonicalRule each), in order. Throws what canonicalRule throws. */
export function canonicalRules(fields: readonly RuleFields[]): Rule[] {
  return fields.map((rule) => canonicalRule(rule));
}
