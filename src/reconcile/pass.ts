// One reconcile pass, as a straight line: plan the (account, region) units -> reach each account ->
// read each unit -> plan (pure) -> execute (apply / dry-run) -> result. Every event goes through the
// pass's reporter (reporter.ts) as the work happens; the pass itself decides only what ran and how
// it ended. It never throws to its caller.
import { randomUUID } from 'node:crypto';
import { staticAccountGateway, type AccountGateway, type Ec2Port, type Ec2PortFactory } from '../aws/port.js';
import { reportPolicyErrors, type Logger } from '../logging.js';
import { accountSelectorErrors, type AccountInventory } from '../model/accounts.js';
import { compareStrings } from '../model/compare.js';
import { denialOf, utcDate, type Guardrail } from '../model/guardrail.js';
import type { Policy } from '../model/policy.js';
import { describeTarget } from '../model/policy.js';
import { ruleKey } from '../model/rule.js';
import { planUnits, unitKey, type OwnAccount, type Shard, type UnitPlan } from '../model/units.js';
import { updateDescriptions } from './descriptions.js';
import { DEFAULT_PROGRESS_INTERVAL_MS, trackProgress, type PassProgress } from './progress.js';
import { executePlan } from './execute.js';
import { createPlanner, type GuardrailInput, type PlannedUnit, type Planner } from './plan.js';
import { readRegion } from './read.js';
import type { ReportMemory } from './report-memory.js';
import { createPassReporter, type PassFailure, type PassObserver, type PassReporter } from './reporter.js';
import { errorInfo, mapBounded } from './support.js';
import { fillViolationRuleIds } from './violations.js';
import {
  INVALID_ACCOUNT_SELECTORS,
  type AccountFailure,
  type DescriptionOutcome,
  type GroupPlan,
  type PassCounts,
  type PassMode,
  type PassResult,
  type Plan,
  type RegionRead,
  type RuleOutcome,
  type SkippedPolicy,
  type UnsettledRule,
} from './types.js';
import { counted } from '../text.js';

/** `--concurrency`: (account, region) units worked on at once. */
export const DEFAULT_UNIT_CONCURRENCY = 8;
/**
 * The account events carry when the pass was given no gateway (unit tests, callers that never ask
 * STS); the CLI always passes one.
 */
export const LOCAL_ACCOUNT = '000000000000';

export interface PassDeps {
  /** EC2 ports per (account, region). */
  readonly ports: Ec2PortFactory;
  /** The own account and AssumeRole per account; default: LOCAL_ACCOUNT, reached without a call. */
  readonly accounts?: AccountGateway;
  readonly logger: Logger;
  /** Milliseconds clock (default Date.now). */
  readonly now?: () => number;
  readonly newRunId?: () => string;
  /** Hears every rule outcome and plan as it is reported (the daemon's metrics). */
  readonly observer?: PassObserver;
  /**
   * The daemon's memory of what it reported: drift, description drift, guardrail violations,
   * unresolved targets and account-selector errors are reported at their level only when they
   * appeared or changed since the daemon's last pass, else as debug lines. Without one (plan,
   * apply), everything is reported.
   */
  readonly reportMemory?: ReportMemory;
  /** Milliseconds between reconcile.progress events of a running pass (default 10 s; 0: none). */
  readonly progressIntervalMs?: number;
  /** Wall clock for guardrail exception expiry (default: the system clock). */
  readonly clock?: () => Date;
  /**
   * Where the inventory comes from when the request carries none (`--accounts organizations`:
   * discovered, cached by the caller); rejects with Ec2Error. Undefined = no inventory.
   */
  readonly inventory?: InventorySource;
}

/** The inventory for a policy set (the policies say which account fields must be read). */
export type InventorySource = (
  policies: readonly Policy[],
  signal?: AbortSignal,
) => Promise<AccountInventory | undefined>;

