// An offline, read-only Ec2Port over the JSON that `aws ec2 describe-security-groups` prints, so
// `plan --snapshot` can run in CI without credentials. Owns the snapshot's validation and EC2's
// DescribeSecurityGroups filter semantics applied client-side.
import type { IpPermission, SecurityGroup } from '@aws-sdk/client-ec2';

import { canonicalCidr, type LiveRule } from '../model/rule.js';
import { liveGroupFromSecurityGroup } from './permissions.js';
import {
  Ec2Error,
  type Ec2Filter,
  type Ec2Port,
  type Ec2PortFactory,
  type LiveGroup,
  type PrefixListInfo,
} from './port.js';

export type SnapshotValidation =
  | { readonly ok: true; readonly groups: readonly LiveGroup[] }
  | { readonly ok: false; readonly errors: readonly string[] };

const SHOWN_ERRORS = 5;

/**
 * An Ec2PortFactory serving the snapshot's groups for every region (the CLI output names none).
 * Throws Ec2Error `InvalidSnapshot` naming `sourceName` and the first problems when `json` is not
 * that output.
 */
export function createSnapshotPortFactory(json: unknown, sourceName: string): Ec2PortFactory {
  const validation = validateSnapshot(json);
  if (!validation.ok) {
    const shown = validation.errors.slice(0, SHOWN_ERRORS).join('; ');
    const more = validation.errors.length - SHOWN_ERRORS;
    throw new Ec2Error(
      'InvalidSnapshot',
      `${sourceName} is not the JSON output of "aws ec2 describe-security-groups": ${shown}` +
        (more > 0 ? ` (and ${more} more)` : ''),
      'DescribeSecurityGroups',
    );
  }
  const groups = validation.groups;
  const byId = new Map(groups.map((group) => [group.groupId, group]));
  const defaultVpcId = guessDefaultVpcId(groups);

  return (region: string): Ec2Port => ({
    region,

    describeSecurityGroups(filters: readonly Ec2Filter[], signal?: AbortSignal): Promise<LiveGroup[]> {
      return settle('DescribeSecurityGroups', signal, () => {
        const matchers = filters.map(filterMatcher);
        return groups.filter((group) => matchers.every((matches) => matches(group)));
      });
    },

    describeIngressRules(groupId: string, signal?: AbortSignal): Promise<LiveRule[]> {
      return settle('DescribeSecurityGroupRules', signal, () => {
        const group = byId.get(groupId);
        if (group === undefined) {
          throw new Ec2Error(
            'InvalidGroup.NotFound',
            `The security group '${groupId}' does not exist in snapshot ${sourceName}`,
            'DescribeSecurityGroupRules',
            400,
          );
        }
        return [...group.rules];
      });
    },

    authorizeIngress(_request, signal?: AbortSignal): Promise<LiveRule[]> {
      return settle('AuthorizeSecurityGroupIngress', signal, () => {
        throw new Ec2Error(
          'SnapshotReadOnly',
          `cannot authorize rules against snapshot ${sourceName}: a snapshot is read-only`,
          'AuthorizeSecurityGroupIngress',
        );
      });
    },

    describeDefaultVpcId(signal?: AbortSignal): Promise<string | undefined> {
      return settle('DescribeVpcs', signal, () => defaultVpcId);
    },

    // A snapshot holds no prefix lists: every list is unknown, and the planner weighs it as 1.
    describePrefixLists(_ids: readonly string[], signal?: AbortSignal): Promise<Map<string, PrefixListInfo>> {
      return settle('DescribeManagedPrefixLists', signal, () => new Map<string, PrefixListInfo>());
    },
  });
}

async function settle<T>(action: string, signal: AbortSignal | undefined, run: () => T): Promise<T> {
  await Promise.resolve();
  if (signal?.aborted === true) throw new Ec2Error('AbortError', 'the request was aborted', action);
  return run();
}

/**
 * The snapshot has no VPC data, so the default VPC is inferred: every VPC has a group named
 * `default`, so when the groups named `default` all sit in one VPC, that VPC is taken as the default
 * one. With several VPCs (or none) in the snapshot it is unknown (undefined), and `groupName`
 * targets stay unresolved rather than being resolved in the wrong VPC. A snapshot of a single
 * non-default VPC is indistinguishable and would be taken as the default one.
 */
