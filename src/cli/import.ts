// `sg-reconciler import --out DIR`: policies that declare the live ingress rules of chosen groups.
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import type { Ec2Port } from '../aws/port.js';
import { report } from '../events.js';
import { adoptGroups, parsePolicyTexts, policySchemaId } from '../policy/index.js';
import { selectGroups, type GroupSelection } from '../reconcile/import.js';
import { errorInfo } from '../reconcile/support.js';
import {
  defaultRegion,
  formatPolicyErrors,
  invalidConfig,
  loggerFor,
  openSnapshotFile,
  sdkAccess,
} from './commands.js';
import type { ImportOptions } from './config.js';
import { EXIT_FAILURE, EXIT_INVALID, EXIT_OK } from './exit-codes.js';
import { fileErrorReason, writeFileAtomic } from './files.js';

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

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads the selected groups (live, or from `--snapshot`) and writes one policy per group with
 * ingress rules into `--out`. Exit 0 written; 1 a read or write failed; 3 no or bad selection,
 * a requested group not found, or files it would overwrite without `--force` (nothing written).
 */
export async function runImport(options: ImportOptions): Promise<number> {
  const logger = loggerFor(options, 2);
  let selection: GroupSelection;
  try {
    if (options.out === undefined || options.out.trim() === '') {
      throw new Error(
        'import needs --out <dir>: the directory to write the policies into, e.g. --out policies/imported',
      );
    }
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

  let port: Ec2Port;
  let region: string | undefined = config.region;
  let destroy = (): void => undefined;
  if (config.snapshot !== undefined) {
    const snapshot = await openSnapshotFile(config.snapshot, config.region, logger);
    if (snapshot === undefined) return EXIT_FAILURE;
    region ??= snapshot.defaultRegion;
    if (region === undefined)
      return refuse('NoRegion', 'import needs a region: pass --region or set AWS_REGION');
    port = snapshot.ports(region);
  } else {
    try {
      region = await defaultRegion(config);
    } catch (error) {
      return invalidConfig(logger, error);
    }
    if (region === undefined)
      return refuse('NoRegion', 'import needs a region: pass --region or set AWS_REGION');
    const access = await sdkAccess(config, region, logger);
    port = access.ports(region);
    destroy = () => access.destroy();
  }

  let selected;
  try {
    selected = await selectGroups(port, config.selection);
  } catch (error) {
    const info = errorInfo(error);
    process.stderr.write(
      `sg-reconciler: read failed: ${region} ${info.errorCode}: ${info.error}; nothing was written\n`,
    );
    report(logger, ['read.failed', 'import'], {
      region,
      action: 'DescribeSecurityGroups',
      ...info,
      policies: [],
      targets: [],
    });
    return EXIT_FAILURE;
  } finally {
    destroy();
  }
  if (selected.notFound.length > 0) {
    return refuse('GroupNotFound', `no security group ${selected.notFound.join(', ')} in ${region}`);
  }
  if (selected.groups.length === 0) {
    return refuse('NothingSelected', `the selection matched no security group in ${region}`);
  }

  const adopted = adoptGroups({ region, groups: selected.groups, schemaUrl: policySchemaId() });
  // The output must validate: a policy this tool writes and then rejects would be a bug, not the user's.
  const check = parsePolicyTexts(
    adopted.policies.map((p) => ({
      file: join(config.out, p.fileName),
      text: new TextEncoder().encode(p.text),
    })),
  );
  if (!check.ok) {
    process.stderr.write(formatPolicyErrors(check.errors));
    process.stderr.write(
      'sg-reconciler: the imported policies do not validate (a bug in sg-reconciler); nothing was written\n',
    );
    return EXIT_FAILURE;
  }

  const targets = adopted.policies.map((p) => ({ policy: p, file: join(config.out, p.fileName) }));
  if (!config.force) {
    const existing = [];
    for (const target of targets) if (await exists(target.file)) existing.push(target.file);
    if (existing.length > 0) {
      return refuse(
        'WouldOverwrite',
        `${existing.join(', ')} already exist(s); pass --force to overwrite, or choose another --out`,
      );
    }
  }

  try {
    await mkdir(config.out, { recursive: true });
    for (const { policy, file } of targets) {
      await writeFileAtomic(file, policy.text);
      report(logger, 'import.written', {
        file,
        policy: policy.name,
        region,
        groupId: policy.group.groupId,
        rules: policy.rules,
      });
      process.stdout.write(
        `wrote ${file}: ${policy.group.groupId} (${policy.group.groupName}), ${policy.rules} rule(s) in ${policy.entries} ingress entr${policy.entries === 1 ? 'y' : 'ies'}\n`,
      );
    }
  } catch (error) {
    const reason = fileErrorReason(error);
    process.stderr.write(`sg-reconciler: cannot write into ${config.out}: ${reason}\n`);
    return EXIT_FAILURE;
  }
  for (const group of adopted.withoutIngress) {
    report(logger, 'import.skipped', { region, groupId: group.groupId, groupName: group.groupName });
    process.stdout.write(`no ingress rules, no file: ${group.groupId} (${group.groupName})\n`);
  }
  process.stdout.write(
    `${adopted.policies.length} polic${adopted.policies.length === 1 ? 'y' : 'ies'} written to ${config.out}` +
      (adopted.withoutIngress.length > 0
        ? `; ${adopted.withoutIngress.length} group(s) without ingress rules`
        : '') +
      '\n',
  );
  return EXIT_OK;
}
