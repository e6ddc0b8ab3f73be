// The four commands: take the typed options, wire the logger, the EC2 ports and the engine, and
// report. Option values arrive parsed and checked (options.ts via commander); what is checked here
// is only what needs more than one value: the default region's chain.
import { readRegularFile } from '../read-file.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { staticAccountGateway, type AccountGateway, type Ec2PortFactory } from '../aws/port.js';
import { openSnapshot, type SnapshotSource } from '../aws/snapshot-port.js';
import { report } from '../events.js';
import {
  createLogger,
  reportPolicyErrors,
  reportPolicyWarnings,
  resolveLogFormat,
  type Logger,
} from '../logging.js';
import { accountSelectorErrors, selectorNeeds, type AccountInventory } from '../model/accounts.js';
import type { Policy, PolicyError, PolicyLoadResult, PolicySetLoad, PolicyWarning } from '../model/policy.js';
import { DEFAULT_SETTLE_MS, describeChanging, loadInventory, loadPolicySet } from '../policy/index.js';
import { reconcilePass, type InventorySource, type PassDeps, type PassRequest } from '../reconcile/pass.js';
import type {
  ApplyOptions,
  AwsAccessOptions,
  AwsOptions,
  CommonOptions,
  LogOptions,
  PlanOptions,
  RunOptions,
} from './config.js';
import { exitCodeFor } from './exit-codes.js';
import { ORGANIZATIONS, parseRegion } from './options.js';
import { renderInvalidPolicies, renderPlan } from './render-plan.js';
import { counted } from '../text.js';

type Stream = 1 | 2;

/** `file:line:column  path  message`, one line per error; `path: message` for a whole path. */
export function formatPolicyErrors(errors: readonly PolicyError[]): string {
  return errors
    .map((e) =>
      e.wholePath === true
        ? `${e.file}: ${e.message}\n`
        : `${e.file}:${e.line}:${e.column}  ${e.path || '(document)'}  ${e.message}\n`,
    )
    .join('');
}

/**
 * `file:line:column  path  warning: message`, one line per warning about a field; `warning: message`
 * for one about a file or the whole set (its message names the path).
 */
export function formatPolicyWarnings(warnings: readonly PolicyWarning[]): string {
  return warnings
    .map(({ file, line, column, path, message }) =>
      file !== undefined && line !== undefined && column !== undefined
        ? `${file}:${line}:${column}  ${path || '(document)'}  warning: ${message}\n`
        : `warning: ${message}\n`,
    )
    .join('');
}

/** The command's logger: its level and format, on the stream its events go to. */
export function loggerFor(options: LogOptions, destination: Stream): Logger {
  return createLogger({ level: options.logLevel, destination, format: options.logFormat ?? 'auto' });
}

/** A valid policy set, with what identifies the version it was read from. */
type LoadedSet = Extract<PolicyLoadResult, { ok: true }> & {
  readonly digest: string;
  readonly version: string | undefined;
};

/** The commands that load policies. */
export type PolicyCommand = 'validate' | 'plan' | 'apply' | 'snapshot';

/**
 * What a command did not do because its input was invalid, said after the count of errors:
 * validate only judges (its exit code says invalid), plan plans, apply applies, snapshot writes.
 */
export const NOTHING_DONE: Readonly<Record<PolicyCommand, string | undefined>> = {
  validate: undefined,
  plan: 'nothing was planned',
  apply: 'nothing was applied',
  snapshot: 'nothing was written',
};

/** `summary` with the command's consequence (`3 errors in policies/; nothing was planned`). */
function withConsequence(summary: string, command: PolicyCommand): string {
  const nothing = NOTHING_DONE[command];
  return nothing === undefined ? summary : `${summary}; ${nothing}`;
}

/**
 * Loads the policy set as one version. Invalid policies are reported and end the command with
 * exit 3: the events always carry the errors; the human list is left out when the events are
 * already readable lines on the same terminal (it would show every error twice), and the summary
 * line says what the command did not do (NOTHING_DONE). A directory that
 * never held still while it was read (swapped or rewritten on every attempt) is
 * `reconcile.skipped` reason `policies-changing` and exit 1, since nothing is wrong with the
 * policies. `settle` (plan, apply, snapshot): a file modified in the last 2 s may be half-written
 * (SPEC "Safety rules of the pass"), so the load waits until every file is 2 s old and reads again,
 * for at most SETTLE_WAIT_MS in all (a CI checkout has just written every file: the wait is then
 * under 2 s); a set still being written after that is `policies-changing`, exit 1. `validate`
 * reads what is on disk now (it applies nothing). `onInvalid` also sees the errors of an invalid
 * set (plan's report on stdout).
 */
