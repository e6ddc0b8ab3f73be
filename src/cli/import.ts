// `sg-reconciler import --out DIR`: policies that declare the live ingress rules of chosen groups.
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import type { Ec2Port } from '../aws/port.js';
import type { AccountInventory } from '../model/accounts.js';
import { accountRefs, shardOf } from '../model/units.js';
import { report } from '../events.js';
import { adoptUnits, parsePolicyTexts, policySchemaId, type AdoptedPolicy } from '../policy/index.js';
import { selectGroups, type GroupSelection } from '../reconcile/import.js';
import { errorInfo, mapBounded } from '../reconcile/support.js';
import {
  defaultRegion,
  formatPolicyErrors,
  inventoryFileOrReport,
  invalidConfig,
  loggerFor,
  openSnapshotFile,
  sdkAccess,
} from './commands.js';
import type { ImportOptions } from './config.js';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK, exitCodeFor } from './exit-codes.js';
import type { Logger } from '../logging.js';
import type { SelectedGroups } from '../reconcile/import.js';
import { fileErrorReason, writeFileAtomic } from './files.js';
import { counted } from '../text.js';

/**
 * --group-id, --tag and --all as one selection; throws an Error saying what to write when they are
 * missing or contradict each other (each value was checked by its parser in options.ts).
 */
export function selectionOf(options: Pick<ImportOptions, 'groupId' | 'tag' | 'all'>): GroupSelection {
  const groupIds = options.groupId ?? [];
  const tags = options.tag ?? {};
  const tagged = Object.keys(tags).length > 0;
  if (options.all) {
    if (groupIds.length > 0 || tagged) {
      throw new Error('--all imports every group; drop --group-id and --tag, or drop --all');
    }
    return { all: true };
  }
  if (groupIds.length === 0 && !tagged) {
    throw new Error(
      'choose the groups to import: --group-id sg-0123456789abcdef0 (repeatable), --tag K=V (repeatable; a group must carry every tag), or --all',
    );
  }
  return { all: false, groupIds: [...groupIds], tags: { ...tags } };
}

const NO_REGION =
  'import needs a region: pass --region, or set AWS_REGION, AWS_DEFAULT_REGION or region in the AWS profile';

/** One (account, region) unit to import from: its port and how to reach its account first. */
interface ImportUnit {
  readonly account: string;
  readonly region: string;
  /** The unit's port, once its account is reached (AssumeRole when needed; rejects when that fails). */
  open(): Promise<Ec2Port>;
}

/** The units of an import, the credentials' account, and what closes the SDK's connections. */
interface ImportSource {
  readonly units: readonly ImportUnit[];
  readonly ownAccount: string;
  destroy(): void;
}

/**
 * Where `import` reads: from `--snapshot`, every (account, region) unit the snapshot holds (only
 * `--region`'s when given; only the inventory file's accounts when `--accounts` names one); live,
 * every account of the inventory (`--accounts`; without it the credentials' own account) in the
 * region (`--region` and the AWS CLI's chain). `{ exitCode: 3 }` when no region can be found, 1 when
 * the snapshot cannot be read or the own account / Organizations cannot be read.
 */
async function importUnits(
  options: ImportOptions,
  inventory: AccountInventory | undefined,
  logger: Logger,
): Promise<ImportSource | { exitCode: number }> {
  if (options.snapshot !== undefined) {
    const snapshot = await openSnapshotFile(options.snapshot, options.region, logger);
    if (snapshot === undefined) return { exitCode: EXIT_FAILURE };
    const region = options.region;
    if (region === undefined && snapshot.format === 'aws-cli') return { exitCode: EXIT_INVALID };
    const accounts = inventory === undefined ? undefined : new Set(inventory.accounts.map((a) => a.id));
    let held = snapshot.units.filter(
      (u) => (region === undefined || u.region === region) && (accounts?.has(u.account) ?? true),
    );
    // A region the snapshot does not hold: its port's reads fail, naming the gap (never "no groups").
    if (held.length === 0 && region !== undefined) held = [{ account: snapshot.credentialsAccount, region }];
    return {
      units: held.map((u) => ({
        ...u,
        open: () => Promise.resolve(snapshot.portFor(u.account, u.region)),
      })),
      ownAccount: snapshot.credentialsAccount,
      destroy: () => undefined,
    };
  }
  let region: string | undefined;
  try {
    region = await defaultRegion(options);
  } catch (error) {
    return { exitCode: invalidConfig(logger, error, '--region') };
  }
  if (region === undefined) return { exitCode: EXIT_INVALID };
  const access = await sdkAccess(options, region, logger);
  try {
    const own = await access.accounts.ownAccount();
    const resolved = inventory ?? (await access.inventory?.([]));
    const refs = accountRefs(resolved, own);
    const accounts = resolved === undefined ? [own.account] : resolved.accounts.map((a) => a.id);
    const inRegion = region;
    return {
      units: accounts.map((account) => ({
        account,
        region: inRegion,
        open: async () => {
          await access.accounts.reach(refs(account));
          return access.ports(inRegion, account);
        },
      })),
      ownAccount: own.account,
      destroy: () => access.destroy(),
    };
  } catch (error) {
    access.destroy();
    const info = errorInfo(error);
    process.stderr.write(
      `sg-reconciler: cannot find the accounts to import from: ${info.errorCode}: ${info.error}\n`,
    );
    report(logger, ['read.failed', 'import'], {
      region,
      action: 'GetCallerIdentity',
      ...info,
      policies: [],
      targets: [],
    });
    return { exitCode: EXIT_FAILURE };
  }
}