export interface PassRequest {
  readonly mode: PassMode;
  readonly policies: readonly Policy[];
  /** How many policy files the policies came from (reported on reconcile.started). */
  readonly policyFiles?: number;
  /** sha256 of the policy set loaded (loadPolicySet's digest), reported on reconcile.started. */
  readonly policySetDigest?: string;
  /** The ConfigMap / git-sync version directory the set came from, reported on reconcile.started. */
  readonly policyVersion?: string | undefined;
  readonly defaultRegion: string | undefined;
  readonly maxRulesPerGroup: number;
  /** Guardrails checked again before any write, and against every live rule read. */
  readonly guardrails?: readonly Guardrail[];
  /**
   * `--update-descriptions`: apply (and dry-run) set the policy's description on declared rules whose
   * live description differs; plan reports those as changes. Default: description drift is reported only.
   */
  readonly updateDescriptions?: boolean;
  /** Within one unit: reads and groups written at once (default 4). */
  readonly concurrency?: number;
  /** (account, region) units worked on at once (`--concurrency`, default 8). */
  readonly unitConcurrency?: number;
  /** The accounts policies may select (`--accounts`); without one, only the own account. */
  readonly inventory?: AccountInventory;
  /** This process's share of the units (`--shard K/N`). */
  readonly shard?: Shard;
  /** Aborting stops new calls and fails the pass with `classifyAbort(signal.reason)`. */
  readonly signal?: AbortSignal;
  /**
   * What an abort means, decided by whoever aborts (the daemon owns its pass timeout). Default: a
   * standard `TimeoutError` reason (AbortSignal.timeout) is `PassTimeout`, anything else `Aborted`.
   */
  readonly classifyAbort?: (reason: unknown) => PassFailure;
  /** Rules an earlier pass sent without learning the outcome: reported as authorized when found present. */
  readonly unsettled?: readonly UnsettledRule[];
}

/** A function, not an inline check: TypeScript would narrow `signal.aborted` across awaits. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** The default abort classification (see PassRequest.classifyAbort). */
export function defaultAbortFailure(reason: unknown): PassFailure {
  const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
  return timedOut
    ? { errorCode: 'PassTimeout', error: 'the pass did not finish within its time limit and was stopped' }
    : { errorCode: 'Aborted', error: 'the pass was aborted before it finished' };
}

/** A region whose port could not even be created: every target of it is a failed read. */
function unreadableRegion(region: string, policies: readonly Policy[], error: unknown): RegionRead {
  const targets = new Set(policies.flatMap((p) => p.targets.map((t) => describeTarget(t.selector))));
  return {
    region,
    groups: new Map(),
    unresolved: [],
    readFailures: [
      {
        region,
        action: 'CreateClient',
        ...errorInfo(error),
        policies: policies.map((p) => p.name).sort(compareStrings),
        targets: [...targets].sort(compareStrings),
      },
    ],
    prefixLists: new Map(),
    prefixListFailure: undefined,
    readsSucceeded: 0,
  };
}

/** The guardrails bound to the day (by the pass's clock) their exceptions are judged on. */
function guardrailInput(guardrails: readonly Guardrail[], clock: (() => Date) | undefined): GuardrailInput {
  const today = utcDate((clock ?? (() => new Date()))());
  return {
    names: guardrails.map((g) => g.name),
    judge: (rule, policies) => denialOf(guardrails, rule, policies, today),
  };
}

/** The description counts of reconcile.completed; none unless the plan updates descriptions. */
function countDescriptions(
  plan: Plan,
  mode: PassMode,
  outcomes: readonly DescriptionOutcome[],
): Partial<PassCounts> {
  if (plan.updateDescriptions !== true) return {};
  const count = (predicate: (o: DescriptionOutcome) => boolean): number => outcomes.filter(predicate).length;
  return {
    descriptionUpdates: plan.groups.reduce((n, g) => n + g.descriptionDrift.length, 0),
    ...(mode === 'apply' ? { descriptionsUpdated: count((o) => o.status === 'updated') } : {}),
    ...(mode !== 'plan'
      ? {
          // Dry-run: a denied update is one the real apply would fail on.
          descriptionsFailed: count((o) => o.status === 'failed' || (o.status === 'dry-run' && !o.permitted)),
        }
      : {}),
  };
}

