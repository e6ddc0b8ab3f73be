// Scale benchmark of the reconcile engine against the in-memory EC2 fake: `plan` and `apply` at
// 1,000 / 10,000 / 50,000 groups x 25 rules. Each (size, scenario, repeat) runs in a fresh child
// process so its peak RSS (process.resourceUsage().maxRSS) is its own. The child builds the world
// (not measured), then measures one reconcilePass: CPU (process.cpuUsage, user+system), wall time,
// peak RSS. The parent prints a table, growth ratios and one verdict per target.
//
//   node .cache/bench-build/bench/scale.js [--sizes 1000,10000,50000] [--repeats 3] [--no-info]
//   node .cache/bench-build/bench/scale.js --child --groups 10000 --scenario apply --log silent
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';

import type { Ec2PortFactory } from '../src/aws/port.js';
import type { Policy } from '../src/model/policy.js';
import { bindSelf, type Rule } from '../src/model/rule.js';
import { createLogger, type Logger } from '../src/logging.js';
import { reconcilePass } from '../src/reconcile/pass.js';
import { DEFAULT_REGION, fakeWorld, policy, rule, selfRule, type FakeEc2 } from '../test/helpers/fake-ec2.js';
import { argValue } from './args.js';

export const SCENARIOS = ['plan-nochange', 'plan', 'apply'] as const;
/**
 * `plan-sdk`: the same world and policies, but read through the real SDK port (createEc2PortFactory)
 * from a loopback stub serving DescribeSecurityGroups XML pages of 1,000 groups: adds the SDK's
 * HTTP, XML parsing and the port's expansion to what `plan` measures. Run with --sdk.
 */
export type Scenario = (typeof SCENARIOS)[number] | 'plan-sdk';

const RULES_PER_GROUP = 25;
const TEAMS = 10;
/** Every PIN_EVERY-th group is also targeted by ID by a second policy that wants two of the same rules. */
const PIN_EVERY = 100;
const TARGET_GROUPS = 10_000;
const TARGET_CPU_MS = 1_000;
const TARGET_RSS_MB = 300;

export interface ChildResult {
  readonly groups: number;
  readonly scenario: Scenario;
  readonly log: 'silent' | 'info';
  readonly status: string;
  readonly cpuMs: number;
  readonly wallMs: number;
  /** Peak RSS of the whole child process (world + engine), MB. */
  readonly maxRssMb: number;
  /** RSS after the world was built, before the pass, MB. */
  readonly baselineRssMb: number;
  readonly buildMs: number;
  /** CPU of one bare full read through the fake port after the pass: the fake's own share. */
  readonly fakeReadCpuMs: number;
  readonly counts: Record<string, unknown>;
  readonly calls: Record<string, number>;
}

// ---------------------------------------------------------------------------------------------
// The world: TEAMS tag-selected policies of 25 rules each (tcp/udp/IPv4/IPv6/icmp/self), every
// group tagged with one team; 1% of the groups also pinned by ID by a policy whose two rules
// duplicate its team's (several policies wanting one rule). Live state: every desired rule, except
// (plan, apply) the rule at index i % 25 of group i, so ~1 rule per group is missing.

function groupId(i: number): string {
  return `sg-${i.toString(16).padStart(17, '0')}`;
}

function teamRules(team: number): Rule[] {
  const rules: Rule[] = [];
  for (let k = 0; k < RULES_PER_GROUP; k++) {
    const description = `team ${team} rule ${k}`;
    if (k === 0) rules.push(selfRule('-1', undefined, 'members of the group'));
    else if (k === 1) rules.push(rule('icmp', [8, -1], `10.${team}.0.0/16`, 'ping'));
    else if (k % 5 === 4) rules.push(rule('tcp', 443, `2001:db8:${team}:${k}::/64`, description));
    else if (k % 5 === 3) rules.push(rule('udp', [5000 + k, 5100 + k], `10.${team}.${k}.0/24`, description));
    else rules.push(rule('tcp', 1000 + k, `10.${team}.${k}.0/24`, description));
  }
  return rules;
}