export async function loadOrReport(
  to: ReportTo,
  onInvalid?: (errors: readonly PolicyError[]) => void,
  settle = false,
): Promise<LoadedSet | { exitCode: number }> {
  const { options, logger, events, human } = to;
  const { policies: paths } = options;
  const humanOut = human === 1 ? process.stdout : process.stderr;
  const loaded = await loadSettled(paths, options.clock(), settle);
  if (loaded.kind === 'changing') {
    humanOut.write(`sg-reconciler: ${describeChanging(paths, loaded, NOTHING_DONE[to.command])}\n`);
    const { reason, file, attempts } = loaded;
    report(logger, ['reconcile.skipped', 'policies-changing'], {
      reason: 'policies-changing',
      change: reason,
      file,
      attempts,
    });
    return { exitCode: exitCodeFor({ command: 'error' }) };
  }
  const result = loaded.result;
  // Warnings are shown whether or not the set has errors: a person fixes both in one round.
  const pretty = resolveLogFormat(options.logFormat, events) === 'pretty' && humanOut.isTTY === true;
  if (!pretty) humanOut.write(formatPolicyWarnings(result.warnings ?? []));
  reportPolicyWarnings(logger, result.warnings ?? []);
  if (!result.ok) {
    const summary = withConsequence(
      `${counted(result.errors.length, 'error')} in ${paths.join(', ')}`,
      to.command,
    );
    return reportInvalidPolicies(to, result.errors, summary, onInvalid);
  }
  return { ...result, digest: loaded.digest, version: loaded.version };
}

/** Where a command reports: which command, its options, logger, and the streams of its events and human lines. */
export interface ReportTo {
  readonly command: PolicyCommand;
  readonly options: CommonOptions;
  readonly logger: Logger;
  readonly events: Stream;
  readonly human: Stream;
}

/**
 * Invalid policies, reported the one way every command reports them, and exit 3: the located human
 * lines (`file:line:column  path  message`, left out when the events are already readable lines on
 * the same terminal), one `policy.invalid` event per error, `onInvalid` (plan's JSON or Markdown
 * document on stdout), then `summary`.
 */
function reportInvalidPolicies(
  to: ReportTo,
  errors: readonly PolicyError[],
  summary: string,
  onInvalid?: (errors: readonly PolicyError[]) => void,
  eventsReported = false,
): { exitCode: number } {
  const humanOut = to.human === 1 ? process.stdout : process.stderr;
  const pretty = resolveLogFormat(to.options.logFormat, to.events) === 'pretty' && humanOut.isTTY === true;
  if (!pretty) humanOut.write(formatPolicyErrors(errors));
  if (!eventsReported) reportPolicyErrors(to.logger, errors);
  onInvalid?.(errors);
  humanOut.write(`${summary}\n`);
  return { exitCode: exitCodeFor({ command: 'invalid-input' }) };
}

/** The longest a one-shot command waits for a policy set that is still being written, in ms. */
export const SETTLE_WAIT_MS = 30_000;

/** loadPolicySet, waiting (bounded) while a file is younger than the settle window when `settle`. */
async function loadSettled(
  paths: readonly string[],
  exceptionsAt: Date,
  settle: boolean,
): Promise<PolicySetLoad> {
  const started = Date.now();
  for (;;) {
    const loaded = await loadPolicySet(paths, {
      exceptionsAt,
      ...(settle ? { settleMs: DEFAULT_SETTLE_MS } : {}),
    });
    if (loaded.kind !== 'changing' || loaded.reason !== 'settling') return loaded;
    const wait = Math.max(50, (loaded.retryAfterMs ?? DEFAULT_SETTLE_MS) + 50);
    if (Date.now() - started + wait > SETTLE_WAIT_MS) return loaded;
    await sleep(wait);
  }
}