/** The counts of reconcile.completed, from the plan and every outcome. */
export function countOutcomes(
  plan: Plan,
  mode: PassMode,
  outcomes: readonly RuleOutcome[],
  guarded = false,
  descriptionOutcomes: readonly DescriptionOutcome[] = [],
): PassCounts {
  const count = (predicate: (o: RuleOutcome) => boolean): number => outcomes.filter(predicate).length;
  const denied = count((o) => o.status === 'dry-run' && !o.permitted);
  const unknown = count((o) => o.status === 'outcome-unknown');
  return {
    groups: plan.groups.length,
    desired: plan.groups.reduce((n, g) => n + g.desiredCount, 0),
    missing: plan.groups.reduce((n, g) => n + g.missing.length, 0),
    authorized: count((o) => o.status === 'authorized'),
    // Dry-run: a denied rule is one the real apply would fail on, so it counts as failed.
    failed: count((o) => o.status === 'failed') + denied,
    drift: plan.groups.reduce((n, g) => n + g.drift.length, 0),
    descriptionDrift: plan.groups.reduce((n, g) => n + g.descriptionDrift.length, 0),
    unresolved: plan.unresolved.length,
    readFailures: plan.readFailures.length,
    ...(plan.skippedPolicies !== undefined && plan.skippedPolicies.length > 0
      ? { policiesSkipped: plan.skippedPolicies.length }
      : {}),
    accountsFailed: plan.accountFailures?.length ?? 0,
    alreadyPresent: count((o) => o.status === 'already-present'),
    ...(unknown > 0 ? { outcomeUnknown: unknown } : {}),
    ...(guarded
      ? {
          blocked: plan.groups.reduce((n, g) => n + g.blocked.length, 0),
          violations: plan.groups.reduce((n, g) => n + g.violations.length, 0),
        }
      : {}),
    ...(mode === 'dry-run' ? { permitted: count((o) => o.status === 'dry-run' && o.permitted), denied } : {}),
    ...countDescriptions(plan, mode, descriptionOutcomes),
  };
}

/**
 * Reaches each account once per pass (AssumeRole at most once, cached across passes by the
 * gateway); an account that cannot be reached gets one account.failed and its units are skipped.
 */
function accountReacher(
  gateway: AccountGateway,
  units: UnitPlan,
  reporter: PassReporter,
  signal: AbortSignal | undefined,
  progress: PassProgress,
): { reach: (account: string) => Promise<boolean>; failures: Map<string, AccountFailure> } {
  const failures = new Map<string, AccountFailure>();
  const reached = new Map<string, Promise<boolean>>();
  const attempt = (account: string): Promise<boolean> => {
    const ref = units.accounts.get(account) ?? { id: account, roleArn: undefined };
    const settled = gateway.reach(ref, signal).finally(() => progress.accountDone());
    return settled.then(
      () => true,
      (error: unknown) => {
        if (aborted(signal)) return false;
        const { errorCode, error: message } = errorInfo(error);
        const regions = units.units.filter((u) => u.account === account).map((u) => u.region);
        const failure: AccountFailure = {
          account,
          errorCode,
          error: message,
          ...(ref.roleArn !== undefined ? { roleArn: ref.roleArn } : {}),
          regions,
        };
        failures.set(account, failure);
        reporter.accountFailed(failure);
        return false;
      },
    );
  };
  const reach = (account: string): Promise<boolean> => {
    const pending = reached.get(account) ?? attempt(account);
    reached.set(account, pending);
    return pending;
  };
  return { reach, failures };
}

/**
 * One unit as the pass keeps it once read: its share of the plan, whether any read succeeded, and
 * the rules of earlier passes found present in it. Its live groups are gone.
 */
interface UnitDone {
  readonly planned: PlannedUnit;
  readonly readsSucceeded: number;
  readonly unsettled: readonly PresentUnsettled[];
  /** Security groups the unit's reads returned (reconcile.progress). */
  readonly groupsRead: number;
}

/**
 * Reads one unit. Only a port that cannot be created is turned into the unit's read failure here:
 * readRegion reports every failed EC2 call itself, so anything else it throws is a bug and fails
 * the pass as InternalError (never a read failure that looks like EC2's).
 */
