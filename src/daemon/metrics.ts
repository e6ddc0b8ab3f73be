// The daemon's Prometheus metrics: one Registry per daemon (never prom-client's global one), so two
// daemons in one process (tests) never share a series. Only the outcome handler writes to them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { packageVersion } from '../version.js';

export const METRIC_PREFIX = 'sgr_';

/** The values of `sgr_passes_total{result}`. */
export const PASS_RESULTS = [
  'completed',
  'failed',
  'skipped_overlap',
  'skipped_invalid',
  'skipped_changing',
] as const;
export type PassResultLabel = (typeof PASS_RESULTS)[number];

export interface DaemonMetrics {
  readonly registry: Registry;
  readonly passes: Counter<'result'>;
  readonly passDuration: Histogram<'result'>;
  readonly rulesAuthorized: Counter;
  readonly rulesFailed: Counter;
  /** rule.description_updated (`--update-descriptions`) since the daemon started. */
  readonly descriptionsUpdated: Counter;
  /** rule.description_update_failed, and dry-run updates EC2 would deny, since the daemon started. */
  readonly descriptionUpdatesFailed: Counter;
  readonly rulesDesired: Gauge;
  readonly rulesMissing: Gauge;
  readonly rulesDrift: Gauge;
  readonly rulesDescriptionDrift: Gauge;
  readonly groups: Gauge;
  readonly targetsUnresolved: Gauge;
  /** read.failed (groups) of the last pass that ran, completed or failed outright. */
  readonly readFailures: Gauge;
  /** read.failed (groups) since the daemon started, every pass that read. */
  readonly readFailuresTotal: Counter;
  /** 1, labelled with the version of sg-reconciler and of Node.js (Prometheus' build_info convention). */
  readonly buildInfo: Gauge<'version' | 'node_version'>;
  readonly lastSuccess: Gauge;
  readonly policySetValid: Gauge;
  readonly passInProgress: Gauge;
  readonly guardrailViolations: Gauge<'guardrail'>;
  /** Accounts unreachable in the last completed pass. */
  readonly accountsFailed: Gauge;
  /** (account, region) units of the last completed pass. */
  readonly units: Gauge;
  /** account.failed per account; the label takes at most MAX_ACCOUNT_LABELS values, then `other`. */
  readonly accountFailures: Counter<'account'>;
  /** The `account` label for a failure of `account` (bounded: see MAX_ACCOUNT_LABELS). */
  accountLabel(account: string): string;
}

/**
 * Distinct `account` label values of sgr_account_failures_total per process. An organisation of
 * thousands of accounts must not become thousands of series: the first 50 accounts that fail get
 * their own series, failures of any further account are counted under `other` (the events name
 * every account).
 */
export const MAX_ACCOUNT_LABELS = 50;
export const OTHER_ACCOUNTS_LABEL = 'other';

export interface DaemonMetricsOptions {
  /** Collect the process's default metrics (CPU, memory, event loop, GC) too; default true. */
  readonly defaultMetrics?: boolean;
  /** The `version` label of sgr_build_info; default: the package's version. */
  readonly version?: string;
}

