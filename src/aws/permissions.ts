// Translation between EC2's wire shapes and the canonical one-source rule. EC2 groups several sources
// into one IpPermission; reads expand them into one-source rules (compare aws-load-balancer-controller
// `expandSDKIPPermission`), writes group rules that share protocol and ports back into permissions.
// Pure: SDK *types* only (erased at runtime), no I/O. Used by the SDK port and the snapshot port.
import type { IpPermission, SecurityGroup, SecurityGroupRule, Tag } from '@aws-sdk/client-ec2';

import { canonicalRule, ruleKey, type LiveRule, type Rule, type RuleSource } from '../model/rule.js';
import type { LiveGroup } from './port.js';

/** EC2 omits FromPort/ToPort where the protocol takes none; the canonical form says -1. */
function portOrAll(port: number | undefined): number {
  return port ?? -1;
}

function withDescription(description: string | undefined): { description?: string } {
  return description === undefined ? {} : { description };
}

function rule(
  protocol: string,
  fromPort: number,
  toPort: number,
  source: RuleSource,
  description: string | undefined,
): Rule {
  return canonicalRule({ protocol, fromPort, toPort, source, ...withDescription(description) });
}

/**
 * A group-pair source. EC2 names the owning account (`UserId`) of every referenced group, the
 * group's own account included (EC2 API Reference, UserIdGroupPair); the model keeps `userId` only
 * for a group of another account, so an own-account group reads `sg-…`, as a policy writes it, not
 * `111111111111/sg-…`. `ownerId` is the account of the group whose rule this is, when known.
 */
function groupPairSource(
  pair: {
    GroupId?: string | undefined;
    UserId?: string | undefined;
    VpcId?: string | undefined;
    VpcPeeringConnectionId?: string | undefined;
  },
  ownerId: string | undefined,
): RuleSource | undefined {
  if (pair.GroupId === undefined) return undefined;
  return {
    kind: 'securityGroup',
    value: pair.GroupId,
    ...(pair.UserId !== undefined && pair.UserId !== ownerId ? { userId: pair.UserId } : {}),
    ...(pair.VpcId !== undefined ? { vpcId: pair.VpcId } : {}),
    ...(pair.VpcPeeringConnectionId !== undefined
      ? { vpcPeeringConnectionId: pair.VpcPeeringConnectionId }
      : {}),
  };
}

/**
 * One permission as EC2 returns it (DescribeSecurityGroups `IpPermissions`), expanded into canonical
 * one-source rules, each with its own source's description. A source without its identifying field
 * (which EC2 never sends) is skipped rather than invented. `ownerId` is the account of the group the
 * permission belongs to: a group pair of that account loses its `UserId` (groupPairSource).
 */
export function expandIpPermission(permission: IpPermission, ownerId?: string): Rule[] {
  const protocol = permission.IpProtocol ?? '-1';
  const fromPort = portOrAll(permission.FromPort);
  const toPort = portOrAll(permission.ToPort);
  const rules: Rule[] = [];
  const add = (source: RuleSource, description: string | undefined): void => {
    rules.push(rule(protocol, fromPort, toPort, source, description));
  };
  for (const range of permission.IpRanges ?? []) {
    if (range.CidrIp !== undefined) add({ kind: 'cidr', value: range.CidrIp }, range.Description);
  }
  for (const range of permission.Ipv6Ranges ?? []) {
    if (range.CidrIpv6 !== undefined) add({ kind: 'cidrIpv6', value: range.CidrIpv6 }, range.Description);
  }
  for (const prefixList of permission.PrefixListIds ?? []) {
    if (prefixList.PrefixListId !== undefined) {
      add({ kind: 'prefixList', value: prefixList.PrefixListId }, prefixList.Description);
    }
  }
  for (const pair of permission.UserIdGroupPairs ?? []) {
    const source = groupPairSource(pair, ownerId);
    if (source !== undefined) add(source, pair.Description);
  }
  return rules;
}

/**
 * Every permission of a group expanded (ingress or egress alike; callers pass `IpPermissions`);
 * `ownerId` as in expandIpPermission.
 */
export function expandIpPermissions(
  permissions: readonly IpPermission[] | undefined,
  ownerId?: string,
): Rule[] {
  return (permissions ?? []).flatMap((permission) => expandIpPermission(permission, ownerId));
}

/**
 * One rule as DescribeSecurityGroupRules / AuthorizeSecurityGroupIngress return it, with its
 * SecurityGroupRuleId. Undefined for a rule with no source we model.
 */
