// The write step: authorize each planned group's missing rules through the Ec2Port, and say what
// happened to every rule. One AuthorizeSecurityGroupIngress per group and tag set; one group's
// failure never stops another, one bad rule never blocks the rest of its group, and every retry is
// bounded. Emits nothing itself: the caller hears of each write before it is sent (onRequested) and
// of each rule's outcome as it is known (onOutcome), so a killed process has said both.
import type { Ec2Port } from '../aws/port.js';
import type { LiveRule } from '../model/rule.js';
import { ruleKey } from '../model/rule.js';
import type { AuthorizeRequested, DesiredRule, GroupPlan, RuleOutcome } from './types.js';
import { errorInfo, isAbort, mapBounded, type ErrorInfo } from './support.js';
import { compareStrings } from '../model/compare.js';
import { compareRules } from '../model/order.js';
import { counted } from '../text.js';

export const DUPLICATE = 'InvalidPermission.Duplicate';
export const DRY_RUN_OK = 'DryRunOperation';
export const UNAUTHORIZED = 'UnauthorizedOperation';
/** Our own code for a group the plan projected over the quota; no call is made for it. */
export const QUOTA_EXCEEDED = 'QuotaExceeded';

/** Re-read-and-retry rounds after InvalidPermission.Duplicate before going rule by rule. */
export const MAX_DUPLICATE_ROUNDS = 2;

/** How long the re-read after a lost answer may take once the pass itself has been aborted. */
export const RECHECK_TIMEOUT_MS = 5_000;

/**
 * Errors after which the request may have reached EC2 and been applied, though no answer came back:
 * the pass was aborted (timeout, stop), the call timed out, or the connection broke. Such a write is
 * never reported as failed: the group is re-read (SPEC "Safety rules of the pass").
 */
const LOST_ANSWER_CODES: ReadonlySet<string> = new Set(['AbortError', 'TimeoutError', 'NetworkingError']);

/**
 * Errors about the call or the group, not about one rule: retrying the rules one at a time would
 * only repeat them (throttling, credentials, outages) or half-apply a group (the quota).
 */
export const GROUP_LEVEL_CODES: ReadonlySet<string> = new Set([
  'UnauthorizedOperation',
  'AuthFailure',
  'Blocked',
  'OptInRequired',
  'SignatureDoesNotMatch',
  'InvalidClientTokenId',
  'ExpiredToken',
  'RequestExpired',
  'RulesPerSecurityGroupLimitExceeded',
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'TimeoutError',
  'NetworkingError',
  'AbortError',
]);

/** What a write phase (authorizations, description updates) works on, and how. */
export interface WriteRequest {
  readonly mode: 'apply' | 'dry-run';
  /** Planned groups. */
  readonly groups: readonly GroupPlan[];
  /** The port of a group's (account, region) unit. */
  readonly portFor: (region: string, account?: string) => Ec2Port;
  /** Groups written at once (default 4). */
  readonly concurrency?: number;
  /** Forwarded to every port call; once aborted, no new call is started. */
  readonly signal?: AbortSignal;
}

export interface ExecuteRequest extends WriteRequest {
  /** Called as each rule's outcome is known (for streaming events). */
  readonly onOutcome?: (outcome: RuleOutcome) => void;
  /** Called just before each real (not dry-run) AuthorizeSecurityGroupIngress call. */
  readonly onRequested?: (batch: AuthorizeRequested) => void;
}

function tagSetKey(tags: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.entries(tags).sort(([a], [b]) => compareStrings(a, b)));
}

/** Rule IDs by identity, from rules the port returned (canonical: the EC2 edge canonicalises reads). */
function idsByKey(rules: readonly LiveRule[]): Map<string, string | undefined> {
  const ids = new Map<string, string | undefined>();
  for (const rule of rules) {
    const key = ruleKey(rule);
    if (ids.get(key) === undefined) ids.set(key, rule.ruleId);
  }
  return ids;
}

/** The message of a QuotaExceeded failure: values are fine here, it is a field, not the log message. */
function quotaMessage(plan: GroupPlan): string {
  const { limit, ipv4, ipv6 } = plan.quota;
  return (
    `authorizing ${counted(plan.missing.length, 'missing rule')} would take the group to ${ipv4.projected} IPv4 and ` +
    `${ipv6.projected} IPv6 rules, over the limit of ${limit} per family (--max-rules-per-group); nothing was authorized`
  );
}

