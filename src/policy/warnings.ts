// Findings that leave a policy valid (it applies as written) but that its author almost certainly
// did not mean: the same rule declared twice with different descriptions (EC2 keeps one), and an
// ICMP rule whose source is of the other address family (it never matches any traffic). Run on a
// document that passed the schema and every rule, over its normalised policy. Pure.
import type { Policy, PolicyRule } from '../model/policy.js';
import { describeRule, ruleKey } from '../model/rule.js';
import type { Issue, Segment } from './issue.js';

/** One normalised rule with the field path of the source it came from. */
interface SourceSite {
  readonly rule: PolicyRule;
  readonly segments: readonly Segment[];
}

/** The policy's rules with their sources' paths, in normalisePolicy's order (entry by entry, source by source). */
function sites(document: Record<string, unknown>, policy: Policy): SourceSite[] {
  const spec = document.spec as { ingress?: { sources?: unknown[] }[] } | undefined;
  const out: SourceSite[] = [];
  (spec?.ingress ?? []).forEach((entry, i) => {
    (entry.sources ?? []).forEach((_, j) => {
      const rule = policy.rules[out.length];
      if (rule !== undefined) out.push({ rule, segments: ['spec', 'ingress', i, 'sources', j] });
    });
  });
  return out;
}

function descriptionText(description: string | undefined): string {
  return description === undefined || description === ''
    ? 'no description'
    : `description ${JSON.stringify(description)}`;
}

/**
 * The same rule (EC2's identity: protocol, ports or ICMP type/code, source) declared twice in one
 * policy with different descriptions: EC2 keeps one description per rule, and the first declared
 * wins, so the second is never applied. Located at the second, naming the first.
 */
function sameRuleTwice(all: readonly SourceSite[]): Issue[] {
  const first = new Map<string, SourceSite>();
  const issues: Issue[] = [];
  for (const site of all) {
    const key = ruleKey(site.rule.rule);
    const earlier = first.get(key);
    if (earlier === undefined) {
      first.set(key, site);
      continue;
    }
    const a = earlier.rule.rule.description ?? '';
    const b = site.rule.rule.description ?? '';
    if (a === b) continue;
    const { file, line, column } = earlier.rule.position;
    issues.push({
      segments: site.segments,
      at: 'value',
      message:
        `${describeRule(site.rule.rule)} is already declared at ${file}:${line}:${column} with ${descriptionText(a)}; ` +
        `EC2 keeps one description per rule and the first one wins, so ${descriptionText(b)} here is never applied; ` +
        `give both the same description, or remove one`,
    });
  }
  return issues;
}

/** ICMP is per address family: icmp matches IPv4 packets only, icmpv6 IPv6 packets only. */
function icmpFamily(all: readonly SourceSite[]): Issue[] {
  const issues: Issue[] = [];
  for (const { rule, segments } of all) {
    const { protocol, source } = rule.rule;
    if (protocol === 'icmp' && source.kind === 'cidrIpv6') {
      issues.push({
        segments: [...segments, 'cidr'],
        at: 'value',
        message: `protocol icmp matches IPv4 traffic only, so this rule from the IPv6 network ${source.value} never matches anything; move this source to a rule with protocol: icmpv6`,
      });
    } else if (protocol === 'icmpv6' && source.kind === 'cidr') {
      issues.push({
        segments: [...segments, 'cidr'],
        at: 'value',
        message: `protocol icmpv6 matches IPv6 traffic only, so this rule from the IPv4 network ${source.value} never matches anything; move this source to a rule with protocol: icmp`,
      });
    }
  }
  return issues;
}

/** The warnings of one valid IngressPolicy document, given the policy it normalised to. */
export function ingressPolicyWarnings(document: Record<string, unknown>, policy: Policy): Issue[] {
  const all = sites(document, policy);
  return [...sameRuleTwice(all), ...icmpFamily(all)];
}