export function liveRuleFromSecurityGroupRule(sgr: SecurityGroupRule): LiveRule | undefined {
  let source: RuleSource | undefined;
  if (sgr.CidrIpv4 !== undefined) source = { kind: 'cidr', value: sgr.CidrIpv4 };
  else if (sgr.CidrIpv6 !== undefined) source = { kind: 'cidrIpv6', value: sgr.CidrIpv6 };
  else if (sgr.PrefixListId !== undefined) source = { kind: 'prefixList', value: sgr.PrefixListId };
  else if (sgr.ReferencedGroupInfo !== undefined)
    source = groupPairSource(sgr.ReferencedGroupInfo, sgr.GroupOwnerId);
  if (source === undefined) return undefined;
  return {
    ...rule(sgr.IpProtocol ?? '-1', portOrAll(sgr.FromPort), portOrAll(sgr.ToPort), source, sgr.Description),
    ruleId: sgr.SecurityGroupRuleId,
  };
}

/**
 * Canonical rules (the Rule type; nothing here canonicalises again) grouped into the fewest IpPermissions for one AuthorizeSecurityGroupIngress call:
 * rules sharing protocol and ports become one permission with several sources, each source keeping
 * its own description. Ports are always explicit (-1/-1 where the protocol takes none: EC2 accepts
 * it and moto 500s without it). A rule repeated in the batch (same identity) is sent once — EC2
 * rejects the whole call with InvalidPermission.Duplicate otherwise — and its first description wins.
 * Order is stable: permissions and sources in the order they first appear.
 */
export function toIpPermissions(rules: readonly Rule[]): IpPermission[] {
  const permissions = new Map<string, IpPermission>();
  const seen = new Set<string>();
  for (const canonical of rules) {
    const key = ruleKey(canonical);
    if (seen.has(key)) continue;
    seen.add(key);
    const permissionKey = `${canonical.protocol}|${canonical.fromPort}|${canonical.toPort}`;
    let permission = permissions.get(permissionKey);
    if (permission === undefined) {
      permission = {
        IpProtocol: canonical.protocol,
        FromPort: canonical.fromPort,
        ToPort: canonical.toPort,
      };
      permissions.set(permissionKey, permission);
    }
    addSource(permission, canonical.source, canonical.description);
  }
  return [...permissions.values()];
}

function addSource(permission: IpPermission, source: RuleSource, description: string | undefined): void {
  const text = description === undefined ? {} : { Description: description };
  switch (source.kind) {
    case 'cidr':
      (permission.IpRanges ??= []).push({ CidrIp: source.value, ...text });
      return;
    case 'cidrIpv6':
      (permission.Ipv6Ranges ??= []).push({ CidrIpv6: source.value, ...text });
      return;
    case 'prefixList':
      (permission.PrefixListIds ??= []).push({ PrefixListId: source.value, ...text });
      return;
    case 'securityGroup':
      (permission.UserIdGroupPairs ??= []).push({
        GroupId: source.value,
        ...(source.userId !== undefined ? { UserId: source.userId } : {}),
        ...(source.vpcId !== undefined ? { VpcId: source.vpcId } : {}),
        ...(source.vpcPeeringConnectionId !== undefined
          ? { VpcPeeringConnectionId: source.vpcPeeringConnectionId }
          : {}),
        ...text,
      });
      return;
  }
}

/** EC2's tag list as a record (a later duplicate key, which EC2 never sends, wins). */
export function tagsToRecord(tags: readonly Tag[] | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  for (const tag of tags ?? []) {
    if (tag.Key !== undefined) record[tag.Key] = tag.Value ?? '';
  }
  return record;
}

/**
 * A group as DescribeSecurityGroups returns it (the SDK's shape, which is also what
 * `aws ec2 describe-security-groups` prints), its ingress permissions expanded. Egress is ignored.
 * Undefined for a group without an ID, which EC2 never sends.
 */
export function liveGroupFromSecurityGroup(group: SecurityGroup): LiveGroup | undefined {
  if (group.GroupId === undefined) return undefined;
  return {
    groupId: group.GroupId,
    groupName: group.GroupName ?? '',
    vpcId: group.VpcId,
    ownerId: group.OwnerId,
    tags: tagsToRecord(group.Tags),
    rules: expandIpPermissions(group.IpPermissions, group.OwnerId),
  };
}