async function readUnit(
  deps: PassDeps,
  request: PassRequest,
  unit: UnitPlan['units'][number],
): Promise<RegionRead> {
  let port: Ec2Port;
  try {
    port = deps.ports(unit.region, unit.account);
  } catch (error) {
    return unreadableRegion(unit.region, unit.policies, error);
  }
  const { signal } = request;
  return readRegion({
    region: unit.region,
    policies: unit.policies,
    port,
    ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
    ...(signal !== undefined ? { signal } : {}),
  });
}

/** Reads one unit and plans it at once (the read is dropped when this returns). */
async function readAndPlan(
  deps: PassDeps,
  request: PassRequest,
  unit: UnitPlan['units'][number],
  planner: Planner,
  unsettled: UnsettledIndex | undefined,
): Promise<UnitDone> {
  const read = await readUnit(deps, request, unit);
  const planned = planner.unit({ account: unit.account, region: unit.region, policies: unit.policies, read });
  return {
    planned,
    readsSucceeded: read.readsSucceeded,
    groupsRead: read.groups.size,
    unsettled: unsettled === undefined ? [] : presentUnsettled(unsettled, unit.account, read, planned),
  };
}

/**
 * Reads and plans every unit, up to --concurrency at once. Each unit is planned as soon as it is
 * read, while other units wait on EC2, so planning adds no tail after the last read and the pass
 * never holds every unit's live rules at once.
 */
async function readUnits(
  deps: PassDeps,
  request: PassRequest,
  units: UnitPlan,
  reach: (account: string) => Promise<boolean>,
  planner: Planner,
  progress: PassProgress,
): Promise<UnitDone[]> {
  const { signal } = request;
  const concurrency = request.unitConcurrency ?? DEFAULT_UNIT_CONCURRENCY;
  // Accounts are reached ahead of their units' reads, up to --concurrency AssumeRole calls at once
  // (units come sorted by account): a unit then waits for its own reads only, not for an AssumeRole
  // first, and wall time stays units / --concurrency x one read. reach() is shared per account,
  // so this is still one AssumeRole per account.
  const reachAhead = mapBounded([...units.accounts.keys()], concurrency, (account) =>
    aborted(signal) ? Promise.resolve(false) : reach(account),
  );
  const unsettled = unsettledIndex(request.unsettled);
  const readAll = mapBounded(units.units, concurrency, async (unit) => {
    if (aborted(signal) || !(await reach(unit.account))) return undefined;
    const done = await readAndPlan(deps, request, unit, planner, unsettled);
    progress.unitDone(done.groupsRead);
    return done;
  });
  const [done] = await Promise.all([readAll, reachAhead]);
  return done.filter((unit) => unit !== undefined);
}

const groupKey = (account: string, region: string, groupId: string): string =>
  `${account}|${region}|${groupId}`;

/** Rule IDs by identity in one group (DescribeSecurityGroupRules); empty when the read fails. */
async function ruleIdsOf(
  deps: PassDeps,
  group: GroupPlan,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  try {
    const port = deps.ports(group.region, group.account);
    const rules = await port.describeIngressRules(group.group.groupId, signal);
    return new Map(rules.flatMap((r) => (r.ruleId !== undefined ? [[ruleKey(r), r.ruleId] as const] : [])));
  } catch {
    return new Map();
  }
}

/** An earlier pass's unsettled rule found present in a group of this pass. */
interface PresentUnsettled {
  readonly group: GroupPlan;
  readonly entry: UnsettledRule;
}

/** Unsettled rules by the key of their group (groupKey). */
type UnsettledIndex = ReadonlyMap<string, readonly UnsettledRule[]>;

function unsettledIndex(unsettled: readonly UnsettledRule[] | undefined): UnsettledIndex | undefined {
  // Most passes have nothing unsettled: nothing to look for in any group read.
  if (unsettled === undefined || unsettled.length === 0) return undefined;
  const index = new Map<string, UnsettledRule[]>();
  for (const entry of unsettled) {
    const { account, region, groupId } = entry.desired;
    const key = groupKey(account, region, groupId);
    index.set(key, [...(index.get(key) ?? []), entry]);
  }
  return index;
}

