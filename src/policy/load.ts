// The policy loader's file-system edge: takes the --policies paths (directories and single files),
// reads every *.yaml / *.yml below each directory, and hands the texts to the pure parsePolicyTexts
// pipeline. Never throws: every problem (missing path, symlink loop, oversized or unreadable file)
// is a located error.
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PolicyError, PolicyLoadResult } from '../model/policy.js';
import { collectPolicies, toLoadResult, type PolicyText } from './parse.js';

export interface LoadOptions {
  /** Largest policy file read, in bytes (default 1 MiB). */
  readonly maxFileBytes?: number;
  /** Most policy files read below the directory (default 10,000). */
  readonly maxFiles?: number;
}

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_FILES = 10_000;

const POLICY_FILE = /\.ya?ml$/i;

interface Found {
  /** Path relative to the policy directory, used for sorting. */
  readonly relative: string;
  /** Path as shown to the user: join(dir, relative). */
  readonly file: string;
}

interface Walk {
  readonly dir: string;
  readonly files: Found[];
  readonly errors: PolicyError[];
  readonly warnings: string[];
  /** Real paths of the files already found, so a file linked twice is read once. */
  readonly seenFiles: Set<string>;
  readonly seenDirs: Set<string>;
}

function errorAt(file: string, message: string): PolicyError {
  return { file, line: 1, column: 1, path: '', message };
}

function reason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOENT') return 'it does not exist';
  if (code === 'ELOOP') return 'it is a symlink loop';
  return error instanceof Error ? error.message : String(error);
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/**
 * Walks one directory. `ancestors` are the real paths of the directories above it, so a symlink
 * that points back up the tree is reported as a loop instead of being followed for ever.
 */
async function walk(state: Walk, relDir: string, ancestors: readonly string[]): Promise<void> {
  const absolute = join(state.dir, relDir);
  let entries;
  try {
    entries = await readdir(absolute, { withFileTypes: true });
  } catch (error) {
    state.errors.push(errorAt(absolute, `cannot read this directory: ${reason(error)}; fix its permissions`));
    return;
  }
  // Sorted so that which of two links to one file is read (the other is skipped) is deterministic.
  entries.sort((a, b) => compare(a.name, b.name));
  for (const entry of entries) {
    // Hidden entries are skipped: .git, and the ..data / ..2024_* links of a mounted ConfigMap,
    // whose files would otherwise be read twice under changing names.
    if (entry.name.startsWith('.')) continue;
    const rel = relDir === '' ? entry.name : join(relDir, entry.name);
    const file = join(state.dir, rel);
    const isPolicyName = POLICY_FILE.test(entry.name);
    let info;
    try {
      info = await stat(file); // follows symlinks
    } catch (error) {
      if (entry.isSymbolicLink() && (isPolicyName || (error as { code?: unknown }).code === 'ELOOP')) {
        const what = (error as { code?: unknown }).code === 'ELOOP' ? 'a symlink loop' : 'a broken symlink';
        state.errors.push(errorAt(file, `this is ${what}; point it at a policy file or remove it`));
      } else if (isPolicyName) {
        state.errors.push(errorAt(file, `cannot read this file: ${reason(error)}; fix its permissions`));
      }
      continue;
    }
    let real: string;
    try {
      real = await realpath(file);
    } catch (error) {
      state.errors.push(errorAt(file, `cannot resolve this path: ${reason(error)}; fix or remove it`));
      continue;
    }
    if (info.isDirectory()) {
      if (ancestors.includes(real)) {
        state.errors.push(
          errorAt(
            file,
            'this symlink points back to a directory above it (a symlink loop); remove it or point it elsewhere',
          ),
        );
        continue;
      }
      if (state.seenDirs.has(real)) {
        state.warnings.push(`${file}: skipped, this directory was already read under another path`);
        continue;
      }
      state.seenDirs.add(real);
      await walk(state, rel, [...ancestors, real]);
      continue;
    }
    if (!isPolicyName) continue;
    if (!info.isFile()) {
      state.errors.push(
        errorAt(file, 'this is not a regular file (a FIFO, socket or device); remove it or rename it'),
      );
      continue;
    }
    if (state.seenFiles.has(real)) {
      state.warnings.push(`${file}: skipped, this file was already read under another path`);
      continue;
    }
    state.seenFiles.add(real);
    state.files.push({ relative: rel, file });
  }
}

