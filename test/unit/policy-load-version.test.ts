// One version per load: the loader driven through directory swaps between two of its own file-system
// calls (an injected LoaderFs), deterministically, in the layouts Kubernetes and git-sync produce.
import { mkdirSync, mkdtempSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicySetLoad } from '../../src/model/policy.js';
import { loadPolicies, loadPolicySet, nodeLoaderFs, type LoaderFs } from '../../src/policy/load.js';

let base: string;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'sgr-versions-'));
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

function policy(name: string, port: number, cidr: string): string {
  return [
    'apiVersion: sg-reconciler/v1',
    'kind: IngressPolicy',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  targets:',
    '    - groupId: sg-0123456789abcdef0',
    '  ingress:',
    '    - protocol: tcp',
    `      ports: ${port}`,
    '      sources:',
    `        - cidr: ${cidr}`,
    '',
  ].join('\n');
}

/** Version A is valid (port 1000); version B has host bits set in a.yaml and a new rule (port 2000) in b.yaml. */
const VERSION_A = { 'a.yaml': policy('a', 1000, '10.1.0.0/16'), 'b.yaml': policy('b', 1000, '10.1.0.0/16') };
const VERSION_B = { 'a.yaml': policy('a', 2000, '10.2.0.5/16'), 'b.yaml': policy('b', 2000, '10.2.0.0/16') };