/**
 * The unsettled rules present in the live groups of one unit just read (the plan keeps no live
 * rules, so this is decided while the unit's read is still in hand), each with its planned group.
 */
function presentUnsettled(
  unsettled: UnsettledIndex,
  account: string,
  read: RegionRead,
  planned: PlannedUnit,
): PresentUnsettled[] {
  const present: PresentUnsettled[] = [];
  for (const group of planned.groups) {
    const entries = unsettled.get(groupKey(account, group.region, group.group.groupId));
    const live = entries === undefined ? undefined : read.groups.get(group.group.groupId)?.group.rules;
    if (entries === undefined || live === undefined) continue;
    const keys = new Set(live.map((r) => ruleKey(r)));
    for (const entry of entries) if (keys.has(ruleKey(entry.desired.rule))) present.push({ group, entry });
  }
  return present;
}

/**
 * Rules an earlier pass could not settle, found present in a group this pass read: reported as
 * authorized with recoveredAfter (they were created by that earlier write). DescribeSecurityGroups
 * returns no rule IDs, so each such group costs one DescribeSecurityGroupRules (a rare path).
 */
async function settleEarlierWrites(
  deps: PassDeps,
  request: PassRequest,
  found: readonly PresentUnsettled[],
  reporter: PassReporter,
): Promise<RuleOutcome[]> {
  // In the order the earlier pass left them, whatever order the units were read in.
  const order = new Map((request.unsettled ?? []).map((entry, index) => [entry, index] as const));
  const sorted = [...found].sort((a, b) => (order.get(a.entry) ?? 0) - (order.get(b.entry) ?? 0));
  const present = new Map<GroupPlan, UnsettledRule[]>();
  for (const { group, entry } of sorted) present.set(group, [...(present.get(group) ?? []), entry]);
  const settled: RuleOutcome[] = [];
  for (const [group, entries] of present) {
    const ids = await ruleIdsOf(deps, group, request.signal);
    for (const { desired, errorCode } of entries) {
      const ruleId = ids.get(ruleKey(desired.rule));
      const outcome: RuleOutcome = {
        status: 'authorized',
        desired,
        ruleId,
        ruleIdPending: ruleId === undefined,
        recoveredAfter: errorCode,
      };
      reporter.outcome(outcome, group);
      settled.push(outcome);
    }
  }
  return settled;
}

/**
 * Apply / dry-run: units write in parallel up to --concurrency; within a unit, groups up to
 * `concurrency`, paced by the unit's own token bucket (EC2 meters writes per account and region).
 */
async function execute(
  deps: PassDeps,
  request: PassRequest,
  plan: Plan,
  reporter: PassReporter,
  progress: PassProgress,
): Promise<RuleOutcome[]> {
  const { mode } = request;
  if (mode === 'plan') return [];
  const groups = new Map(
    plan.groups.map((g) => [groupKey(g.account, g.region, g.group.groupId), g] as const),
  );
  const units = groupsByUnit(plan, (g) => g.missing.length > 0);
  return writePhase(request, progress, 'writing', units, (unitGroups, limits) =>
    executePlan({
      mode,
      groups: unitGroups,
      portFor: deps.ports,
      ...limits,
      onRequested: (batch) => reporter.requested(batch),
      onOutcome: (outcome) => {
        const { account, region, groupId } = outcome.desired;
        reporter.outcome(outcome, groups.get(groupKey(account, region, groupId)));
      },
    }),
  );
}

/** Within-unit concurrency and the pass's signal, as the unit writers take them. */
type UnitLimits = { concurrency?: number; signal?: AbortSignal };

/**
 * One write phase of the pass (reconcile.progress `phase`): `work` per unit's groups, units in
 * parallel up to --concurrency, each unit counted done when its work settles.
 */
async function writePhase<T>(
  request: PassRequest,
  progress: PassProgress,
  phase: 'writing' | 'updating-descriptions',
  units: readonly GroupPlan[][],
  work: (groups: GroupPlan[], limits: UnitLimits) => Promise<T[]>,
): Promise<T[]> {
  progress.phase(phase, units.length);
  const limits: UnitLimits = {
    ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
    ...(request.signal !== undefined ? { signal: request.signal } : {}),
  };
  const perUnit = await mapBounded(units, request.unitConcurrency ?? DEFAULT_UNIT_CONCURRENCY, (groups) =>
    work(groups, limits).finally(() => progress.unitDone()),
  );
  return perUnit.flat();
}