async function readPolicyFile(found: Found, maxFileBytes: number): Promise<PolicyText | PolicyError> {
  try {
    const info = await stat(found.file);
    if (info.size > maxFileBytes) {
      return errorAt(
        found.file,
        `file is ${info.size} bytes, over the ${formatBytes(maxFileBytes)} limit for one policy file; split it into smaller files`,
      );
    }
    const bytes = await readFile(found.file);
    // The file may have grown between stat and read.
    if (bytes.byteLength > maxFileBytes) {
      return errorAt(
        found.file,
        `file is ${bytes.byteLength} bytes, over the ${formatBytes(maxFileBytes)} limit for one policy file; split it into smaller files`,
      );
    }
    return { file: found.file, text: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  } catch (error) {
    return errorAt(found.file, `cannot read this file: ${reason(error)}; fix its permissions`);
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The files one `--policies` path contributes: the file itself, or every policy file below the directory. */
async function findFiles(path: string, state: Omit<Walk, 'dir' | 'files'>): Promise<Found[]> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    const missing = (error as { code?: unknown }).code === 'ENOENT';
    const message = missing
      ? `the policy directory or file ${JSON.stringify(path)} does not exist; create it or pass --policies <dir> (or a policy file)`
      : `cannot read the policy path ${JSON.stringify(path)}: ${reason(error)}`;
    state.errors.push(errorAt(path, message));
    return [];
  }
  const real = await realpath(path);
  if (!info.isDirectory()) {
    if (!info.isFile()) {
      state.errors.push(
        errorAt(
          path,
          'this is not a regular file (a FIFO, socket or device); pass a policy file or directory',
        ),
      );
      return [];
    }
    // A file named explicitly is read whatever its extension: the caller chose it (a pre-commit hook).
    if (state.seenFiles.has(real)) {
      state.warnings.push(`${path}: skipped, this file was already read under another path`);
      return [];
    }
    state.seenFiles.add(real);
    return [{ relative: '', file: path }];
  }
  if (state.seenDirs.has(real)) {
    state.warnings.push(`${path}: skipped, this directory was already read under another path`);
    return [];
  }
  state.seenDirs.add(real);
  const errorsBefore = state.errors.length;
  const walkState: Walk = { ...state, dir: path, files: [] };
  await walk(walkState, '', [real]);
  const found = walkState.files.sort((a, b) => compare(a.relative, b.relative));
  if (found.length === 0 && state.errors.length === errorsBefore) {
    state.warnings.push(`no policy files (*.yaml, *.yml) found below ${path}`);
  }
  return found;
}

async function loadFrom(paths: readonly string[], options: LoadOptions): Promise<PolicyLoadResult> {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
  const state: Omit<Walk, 'dir' | 'files'> = {
    errors: [],
    warnings: [],
    seenFiles: new Set(),
    seenDirs: new Set(),
  };
  // Paths in the order given; within a directory, sorted by relative path.
  const found: Found[] = [];
  for (const path of paths) found.push(...(await findFiles(path, state)));
  const files = found.map((entry) => entry.file);

  if (found.length > maxFiles) {
    state.errors.push(
      errorAt(
        paths.join(', '),
        `found ${found.length} policy files, more than the limit of ${maxFiles}; point --policies at a smaller tree`,
      ),
    );
    return toLoadResult({ policies: [], warnings: state.warnings, errors: state.errors }, files);
  }

  const texts: PolicyText[] = [];
  for (const entry of found) {
    const read = await readPolicyFile(entry, maxFileBytes);
    if ('text' in read) texts.push(read);
    else state.errors.push(read);
  }
  const collection = collectPolicies(texts);
  return toLoadResult(
    {
      policies: collection.policies,
      warnings: [...state.warnings, ...collection.warnings],
      errors: [...state.errors, ...collection.errors],
    },
    files,
  );
}

/**
 * Loads and validates the policies at `paths`: each a policy file (read whatever its extension) or a
 * directory (every *.yaml / *.yml below it, recursively, sorted by relative path). Files reached
 * twice (a file inside a directory also given, a symlink) are read once, with a warning. Each error
 * names its file as the path given joined with the relative path. Never throws.
 */
export async function loadPolicies(
  paths: string | readonly string[],
  options: LoadOptions = {},
): Promise<PolicyLoadResult> {
  const list = typeof paths === 'string' ? [paths] : paths;
  try {
    return await loadFrom(list, options);
  } catch (error) {
    return toLoadResult(
      {
        policies: [],
        warnings: [],
        errors: [errorAt(list.join(', '), `could not load the policies: ${reason(error)}`)],
      },
      [],
    );
  }
}
