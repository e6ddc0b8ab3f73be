// The set the daemon applies is a set that existed (SPEC "Safety rules of the pass", issue 9): the
// built daemon against moto while its policy directory is swapped underneath it the way kubelet
// swaps a ConfigMap and git-sync swaps a worktree, and while a file is written in two steps.
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Event } from '../helpers/cli.js';
import { isEvent, killDaemonsAfterEach, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { useEmulator } from '../helpers/emulator.js';
import { createGroup, listIngressRules } from '../helpers/moto.js';

const emulator = useEmulator();
killDaemonsAfterEach();

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sgr-swaps-'));
  dirs.push(dir);
  return dir;
}

function policyYaml(name: string, groupId: string, port: number, cidr: string): string {
  return [
    'apiVersion: sg-reconciler/v1',
    'kind: IngressPolicy',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  targets:',
    `    - groupId: ${groupId}`,
    '  ingress:',
    '    - protocol: tcp',
    `      ports: ${port}`,
    '      sources:',
    `        - cidr: ${cidr}`,
    '',
  ].join('\n');
}

const FILES = 30;

/**
 * Version A: p00..p29, each one valid rule (ports 1000..1029). Version B: the same, except that p00
 * has host bits set (invalid) and p29 asks for port 2029. A load that read p00 from A and p29 from
 * B would be a valid set holding B's rule; B alone is invalid, so port 2029 must never reach EC2.
 */
function writeVersion(dir: string, groupId: string, version: 'A' | 'B'): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < FILES; i++) {
    const name = `p${String(i).padStart(2, '0')}`;
    let text = policyYaml(name, groupId, 1000 + i, '198.51.100.0/24');
    if (version === 'B' && i === 0) text = policyYaml(name, groupId, 1000, '198.51.100.7/24');
    if (version === 'B' && i === FILES - 1) text = policyYaml(name, groupId, 2029, '198.51.100.0/24');
    writeFileSync(join(dir, `${name}.yaml`), text);
  }
}

/** Replaces the symlink `link` with one to `target`, atomically (symlink + rename, as kubelet and git-sync do). */
function swapLink(link: string, target: string): void {
  const temp = `${link}.tmp`;
  rmSync(temp, { force: true });
  symlinkSync(target, temp);
  renameSync(temp, link);
}

/** A ConfigMap volume: ..<version> directories, ..data -> one of them, top-level links into ..data. */
function configMapLayout(groupId: string): { root: string; swap(): void } {
  const root = tempDir();
  const versions = ['..2026_11_30_06_00_00.000000001', '..2026_11_30_06_00_01.000000002'];
  writeVersion(join(root, versions[0] as string), groupId, 'A');
  writeVersion(join(root, versions[1] as string), groupId, 'B');
  symlinkSync(versions[0] as string, join(root, '..data'));
  for (let i = 0; i < FILES; i++) {
    const file = `p${String(i).padStart(2, '0')}.yaml`;
    symlinkSync(join('..data', file), join(root, file));
  }
  let current = 0;
  return {
    root,
    swap: () => {
      current = 1 - current;
      swapLink(join(root, '..data'), versions[current] as string);
    },
  };
}

/** git-sync: `repo` -> `.worktrees/<commit>`, replaced by a link to the other commit's worktree. */
function gitSyncLayout(groupId: string): { root: string; swap(): void } {
  const base = tempDir();
  const commits = ['a1b2c3d4', 'e5f6a7b8'];
  writeVersion(join(base, '.worktrees', commits[0] as string), groupId, 'A');
  writeVersion(join(base, '.worktrees', commits[1] as string), groupId, 'B');
  symlinkSync(join('.worktrees', commits[0] as string), join(base, 'repo'));
  let current = 0;
  return {
    root: join(base, 'repo'),
    swap: () => {
      current = 1 - current;
      swapLink(join(base, 'repo'), join('.worktrees', commits[current] as string));
    },
  };
}

async function tcpPorts(groupId: string): Promise<number[]> {
  const rules = await listIngressRules(emulator.ec2, groupId);
  return rules.map((r) => r.FromPort ?? -1).sort((a, b) => a - b);
}

const VERSION_A_PORTS = Array.from({ length: FILES }, (_, i) => 1000 + i);

function expectNeverVersionB(daemon: RunningDaemon): void {
  expect(daemon.events.filter((e) => e.event === 'rule.authorized' && e['fromPort'] === 2029)).toEqual([]);
  expect(daemon.events.filter((e) => e.event === 'rule.missing' && e['fromPort'] === 2029)).toEqual([]);
}

const count = (events: readonly Event[], name: string, fields: Record<string, unknown> = {}): number =>
  events.filter(isEvent(name, fields)).length;