/** The read of one unit: its groups, or undefined when the read (or reaching the account) failed. */
interface UnitSelection {
  readonly unit: ImportUnit;
  readonly selected: SelectedGroups | undefined;
}

/** Reads the selection in every unit, `concurrency` at once; each failure is reported (read.failed). */
async function readSelections(
  units: readonly ImportUnit[],
  selection: GroupSelection,
  concurrency: number,
  logger: Logger,
): Promise<UnitSelection[]> {
  return mapBounded(units, concurrency, async (unit): Promise<UnitSelection> => {
    let action = 'AssumeRole';
    try {
      const port = await unit.open();
      action = 'DescribeSecurityGroups';
      return { unit, selected: await selectGroups(port, selection) };
    } catch (error) {
      const info = errorInfo(error);
      process.stderr.write(
        `sg-reconciler: read failed: ${unitName(unit)} ${action} ${info.errorCode}: ${info.error}\n`,
      );
      report(logger, ['read.failed', 'import'], {
        account: unit.account,
        region: unit.region,
        action,
        ...info,
        policies: [],
        targets: [],
      });
      return { unit, selected: undefined };
    }
  });
}

/** `account/region` of a unit, for people. */
function unitName(unit: Pick<ImportUnit, 'account' | 'region'> | undefined): string {
  return unit === undefined ? 'an unknown unit' : `${unit.account}/${unit.region}`;
}

