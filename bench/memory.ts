// Memory benchmark (issue 9, "Bounded memory"): (a) peak RSS of `validate` on 1 MiB of hostile
// YAML of several shapes, and on the worst input still inside every limit, above the peak of
// `validate` on one small policy (the process's baseline); (b) the daemon's steady RSS with about
// 1 MB of real policies over 1,000 groups (the in-memory EC2 fake, in-process), against the same
// daemon with one small policy. Every run is a fresh child process, so its peak is its own.
//
//   node .cache/bench-build/bench/memory.js [--seconds 30]
//   node .cache/bench-build/bench/memory.js --child-daemon --policies <dir> --groups 1000 --seconds 30
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'node:events';
import { runDaemon } from '../src/daemon/index.js';
import { createLogger } from '../src/logging.js';
import { CLI } from '../test/helpers/cli.js';
import { fakeWorld } from '../test/helpers/fake-ec2.js';
import { argValue } from './args.js';

const MiB = 1024 * 1024;
const TARGET_HOSTILE_MB = 100;

function fill(unit: string, head = '', tail = ''): string {
  const room = MiB - 1 - head.length - tail.length;
  return head + unit.repeat(Math.floor(room / unit.length)) + tail;
}

function policyYaml(name: string, groupId: string, ports: readonly number[]): string {
  return [
    'apiVersion: sg-reconciler/v1',
    'kind: IngressPolicy',
    'metadata:',
    `  name: ${name}`,
    `  description: generated for the memory benchmark, one of about two thousand`,
    'spec:',
    '  targets:',
    `    - groupId: ${groupId}`,
    '  ingress:',
    ...ports.flatMap((port) => [
      '    - protocol: tcp',
      `      ports: ${port}`,
      `      description: ${name} port ${port}`,
      '      sources:',
      '        - cidr: 203.0.113.0/24',
    ]),
    '',
  ].join('\n');
}

const groupId = (i: number): string => `sg-${(0x10000000 + i).toString(16).padStart(17, '0')}`;

/** About `bytes` of real policies: 3 rules each, two policies per group, in files of ~100 KB. */
function writeLegitPolicies(dir: string, bytes: number, groups: number): number {
  mkdirSync(dir, { recursive: true });
  let total = 0;
  let n = 0;
  for (let file = 0; total < bytes; file++) {
    const docs: string[] = [];
    let size = 0;
    while (size < 100_000 && total + size < bytes) {
      const text = policyYaml(`policy-${n}`, groupId(n % groups), [
        1000 + (n % 7),
        2000 + (n % 11),
        3000 + (n % 13),
      ]);
      docs.push(text);
      size += text.length + 4;
      n++;
    }
    const text = docs.join('---\n');
    writeFileSync(join(dir, `set-${String(file).padStart(3, '0')}.yaml`), text);
    total += text.length;
  }
  return n;
}

const HOSTILE: readonly { name: string; text: () => string }[] = [
  { name: 'nested [ (1 MiB)', text: () => '['.repeat(MiB / 2) + ']'.repeat(MiB / 2 - 1) },
  { name: 'nested {a: (1 MiB)', text: () => fill('{a: ') },
  { name: 'nested - - - (1 MiB)', text: () => fill('- ') },
  { name: 'flat flow list [1,1,...] (1 MiB)', text: () => fill('1,', '[', '1]') },
  { name: 'block list - 1 (1 MiB)', text: () => fill('- 1\n') },
  { name: 'empty documents --- (1 MiB)', text: () => fill('---\n') },
  { name: 'aliases [*a, *a, ...] (1 MiB)', text: () => fill('*a,', '[&a 1,', '1]') },
  {
    name: 'inside every limit: two 19,990-value documents',
    text: () => `${'- 1\n'.repeat(19_990)}---\n`.repeat(2),
  },
  {
    name: 'inside every limit: 64 levels, repeated',
    text: () => fill(`${'['.repeat(64)}${']'.repeat(64)}\n---\n`),
  },
];

/** `validate` on one file in a fresh process; its peak RSS in MB (from an exit hook). */
async function validatePeak(file: string, hook: string): Promise<{ peakMb: number; exit: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', hook, CLI, 'validate', '--policies', file], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)));
    child.on('error', reject);
    child.on('close', (exit) => {
      const kb = /SGR_MAXRSS_KB (\d+)/.exec(stderr)?.[1];
      if (kb === undefined) return reject(new Error(`no peak RSS reported: ${stderr}`));
      resolve({ peakMb: Number(kb) / 1024, exit });
    });
  });
}