/**
 * The region for policies that name none, when one of them does not: --region / AWS_REGION, then
 * AWS_DEFAULT_REGION, the shared config profile, instance metadata (aws/region.ts). Undefined when
 * nothing names one (the pass then reports those policies, and goes on with the others). A region
 * from the environment or a profile that is not a region name is invalid input, like --region.
 */
export async function defaultRegion(
  options: AwsAccessOptions,
  policies?: readonly Policy[],
): Promise<string | undefined> {
  if (policies?.every((p) => p.region !== undefined) === true) return options.region;
  const { resolveDefaultRegion } = await import('../aws/region.js');
  const explicit = options.region !== undefined ? { value: options.region, source: '--region' } : undefined;
  const resolved = await resolveDefaultRegion(explicit);
  if (resolved === undefined) return undefined;
  return parseRegion(
    resolved.region,
    resolved.source === '--region' ? '--region' : `the region from ${resolved.source}`,
  );
}

/** What a command talks to AWS with: EC2 ports per (account, region) and the account gateway. */
export interface SdkAccess {
  readonly ports: Ec2PortFactory;
  readonly accounts: AccountGateway;
  /** `--accounts organizations`: the discovered inventory (cached for a daemon's passes). */
  readonly inventory?: InventorySource;
  /** Closes idle connections so a finished command exits at once. */
  destroy(): void;
}

/**
 * EC2 ports and STS access over the SDK (`--endpoint` reaches EC2, STS and Organizations alike).
 * The SDK is loaded only here, so `validate` starts without it. `writesPerSecond` paces writes
 * (apply, run); plan never writes.
 */
export async function sdkAccess(
  options: AwsAccessOptions,
  region: string | undefined,
  logger: Logger,
  writesPerSecond?: number,
): Promise<SdkAccess> {
  const [
    { createEc2PortFactory },
    { createAccountAccess, createOrganizationsInventory, endpointCredentials },
  ] = await Promise.all([import('../aws/ec2-port.js'), import('../aws/accounts.js')]);
  // With --endpoint, the default chain's own STS calls (a role-assuming profile) go there too.
  const credentials =
    options.endpoint !== undefined
      ? endpointCredentials({ endpoint: options.endpoint, region, logger })
      : undefined;
  const shared = {
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(credentials !== undefined ? { credentials } : {}),
  };
  const organizations =
    options.accounts === ORGANIZATIONS
      ? createOrganizationsInventory({ ...shared, roleName: options.roleName, logger })
      : undefined;
  const accounts = createAccountAccess({
    ...shared,
    ...(region !== undefined ? { region } : {}),
    logger,
  });
  const ports = createEc2PortFactory({
    ...shared,
    ...(writesPerSecond !== undefined ? { writesPerSecond } : {}),
    credentialsFor: (account) => accounts.credentialsFor(account),
    logger,
  });
  return {
    ports,
    accounts,
    ...(organizations !== undefined
      ? {
          inventory: (policies: readonly Policy[], signal?: AbortSignal) =>
            organizations.inventory(selectorNeeds(policies), signal),
        }
      : {}),
    destroy: () => {
      ports.destroy();
      accounts.destroy();
      organizations?.destroy();
    },
  };
}

/**
 * `--accounts FILE` read and validated (errors reported as policy errors are: human lines on
 * `humanOut`, `policy.invalid` events); `organizations` and no option need no file. Undefined when
 * the file is invalid (exit 3).
 */
export async function inventoryFileOrReport(
  accounts: string | undefined,
  logger: Logger,
  humanOut: NodeJS.WritableStream,
  onInvalid?: (errors: readonly PolicyError[]) => void,
): Promise<{ inventory: AccountInventory | undefined } | undefined> {
  if (accounts === undefined || accounts === ORGANIZATIONS) return { inventory: undefined };
  const result = await loadInventory(accounts);
  if (result.ok) return { inventory: result.inventory };
  // plan --format json|markdown: the document says valid: false with the inventory's errors.
  onInvalid?.(result.errors);
  humanOut.write(formatPolicyErrors(result.errors));
  humanOut.write(`${counted(result.errors.length, 'error')} in the account inventory ${accounts}\n`);
  reportPolicyErrors(logger, result.errors);
  return undefined;
}