function guessDefaultVpcId(groups: readonly LiveGroup[]): string | undefined {
  const vpcs = new Set<string>();
  for (const group of groups) {
    if (group.groupName === 'default' && group.vpcId !== undefined) vpcs.add(group.vpcId);
  }
  return vpcs.size === 1 ? [...vpcs][0] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Filters, with EC2's semantics: values of one filter are OR-ed, filters AND-ed, values are
// case-sensitive patterns where `*` matches any run of characters and `?` any one (`\` escapes).

function filterMatcher(filter: Ec2Filter): (group: LiveGroup) => boolean {
  const patterns = filter.values.map(globMatcher);
  const any = (value: string | undefined): boolean =>
    value !== undefined && patterns.some((matches) => matches(value));
  if (filter.name.startsWith('tag:')) {
    const key = filter.name.slice('tag:'.length);
    return (group) => any(group.tags[key]);
  }
  switch (filter.name) {
    case 'group-id':
      return (group) => any(group.groupId);
    case 'group-name':
      return (group) => any(group.groupName);
    case 'vpc-id':
      return (group) => any(group.vpcId);
    case 'owner-id':
      return (group) => any(group.ownerId);
    case 'tag-key':
      return (group) => Object.keys(group.tags).some(any);
    case 'tag-value':
      return (group) => Object.values(group.tags).some(any);
    default:
      throw new Ec2Error(
        'InvalidParameterValue',
        `The filter '${filter.name}' is invalid (a snapshot supports group-id, group-name, vpc-id, owner-id, tag:<key>, tag-key, tag-value)`,
        'DescribeSecurityGroups',
        400,
      );
  }
}

function globMatcher(pattern: string): (value: string) => boolean {
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

// ---------------------------------------------------------------------------------------------
// Validation: the fields we read must have the types the CLI prints; other fields are ignored.

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Checker {
  readonly errors: string[] = [];

  fail(path: string, problem: string): void {
    this.errors.push(`${path}: ${problem}`);
  }

  string(object: Json, key: string, path: string, required: boolean): string | undefined {
    const value = object[key];
    if (value === undefined || value === null) {
      if (required) this.fail(`${path}.${key}`, 'required, a string');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.fail(`${path}.${key}`, `expected a string, got ${typeName(value)}`);
      return undefined;
    }
    return value;
  }

  port(object: Json, key: string, path: string): number | undefined {
    const value = object[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < -1 || value > 65535) {
      this.fail(`${path}.${key}`, `expected an integer from -1 to 65535, got ${JSON.stringify(value)}`);
      return undefined;
    }
    return value;
  }

  array(object: Json, key: string, path: string): { value: Json; path: string }[] {
    const value = object[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) {
      this.fail(`${path}.${key}`, `expected an array, got ${typeName(value)}`);
      return [];
    }
    const items: { value: Json; path: string }[] = [];
    value.forEach((item: unknown, index) => {
      const itemPath = `${path}.${key}[${index}]`;
      if (isObject(item)) items.push({ value: item, path: itemPath });
      else this.fail(itemPath, `expected an object, got ${typeName(item)}`);
    });
    return items;
  }

  network(object: Json, key: string, path: string, family: 'cidr' | 'cidrIpv6'): string | undefined {
    const value = this.string(object, key, path, true);
    if (value === undefined) return undefined;
    try {
      if (canonicalCidr(value).kind === family) return value;
    } catch {
      // reported below
    }
    const expected =
      family === 'cidr' ? 'an IPv4 network like 10.0.0.0/16' : 'an IPv6 network like 2001:db8::/64';
    this.fail(`${path}.${key}`, `expected ${expected}, got ${JSON.stringify(value)}`);
    return undefined;
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Checks that `json` is the output of `aws ec2 describe-security-groups` (`{"SecurityGroups": [...]}`,
 * or the bare array `--query SecurityGroups` prints) and returns its groups, ingress expanded.
 * Errors name the JSON path of each problem.
 */
export function validateSnapshot(json: unknown): SnapshotValidation {
  const check = new Checker();
  let list: unknown;
  let rootPath: string;
  if (Array.isArray(json)) {
    list = json;
    rootPath = '$';
  } else if (isObject(json) && 'SecurityGroups' in json) {
    list = json.SecurityGroups;
    rootPath = '$.SecurityGroups';
  } else if (isObject(json) && 'SecurityGroupRules' in json) {
    return {
      ok: false,
      errors: [
        '$: this is the output of describe-security-group-rules; use the output of aws ec2 describe-security-groups',
      ],
    };
  } else {
    return { ok: false, errors: ['$: expected an object with a "SecurityGroups" array'] };
  }
  if (!Array.isArray(list)) {
    return { ok: false, errors: [`${rootPath}: expected an array, got ${typeName(list)}`] };
  }

  const groups: LiveGroup[] = [];
  const seen = new Set<string>();
  list.forEach((item: unknown, index) => {
    const path = `${rootPath}[${index}]`;
    if (!isObject(item)) {
      check.fail(path, `expected an object, got ${typeName(item)}`);
      return;
    }
    const before = check.errors.length;
    const group = readGroup(check, item, path);
    if (group.GroupId !== undefined) {
      if (seen.has(group.GroupId)) check.fail(`${path}.GroupId`, `duplicate group ${group.GroupId}`);
      seen.add(group.GroupId);
    }
    if (check.errors.length > before) return;
    const live = liveGroupFromSecurityGroup(group);
    if (live !== undefined) groups.push(live);
  });
  return check.errors.length > 0 ? { ok: false, errors: check.errors } : { ok: true, groups };
}

function readGroup(check: Checker, item: Json, path: string): SecurityGroup {
  const groupId = check.string(item, 'GroupId', path, true);
  if (groupId !== undefined && !/^sg-[0-9a-f]+$/.test(groupId)) {
    check.fail(
      `${path}.GroupId`,
      `expected a security group ID like sg-0123456789abcdef0, got ${JSON.stringify(groupId)}`,
    );
  }
  const tags = check.array(item, 'Tags', path).map(({ value, path: tagPath }) => ({
    Key: check.string(value, 'Key', tagPath, true),
    Value: check.string(value, 'Value', tagPath, false) ?? '',
  }));
  return {
    GroupId: groupId,
    GroupName: check.string(item, 'GroupName', path, true),
    VpcId: check.string(item, 'VpcId', path, false),
    OwnerId: check.string(item, 'OwnerId', path, false),
    Tags: tags,
    IpPermissions: check
      .array(item, 'IpPermissions', path)
      .map(({ value, path: p }) => readPermission(check, value, p)),
  };
}

function readPermission(check: Checker, item: Json, path: string): IpPermission {
  const description = (value: Json, p: string): { Description?: string } => {
    const text = check.string(value, 'Description', p, false);
    return text === undefined ? {} : { Description: text };
  };
  return {
    IpProtocol: check.string(item, 'IpProtocol', path, true),
    FromPort: check.port(item, 'FromPort', path),
    ToPort: check.port(item, 'ToPort', path),
    IpRanges: check.array(item, 'IpRanges', path).map(({ value, path: p }) => ({
      CidrIp: check.network(value, 'CidrIp', p, 'cidr'),
      ...description(value, p),
    })),
    Ipv6Ranges: check.array(item, 'Ipv6Ranges', path).map(({ value, path: p }) => ({
      CidrIpv6: check.network(value, 'CidrIpv6', p, 'cidrIpv6'),
      ...description(value, p),
    })),
    PrefixListIds: check.array(item, 'PrefixListIds', path).map(({ value, path: p }) => ({
      PrefixListId: check.string(value, 'PrefixListId', p, true),
      ...description(value, p),
    })),
    UserIdGroupPairs: check.array(item, 'UserIdGroupPairs', path).map(({ value, path: p }) => ({
      GroupId: check.string(value, 'GroupId', p, true),
      UserId: check.string(value, 'UserId', p, false),
      VpcId: check.string(value, 'VpcId', p, false),
      VpcPeeringConnectionId: check.string(value, 'VpcPeeringConnectionId', p, false),
      ...description(value, p),
    })),
  };
}
