// An in-memory EC2 behind the Ec2Port, faithful to EC2 as its API reference describes it (not to
// moto): canonical CIDRs, Duplicate on identity (description ignored), atomic authorize batches,
// InvalidGroup.NotFound for referenced groups, 60 rules per family, paged describes, and knobs for
// injected errors, latency and eventual consistency. Plus a small state builder for tests:
//   fakeWorld().vpc('vpc-1', { default: true }).group({ id: 'sg-1', name: 'web', vpcId: 'vpc-1' }).rule('sg-1', tcp(22, '10.0.0.0/8'))
import type {
  AuthorizeRequest,
  DescriptionUpdateRequest,
  Ec2Filter,
  Ec2Port,
  Ec2PortFactory,
  LiveGroup,
  PrefixListInfo,
} from '../../src/aws/port.js';
import { Ec2Error, filterPatternMatcher } from '../../src/aws/port.js';
import type { AccountSelector } from '../../src/model/accounts.js';
import type { Policy, PolicyRule, TargetSelector } from '../../src/model/policy.js';
import type { LiveRule, Rule, RuleSource } from '../../src/model/rule.js';
import { canonicalCidr, canonicalRule, ruleKey, SELF_GROUP } from '../../src/model/rule.js';

export const DEFAULT_REGION = 'us-east-1';
export const DEFAULT_OWNER = '123456789012';

export type FakeAction =
  | 'DescribeSecurityGroups'
  | 'DescribeSecurityGroupRules'
  | 'AuthorizeSecurityGroupIngress'
  | 'UpdateSecurityGroupRuleDescriptionsIngress'
  | 'DescribeVpcs'
  | 'DescribeManagedPrefixLists';

export interface FakeCall {
  readonly region: string;
  readonly action: FakeAction;
  /** 1-based number of this call among all calls of its action (every page is a call). */
  readonly number: number;
  readonly input: unknown;
}

export interface FaultOptions {
  /** Only the n-th call of the action (1-based, across regions); otherwise the next matching calls. */
  readonly call?: number;
  /** How many times the fault fires (default 1; Infinity = always). Ignored with `call`. */
  readonly times?: number;
  readonly region?: string;
  /** Only calls whose input satisfies this. */
  readonly when?: (input: unknown) => boolean;
}

interface Fault extends FaultOptions {
  readonly action: FakeAction;
  readonly error: Ec2Error | ((input: unknown) => Ec2Error);
  fired: number;
}

interface StoredRule {
  readonly ruleId: string;
  /** Replaced (not mutated) when its description is updated. */
  rule: Rule;
  readonly tags: Readonly<Record<string, string>>;
  /** Reads that will still not see this rule (eventual consistency). */
  hiddenReads: number;
}

interface StoredGroup {
  readonly region: string;
  readonly groupId: string;
  readonly groupName: string;
  readonly vpcId: string;
  readonly ownerId: string;
  readonly tags: Record<string, string>;
  readonly rules: StoredRule[];
}

