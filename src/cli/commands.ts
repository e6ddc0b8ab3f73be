// The four commands: resolve options, wire the logger, the EC2 ports and the engine, and report.
import { readFile } from 'node:fs/promises';
import { staticAccountGateway, type AccountGateway, type Ec2PortFactory } from '../aws/port.js';
import { createSnapshotPortFactory } from '../aws/snapshot-port.js';
import { runDaemon, validateSchedule } from '../daemon/index.js';
import { report } from '../events.js';
import { createLogger, reportPolicyErrors, type Logger, type LogLevel } from '../logging.js';
import type { PolicyError, PolicyLoadResult } from '../model/policy.js';
import { describeChanging, loadPolicySet } from '../policy/index.js';
import { LOCAL_ACCOUNT, reconcilePass } from '../reconcile/pass.js';
import type { ApplyConfig, CommonConfig, PlanConfig, RunConfig } from './config.js';
import { exitCodeFor } from './exit-codes.js';
import {
  InvalidOptionError,
  parseEndpoint,
  parseFormat,
  parseListen,
  parseLogLevel,
  parsePositiveInt,
  parsePositiveNumber,
  parseRegion,
  parseTimezone,
} from './options.js';
import type { RawOptions } from './program.js';
import { renderPlan } from './render-plan.js';

type Stream = 1 | 2;

function safeLogLevel(raw: RawOptions): LogLevel {
  try {
    return parseLogLevel(raw.logLevel);
  } catch {
    return 'info';
  }
}

function commonConfig(raw: RawOptions): CommonConfig {
  return {
    policies: raw.policies,
    region: raw.region === undefined || raw.region === '' ? undefined : parseRegion(raw.region),
    endpoint: raw.endpoint === undefined || raw.endpoint === '' ? undefined : parseEndpoint(raw.endpoint),
    logLevel: parseLogLevel(raw.logLevel),
    maxRulesPerGroup: parsePositiveInt('--max-rules-per-group', raw.maxRulesPerGroup),
    writesPerSecond: parsePositiveNumber('--write-rate', raw.writeRate ?? '3'),
  };
}

/**
 * Resolves a command's config; an unusable option value is reported (human line on stderr and a
 * `config.invalid` event on the command's event stream) and ends the command with exit 3.
 */
function resolve<T>(raw: RawOptions, events: Stream, build: () => T): { config: T } | { exitCode: number } {
  try {
    return { config: build() };
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    process.stderr.write(`sg-reconciler: ${error.message}\n`);
    const logger = createLogger({ level: safeLogLevel(raw), destination: events });
    report(logger, 'config.invalid', { error: error.message });
    return { exitCode: exitCodeFor({ command: 'invalid-input' }) };
  }
}

/** `file:line:column  path  message`, one line per error. */
export function formatPolicyErrors(errors: readonly PolicyError[]): string {
  return errors
    .map((e) => `${e.file}:${e.line}:${e.column}  ${e.path || '(document)'}  ${e.message}\n`)
    .join('');
}

/** A valid policy set, with what identifies the version it was read from. */
type LoadedSet = Extract<PolicyLoadResult, { ok: true }> & {
  readonly digest: string;
  readonly version: string | undefined;
};

/**
 * Loads the policy set as one version. Invalid policies are reported (events + human lines) and
 * end the command with exit 3; a directory that never held still while it was read (swapped or
 * rewritten on every attempt) is `reconcile.skipped` reason `policies-changing` and exit 1, since
 * nothing is wrong with the policies. One-shot commands have no settle window: they are started
 * after their caller's writes (a CI checkout, a pre-commit hook), not at a moment of their own.
 */