/** The groups of the plan that `wanted` picks, one list per (account, region) unit. */
function groupsByUnit(plan: Plan, wanted: (group: GroupPlan) => boolean): GroupPlan[][] {
  const byUnit = new Map<string, GroupPlan[]>();
  for (const group of plan.groups) {
    if (!wanted(group)) continue;
    const key = unitKey(group.account, group.region);
    byUnit.set(key, [...(byUnit.get(key) ?? []), group]);
  }
  return [...byUnit.values()];
}

/**
 * `--update-descriptions`, apply and dry-run: after the unit's authorizations, one
 * UpdateSecurityGroupRuleDescriptionsIngress per group with description drift (descriptions.ts);
 * units in parallel up to --concurrency, each paced by its own write bucket.
 */
async function updateDescriptionsOf(
  deps: PassDeps,
  request: PassRequest,
  plan: Plan,
  reporter: PassReporter,
  progress: PassProgress,
): Promise<DescriptionOutcome[]> {
  const { mode } = request;
  if (mode === 'plan' || plan.updateDescriptions !== true) return [];
  const units = groupsByUnit(plan, (g) => g.descriptionDrift.length > 0);
  return writePhase(request, progress, 'updating-descriptions', units, (unitGroups, limits) =>
    updateDescriptions({
      mode,
      groups: unitGroups,
      portFor: deps.ports,
      ...limits,
      onOutcome: (outcome) => reporter.descriptionOutcome(outcome),
    }),
  );
}

/** The units of the pass, or the failure that stops it before any read (no own account, no region). */
async function unitsOf(
  request: PassRequest,
  inventory: AccountInventory | undefined,
  gateway: AccountGateway,
): Promise<UnitPlan | PassFailure> {
  let own: OwnAccount;
  try {
    own = await gateway.ownAccount(request.signal);
  } catch (error) {
    // Without its own account the pass cannot tell where a policy without spec.accounts applies.
    const info = errorInfo(error);
    return { errorCode: info.errorCode, error: `cannot identify the credentials' account: ${info.error}` };
  }
  const units = planUnits({
    policies: request.policies,
    inventory,
    own,
    defaultRegion: request.defaultRegion,
    ...(request.shard !== undefined ? { shard: request.shard } : {}),
  });
  return units;
}

/**
 * The policies planUnits found without a region (none of their own, no default), located where
 * `spec.region` goes; each is skipped, and the other policies are reconciled (SPEC "Options").
 */
function skippedForNoRegion(policies: readonly Policy[], names: readonly string[]): SkippedPolicy[] {
  const byName = new Map(policies.map((p) => [p.name, p] as const));
  return names.flatMap((name) => {
    const policy = byName.get(name);
    if (policy === undefined) return [];
    const at = policy.regionPosition ?? policy.position;
    return [
      {
        policy: name,
        reason: 'no-region' as const,
        file: at.file,
        line: at.line,
        column: at.column,
        path: 'spec.region',
        error:
          `policy ${name} names no region and no default region is set: write spec.region ` +
          '(e.g. `region: us-east-1`) in the policy, pass --region, or set AWS_REGION or AWS_DEFAULT_REGION',
      },
    ];
  });
}

/**
 * The account inventory of the pass (the request's, or discovered through deps.inventory), its
 * account selectors checked against it; a failure to read it, or selectors it cannot serve (a
 * configuration error, exit 3, reported as policy errors), is the pass's failure.
 */