export interface GroupSpec {
  readonly id: string;
  readonly name?: string;
  readonly vpcId?: string;
  readonly region?: string;
  readonly ownerId?: string;
  readonly tags?: Record<string, string>;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export class FakeEc2 {
  /** Items per page of DescribeSecurityGroups / DescribeSecurityGroupRules (EC2: up to 1000). */
  pageSize = 1000;
  /** Rules per group per address family (EC2 default quota). */
  ruleLimit = 60;
  /** A newly authorized rule stays invisible to this many reads of its group. */
  invisibleReads = 0;
  /** What AuthorizeSecurityGroupIngress returns: every created rule (EC2), the last one (moto), none. */
  authorizeReturns: 'all' | 'last' | 'none' = 'all';
  /** Delay of every call, to make concurrency observable. */
  latencyMs = 0;
  /** Actions the caller is not permitted (UnauthorizedOperation, also under DryRun). */
  readonly denied = new Set<FakeAction>();

  readonly calls: FakeCall[] = [];
  private readonly faults: Fault[] = [];
  private readonly inFlight = new Map<FakeAction, number>();
  private readonly callNumbers = new Map<FakeAction, number>();
  private readonly peak = new Map<FakeAction, number>();
  private readonly groups = new Map<string, StoredGroup>();
  /** The groups of each region sorted by ID, as DescribeSecurityGroups pages them; rebuilt after group(). */
  private readonly byRegion = new Map<string, StoredGroup[]>();
  private readonly defaultVpcs = new Map<string, string>();
  private readonly vpcs = new Map<string, string>();
  private readonly prefixLists = new Map<string, PrefixListInfo & { region: string }>();
  private nextRuleId = 1;

  // ---- builder ----

  vpc(id: string, options: { default?: boolean; region?: string } = {}): this {
    const region = options.region ?? DEFAULT_REGION;
    this.vpcs.set(id, region);
    if (options.default === true) this.defaultVpcs.set(region, id);
    return this;
  }

  group(spec: GroupSpec): this {
    const region = spec.region ?? DEFAULT_REGION;
    const vpcId = spec.vpcId ?? this.defaultVpcs.get(region) ?? 'vpc-default';
    this.byRegion.clear();
    this.groups.set(spec.id, {
      region,
      groupId: spec.id,
      groupName: spec.name ?? spec.id,
      vpcId,
      ownerId: spec.ownerId ?? DEFAULT_OWNER,
      tags: { ...spec.tags },
      rules: [],
    });
    return this;
  }

  /** Store rules as they are (no validation: this is how the world already is). */
  rule(groupId: string, ...rules: Rule[]): this {
    const group = this.mustGroup(groupId);
    for (const rule of rules) group.rules.push(this.store(rule, {}, 0));
    return this;
  }

  prefixList(
    id: string,
    maxEntries: number,
    addressFamily: 'IPv4' | 'IPv6' | undefined,
    region = DEFAULT_REGION,
  ): this {
    this.prefixLists.set(id, { maxEntries, addressFamily, region });
    return this;
  }

  /** Make calls of `action` fail with `error`. */
  fail(
    action: FakeAction,
    error: Ec2Error | ((input: unknown) => Ec2Error),
    options: FaultOptions = {},
  ): this {
    this.faults.push({ ...options, action, error, fired: 0 });
    return this;
  }

  // ---- inspection ----

  /** Forget the calls made so far (e.g. the reads that built a plan), keeping the world's state. */
  resetCalls(): this {
    this.calls.length = 0;
    this.callNumbers.clear();
    this.peak.clear();
    return this;
  }

  count(action: FakeAction, region?: string): number {
    return this.calls.filter((c) => c.action === action && (region === undefined || c.region === region))
      .length;
  }

  callsOf(action: FakeAction): FakeCall[] {
    return this.calls.filter((c) => c.action === action);
  }

  /** The most calls of `action` that were in flight at once. */
  maxInFlight(action: FakeAction): number {
    return this.peak.get(action) ?? 0;
  }

  /** The group's true rules (visible or not), with their IDs and tags. */
  rulesOf(groupId: string): (LiveRule & { tags: Readonly<Record<string, string>> })[] {
    return this.mustGroup(groupId).rules.map((s) => ({ ...s.rule, ruleId: s.ruleId, tags: s.tags }));
  }

  port(region = DEFAULT_REGION): Ec2Port {
    return new FakePort(this, region);
  }

  ports(): Ec2PortFactory {
    return (region) => this.port(region);
  }

  // ---- the API (page-level, as EC2 serves it) ----

  /** @internal one DescribeSecurityGroups page. */
  async describeSecurityGroupsPage(
    region: string,
    filters: readonly Ec2Filter[],
    nextToken: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ groups: LiveGroup[]; nextToken: string | undefined }> {
    return this.call(region, 'DescribeSecurityGroups', { filters, nextToken }, signal, () => {
      for (const filter of filters) {
        if (filter.values.length > 200) {
          throw new Ec2Error(
            'FilterLimitExceeded',
            'The maximum number of filter values specified on a single call is 200',
            'DescribeSecurityGroups',
            400,
          );
        }
      }
      // Each pattern compiled once per call, not once per group (benchmarks hold 100,000 groups).
      const compiled = filters.map((f) => ({ name: f.name, matchers: f.values.map(filterPatternMatcher) }));
      const matching = this.groupsOf(region).filter((g) => compiled.every((f) => this.matchesFilter(g, f)));
      const start = nextToken === undefined ? 0 : Number(nextToken);
      const page = matching.slice(start, start + this.pageSize);
      const end = start + page.length;
      return {
        groups: page.map((g) => this.liveGroup(g)),
        nextToken: end < matching.length ? String(end) : undefined,
      };
    });
  }

  /** @internal one DescribeSecurityGroupRules page (ingress rules of one group). */
  async describeRulesPage(
    region: string,
    groupId: string,
    nextToken: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ rules: LiveRule[]; nextToken: string | undefined }> {
    return this.call(region, 'DescribeSecurityGroupRules', { groupId, nextToken }, signal, () => {
      const group = this.groupIn(region, groupId, 'DescribeSecurityGroupRules');
      const visible = this.visibleRules(group);
      const start = nextToken === undefined ? 0 : Number(nextToken);
      const page = visible.slice(start, start + this.pageSize);
      const end = start + page.length;
      return {
        rules: page.map((s) => ({ ...s.rule, ruleId: s.ruleId })),
        nextToken: end < visible.length ? String(end) : undefined,
      };
    });
  }

  /** @internal */
  async authorize(
    region: string,
    request: AuthorizeRequest,
    signal: AbortSignal | undefined,
  ): Promise<LiveRule[]> {
    const action = 'AuthorizeSecurityGroupIngress';
    return this.call(region, action, request, signal, () => {
      const group = this.groupIn(region, request.groupId, action);
      this.refuseOrDryRun(action, request.dryRun);
      // Validate the whole batch first: EC2 applies all of it or nothing.
      const rules = request.rules.map((r) => canonicalRule(r));
      const keys = new Set(group.rules.map((s) => ruleKey(s.rule)));
      for (const rule of rules) {
        this.checkSource(region, group, rule.source);
        const key = ruleKey(rule);
        if (keys.has(key)) {
          throw new Ec2Error(
            'InvalidPermission.Duplicate',
            `the specified rule "peer: ${rule.source.value}, ${rule.protocol}, from port: ${rule.fromPort}, to port: ${rule.toPort}, ALLOW" already exists`,
            action,
            400,
          );
        }
        keys.add(key);
      }
      const weight = { ipv4: 0, ipv6: 0 };
      for (const rule of [...group.rules.map((s) => s.rule), ...rules]) {
        const w = this.weight(rule);
        weight.ipv4 += w.ipv4;
        weight.ipv6 += w.ipv6;
      }
      if (weight.ipv4 > this.ruleLimit || weight.ipv6 > this.ruleLimit) {
        throw new Ec2Error(
          'RulesPerSecurityGroupLimitExceeded',
          'The maximum number of rules per security group has been reached.',
          action,
          400,
        );
      }
      const created = rules.map((rule) => this.store(rule, request.tags, this.invisibleReads));
      group.rules.push(...created);
      const returned =
        this.authorizeReturns === 'all' ? created : this.authorizeReturns === 'last' ? created.slice(-1) : [];
      return returned.map((s) => ({ ...s.rule, ruleId: s.ruleId }));
    });
  }

  /**
   * @internal UpdateSecurityGroupRuleDescriptionsIngress, IpPermissions form: every rule must exist
   * (identity without description), else InvalidPermission.NotFound and nothing changes; a rule
   * without description removes the stored one.
   */
  async updateDescriptions(
    region: string,
    request: DescriptionUpdateRequest,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const action = 'UpdateSecurityGroupRuleDescriptionsIngress';
    return this.call(region, action, request, signal, () => {
      const group = this.groupIn(region, request.groupId, action);
      this.refuseOrDryRun(action, request.dryRun);
      const updates = request.rules.map((rule) => {
        const canonical = canonicalRule(rule);
        const stored = group.rules.find((s) => ruleKey(s.rule) === ruleKey(canonical));
        if (stored === undefined) {
          throw new Ec2Error(
            'InvalidPermission.NotFound',
            `The specified rule does not exist in this security group (peer: ${canonical.source.value})`,
            action,
            400,
          );
        }
        return { stored, description: canonical.description };
      });
      for (const { stored, description } of updates) {
        const { description: _old, ...identity } = stored.rule;
        stored.rule = description === undefined ? identity : { ...identity, description };
      }
    });
  }

  /** @internal */
  async defaultVpcId(region: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    return this.call(
      region,
      'DescribeVpcs',
      { filters: [{ name: 'is-default', values: ['true'] }] },
      signal,
      () => this.defaultVpcs.get(region),
    );
  }

  /** @internal */
  async describePrefixLists(
    region: string,
    ids: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<Map<string, PrefixListInfo>> {
    return this.call(region, 'DescribeManagedPrefixLists', { ids }, signal, () => {
      const found = new Map<string, PrefixListInfo>();
      for (const id of ids) {
        const info = this.prefixLists.get(id);
        if (info !== undefined && info.region === region) {
          found.set(id, { maxEntries: info.maxEntries, addressFamily: info.addressFamily });
        }
      }
      return found;
    });
  }

  // ---- internals ----

  private async call<T>(
    region: string,
    action: FakeAction,
    input: unknown,
    signal: AbortSignal | undefined,
    body: () => T,
  ): Promise<T> {
    const aborted = (): Ec2Error => new Ec2Error('AbortError', 'Request aborted', action);
    const isAborted = (): boolean => signal?.aborted === true;
    if (isAborted()) throw aborted();
    // Numbered by a counter, not by counting the log: the fake serves benchmarks of 50,000 groups.
    const number = (this.callNumbers.get(action) ?? 0) + 1;
    this.callNumbers.set(action, number);
    this.calls.push({ region, action, number, input });
    const inFlight = (this.inFlight.get(action) ?? 0) + 1;
    this.inFlight.set(action, inFlight);
    this.peak.set(action, Math.max(this.peak.get(action) ?? 0, inFlight));
    try {
      await delay(this.latencyMs);
      if (isAborted()) throw aborted();
      const fault = this.faults.find(
        (f) =>
          f.action === action &&
          (f.region === undefined || f.region === region) &&
          (f.call !== undefined ? f.call === number : f.fired < (f.times ?? 1)) &&
          (f.when === undefined || f.when(input)),
      );
      if (fault !== undefined) {
        fault.fired++;
        throw typeof fault.error === 'function' ? fault.error(input) : fault.error;
      }
      return body();
    } finally {
      this.inFlight.set(action, (this.inFlight.get(action) ?? 1) - 1);
    }
  }

  private store(rule: Rule, tags: Readonly<Record<string, string>>, hiddenReads: number): StoredRule {
    const ruleId = `sgr-${(this.nextRuleId++).toString(16).padStart(17, '0')}`;
    return { ruleId, rule: canonicalRule(rule), tags: { ...tags }, hiddenReads };
  }

  private groupsOf(region: string): StoredGroup[] {
    let groups = this.byRegion.get(region);
    if (groups === undefined) {
      groups = [...this.groups.values()]
        .filter((g) => g.region === region)
        .sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
      this.byRegion.set(region, groups);
    }
    return groups;
  }

  /** A write's permission check as EC2 makes it: UnauthorizedOperation, else DryRunOperation under DryRun. */
  private refuseOrDryRun(action: FakeAction, dryRun: boolean): void {
    if (this.denied.has(action)) {
      throw new Ec2Error(
        'UnauthorizedOperation',
        'You are not authorized to perform this operation.',
        action,
        403,
      );
    }
    if (dryRun) {
      throw new Ec2Error(
        'DryRunOperation',
        'Request would have succeeded, but DryRun flag is set.',
        action,
        412,
      );
    }
  }

  private mustGroup(groupId: string): StoredGroup {
    const group = this.groups.get(groupId);
    if (group === undefined) throw new Error(`fake-ec2: no group ${groupId} in the world`);
    return group;
  }

  private groupIn(region: string, groupId: string, action: string): StoredGroup {
    const group = this.groups.get(groupId);
    if (group === undefined || group.region !== region) {
      throw new Ec2Error(
        'InvalidGroup.NotFound',
        `The security group '${groupId}' does not exist`,
        action,
        400,
      );
    }
    return group;
  }

  private checkSource(region: string, group: StoredGroup, source: RuleSource): void {
    const action = 'AuthorizeSecurityGroupIngress';
    if (source.kind === 'securityGroup') {
      const crossAccount = source.userId !== undefined && source.userId !== group.ownerId;
      if (!crossAccount) this.groupIn(region, source.value, action);
    } else if (source.kind === 'prefixList') {
      const list = this.prefixLists.get(source.value);
      if (list === undefined || list.region !== region) {
        throw new Ec2Error(
          'InvalidPrefixListID.NotFound',
          `The prefix list ID '${source.value}' does not exist`,
          action,
          400,
        );
      }
    }
  }

  /** EC2's quota weight: a group reference counts in both families, a prefix list its max entries. */
  private weight(rule: Rule): { ipv4: number; ipv6: number } {
    switch (rule.source.kind) {
      case 'cidr':
        return { ipv4: 1, ipv6: 0 };
      case 'cidrIpv6':
        return { ipv4: 0, ipv6: 1 };
      case 'securityGroup':
        return { ipv4: 1, ipv6: 1 };
      case 'prefixList': {
        const list = this.prefixLists.get(rule.source.value);
        const n = list?.maxEntries ?? 1;
        if (list?.addressFamily === 'IPv6') return { ipv4: 0, ipv6: n };
        return { ipv4: n, ipv6: 0 };
      }
    }
  }

  private visibleRules(group: StoredGroup): StoredRule[] {
    const visible: StoredRule[] = [];
    for (const stored of group.rules) {
      if (stored.hiddenReads > 0) stored.hiddenReads--;
      else visible.push(stored);
    }
    return visible;
  }

  private liveGroup(group: StoredGroup): LiveGroup {
    return {
      groupId: group.groupId,
      groupName: group.groupName,
      vpcId: group.vpcId,
      ownerId: group.ownerId,
      tags: { ...group.tags },
      // DescribeSecurityGroups returns IpPermissions: descriptions, but no rule IDs.
      rules: this.visibleRules(group).map((s) => ({ ...s.rule })),
    };
  }

  private matchesFilter(
    group: StoredGroup,
    filter: { readonly name: string; readonly matchers: readonly ((value: string) => boolean)[] },
  ): boolean {
    const any = (value: string | undefined): boolean =>
      value !== undefined && filter.matchers.some((matches) => matches(value));
    if (filter.name === 'group-id') return any(group.groupId);
    if (filter.name === 'group-name') return any(group.groupName);
    if (filter.name === 'vpc-id') return any(group.vpcId);
    if (filter.name === 'owner-id') return any(group.ownerId);
    if (filter.name === 'tag-key') return Object.keys(group.tags).some((k) => any(k));
    if (filter.name.startsWith('tag:')) return any(group.tags[filter.name.slice(4)]);
    throw new Ec2Error(
      'InvalidParameterValue',
      `The filter '${filter.name}' is invalid`,
      'DescribeSecurityGroups',
      400,
    );
  }
}

/** The port over the fake: follows NextToken pages the way the SDK port does. */
/** Follows NextToken until the last page, as a consumer of EC2's paginated reads must. */
async function allPages<T>(
  fetch: (token: string | undefined) => Promise<{ items: readonly T[]; nextToken: string | undefined }>,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    items.push(...page.items);
    token = page.nextToken;
  } while (token !== undefined);
  return items;
}

class FakePort implements Ec2Port {
  constructor(
    private readonly world: FakeEc2,
    readonly region: string,
  ) {}