/**
 * The account inventory of a command, its policies' account selectors checked against it before any
 * AWS call (SPEC "Accounts and regions"); the one check validate, plan and apply share. An invalid
 * inventory file, or a selector it cannot serve, is reported like invalid policies and is exit 3
 * (plan's `onInvalid` document then says `valid: false` with the located errors).
 * - `--accounts FILE`: every selector must pick at least one of its accounts.
 * - no `--accounts`: a policy with `spec.accounts` is an error for plan and apply (`selectorsNeedInventory`);
 *   validate then has nothing to check them against.
 * - `--accounts organizations`: the organization is known only once the pass has read it; the pass
 *   checks then (reconcile/pass.ts) and its failure carries the same errors.
 */
export async function checkedInventory(
  to: ReportTo,
  policies: readonly Policy[],
  selectorsNeedInventory: boolean,
  onInvalid?: (errors: readonly PolicyError[]) => void,
): Promise<{ inventory: AccountInventory | undefined } | { exitCode: number }> {
  const { accounts } = to.options;
  const humanOut = to.human === 1 ? process.stdout : process.stderr;
  const file = await inventoryFileOrReport(accounts, to.logger, humanOut, onInvalid);
  if (file === undefined) return { exitCode: exitCodeFor({ command: 'invalid-input' }) };
  if (accounts === ORGANIZATIONS || (accounts === undefined && !selectorsNeedInventory)) return file;
  const errors = accountSelectorErrors(policies, file.inventory);
  if (errors.length === 0) return file;
  const summary = withConsequence(
    accounts === undefined
      ? `${counted(errors.length, 'account selector')} ${errors.length === 1 ? 'needs' : 'need'} an account inventory (--accounts)`
      : `${counted(errors.length, 'account selector')} ${errors.length === 1 ? 'does' : 'do'} not match the inventory ${accounts}`,
    to.command,
  );
  return reportInvalidPolicies(to, errors, summary, onInvalid);
}

/** The request fields every pass of a command shares: inventory, shard, unit concurrency. */
function unitOptions(
  options: AwsOptions,
  inventory: AccountInventory | undefined,
): Pick<PassRequest, 'inventory' | 'shard' | 'unitConcurrency'> {
  return {
    ...(inventory !== undefined ? { inventory } : {}),
    ...(options.shard !== undefined ? { shard: options.shard } : {}),
    unitConcurrency: options.concurrency,
  };
}

/** The pass's dependencies from the SDK access: ports, the account gateway and a discovered inventory. */
function passDeps(access: SdkAccess): Pick<PassDeps, 'ports' | 'accounts' | 'inventory'> {
  return {
    ports: access.ports,
    accounts: access.accounts,
    ...(access.inventory !== undefined ? { inventory: access.inventory } : {}),
  };
}

/**
 * The largest `--snapshot` file read (256 MiB): a snapshot of 10,000 groups of 25 rules is about
 * 30 MB, and JSON.parse cannot take a string much over 512 MiB at all.
 */
const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;

/**
 * Reads and opens a `--snapshot` file (either format). On failure reports it (stderr line and a
 * `reconcile.failed` event with `SnapshotUnreadable`) and returns undefined: the caller exits 1.
 */
export async function openSnapshotFile(
  file: string,
  region: string | undefined,
  logger: Logger,
): Promise<SnapshotSource | undefined> {
  try {
    const text = (await readRegularFile(file, MAX_SNAPSHOT_BYTES)).toString('utf8');
    return openSnapshot(JSON.parse(text) as unknown, file, { region });
  } catch (error) {
    // JSON.parse quotes the text it choked on: a binary file's control bytes are escaped, not printed.
    let message = '';
    for (const char of error instanceof Error ? error.message : String(error)) {
      const code = char.charCodeAt(0);
      message += code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : char;
    }
    process.stderr.write(`sg-reconciler: cannot use snapshot ${file}: ${message}\n`);
    report(logger, 'reconcile.failed', { errorCode: 'SnapshotUnreadable', error: message });
    return undefined;
  }
}

/**
 * A `config.invalid` event (`errorCode` InvalidOption, the `option` when one is to blame) and the
 * human line on stderr; returns the invalid-input exit code (3).
 */