describe('sg-reconciler run with a policy directory swapped underneath it', () => {
  it('never applies a rule of an invalid version, for a ConfigMap and a git-sync link swapped every 50 ms for 20 s', async () => {
    const cmGroup = await createGroup(emulator.ec2, { name: 'swap-configmap', vpcId: emulator.vpcId });
    const gsGroup = await createGroup(emulator.ec2, { name: 'swap-gitsync', vpcId: emulator.vpcId });
    const cm = configMapLayout(cmGroup);
    const gs = gitSyncLayout(gsGroup);
    const endpoint = emulator.endpoint;
    const [cmDaemon, gsDaemon] = await Promise.all([
      // 30 policies are 30 writes: no client-side pacing, so the first pass takes a moment only.
      startDaemon({ policies: cm.root, endpoint, extraArgs: ['--write-rate', '1000'] }),
      startDaemon({ policies: gs.root, endpoint, extraArgs: ['--write-rate', '1000'] }),
    ]);
    await cmDaemon.waitFor('the ConfigMap daemon first pass', isEvent('reconcile.completed'));
    await gsDaemon.waitFor('the git-sync daemon first pass', isEvent('reconcile.completed'));

    const timer = setInterval(() => {
      cm.swap();
      gs.swap();
    }, 50);
    try {
      await sleep(20_000);
    } finally {
      clearInterval(timer);
    }

    for (const [daemon, groupId] of [
      [cmDaemon, cmGroup],
      [gsDaemon, gsGroup],
    ] as const) {
      expectNeverVersionB(daemon);
      expect(await tcpPorts(groupId)).toEqual(VERSION_A_PORTS);
      // Both versions were seen: B skipped as invalid, A applied; the swaps were noticed too.
      expect(count(daemon.events, 'reconcile.skipped', { reason: 'invalid-policies' })).toBeGreaterThan(0);
      expect(count(daemon.events, 'reconcile.completed')).toBeGreaterThan(1);
      expect(daemon.child.exitCode).toBeNull();
      daemon.child.kill('SIGTERM');
      expect((await daemon.exit).code).toBe(0);
    }
    // Each pass says which version it applied.
    const started = cmDaemon.events.filter(isEvent('reconcile.started'));
    expect(started[0]).toMatchObject({
      policySetDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
      policyVersion: '..2026_11_30_06_00_00.000000001',
    });
    expect(gsDaemon.events.find(isEvent('reconcile.started'))).toMatchObject({ policyVersion: 'a1b2c3d4' });
  }, 60_000);

  it('does not apply a file written less than 2 s ago: a file written in two steps is applied only as finished', async () => {
    const groupId = await createGroup(emulator.ec2, { name: 'settle', vpcId: emulator.vpcId });
    const dir = tempDir();
    writeFileSync(join(dir, 'base.yaml'), policyYaml('base', groupId, 22, '203.0.113.0/24'));
    const daemon = await startDaemon({ policies: dir, endpoint: emulator.endpoint });
    await daemon.waitFor('the first pass', isEvent('reconcile.completed'));

    // An in-place write cut short is still valid YAML: 128.0.0.0/16 cut to 128.0.0.0/1, half of
    // the IPv4 internet. The rest of the write lands 600 ms later.
    const mark = daemon.events.length;
    const file = join(dir, 'web.yaml');
    writeFileSync(file, policyYaml('web', groupId, 443, '128.0.0.0/1'));
    await sleep(600);
    writeFileSync(file, policyYaml('web', groupId, 443, '128.0.0.0/16'));
    const finishedAt = Date.now();

    const authorized = await daemon.waitFor(
      'rule.authorized 443',
      isEvent('rule.authorized', { fromPort: 443 }),
      15_000,
      mark,
    );
    expect(authorized['source']).toEqual({ kind: 'cidr', value: '128.0.0.0/16' });
    expect(Date.parse(authorized['time'] as string)).toBeGreaterThanOrEqual(finishedAt + 2_000 - 1_000);
    const deferred = daemon.events
      .slice(mark)
      .filter(isEvent('reconcile.skipped', { reason: 'policies-changing' }));
    expect(deferred.length).toBeGreaterThan(0);
    expect(deferred[0]).toMatchObject({ change: 'settling', file });
    const cidrs = (await listIngressRules(emulator.ec2, groupId)).map((r) => r.CidrIpv4).sort();
    expect(cidrs).toEqual(['128.0.0.0/16', '203.0.113.0/24']);

    daemon.child.kill('SIGTERM');
    expect((await daemon.exit).code).toBe(0);
  }, 30_000);
});
