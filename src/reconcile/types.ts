// The shapes that flow through a reconcile pass: read -> plan (pure) -> execute -> result.
import type { Denial } from '../model/guardrail.js';
import type { PolicyError } from '../model/policy.js';
import type { LiveRule, Rule } from '../model/rule.js';
import type { GroupInfo, LiveGroup, PrefixListInfo } from '../model/group.js';

export type PassMode = 'plan' | 'apply' | 'dry-run';

/**
 * reconcile.failed's errorCode when a policy selects accounts the inventory cannot give (no
 * inventory, or a selector that matches none of it): a configuration error, exit 3.
 */
export const INVALID_ACCOUNT_SELECTORS = 'InvalidAccountSelectors';

/** A desired rule bound to one group: canonical, with every policy that wants it (sorted). */
export interface DesiredRule {
  /** The account of the group (12 digits). */
  readonly account: string;
  readonly region: string;
  readonly groupId: string;
  readonly rule: Rule;
  /** The policy whose tags the rule is created with: the first of `policies` by name. */
  readonly policy: string;
  readonly policies: readonly string[];
  /** Tags the rule is created with: managed-by, sg-reconciler/policy and the owning policy's ruleTags. */
  readonly tags: Readonly<Record<string, string>>;
}

export interface DescriptionDrift {
  readonly desired: DesiredRule;
  readonly live: LiveRule;
}

/** A missing desired rule a guardrail denies: never sent to EC2 (`rule.blocked`). */
export interface BlockedRule {
  readonly desired: DesiredRule;
  readonly denial: Denial;
}

/** A live rule a guardrail denies (`rule.violation`): reported, never revoked. */
export interface Violation {
  readonly rule: LiveRule;
  readonly denial: Denial;
}

export interface QuotaProjection {
  readonly limit: number;
  readonly ipv4: { readonly current: number; readonly projected: number };
  readonly ipv6: { readonly current: number; readonly projected: number };
  /**
   * True when the missing rules add to a family that would then be over the limit. A family the
   * missing rules do not touch never fails a group, nor does a group with nothing missing.
   */
  readonly exceeded: boolean;
  /**
   * Prefix lists whose size could not be read (describe failed or the list is unknown): each was
   * counted as one rule in both families, so the projection may be low for this group.
   */
  readonly unknownPrefixLists?: readonly string[];
}

export interface GroupPlan {
  /** The account of the group (12 digits). */
  readonly account: string;
  readonly region: string;
  /**
   * The group, without its live rules: a plan keeps of those only what it found (drift,
   * description drift, violations), so a pass never holds every rule it read at once.
   */
  readonly group: GroupInfo;
  /** Policies whose targets matched this group (sorted). */
  readonly policies: readonly string[];
  /**
   * The group's desired rules. Every rule list of a GroupPlan is in rule order (model/order.ts:
   * protocol, ports and networks numerically), the order of every plan format and event. The
   * planner builds this list on first read (a getter): a pass that only counts it (most passes, and
   * every no-change one) allocates no DesiredRule per present rule.
   */
  readonly desired: readonly DesiredRule[];
  /** `desired.length`, known without building `desired`. */
  readonly desiredCount: number;
  /** Desired rules not live, that no guardrail denies: what apply sends. */
  readonly missing: readonly DesiredRule[];
  /** Desired rules not live that a guardrail denies: never sent. */
  readonly blocked: readonly BlockedRule[];
  /** Live rules a guardrail denies (declared or not, unless an exception covers a declaring policy). */
  readonly violations: readonly Violation[];
  /** Live rules no policy declares: reported, never removed. */
  readonly drift: readonly LiveRule[];
  readonly descriptionDrift: readonly DescriptionDrift[];
  readonly quota: QuotaProjection;
}

export interface UnresolvedTarget {
  /** The unit's account; set by the pass (read.ts reads one region of one account). */
  readonly account?: string;
  readonly region: string;
  readonly policy: string;
  readonly target: string;
  /** Why nothing matched when it is not simply "no such group", e.g. the region has no default VPC. */
  readonly reason?: string;
}

/** A read that failed: the groups it covers are skipped for the pass, nothing is written for them. */
export interface ReadFailure {
  /** The unit's account; set by the pass (read.ts reads one region of one account). */
  readonly account?: string;
  readonly region: string;
  /** The EC2 action that failed (`DescribeSecurityGroups`, `DescribeVpcs`). */
  readonly action?: string;
  readonly errorCode: string;
  readonly error: string;
  /** Policies whose targets depended on the failed read (sorted). */
  readonly policies: readonly string[];
  readonly targets: readonly string[];
}