/** sgr_passes_total (every result series there from the start) and sgr_pass_duration_seconds. */
function passMetrics(registers: Registry[]): Pick<DaemonMetrics, 'passes' | 'passDuration'> {
  const passes = new Counter({
    name: `${METRIC_PREFIX}passes_total`,
    help: 'Reconcile passes by result: completed, failed (could not run), skipped_overlap, skipped_invalid, skipped_changing.',
    labelNames: ['result'] as const,
    registers,
  });
  // Every result series exists from the start, so rate() and absent() behave before the first skip.
  for (const result of PASS_RESULTS) passes.labels(result).inc(0);

  const passDuration = new Histogram({
    name: `${METRIC_PREFIX}pass_duration_seconds`,
    help: 'Duration of reconcile passes that ran (completed or failed), in seconds.',
    labelNames: ['result'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers,
  });
  return { passes, passDuration };
}

/**
 * sgr_build_info: always 1, its labels say what runs (`version` of the package, `node_version`), so
 * a query can join them onto any series. No `revision` label: the package carries no commit.
 */
function buildInfo(registers: Registry[], version: string): Gauge<'version' | 'node_version'> {
  const gauge = new Gauge({
    name: `${METRIC_PREFIX}build_info`,
    help: 'Always 1; the labels name the sg-reconciler version and the Node.js version running it.',
    labelNames: ['version', 'node_version'] as const,
    registers,
  });
  gauge.labels(version, process.versions.node).set(1);
  return gauge;
}

/** The `--update-descriptions` counters. */
function descriptionMetrics(
  registers: Registry[],
): Pick<DaemonMetrics, 'descriptionsUpdated' | 'descriptionUpdatesFailed'> {
  return {
    descriptionsUpdated: new Counter({
      name: `${METRIC_PREFIX}rule_descriptions_updated_total`,
      help: 'Rule descriptions set to the policy description (--update-descriptions; access unchanged) since the daemon started.',
      registers,
    }),
    descriptionUpdatesFailed: new Counter({
      name: `${METRIC_PREFIX}rule_descriptions_update_failed_total`,
      help: 'Rule descriptions --update-descriptions could not set (in a dry run: would be denied), summed over passes.',
      registers,
    }),
  };
}

/** The read-failure gauge (last pass that ran) and counter (every pass). */
function readFailureMetrics(
  registers: Registry[],
): Pick<DaemonMetrics, 'readFailures' | 'readFailuresTotal'> {
  return {
    readFailures: new Gauge({
      name: `${METRIC_PREFIX}read_failures`,
      help: 'EC2 reads that failed (read.failed) in the last pass that ran, completed or failed outright; their groups were skipped, nothing written.',
      registers,
    }),
    readFailuresTotal: new Counter({
      name: `${METRIC_PREFIX}read_failures_total`,
      help: 'EC2 reads that failed (read.failed), summed over every pass since the daemon started.',
      registers,
    }),
  };
}

/** DaemonMetrics.accountLabel: the first MAX_ACCOUNT_LABELS accounts by name, then `other`. */
function accountLabeller(): (account: string) => string {
  const labelled = new Set<string>();
  return (account) => {
    if (labelled.has(account) || labelled.size < MAX_ACCOUNT_LABELS) {
      labelled.add(account);
      return account;
    }
    return OTHER_ACCOUNTS_LABEL;
  };
}

/** The daemon's Prometheus metrics in their own registry (served on /metrics). */
export function createDaemonMetrics(options: DaemonMetricsOptions = {}): DaemonMetrics {
  const registry = new Registry();
  const registers = [registry];
  const gauge = (name: string, help: string): Gauge =>
    new Gauge({ name: `${METRIC_PREFIX}${name}`, help, registers });
  const { passes, passDuration } = passMetrics(registers);

  const metrics: DaemonMetrics = {
    registry,
    passes,
    passDuration,
    rulesAuthorized: new Counter({
      name: `${METRIC_PREFIX}rules_authorized_total`,
      help: 'Ingress rules created by AuthorizeSecurityGroupIngress since the daemon started.',
      registers,
    }),
    rulesFailed: new Counter({
      name: `${METRIC_PREFIX}rules_failed_total`,
      help: 'Ingress rules that could not be authorized (API error or quota), summed over passes.',
      registers,
    }),
    rulesDesired: gauge('rules_desired', 'Desired rules (rule x group) in the last completed pass.'),
    rulesMissing: gauge('rules_missing', 'Rules found missing at the start of the last completed pass.'),
    rulesDrift: gauge(
      'rules_drift',
      'Live rules no policy declares, in targeted groups, in the last completed pass.',
    ),
    rulesDescriptionDrift: gauge(
      'rules_description_drift',
      'Declared rules whose live description differs, in the last completed pass.',
    ),
    groups: gauge('groups', 'Security groups targeted in the last completed pass.'),
    targetsUnresolved: gauge(
      'targets_unresolved',
      'Policy targets that matched no group in the last completed pass.',
    ),
    ...readFailureMetrics(registers),
    ...descriptionMetrics(registers),
    buildInfo: buildInfo(registers, options.version ?? packageVersion()),
    lastSuccess: gauge(
      'last_success_timestamp_seconds',
      'Unix time at which the last completed pass finished (0 until one completes).',
    ),
    policySetValid: gauge('policy_set_valid', '1 when the policy directory last loaded was valid, else 0.'),
    passInProgress: gauge('pass_in_progress', '1 while a reconcile pass is running, else 0.'),
    guardrailViolations: new Gauge({
      name: `${METRIC_PREFIX}guardrail_violations`,
      help: 'Live rules a guardrail denies (rule.violation; never revoked), by guardrail, in the last completed pass.',
      labelNames: ['guardrail'] as const,
      registers,
    }),
    accountsFailed: gauge(
      'accounts_failed',
      'Accounts that could not be reached (AssumeRole failed) in the last completed pass; their units were skipped.',
    ),
    units: gauge('units', '(account, region) units the last completed pass worked on (this shard).'),
    accountFailures: new Counter({
      name: `${METRIC_PREFIX}account_failures_total`,
      help: `Passes in which an account could not be reached, per account (at most ${MAX_ACCOUNT_LABELS} accounts get their own series; the rest are counted as "${OTHER_ACCOUNTS_LABEL}").`,
      labelNames: ['account'] as const,
      registers,
    }),
    accountLabel: accountLabeller(),
  };

  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return metrics;
}
