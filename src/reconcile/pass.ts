// One reconcile pass, as a straight line: group the policies by region -> read each region -> plan
// (pure) -> report -> execute (apply / dry-run) -> one completed event. This is the one place that
// decides what a pass's outcome means and turns it into events; it never throws to its caller.
import { randomUUID } from 'node:crypto';
import { staticAccountGateway, type AccountGateway, type Ec2PortFactory } from '../aws/port.js';
import type { AccountInventory } from '../model/accounts.js';
import { planUnits, unitKey, type OwnAccount, type Shard } from '../model/units.js';
import type { Policy } from '../model/policy.js';
import { describeTarget } from '../model/policy.js';
import { emit, type Logger } from '../logging.js';
import { liveRuleFields, ruleFields } from './events.js';
import { executePlan, QUOTA_EXCEEDED } from './execute.js';
import { buildPlan } from './plan.js';
import { readRegion } from './read.js';
import { errorInfo, mapBounded } from './support.js';
import type {
  AccountFailure,
  GroupPlan,
  PassCounts,
  PassMode,
  PassResult,
  Plan,
  RegionRead,
  RuleOutcome,
} from './types.js';

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
}

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
  /** Within one unit: reads and groups written at once (default 4). */
  readonly concurrency?: number;
  /** (account, region) units worked on at once (`--concurrency`, default 8). */
  readonly unitConcurrency?: number;
  /** The accounts policies may select (`--accounts`); without one, only the own account. */
  readonly inventory?: AccountInventory;
  /** This process's share of the units (`--shard K/N`). */
  readonly shard?: Shard;
  /** Aborting stops new calls and fails the pass: `PassTimeout` when the reason is a TimeoutError. */
  readonly signal?: AbortSignal;
}

const MSG = {
  started: 'reconcile pass started',
  completed: 'reconcile pass completed',
  failed: 'reconcile pass failed',
  unresolved: 'policy target matched no security group',
  readFailed: 'could not read security groups; the groups this read covers are skipped this pass',
  prefixListsFailed:
    'could not read prefix list sizes; the quota projection counts each unknown list as one rule',
  missing: 'ingress rule missing',
  authorized: 'ingress rule authorized',
  alreadyPresent: 'ingress rule was already present; nothing to authorize',
  ruleFailed: 'ingress rule could not be authorized',
  drift: 'ingress rule not declared by any policy',
  descriptionDrift: 'ingress rule description differs from the policy',
  accountFailed: 'account could not be reached; its units are skipped this pass',
} as const;

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A function, not an inline check: TypeScript would narrow `signal.aborted` across awaits. */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function abortFailure(signal: AbortSignal | undefined): { errorCode: string; error: string } {
  const reason: unknown = signal?.reason;
  const timedOut = reason instanceof Error && reason.name === 'TimeoutError';
  return timedOut
    ? { errorCode: 'PassTimeout', error: 'the pass did not finish within its time limit and was stopped' }
    : { errorCode: 'Aborted', error: 'the pass was aborted before it finished' };
}

/** A region whose port could not even be created: every target of it is a failed read. */
function unreadableRegion(region: string, policies: readonly Policy[], error: unknown): RegionRead {
  const info = errorInfo(error);
  return {
    region,
    groups: new Map(),
    unresolved: [],
    readFailures: [
      {
        region,
        action: 'CreateClient',
        ...info,
        policies: policies.map((p) => p.name).sort(compare),
        targets: [...new Set(policies.flatMap((p) => p.targets.map((t) => describeTarget(t.selector))))].sort(
          compare,
        ),
      },
    ],
    prefixLists: new Map(),
    prefixListFailure: undefined,
    readsSucceeded: 0,
  };
}

function quotaFields(group: GroupPlan): Record<string, unknown> {
  const { limit, ipv4, ipv6, unknownPrefixLists } = group.quota;
  return { quota: { limit, ipv4: ipv4.projected, ipv6: ipv6.projected, unknownPrefixLists } };
}

function countOutcomes(plan: Plan, mode: PassMode, outcomes: readonly RuleOutcome[]): PassCounts {
  const count = (predicate: (o: RuleOutcome) => boolean): number => outcomes.filter(predicate).length;
  const denied = count((o) => o.status === 'dry-run' && !o.permitted);
  return {
    groups: plan.groups.length,
    desired: plan.groups.reduce((n, g) => n + g.desired.length, 0),
    missing: plan.groups.reduce((n, g) => n + g.missing.length, 0),
    authorized: count((o) => o.status === 'authorized'),
    // Dry-run: a denied rule is one the real apply would fail on, so it counts as failed.
    failed: count((o) => o.status === 'failed') + denied,
    drift: plan.groups.reduce((n, g) => n + g.drift.length, 0),
    descriptionDrift: plan.groups.reduce((n, g) => n + g.descriptionDrift.length, 0),
    unresolved: plan.unresolved.length,
    readFailures: plan.readFailures.length,
    accountsFailed: plan.accountFailures?.length ?? 0,
    alreadyPresent: count((o) => o.status === 'already-present'),
    ...(mode === 'dry-run' ? { permitted: count((o) => o.status === 'dry-run' && o.permitted), denied } : {}),
  };
}