/**
 * A DescribeManagedPrefixLists call that failed. No group is skipped for it: the quota projection
 * counts each list it could not size as one rule (see QuotaProjection.unknownPrefixLists).
 */
export interface PrefixListReadFailure {
  readonly account?: string;
  readonly region: string;
  readonly errorCode: string;
  readonly error: string;
  readonly prefixListIds: readonly string[];
}

/** A group read back for a pass, with every policy whose targets matched it. */
export interface GroupRead {
  readonly group: LiveGroup;
  readonly policies: ReadonlySet<string>;
}

/** Everything read from one region for one pass (see read.ts). */
export interface RegionRead {
  readonly region: string;
  readonly groups: ReadonlyMap<string, GroupRead>;
  readonly unresolved: readonly UnresolvedTarget[];
  readonly readFailures: readonly ReadFailure[];
  readonly prefixLists: ReadonlyMap<string, PrefixListInfo>;
  readonly prefixListFailure: PrefixListReadFailure | undefined;
  /** Group reads (DescribeSecurityGroups / DescribeVpcs) that succeeded; 0 with failures = nothing read. */
  readonly readsSucceeded: number;
}

/**
 * An account that could not be reached (AssumeRole denied, throttled, timed out): its units were
 * skipped for the pass, nothing was read or written there.
 */
export interface AccountFailure {
  readonly account: string;
  readonly errorCode: string;
  readonly error: string;
  /** The role the pass tried to assume. */
  readonly roleArn?: string;
  /** The regions of the account's skipped units (sorted). */
  readonly regions: readonly string[];
}

/**
 * A policy the pass could not work on at all, located where the fix goes: today only a policy that
 * names no region while no default region resolves. The other policies are reconciled.
 */
export interface SkippedPolicy {
  readonly policy: string;
  readonly reason: 'no-region';
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The field to write: `spec.region`. */
  readonly path: string;
  /** What is wrong and what to write instead. */
  readonly error: string;
}

export interface Plan {
  /** Sorted by account, region, group ID. */
  readonly groups: readonly GroupPlan[];
  /** Policies that were not worked on (no region): each is a failure of the pass (exit 1). */
  readonly skippedPolicies?: readonly SkippedPolicy[];
  /**
   * `--update-descriptions`: every group's descriptionDrift is a change the pass makes (apply) or
   * would make (plan, dry-run). Absent or false: description drift is reported only.
   */
  readonly updateDescriptions?: boolean;
  readonly unresolved: readonly UnresolvedTarget[];
  readonly readFailures: readonly ReadFailure[];
  readonly prefixListFailures?: readonly PrefixListReadFailure[];
  /** Accounts the pass could not reach (sorted by account). */
  readonly accountFailures?: readonly AccountFailure[];
  /** The names of the guardrails the plan checked (absent without guardrails). */
  readonly guardrails?: readonly string[];
}

/** What happened to one missing rule when the pass tried to authorize it (apply or dry-run). */
export type RuleOutcome =
  | {
      readonly status: 'authorized';
      readonly desired: DesiredRule;
      /** undefined only with ruleIdPending: EC2 said OK but the rule was not yet visible on read-back. */
      readonly ruleId: string | undefined;
      readonly ruleIdPending: boolean;
      /** Set when the rule was found present after a failed call (the error code of that call). */
      readonly recoveredAfter?: string;
    }
  | {
      /** InvalidPermission.Duplicate: someone else (or eventual consistency) got there first. */
      readonly status: 'already-present';
      readonly desired: DesiredRule;
      readonly ruleId: string | undefined;
    }
  | {
      readonly status: 'failed';
      readonly desired: DesiredRule;
      readonly errorCode: string;
      readonly error: string;
    }
  | {
      /** Dry-run: DryRunOperation = permitted, UnauthorizedOperation = denied. */
      readonly status: 'dry-run';
      readonly desired: DesiredRule;
      readonly permitted: boolean;
    }
  | {
      /** The pass was aborted before this rule's batch was sent. */
      readonly status: 'not-attempted';
      readonly desired: DesiredRule;
    }
  | {
      /**
       * The rule was sent, the answer was lost (abort, timeout, broken connection), and a re-read did
       * not find it (`absent`: EC2 may still apply a cut request) or could not be made (`failed`).
       */
      readonly status: 'outcome-unknown';
      readonly desired: DesiredRule;
      readonly errorCode: string;
      readonly error: string;
      readonly recheck: 'absent' | 'failed';
    };