/** One group's writes. Collects outcomes; never throws. */
class GroupWriter {
  readonly outcomes: RuleOutcome[] = [];
  /** Authorized rules EC2 did not return an ID for: resolved with one read at the end. */
  private readonly unidentified: { desired: DesiredRule; recoveredAfter?: string }[] = [];

  constructor(
    private readonly plan: GroupPlan,
    private readonly port: Ec2Port,
    private readonly request: ExecuteRequest,
  ) {}

  private get groupId(): string {
    return this.plan.group.groupId;
  }

  private get aborted(): boolean {
    return this.request.signal?.aborted === true;
  }

  private record(outcome: RuleOutcome): void {
    this.outcomes.push(outcome);
    this.request.onOutcome?.(outcome);
  }

  private failAll(rules: readonly DesiredRule[], failure: ErrorInfo): void {
    for (const desired of rules) this.record({ status: 'failed', desired, ...failure });
  }

  private async readRules(): Promise<LiveRule[] | undefined> {
    try {
      return await this.port.describeIngressRules(this.groupId, this.request.signal);
    } catch {
      return undefined;
    }
  }

  /**
   * The answer to a write was lost (abort, timeout, broken connection): re-read the group, with a
   * deadline of its own when the pass has been aborted. A rule found present was created by this
   * write (`authorized` with recoveredAfter); one not found, or not checkable, is `outcome-unknown`:
   * EC2 may still apply a request whose connection was cut, so absence right after is no proof.
   */
  private async recoverLostAnswer(rules: readonly DesiredRule[], failure: ErrorInfo): Promise<void> {
    let live: LiveRule[] | undefined;
    try {
      const signal = this.aborted ? AbortSignal.timeout(RECHECK_TIMEOUT_MS) : this.request.signal;
      live = await this.port.describeIngressRules(this.groupId, signal);
    } catch {
      live = undefined;
    }
    const still = live === undefined ? rules : this.settlePresent(rules, live, failure.errorCode);
    for (const desired of still) {
      this.record({
        status: 'outcome-unknown',
        desired,
        errorCode: failure.errorCode,
        error: failure.error,
        recheck: live === undefined ? 'failed' : 'absent',
      });
    }
  }

  private authorize(
    rules: readonly DesiredRule[],
    tags: Readonly<Record<string, string>>,
  ): Promise<LiveRule[]> {
    if (this.request.mode !== 'dry-run') {
      this.request.onRequested?.({ group: this.plan, rules });
    }
    return this.port.authorizeIngress(
      {
        groupId: this.groupId,
        rules: rules.map((d) => d.rule),
        tags,
        dryRun: this.request.mode === 'dry-run',
      },
      this.request.signal,
    );
  }

  async run(): Promise<RuleOutcome[]> {
    const { plan } = this;
    if (plan.missing.length === 0) return this.outcomes;
    if (plan.quota.exceeded) {
      this.failAll(plan.missing, { errorCode: QUOTA_EXCEEDED, error: quotaMessage(plan) });
      return this.outcomes;
    }
    const batches = new Map<string, { tags: Readonly<Record<string, string>>; rules: DesiredRule[] }>();
    for (const desired of plan.missing) {
      const key = tagSetKey(desired.tags);
      const batch = batches.get(key) ?? { tags: desired.tags, rules: [] };
      batch.rules.push(desired);
      batches.set(key, batch);
    }
    for (const { tags, rules } of batches.values()) {
      if (this.aborted) {
        for (const desired of rules) this.record({ status: 'not-attempted', desired });
        continue;
      }
      if (this.request.mode === 'dry-run') await this.dryRunBatch(rules, tags);
      else await this.applyBatch(rules, tags);
    }
    await this.identify();
    return this.outcomes;
  }

