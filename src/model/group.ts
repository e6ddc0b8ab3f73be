// The security group and prefix list as the planner sees them: EC2's shapes reduced to what the
// plan compares, with every ingress permission already expanded into canonical one-source rules.
// Pure types; the EC2 edge (aws/) produces them, the planner and executor consume them.
import type { LiveRule } from './rule.js';

/**
 * A security group as identified in a read (DescribeSecurityGroups, EC2 API reference
 * "SecurityGroup"): ID, name, VPC, owning account (12 digits, when EC2 returned it) and tags,
 * without its rules. What a plan keeps of each group it planned.
 */
export interface GroupInfo {
  readonly groupId: string;
  readonly groupName: string;
  readonly vpcId: string | undefined;
  readonly ownerId: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** A security group as read back, its ingress permissions expanded into canonical one-source rules. */
export interface LiveGroup extends GroupInfo {
  readonly rules: readonly LiveRule[];
}

/**
 * What a prefix list weighs in the per-group quota (DescribeManagedPrefixLists, "ManagedPrefixList":
 * MaxEntries and AddressFamily); a rule referencing it counts `maxEntries` rules in its family.
 */
export interface PrefixListInfo {
  readonly maxEntries: number;
  readonly addressFamily: 'IPv4' | 'IPv6' | undefined;
}
