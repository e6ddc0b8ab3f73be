// Daemon soak: the built CLI's `run` against moto_server (through the counting proxy) at a
// 1-second schedule, with a policy set that keeps changing: every few seconds one policy file gains
// a rule (atomically: write + rename), and now and then a file is made invalid and fixed at the next
// rewrite. It samples the child's RSS (/proc/<pid>/status VmRSS), counts every event, and at the end
// checks that every pass completed or was skipped, that /metrics agrees with the events, that moto
// holds exactly the desired rules (no duplicate, none lost), and that SIGTERM stops it with exit 0.
//
//   node .cache/bench-build/bench/soak.js [--passes 500] [--groups 30] [--rewrite-every 5]
//                                         [--invalid-every 7] [--sample-every 2]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';

import { motoEnv, type Event } from '../test/helpers/cli.js';
import { startFaultProxy } from '../test/helpers/fault-proxy.js';
import { createGroup, defaultVpcId, freePort, startMoto } from '../test/helpers/moto.js';
import { CLI, ROOT } from '../test/helpers/cli.js';
import { argValue } from './args.js';

const REGION = 'us-east-1';
const SLICES = 10;
const SOAK_TAG = 'sgr-soak';
/** Leak verdict: the last quarter's median RSS may exceed the second quarter's by at most this much. */
const FLAT_TOLERANCE_MB = 10;
const FLAT_TOLERANCE_RATIO = 0.1;

export interface SoakOptions {
  /** Ticks to observe (passes started + skipped). */
  readonly passes: number;
  readonly groups: number;
  /** Seconds between policy rewrites. */
  readonly rewriteEvery: number;
  /** Every n-th rewrite writes an invalid file (fixed by the next rewrite); 0 = never. */
  readonly invalidEvery: number;
  /** Seconds between RSS samples. */
  readonly sampleEvery: number;
}

interface Sample {
  readonly t: number;
  readonly rssMb: number;
}

function ruleYaml(slice: number, j: number): string {
  return [
    '    - protocol: tcp',
    `      ports: ${9000 + j}`,
    `      description: soak slice ${slice} rule ${j}`,
    '      sources:',
    `        - cidr: 10.${slice}.${j}.0/24`,
  ].join('\n');
}

function sliceYaml(slice: number, rules: number, invalid = false): string {
  const lines = [
    'apiVersion: sg-reconciler/v1',
    'kind: IngressPolicy',
    'metadata:',
    `  name: soak-slice-${slice}`,
    'spec:',
    '  targets:',
    `    - tags: { ${SOAK_TAG}: slice-${slice} }`,
    '  ingress:',
    ...Array.from({ length: rules }, (_, j) => ruleYaml(slice, j)),
  ];
  // Port 70000 is out of range: the set is invalid until the next rewrite fixes it.
  if (invalid)
    lines.push('    - protocol: tcp', '      ports: 70000', '      sources:', '        - cidr: 10.99.0.0/16');
  return `${lines.join('\n')}\n`;
}

/** Atomic, as a git-sync sidecar or a ConfigMap update swaps files: the daemon never reads half a file. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, text);
  await rename(temp, path);
}

function vmRssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] === undefined ? undefined : Math.round((Number(match[1]) / 1024) * 10) / 10;
  } catch {
    return undefined;
  }
}

/** Prometheus text -> `name{labels}` -> value. */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const match = /^(\S+)\s+(\S+)/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) values.set(match[1], Number(match[2]));
  }
  return values;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Least-squares slope of RSS over time, MB per minute. */