  describeSecurityGroups(filters: readonly Ec2Filter[], signal?: AbortSignal): Promise<LiveGroup[]> {
    return allPages(async (token) => {
      const page = await this.world.describeSecurityGroupsPage(this.region, filters, token, signal);
      return { items: page.groups, nextToken: page.nextToken };
    });
  }

  describeIngressRules(groupId: string, signal?: AbortSignal): Promise<LiveRule[]> {
    return allPages(async (token) => {
      const page = await this.world.describeRulesPage(this.region, groupId, token, signal);
      return { items: page.rules, nextToken: page.nextToken };
    });
  }

  authorizeIngress(request: AuthorizeRequest, signal?: AbortSignal): Promise<LiveRule[]> {
    return this.world.authorize(this.region, request, signal);
  }

  updateIngressDescriptions(request: DescriptionUpdateRequest, signal?: AbortSignal): Promise<void> {
    return this.world.updateDescriptions(this.region, request, signal);
  }

  describeDefaultVpcId(signal?: AbortSignal): Promise<string | undefined> {
    return this.world.defaultVpcId(this.region, signal);
  }

  describePrefixLists(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, PrefixListInfo>> {
    return this.world.describePrefixLists(this.region, ids, signal);
  }
}

export function fakeWorld(): FakeEc2 {
  return new FakeEc2();
}

/**
 * Ports over one fake world per account, as the SDK factory keys them by (account, region). A port
 * asked for an account without a world (or without an account) throws, as a client with the wrong
 * credentials would fail.
 */
export function accountPorts(worlds: Readonly<Record<string, FakeEc2>>): Ec2PortFactory {
  const factories = new Map(Object.entries(worlds).map(([account, world]) => [account, world.ports()]));
  return (region: string, account?: string) => {
    const factory = account === undefined ? undefined : factories.get(account);
    if (factory === undefined) throw new Error(`no fake EC2 for account ${String(account)}`);
    return factory(region);
  };
}

// ---- rule and policy builders ----

/** A source from its text: `sg-…` a group, `pl-…` a prefix list, anything else a network. */
export function source(text: string): RuleSource {
  if (text.startsWith('sg-')) return { kind: 'securityGroup', value: text };
  if (text.startsWith('pl-')) return { kind: 'prefixList', value: text };
  return canonicalCidr(text);
}

/** A canonical rule: `rule('tcp', 22, '10.0.0.0/8')`, `rule('tcp', [8000, 8080], 'sg-1', 'app')`. */
export function rule(
  protocol: string,
  ports: number | readonly [number, number] | undefined,
  from: string,
  description?: string,
): Rule {
  const [fromPort, toPort] =
    ports === undefined ? [-1, -1] : typeof ports === 'number' ? [ports, ports] : ports;
  return canonicalRule({
    protocol,
    fromPort,
    toPort,
    source: source(from),
    ...(description !== undefined ? { description } : {}),
  });
}

export function tcp(ports: number | readonly [number, number], from: string, description?: string): Rule {
  return rule('tcp', ports, from, description);
}

export type TargetShorthand =
  string | { readonly name: string } | { readonly tags: Record<string, string>; readonly vpcId?: string };

function selector(target: TargetShorthand): TargetSelector {
  if (typeof target === 'string') return { kind: 'groupId', groupId: target };
  if ('name' in target) return { kind: 'groupName', groupName: target.name };
  return { kind: 'tags', tags: target.tags, ...(target.vpcId !== undefined ? { vpcId: target.vpcId } : {}) };
}

export interface PolicySpec {
  readonly name: string;
  readonly region?: string;
  readonly regions?: readonly string[];
  /** `spec.accounts` selectors. */
  readonly accounts?: readonly AccountSelector[];
  /** `'sg-…'` = groupId, `{ name }` = groupName, `{ tags, vpcId? }` = tag selector. */
  readonly targets: readonly TargetShorthand[];
  /** Rules; a rule whose source value is `self` is a `securityGroup: self` rule. */
  readonly rules: readonly Rule[];
  readonly ruleTags?: Record<string, string>;
}

/** A normalised Policy as the loader would produce it. */
export function policy(spec: PolicySpec): Policy {
  const file = `policies/${spec.name}.yaml`;
  const position = { file, line: 1, column: 1 };
  const rules: PolicyRule[] = spec.rules.map((r, i) => ({
    rule: r,
    position: { file, line: 10 + i, column: 7 },
  }));
  return {
    name: spec.name,
    file,
    position,
    region: spec.region,
    ...(spec.regions !== undefined ? { regions: spec.regions } : {}),
    ...(spec.accounts !== undefined
      ? {
          accounts: spec.accounts.map((selector, i) => ({
            selector,
            position: { file, line: 3 + i, column: 7 },
          })),
        }
      : {}),
    targets: spec.targets.map((t, i) => ({
      selector: selector(t),
      position: { file, line: 5 + i, column: 7 },
    })),
    ruleTags: spec.ruleTags ?? {},
    rules,
  };
}

/** A rule whose source is the target group itself. */
export function selfRule(
  protocol: string,
  ports: number | readonly [number, number] | undefined,
  description?: string,
): Rule {
  const [fromPort, toPort] =
    ports === undefined ? [-1, -1] : typeof ports === 'number' ? [ports, ports] : ports;
  return canonicalRule({
    protocol,
    fromPort,
    toPort,
    source: { kind: 'securityGroup', value: SELF_GROUP },
    ...(description !== undefined ? { description } : {}),
  });
}
