// The shapes that flow through a reconcile pass: read -> plan (pure) -> execute -> result.
import type { LiveRule, Rule } from '../model/rule.js';
import type { LiveGroup } from '../aws/port.js';

export type PassMode = 'plan' | 'apply' | 'dry-run';

/** A desired rule bound to one group: canonical, with every policy that wants it (sorted). */
export interface DesiredRule {
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

export interface QuotaProjection {
  readonly limit: number;
  readonly ipv4: { readonly current: number; readonly projected: number };
  readonly ipv6: { readonly current: number; readonly projected: number };
  /** True when applying the missing rules would take either family over the limit. */
  readonly exceeded: boolean;
}

export interface GroupPlan {
  readonly region: string;
  readonly group: LiveGroup;
  /** Policies whose targets matched this group (sorted). */
  readonly policies: readonly string[];
  readonly desired: readonly DesiredRule[];
  readonly missing: readonly DesiredRule[];
  /** Live rules no policy declares: reported, never removed. */
  readonly drift: readonly LiveRule[];
  readonly descriptionDrift: readonly DescriptionDrift[];
  readonly quota: QuotaProjection;
}

export interface UnresolvedTarget {
  readonly region: string;
  readonly policy: string;
  readonly target: string;
}

/** A read that failed: the groups it covers are skipped for the pass, nothing is written for them. */
export interface ReadFailure {
  readonly region: string;
  readonly errorCode: string;
  readonly error: string;
  /** Policies whose targets depended on the failed read (sorted). */
  readonly policies: readonly string[];
  readonly targets: readonly string[];
}

export interface Plan {
  readonly groups: readonly GroupPlan[];
  readonly unresolved: readonly UnresolvedTarget[];
  readonly readFailures: readonly ReadFailure[];
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
    }
  | {
      readonly status: 'failed';
      readonly runId: string;
      readonly mode: PassMode;
      readonly durationMs: number;
      readonly errorCode: string;
      readonly error: string;
    };