async function inventoryOf(
  deps: PassDeps,
  request: PassRequest,
  runId: string,
): Promise<{ readonly inventory: PassRequest['inventory'] } | PassFailure> {
  let inventory = request.inventory;
  if (inventory === undefined && deps.inventory !== undefined) {
    try {
      inventory = await deps.inventory(request.policies, request.signal);
    } catch (error) {
      if (aborted(request.signal))
        return (request.classifyAbort ?? defaultAbortFailure)(request.signal?.reason);
      const info = errorInfo(error);
      return { errorCode: info.errorCode, error: `cannot read the account inventory: ${info.error}` };
    }
  }
  const selectorErrors = accountSelectorErrors(request.policies, inventory);
  // The daemon remembers the check's errors (none: forgotten), so the same ones are not news again.
  const changes = deps.reportMemory?.policyErrors('selectors', selectorErrors);
  if (selectorErrors.length === 0) return { inventory };
  // A configuration error (exit 3), not a runtime one: nothing is read or written.
  reportPolicyErrors(deps.logger.child({ runId }), selectorErrors, changes);
  return {
    errorCode: INVALID_ACCOUNT_SELECTORS,
    error: `${counted(selectorErrors.length, 'account selector')} cannot be used: ${selectorErrors[0]?.message ?? ''}`,
    policyErrors: selectorErrors,
    ...(changes !== undefined ? { errorsUnchanged: changes.filter((c) => c === 'unchanged').length } : {}),
  };
}

/** The pass's planner: the request's rule quota, guardrails (bound to today) and description mode. */
function plannerFor(deps: PassDeps, request: PassRequest): Planner {
  const guardrails = request.guardrails ?? [];
  return createPlanner({
    maxRulesPerGroup: request.maxRulesPerGroup,
    ...(guardrails.length > 0 ? { guardrails: guardrailInput(guardrails, deps.clock) } : {}),
    ...(request.updateDescriptions === true ? { updateDescriptions: true } : {}),
  });
}

/** The pass's plan: every planned unit assembled, violations' rule IDs filled, account failures attached. */
async function planPass(
  deps: PassDeps,
  request: PassRequest,
  planned: Plan,
  failures: ReadonlyMap<string, AccountFailure>,
  skipped: NonNullable<Plan['skippedPolicies']>,
): Promise<Plan> {
  return {
    ...(await fillViolationRuleIds(planned, deps.ports, {
      ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
      ...(request.signal !== undefined ? { signal: request.signal } : {}),
    })),
    ...(failures.size > 0
      ? { accountFailures: [...failures.values()].sort((a, b) => compareStrings(a.account, b.account)) }
      : {}),
    ...(skipped.length > 0 ? { skippedPolicies: skipped } : {}),
  };
}

/** No policy can run at all (none names a region): the pass did not run, rather than "ran and found nothing". */
function noRegion(policies: readonly string[]): PassFailure {
  return {
    errorCode: 'NoRegion',
    error:
      `${policies.length === 1 ? 'policy' : 'policies'} ${policies.join(', ')} ${policies.length === 1 ? 'names' : 'name'} ` +
      'no region: set spec.region in the policy, pass --region, or set AWS_REGION or AWS_DEFAULT_REGION ' +
      '(or a region in the shared config profile)',
  };
}

/**
 * The pass's failure when nothing could be read at all (every read failed, no account failed): the
 * pass did not run, rather than "ran and found nothing".
 */
function nothingRead(
  plan: Plan,
  done: readonly UnitDone[],
  failures: ReadonlyMap<string, AccountFailure>,
): PassFailure | undefined {
  const [first] = plan.readFailures;
  if (first === undefined || failures.size > 0 || done.some((unit) => unit.readsSucceeded > 0))
    return undefined;
  return { errorCode: first.errorCode, error: first.error };
}

/** What the body of one pass shares: its wiring, reporter, progress and how it fails. */
interface PassScope {
  readonly deps: PassDeps;
  readonly request: PassRequest;
  readonly runId: string;
  readonly reporter: PassReporter;
  readonly progress: PassProgress;
  readonly durationMs: () => number;
  readonly fail: (failure: PassFailure) => PassResult;
  readonly abortFailure: () => PassFailure;
}

/** The reconcile.started fields of a request. */
function startedFields(request: PassRequest): Parameters<PassReporter['started']>[0] {
  return {
    policies: request.policies.length,
    ...(request.policyFiles !== undefined ? { policyFiles: request.policyFiles } : {}),
    ...(request.policySetDigest !== undefined ? { policySetDigest: request.policySetDigest } : {}),
    ...(request.policyVersion !== undefined ? { policyVersion: request.policyVersion } : {}),
  };
}