/** The units read, in words: one `account/region`, or how many. */
function describeUnits(units: readonly ImportUnit[]): string {
  const [first] = units;
  return units.length === 1 && first !== undefined
    ? `${first.region} (account ${first.account})`
    : `${units.length} (account, region) units`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether the policies import is about to write validate; if not, says so (a bug in sg-reconciler). */
function validates(policies: readonly AdoptedPolicy[], out: string): boolean {
  const check = parsePolicyTexts(
    policies.map((p) => ({ file: join(out, p.fileName), text: new TextEncoder().encode(p.text) })),
  );
  if (check.ok) return true;
  process.stderr.write(formatPolicyErrors(check.errors));
  process.stderr.write(
    'sg-reconciler: the imported policies do not validate (a bug in sg-reconciler); nothing was written\n',
  );
  return false;
}

/** Writes each policy file atomically (import.written per file); EXIT_OK, or EXIT_FAILURE when a write fails. */
async function writePolicies(
  out: string,
  targets: readonly { policy: AdoptedPolicy; file: string }[],
  unitOf: ReadonlyMap<string, ImportUnit>,
  logger: Logger,
): Promise<number> {
  try {
    await mkdir(out, { recursive: true });
    for (const { policy, file } of targets) {
      await writeFileAtomic(file, policy.text);
      report(logger, 'import.written', {
        file,
        policy: policy.name,
        account: unitOf.get(policy.group.groupId)?.account,
        region: policy.region,
        groupId: policy.group.groupId,
        rules: policy.rules,
      });
      process.stdout.write(
        `wrote ${file}: ${policy.group.groupId} (${policy.group.groupName}) in ${unitName(unitOf.get(policy.group.groupId))}, ${counted(policy.rules, 'rule')} in ${counted(policy.entries, 'ingress entry', 'ingress entries')}\n`,
      );
    }
    return EXIT_OK;
  } catch (error) {
    const reason = fileErrorReason(error);
    process.stderr.write(`sg-reconciler: cannot write into ${out}: ${reason}\n`);
    return EXIT_FAILURE;
  }
}

/** What import did not write a file for (import.skipped), and how many policies it wrote where. */
function reportSummary(
  adopted: ReturnType<typeof adoptUnits>,
  unitOf: ReadonlyMap<string, ImportUnit>,
  out: string,
  logger: Logger,
): void {
  for (const group of adopted.withoutIngress) {
    const unit = unitOf.get(group.groupId);
    report(logger, 'import.skipped', {
      account: unit?.account,
      region: unit?.region,
      groupId: group.groupId,
      groupName: group.groupName,
    });
    process.stdout.write(`no ingress rules, no file: ${group.groupId} (${group.groupName})\n`);
  }
  process.stdout.write(
    `${adopted.policies.length} polic${adopted.policies.length === 1 ? 'y' : 'ies'} written to ${out}` +
      (adopted.withoutIngress.length > 0
        ? `; ${counted(adopted.withoutIngress.length, 'group')} without ingress rules`
        : '') +
      '\n',
  );
}

/**
 * The exit code when the reads cannot be imported (a failed read; a requested group not found, or
 * nothing selected: refused), else undefined.
 */
function checkReads(
  reads: readonly UnitSelection[],
  selection: GroupSelection,
  where: string,
  refuse: (errorCode: string, error: string) => number,
): number | undefined {
  const failed = reads.filter((read) => read.selected === undefined).length;
  if (failed > 0) {
    process.stderr.write(`sg-reconciler: ${counted(failed, 'read')} failed; nothing was written\n`);
    return EXIT_FAILURE;
  }
  const found = new Set(
    reads.flatMap((read) => read.selected?.groups ?? []).map((g) => g.groupId.toLowerCase()),
  );
  const notFound = selection.all ? [] : [...new Set(selection.groupIds)].filter((id) => !found.has(id));
  if (notFound.length > 0) {
    return refuse('GroupNotFound', `no security group ${notFound.join(', ')} in ${where}`);
  }
  if (found.size === 0) {
    return refuse('NothingSelected', `the selection matched no security group in ${where}`);
  }
  return undefined;
}

/**
 * Reads the selected groups (live, or from `--snapshot`) and writes one policy per group with
 * ingress rules into `--out`. Exit 0 written; 1 a read or write failed; 3 no or bad selection,
 * a requested group not found, or files it would overwrite without `--force` (nothing written).
 */
export async function runImport(options: ImportOptions): Promise<number> {
  const logger = loggerFor(options, 2);
  let selection: GroupSelection;
  if (options.out === undefined || options.out.trim() === '') {
    const error =
      'import needs --out <dir>: the directory to write the policies into, e.g. --out policies/imported';
    return invalidConfig(logger, new Error(error), '--out');
  }
  try {
    selection = selectionOf(options);
  } catch (error) {
    return invalidConfig(logger, error);
  }
  const config = { ...options, out: options.out, selection };
  const refuse = (errorCode: string, error: string): number => {
    process.stderr.write(`sg-reconciler: ${error}; nothing was written\n`);
    report(logger, 'import.refused', { errorCode, error });
    return EXIT_INVALID;
  };

  const file = await inventoryFileOrReport(config.accounts, logger, process.stderr);
  if (file === undefined) return exitCodeFor({ command: 'invalid-input' });
  const source = await importUnits(config, file.inventory, logger);
  if ('exitCode' in source) {
    return source.exitCode === EXIT_INVALID ? refuse('NoRegion', NO_REGION) : source.exitCode;
  }
  const { shard } = config;
  const units =
    shard === undefined
      ? source.units
      : source.units.filter((u) => shardOf(u.account, u.region, shard.count) === shard.index);
  let reads: UnitSelection[];
  try {
    reads = await readSelections(units, config.selection, config.concurrency, logger);
  } finally {
    source.destroy();
  }
  const refused = checkReads(reads, config.selection, describeUnits(units), refuse);
  if (refused !== undefined) return refused;

  const adopted = adoptUnits({
    units: reads.map(({ unit, selected }) => ({
      region: unit.region,
      ...(unit.account !== source.ownAccount ? { account: unit.account } : {}),
      groups: selected?.groups ?? [],
    })),
    schemaUrl: policySchemaId(),
  });
  const unitOf = new Map(
    reads.flatMap(({ unit, selected }) => (selected?.groups ?? []).map((g) => [g.groupId, unit] as const)),
  );
  // The output must validate: a policy this tool writes and then rejects would be a bug, not the user's.
  if (!validates(adopted.policies, config.out)) return EXIT_FAILURE;

  const targets = adopted.policies.map((p) => ({ policy: p, file: join(config.out, p.fileName) }));
  if (!config.force) {
    const existing = [];
    for (const target of targets) if (await exists(target.file)) existing.push(target.file);
    if (existing.length > 0) {
      return refuse(
        'WouldOverwrite',
        `${existing.join(', ')} already ${existing.length === 1 ? 'exists' : 'exist'}; pass --force to overwrite, or choose another --out`,
      );
    }
  }

  const written = await writePolicies(config.out, targets, unitOf, logger);
  if (written !== EXIT_OK) return written;
  reportSummary(adopted, unitOf, config.out, logger);
  return EXIT_OK;
}