export function invalidConfig(logger: Logger, error: unknown, option?: string): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`sg-reconciler: ${message}\n`);
  report(logger, 'config.invalid', {
    errorCode: 'InvalidOption',
    ...(option !== undefined ? { option } : {}),
    error: message,
  });
  return exitCodeFor({ command: 'invalid-input' });
}

export async function runValidate(options: CommonOptions): Promise<number> {
  const logger = loggerFor(options, 2);
  const to: ReportTo = { command: 'validate', options, logger, events: 2, human: 1 };
  const loaded = await loadOrReport(to);
  if ('exitCode' in loaded) return loaded.exitCode;
  const { accounts } = options;
  // Offline: every account selector must pick at least one account of the inventory file.
  const file = await checkedInventory(to, loaded.policies, false);
  if ('exitCode' in file) return exitCodeFor({ command: 'validate', valid: false });
  // Organizations is an AWS call: its accounts are known only at plan time.
  const unchecked =
    accounts === ORGANIZATIONS
      ? '; account selectors are not checked offline with --accounts organizations (plan checks them)'
      : '';
  // Warnings leave the set valid (exit 0): the policies apply as written.
  const warned = loaded.warnings.length > 0 ? `, with ${counted(loaded.warnings.length, 'warning')}` : '';
  process.stdout.write(
    `${counted(loaded.policies.length, 'policy', 'policies')} in ${counted(loaded.files.length, 'file')} under ${options.policies.join(', ')} ${loaded.policies.length === 1 ? 'is' : 'are'} valid${warned}${unchecked}\n`,
  );
  return exitCodeFor({ command: 'validate', valid: true });
}

export async function runPlan(options: PlanOptions): Promise<number> {
  const logger = loggerFor(options, 2);
  // Invalid policies: the report is still one document on stdout (SPEC "Output streams"), so a
  // pull request's plan comment shows the errors.
  const onInvalid = (errors: readonly PolicyError[]): void => {
    if (options.format !== 'text') process.stdout.write(renderInvalidPolicies(errors, options.format));
  };
  // The text report of an invalid set is its errors, on stdout like any plan report (SPEC "Output streams");
  // json and markdown print their own document there, so their human lines go to stderr.
  const to: ReportTo = {
    command: 'plan',
    options,
    logger,
    events: 2,
    human: options.format === 'text' ? 1 : 2,
  };
  const loaded = await loadOrReport(to, onInvalid, true);
  if ('exitCode' in loaded) return loaded.exitCode;
  const file = await checkedInventory(to, loaded.policies, true, onInvalid);
  if ('exitCode' in file) return file.exitCode;

  let access: SdkAccess;
  let region: string | undefined;
  if (options.snapshot !== undefined) {
    const snapshot = await openSnapshotFile(options.snapshot, options.region, logger);
    if (snapshot === undefined) return exitCodeFor({ command: 'error' });
    // Offline: the snapshot's own account stands for the credentials' account.
    access = {
      ports: snapshot.ports,
      accounts: staticAccountGateway(snapshot.credentialsAccount),
      destroy: () => undefined,
    };
    // Policies naming no region: --region, else the region the snapshot was taken with.
    region = options.region ?? snapshot.defaultRegion;
  } else {
    try {
      region = await defaultRegion(options, loaded.policies);
    } catch (error) {
      return invalidConfig(logger, error, '--region');
    }
    access = await sdkAccess(options, region, logger);
  }

  const result = await reconcilePass(
    { ...passDeps(access), logger, clock: options.clock },
    {
      mode: 'plan',
      policies: loaded.policies,
      ...(loaded.guardrails !== undefined ? { guardrails: loaded.guardrails } : {}),
      policyFiles: loaded.files.length,
      policySetDigest: loaded.digest,
      policyVersion: loaded.version,
      defaultRegion: region,
      maxRulesPerGroup: options.maxRulesPerGroup,
      ...unitOptions(options, file.inventory),
      updateDescriptions: options.updateDescriptions,
    },
  ).finally(() => access.destroy());
  if (result.status === 'failed' && result.policyErrors !== undefined)
    reportInvalidPolicies(to, result.policyErrors, `${result.error}; nothing was planned`, onInvalid, true);
  else process.stdout.write(renderPlan(result, options.format));
  return exitCodeFor({
    command: 'plan',
    result,
    detailedExitcode: options.detailedExitcode,
    failOnUnresolved: options.failOnUnresolved,
  });
}

