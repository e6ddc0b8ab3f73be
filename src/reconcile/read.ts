// The gather step of a pass, one region at a time: which live groups do the policies target, what
// rules do they hold, and how big are the prefix lists involved. Impure (calls the Ec2Port) but
// decides nothing: the planner works on what this returns.
//
// Reads are as few as EC2 allows: every `groupId` target of the region in one DescribeSecurityGroups
// call (chunked at EC2's 200 filter values), every `groupName` target in one call scoped to the
// default VPC, one call per distinct tag selector. Every value is sent escaped (literalFilterValue)
// so that EC2, which reads `*`, `?` and `\` in filter values as wildcards and escapes, matches it
// literally; every returned group is still matched against the targets again on our side with the
// exact semantics, so a port that over-matches cannot widen a target.
import {
  literalFilterValue,
  type Ec2Filter,
  type Ec2Port,
  type LiveGroup,
  type PrefixListInfo,
} from '../aws/port.js';
import type { Policy, TargetSelector } from '../model/policy.js';
import { describeTarget } from '../model/policy.js';
import type { GroupRead, PrefixListReadFailure, ReadFailure, RegionRead, UnresolvedTarget } from './types.js';
import { errorInfo, mapBounded, type ErrorInfo } from './support.js';
import { compareStrings } from '../model/compare.js';

/** EC2 accepts at most 200 values per filter in one DescribeSecurityGroups call. */
export const MAX_FILTER_VALUES = 200;

/**
 * Above this many filtered DescribeSecurityGroups calls for one region, one unfiltered call (every
 * group of the region, paged by the port) is cheaper in API requests and throttling budget than
 * many selector calls, and the targets are matched on our side with the same semantics. Regions
 * hold at most a few thousand groups (10,000 is the hard quota), i.e. a handful of 1,000-group pages.
 */
export const DEFAULT_FULL_SCAN_THRESHOLD = 4;

export interface ReadRegionInput {
  readonly region: string;
  /** The policies of this region (their own region, or the default one). */
  readonly policies: readonly Policy[];
  readonly port: Ec2Port;
  /** Reads of this region in flight at once (default 4). */
  readonly concurrency?: number;
  /** More selector calls than this => one unfiltered call instead (default 4). */
  readonly fullScanThreshold?: number;
  readonly signal?: AbortSignal;
}

interface Dependent {
  readonly policy: string;
  readonly selector: TargetSelector;
}

type Outcome<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly failure: ErrorInfo };

async function attempt<T>(call: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (error) {
    return { ok: false, failure: errorInfo(error) };
  }
}

/** One unit of reading: the call(s) it makes and the targets whose answer depends on it. */
interface ReadTask {
  readonly dependents: readonly Dependent[];
  run(): Promise<TaskResult>;
}

type TaskResult =
  | {
      readonly ok: true;
      readonly groups: readonly LiveGroup[];
      /** The default VPC lookup, for tasks with name targets. */
      readonly defaultVpc: Outcome<string | undefined> | undefined;
      /** Successful calls, so a pass can tell "nothing could be read" from "nothing matched". */
      readonly calls: number;
    }
  | { readonly ok: false; readonly action: string; readonly failure: ErrorInfo };

/** Does `group` match `selector`, with EC2's semantics (names resolve in the default VPC only)? */
export function matchesTarget(
  selector: TargetSelector,
  group: LiveGroup,
  defaultVpcId: string | undefined,
): boolean {
  switch (selector.kind) {
    case 'groupId':
      return group.groupId.toLowerCase() === selector.groupId.toLowerCase();
    case 'groupName':
      return (
        defaultVpcId !== undefined && group.vpcId === defaultVpcId && group.groupName === selector.groupName
      );
    case 'tags':
      if (selector.vpcId !== undefined && group.vpcId !== selector.vpcId) return false;
      // A loop, not Object.entries().every(): this runs for every group read against every selector.
      for (const key in selector.tags) if (group.tags[key] !== selector.tags[key]) return false;
      return true;
  }
}

/**
 * The groups a selector could match, looked up by ID or name instead of scanning every group read
 * (a fleet that lists 10,000 groups by ID would otherwise cost 10,000 x 10,000 comparisons).
 * matchesTarget still decides; tag selectors scan.
 */