/** Run one reconcile pass. Resolves with its result; every failure becomes an event and a result. */
export async function reconcilePass(deps: PassDeps, request: PassRequest): Promise<PassResult> {
  const now = deps.now ?? Date.now;
  const runId = (deps.newRunId ?? randomUUID)();
  const reporter = createPassReporter(
    deps.logger.child({ runId }),
    request.mode,
    deps.observer,
    deps.reportMemory,
  );
  const { mode, signal } = request;
  const startedAt = now();
  const durationMs = (): number => Math.max(0, now() - startedAt);
  const progress = trackProgress({
    intervalMs: deps.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS,
    elapsedMs: durationMs,
    emit: (fields) => reporter.progress(fields),
    signal,
  });
  const fail = (failure: PassFailure): PassResult => {
    progress.stop();
    const duration = durationMs();
    reporter.failed(failure, duration);
    return { status: 'failed', runId, mode, durationMs: duration, ...failure };
  };
  const abortFailure = (): PassFailure => (request.classifyAbort ?? defaultAbortFailure)(signal?.reason);

  reporter.started(startedFields(request));
  try {
    return await runPassBody({ deps, request, runId, reporter, progress, durationMs, fail, abortFailure });
  } catch (error) {
    if (aborted(signal)) return fail(abortFailure());
    return fail({ errorCode: 'InternalError', error: errorInfo(error).error });
  } finally {
    progress.stop();
  }
}

/** The pass from the inventory to reconcile.completed; a failure on the way is `fail`'s result. */
async function runPassBody(scope: PassScope): Promise<PassResult> {
  const { deps, request, runId, reporter, progress, fail, abortFailure } = scope;
  const { mode, signal } = request;
  const resolved = await inventoryOf(deps, request, runId);
  if ('errorCode' in resolved) return fail(resolved);
  const { inventory } = resolved;

  const gateway = deps.accounts ?? staticAccountGateway(LOCAL_ACCOUNT);
  const units = await unitsOf(request, inventory, gateway);
  if (aborted(signal)) return fail(abortFailure());
  if (!('units' in units)) return fail(units);
  const skipped = skippedForNoRegion(request.policies, units.noRegion);
  reporter.skipped(skipped);
  if (units.units.length === 0 && skipped.length > 0) return fail(noRegion(units.noRegion));
  progress.accounts(units.accounts.size);
  const { reach, failures } = accountReacher(gateway, units, reporter, signal, progress);
  const planner = plannerFor(deps, request);
  progress.phase('reading', units.units.length);
  const done = await readUnits(deps, request, units, reach, planner, progress);
  if (aborted(signal)) return fail(abortFailure());

  const guardrails = request.guardrails ?? [];
  const plan = await planPass(
    deps,
    request,
    planner.plan(done.map((unit) => unit.planned)),
    failures,
    skipped,
  );
  reporter.planned(plan);
  const unread = nothingRead(plan, done, failures);
  if (unread !== undefined) return fail(unread);
  const settled = await settleEarlierWrites(
    deps,
    request,
    done.flatMap((unit) => unit.unsettled),
    reporter,
  );
  const outcomes = await execute(deps, request, plan, reporter, progress);
  if (aborted(signal)) return fail(abortFailure());
  const descriptionOutcomes = await updateDescriptionsOf(deps, request, plan, reporter, progress);
  if (aborted(signal)) return fail(abortFailure());

  const counts: PassCounts = {
    ...countOutcomes(plan, mode, [...settled, ...outcomes], guardrails.length > 0, descriptionOutcomes),
    units: units.units.length,
  };
  const duration = scope.durationMs();
  const shard = request.shard !== undefined ? { shard: `${request.shard.index}/${request.shard.count}` } : {};
  reporter.completed(duration, counts, { accounts: units.accounts.size, ...shard });
  return {
    status: 'completed',
    runId,
    mode,
    durationMs: duration,
    plan,
    counts,
    ...(mode !== 'plan' ? { outcomes } : {}),
    ...(descriptionOutcomes.length > 0 ? { descriptionOutcomes } : {}),
  };
}
