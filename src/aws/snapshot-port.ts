// Offline, read-only Ec2Ports over a snapshot, so `plan --snapshot` and `import --snapshot` run in CI
// without credentials. Owns both snapshot formats: the versioned document `sg-reconciler snapshot`
// writes (keyed by account and region, with each region's default VPC and prefix-list sizes), and
// the JSON `aws ec2 describe-security-groups` prints (one region's groups, nothing else). Whatever a
// snapshot does not hold is never answered with "nothing": the read fails with `SnapshotIncomplete`
// and a message naming the gap, so a plan from an incomplete snapshot is a failed plan (exit 1).
import type { IpPermission, SecurityGroup } from '@aws-sdk/client-ec2';

import { canonicalCidr, ruleKey, type LiveRule } from '../model/rule.js';
import { liveGroupFromSecurityGroup, toIpPermissions } from './permissions.js';
import {
  Ec2Error,
  filterPatternMatcher,
  type Ec2Filter,
  type Ec2Port,
  type Ec2PortFactory,
  type LiveGroup,
  type PrefixListInfo,
} from './port.js';
import { compareStrings as compare } from '../model/compare.js';

export type SnapshotValidation =
  | { readonly ok: true; readonly groups: readonly LiveGroup[] }
  | { readonly ok: false; readonly errors: readonly string[] };

/** The version of the document `sg-reconciler snapshot` writes; bump it when a field changes meaning. */
export const SNAPSHOT_FORMAT_VERSION = 1;
/** The document's `kind`, so a snapshot is told apart from other JSON at a glance. */
export const SNAPSHOT_KIND = 'SecurityGroupSnapshot';
/** The account key used when the account could not be told (no group carried an OwnerId). */
export const UNKNOWN_ACCOUNT = 'unknown';
/** The error code of every read a snapshot cannot answer. */
export const SNAPSHOT_INCOMPLETE = 'SnapshotIncomplete';

const SHOWN_ERRORS = 5;

/** A prefix list as the snapshot records it; `null` in the document means EC2 said it does not exist. */
export interface PrefixListRecord {
  readonly maxEntries: number;
  readonly addressFamily: 'IPv4' | 'IPv6' | null;
}

/**
 * One (account, region) of a snapshot document. `groups` are in the shape DescribeSecurityGroups
 * returns (and `aws ec2 describe-security-groups` prints), ingress only. `defaultVpcId` is null
 * when the region has no default VPC; a region document without the field did not read it.
 * `prefixLists` holds every list the region's groups and policies reference (null: no such list).
 */