function candidateIndex(groups: readonly LiveGroup[]): (selector: TargetSelector) => readonly LiveGroup[] {
  const byId = new Map<string, LiveGroup>();
  const byName = new Map<string, LiveGroup[]>();
  for (const group of groups) {
    byId.set(group.groupId.toLowerCase(), group);
    const named = byName.get(group.groupName);
    if (named === undefined) byName.set(group.groupName, [group]);
    else named.push(group);
  }
  return (selector) => {
    switch (selector.kind) {
      case 'groupId': {
        const group = byId.get(selector.groupId.toLowerCase());
        return group === undefined ? [] : [group];
      }
      case 'groupName':
        return byName.get(selector.groupName) ?? [];
      case 'tags':
        return groups;
    }
  };
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

function tagSelectorKey(selector: Extract<TargetSelector, { kind: 'tags' }>): string {
  const tags = Object.entries(selector.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([tags, selector.vpcId ?? null]);
}

function tagFilters(selector: Extract<TargetSelector, { kind: 'tags' }>): Ec2Filter[] {
  const filters: Ec2Filter[] = Object.entries(selector.tags)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => literalFilter(`tag:${key}`, [value]));
  if (selector.vpcId !== undefined) filters.push(literalFilter('vpc-id', [selector.vpcId]));
  return filters;
}

/** A filter whose values EC2 matches literally (SPEC "Safety rules"). */
export function literalFilter(name: string, values: readonly string[]): Ec2Filter {
  return { name, values: values.map(literalFilterValue) };
}

function sortedUnique(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** A region's targets by how they are read: IDs and names in batches, one call per tag selector. */
interface TargetsByKind {
  readonly byId: readonly Dependent[];
  readonly byName: readonly Dependent[];
  readonly byTags: ReadonlyMap<
    string,
    { readonly selector: Extract<TargetSelector, { kind: 'tags' }>; readonly dependents: Dependent[] }
  >;
}

function targetsByKind(policies: readonly Policy[]): TargetsByKind {
  const byId: Dependent[] = [];
  const byName: Dependent[] = [];
  const byTags = new Map<
    string,
    { selector: Extract<TargetSelector, { kind: 'tags' }>; dependents: Dependent[] }
  >();
  for (const policy of policies) {
    for (const target of policy.targets) {
      const dependent: Dependent = { policy: policy.name, selector: target.selector };
      const selector = target.selector;
      if (selector.kind === 'groupId') byId.push(dependent);
      else if (selector.kind === 'groupName') byName.push(dependent);
      else {
        const key = tagSelectorKey(selector);
        const entry = byTags.get(key) ?? { selector, dependents: [] };
        entry.dependents.push(dependent);
        byTags.set(key, entry);
      }
    }
  }
  return { byId, byName, byTags };
}

/** The calls one region's read makes: DescribeSecurityGroups with filters, and the default VPC once. */
interface RegionCalls {
  describe(filters: readonly Ec2Filter[]): Promise<TaskResult>;
  defaultVpcId(): Promise<Outcome<string | undefined>>;
}

function regionCalls(port: Ec2Port, signal: AbortSignal | undefined): RegionCalls {
  // The default VPC is looked up once, and only when a name target needs it.
  let defaultVpc: Promise<Outcome<string | undefined>> | undefined;
  return {
    defaultVpcId: () => {
      defaultVpc ??= attempt(() => port.describeDefaultVpcId(signal));
      return defaultVpc;
    },
    describe: async (filters) => {
      const outcome = await attempt(() => port.describeSecurityGroups(filters, signal));
      return outcome.ok
        ? { ok: true, groups: outcome.value, defaultVpc: undefined, calls: 1 }
        : { ok: false, action: 'DescribeSecurityGroups', failure: outcome.failure };
    },
  };
}

/** Every target at once: one unfiltered read (see DEFAULT_FULL_SCAN_THRESHOLD). */
function fullScanTask(targets: TargetsByKind, calls: RegionCalls): ReadTask {
  const { byId, byName, byTags } = targets;
  return {
    dependents: [...byId, ...byName, ...[...byTags.values()].flatMap((t) => t.dependents)],
    run: async () => {
      const [all, vpc] = await Promise.all([
        calls.describe([]),
        byName.length > 0 ? calls.defaultVpcId() : Promise.resolve(undefined),
      ]);
      if (!all.ok) return all;
      return { ...all, defaultVpc: vpc, calls: all.calls + (vpc?.ok === true ? 1 : 0) };
    },
  };
}

/** One task per chunk of IDs, per chunk of names (in the default VPC), per tag selector. */
function selectorTasks(
  targets: TargetsByKind,
  idChunks: readonly string[][],
  nameChunks: readonly string[][],
  calls: RegionCalls,
): ReadTask[] {
  const tasks: ReadTask[] = [];
  for (const values of idChunks) {
    const set = new Set(values);
    tasks.push({
      dependents: targets.byId.filter(
        (d) => d.selector.kind === 'groupId' && set.has(d.selector.groupId.toLowerCase()),
      ),
      run: () => calls.describe([literalFilter('group-id', values)]),
    });
  }
  for (const values of nameChunks) {
    const set = new Set(values);
    tasks.push({
      dependents: targets.byName.filter(
        (d) => d.selector.kind === 'groupName' && set.has(d.selector.groupName),
      ),
      run: async () => {
        const vpc = await calls.defaultVpcId();
        if (!vpc.ok) return { ok: false, action: 'DescribeVpcs', failure: vpc.failure };
        // EC2 resolves GroupName in the default VPC only; a region without one resolves no name.
        if (vpc.value === undefined) return { ok: true, groups: [], defaultVpc: vpc, calls: 1 };
        const result = await calls.describe([
          literalFilter('group-name', values),
          literalFilter('vpc-id', [vpc.value]),
        ]);
        return result.ok ? { ...result, defaultVpc: vpc, calls: result.calls + 1 } : result;
      },
    });
  }
  for (const { selector, dependents } of targets.byTags.values()) {
    tasks.push({ dependents, run: () => calls.describe(tagFilters(selector)) });
  }
  return tasks;
}

/** Read everything one region's policies need, with the fewest DescribeSecurityGroups calls. */
export async function readRegion(input: ReadRegionInput): Promise<RegionRead> {
  const { region } = input;
  const threshold = input.fullScanThreshold ?? DEFAULT_FULL_SCAN_THRESHOLD;
  const targets = targetsByKind(input.policies);
  const ids = sortedUnique(
    targets.byId.map((d) => (d.selector.kind === 'groupId' ? d.selector.groupId.toLowerCase() : '')),
  );
  const names = sortedUnique(
    targets.byName.map((d) => (d.selector.kind === 'groupName' ? d.selector.groupName : '')),
  );
  const idChunks = chunk(ids, MAX_FILTER_VALUES);
  const nameChunks = chunk(names, MAX_FILTER_VALUES);
  const selectorCalls = idChunks.length + nameChunks.length + targets.byTags.size;
  const calls = regionCalls(input.port, input.signal);
  const tasks =
    selectorCalls > threshold
      ? [fullScanTask(targets, calls)]
      : selectorTasks(targets, idChunks, nameChunks, calls);

  const results = await mapBounded(tasks, input.concurrency ?? 4, (task) => task.run());
  const { groups, unresolved, readFailures, readsSucceeded } = matchResults(region, tasks, results);
  const { prefixLists, prefixListFailure } = await readPrefixLists(input, groups);

  unresolved.sort((a, b) => compareStrings(a.policy, b.policy) || compareStrings(a.target, b.target));
  readFailures.sort((a, b) => compareStrings(a.targets.join(), b.targets.join()));
  return {
    region,
    groups: new Map<string, GroupRead>([...groups.entries()].sort(([a], [b]) => compareStrings(a, b))),
    unresolved,
    readFailures,
    prefixLists,
    prefixListFailure,
    readsSucceeded,
  };
}

/** What the tasks' answers mean for each target: its groups, unresolved, or a failed read. */
interface MatchedReads {
  readonly groups: Map<string, { group: LiveGroup; policies: Set<string> }>;
  readonly unresolved: UnresolvedTarget[];
  readonly readFailures: ReadFailure[];
  readonly readsSucceeded: number;
}

function matchResults(
  region: string,
  tasks: readonly ReadTask[],
  results: readonly (TaskResult | undefined)[],
): MatchedReads {
  const groups = new Map<string, { group: LiveGroup; policies: Set<string> }>();
  const unresolved: UnresolvedTarget[] = [];
  const readFailures: ReadFailure[] = [];
  let readsSucceeded = 0;
  const fail = (action: string, failure: ErrorInfo, dependents: readonly Dependent[]): void => {
    // A failed read is never "no groups": its targets are reported and their groups not planned.
    readFailures.push({
      region,
      action,
      errorCode: failure.errorCode,
      error: failure.error,
      policies: sortedUnique(dependents.map((d) => d.policy)),
      targets: sortedUnique(dependents.map((d) => describeTarget(d.selector))),
    });
  };
  tasks.forEach((task, index) => {
    const result = results[index];
    if (result === undefined) return;
    if (!result.ok) {
      fail(result.action, result.failure, task.dependents);
      return;
    }
    readsSucceeded += result.calls;
    const vpc = result.defaultVpc;
    const vpcFailed = task.dependents.filter((d) => d.selector.kind === 'groupName' && vpc?.ok === false);
    if (vpc !== undefined && !vpc.ok && vpcFailed.length > 0) fail('DescribeVpcs', vpc.failure, vpcFailed);
    const skipped = new Set(vpcFailed);
    const defaultVpcId = vpc?.ok === true ? vpc.value : undefined;
    const candidates = candidateIndex(result.groups);
    for (const dependent of task.dependents) {
      if (skipped.has(dependent)) continue;
      const matched = candidates(dependent.selector).filter((g) =>
        matchesTarget(dependent.selector, g, defaultVpcId),
      );
      if (matched.length === 0) unresolved.push(unresolvedTarget(region, dependent, defaultVpcId));
      for (const group of matched) {
        const entry = groups.get(group.groupId) ?? { group, policies: new Set<string>() };
        entry.policies.add(dependent.policy);
        groups.set(group.groupId, entry);
      }
    }
  });
  return { groups, unresolved, readFailures, readsSucceeded };
}

function unresolvedTarget(
  region: string,
  dependent: Dependent,
  defaultVpcId: string | undefined,
): UnresolvedTarget {
  const noDefaultVpc = dependent.selector.kind === 'groupName' && defaultVpcId === undefined;
  return {
    region,
    policy: dependent.policy,
    target: describeTarget(dependent.selector),
    ...(noDefaultVpc ? { reason: 'the region has no default VPC to resolve group names in' } : {}),
  };
}

/**
 * One DescribeManagedPrefixLists call for every list the region's desired or live rules reference.
 * If it fails, no group is skipped: the planner counts each list it cannot size as one rule in both
 * families and flags the projection (QuotaProjection.unknownPrefixLists), and the failure is
 * reported. A quota the projection missed is still caught by EC2, whose batches are atomic, and the
 * executor never retries RulesPerSecurityGroupLimitExceeded rule by rule.
 */
async function readPrefixLists(
  input: ReadRegionInput,
  groups: ReadonlyMap<string, { group: LiveGroup; policies: ReadonlySet<string> }>,
): Promise<{
  prefixLists: Map<string, PrefixListInfo>;
  prefixListFailure: PrefixListReadFailure | undefined;
}> {
  const targetedPolicies = new Set<string>();
  const ids = new Set<string>();
  for (const { group, policies } of groups.values()) {
    for (const policy of policies) targetedPolicies.add(policy);
    for (const rule of group.rules) {
      if (rule.source.kind === 'prefixList') ids.add(rule.source.value.toLowerCase());
    }
  }
  for (const policy of input.policies) {
    if (!targetedPolicies.has(policy.name)) continue;
    for (const { rule } of policy.rules) {
      if (rule.source.kind === 'prefixList') ids.add(rule.source.value.toLowerCase());
    }
  }
  const prefixListIds = [...ids].sort();
  if (prefixListIds.length === 0) return { prefixLists: new Map(), prefixListFailure: undefined };
  const outcome = await attempt(() => input.port.describePrefixLists(prefixListIds, input.signal));
  if (outcome.ok) return { prefixLists: outcome.value, prefixListFailure: undefined };
  return {
    prefixLists: new Map(),
    prefixListFailure: { region: input.region, ...outcome.failure, prefixListIds },
  };
}
