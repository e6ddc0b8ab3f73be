// `sg-reconciler snapshot --out FILE`: the live state every policy needs, for offline plans.
import { report } from '../events.js';
import type { Logger } from '../logging.js';
import { takeSnapshot } from '../reconcile/snapshot.js';
import { errorInfo } from '../reconcile/support.js';
import {
  defaultRegion,
  inventoryFileOrReport,
  invalidConfig,
  loadOrReport,
  loggerFor,
  sdkAccess,
} from './commands.js';
import type { SnapshotOptions } from './config.js';
import { EXIT_OK, exitCodeFor } from './exit-codes.js';
import { fileErrorReason, writeFileAtomic } from './files.js';
import { counted } from '../text.js';

/** Says why no snapshot was written: policies without a region, and every failed read. */
function reportSnapshotFailures(
  outcome: Extract<Awaited<ReturnType<typeof takeSnapshot>>, { ok: false }>,
  out: string,
  logger: Logger,
): void {
  if (outcome.noRegion.length > 0) {
    const error =
      `${outcome.noRegion.length === 1 ? 'policy' : 'policies'} ${outcome.noRegion.join(', ')} ` +
      `${outcome.noRegion.length === 1 ? 'names' : 'name'} no region: set spec.region in the policy, ` +
      'pass --region, or set AWS_REGION or AWS_DEFAULT_REGION (or a region in the shared config profile)';
    process.stderr.write(`sg-reconciler: ${error}; nothing was written\n`);
    report(logger, 'snapshot.failed', { errorCode: 'NoRegion', error, file: out });
  }
  for (const failure of outcome.failures) {
    process.stderr.write(
      `sg-reconciler: read failed: ${failure.account} ${failure.region} ${failure.action} ${failure.errorCode}: ${failure.error}\n`,
    );
    report(logger, ['read.failed', 'snapshot'], { ...failure, policies: [], targets: [] });
  }
  if (outcome.failures.length > 0) {
    process.stderr.write(
      `sg-reconciler: ${counted(outcome.failures.length, 'read')} failed; ${out} was not written\n`,
    );
  }
}

/**
 * Reads every region the policies need and writes one snapshot document to `--out`, atomically.
 * Exit 0 written; 1 any read (or the write) failed, nothing written; 3 invalid policies or options.
 * Report lines on stdout, events on stderr (as plan).
 */
export async function runSnapshot(options: SnapshotOptions): Promise<number> {
  const logger = loggerFor(options, 2);
  const out = options.out;
  if (out === undefined || out.trim() === '') {
    return invalidConfig(
      logger,
      new Error('snapshot needs --out <file>: where to write the snapshot, e.g. --out snapshot.json'),
      '--out',
    );
  }
  const loaded = await loadOrReport(
    { command: 'snapshot', options, logger, events: 2, human: 2 },
    undefined,
    true,
  );
  if ('exitCode' in loaded) return loaded.exitCode;
  const file = await inventoryFileOrReport(options.accounts, logger, process.stderr);
  if (file === undefined) return exitCodeFor({ command: 'invalid-input' });
  let region: string | undefined;
  try {
    region = await defaultRegion(options, loaded.policies);
  } catch (error) {
    return invalidConfig(logger, error, '--region');
  }
  const config = { ...options, out, region };

  const access = await sdkAccess(options, region, logger);
  let outcome: Awaited<ReturnType<typeof takeSnapshot>>;
  try {
    outcome = await (async () => {
      // --accounts organizations: discovered now, once, for every unit the policies select.
      const inventory = file.inventory ?? (await access.inventory?.(loaded.policies));
      return takeSnapshot({
        policies: loaded.policies,
        defaultRegion: config.region,
        ports: access.ports,
        accounts: access.accounts,
        ...(loaded.guardrails !== undefined ? { guardrails: loaded.guardrails } : {}),
        ...(inventory !== undefined ? { inventory } : {}),
        ...(options.shard !== undefined ? { shard: options.shard } : {}),
        concurrency: options.concurrency,
      });
    })().finally(() => access.destroy());
  } catch (error) {
    // Only the Organizations discovery can throw here: takeSnapshot returns its read failures.
    const { errorCode, error: message } = errorInfo(error);
    process.stderr.write(
      `sg-reconciler: account discovery failed: ${errorCode}: ${message}; nothing was written\n`,
    );
    report(logger, 'snapshot.failed', { errorCode, error: message, file: config.out });
    return exitCodeFor({ command: 'error' });
  }

  if (!outcome.ok) {
    reportSnapshotFailures(outcome, config.out, logger);
    return exitCodeFor({ command: 'error' });
  }

  try {
    await writeFileAtomic(config.out, `${JSON.stringify(outcome.document, null, 2)}\n`);
  } catch (error) {
    const reason = fileErrorReason(error);
    process.stderr.write(`sg-reconciler: cannot write ${config.out}: ${reason}\n`);
    report(logger, 'snapshot.failed', { errorCode: 'WriteFailed', error: reason, file: config.out });
    return exitCodeFor({ command: 'error' });
  }
  const account = outcome.document.credentialsAccount;
  report(logger, 'snapshot.written', {
    file: config.out,
    account,
    units: outcome.units,
    groups: outcome.groups,
  });
  process.stdout.write(
    `wrote ${config.out}: ${counted(outcome.groups, 'group')} in ${outcome.units.join(', ') || 'no unit'} (account/region)\n`,
  );
  return EXIT_OK;
}
