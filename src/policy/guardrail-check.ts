// The first enforcement point of the guardrails (SPEC "Guardrails"): after the whole set is read,
// every desired rule a guardrail denies, with no exception in force for its policy, is an error
// located at the rule's source, so `validate` fails a pull request before anyone merges it. Pure.
import { denialOf, type Denial, type Guardrail } from '../model/guardrail.js';
import type { Policy, PolicyError, PolicyWarning } from '../model/policy.js';
import { closest } from './values.js';
import { describePorts, describeProtocol, type Rule } from '../model/rule.js';

/** One desired rule of a policy with the field path of the source it came from. */
export interface RuleSite {
  readonly policy: Policy;
  /** Index into policy.rules. */
  readonly index: number;
  /** e.g. `spec.ingress[0].sources[1]`. */
  readonly path: string;
}

const SOURCE_WORDS: Readonly<Record<Rule['source']['kind'], string>> = {
  cidr: '',
  cidrIpv6: '',
  prefixList: 'prefix list ',
  securityGroup: 'security group ',
};

/** `tcp 22 from 0.0.0.0/0`, `all from security group sg-1a2b3c4d`. */
function describeRule(rule: Rule): string {
  const ports = describePorts(rule);
  const portText = ports === 'all' ? '' : ` ${ports}`;
  return `${describeProtocol(rule.protocol)}${portText} from ${SOURCE_WORDS[rule.source.kind]}${rule.source.value}`;
}

function where(denial: Denial): string {
  const { file, line, column } = denial.position;
  return `deny[${denial.entry}] at ${file}:${line}:${column}`;
}

/** The sentence for a denied desired rule: what, by which guardrail and entry, and what to do. */
export function denialMessage(rule: Rule, policy: string, denial: Denial): string {
  const head = `${describeRule(rule)} is denied by guardrail ${denial.guardrail} (${where(denial)})`;
  if (denial.expired !== undefined) {
    return (
      `${head}; its exception for policy ${policy} expired on ${denial.expired.expires}; ` +
      `narrow the source to the networks that need access, or renew the exception with a later expires date`
    );
  }
  return (
    `${head}; narrow the source to the networks that need access, or add to guardrail ${denial.guardrail} ` +
    `an exception for policy ${policy} with an expires date and a reason`
  );
}

/**
 * Every denied desired rule as a located error (with `guardrail`), in the order of the sites.
 * `today` is the UTC date (`YYYY-MM-DD`) exceptions are judged on. A `self` source is the target
 * group: a security group, which only `from: any` denies.
 */
export function guardrailErrors(
  sites: readonly RuleSite[],
  guardrails: readonly Guardrail[],
  today: string,
): PolicyError[] {
  if (guardrails.length === 0) return [];
  const errors: PolicyError[] = [];
  for (const { policy, index, path } of sites) {
    const policyRule = policy.rules[index];
    if (policyRule === undefined) continue;
    const denial = denialOf(guardrails, policyRule.rule, [policy.name], today);
    if (denial === undefined) continue;
    errors.push({
      ...policyRule.position,
      path,
      message: denialMessage(policyRule.rule, policy.name, denial),
      guardrail: denial.guardrail,
      guardrailEntry: denial.entry,
    });
  }
  return errors;
}

/**
 * Warnings for exceptions that name no IngressPolicy of the set (a typo, or a policy since
 * removed), located at the exception, with the closest policy name when there is one.
 */
export function exceptionWarnings(
  policies: readonly Policy[],
  guardrails: readonly Guardrail[],
): PolicyWarning[] {
  const names = policies.map((p) => p.name);
  return guardrails.flatMap((guardrail) =>
    guardrail.exceptions.flatMap((exception, index): PolicyWarning[] => {
      if (names.includes(exception.policy)) return [];
      const near = closest(exception.policy, names);
      return [
        {
          ...exception.position,
          path: `spec.exceptions[${index}]`,
          message:
            `guardrail ${guardrail.name} has an exception for policy ${exception.policy}, but no IngressPolicy of the set has that name; ` +
            (near !== undefined
              ? `did you mean policy: ${near}?`
              : 'write the name of an IngressPolicy, or remove the exception'),
        },
      ];
    }),
  );
}