/** Run one reconcile pass. Resolves with its result; every failure becomes an event and a result. */
export async function reconcilePass(deps: PassDeps, request: PassRequest): Promise<PassResult> {
  const now = deps.now ?? Date.now;
  const runId = (deps.newRunId ?? randomUUID)();
  const log = deps.logger.child({ runId });
  const { mode, signal } = request;
  const startedAt = now();
  const durationMs = (): number => Math.max(0, now() - startedAt);

  const fail = (failure: { errorCode: string; error: string }): PassResult => {
    emit(log, 'error', 'reconcile.failed', { mode, ...failure }, MSG.failed);
    return { status: 'failed', runId, mode, durationMs: durationMs(), ...failure };
  };

  emit(
    log,
    'info',
    'reconcile.started',
    {
      mode,
      policies: request.policies.length,
      ...(request.policyFiles !== undefined ? { policyFiles: request.policyFiles } : {}),
      ...(request.policySetDigest !== undefined ? { policySetDigest: request.policySetDigest } : {}),
      ...(request.policyVersion !== undefined ? { policyVersion: request.policyVersion } : {}),
    },
    MSG.started,
  );

  try {
    const gateway = deps.accounts ?? staticAccountGateway(LOCAL_ACCOUNT);
    let own: OwnAccount;
    try {
      own = await gateway.ownAccount(signal);
    } catch (error) {
      if (aborted(signal)) return fail(abortFailure(signal));
      // Without its own account the pass cannot tell where a policy without spec.accounts applies.
      const info = errorInfo(error);
      return fail({
        errorCode: info.errorCode,
        error: `cannot identify the credentials' account: ${info.error}`,
      });
    }
    const units = planUnits({
      policies: request.policies,
      inventory: request.inventory,
      own,
      defaultRegion: request.defaultRegion,
      ...(request.shard !== undefined ? { shard: request.shard } : {}),
    });
    if (units.noRegion.length > 0) {
      return fail({
        errorCode: 'NoRegion',
        error:
          `policies ${units.noRegion.join(', ')} name no region: set spec.region in the policy, ` +
          'pass --region, or set AWS_REGION',
      });
    }
    if (aborted(signal)) return fail(abortFailure(signal));
    // One reach per account per pass (AssumeRole at most once, cached across passes by the gateway);
    // an account that cannot be reached gets one account.failed and its units are skipped.
    const accountFailures = new Map<string, AccountFailure>();
    const reached = new Map<string, Promise<boolean>>();
    const reach = (account: string): Promise<boolean> => {
      let pending = reached.get(account);
      if (pending === undefined) {
        const ref = units.accounts.get(account) ?? { id: account, roleArn: undefined };
        pending = gateway.reach(ref, signal).then(
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
            accountFailures.set(account, failure);
            emit(log, 'error', 'account.failed', failure, MSG.accountFailed);
            return false;
          },
        );
        reached.set(account, pending);
      }
      return pending;
    };

    const unitConcurrency = request.unitConcurrency ?? DEFAULT_UNIT_CONCURRENCY;
    const reads = (
      await mapBounded(units.units, unitConcurrency, async (unit) => {
        if (aborted(signal) || !(await reach(unit.account))) return undefined;
        let read: RegionRead;
        try {
          const port = deps.ports(unit.region, unit.account);
          read = await readRegion({
            region: unit.region,
            policies: unit.policies,
            port,
            ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
            ...(signal !== undefined ? { signal } : {}),
          });
        } catch (error) {
          read = unreadableRegion(unit.region, unit.policies, error);
        }
        return { account: unit.account, region: unit.region, policies: unit.policies, read };
      })
    ).filter((read) => read !== undefined);
    if (aborted(signal)) return fail(abortFailure(signal));

    const plan: Plan = {
      ...buildPlan({ regions: reads, maxRulesPerGroup: request.maxRulesPerGroup }),
      ...(accountFailures.size > 0
        ? { accountFailures: [...accountFailures.values()].sort((a, b) => compare(a.account, b.account)) }
        : {}),
    };
    for (const target of plan.unresolved) emit(log, 'warn', 'target.unresolved', target, MSG.unresolved);
    for (const failure of plan.readFailures) emit(log, 'error', 'read.failed', failure, MSG.readFailed);
    for (const failure of plan.prefixListFailures ?? []) {
      emit(
        log,
        'warn',
        'read.failed',
        { ...failure, action: 'DescribeManagedPrefixLists', policies: [], targets: [] },
        MSG.prefixListsFailed,
      );
    }
    const readsSucceeded = reads.reduce((n, r) => n + r.read.readsSucceeded, 0);
    const [firstFailure] = plan.readFailures;
    if (firstFailure !== undefined && readsSucceeded === 0 && accountFailures.size === 0) {
      // Nothing could be read at all: the pass did not run, rather than "ran and found nothing".
      return fail({ errorCode: firstFailure.errorCode, error: firstFailure.error });
    }

    for (const group of plan.groups) {
      const { groupId } = group.group;
      for (const rule of group.drift) {
        emit(
          log,
          'info',
          'rule.drift',
          {
            ...liveRuleFields(group.account, group.region, groupId, rule),
            groupName: group.group.groupName,
          },
          MSG.drift,
        );
      }
      for (const { desired, live } of group.descriptionDrift) {
        emit(
          log,
          'info',
          'rule.description_drift',
          {
            ...ruleFields(desired),
            live: live.description ?? '',
            desired: desired.rule.description ?? '',
            ...(live.ruleId !== undefined ? { ruleId: live.ruleId } : {}),
          },
          MSG.descriptionDrift,
        );
      }
      if (mode === 'plan') {
        for (const desired of group.missing) {
          emit(
            log,
            'info',
            'rule.missing',
            {
              ...ruleFields(desired),
              ...(group.quota.exceeded ? { quotaExceeded: true, ...quotaFields(group) } : {}),
            },
            MSG.missing,
          );
        }
      }
    }

    let outcomes: RuleOutcome[] = [];
    if (mode !== 'plan') {
      const groupsById = new Map(
        plan.groups.map((g) => [`${g.account}|${g.region}|${g.group.groupId}`, g] as const),
      );
      const onOutcome = (outcome: RuleOutcome): void => {
        const fields = ruleFields(outcome.desired);
        switch (outcome.status) {
          case 'authorized':
            emit(
              log,
              'info',
              'rule.authorized',
              {
                ...fields,
                ruleId: outcome.ruleId,
                ...(outcome.ruleIdPending ? { ruleIdPending: true } : {}),
                ...(outcome.recoveredAfter !== undefined ? { recoveredAfter: outcome.recoveredAfter } : {}),
              },
              MSG.authorized,
            );
            return;
          case 'failed': {
            const group = groupsById.get(
              `${outcome.desired.account}|${outcome.desired.region}|${outcome.desired.groupId}`,
            );
            const quota =
              outcome.errorCode === QUOTA_EXCEEDED && group !== undefined ? quotaFields(group) : {};
            emit(
              log,
              'error',
              'rule.failed',
              { ...fields, errorCode: outcome.errorCode, error: outcome.error, ...quota },
              MSG.ruleFailed,
            );
            return;
          }
          case 'dry-run':
            emit(log, 'info', 'rule.missing', { ...fields, permitted: outcome.permitted }, MSG.missing);
            return;
          case 'already-present':
            // EC2 said Duplicate: someone else (or EC2's eventual consistency) got there first.
            emit(
              log,
              'info',
              'rule.already_present',
              { ...fields, ...(outcome.ruleId !== undefined ? { ruleId: outcome.ruleId } : {}) },
              MSG.alreadyPresent,
            );
            return;
          case 'not-attempted':
            // Covered by the reconcile.failed of the aborted pass.
            return;
        }
      };
      const byUnit = new Map<string, GroupPlan[]>();
      for (const group of plan.groups) {
        if (group.missing.length === 0) continue;
        const key = unitKey(group.account, group.region);
        const list = byUnit.get(key);
        if (list === undefined) byUnit.set(key, [group]);
        else list.push(group);
      }
      // Units write in parallel up to --concurrency; within a unit, groups up to `concurrency`,
      // paced by the unit's own token bucket (EC2 meters writes per account and region).
      const perUnit = await mapBounded([...byUnit.values()], unitConcurrency, (groups) =>
        executePlan({
          mode,
          groups,
          portFor: deps.ports,
          ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
          ...(signal !== undefined ? { signal } : {}),
          onOutcome,
        }),
      );
      outcomes = perUnit.flat();
    }
    if (aborted(signal)) return fail(abortFailure(signal));

    const counts: PassCounts = { ...countOutcomes(plan, mode, outcomes), units: units.units.length };
    const duration = durationMs();
    const shard =
      request.shard !== undefined ? { shard: `${request.shard.index}/${request.shard.count}` } : {};
    emit(
      log,
      'info',
      'reconcile.completed',
      { mode, durationMs: duration, ...counts, accounts: units.accounts.size, ...shard },
      MSG.completed,
    );
    return {
      status: 'completed',
      runId,
      mode,
      durationMs: duration,
      plan,
      counts,
      ...(mode !== 'plan' ? { outcomes } : {}),
    };
  } catch (error) {
    if (aborted(signal)) return fail(abortFailure(signal));
    return fail({ errorCode: 'InternalError', error: errorInfo(error).error });
  }
}