function writeVersion(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

/** A mounted ConfigMap: ..<version> directories, ..data -> the current one, top-level links into ..data. */
function configMap(): { root: string; swapTo(version: string): void } {
  const root = join(base, 'cm');
  writeVersion(join(root, '..2026_11_30_06_00_00.000000001'), VERSION_A);
  writeVersion(join(root, '..2026_11_30_06_01_00.000000002'), VERSION_B);
  symlinkSync('..2026_11_30_06_00_00.000000001', join(root, '..data'));
  for (const name of Object.keys(VERSION_A)) symlinkSync(join('..data', name), join(root, name));
  return {
    root,
    // kubelet's atomic swap: a new link renamed over ..data.
    swapTo: (version) => {
      symlinkSync(version, join(root, '..data_tmp'));
      renameSync(join(root, '..data_tmp'), join(root, '..data'));
    },
  };
}

/** git-sync: the policy directory is a link to one worktree, replaced atomically by the next. */
function gitSync(): { root: string; swapTo(worktree: string): void } {
  writeVersion(join(base, '.worktrees', 'aaaa1111', 'policies'), VERSION_A);
  writeVersion(join(base, '.worktrees', 'bbbb2222', 'policies'), VERSION_B);
  symlinkSync(join('.worktrees', 'aaaa1111'), join(base, 'repo'));
  return {
    root: join(base, 'repo', 'policies'),
    swapTo: (worktree) => {
      symlinkSync(join('.worktrees', worktree), join(base, 'repo_tmp'));
      renameSync(join(base, 'repo_tmp'), join(base, 'repo'));
    },
  };
}

/** The real file system, with `after` called after each readFile (the n-th read, 1-based). */
function hookedFs(after: (read: number, path: string) => void): LoaderFs & { readonly reads: string[] } {
  const reads: string[] = [];
  return {
    ...nodeLoaderFs,
    reads,
    readFile: async (path) => {
      const bytes = await nodeLoaderFs.readFile(path);
      reads.push(path);
      after(reads.length, path);
      return bytes;
    },
  };
}

function ports(loaded: PolicySetLoad): number[] {
  if (loaded.kind !== 'read' || !loaded.result.ok) throw new Error(JSON.stringify(loaded, null, 2));
  return loaded.result.policies.flatMap((p) => p.rules.map((r) => r.rule.fromPort ?? -1));
}

describe('loadPolicySet: one version per load', () => {
  it('a ConfigMap swapped between two reads is loaded again and read wholly from the new version', async () => {
    const cm = configMap();
    const fs = hookedFs((read) => {
      if (read === 1) cm.swapTo('..2026_11_30_06_01_00.000000002');
    });

    const loaded = await loadPolicySet(cm.root, { fs });

    // The first attempt read a.yaml from A, then B was swapped in: the attempt is discarded, and
    // the second reads both files from B, which is invalid. B's port-2000 rule never appears valid.
    expect(fs.reads).toHaveLength(4);
    expect(loaded).toMatchObject({ kind: 'read', version: '..2026_11_30_06_01_00.000000002' });
    expect(loaded.kind === 'read' && loaded.result.ok).toBe(false);
    expect(loaded.kind === 'read' && !loaded.result.ok && loaded.result.errors.map((e) => e.file)).toEqual([
      join(cm.root, 'a.yaml'),
    ]);
  });

  it('reads every file of one ConfigMap version through its resolved path and names the version', async () => {
    const cm = configMap();
    const fs = hookedFs(() => undefined);

    const loaded = await loadPolicySet(cm.root, { fs });

    expect(ports(loaded)).toEqual([1000, 1000]);
    expect(loaded).toMatchObject({ version: '..2026_11_30_06_00_00.000000001' });
    expect(fs.reads).toEqual([
      join(cm.root, '..2026_11_30_06_00_00.000000001', 'a.yaml'),
      join(cm.root, '..2026_11_30_06_00_00.000000001', 'b.yaml'),
    ]);
    // Errors and policies still name the files as the user sees them.
    expect(loaded.kind === 'read' && loaded.result.files).toEqual([
      join(cm.root, 'a.yaml'),
      join(cm.root, 'b.yaml'),
    ]);
  });

  it('gives up after three attempts when every load sees a swap, and says the set is changing', async () => {
    const cm = configMap();
    const versions = ['..2026_11_30_06_01_00.000000002', '..2026_11_30_06_00_00.000000001'];
    const fs = hookedFs((read) => {
      if (read % 2 === 1) cm.swapTo(versions[((read - 1) / 2) % 2] as string);
    });

    const loaded = await loadPolicySet(cm.root, { fs });

    expect(loaded).toEqual({
      kind: 'changing',
      reason: 'links-moved',
      file: join(cm.root, 'a.yaml'),
      attempts: 3,
      retryAfterMs: undefined,
    });
    // loadPolicies (the one-shot commands' entry) says it as one error at the directory.
    let reads = 0;
    const result = await loadPolicies(cm.root, {
      fs: hookedFs(() => {
        reads++;
        if (reads % 2 === 1) cm.swapTo(versions[((reads - 1) / 2) % 2] as string);
      }),
    });
    expect(result).toMatchObject({
      ok: false,
      errors: [
        { file: cm.root, line: 1, column: 1, message: expect.stringContaining('swapped to another version') },
      ],
    });
  });

  it('a git-sync link swapped between two reads is loaded again from the new worktree', async () => {
    const repo = gitSync();
    const fs = hookedFs((read) => {
      if (read === 1) repo.swapTo('bbbb2222');
    });

    const loaded = await loadPolicySet(repo.root, { fs });

    expect(loaded).toMatchObject({ kind: 'read', version: 'bbbb2222' });
    expect(fs.reads.slice(2)).toEqual([
      join(base, '.worktrees', 'bbbb2222', 'policies', 'a.yaml'),
      join(base, '.worktrees', 'bbbb2222', 'policies', 'b.yaml'),
    ]);
    expect(loaded.kind === 'read' && loaded.result.ok).toBe(false);
  });

  it('a file rewritten in place while the set is read makes the load start again', async () => {
    const dir = join(base, 'plain');
    writeVersion(dir, VERSION_A);
    const fs = hookedFs((read) => {
      if (read === 2) writeFileSync(join(dir, 'a.yaml'), policy('a', 1001, '10.1.0.0/16'));
    });

    const loaded = await loadPolicySet(dir, { fs });

    expect(fs.reads).toHaveLength(4);
    expect(ports(loaded)).toEqual([1001, 1000]);
    expect(loaded).toMatchObject({ version: undefined });
  });

  it('a file added to a plain directory while the set is read makes the load start again', async () => {
    const dir = join(base, 'plain');
    writeVersion(dir, VERSION_A);
    const fs = hookedFs((read) => {
      if (read === 1) writeFileSync(join(dir, 'c.yaml'), policy('c', 3000, '10.3.0.0/16'));
    });

    expect(ports(await loadPolicySet(dir, { fs }))).toEqual([1000, 1000, 3000]);
  });
});

describe('loadPolicySet: settled files', () => {
  it('defers a set whose youngest file is under the settle window old, and uses it once it has settled', async () => {
    const dir = join(base, 'plain');
    writeVersion(dir, { 'a.yaml': VERSION_A['a.yaml'] });
    await new Promise((r) => setTimeout(r, 30));
    writeVersion(dir, { 'b.yaml': VERSION_A['b.yaml'] });
    const modified = statSync(join(dir, 'b.yaml')).mtimeMs;

    const young = await loadPolicySet(dir, { settleMs: 2_000, now: () => modified + 500 });
    expect(young).toMatchObject({
      kind: 'changing',
      reason: 'settling',
      file: join(dir, 'b.yaml'),
      attempts: 1,
    });
    expect(young.kind === 'changing' && young.retryAfterMs).toBeGreaterThan(1_000);
    expect(young.kind === 'changing' && young.retryAfterMs).toBeLessThanOrEqual(1_500);

    expect(ports(await loadPolicySet(dir, { settleMs: 2_000, now: () => modified + 2_100 }))).toEqual([
      1000, 1000,
    ]);
    // One-shot commands (no settle window) use a fresh file at once.
    expect(ports(await loadPolicySet(dir))).toEqual([1000, 1000]);
  });
});

describe('loadPolicySet: the digest', () => {
  it('is the same for the same files in two version directories, and differs when a byte differs', async () => {
    const cm = configMap();
    writeVersion(join(cm.root, '..2026_11_30_06_02_00.000000003'), VERSION_A);
    const first = await loadPolicySet(cm.root);
    cm.swapTo('..2026_11_30_06_02_00.000000003');
    const same = await loadPolicySet(cm.root);
    cm.swapTo('..2026_11_30_06_01_00.000000002');
    const other = await loadPolicySet(cm.root);

    expect(first.kind === 'read' && first.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(same.kind === 'read' && same.digest).toBe(first.kind === 'read' && first.digest);
    expect(other.kind === 'read' && other.digest).not.toBe(first.kind === 'read' && first.digest);
    expect(same).toMatchObject({ version: '..2026_11_30_06_02_00.000000003' });
  });
});