async function hostileTable(work: string): Promise<boolean> {
  const hook = join(work, 'maxrss-hook.mjs');
  writeFileSync(
    hook,
    "import { writeSync } from 'node:fs';\nprocess.on('exit', () => writeSync(2, `\\nSGR_MAXRSS_KB ${process.resourceUsage().maxRSS}\\n`));\n",
  );
  const small = join(work, 'small.yaml');
  writeFileSync(small, policyYaml('small', groupId(0), [22]));
  const baseline = (await validatePeak(small, hook)).peakMb;
  const legitDir = join(work, 'legit-validate');
  writeLegitPolicies(legitDir, MiB - 1, 1000);
  const legit = await validatePeak(join(legitDir, 'set-000.yaml'), hook);
  console.log(
    `\n(a) validate, peak RSS above the baseline of one small policy (${baseline.toFixed(0)} MB)\n`,
  );
  console.log('| input | exit | peak MB | above baseline MB |');
  console.log('|---|---|---|---|');
  let ok = true;
  for (const shape of HOSTILE) {
    const file = join(work, 'hostile.yaml');
    writeFileSync(file, shape.text());
    const { peakMb, exit } = await validatePeak(file, hook);
    const above = peakMb - baseline;
    if (above >= TARGET_HOSTILE_MB) ok = false;
    console.log(`| ${shape.name} | ${exit} | ${peakMb.toFixed(0)} | ${above.toFixed(0)} |`);
  }
  console.log(
    `| real policies, one 100 KB file (for comparison) | ${legit.exit} | ${legit.peakMb.toFixed(0)} | ${(legit.peakMb - baseline).toFixed(0)} |`,
  );
  console.log(`\nverdict: hostile input < ${TARGET_HOSTILE_MB} MB above baseline: ${ok ? 'PASS' : 'FAIL'}`);
  return ok;
}

interface DaemonFigures {
  readonly policies: number;
  readonly passes: number;
  readonly steadyMb: number;
  readonly peakMb: number;
  readonly worldMb: number;
}

async function daemonRun(dir: string, groups: number, seconds: number): Promise<DaemonFigures> {
  const args = ['--expose-gc', fileURLToPath(import.meta.url), '--child-daemon', '--policies', dir];
  args.push('--groups', String(groups), '--seconds', String(seconds));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`daemon child exited ${code}: ${out}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as DaemonFigures);
    });
  });
}

/** The child: a daemon over the fake EC2 with `groups` groups, `seconds` long, at a 2 s schedule. */
async function childDaemon(args: readonly string[]): Promise<void> {
  const dir = argValue(args, '--policies') ?? '';
  const groups = Number(argValue(args, '--groups') ?? '1000');
  const seconds = Number(argValue(args, '--seconds') ?? '30');
  const world = fakeWorld();
  for (let i = 0; i < groups; i++) world.group({ id: groupId(i), name: `g-${i}` });
  global.gc?.();
  const worldMb = process.memoryUsage().rss / MiB;
  let passes = 0;
  let policies = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = chunk.toString();
      if (text.includes('"reconcile.completed"')) passes++;
      const started = /"event":"reconcile.started".*?"policies":(\d+)/.exec(text);
      if (started !== null) policies = Number(started[1]);
      world.calls.length = 0; // the fake's call log is the fake's memory, not the daemon's
      done();
    },
  });
  const proc = Object.assign(new EventEmitter(), { exit: (code: number) => process.exit(code) });
  const config = {
    policies: [dir],
    region: 'us-east-1',
    endpoint: undefined,
    logLevel: 'info' as const,
    maxRulesPerGroup: 60,
    writesPerSecond: 1_000_000,
    dryRun: false,
    schedule: '*/2 * * * * *',
    listen: { host: '127.0.0.1', port: 0 },
    timezone: 'UTC',
    passTimeoutSeconds: 60,
    clock: () => new Date(),
  };
  const logger = createLogger({ level: 'info', destination: sink });
  const running = runDaemon(config, { logger, ports: world.ports(), process: proc });
  const samples: number[] = [];
  const started = Date.now();
  while (Date.now() - started < seconds * 1000) {
    await new Promise((r) => setTimeout(r, 500));
    samples.push(process.memoryUsage().rss / MiB);
  }
  proc.emit('SIGTERM', 'SIGTERM');
  await running;
  const steady = samples.slice(Math.floor(samples.length / 2)).sort((a, b) => a - b);
  const figures: DaemonFigures = {
    policies,
    passes,
    steadyMb: steady[Math.floor(steady.length / 2)] ?? 0,
    peakMb: process.resourceUsage().maxRSS / 1024,
    worldMb,
  };
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

async function main(args: readonly string[]): Promise<number> {
  if (args.includes('--child-daemon')) {
    await childDaemon(args);
    return 0;
  }
  const seconds = Number(argValue(args, '--seconds') ?? '30');
  const work = mkdtempSync(join(tmpdir(), 'sgr-bench-memory-'));
  try {
    const ok = await hostileTable(work);
    const large = join(work, 'large');
    const written = writeLegitPolicies(large, 1_000_000, 1000);
    const small = join(work, 'small-set');
    mkdirSync(small);
    writeFileSync(join(small, 'one.yaml'), policyYaml('one', groupId(0), [22]));
    const base = await daemonRun(small, 1000, seconds);
    const big = await daemonRun(large, 1000, seconds);
    console.log(
      `\n(b) the daemon, ${seconds} s at a 2 s schedule, 1,000 groups (in-memory EC2, in-process)\n`,
    );
    console.log('| policy set | policies | passes | steady RSS MB | peak RSS MB | world before start MB |');
    console.log('|---|---|---|---|---|---|');
    for (const [name, f] of [
      ['one small policy', base],
      [`~1 MB, ${written} policies`, big],
    ] as const) {
      console.log(
        `| ${name} | ${f.policies} | ${f.passes} | ${f.steadyMb.toFixed(0)} | ${f.peakMb.toFixed(0)} | ${f.worldMb.toFixed(0)} |`,
      );
    }
    console.log(
      `\n~1 MB set above one small policy: steady ${(big.steadyMb - base.steadyMb).toFixed(0)} MB, peak ${(big.peakMb - base.peakMb).toFixed(0)} MB`,
    );
    return ok ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