  /** Record rules EC2 accepted, by the IDs it returned; the rest wait for identify(). */
  private accepted(
    rules: readonly DesiredRule[],
    created: readonly LiveRule[],
    recoveredAfter?: string,
  ): void {
    const ids = idsByKey(created);
    for (const desired of rules) {
      const ruleId = ids.get(ruleKey(desired.rule));
      if (ruleId !== undefined) {
        this.record({
          status: 'authorized',
          desired,
          ruleId,
          ruleIdPending: false,
          ...(recoveredAfter !== undefined ? { recoveredAfter } : {}),
        });
      } else {
        this.unidentified.push({ desired, ...(recoveredAfter !== undefined ? { recoveredAfter } : {}) });
      }
    }
  }

  /**
   * One read of the group for every authorized rule EC2 did not name. A rule still not visible was
   * nevertheless authorized (EC2 said so; reads are eventually consistent): reported with
   * ruleIdPending, not as a failure.
   */
  private async identify(): Promise<void> {
    if (this.unidentified.length === 0) return;
    const live = (await this.readRules()) ?? [];
    const ids = idsByKey(live);
    for (const { desired, recoveredAfter } of this.unidentified) {
      const ruleId = ids.get(ruleKey(desired.rule));
      this.record({
        status: 'authorized',
        desired,
        ruleId,
        ruleIdPending: ruleId === undefined,
        ...(recoveredAfter !== undefined ? { recoveredAfter } : {}),
      });
    }
  }

  /**
   * Drop the rules now present in the group: already there (Duplicate) or, after another failure,
   * found created anyway (recoveredAfter). Returns the rules still missing.
   */
  private settlePresent(
    rules: readonly DesiredRule[],
    live: readonly LiveRule[],
    recoveredAfter: string | undefined,
  ): DesiredRule[] {
    const ids = idsByKey(live);
    const still: DesiredRule[] = [];
    for (const desired of rules) {
      const key = ruleKey(desired.rule);
      if (!ids.has(key)) still.push(desired);
      else if (recoveredAfter === undefined) {
        this.record({ status: 'already-present', desired, ruleId: ids.get(key) });
      } else {
        this.record({
          status: 'authorized',
          desired,
          ruleId: ids.get(key),
          ruleIdPending: false,
          recoveredAfter,
        });
      }
    }
    return still;
  }

  private async applyBatch(
    rules: readonly DesiredRule[],
    tags: Readonly<Record<string, string>>,
  ): Promise<void> {
    let pending = [...rules];
    for (let round = 0; ; round++) {
      try {
        this.accepted(pending, await this.authorize(pending, tags));
        return;
      } catch (error) {
        const failure = errorInfo(error);
        if (isLostAnswer(error, failure, this.request.signal))
          return this.recoverLostAnswer(pending, failure);
        if (failure.errorCode === DUPLICATE) {
          // "Already there": re-read and authorize only what is still missing, a bounded number of
          // times, then rule by rule, where a Duplicate is final. A Duplicate on a retried attempt
          // means our own earlier attempt landed and its answer was lost: those rules are ours.
          const live = round < MAX_DUPLICATE_ROUNDS ? await this.readRules() : undefined;
          if (live === undefined) return this.oneAtATime(pending, tags);
          const ours = (failure.attempts ?? 1) > 1 ? DUPLICATE : undefined;
          pending = this.settlePresent(pending, live, ours);
          if (pending.length === 0) return;
          continue;
        }
        // EC2 batches are atomic, but a timeout may hide a success and some emulators keep the
        // rules before the failing one: whatever is present now was created, report it so.
        const live = await this.readRules();
        const sent = pending.length;
        if (live !== undefined) pending = this.settlePresent(pending, live, failure.errorCode);
        if (pending.length === 0) return;
        if (sent === 1 || GROUP_LEVEL_CODES.has(failure.errorCode)) return this.failAll(pending, failure);
        return this.oneAtATime(pending, tags);
      }
    }
  }

