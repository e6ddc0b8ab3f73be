// The narrow EC2 edge the planner and executor see. The SDK implementation lives in ec2-port.ts,
// the offline snapshot one in snapshot-port.ts, and tests use an in-memory fake. No SDK types here.
import type { LiveGroup, PrefixListInfo } from '../model/group.js';
import type { LiveRule, Rule } from '../model/rule.js';
import type { AccountRef, OwnAccount } from '../model/units.js';

export type { LiveGroup, PrefixListInfo } from '../model/group.js';

/**
 * A DescribeSecurityGroups filter, as EC2 defines them (`group-id`, `tag:K`, `vpc-id`, `group-name`).
 * `values` are EC2 filter patterns: `*` matches any run of characters, `?` any one, `\` escapes the
 * next character. Callers that mean a value literally pass it through literalFilterValue().
 */
export interface Ec2Filter {
  readonly name: string;
  readonly values: readonly string[];
}

/**
 * `value` written so that an EC2 filter matches it literally: `\`, `*` and `?` are escaped with a
 * backslash (EC2 API reference, "Filtering your resources": wildcards and escapes in filter values).
 * A group named `web*` or a tag value `a?b` then matches only itself.
 */
export function literalFilterValue(value: string): string {
  return value.replace(/[\\*?]/g, (char) => `\\${char}`);
}

/**
 * A matcher with EC2's filter-value semantics (case-sensitive; `*` any run of characters, `?` any
 * one, `\` makes the next character literal), for ports that apply filters themselves (the
 * snapshot port, the in-memory fake).
 */
export function filterPatternMatcher(pattern: string): (value: string) => boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] ?? '';
    if (char === '\\' && i + 1 < pattern.length) {
      source += escapeRegExp(pattern[++i] ?? '');
    } else if (char === '*') source += '[\\s\\S]*';
    else if (char === '?') source += '[\\s\\S]';
    else source += escapeRegExp(char);
  }
  const regex = new RegExp(`^${source}$`);
  return (value) => regex.test(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface AuthorizeRequest {
  readonly groupId: string;
  /** Canonical rules; the implementation groups them into IpPermissions. */
  readonly rules: readonly Rule[];
  /** Tags for every rule created by this call (TagSpecifications, security-group-rule). */
  readonly tags: Readonly<Record<string, string>>;
  readonly dryRun: boolean;
}

/**
 * New descriptions for existing ingress rules of one group (UpdateSecurityGroupRuleDescriptionsIngress,
 * EC2 API reference, IpPermissions form): each rule's identity (protocol, ports, source) selects a live
 * rule, its `description` is the text to set; an absent description removes the live one. Access is
 * unchanged: the call cannot add, remove or widen a rule.
 */
export interface DescriptionUpdateRequest {
  readonly groupId: string;
  /** Canonical rules carrying the descriptions to set. */
  readonly rules: readonly Rule[];
  readonly dryRun: boolean;
}

/**
 * An error from EC2 or on the way to it. `code` is EC2's error code (`InvalidPermission.Duplicate`,
 * `RequestLimitExceeded`, `UnauthorizedOperation`, `DryRunOperation`, ...) or a transport code
 * (`TimeoutError`, `NetworkingError`, `AbortError`). Messages never carry credentials.
 */
export class Ec2Error extends Error {
  override readonly name = 'Ec2Error';
  constructor(
    readonly code: string,
    message: string,
    readonly action: string,
    readonly statusCode?: number,
    /** How many attempts the SDK made; a Duplicate on attempt 2+ means an earlier attempt landed. */
    readonly attempts?: number,
  ) {
    super(message);
  }
}

export interface Ec2Port {
  readonly region: string;
  /** All groups matching every filter (pages followed, MaxResults 1000); no filters = every group. */
  describeSecurityGroups(filters: readonly Ec2Filter[], signal?: AbortSignal): Promise<LiveGroup[]>;
  /** One group's ingress rules with their SecurityGroupRuleIds (DescribeSecurityGroupRules). */
  describeIngressRules(groupId: string, signal?: AbortSignal): Promise<LiveRule[]>;
  /**
   * Authorize a batch in one AuthorizeSecurityGroupIngress call. Resolves with the rules EC2 said it
   * created (each with its ruleId; EC2 may list fewer than were sent). Rejects with Ec2Error, including
   * `DryRunOperation` when `dryRun` is set and the call would have succeeded.
   */
  authorizeIngress(request: AuthorizeRequest, signal?: AbortSignal): Promise<LiveRule[]>;
  /**
   * Set the descriptions of existing rules in one UpdateSecurityGroupRuleDescriptionsIngress call
   * (paced like authorize: it is a mutating call). Resolves when EC2 accepted it; rejects with
   * Ec2Error (`DryRunOperation` when `dryRun` is set and the call would have succeeded,
   * `UnauthorizedOperation`, `InvalidPermission.NotFound` for a rule that is gone).
   */
  updateIngressDescriptions(request: DescriptionUpdateRequest, signal?: AbortSignal): Promise<void>;
  /** The region's default VPC, or undefined when it has none. */
  describeDefaultVpcId(signal?: AbortSignal): Promise<string | undefined>;
  /** Max entries and address family of each prefix list asked for (unknown IDs are absent). */
  describePrefixLists(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, PrefixListInfo>>;
}

/**
 * One port per (account, region): its own client, credentials and write pacing. `account` absent =
 * the tool's own credentials (single-account callers and tests).
 */
export type Ec2PortFactory = (region: string, account?: string) => Ec2Port;

/**
 * How a pass learns its own account and reaches the others (accounts.ts over STS; a static one for
 * snapshots and tests). Failures reject with Ec2Error (`AccessDenied`, `TimeoutError`, ...).
 */
export interface AccountGateway {
  /** The account of the tool's own credentials (STS GetCallerIdentity), and its partition. */
  ownAccount(signal?: AbortSignal): Promise<OwnAccount>;
  /**
   * Resolves once the account's credentials are in hand: AssumeRole of `account.roleArn` (one per
   * account per credential lifetime), nothing for an account reached with the own credentials.
   */
  reach(account: AccountRef, signal?: AbortSignal): Promise<void>;
}

/** A gateway for one known account that needs no call (offline snapshots, unit tests). */
export function staticAccountGateway(account: string, partition = 'aws'): AccountGateway {
  return {
    ownAccount: () => Promise.resolve({ account, partition }),
    reach: () => Promise.resolve(),
  };
}
