// The reads behind `sg-reconciler snapshot`: for every region the policies need, everything an
// offline plan of that region can ask for — every group of the region (not only the targeted ones,
// so a pull request that adds a target is still planned right), the default VPC that `groupName`
// targets resolve in, and the size of every prefix list the groups and the policies reference.
// Same port calls (and so the same pagination, retries and error mapping) as a plan's reads. Any
// failed read fails the whole snapshot: a partial one would answer "nothing there" for what it
// missed.
import type { AccountGateway, Ec2Port, Ec2PortFactory, LiveGroup, PrefixListInfo } from '../aws/port.js';
import {
  buildSnapshotDocument,
  type RegionSnapshotInput,
  type SnapshotDocument,
} from '../aws/snapshot-port.js';
import type { AccountInventory } from '../model/accounts.js';
import { entryDenies, type Guardrail } from '../model/guardrail.js';
import { ruleKey, type Rule } from '../model/rule.js';
import type { Policy } from '../model/policy.js';
import { planUnits, type Shard, type WorkUnit } from '../model/units.js';
import { errorInfo, mapBounded } from './support.js';
import { compareStrings as compare } from '../model/compare.js';

export interface SnapshotRequest {
  readonly policies: readonly Policy[];
  /** The region of policies that name none (--region); recorded in the document. */
  readonly defaultRegion: string | undefined;
  readonly ports: Ec2PortFactory;
  /** The credentials' own account (STS GetCallerIdentity) and AssumeRole into the others. */
  readonly accounts: AccountGateway;
  /** The account inventory, for policies with spec.accounts (none: the own account only). */
  readonly inventory?: AccountInventory;
  /**
   * The guardrails of the policy set. A group with a live rule one of them denies is read once more
   * (DescribeSecurityGroupRules) and its rule IDs recorded, so an offline plan names each violation's
   * rule as a live plan does (fillViolationRuleIds).
   */
  readonly guardrails?: readonly Guardrail[];
  /** This process's share of the (account, region) units, as for plan. */
  readonly shard?: Shard;
  /** Units read at once (default 4). */
  readonly concurrency?: number;
  /** ISO time recorded as `takenAt` (default now). */
  readonly takenAt?: string;
  readonly signal?: AbortSignal;
}

/** One read that failed (or an account that could not be reached); the snapshot is then not written. */
export interface SnapshotReadFailure {
  readonly account: string;
  readonly region: string;
  readonly action: string;
  readonly errorCode: string;
  readonly error: string;
}

export type SnapshotOutcome =
  | {
      readonly ok: true;
      readonly document: SnapshotDocument;
      readonly groups: number;
      /** `account/region` of every unit read, sorted. */
      readonly units: readonly string[];
    }
  | {
      readonly ok: false;
      readonly noRegion: readonly string[];
      readonly failures: readonly SnapshotReadFailure[];
    };