  /** Rule by rule, one attempt each; a group-level error ends the group's attempts. */
  private async oneAtATime(
    rules: readonly DesiredRule[],
    tags: Readonly<Record<string, string>>,
  ): Promise<void> {
    for (const [index, desired] of rules.entries()) {
      if (this.aborted) {
        for (const rest of rules.slice(index)) this.record({ status: 'not-attempted', desired: rest });
        return;
      }
      try {
        const created = await this.authorize([desired], tags);
        if (this.request.mode === 'dry-run') this.record({ status: 'dry-run', desired, permitted: true });
        else this.accepted([desired], created);
      } catch (error) {
        const failure = errorInfo(error);
        if (failure.errorCode === DUPLICATE) {
          this.record({ status: 'already-present', desired, ruleId: undefined });
        } else if (this.request.mode === 'dry-run' && failure.errorCode === DRY_RUN_OK) {
          this.record({ status: 'dry-run', desired, permitted: true });
        } else if (this.request.mode === 'dry-run' && failure.errorCode === UNAUTHORIZED) {
          this.record({ status: 'dry-run', desired, permitted: false });
        } else if (this.request.mode === 'apply' && isLostAnswer(error, failure, this.request.signal)) {
          await this.recoverLostAnswer([desired], failure);
          const rest = rules.slice(index + 1);
          if (this.aborted) for (const r of rest) this.record({ status: 'not-attempted', desired: r });
          else this.failAll(rest, failure);
          return;
        } else if (isAbort(error, this.request.signal) || GROUP_LEVEL_CODES.has(failure.errorCode)) {
          return this.failAll(rules.slice(index), failure);
        } else {
          this.record({ status: 'failed', desired, ...failure });
        }
      }
    }
  }

  /**
   * Dry-run: the same batch with DryRun=true. DryRunOperation = permitted, UnauthorizedOperation =
   * denied. Any other error is a real problem with the request: rule by rule, as in apply.
   */
  private async dryRunBatch(
    rules: readonly DesiredRule[],
    tags: Readonly<Record<string, string>>,
  ): Promise<void> {
    try {
      await this.authorize(rules, tags);
      // EC2 never succeeds with DryRun set; an endpoint that does is taken as permitting it.
      for (const desired of rules) this.record({ status: 'dry-run', desired, permitted: true });
    } catch (error) {
      const failure = errorInfo(error);
      if (failure.errorCode === DRY_RUN_OK || failure.errorCode === UNAUTHORIZED) {
        const permitted = failure.errorCode === DRY_RUN_OK;
        for (const desired of rules) this.record({ status: 'dry-run', desired, permitted });
      } else if (rules.length === 1 && failure.errorCode === DUPLICATE) {
        for (const desired of rules) this.record({ status: 'already-present', desired, ruleId: undefined });
      } else if (
        rules.length === 1 ||
        isAbort(error, this.request.signal) ||
        GROUP_LEVEL_CODES.has(failure.errorCode)
      ) {
        this.failAll(rules, failure);
      } else {
        await this.oneAtATime(rules, tags);
      }
    }
  }
}

/** See LOST_ANSWER_CODES; an aborted pass makes any error of the call a lost answer. */
function isLostAnswer(error: unknown, failure: ErrorInfo, signal: AbortSignal | undefined): boolean {
  return isAbort(error, signal) || LOST_ANSWER_CODES.has(failure.errorCode);
}

function sortOutcomes(outcomes: RuleOutcome[]): RuleOutcome[] {
  return outcomes.sort(
    (a, b) =>
      compareStrings(a.desired.account, b.desired.account) ||
      compareStrings(a.desired.region, b.desired.region) ||
      compareStrings(a.desired.groupId, b.desired.groupId) ||
      compareRules(a.desired.rule, b.desired.rule),
  );
}

/**
 * Authorize (or dry-run) the missing rules of every planned group, groups in parallel up to
 * `concurrency`. Quota-exceeded groups fail without a call. Resolves with every missing rule's
 * outcome, sorted by account, region, group and rule order (model/order.ts); never rejects for an EC2 error.
 */
export async function executePlan(request: ExecuteRequest): Promise<RuleOutcome[]> {
  const groups = request.groups.filter((g) => g.missing.length > 0);
  const results = await mapBounded(groups, request.concurrency ?? 4, async (plan) => {
    if (request.signal?.aborted === true && !plan.quota.exceeded) {
      const outcomes: RuleOutcome[] = plan.missing.map((desired) => ({ status: 'not-attempted', desired }));
      for (const outcome of outcomes) request.onOutcome?.(outcome);
      return outcomes;
    }
    return new GroupWriter(plan, request.portFor(plan.region, plan.account), request).run();
  });
  return sortOutcomes(results.flat());
}