export async function runApply(options: ApplyOptions): Promise<number> {
  const logger = loggerFor(options, 1);
  const to: ReportTo = { command: 'apply', options, logger, events: 1, human: 2 };
  const loaded = await loadOrReport(to, undefined, true);
  if ('exitCode' in loaded) return loaded.exitCode;
  const file = await checkedInventory(to, loaded.policies, true);
  if ('exitCode' in file) return file.exitCode;
  let region: string | undefined;
  try {
    region = await defaultRegion(options, loaded.policies);
  } catch (error) {
    return invalidConfig(logger, error, '--region');
  }
  const access = await sdkAccess(options, region, logger, options.writeRate);
  const result = await reconcilePass(
    { ...passDeps(access), logger, clock: options.clock },
    {
      mode: options.dryRun ? 'dry-run' : 'apply',
      policies: loaded.policies,
      ...(loaded.guardrails !== undefined ? { guardrails: loaded.guardrails } : {}),
      policyFiles: loaded.files.length,
      policySetDigest: loaded.digest,
      policyVersion: loaded.version,
      defaultRegion: region,
      maxRulesPerGroup: options.maxRulesPerGroup,
      ...unitOptions(options, file.inventory),
      updateDescriptions: options.updateDescriptions,
    },
  ).finally(() => access.destroy());
  if (result.status === 'failed' && result.policyErrors !== undefined)
    reportInvalidPolicies(to, result.policyErrors, `${result.error}; nothing was applied`, undefined, true);
  return exitCodeFor({ command: 'apply', result, failOnUnresolved: options.failOnUnresolved });
}

/**
 * SGR_INTERNAL_HTTP_IDLE_TIMEOUT_MS shortens the HTTP idle timeout (default 15 s) so the integration
 * test of silent connections does not wait for the default. Internal: not an option, not documented.
 */
function internalHttpLimits(): { httpLimits?: { idleTimeoutMs: number } } {
  const raw = Number(process.env['SGR_INTERNAL_HTTP_IDLE_TIMEOUT_MS']);
  return Number.isInteger(raw) && raw > 0 ? { httpLimits: { idleTimeoutMs: raw } } : {};
}

export async function runRunCommand(options: RunOptions): Promise<number> {
  // Loaded here, not at start-up: the daemon (prom-client, node-cron, the HTTP server) is ~100 ms
  // of module loading that validate, plan and apply never use.
  const { reportStartFailure, runDaemon } = await import('../daemon/index.js');
  const logger = loggerFor(options, 1);
  // Like the daemon's own start-up failures, each of these ends with daemon.failed (start-up).
  const file = await inventoryFileOrReport(options.accounts, logger, process.stderr);
  if (file === undefined) {
    return reportStartFailure(logger, 'invalid-input', {
      errorCode: 'InvalidInventory',
      error: `the account inventory ${options.accounts ?? ''} is invalid (policy.invalid events)`,
    });
  }
  // The daemon re-reads its policies every pass: resolve the default region once, up front.
  let region: string | undefined;
  try {
    region = await defaultRegion(options);
  } catch (error) {
    invalidConfig(logger, error, '--region');
    const text = error instanceof Error ? error.message : String(error);
    return reportStartFailure(logger, 'invalid-input', { errorCode: 'InvalidOption', error: text });
  }
  const access = await sdkAccess(options, region, logger, options.writeRate);
  return runDaemon(
    { ...options, region, passTimeoutSeconds: options.passTimeout },
    {
      logger,
      ...passDeps(access),
      unitOptions: unitOptions(options, file.inventory),
      // Checked at start-up (exit 3) and on every policy reload, like any policy error.
      ...(options.accounts !== ORGANIZATIONS
        ? { selectorErrors: (policies: readonly Policy[]) => accountSelectorErrors(policies, file.inventory) }
        : {}),
      ...internalHttpLimits(),
    },
  ).finally(() => access.destroy());
}
