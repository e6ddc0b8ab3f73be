// The normalised policy set: what the policy loader produces and the planner consumes. Pure types
// and helpers; positions are kept so later stages can point back at the YAML.
import type { PolicyAccountSelector } from './accounts.js';
import type { Guardrail } from './guardrail.js';
import type { Rule } from './rule.js';

/** Where a value came from in a policy file (1-based line and column). */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** How a policy selects security groups. */
export type TargetSelector =
  | { readonly kind: 'groupId'; readonly groupId: string }
  | { readonly kind: 'groupName'; readonly groupName: string }
  | { readonly kind: 'tags'; readonly tags: Readonly<Record<string, string>>; readonly vpcId?: string };

export interface PolicyTarget {
  readonly selector: TargetSelector;
  readonly position: SourcePosition;
}

/**
 * One desired rule of a policy, canonical, before it is bound to a group. A rule whose source is
 * the target group itself (`securityGroup: self`) has the source value SELF_GROUP (isSelfSource).
 */
export interface PolicyRule {
  readonly rule: Rule;
  readonly position: SourcePosition;
}

export interface Policy {
  readonly name: string;
  readonly file: string;
  readonly position: SourcePosition;
  /** The policy's own region (`spec.region`), or undefined to use --region / AWS_REGION. */
  readonly region: string | undefined;
  /**
   * Where `spec.region` is written, or the `spec` mapping that would hold it: where a person adds
   * the region when none resolves. Absent in policies built by hand (tests); `position` then.
   */
  readonly regionPosition?: SourcePosition;
  /** `spec.regions` (never together with `region`); absent or empty = `region` or the default. */
  readonly regions?: readonly string[];
  /** `spec.accounts`; absent = the account of the tool's own credentials. */
  readonly accounts?: readonly PolicyAccountSelector[];
  readonly targets: readonly PolicyTarget[];
  readonly ruleTags: Readonly<Record<string, string>>;
  readonly rules: readonly PolicyRule[];
}

/** A validation error, located in a file and a field path, phrased for a person to act on. */
export interface PolicyError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Field path, e.g. `spec.ingress[0].ports`; empty for whole-document errors. */
  readonly path: string;
  readonly message: string;
  /**
   * The error is about a --policies path as a whole (it does not exist, cannot be read): `line` and
   * `column` are 1 only because every error has them, and people are shown `file: message`.
   */
  readonly wholePath?: true;
  /** Set when a guardrail denies the rule at this position: the guardrail's name. */
  readonly guardrail?: string;
  /** With `guardrail`: the index of its `deny` entry that matched. */
  readonly guardrailEntry?: number;
}

/**
 * A finding that leaves the set valid (it applies as written) but that its author should see.
 * About a field of a document, it is located like a PolicyError (`file`, `line`, `column`, `path`)
 * and says what to write instead; about a file or the whole set, it has `message` alone (which
 * then names the file or directory itself).
 */
export interface PolicyWarning {
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  readonly path?: string;
}

export type PolicyLoadResult =
  | {
      readonly ok: true;
      readonly policies: readonly Policy[];
      /** The Guardrail documents of the set; absent when it has none. */
      readonly guardrails?: readonly Guardrail[];
      readonly files: readonly string[];
      readonly warnings: readonly PolicyWarning[];
    }
  | {
      readonly ok: false;
      readonly errors: readonly PolicyError[];
      readonly files: readonly string[];
      /** The warnings of the documents that got far enough to be checked: shown with the errors. */
      readonly warnings?: readonly PolicyWarning[];
    };

/** A human form of a target selector, used in events and reports. */
export function describeTarget(selector: TargetSelector): string {
  switch (selector.kind) {
    case 'groupId':
      return `groupId=${selector.groupId}`;
    case 'groupName':
      return `groupName=${selector.groupName}`;
    case 'tags': {
      const tags = Object.entries(selector.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      return selector.vpcId === undefined ? `tags{${tags}}` : `tags{${tags}} vpcId=${selector.vpcId}`;
    }
  }
}

/**
 * Why a load found no single version of the policy set to use (the caller defers the pass, with
 * `reconcile.skipped` reason `policies-changing`):
 * - `links-moved`: a symlink on the way (a ConfigMap `..data`, a git-sync link, a symlinked root or
 *   subdirectory) pointed elsewhere after the files were read than before, on every attempt;
 * - `file-changed`: a file or directory changed (size, mtime, ctime, inode) while it was read;
 * - `settling`: a file was modified less than the settle window ago (it may be half-written).
 */
export type PolicySetChangingReason = 'links-moved' | 'file-changed' | 'settling';

/** The outcome of reading one policy directory as one version (see policy/load.ts, loadPolicySet). */
export type PolicySetLoad =
  | {
      readonly kind: 'read';
      readonly result: PolicyLoadResult;
      /**
       * sha256 (hex) over the sorted relative file paths and their bytes: the same files give the
       * same digest whichever version directory they were read from.
       */
      readonly digest: string;
      /** The ConfigMap (`..data` target) or git-sync (symlink target) version directory's name. */
      readonly version: string | undefined;
    }
  | {
      readonly kind: 'changing';
      readonly reason: PolicySetChangingReason;
      /** The path that moved or changed (shown as below the policy directory). */
      readonly file: string;
      /** Loads tried before giving up (links-moved, file-changed), or 1 (settling). */
      readonly attempts: number;
      /** For `settling`: milliseconds until the youngest file is old enough. */
      readonly retryAfterMs: number | undefined;
    };