export function buildWorld(groups: number, scenario: Scenario): { world: FakeEc2; policies: Policy[] } {
  const world = fakeWorld().vpc('vpc-0bench', { default: true });
  const rulesByTeam = Array.from({ length: TEAMS }, (_, t) => teamRules(t));
  const pinned: string[] = [];
  for (let i = 0; i < groups; i++) {
    const id = groupId(i);
    const team = i % TEAMS;
    world.group({ id, name: `app-${i}`, vpcId: 'vpc-0bench', tags: { team: `team-${team}`, env: 'prod' } });
    const wanted = rulesByTeam[team] ?? [];
    const skip = scenario === 'plan-nochange' ? -1 : i % RULES_PER_GROUP;
    world.rule(id, ...wanted.filter((_, k) => k !== skip).map((r) => bindSelf(r, id)));
    if (i % PIN_EVERY === 0) pinned.push(id);
  }
  const policies: Policy[] = rulesByTeam.map((rules, t) =>
    policy({ name: `team-${t}`, targets: [{ tags: { team: `team-${t}`, env: 'prod' } }], rules }),
  );
  const pinnedRules = (rulesByTeam[0] ?? []).slice(2, 4);
  policies.push(policy({ name: 'pinned', targets: pinned, rules: pinnedRules }));
  return { world, policies };
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** One IpPermission per rule, as EC2's query API returns it. */
function permissionXml(r: Rule): string {
  const ports = r.protocol === '-1' ? '' : `<fromPort>${r.fromPort}</fromPort><toPort>${r.toPort}</toPort>`;
  const description =
    r.description === undefined ? '' : `<description>${xmlEscape(r.description)}</description>`;
  const { kind, value } = r.source;
  const source =
    kind === 'cidr'
      ? `<ipRanges><item><cidrIp>${value}</cidrIp>${description}</item></ipRanges>`
      : kind === 'cidrIpv6'
        ? `<ipv6Ranges><item><cidrIpv6>${value}</cidrIpv6>${description}</item></ipv6Ranges>`
        : kind === 'prefixList'
          ? `<prefixListIds><item><prefixListId>${value}</prefixListId>${description}</item></prefixListIds>`
          : `<groups><item><userId>123456789012</userId><groupId>${value}</groupId>${description}</item></groups>`;
  return `<item><ipProtocol>${r.protocol}</ipProtocol>${ports}${source}</item>`;
}

/** The world as DescribeSecurityGroups response pages (filters ignored: the engine reads unfiltered here). */
async function describePages(world: FakeEc2, pageSize: number): Promise<string[]> {
  const groups = await world.port().describeSecurityGroups([]);
  const pages: string[] = [];
  for (let start = 0; start < groups.length; start += pageSize) {
    const page = groups.slice(start, start + pageSize);
    const next = start + pageSize < groups.length ? `<nextToken>${start + pageSize}</nextToken>` : '';
    const items = page.map((g) => {
      const tags = Object.entries(g.tags)
        .map(([k, v]) => `<item><key>${k}</key><value>${v}</value></item>`)
        .join('');
      return (
        `<item><ownerId>123456789012</ownerId><groupId>${g.groupId}</groupId><groupName>${g.groupName}</groupName>` +
        `<groupDescription>bench</groupDescription><vpcId>${g.vpcId ?? ''}</vpcId>` +
        `<ipPermissions>${g.rules.map(permissionXml).join('')}</ipPermissions><ipPermissionsEgress/>` +
        `<tagSet>${tags}</tagSet></item>`
      );
    });
    pages.push(
      '<?xml version="1.0" encoding="UTF-8"?>\n<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' +
        `<requestId>bench</requestId><securityGroupInfo>${items.join('')}</securityGroupInfo>${next}` +
        '</DescribeSecurityGroupsResponse>',
    );
  }
  return pages;
}

/** A loopback stub that answers DescribeSecurityGroups from pre-rendered pages (NextToken = offset). */
async function startXmlStub(
  pages: readonly string[],
  pageSize: number,
): Promise<{ endpoint: string; close(): void }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const action = params.get('Action');
      if (action !== 'DescribeSecurityGroups') {
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end(
          `<Response><Errors><Error><Code>Unsupported</Code><Message>${action}</Message></Error></Errors></Response>`,
        );
        return;
      }
      const token = params.get('NextToken');
      const page = pages[token === null ? 0 : Number(token) / pageSize] ?? '';
      res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' });
      res.end(page);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${address.port}`, close: () => server.close() };
}

function mb(bytes: number): number {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return Math.round((usage.user + usage.system) / 100) / 10;
}

/**
 * The fake's ports, counting calls by action on our side and clearing the fake's call log before
 * every call: FakeEc2 numbers each call by filtering its whole log (`count()`), which is O(calls) per
 * call and made a 50,000-group apply quadratic in the fake (14.6 s of 40.6 s CPU in a profile). With
 * the log kept empty, what remains is the engine's cost plus the fake's per-call work.
 */
function countingPorts(world: FakeEc2): { ports: Ec2PortFactory; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  const counted = <T>(action: string, call: () => Promise<T>): Promise<T> => {
    counts[action] = (counts[action] ?? 0) + 1;
    world.resetCalls();
    return call();
  };
  const ports: Ec2PortFactory = (region) => {
    const port = world.port(region);
    return {
      region,
      describeSecurityGroups: (filters, signal) =>
        counted('DescribeSecurityGroups', () => port.describeSecurityGroups(filters, signal)),
      describeIngressRules: (groupId, signal) =>
        counted('DescribeSecurityGroupRules', () => port.describeIngressRules(groupId, signal)),
      authorizeIngress: (request, signal) =>
        counted('AuthorizeSecurityGroupIngress', () => port.authorizeIngress(request, signal)),
      updateIngressDescriptions: (request, signal) =>
        counted('UpdateSecurityGroupRuleDescriptionsIngress', () =>
          port.updateIngressDescriptions(request, signal),
        ),
      describeDefaultVpcId: (signal) => counted('DescribeVpcs', () => port.describeDefaultVpcId(signal)),
      describePrefixLists: (ids, signal) =>
        counted('DescribeManagedPrefixLists', () => port.describePrefixLists(ids, signal)),
    };
  };
  return { ports, counts };
}

async function child(groups: number, scenario: Scenario, level: 'silent' | 'info'): Promise<ChildResult> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const buildStarted = performance.now();
  const { world, policies } = buildWorld(groups, scenario === 'plan-sdk' ? 'plan' : scenario);
  let stub: { endpoint: string; close(): void } | undefined;
  let sdkPorts: (Ec2PortFactory & { destroy(): void }) | undefined;
  if (scenario === 'plan-sdk') {
    // Imported here only: the SDK alone adds ~90 MB of RSS, which the fake scenarios must not carry.
    const { createEc2PortFactory } = await import('../src/aws/ec2-port.js');
    stub = await startXmlStub(await describePages(world, 1000), 1000);
    sdkPorts = createEc2PortFactory({
      endpoint: stub.endpoint,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
      maxAttempts: 1,
    });
  }
  const buildMs = Math.round(performance.now() - buildStarted);
  // info: every event is serialised and written, to /dev/null, so the terminal is not measured.
  const logger: Logger =
    level === 'silent'
      ? createLogger({ level: 'silent', destination: 2 })
      : createLogger({ level: 'info', destination: pino.destination({ dest: '/dev/null', sync: true }) });
  gc?.();
  const baselineRssMb = mb(process.memoryUsage().rss);

  const counting = countingPorts(world);
  const ports = sdkPorts ?? counting.ports;
  const calls = sdkPorts === undefined ? counting.counts : { DescribeSecurityGroups: 1 };
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const result = await reconcilePass(
    { ports, logger },
    {
      mode: scenario === 'apply' ? 'apply' : 'plan',
      policies,
      defaultRegion: DEFAULT_REGION,
      maxRulesPerGroup: 60,
    },
  );
  const wallMs = Math.round(performance.now() - wall0);
  const cpu = cpuMs(process.cpuUsage(cpu0));
  const maxRssMb = Math.round(process.resourceUsage().maxRSS / 102.4) / 10;

  sdkPorts?.destroy();
  stub?.close();
  const fake0 = process.cpuUsage();
  await world.port().describeSecurityGroups([]);
  const fakeReadCpuMs = cpuMs(process.cpuUsage(fake0));

  return {
    groups,
    scenario,
    log: level,
    status: result.status,
    cpuMs: cpu,
    wallMs,
    maxRssMb,
    baselineRssMb,
    buildMs,
    fakeReadCpuMs,
    counts: result.status === 'completed' ? { ...result.counts } : { error: result.error },
    calls,
  };
}

// ---------------------------------------------------------------------------------------------
// Parent

function runChild(
  groups: number,
  scenario: Scenario,
  level: 'silent' | 'info',
  extraNodeArgs: readonly string[],
): Promise<ChildResult> {
  const script = fileURLToPath(import.meta.url);
  const args = [
    '--expose-gc',
    '--max-old-space-size=4096',
    ...extraNodeArgs,
    script,
    '--child',
    '--groups',
    String(groups),
    '--scenario',
    scenario,
    '--log',
    level,
  ];
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    proc.on('error', reject);
    proc.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`child ${groups}/${scenario} exited ${code}: ${out}`));
      try {
        resolve(JSON.parse(last) as ChildResult);
      } catch {
        reject(new Error(`child ${groups}/${scenario} printed no result: ${out}`));
      }
    });
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? 0)
    : Math.round((((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2) * 10) / 10;
}

export interface ScaleRow {
  readonly groups: number;
  readonly scenario: Scenario;
  readonly log: 'silent' | 'info';
  readonly runs: readonly ChildResult[];
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly maxRssMb: number;
  readonly baselineRssMb: number;
  readonly fakeReadCpuMs: number;
}

function summarise(runs: readonly ChildResult[]): ScaleRow {
  const first = runs[0];
  if (first === undefined) throw new Error('no runs');
  return {
    groups: first.groups,
    scenario: first.scenario,
    log: first.log,
    runs,
    cpuMs: median(runs.map((r) => r.cpuMs)),
    wallMs: median(runs.map((r) => r.wallMs)),
    maxRssMb: median(runs.map((r) => r.maxRssMb)),
    baselineRssMb: median(runs.map((r) => r.baselineRssMb)),
    fakeReadCpuMs: median(runs.map((r) => r.fakeReadCpuMs)),
  };
}

function pad(text: string | number, width: number, left = false): string {
  const s = String(text);
  return left ? s.padEnd(width) : s.padStart(width);
}

function table(rows: readonly ScaleRow[]): string {
  const header = [
    pad('scenario', 14, true),
    pad('log', 6, true),
    pad('groups', 7),
    pad('rules', 9),
    pad('runs', 4),
    pad('cpu ms', 8),
    pad('wall ms', 8),
    pad('µs/group', 8),
    pad('peak RSS', 9),
    pad('world RSS', 9),
    pad('fake read', 9),
    pad('missing', 8),
    pad('auth', 7),
    '  calls',
  ].join(' ');
  const lines = [header, '-'.repeat(header.length + 30)];
  for (const row of rows) {
    const run = row.runs[0];
    const counts = run?.counts ?? {};
    const calls = Object.entries(run?.calls ?? {})
      .map(([action, n]) => `${action.replace('SecurityGroup', 'SG')}=${n}`)
      .join(' ');
    lines.push(
      [
        pad(row.scenario, 14, true),
        pad(row.log, 6, true),
        pad(row.groups, 7),
        pad(row.groups * RULES_PER_GROUP, 9),
        pad(row.runs.length, 4),
        pad(row.cpuMs, 8),
        pad(row.wallMs, 8),
        pad(Math.round((row.cpuMs * 1000) / row.groups), 8),
        pad(`${row.maxRssMb} MB`, 9),
        pad(`${row.baselineRssMb} MB`, 9),
        pad(`${row.fakeReadCpuMs} ms`, 9),
        pad(String(counts['missing'] ?? '-'), 8),
        pad(String(counts['authorized'] ?? '-'), 7),
        `  ${calls}`,
      ].join(' '),
    );
  }
  return lines.join('\n');
}

function growth(rows: readonly ScaleRow[]): { lines: string[]; linear: boolean } {
  const lines: string[] = [];
  let linear = true;
  for (const scenario of SCENARIOS) {
    const series = rows
      .filter((r) => r.scenario === scenario && r.log === 'silent')
      .sort((a, b) => a.groups - b.groups);
    for (let i = 1; i < series.length; i++) {
      const a = series[i - 1];
      const b = series[i];
      if (a === undefined || b === undefined) continue;
      const size = b.groups / a.groups;
      const cpu = b.cpuMs / a.cpuMs;
      const rssDelta = (b.maxRssMb - b.baselineRssMb) / Math.max(1, a.maxRssMb - a.baselineRssMb);
      // Normalised growth: 1.0 is perfectly linear. The smallest size is dominated by JIT warm-up,
      // so only steps from 10,000 groups up decide the verdict.
      const normalised = cpu / size;
      if (a.groups >= TARGET_GROUPS && normalised > 1.5) linear = false;
      lines.push(
        `${pad(scenario, 14, true)} ${pad(a.groups, 6)} -> ${pad(b.groups, 6)} (x${size}): ` +
          `CPU x${cpu.toFixed(2)} (normalised ${normalised.toFixed(2)}), ` +
          `engine RSS (peak - world) x${rssDelta.toFixed(2)} (normalised ${(rssDelta / size).toFixed(2)})`,
      );
    }
  }
  return { lines, linear };
}

export interface ScaleOptions {
  readonly sizes: readonly number[];
  readonly repeats: number;
  readonly info: boolean;
  /** Also plan through the real SDK port from an XML stub (sizes up to 10,000). */
  readonly sdk: boolean;
  readonly nodeArgs: readonly string[];
}

export async function runScale(options: ScaleOptions): Promise<{ rows: ScaleRow[]; ok: boolean }> {
  const rows: ScaleRow[] = [];
  const plan: { groups: number; scenario: Scenario; log: 'silent' | 'info'; repeats: number }[] = [];
  for (const groups of options.sizes) {
    for (const scenario of SCENARIOS) {
      // The largest size takes a while to build; one run of it is enough to see the growth.
      plan.push({ groups, scenario, log: 'silent', repeats: groups > TARGET_GROUPS ? 1 : options.repeats });
    }
  }
  if (options.sdk) {
    for (const groups of options.sizes.filter((n) => n <= TARGET_GROUPS)) {
      plan.push({ groups, scenario: 'plan-sdk', log: 'silent', repeats: options.repeats });
    }
  }
  if (options.info && options.sizes.includes(TARGET_GROUPS)) {
    plan.push({ groups: TARGET_GROUPS, scenario: 'plan', log: 'info', repeats: options.repeats });
    plan.push({ groups: TARGET_GROUPS, scenario: 'apply', log: 'info', repeats: options.repeats });
  }
  for (const step of plan) {
    const runs: ChildResult[] = [];
    for (let r = 0; r < step.repeats; r++) {
      process.stderr.write(`scale: ${step.scenario} ${step.groups} groups (log ${step.log}) run ${r + 1}\n`);
      runs.push(await runChild(step.groups, step.scenario, step.log, options.nodeArgs));
    }
    rows.push(summarise(runs));
  }

  console.log(
    `\n## Scale: reconcilePass against the in-memory EC2 fake, ${RULES_PER_GROUP} rules per group ` +
      `(Node ${process.version}; medians; every run in a fresh process)\n`,
  );
  console.log(table(rows));
  console.log(
    '\ncpu ms = process.cpuUsage (user+system, all threads incl. GC) around the pass; peak RSS = maxRSS of the' +
      '\nchild (world + engine); world RSS = RSS after building the fake world, before the pass; fake read =' +
      '\nCPU of one bare full read through the fake port (the fake\'s own share of "cpu ms").',
  );

  const { lines, linear } = growth(rows);
  console.log('\nGrowth between sizes (normalised = ratio / size ratio; 1.00 = linear):');
  for (const line of lines) console.log(`  ${line}`);

  const verdicts: { name: string; ok: boolean; detail: string }[] = [];
  for (const scenario of ['plan', 'apply'] as const) {
    const row = rows.find((r) => r.groups === TARGET_GROUPS && r.scenario === scenario && r.log === 'silent');
    if (row === undefined) continue;
    verdicts.push({
      name: `${scenario} 10,000 x 25 CPU < ${TARGET_CPU_MS} ms`,
      ok: row.cpuMs < TARGET_CPU_MS,
      detail: `${row.cpuMs} ms (of which the fake's reads ~${row.fakeReadCpuMs} ms)`,
    });
    verdicts.push({
      // The fake keeps its own copy of every group and rule in this process; the engine's share is
      // what the pass added on top of it. The whole process's peak is printed alongside.
      name: `${scenario} 10,000 x 25 engine peak RSS (peak - fake world) < ${TARGET_RSS_MB} MB`,
      ok: row.maxRssMb - row.baselineRssMb < TARGET_RSS_MB,
      detail:
        `${Math.round(row.maxRssMb - row.baselineRssMb)} MB (whole bench process ${row.maxRssMb} MB, ` +
        `of which the fake's world ${row.baselineRssMb} MB)`,
    });
  }
  if (lines.length > 0) {
    verdicts.push({
      name: 'growth linear (10,000 -> 50,000 normalised CPU <= 1.5)',
      ok: linear,
      detail: 'see growth lines',
    });
  }
  for (const row of rows.filter((r) => r.log === 'info')) {
    const silent = rows.find(
      (r) => r.groups === row.groups && r.scenario === row.scenario && r.log === 'silent',
    );
    console.log(
      `info-level logging to /dev/null, ${row.scenario} ${row.groups}: ${row.cpuMs} ms CPU` +
        (silent !== undefined
          ? ` (silent: ${silent.cpuMs} ms; logging adds ${Math.round(row.cpuMs - silent.cpuMs)} ms)`
          : ''),
    );
  }
  for (const row of rows.filter((r) => r.scenario === 'plan-sdk')) {
    const fake = rows.find((r) => r.groups === row.groups && r.scenario === 'plan' && r.log === 'silent');
    console.log(
      `through the SDK port (XML stub), plan ${row.groups}: ${row.cpuMs} ms CPU, peak RSS ${row.maxRssMb} MB ` +
        `(pre-pass ${row.baselineRssMb} MB incl. the fake world and the rendered XML)` +
        (fake !== undefined ? `; the fake port's plan: ${fake.cpuMs} ms` : ''),
    );
  }
  console.log('\nVerdicts:');
  for (const v of verdicts) console.log(`  ${v.ok ? 'PASS' : 'FAIL'}  ${v.name}: ${v.detail}`);
  const bad = rows.flatMap((r) => r.runs).filter((r) => r.status !== 'completed');
  for (const r of bad)
    console.log(`  FAIL  ${r.scenario} ${r.groups}: pass ${r.status} ${JSON.stringify(r.counts)}`);
  const wrongApply = rows
    .flatMap((r) => r.runs)
    .filter((r) => r.scenario === 'apply' && r.counts['authorized'] !== r.groups);
  for (const r of wrongApply) {
    console.log(
      `  FAIL  apply ${r.groups}: authorized ${String(r.counts['authorized'])}, expected ${r.groups}`,
    );
  }
  return { rows, ok: verdicts.every((v) => v.ok) && bad.length === 0 && wrongApply.length === 0 };
}

export function scaleOptionsFrom(args: readonly string[]): ScaleOptions {
  const sizes = (argValue(args, '--sizes') ?? '1000,10000,50000').split(',').map(Number);
  const profile = args.includes('--profile');
  return {
    sizes,
    repeats: Number(argValue(args, '--repeats') ?? '3'),
    info: !args.includes('--no-info'),
    sdk: args.includes('--sdk'),
    nodeArgs: profile ? ['--cpu-prof', '--cpu-prof-dir', '.cache/bench-prof'] : [],
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--child')) {
    const groups = Number(argValue(args, '--groups'));
    const scenario = argValue(args, '--scenario') as Scenario;
    const level = argValue(args, '--log') === 'info' ? 'info' : 'silent';
    const result = await child(groups, scenario, level);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const { ok } = await runScale(scaleOptionsFrom(args));
  process.exitCode = ok ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
