// The units of a pass: policies x inventory -> (account, region) units, each with the policies that
// apply there, and this process's share of them (`--shard K/N`). Pure: no AWS, no file system, no
// logger; the stable hash is node:crypto's SHA-256.
import { createHash } from 'node:crypto';
import { selectAccounts, type AccountInventory } from './accounts.js';
import type { Policy } from './policy.js';
import { compareStrings as compare } from './compare.js';

/** How the pass reaches one account. */
export interface AccountRef {
  /** 12 digits. */
  readonly id: string;
  /** The inventory name, when there is one. */
  readonly name?: string;
  /** The role to assume; undefined = the tool's own credentials are used directly. */
  readonly roleArn: string | undefined;
  /** Passed to AssumeRole (the inventory's `externalId`). */
  readonly externalId?: string;
}

/** One (account, region) unit: reads, plan, pacing and writes of a pass happen per unit. */
export interface WorkUnit {
  readonly account: string;
  readonly region: string;
  /** The policies that apply in this account and region, in input order. */
  readonly policies: readonly Policy[];
}

/** This process's share: unit u is ours when shardOf(u) === index. */
export interface Shard {
  /** K: 0 <= index < count. */
  readonly index: number;
  /** N >= 1. */
  readonly count: number;
}

/** The account of the tool's own credentials (STS GetCallerIdentity). */
export interface OwnAccount {
  readonly account: string;
  /** `aws`, `aws-cn`, `aws-us-gov`, ...: the partition of the role ARNs built from `roleName`. */
  readonly partition: string;
}

export interface PlanUnitsInput {
  readonly policies: readonly Policy[];
  /** Without one, a policy with `spec.accounts` selects nothing (the CLI rejects that before, exit 3). */
  readonly inventory: AccountInventory | undefined;
  readonly own: OwnAccount;
  /** `--region` / AWS_REGION: the region of policies that name none. */
  readonly defaultRegion: string | undefined;
  readonly shard?: Shard;
}

export interface UnitPlan {
  /** This shard's units, sorted by account then region. */
  readonly units: readonly WorkUnit[];
  /** Every account some unit of this shard is in. */
  readonly accounts: ReadonlyMap<string, AccountRef>;
  /** Policies that name no region while no default region is set (sorted). */
  readonly noRegion: readonly string[];
  /** Units of every shard together (the whole pass's size, for reports). */
  readonly totalUnits: number;
}

/** The unit key hashed for shards and used in maps: `account/region`. */
export function unitKey(account: string, region: string): string {
  return `${account}/${region}`;
}

/**
 * The shard (0..count-1) of a unit: SHA-256 of `account/region`, its first 48 bits mod count. Stable
 * across processes, versions and machines, so N processes agree without talking to each other.
 */
export function shardOf(account: string, region: string, count: number): number {
  const digest = createHash('sha256').update(unitKey(account, region)).digest();
  return digest.readUIntBE(0, 6) % count;
}

/** `arn:<partition>:iam::<id>:role/<roleName>`. */
export function roleArnFor(partition: string, account: string, roleName: string): string {
  return `arn:${partition}:iam::${account}:role/${roleName}`;
}

/** The regions of a policy: `spec.regions`, else `spec.region`, else the default (none if unset). */
export function policyRegions(policy: Policy, defaultRegion: string | undefined): string[] {
  if (policy.regions !== undefined && policy.regions.length > 0) return [...new Set(policy.regions)];
  const region = policy.region ?? defaultRegion;
  return region === undefined || region === '' ? [] : [region];
}

/**
 * How each account is reached: the inventory's `roleArn` when it gives one; the own account with
 * the tool's credentials (no role); any other account by assuming the inventory's `roleName` in it
 * (with its `externalId`). Returns a function from a 12-digit account ID to its AccountRef.
 */
export function accountRefs(
  inventory: AccountInventory | undefined,
  own: OwnAccount,
): (id: string) => AccountRef {
  const byId = new Map((inventory?.accounts ?? []).map((a) => [a.id, a] as const));
  return (id) => {
    const entry = byId.get(id);
    const name = entry?.name !== undefined ? { name: entry.name } : {};
    const externalId = inventory?.externalId !== undefined ? { externalId: inventory.externalId } : {};
    if (entry?.roleArn !== undefined) return { id, ...name, roleArn: entry.roleArn, ...externalId };
    if (id === own.account || inventory === undefined) return { id, ...name, roleArn: undefined };
    return { id, ...name, roleArn: roleArnFor(own.partition, id, inventory.roleName), ...externalId };
  };
}

/**
 * Policies x inventory -> this shard's (account, region) units. A policy without `spec.accounts`
 * works in the own account; the own account is reached with the tool's credentials unless the
 * inventory gives it a `roleArn`; every other account by assuming the inventory's role in it.
 */
export function planUnits(input: PlanUnitsInput): UnitPlan {
  const { inventory, own } = input;
  const refFor = accountRefs(inventory, own);

  const noRegion: string[] = [];
  const byUnit = new Map<string, { account: string; region: string; policies: Policy[] }>();
  for (const policy of input.policies) {
    const regions = policyRegions(policy, input.defaultRegion);
    if (regions.length === 0) {
      noRegion.push(policy.name);
      continue;
    }
    const selectors = policy.accounts?.map((a) => a.selector) ?? [];
    const accounts =
      selectors.length === 0
        ? [own.account]
        : inventory === undefined
          ? []
          : selectAccounts(selectors, inventory).map((a) => a.id);
    for (const account of accounts) {
      for (const region of regions) {
        const key = unitKey(account, region);
        const unit = byUnit.get(key);
        if (unit === undefined) byUnit.set(key, { account, region, policies: [policy] });
        else unit.policies.push(policy);
      }
    }
  }

  const all = [...byUnit.values()].sort(
    (a, b) => compare(a.account, b.account) || compare(a.region, b.region),
  );
  const { shard } = input;
  const units =
    shard === undefined || shard.count <= 1
      ? all
      : all.filter((u) => shardOf(u.account, u.region, shard.count) === shard.index);
  const accounts = new Map<string, AccountRef>();
  for (const unit of units) if (!accounts.has(unit.account)) accounts.set(unit.account, refFor(unit.account));
  return { units, accounts, noRegion: noRegion.sort(compare), totalUnits: all.length };
}
