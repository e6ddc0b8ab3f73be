// The policy loader's file-system edge: takes the --policies paths (directories and single files),
// reads every *.yaml / *.yml below each directory as ONE version of the set, and hands the texts to
// the pure collectPolicies pipeline. Never throws: every problem (missing path, symlink loop,
// oversized or unreadable file) is a located error, and a directory that moves underneath the
// loader is a 'changing' outcome.
//
// One version per load (SPEC "Safety rules of the pass"): the root and every symlink on the way
// (a ConfigMap's top-level links into `..data`, a git-sync link to a worktree, a symlinked root)
// are resolved once, every file is read under its resolved real path, and afterwards every link,
// directory and file is checked again. If anything moved, the load is retried (bounded); texts read
// from a version that has since been swapped out are never parsed.
import { createHash } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { lstat, readdir, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import type {
  PolicyError,
  PolicyLoadResult,
  PolicySetChangingReason,
  PolicySetLoad,
  PolicyWarning,
} from '../model/policy.js';
import { collectPolicies, toLoadResult, type PolicyText } from './parse.js';
import { compareStrings as compare } from '../model/compare.js';

/** The file-system calls the loader makes; tests wrap them to move the directory between two calls. */
export interface LoaderFs {
  readdir(path: string): Promise<Dirent[]>;
  stat(path: string): Promise<Stats>;
  lstat(path: string): Promise<Stats>;
  realpath(path: string): Promise<string>;
  readlink(path: string): Promise<string>;
  readFile(path: string): Promise<Uint8Array>;
}

export const nodeLoaderFs: LoaderFs = {
  readdir: (path) => readdir(path, { withFileTypes: true }),
  stat: (path) => stat(path),
  lstat: (path) => lstat(path),
  realpath: (path) => realpath(path),
  readlink: (path) => readlink(path),
  readFile: (path) => readFile(path),
};

export interface LoadOptions {
  /** Largest policy file read, in bytes (default 1 MiB). */
  readonly maxFileBytes?: number;
  /** Most policy files read below the directory (default 10,000). */
  readonly maxFiles?: number;
  /**
   * A file modified (mtime or ctime) less than this many milliseconds ago may be half-written: the
   * load is `changing` (reason `settling`) instead of using it. 0 (the default) turns the rule off;
   * the daemon uses DEFAULT_SETTLE_MS.
   */
  readonly settleMs?: number;
  /** Loads tried while links or files move during a load (default 3). */
  readonly maxAttempts?: number;
  /** Milliseconds since the epoch, for the settle rule (default Date.now). */
  readonly now?: () => number;
  /** The file-system calls (default node:fs/promises); tests inject moves between two calls. */
  readonly fs?: LoaderFs;
  /** The moment guardrail exceptions are judged at (default: the system clock). */
  readonly exceptionsAt?: Date;
}

export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
export const DEFAULT_MAX_FILES = 10_000;
/** How old the youngest policy file must be before the daemon applies the set (SPEC: 2 seconds). */
export const DEFAULT_SETTLE_MS = 2_000;
export const DEFAULT_LOAD_ATTEMPTS = 3;

const POLICY_FILE = /\.ya?ml$/i;

/** What identifies a file or directory's state: any difference means it changed. */
type StatKey = string;
const statKey = (info: Stats): StatKey => `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;

interface Found {
  /** Which --policies path (0-based) the file came from, and its path relative to it ('' for a file path). */
  readonly root: number;
  readonly relative: string;
  /** Path as shown to the user: join(dir, relative). */
  readonly file: string;
  /** The resolved path the bytes are read from. */
  readonly real: string;
}

/** One --policies path being walked: its index and the path as given (files are shown below it). */
interface Root {
  readonly index: number;
  readonly shown: string;
}

interface Walk {
  readonly fs: LoaderFs;
  readonly files: Found[];
  readonly errors: PolicyError[];
  readonly warnings: PolicyWarning[];
  /** Real paths of the files already found, so a file linked twice is read once. */
  readonly seenFiles: Set<string>;
  readonly seenDirs: Set<string>;
  /** Every --policies path as given -> its real path. */
  readonly roots: Map<string, string>;
  /** Every symlink followed (its path inside a real directory) -> where it resolved. */
  readonly links: Map<string, { readonly shown: string; readonly target: string }>;
  /** Every directory listed (real path) -> its state when listed. */
  readonly dirs: Map<string, { readonly shown: string; readonly key: StatKey }>;
}

function errorAt(file: string, message: string): PolicyError {
  return { file, line: 1, column: 1, path: '', message };
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

function reason(error: unknown): string {
  const code = codeOf(error);
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

/** An entry's real path and what it is; undefined when it was reported (or is of no interest). */
async function resolveEntry(
  state: Walk,
  entry: Dirent,
  inReal: string,
  file: string,
): Promise<{ real: string; info: Stats } | undefined> {
  const isPolicyName = POLICY_FILE.test(entry.name);
  const at = join(inReal, entry.name);
  if (!entry.isSymbolicLink() && !entry.isDirectory() && !isPolicyName) return undefined;
  try {
    const real = entry.isSymbolicLink() ? await state.fs.realpath(at) : at;
    if (entry.isSymbolicLink()) state.links.set(at, { shown: file, target: real });
    return { real, info: await state.fs.stat(real) };
  } catch (error) {
    const loop = codeOf(error) === 'ELOOP';
    if (entry.isSymbolicLink() && (isPolicyName || loop)) {
      // Recorded as resolving nowhere, so a link that appears mid-swap makes the load retry.
      state.links.set(at, { shown: file, target: '' });
      const what = loop ? 'a symlink loop' : 'a broken symlink';
      state.errors.push(errorAt(file, `this is ${what}; point it at a policy file or remove it`));
    } else if (isPolicyName) {
      state.errors.push(errorAt(file, `cannot read this file: ${reason(error)}; fix its permissions`));
    }
    return undefined;
  }
}

function enterDirectory(state: Walk, file: string, real: string, ancestors: readonly string[]): boolean {
  if (ancestors.includes(real)) {
    state.errors.push(
      errorAt(
        file,
        'this symlink points back to a directory above it (a symlink loop); remove it or point it elsewhere',
      ),
    );
    return false;
  }
  if (state.seenDirs.has(real)) {
    state.warnings.push({ message: `${file}: skipped, this directory was already read under another path` });
    return false;
  }
  state.seenDirs.add(real);
  return true;
}

function addFile(state: Walk, found: Found, info: Stats): void {
  const { file, real } = found;
  if (!info.isFile()) {
    state.errors.push(
      errorAt(file, 'this is not a regular file (a FIFO, socket or device); remove it or rename it'),
    );
    return;
  }
  if (state.seenFiles.has(real)) {
    state.warnings.push({ message: `${file}: skipped, this file was already read under another path` });
    return;
  }
  state.seenFiles.add(real);
  state.files.push(found);
}

/**
 * Walks one directory, listed under its real path `real`. `ancestors` are the real paths of the
 * directories above it, so a symlink that points back up the tree is reported as a loop instead
 * of being followed for ever.
 */
async function walk(
  state: Walk,
  root: Root,
  relDir: string,
  real: string,
  ancestors: readonly string[],
): Promise<void> {
  const shownDir = join(root.shown, relDir);
  let entries;
  try {
    state.dirs.set(real, { shown: shownDir, key: statKey(await state.fs.stat(real)) });
    entries = await state.fs.readdir(real);
  } catch (error) {
    state.errors.push(errorAt(shownDir, `cannot read this directory: ${reason(error)}; fix its permissions`));
    return;
  }
  // Sorted so that which of two links to one file is read (the other is skipped) is deterministic.
  entries.sort((a, b) => compare(a.name, b.name));
  for (const entry of entries) {
    // Hidden entries are skipped: .git, and the ..data / ..2024_* links of a mounted ConfigMap,
    // whose files would otherwise be read twice under changing names.
    if (entry.name.startsWith('.')) continue;
    const rel = relDir === '' ? entry.name : join(relDir, entry.name);
    const file = join(root.shown, rel);
    const resolved = await resolveEntry(state, entry, real, file);
    if (resolved === undefined) continue;
    if (resolved.info.isDirectory()) {
      if (enterDirectory(state, file, resolved.real, ancestors)) {
        await walk(state, root, rel, resolved.real, [...ancestors, resolved.real]);
      }
    } else if (POLICY_FILE.test(entry.name)) {
      addFile(state, { root: root.index, relative: rel, file, real: resolved.real }, resolved.info);
    }
  }
}

function tooLarge(file: string, bytes: number, maxFileBytes: number): PolicyError {
  return errorAt(
    file,
    `file is ${bytes} bytes, over the ${formatBytes(maxFileBytes)} limit for one policy file; split it into smaller files`,
  );
}

interface ReadFile {
  readonly found: Found;
  readonly text?: Uint8Array;
  readonly error?: PolicyError;
  /** The file's state just before it was read, compared again once every file is read. */
  readonly key?: StatKey;
  /** max(mtime, ctime) in milliseconds. */
  readonly modifiedMs?: number;
}

async function readPolicyFile(fs: LoaderFs, found: Found, maxFileBytes: number): Promise<ReadFile> {
  try {
    const info = await fs.stat(found.real);
    const key = statKey(info);
    const modifiedMs = Math.max(info.mtimeMs, info.ctimeMs);
    if (info.size > maxFileBytes) return { found, key, error: tooLarge(found.file, info.size, maxFileBytes) };
    const bytes = await fs.readFile(found.real);
    // The file may have grown between stat and read (the check afterwards reports it as changing).
    if (bytes.byteLength > maxFileBytes) {
      return { found, key, error: tooLarge(found.file, bytes.byteLength, maxFileBytes) };
    }
    return { found, key, modifiedMs, text: bytes };
  } catch (error) {
    return {
      found,
      error: errorAt(found.file, `cannot read this file: ${reason(error)}; fix its permissions`),
    };
  }
}

/** Files read under resolved paths, before it is known whether they are one version. */
interface Snapshot {
  readonly state: Walk;
  readonly reads: readonly ReadFile[];
  readonly tooMany: boolean;
}

/** The files one `--policies` path contributes: the file itself, or every policy file below the directory. */
async function addPath(state: Walk, root: Root): Promise<void> {
  const path = root.shown;
  let real: string;
  let info: Stats;
  try {
    real = await state.fs.realpath(path);
    info = await state.fs.stat(real);
  } catch (error) {
    const message =
      codeOf(error) === 'ENOENT'
        ? 'the policy directory or file does not exist; create it or pass --policies <dir> (or a policy file)'
        : `cannot read the policy path ${JSON.stringify(path)}: ${reason(error)}`;
    state.errors.push({ ...errorAt(path, message), wholePath: true });
    return;
  }
  state.roots.set(path, real);
  if (!info.isDirectory()) {
    if (!info.isFile()) {
      state.errors.push(
        errorAt(
          path,
          'this is not a regular file (a FIFO, socket or device); pass a policy file or directory',
        ),
      );
      return;
    }
    // A file named explicitly is read whatever its extension: the caller chose it (a pre-commit hook).
    addFile(state, { root: root.index, relative: '', file: path, real }, info);
    return;
  }
  if (state.seenDirs.has(real)) {
    state.warnings.push({ message: `${path}: skipped, this directory was already read under another path` });
    return;
  }
  state.seenDirs.add(real);
  const errorsBefore = state.errors.length;
  const filesBefore = state.files.length;
  await walk(state, root, '', real, [real]);
  if (state.files.length === filesBefore && state.errors.length === errorsBefore) {
    state.warnings.push({ message: `no policy files (*.yaml, *.yml) found below ${path}` });
  }
}

async function readSnapshot(paths: readonly string[], fs: LoaderFs, options: LoadOptions): Promise<Snapshot> {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const state: Walk = {
    fs,
    files: [],
    errors: [],
    warnings: [],
    seenFiles: new Set(),
    seenDirs: new Set(),
    roots: new Map(),
    links: new Map(),
    dirs: new Map(),
  };
  for (const [index, shown] of paths.entries()) await addPath(state, { index, shown });
  // Paths in the order given; within a directory, sorted by relative path.
  state.files.sort((a, b) => a.root - b.root || compare(a.relative, b.relative));
  if (state.files.length > (options.maxFiles ?? DEFAULT_MAX_FILES)) {
    return { state, reads: [], tooMany: true };
  }
  const reads: ReadFile[] = [];
  for (const found of state.files) reads.push(await readPolicyFile(fs, found, maxFileBytes));
  return { state, reads, tooMany: false };
}

/** What moved since the snapshot was taken, or undefined when it is still one version. */
async function movedSince(
  fs: LoaderFs,
  snapshot: Snapshot,
): Promise<{ reason: Exclude<PolicySetChangingReason, 'settling'>; file: string } | undefined> {
  const now = async <T>(call: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await call();
    } catch {
      return undefined;
    }
  };
  for (const [path, real] of snapshot.state.roots) {
    if ((await now(() => fs.realpath(path))) !== real) return { reason: 'links-moved', file: path };
  }
  for (const [at, link] of snapshot.state.links) {
    const target = (await now(() => fs.realpath(at))) ?? '';
    if (target !== link.target) return { reason: 'links-moved', file: link.shown };
  }
  for (const [real, listed] of snapshot.state.dirs) {
    const info = await now(() => fs.stat(real));
    if (info === undefined || statKey(info) !== listed.key)
      return { reason: 'file-changed', file: listed.shown };
  }
  for (const read of snapshot.reads) {
    if (read.key === undefined) continue;
    const info = await now(() => fs.stat(read.found.real));
    if (info === undefined || statKey(info) !== read.key)
      return { reason: 'file-changed', file: read.found.file };
  }
  return undefined;
}

/**
 * The version directory the set was read from: the target of a ConfigMap's `..data` link, else the
 * target of the first symlink on the policy directory's own path (a git-sync link, a symlinked root).
 */
async function versionOf(fs: LoaderFs, roots: ReadonlyMap<string, string>): Promise<string | undefined> {
  for (const [path, real] of roots) {
    const version = await versionOfPath(path, fs, real);
    if (version !== undefined) return version;
  }
  return undefined;
}

async function versionOfPath(dir: string, fs: LoaderFs, realRoot: string): Promise<string | undefined> {
  try {
    const data = join(realRoot, '..data');
    if ((await fs.lstat(data)).isSymbolicLink()) return basename(await fs.readlink(data));
  } catch {
    // no ConfigMap layout
  }
  const parts = resolve(dir)
    .split(sep)
    .filter((part) => part !== '');
  let path = '';
  for (const part of parts) {
    path = `${path}${sep}${part}`;
    try {
      if ((await fs.lstat(path)).isSymbolicLink()) return basename(await fs.realpath(path));
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function digestOf(reads: readonly ReadFile[]): string {
  const hash = createHash('sha256');
  for (const read of reads) {
    hash.update(`${read.found.root}/${read.found.relative}`);
    hash.update('\0');
    if (read.text !== undefined) hash.update(read.text);
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** The youngest file's age check: a `settling` outcome, or undefined when every file has settled. */
function settling(snapshot: Snapshot, options: LoadOptions): PolicySetLoad | undefined {
  const settleMs = options.settleMs ?? 0;
  if (settleMs <= 0) return undefined;
  const now = (options.now ?? Date.now)();
  let youngest: ReadFile | undefined;
  for (const read of snapshot.reads) {
    const age = now - (read.modifiedMs ?? 0);
    // A file dated in the future (clock skew) cannot be judged by age; the change check still holds.
    if (
      age >= 0 &&
      age < settleMs &&
      (youngest === undefined || (read.modifiedMs ?? 0) > (youngest.modifiedMs ?? 0))
    ) {
      youngest = read;
    }
  }
  if (youngest === undefined) return undefined;
  return {
    kind: 'changing',
    reason: 'settling',
    file: youngest.found.file,
    attempts: 1,
    retryAfterMs: settleMs - (now - (youngest.modifiedMs ?? 0)),
  };
}

/** Parses a snapshot that held still: the texts are dropped once the policies are built. */
function parseSnapshot(paths: readonly string[], snapshot: Snapshot, options: LoadOptions): PolicyLoadResult {
  const { state } = snapshot;
  const files = state.files.map((entry) => entry.file);
  if (snapshot.tooMany) {
    const max = options.maxFiles ?? DEFAULT_MAX_FILES;
    state.errors.push(
      errorAt(
        paths.join(', '),
        `found ${state.files.length} policy files, more than the limit of ${max}; point --policies at a smaller tree`,
      ),
    );
    return toLoadResult({ policies: [], warnings: state.warnings, errors: state.errors }, files);
  }
  const texts: PolicyText[] = [];
  for (const read of snapshot.reads) {
    if (read.text !== undefined) texts.push({ file: read.found.file, text: read.text });
    if (read.error !== undefined) state.errors.push(read.error);
  }
  const collection = collectPolicies(
    texts,
    options.exceptionsAt !== undefined ? { now: options.exceptionsAt } : {},
  );
  return toLoadResult(
    {
      policies: collection.policies,
      ...(collection.guardrails !== undefined ? { guardrails: collection.guardrails } : {}),
      warnings: [...state.warnings, ...collection.warnings],
      errors: [...state.errors, ...collection.errors],
    },
    files,
  );
}

function failed(dir: string, message: string): PolicySetLoad {
  const result = toLoadResult({ policies: [], warnings: [], errors: [errorAt(dir, message)] }, []);
  return { kind: 'read', result, digest: digestOf([]), version: undefined };
}

async function loadSetFrom(paths: readonly string[], options: LoadOptions): Promise<PolicySetLoad> {
  const fs = options.fs ?? nodeLoaderFs;
  const attempts = Math.max(1, options.maxAttempts ?? DEFAULT_LOAD_ATTEMPTS);
  let moved: { reason: Exclude<PolicySetChangingReason, 'settling'>; file: string } | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const snapshot = await readSnapshot(paths, fs, options);
    moved = await movedSince(fs, snapshot);
    if (moved !== undefined) continue;
    const young = settling(snapshot, options);
    if (young !== undefined) return young;
    const version = await versionOf(fs, snapshot.state.roots);
    const digest = digestOf(snapshot.reads);
    return { kind: 'read', result: parseSnapshot(paths, snapshot, options), digest, version };
  }
  const { reason, file } = moved ?? { reason: 'links-moved', file: paths.join(', ') };
  return { kind: 'changing', reason, file, attempts, retryAfterMs: undefined };
}

/** The --policies paths as a list. */
function pathList(paths: string | readonly string[]): readonly string[] {
  return typeof paths === 'string' ? [paths] : paths;
}

/**
 * Reads the policies at `paths` as one version of the set, and validates it: each path a policy
 * file (read whatever its extension) or a directory (every *.yaml / *.yml below it, recursively,
 * sorted by relative path). Files reached twice (a file inside a directory also given, a symlink)
 * are read once, with a warning. Each error names its file as the path given joined with the
 * relative path. Resolves with `kind: 'changing'` when the paths did not hold still (see
 * PolicySetChangingReason); never throws.
 */
export async function loadPolicySet(
  paths: string | readonly string[],
  options: LoadOptions = {},
): Promise<PolicySetLoad> {
  const list = pathList(paths);
  try {
    return await loadSetFrom(list, options);
  } catch (error) {
    return failed(list.join(', '), `could not load the policies: ${reason(error)}`);
  }
}

/**
 * The one sentence a `changing` outcome is reported with, for people; `nothingDone` is what the
 * command did not do (`nothing was applied`, `nothing was written`; undefined for validate, which
 * does nothing but judge).
 */
export function describeChanging(
  paths: string | readonly string[],
  changing: Extract<PolicySetLoad, { kind: 'changing' }>,
  nothingDone: string | undefined = 'nothing was applied',
): string {
  const where = pathList(paths).join(', ');
  const nothing = nothingDone === undefined ? '' : `${nothingDone}, `;
  switch (changing.reason) {
    case 'settling':
      return `${changing.file} was modified less than a moment ago and may be half-written; ${nothing}the set is used once it has not changed for a while`;
    case 'file-changed':
      return `${changing.file} changed while the policies were read (${changing.attempts} attempts); ${nothing}run again once ${where} holds still`;
    case 'links-moved':
      return `the policies at ${where} were swapped to another version while they were read (${changing.attempts} attempts, at ${changing.file}); ${nothing}run again once they hold still`;
  }
}

/**
 * Loads and validates the policies at `paths` (loadPolicySet without its version details); paths
 * that never held still are one error at the paths. Never throws.
 */
export async function loadPolicies(
  paths: string | readonly string[],
  options: LoadOptions = {},
): Promise<PolicyLoadResult> {
  const loaded = await loadPolicySet(paths, options);
  if (loaded.kind === 'read') return loaded.result;
  const where = pathList(paths).join(', ');
  return toLoadResult(
    { policies: [], warnings: [], errors: [errorAt(where, describeChanging(paths, loaded))] },
    [],
  );
}