async function loadOrReport(
  paths: readonly string[],
  logger: Logger,
  humanOut: NodeJS.WritableStream,
): Promise<LoadedSet | { exitCode: number }> {
  const loaded = await loadPolicySet(paths);
  if (loaded.kind === 'changing') {
    humanOut.write(`sg-reconciler: ${describeChanging(paths, loaded)}\n`);
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
  if (!result.ok) {
    humanOut.write(formatPolicyErrors(result.errors));
    humanOut.write(`${result.errors.length} error(s) in ${paths.join(', ')}; nothing was applied\n`);
    reportPolicyErrors(logger, result.errors);
    return { exitCode: exitCodeFor({ command: 'invalid-input' }) };
  }
  for (const warning of result.warnings) {
    report(logger, 'policy.warning', { warning });
  }
  return { ...result, digest: loaded.digest, version: loaded.version };
}

/** What a command talks to AWS with: EC2 ports per (account, region) and the account gateway. */
interface SdkAccess {
  readonly ports: Ec2PortFactory;
  readonly accounts: AccountGateway;
  /** Closes idle connections so a finished command exits at once. */
  destroy(): void;
}

/**
 * EC2 ports and STS access over the SDK (`--endpoint` reaches EC2, STS and Organizations alike).
 * The SDK is loaded only here, so `validate` starts without it.
 */
async function sdkAccess(config: CommonConfig, logger: Logger): Promise<SdkAccess> {
  const [{ createEc2PortFactory }, { createAccountAccess }] = await Promise.all([
    import('../aws/ec2-port.js'),
    import('../aws/accounts.js'),
  ]);
  const accounts = createAccountAccess({
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    ...(config.region !== undefined ? { region: config.region } : {}),
    logger,
  });
  const ports = createEc2PortFactory({
    ...(config.endpoint !== undefined ? { endpoint: config.endpoint } : {}),
    writesPerSecond: config.writesPerSecond,
    credentialsFor: (account) => accounts.credentialsFor(account),
    logger,
  });
  return {
    ports,
    accounts,
    destroy: () => {
      ports.destroy();
      accounts.destroy();
    },
  };
}

export async function runValidate(raw: RawOptions): Promise<number> {
  const logger = createLogger({ level: safeLogLevel(raw), destination: 2 });
  const loaded = await loadOrReport(raw.policies, logger, process.stdout);
  if ('exitCode' in loaded) return loaded.exitCode;
  process.stdout.write(
    `${loaded.policies.length} policies in ${loaded.files.length} files under ${raw.policies.join(', ')} are valid\n`,
  );
  return exitCodeFor({ command: 'validate', valid: true });
}

export async function runPlan(raw: RawOptions): Promise<number> {
  const resolved = resolve<PlanConfig>(raw, 2, () => ({
    ...commonConfig(raw),
    format: parseFormat(raw.format ?? 'text'),
    detailedExitcode: raw.detailedExitcode === true,
    snapshot: raw.snapshot,
  }));
  if ('exitCode' in resolved) return resolved.exitCode;
  const { config } = resolved;
  const logger = createLogger({ level: config.logLevel, destination: 2 });
  const loaded = await loadOrReport(config.policies, logger, process.stderr);
  if ('exitCode' in loaded) return loaded.exitCode;

  let access: SdkAccess;
  let defaultRegion = config.region;
  if (config.snapshot !== undefined) {
    try {
      const text = await readFile(config.snapshot, 'utf8');
      const json = JSON.parse(text) as unknown;
      const ports = createSnapshotPortFactory(json, config.snapshot);
      // A snapshot names the account only as the groups' OwnerId.
      access = { ports, accounts: staticAccountGateway(snapshotAccount(json)), destroy: () => undefined };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`sg-reconciler: cannot use snapshot ${config.snapshot}: ${message}\n`);
      report(logger, 'reconcile.failed', { errorCode: 'SnapshotUnreadable', error: message });
      return exitCodeFor({ command: 'error' });
    }
    // A snapshot is one region's groups; policies that name no region plan against it too.
    defaultRegion ??= 'snapshot';
  } else {
    access = await sdkAccess(config, logger);
  }

  const result = await reconcilePass(
    { ports: access.ports, accounts: access.accounts, logger },
    {
      mode: 'plan',
      policies: loaded.policies,
      policyFiles: loaded.files.length,
      policySetDigest: loaded.digest,
      policyVersion: loaded.version,
      defaultRegion,
      maxRulesPerGroup: config.maxRulesPerGroup,
    },
  ).finally(() => access.destroy());
  process.stdout.write(renderPlan(result, config.format));
  return exitCodeFor({ command: 'plan', result, detailedExitcode: config.detailedExitcode });
}

export async function runApply(raw: RawOptions): Promise<number> {
  const resolved = resolve<ApplyConfig>(raw, 1, () => ({
    ...commonConfig(raw),
    dryRun: raw.dryRun === true,
  }));
  if ('exitCode' in resolved) return resolved.exitCode;
  const { config } = resolved;
  const logger = createLogger({ level: config.logLevel, destination: 1 });
  const loaded = await loadOrReport(config.policies, logger, process.stderr);
  if ('exitCode' in loaded) return loaded.exitCode;
  const access = await sdkAccess(config, logger);
  const result = await reconcilePass(
    { ports: access.ports, accounts: access.accounts, logger },
    {
      mode: config.dryRun ? 'dry-run' : 'apply',
      policies: loaded.policies,
      policyFiles: loaded.files.length,
      policySetDigest: loaded.digest,
      policyVersion: loaded.version,
      defaultRegion: config.region,
      maxRulesPerGroup: config.maxRulesPerGroup,
    },
  ).finally(() => access.destroy());
  return exitCodeFor({ command: 'apply', result });
}

/**
 * SGR_INTERNAL_HTTP_IDLE_TIMEOUT_MS shortens the HTTP idle timeout (default 15 s) so the integration
 * test of silent connections does not wait for the default. Internal: not an option, not documented.
 */
function internalHttpLimits(): { httpLimits?: { idleTimeoutMs: number } } {
  const raw = Number(process.env['SGR_INTERNAL_HTTP_IDLE_TIMEOUT_MS']);
  return Number.isInteger(raw) && raw > 0 ? { httpLimits: { idleTimeoutMs: raw } } : {};
}

export async function runRunCommand(raw: RawOptions): Promise<number> {
  const resolved = resolve<RunConfig>(raw, 1, () => {
    const schedule = raw.schedule ?? '*/5 * * * *';
    const scheduleError = validateSchedule(schedule);
    if (scheduleError !== undefined) throw new InvalidOptionError(scheduleError);
    return {
      ...commonConfig(raw),
      dryRun: raw.dryRun === true,
      schedule,
      listen: parseListen(raw.listen ?? '0.0.0.0:9464'),
      timezone: parseTimezone(raw.timezone ?? 'UTC'),
      passTimeoutSeconds: parsePositiveInt('--pass-timeout', raw.passTimeout ?? '240'),
    };
  });
  if ('exitCode' in resolved) return resolved.exitCode;
  const { config } = resolved;
  const logger = createLogger({ level: config.logLevel, destination: 1 });
  const access = await sdkAccess(config, logger);
  return runDaemon(config, {
    logger,
    ports: access.ports,
    accounts: access.accounts,
    ...internalHttpLimits(),
  }).finally(() => access.destroy());
}

/** The account of a snapshot: the OwnerId of its first group, else LOCAL_ACCOUNT. */
function snapshotAccount(json: unknown): string {
  const groups = (json as { SecurityGroups?: unknown } | null)?.SecurityGroups;
  const first: unknown = Array.isArray(groups) ? groups[0] : undefined;
  const owner = (first as { OwnerId?: unknown } | undefined)?.OwnerId;
  return typeof owner === 'string' && /^\d{12}$/.test(owner) ? owner : LOCAL_ACCOUNT;
}