/**
 * What happened to one description drift under `--update-descriptions` (apply or dry-run): the
 * rule's access is never touched, only its description.
 */
export type DescriptionOutcome =
  | {
      readonly status: 'updated';
      readonly drift: DescriptionDrift;
      /** The SecurityGroupRuleId, from the read-back after the call; undefined when it could not be read. */
      readonly ruleId: string | undefined;
      /** Set when the call failed (lost answer) but the read-back shows the new description. */
      readonly recoveredAfter?: string;
    }
  | {
      readonly status: 'failed';
      readonly drift: DescriptionDrift;
      readonly errorCode: string;
      readonly error: string;
    }
  | {
      /** Dry-run: DryRunOperation = permitted, UnauthorizedOperation = denied. */
      readonly status: 'dry-run';
      readonly drift: DescriptionDrift;
      readonly permitted: boolean;
    }
  | {
      /** The pass was aborted before this group's call was sent. */
      readonly status: 'not-attempted';
      readonly drift: DescriptionDrift;
    };

/** One AuthorizeSecurityGroupIngress call about to be sent: the group and the rules in it. */
export interface AuthorizeRequested {
  readonly group: GroupPlan;
  readonly rules: readonly DesiredRule[];
}

/**
 * A rule whose write outcome a previous pass could not learn (status outcome-unknown). The daemon
 * hands these to its next pass, which reports each one found present as authorized (recoveredAfter).
 */
export interface UnsettledRule {
  readonly desired: DesiredRule;
  readonly errorCode: string;
}

export interface PassCounts {
  readonly groups: number;
  readonly desired: number;
  readonly missing: number;
  readonly authorized: number;
  readonly failed: number;
  readonly drift: number;
  readonly descriptionDrift: number;
  readonly unresolved: number;
  readonly readFailures: number;
  /** Policies skipped for want of a region (policy.skipped); absent when none. */
  readonly policiesSkipped?: number;
  /** (account, region) units this pass (this shard) worked on, skipped ones included. */
  readonly units?: number;
  /** Accounts that could not be reached (account.failed); their units were skipped. */
  readonly accountsFailed?: number;
  /** With guardrails: desired rules a guardrail denied (not sent), and live rules it denies. */
  readonly blocked?: number;
  readonly violations?: number;
  /** Missing rules that turned out to exist already (InvalidPermission.Duplicate). */
  readonly alreadyPresent?: number;
  /** Rules sent whose answer was lost and that a re-read could not confirm (rule.outcome_unknown). */
  readonly outcomeUnknown?: number;
  /** Dry-run: rules EC2 would authorize / would deny. Denied rules are also counted in `failed`. */
  readonly permitted?: number;
  readonly denied?: number;
  /**
   * Only with `--update-descriptions`: description drifts the pass changes (plan and dry-run: would
   * change), those it changed (apply), and those whose update failed or was denied (dry-run).
   */
  readonly descriptionUpdates?: number;
  readonly descriptionsUpdated?: number;
  readonly descriptionsFailed?: number;
}

/**
 * How a pass ended. `completed`: it ran (rules may still have failed: see counts.failed and
 * readFailures); `failed`: it could not run at all (reconcile.failed was emitted).
 */
export type PassResult =
  | {
      readonly status: 'completed';
      readonly runId: string;
      readonly mode: PassMode;
      readonly durationMs: number;
      readonly plan: Plan;
      readonly counts: PassCounts;
      /** Apply and dry-run: one outcome per missing rule, sorted by account, region, group and rule order (model/order.ts). */
      readonly outcomes?: readonly RuleOutcome[];
      /** Apply and dry-run with `--update-descriptions`: one outcome per description drift. */
      readonly descriptionOutcomes?: readonly DescriptionOutcome[];
    }
  | {
      readonly status: 'failed';
      readonly runId: string;
      readonly mode: PassMode;
      readonly durationMs: number;
      readonly errorCode: string;
      readonly error: string;
      /** InvalidAccountSelectors: the located selectors the inventory cannot serve (exit 3). */
      readonly policyErrors?: readonly PolicyError[];
    };