export interface RegionSnapshotDocument {
  readonly defaultVpcId: string | null;
  readonly groups: readonly SecurityGroup[];
  readonly prefixLists: Readonly<Record<string, PrefixListRecord | null>>;
  /**
   * The SecurityGroupRuleIds of the rules of groups with a guardrail violation (DescribeSecurityGroups
   * carries none): group ID -> rule key (`protocol|fromPort|toPort|kind|value`, the model's ruleKey)
   * -> `sgr-…`. Absent when no group needed them.
   */
  readonly ruleIds?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** The document `sg-reconciler snapshot` writes (formatVersion 1). */
export interface SnapshotDocument {
  readonly formatVersion: typeof SNAPSHOT_FORMAT_VERSION;
  readonly kind: typeof SNAPSHOT_KIND;
  /** ISO 8601 time the reads were made. */
  readonly takenAt: string;
  /** The account of the credentials that took it (or `unknown`): the account of policies naming none. */
  readonly credentialsAccount: string;
  /** The region policies naming none were read in (`--region` when it was taken), or null. */
  readonly defaultRegion: string | null;
  /** Account ID (12 digits, or `unknown`) -> region name -> what was read there. */
  readonly accounts: Readonly<
    Record<string, { readonly regions: Readonly<Record<string, RegionSnapshotDocument>> }>
  >;
}

/** What was read in one region, in the model's terms, for buildSnapshotDocument. */
export interface RegionSnapshotInput {
  readonly account: string;
  readonly region: string;
  readonly groups: readonly LiveGroup[];
  /** undefined: the region has no default VPC. */
  readonly defaultVpcId: string | undefined;
  /** Every list asked for: its size, or undefined when EC2 said it does not exist. */
  readonly prefixLists: ReadonlyMap<string, PrefixListInfo | undefined>;
  /** Group ID -> rule key -> SecurityGroupRuleId, for the groups whose rule IDs were read. */
  readonly ruleIds?: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** A group back in DescribeSecurityGroups' shape; liveGroupFromSecurityGroup reads it back unchanged. */
function securityGroupOf(group: LiveGroup): SecurityGroup {
  const tags = Object.keys(group.tags)
    .sort(compare)
    .map((Key) => ({ Key, Value: group.tags[Key] ?? '' }));
  return {
    GroupId: group.groupId,
    GroupName: group.groupName,
    ...(group.vpcId !== undefined ? { VpcId: group.vpcId } : {}),
    ...(group.ownerId !== undefined ? { OwnerId: group.ownerId } : {}),
    ...(tags.length > 0 ? { Tags: tags } : {}),
    IpPermissions: toIpPermissions(group.rules),
  };
}

/**
 * The snapshot document of what was read, with stable ordering (accounts, regions, groups by ID,
 * tags by key, prefix lists by ID), so the same state gives the same document apart from `takenAt`.
 */
export function buildSnapshotDocument(input: {
  readonly takenAt: string;
  readonly credentialsAccount: string;
  readonly defaultRegion: string | undefined;
  readonly regions: readonly RegionSnapshotInput[];
}): SnapshotDocument {
  const accounts: Record<string, { regions: Record<string, RegionSnapshotDocument> }> = {};
  const sorted = [...input.regions].sort(
    (a, b) => compare(a.account, b.account) || compare(a.region, b.region),
  );
  for (const unit of sorted) {
    const prefixLists: Record<string, PrefixListRecord | null> = {};
    for (const id of [...unit.prefixLists.keys()].sort(compare)) {
      const info = unit.prefixLists.get(id);
      prefixLists[id] =
        info === undefined
          ? null
          : { maxEntries: info.maxEntries, addressFamily: info.addressFamily ?? null };
    }
    const account = (accounts[unit.account] ??= { regions: {} });
    const ruleIds: Record<string, Record<string, string>> = {};
    for (const groupId of [...(unit.ruleIds?.keys() ?? [])].sort(compare)) {
      const byKey = unit.ruleIds?.get(groupId) ?? new Map<string, string>();
      ruleIds[groupId] = Object.fromEntries([...byKey.entries()].sort(([a], [b]) => compare(a, b)));
    }
    account.regions[unit.region] = {
      defaultVpcId: unit.defaultVpcId ?? null,
      groups: [...unit.groups].sort((a, b) => compare(a.groupId, b.groupId)).map(securityGroupOf),
      prefixLists,
      ...(Object.keys(ruleIds).length > 0 ? { ruleIds } : {}),
    };
  }
  return {
    formatVersion: SNAPSHOT_FORMAT_VERSION,
    kind: SNAPSHOT_KIND,
    takenAt: input.takenAt,
    credentialsAccount: input.credentialsAccount,
    defaultRegion: input.defaultRegion ?? null,
    accounts,
  };
}

/** What one region of a snapshot holds, in the model's terms. */
interface RegionData {
  readonly groups: readonly LiveGroup[];
  /** held: false = the snapshot did not read it (`why` says what to do). */
  readonly defaultVpc:
    { readonly held: true; readonly id: string | undefined } | { readonly held: false; readonly why: string };
  /** Lists the snapshot holds: a size, or undefined for a list EC2 said does not exist. */
  readonly prefixLists: ReadonlyMap<string, PrefixListInfo | undefined>;
  /** Appended to the message for a list the snapshot does not hold. */
  readonly prefixListHint: string;
  /** Group ID -> rule key -> SecurityGroupRuleId, where the snapshot recorded them. */
  readonly ruleIds: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** A snapshot opened for reading: which units it holds, and a read-only port for any unit. */
export interface SnapshotSource {
  readonly format: 'sg-reconciler' | 'aws-cli';
  /** The account policies naming none are planned in: the snapshot's credentials account. */
  readonly credentialsAccount: string;
  /** The region the snapshot was taken with for policies naming none (sg-reconciler format only). */
  readonly defaultRegion: string | undefined;
  /** Every (account, region) it holds, sorted. */
  readonly units: readonly { readonly account: string; readonly region: string }[];
  /**
   * The port of one unit. For a unit the snapshot does not hold, every read rejects with
   * `SnapshotIncomplete` naming the unit (never "no groups").
   */
  portFor(account: string, region: string): Ec2Port;
  /** Ports by (region, account); no account = the snapshot's credentials account. */
  readonly ports: Ec2PortFactory;
}

export interface OpenSnapshotOptions {
  /** The region an `aws ec2 describe-security-groups` file was taken in (`--region`); none = unknown. */
  readonly region?: string | undefined;
}

function invalidSnapshot(sourceName: string, what: string, errors: readonly string[]): Ec2Error {
  const shown = errors.slice(0, SHOWN_ERRORS).join('; ');
  const more = errors.length - SHOWN_ERRORS;
  return new Ec2Error(
    'InvalidSnapshot',
    `${sourceName} is not ${what}: ${shown}` + (more > 0 ? ` (and ${more} more)` : ''),
    'DescribeSecurityGroups',
  );
}

function incomplete(action: string, message: string): Ec2Error {
  return new Ec2Error(SNAPSHOT_INCOMPLETE, message, action);
}

/**
 * Opens a snapshot: the document `sg-reconciler snapshot` wrote (it has a `formatVersion`), or the
 * output of `aws ec2 describe-security-groups` (one region: `options.region`; its account is the
 * groups' OwnerId). Throws Ec2Error `InvalidSnapshot` naming `sourceName` and the first problems
 * (JSON paths) when `json` is neither.
 */
export function openSnapshot(
  json: unknown,
  sourceName: string,
  options: OpenSnapshotOptions = {},
): SnapshotSource {
  if (isObject(json) && 'formatVersion' in json) return openDocument(json, sourceName);
  const validation = validateSnapshot(json);
  if (!validation.ok) {
    throw invalidSnapshot(
      sourceName,
      'the JSON output of "aws ec2 describe-security-groups"',
      validation.errors,
    );
  }
  const account = validation.groups.find((g) => g.ownerId !== undefined)?.ownerId ?? UNKNOWN_ACCOUNT;
  const hint =
    'an "aws ec2 describe-security-groups" file holds no VPCs and no prefix lists; take the snapshot ' +
    'with "sg-reconciler snapshot", which records them';
  const data: RegionData = {
    groups: validation.groups,
    defaultVpc: {
      held: false,
      why: `snapshot ${sourceName} does not hold the default VPC of ${options.region ?? 'its region'}, which groupName targets resolve in: ${hint}`,
    },
    prefixLists: new Map(),
    prefixListHint: hint,
    ruleIds: new Map(),
  };
  const region = options.region;
  const units = region === undefined ? [] : [{ account, region }];
  const missingUnit = (unitAccount: string, unitRegion: string): string =>
    region === undefined
      ? `snapshot ${sourceName} is the output of "aws ec2 describe-security-groups", which names no region: pass --region (or set AWS_REGION) to the region it was taken in`
      : `snapshot ${sourceName} holds only region ${region} of account ${account}, not region ${unitRegion} of account ${unitAccount}`;
  return source('aws-cli', account, undefined, units, (unitAccount, unitRegion) =>
    unitRegion === region && (unitAccount === account || account === UNKNOWN_ACCOUNT)
      ? data
      : missingUnit(unitAccount, unitRegion),
  );
}

function source(
  format: SnapshotSource['format'],
  credentialsAccount: string,
  defaultRegion: string | undefined,
  units: readonly { account: string; region: string }[],
  lookup: (account: string, region: string) => RegionData | string,
): SnapshotSource {
  const portFor = (account: string, region: string): Ec2Port => {
    const data = lookup(account, region);
    return typeof data === 'string' ? gapPort(region, data) : regionPort(region, account, data);
  };
  return {
    format,
    credentialsAccount,
    defaultRegion,
    units,
    portFor,
    ports: (region, account) => portFor(account ?? credentialsAccount, region),
  };
}

/** A unit the snapshot does not hold: every read fails, naming the gap. */
function gapPort(region: string, message: string): Ec2Port {
  const fail = <T>(action: string, signal?: AbortSignal): Promise<T> =>
    settle(action, signal, () => {
      throw incomplete(action, message);
    });
  return {
    region,
    describeSecurityGroups: (_filters, signal) => fail('DescribeSecurityGroups', signal),
    describeIngressRules: (_groupId, signal) => fail('DescribeSecurityGroupRules', signal),
    authorizeIngress: (_request, signal) => readOnly('AuthorizeSecurityGroupIngress', signal),
    updateIngressDescriptions: (_request, signal) =>
      readOnly('UpdateSecurityGroupRuleDescriptionsIngress', signal),
    describeDefaultVpcId: (signal) => fail('DescribeVpcs', signal),
    describePrefixLists: (_ids, signal) => fail('DescribeManagedPrefixLists', signal),
  };
}

/** A write against a snapshot: always SnapshotReadOnly (plan never writes; this guards misuse). */
function readOnly(action: string, signal: AbortSignal | undefined): Promise<never> {
  return settle(action, signal, () => {
    throw new Ec2Error(
      'SnapshotReadOnly',
      `cannot call ${action} against a snapshot: a snapshot is read-only`,
      action,
    );
  });
}

function regionPort(region: string, account: string, data: RegionData): Ec2Port {
  const byId = new Map(data.groups.map((group) => [group.groupId, group]));
  return {
    region,

    describeSecurityGroups(filters: readonly Ec2Filter[], signal?: AbortSignal): Promise<LiveGroup[]> {
      return settle('DescribeSecurityGroups', signal, () => {
        const matchers = filters.map(filterMatcher);
        return data.groups.filter((group) => matchers.every((matches) => matches(group)));
      });
    },

    describeIngressRules(groupId: string, signal?: AbortSignal): Promise<LiveRule[]> {
      return settle('DescribeSecurityGroupRules', signal, () => {
        const group = byId.get(groupId);
        if (group === undefined) {
          throw new Ec2Error(
            'InvalidGroup.NotFound',
            `The security group '${groupId}' does not exist in the snapshot of ${region}`,
            'DescribeSecurityGroupRules',
            400,
          );
        }
        // DescribeSecurityGroups carries no rule IDs; the snapshot recorded them for the groups a
        // live plan would ask (guardrail violations).
        const ids = data.ruleIds.get(groupId);
        if (ids === undefined) return [...group.rules];
        return group.rules.map((rule) => {
          const ruleId = ids.get(ruleKey(rule));
          return ruleId === undefined ? rule : { ...rule, ruleId };
        });
      });
    },

    authorizeIngress: (_request, signal) => readOnly('AuthorizeSecurityGroupIngress', signal),
    updateIngressDescriptions: (_request, signal) =>
      readOnly('UpdateSecurityGroupRuleDescriptionsIngress', signal),

    describeDefaultVpcId(signal?: AbortSignal): Promise<string | undefined> {
      return settle('DescribeVpcs', signal, () => {
        if (!data.defaultVpc.held) throw incomplete('DescribeVpcs', data.defaultVpc.why);
        return data.defaultVpc.id;
      });
    },

    describePrefixLists(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, PrefixListInfo>> {
      const action = 'DescribeManagedPrefixLists';
      return settle(action, signal, () => {
        const unique = [...new Set(ids.map((id) => id.toLowerCase()))].sort(compare);
        const missing = unique.filter((id) => !data.prefixLists.has(id));
        if (missing.length > 0) {
          throw incomplete(
            action,
            `the snapshot holds no size for prefix list ${missing.join(', ')} in region ${region} of account ${account}; ${data.prefixListHint}`,
          );
        }
        const result = new Map<string, PrefixListInfo>();
        for (const id of unique) {
          const info = data.prefixLists.get(id);
          if (info !== undefined) result.set(id, info);
        }
        return result;
      });
    },
  };
}

async function settle<T>(action: string, signal: AbortSignal | undefined, run: () => T): Promise<T> {
  await Promise.resolve();
  if (signal?.aborted === true) throw new Ec2Error('AbortError', 'the request was aborted', action);
  return run();
}

// ---------------------------------------------------------------------------------------------
// Filters, with EC2's semantics: values of one filter are OR-ed, filters AND-ed, values are
// case-sensitive patterns (filterPatternMatcher).

function filterMatcher(filter: Ec2Filter): (group: LiveGroup) => boolean {
  const patterns = filter.values.map(filterPatternMatcher);
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

// ---------------------------------------------------------------------------------------------
// The sg-reconciler snapshot document

const ACCOUNT_KEY = /^(\d{12}|unknown)$/;
const PREFIX_LIST_ID = /^pl-[0-9a-f]+$/;

function openDocument(json: Json, sourceName: string): SnapshotSource {
  const what = `a snapshot written by "sg-reconciler snapshot" (formatVersion ${SNAPSHOT_FORMAT_VERSION})`;
  if (json.formatVersion !== SNAPSHOT_FORMAT_VERSION) {
    const newer = typeof json.formatVersion === 'number' && json.formatVersion > SNAPSHOT_FORMAT_VERSION;
    throw invalidSnapshot(sourceName, what, [
      newer
        ? `$.formatVersion: ${json.formatVersion} was written by a newer sg-reconciler; upgrade, or take the snapshot with this version`
        : `$.formatVersion: expected ${SNAPSHOT_FORMAT_VERSION}, got ${JSON.stringify(json.formatVersion)}`,
    ]);
  }
  const check = new Checker();
  if (json.kind !== SNAPSHOT_KIND) check.fail('$.kind', `expected "${SNAPSHOT_KIND}"`);
  const credentialsAccount = check.string(json, 'credentialsAccount', '$', true) ?? UNKNOWN_ACCOUNT;
  if (!ACCOUNT_KEY.test(credentialsAccount)) {
    check.fail('$.credentialsAccount', 'expected a 12-digit account ID or "unknown"');
  }
  const defaultRegion = check.string(json, 'defaultRegion', '$', false);
  const regions = new Map<string, RegionData>();
  const units: { account: string; region: string }[] = [];
  const hint = 'take a new snapshot with "sg-reconciler snapshot" and the policies that need it';

  if (!isObject(json.accounts)) check.fail('$.accounts', 'required, an object keyed by account ID');
  for (const [account, accountValue] of Object.entries(isObject(json.accounts) ? json.accounts : {})) {
    const accountPath = `$.accounts[${JSON.stringify(account)}]`;
    if (!ACCOUNT_KEY.test(account))
      check.fail(accountPath, 'expected a 12-digit account ID or "unknown" as the key');
    if (!isObject(accountValue) || !isObject(accountValue.regions)) {
      check.fail(`${accountPath}.regions`, 'required, an object keyed by region name');
      continue;
    }
    for (const [region, regionValue] of Object.entries(accountValue.regions)) {
      const path = `${accountPath}.regions[${JSON.stringify(region)}]`;
      if (!isObject(regionValue)) {
        check.fail(path, `expected an object, got ${typeName(regionValue)}`);
        continue;
      }
      const data = readRegionDocument(
        check,
        regionValue,
        path,
        `region ${region} of account ${account}`,
        hint,
      );
      regions.set(`${account}|${region}`, data);
      units.push({ account, region });
    }
  }
  if (check.errors.length > 0) throw invalidSnapshot(sourceName, what, check.errors);

  units.sort((a, b) => compare(a.account, b.account) || compare(a.region, b.region));
  const held = units.map((u) => `${u.region} of account ${u.account}`).join(', ') || 'nothing';
  return source(
    'sg-reconciler',
    credentialsAccount,
    defaultRegion,
    units,
    (account, region) =>
      regions.get(`${account}|${region}`) ??
      `snapshot ${sourceName} holds no data for region ${region} of account ${account} (it holds ${held}); ${hint}`,
  );
}

function readRegionDocument(
  check: Checker,
  value: Json,
  path: string,
  unit: string,
  hint: string,
): RegionData {
  let defaultVpc: RegionData['defaultVpc'];
  if (!('defaultVpcId' in value)) {
    defaultVpc = { held: false, why: `the snapshot did not read the default VPC of ${unit}; ${hint}` };
  } else if (value.defaultVpcId === null) {
    defaultVpc = { held: true, id: undefined };
  } else {
    defaultVpc = { held: true, id: check.string(value, 'defaultVpcId', path, true) };
  }

  const groups: LiveGroup[] = [];
  const seen = new Set<string>();
  for (const { value: item, path: groupPath } of check.array(value, 'groups', path)) {
    const before = check.errors.length;
    const group = readGroup(check, item, groupPath);
    if (group.GroupId !== undefined) {
      if (seen.has(group.GroupId)) check.fail(`${groupPath}.GroupId`, `duplicate group ${group.GroupId}`);
      seen.add(group.GroupId);
    }
    if (check.errors.length > before) continue;
    const live = liveGroupFromSecurityGroup(group);
    if (live !== undefined) groups.push(live);
  }

  const prefixLists = new Map<string, PrefixListInfo | undefined>();
  const lists = value.prefixLists;
  if (lists !== undefined && !isObject(lists))
    check.fail(`${path}.prefixLists`, 'expected an object keyed by prefix list ID');
  for (const [id, record] of Object.entries(isObject(lists) ? lists : {})) {
    const listPath = `${path}.prefixLists[${JSON.stringify(id)}]`;
    if (!PREFIX_LIST_ID.test(id))
      check.fail(listPath, 'expected a prefix list ID like pl-0123456789abcdef0 as the key');
    if (record === null) {
      prefixLists.set(id, undefined);
      continue;
    }
    const maxEntries = isObject(record) ? record.maxEntries : undefined;
    const family = isObject(record) ? record.addressFamily : undefined;
    if (typeof maxEntries !== 'number' || !Number.isInteger(maxEntries) || maxEntries < 1) {
      check.fail(`${listPath}.maxEntries`, 'required, a whole number of 1 or more');
      continue;
    }
    if (family !== null && family !== 'IPv4' && family !== 'IPv6') {
      check.fail(`${listPath}.addressFamily`, 'expected "IPv4", "IPv6" or null');
      continue;
    }
    prefixLists.set(id, { maxEntries, addressFamily: family ?? undefined });
  }
  return { groups, defaultVpc, prefixLists, prefixListHint: hint, ruleIds: readRuleIds(check, value, path) };
}

/** The optional `ruleIds` of a region document: group ID -> rule key -> `sgr-…`. */
function readRuleIds(check: Checker, value: Json, path: string): Map<string, Map<string, string>> {
  const ids = new Map<string, Map<string, string>>();
  const recorded = value.ruleIds;
  if (recorded === undefined) return ids;
  if (!isObject(recorded)) {
    check.fail(`${path}.ruleIds`, 'expected an object keyed by security group ID');
    return ids;
  }
  for (const [groupId, byKey] of Object.entries(recorded)) {
    const groupPath = `${path}.ruleIds[${JSON.stringify(groupId)}]`;
    if (!isObject(byKey)) {
      check.fail(groupPath, 'expected an object of rule key -> security group rule ID (sgr-…)');
      continue;
    }
    const map = new Map<string, string>();
    for (const [key, ruleId] of Object.entries(byKey)) {
      if (typeof ruleId !== 'string' || !/^sgr-[0-9a-f]+$/.test(ruleId)) {
        check.fail(
          `${groupPath}[${JSON.stringify(key)}]`,
          'expected a security group rule ID like sgr-0123456789abcdef0',
        );
        continue;
      }
      map.set(key, ruleId);
    }
    ids.set(groupId, map);
  }
  return ids;
}
