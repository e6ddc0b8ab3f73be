// One reconcile pass, as a straight line: group the policies by region -> read each region -> plan
// (pure) -> report -> execute (apply / dry-run) -> one completed event. This is the one place that
// decides what a pass's outcome means and turns it into events; it never throws to its caller.
import { randomUUID } from 'node:crypto';
import type { Ec2PortFactory } from '../aws/port.js';
import type { Policy } from '../model/policy.js';
import { describeTarget } from '../model/policy.js';
import { emit, type Logger } from '../logging.js';
import { liveRuleFields, ruleFields } from './events.js';
import { executePlan, QUOTA_EXCEEDED } from './execute.js';
import { buildPlan } from './plan.js';
import { readRegion } from './read.js';
import { errorInfo } from './support.js';
import type { GroupPlan, PassCounts, PassMode, PassResult, Plan, RegionRead, RuleOutcome } from './types.js';

export interface PassDeps {
  readonly ports: Ec2PortFactory;
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
  readonly defaultRegion: string | undefined;
  readonly maxRulesPerGroup: number;
  /** Reads per region and groups written at once (default 4). */
  readonly concurrency?: number;
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
    },
    MSG.started,
  );

  try {
    const byRegion = new Map<string, Policy[]>();
    const noRegion: string[] = [];
    for (const policy of request.policies) {
      const region = policy.region ?? request.defaultRegion;
      if (region === undefined || region === '') {
        noRegion.push(policy.name);
        continue;
      }
      byRegion.set(region, [...(byRegion.get(region) ?? []), policy]);
    }
    if (noRegion.length > 0) {
      return fail({
        errorCode: 'NoRegion',
        error:
          `policies ${noRegion.sort(compare).join(', ')} name no region: set spec.region in the policy, ` +
          'pass --region, or set AWS_REGION',
      });
    }
    if (aborted(signal)) return fail(abortFailure(signal));

    const regions = [...byRegion.entries()].sort(([a], [b]) => compare(a, b));
    const reads = await Promise.all(
      regions.map(async ([region, policies]) => {
        let read: RegionRead;
        try {
          const port = deps.ports(region);
          read = await readRegion({
            region,
            policies,
            port,
            ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
            ...(signal !== undefined ? { signal } : {}),
          });
        } catch (error) {
          read = unreadableRegion(region, policies, error);
        }
        return { region, policies, read };
      }),
    );
    if (aborted(signal)) return fail(abortFailure(signal));

    const plan = buildPlan({ regions: reads, maxRulesPerGroup: request.maxRulesPerGroup });
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
    if (firstFailure !== undefined && readsSucceeded === 0) {
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
          { ...liveRuleFields(group.region, groupId, rule), groupName: group.group.groupName },
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
      const groupsById = new Map(plan.groups.map((g) => [`${g.region}|${g.group.groupId}`, g] as const));
      outcomes = await executePlan({
        mode,
        groups: plan.groups,
        portFor: deps.ports,
        ...(request.concurrency !== undefined ? { concurrency: request.concurrency } : {}),
        ...(signal !== undefined ? { signal } : {}),
        onOutcome: (outcome) => {
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
              const group = groupsById.get(`${outcome.desired.region}|${outcome.desired.groupId}`);
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
        },
      });
    }
    if (aborted(signal)) return fail(abortFailure(signal));

    const counts = countOutcomes(plan, mode, outcomes);
    const duration = durationMs();
    emit(log, 'info', 'reconcile.completed', { mode, durationMs: duration, ...counts }, MSG.completed);
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