function slopeMbPerMin(samples: readonly Sample[]): number {
  const n = samples.length;
  if (n < 2) return 0;
  const mt = samples.reduce((s, x) => s + x.t, 0) / n;
  const mr = samples.reduce((s, x) => s + x.rssMb, 0) / n;
  let num = 0;
  let den = 0;
  for (const { t, rssMb } of samples) {
    num += (t - mt) * (rssMb - mr);
    den += (t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class EventTally {
  readonly counts = new Map<string, number>();
  readonly skipped = new Map<string, number>();
  readonly started = new Set<string>();
  readonly ended = new Set<string>();
  readonly failures: Event[] = [];
  lastCompleted: Event | undefined;
  completedAt = 0;

  add(event: Event): void {
    const name = event.event ?? '';
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
    const runId = typeof event['runId'] === 'string' ? event['runId'] : undefined;
    if (name === 'reconcile.started' && runId !== undefined) this.started.add(runId);
    if ((name === 'reconcile.completed' || name === 'reconcile.failed') && runId !== undefined)
      this.ended.add(runId);
    if (name === 'reconcile.completed') {
      this.lastCompleted = event;
      this.completedAt = Date.now();
    }
    if (name === 'reconcile.skipped') {
      const reason = String(event['reason']);
      this.skipped.set(reason, (this.skipped.get(reason) ?? 0) + 1);
    }
    if (name === 'reconcile.failed' || name === 'rule.failed' || name === 'daemon.failed')
      this.failures.push(event);
  }

  n(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  get ticks(): number {
    return this.n('reconcile.started') + this.n('reconcile.skipped');
  }
}

export async function runSoak(options: SoakOptions): Promise<{ ok: boolean }> {
  const moto = await startMoto();
  const proxy = await startFaultProxy(moto.endpoint);
  const dir = await mkdtemp(join(tmpdir(), 'sgr-bench-soak-'));
  const checks: { name: string; ok: boolean; detail: string }[] = [];
  try {
    const ec2 = moto.ec2(REGION);
    const vpcId = await defaultVpcId(ec2);
    for (let i = 0; i < options.groups; i++) {
      await createGroup(ec2, { name: `soak-${i}`, vpcId, tags: { [SOAK_TAG]: `slice-${i % SLICES}` } });
    }
    const groupsPerSlice = Array.from(
      { length: SLICES },
      (_, k) => Array.from({ length: options.groups }, (_, i) => i).filter((i) => i % SLICES === k).length,
    );
    const rules = Array.from({ length: SLICES }, () => 1);
    for (let k = 0; k < SLICES; k++)
      await writeAtomically(join(dir, `slice-${k}.yaml`), sliceYaml(k, rules[k] ?? 1));
    const maxRules = 1 + Math.ceil(options.passes / options.rewriteEvery / SLICES) + 1;
    if (maxRules > 55)
      throw new Error(`soak: ${maxRules} rules per group would approach the 60-rule quota; fewer passes`);

    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        CLI,
        'run',
        '--policies',
        dir,
        '--region',
        REGION,
        '--schedule',
        '* * * * * *',
        '--listen',
        `127.0.0.1:${port}`,
      ],
      { cwd: ROOT, env: motoEnv(proxy.endpoint, { LOG_LEVEL: 'info' }), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const pid = child.pid;
    if (pid === undefined) throw new Error('soak: could not spawn the daemon');
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let exitCode: number | null | undefined;
    void exited.then((code) => (exitCode = code));
    let stderrTail = '';
    child.stderr
      .setEncoding('utf8')
      .on('data', (chunk: string) => (stderrTail = (stderrTail + chunk).slice(-4000)));

    const tally = new EventTally();
    let nonJson = 0;
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const event = JSON.parse(line) as Event;
        if (typeof event.event === 'string') tally.add(event);
      } catch {
        nonJson++;
      }
    });

    const metrics = async (): Promise<Map<string, number>> => {
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      return parseMetrics(await response.text());
    };

    const started = Date.now();
    const elapsed = (): number => (Date.now() - started) / 1000;
    const samples: Sample[] = [];
    const heapMb: number[] = [];
    let rewrites = 0;
    let invalidSlice: number | undefined;
    let invalidWrites = 0;
    let nextRewrite = options.rewriteEvery;
    let nextSample = 0;
    let nextReport = 30;
    process.stderr.write(
      `soak: daemon pid ${pid}, ${options.groups} groups, target ${options.passes} ticks\n`,
    );

    while (tally.ticks < options.passes) {
      if (exitCode !== undefined)
        throw new Error(`soak: the daemon exited early (${exitCode}): ${stderrTail}`);
      const t = elapsed();
      if (t >= nextSample) {
        const rss = vmRssMb(pid);
        if (rss !== undefined) samples.push({ t, rssMb: rss });
        nextSample += options.sampleEvery;
      }
      if (t >= nextRewrite) {
        rewrites++;
        const slice = rewrites % SLICES;
        if (invalidSlice !== undefined) {
          await writeAtomically(
            join(dir, `slice-${invalidSlice}.yaml`),
            sliceYaml(invalidSlice, rules[invalidSlice] ?? 1),
          );
          invalidSlice = undefined;
        }
        if (options.invalidEvery > 0 && rewrites % options.invalidEvery === 0) {
          invalidSlice = slice;
          invalidWrites++;
          await writeAtomically(join(dir, `slice-${slice}.yaml`), sliceYaml(slice, rules[slice] ?? 1, true));
        } else {
          rules[slice] = (rules[slice] ?? 1) + 1;
          await writeAtomically(join(dir, `slice-${slice}.yaml`), sliceYaml(slice, rules[slice]));
        }
        nextRewrite += options.rewriteEvery;
      }
      if (t >= nextReport) {
        const m = await metrics().catch(() => undefined);
        const heap = m?.get('sgr_nodejs_heap_size_used_bytes');
        if (heap !== undefined) heapMb.push(Math.round((heap / 1024 / 1024) * 10) / 10);
        process.stderr.write(
          `soak: ${Math.round(t)} s, ${tally.ticks} ticks, ${tally.n('reconcile.completed')} completed, ` +
            `RSS ${samples.at(-1)?.rssMb ?? '?'} MB, heap ${heapMb.at(-1) ?? '?'} MB\n`,
        );
        nextReport += 30;
      }
      await sleep(200);
    }

    // Quiesce: the last file valid again, then wait for a completed pass that found nothing missing.
    if (invalidSlice !== undefined) {
      await writeAtomically(
        join(dir, `slice-${invalidSlice}.yaml`),
        sliceYaml(invalidSlice, rules[invalidSlice] ?? 1),
      );
    }
    const quiesceFrom = Date.now();
    while (Date.now() - quiesceFrom < 30_000) {
      const last = tally.lastCompleted;
      if (last !== undefined && tally.completedAt > quiesceFrom + 1500 && last['missing'] === 0) break;
      await sleep(200);
    }
    const duration = elapsed();

    // Metrics vs events, scraped between passes: retry briefly if a pass was in flight.
    let agreement: { name: string; metric: number; events: number }[] = [];
    for (let attempt = 0; attempt < 20; attempt++) {
      const m = await metrics();
      const metric = (name: string): number => m.get(name) ?? Number.NaN;
      agreement = [
        {
          name: 'sgr_passes_total{result="completed"} vs reconcile.completed',
          metric: metric('sgr_passes_total{result="completed"}'),
          events: tally.n('reconcile.completed'),
        },
        {
          name: 'sgr_passes_total{result="failed"} vs reconcile.failed',
          metric: metric('sgr_passes_total{result="failed"}'),
          events: tally.n('reconcile.failed'),
        },
        {
          name: 'sgr_passes_total{result="skipped_overlap"} vs reconcile.skipped overlap',
          metric: metric('sgr_passes_total{result="skipped_overlap"}'),
          events: tally.skipped.get('overlap') ?? 0,
        },
        {
          name: 'sgr_passes_total{result="skipped_invalid"} vs reconcile.skipped invalid-policies',
          metric: metric('sgr_passes_total{result="skipped_invalid"}'),
          events: tally.skipped.get('invalid-policies') ?? 0,
        },
        {
          name: 'sgr_passes_total{result="skipped_changing"} vs reconcile.skipped policies-changing',
          metric: metric('sgr_passes_total{result="skipped_changing"}'),
          events: tally.skipped.get('policies-changing') ?? 0,
        },
        {
          name: 'sgr_rules_authorized_total vs rule.authorized',
          metric: metric('sgr_rules_authorized_total'),
          events: tally.n('rule.authorized'),
        },
        {
          name: 'sgr_rules_failed_total vs rule.failed',
          metric: metric('sgr_rules_failed_total'),
          events: tally.n('rule.failed'),
        },
      ];
      if (agreement.every((a) => a.metric === a.events)) break;
      await sleep(150);
    }
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status);
    const finalRss = vmRssMb(pid);
    if (finalRss !== undefined) samples.push({ t: elapsed(), rssMb: finalRss });

    child.kill('SIGTERM');
    const stopTimer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const code = await exited;
    clearTimeout(stopTimer);
    await sleep(100);

    // Moto's state: every desired rule exactly once.
    const described = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag-key', Values: [SOAK_TAG] }] }),
    );
    const liveRules = (described.SecurityGroups ?? []).reduce(
      (n, g) => n + (g.IpPermissions ?? []).reduce((m, p) => m + (p.IpRanges ?? []).length, 0),
      0,
    );
    const desiredRules = rules.reduce((n, r, k) => n + r * (groupsPerSlice[k] ?? 0), 0);
    const authorizeCalls = proxy.counts()['AuthorizeSecurityGroupIngress'] ?? 0;

    // ---- report ----
    // A V8 process's RSS swings with heap growth and shrinking (tens of MB here), so a leak is judged
    // on the envelope: after a warm-up, the highest RSS of the last quarter against the highest of the
    // first half. A leak lifts the envelope; a sawtooth does not. The quarter medians are printed too.
    const rss = samples.map((s) => s.rssMb);
    const warmFrom = Math.min(60, duration / 4);
    const warm = samples.filter((s) => s.t >= warmFrom);
    const firstHalf = warm.filter((s) => s.t < (warmFrom + duration) / 2).map((s) => s.rssMb);
    const lastQuarter = samples.filter((s) => s.t >= duration * 0.75).map((s) => s.rssMb);
    const secondQuarter = samples
      .filter((s) => s.t >= duration * 0.25 && s.t < duration * 0.5)
      .map((s) => s.rssMb);
    const envelopeBefore = Math.max(...firstHalf);
    const envelopeAfter = Math.max(...lastQuarter);
    const growthMb = envelopeAfter - envelopeBefore;
    const flat = growthMb <= Math.max(FLAT_TOLERANCE_MB, FLAT_TOLERANCE_RATIO * envelopeBefore);
    const orphans = [...tally.started].filter((id) => !tally.ended.has(id)).length;
    const perMinute: string[] = [];
    for (let minute = 0; minute * 60 < duration; minute++) {
      const inMinute = samples
        .filter((s) => s.t >= minute * 60 && s.t < (minute + 1) * 60)
        .map((s) => s.rssMb);
      if (inMinute.length > 0) perMinute.push(`${minute}: ${Math.min(...inMinute)}-${Math.max(...inMinute)}`);
    }

    console.log(
      `\n## Soak: built CLI \`run\` at '* * * * * *' against moto, ${options.groups} groups in ${SLICES} policies`,
    );
    console.log(
      `${duration.toFixed(0)} s, ${tally.ticks} ticks (${tally.n('reconcile.started')} passes started, ` +
        `${tally.n('reconcile.skipped')} skipped: ${JSON.stringify(Object.fromEntries(tally.skipped))}); ` +
        `${rewrites} policy rewrites (add a rule every ${options.rewriteEvery} s` +
        (options.invalidEvery > 0
          ? `, every ${options.invalidEvery}th rewrite invalid until the next)`
          : ')'),
    );
    console.log(
      `events: completed ${tally.n('reconcile.completed')}, failed ${tally.n('reconcile.failed')}, ` +
        `rule.authorized ${tally.n('rule.authorized')}, rule.failed ${tally.n('rule.failed')}, ` +
        `policy.invalid ${tally.n('policy.invalid')}; non-JSON stdout lines ${nonJson}; ` +
        `AuthorizeSecurityGroupIngress calls ${authorizeCalls}`,
    );
    console.log(
      `RSS (VmRSS every ${options.sampleEvery} s, ${samples.length} samples): first ${rss[0]} MB (start-up), ` +
        `last ${rss.at(-1)} MB, max ${Math.max(...rss)} MB; after a ${warmFrom.toFixed(0)} s warm-up: max of the ` +
        `first half ${envelopeBefore} MB, max of the last quarter ${envelopeAfter} MB; median 2nd quarter ` +
        `${median(secondQuarter)} MB, last quarter ${median(lastQuarter)} MB; least-squares slope after warm-up ` +
        `${slopeMbPerMin(warm).toFixed(2)} MB/min`,
    );
    console.log(`RSS min-max by minute (MB): ${perMinute.join(', ')}`);
    if (heapMb.length > 0) {
      console.log(`V8 heap used (from /metrics every 30 s): ${heapMb.join(', ')} MB`);
    }
    console.log('/metrics vs events:');
    for (const a of agreement)
      console.log(`  ${a.metric === a.events ? 'ok  ' : 'DIFF'} ${a.name}: ${a.metric} vs ${a.events}`);
    for (const failure of tally.failures.slice(0, 5))
      console.log(`  failure event: ${JSON.stringify(failure)}`);

    checks.push({
      name: "RSS flat (after warm-up, the last quarter's max within max(10 MB, 10%) of the first half's max)",
      ok: flat,
      detail: `${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(1)} MB`,
    });
    checks.push({
      name: 'every started pass ended (completed or failed)',
      ok: orphans === 0,
      detail: `${tally.n('reconcile.started')} started, ${tally.ended.size} ended, ${orphans} without an end`,
    });
    checks.push({
      name: 'no pass failed outright',
      ok: tally.n('reconcile.failed') === 0,
      detail: `${tally.n('reconcile.failed')} reconcile.failed`,
    });
    checks.push({
      name: 'ticks observed ~ one per second',
      ok: tally.ticks >= Math.floor(duration * 0.9) - 2,
      detail: `${tally.ticks} ticks in ${duration.toFixed(0)} s (started + skipped; node-cron skips a tick the event loop missed)`,
    });
    checks.push({
      name: 'every invalid rewrite was skipped, not applied',
      // A short run may end before the first invalid rewrite; then there is nothing to check.
      ok: invalidWrites === 0 || (tally.skipped.get('invalid-policies') ?? 0) > 0,
      detail: `${invalidWrites} invalid rewrite(s), ${tally.skipped.get('invalid-policies') ?? 0} passes skipped as invalid-policies`,
    });
    checks.push({
      name: '/metrics agrees with the events',
      ok: agreement.every((a) => a.metric === a.events),
      detail: agreement.map((a) => `${a.metric}/${a.events}`).join(' '),
    });
    checks.push({
      name: 'moto holds every desired rule exactly once; rule.authorized = rules created',
      ok: liveRules === desiredRules && tally.n('rule.authorized') === desiredRules,
      detail: `live ${liveRules}, desired ${desiredRules}, rule.authorized ${tally.n('rule.authorized')}`,
    });
    checks.push({ name: '/readyz 200 at the end', ok: ready === 200, detail: String(ready) });
    checks.push({
      name: 'SIGTERM: exit 0 with daemon.stopped',
      ok: code === 0 && tally.n('daemon.stopped') === 1,
      detail: `exit ${code}, daemon.stopped ${tally.n('daemon.stopped')}`,
    });
    console.log('\nVerdicts:');
    for (const c of checks) console.log(`  ${c.ok ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);
    if (options.passes < 300) {
      console.log('  (a short run: RSS slope is only indicative; run --passes 500 for the leak verdict)');
    }
    return { ok: checks.every((c) => c.ok) };
  } finally {
    await proxy.stop();
    await moto.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export function soakOptionsFrom(args: readonly string[]): SoakOptions {
  return {
    passes: Number(argValue(args, '--passes') ?? '500'),
    groups: Number(argValue(args, '--groups') ?? '30'),
    rewriteEvery: Number(argValue(args, '--rewrite-every') ?? '5'),
    invalidEvery: Number(argValue(args, '--invalid-every') ?? '7'),
    sampleEvery: Number(argValue(args, '--sample-every') ?? '2'),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ok } = await runSoak(soakOptionsFrom(process.argv.slice(2)));
  process.exitCode = ok ? 0 : 1;
}