interface RegionRead {
  readonly account: string;
  readonly region: string;
  readonly groups: readonly LiveGroup[];
  readonly defaultVpcId: string | undefined;
  readonly prefixLists: ReadonlyMap<string, PrefixListInfo | undefined>;
  readonly ruleIds: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** Does any deny entry of any guardrail deny this rule (exceptions aside: they depend on the policy)? */
function deniedByAny(guardrails: readonly Guardrail[], rule: Rule): boolean {
  return guardrails.some((guardrail) => guardrail.deny.some((entry) => entryDenies(entry, rule)));
}

/**
 * The SecurityGroupRuleIds (by rule key) of every group with a rule a guardrail denies: the one
 * extra read a live plan makes for its violations (DescribeSecurityGroupRules, per such group).
 */
async function violationRuleIds(
  port: Ec2Port,
  groups: readonly LiveGroup[],
  guardrails: readonly Guardrail[],
  signal: AbortSignal | undefined,
): Promise<Map<string, ReadonlyMap<string, string>>> {
  const ids = new Map<string, ReadonlyMap<string, string>>();
  if (guardrails.length === 0) return ids;
  for (const group of groups) {
    if (!group.rules.some((rule) => deniedByAny(guardrails, rule))) continue;
    const rules = await port.describeIngressRules(group.groupId, signal);
    const byKey = new Map<string, string>();
    for (const rule of rules) if (rule.ruleId !== undefined) byKey.set(ruleKey(rule), rule.ruleId);
    ids.set(group.groupId, byKey);
  }
  return ids;
}

/**
 * Reads what every policy needs, unit by unit ((account, region), planned exactly as a pass plans
 * them), and builds the snapshot document. The credentials' account comes from the gateway (STS
 * GetCallerIdentity); another account is reached the way a pass reaches it.
 */
export async function takeSnapshot(request: SnapshotRequest): Promise<SnapshotOutcome> {
  const failures: SnapshotReadFailure[] = [];
  let own;
  try {
    own = await request.accounts.ownAccount(request.signal);
  } catch (error) {
    const info = errorInfo(error);
    failures.push({ account: 'own', region: '-', action: 'GetCallerIdentity', ...pick(info) });
    return { ok: false, noRegion: [], failures };
  }
  const plan = planUnits({
    policies: request.policies,
    inventory: request.inventory,
    own,
    defaultRegion: request.defaultRegion,
    ...(request.shard !== undefined ? { shard: request.shard } : {}),
  });
  if (plan.noRegion.length > 0) return { ok: false, noRegion: plan.noRegion, failures: [] };

  const reached = new Map<string, Promise<void>>();
  const reads = await mapBounded(plan.units, request.concurrency ?? 4, async (unit: WorkUnit) => {
    const { account, region } = unit;
    let action = 'AssumeRole';
    try {
      const ref = plan.accounts.get(account) ?? { id: account, roleArn: undefined };
      let reach = reached.get(account);
      if (reach === undefined) {
        reach = request.accounts.reach(ref, request.signal);
        reached.set(account, reach);
      }
      await reach;
      action = 'DescribeSecurityGroups';
      const port = request.ports(region, account);
      const groups = await port.describeSecurityGroups([], request.signal);
      action = 'DescribeVpcs';
      const defaultVpcId = await port.describeDefaultVpcId(request.signal);
      const ids = new Set<string>();
      for (const group of groups) {
        for (const rule of group.rules) {
          if (rule.source.kind === 'prefixList') ids.add(rule.source.value.toLowerCase());
        }
      }
      for (const policy of unit.policies) {
        for (const { rule } of policy.rules) {
          if (rule.source.kind === 'prefixList') ids.add(rule.source.value.toLowerCase());
        }
      }
      const prefixLists = new Map<string, PrefixListInfo | undefined>();
      if (ids.size > 0) {
        action = 'DescribeManagedPrefixLists';
        const sizes = await port.describePrefixLists([...ids].sort(compare), request.signal);
        // A list EC2 does not return does not exist: recorded as such (null), not as "not read".
        for (const id of ids) prefixLists.set(id, sizes.get(id));
      }
      action = 'DescribeSecurityGroupRules';
      const ruleIds = await violationRuleIds(port, groups, request.guardrails ?? [], request.signal);
      const read: RegionRead = { account, region, groups, defaultVpcId, prefixLists, ruleIds };
      return read;
    } catch (error) {
      failures.push({ account, region, action, ...pick(errorInfo(error)) });
      return undefined;
    }
  });
  if (failures.length > 0) {
    const sorted = failures.sort((a, b) => compare(a.account, b.account) || compare(a.region, b.region));
    return { ok: false, noRegion: [], failures: sorted };
  }

  const done = reads.filter((read): read is RegionRead => read !== undefined);
  const units: RegionSnapshotInput[] = done;
  return {
    ok: true,
    document: buildSnapshotDocument({
      takenAt: request.takenAt ?? new Date().toISOString(),
      credentialsAccount: own.account,
      defaultRegion: request.defaultRegion,
      regions: units,
    }),
    groups: done.reduce((n, read) => n + read.groups.length, 0),
    units: done.map((read) => `${read.account}/${read.region}`),
  };
}

function pick(info: { errorCode: string; error: string }): { errorCode: string; error: string } {
  return { errorCode: info.errorCode, error: info.error };
}
