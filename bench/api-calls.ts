// API-call benchmark: the built CLI against moto_server through the counting proxy
// (test/helpers/fault-proxy.ts), 200 groups x 10 rules.
//   (a) a no-change `plan`: calls by action; at most ceil(groups/1000) DescribeSecurityGroups per
//       region plus a small constant, and no per-group call;
//   (b) an `apply` that adds one rule to every group: exactly one AuthorizeSecurityGroupIngress per
//       group; (b2) two rules per group, which shows moto's authorize answer naming only the last
//       permission's rules (the engine then reads the group's rules once to learn the IDs);
//   (c) plan wall time vs a bare DescribeSecurityGroups of the same groups through the same SDK
//       (median of several runs). Moto is slow and this machine is shared: indicative only.
//
//   node .cache/bench-build/bench/api-calls.js [--groups 200] [--rules 10] [--runs 7]
import { spawn } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';

import { createEc2Client, createEc2PortFactory } from '../src/aws/ec2-port.js';
import { createLogger } from '../src/logging.js';
import { loadPolicies } from '../src/policy/index.js';
import { reconcilePass } from '../src/reconcile/pass.js';
import { CLI, eventsNamed, motoEnv, ROOT, runCli, type CliResult } from '../test/helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../test/helpers/fault-proxy.js';
import {
  MOTO_CREDENTIALS,
  authorize,
  createGroup,
  defaultVpcId,
  startMoto,
  type MotoServer,
} from '../test/helpers/moto.js';
import { argValue } from './args.js';

/**
 * The policy loader reads schemas/policy.schema.json relative to its own module; in the bench build
 * that is .cache/bench-build/schemas, so link it to the repository's.
 */
export function linkSchemasIntoBuild(): void {
  const build = join(ROOT, '.cache', 'bench-build', 'schemas');
  if (!existsSync(build)) symlinkSync(join(ROOT, 'schemas'), build, 'dir');
}

const REGION = 'us-east-1';
const TIER_TAG = { tier: 'bench-web' };
/** The plan's read floor is ceil(groups/1000) per region; this many more calls are allowed. */
const SMALL_CONSTANT = 2;
const TARGET_RATIO = 1.3;

export interface ApiCallsOptions {
  readonly groups: number;
  readonly rules: number;
  readonly runs: number;
}

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Rule k of every group: tcp 8000+k from 10.k.0.0/16. */
function ruleYaml(k: number): string {
  return [
    '    - protocol: tcp',
    `      ports: ${8000 + k}`,
    `      description: bench rule ${k}`,
    '      sources:',
    `        - cidr: 10.${k}.0.0/16`,
  ].join('\n');
}

function policyYaml(name: string, targets: string, rules: readonly number[]): string {
  return [
    'apiVersion: sg-reconciler/v1',
    'kind: IngressPolicy',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  targets:',
    targets,
    '  ingress:',
    ...rules.map(ruleYaml),
    '',
  ].join('\n');
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * The policy set: two policies select every group by one tag (rules 0-5 and 6..), a third pins three
 * groups by ID and wants rule 0 again (one rule wanted by two policies is one rule).
 */
async function writePolicySet(
  dir: string,
  rules: number,
  pinned: readonly string[],
  extra: number[],
): Promise<void> {
  const tagTarget = `    - tags: { tier: ${TIER_TAG.tier} }`;
  const split = Math.ceil(rules * 0.6);
  await writeFile(join(dir, 'web-base.yaml'), policyYaml('web-base', tagTarget, range(0, split)));
  await writeFile(
    join(dir, 'web-extra.yaml'),
    policyYaml('web-extra', tagTarget, [...range(split, rules), ...extra]),
  );
  await writeFile(
    join(dir, 'pinned.yaml'),
    policyYaml('pinned', pinned.map((id) => `    - groupId: ${id}`).join('\n'), [0]),
  );
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Groups and their rules, created straight against moto (not through the proxy). */
async function createFixtures(moto: MotoServer, groups: number, rules: number): Promise<string[]> {
  const ec2 = moto.ec2(REGION);
  const vpcId = await defaultVpcId(ec2);
  return mapLimit(range(0, groups), 8, async (i) => {
    const id = await createGroup(ec2, { name: `bench-${i}`, vpcId, tags: TIER_TAG });
    await authorize(
      ec2,
      id,
      range(0, rules).map((k) => ({
        IpProtocol: 'tcp',
        FromPort: 8000 + k,
        ToPort: 8000 + k,
        IpRanges: [{ CidrIp: `10.${k}.0.0/16`, Description: `bench rule ${k}` }],
      })),
    );
    return id;
  });
}

function sortedCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([action, n]) => `${action}=${n}`)
    .join(', ');
}

async function cli(
  proxy: FaultProxy,
  args: readonly string[],
): Promise<{ result: CliResult; calls: Record<string, number> }> {
  proxy.resetCounts();
  const result = await runCli(args, { env: motoEnv(proxy.endpoint), timeoutMs: 300_000 });
  const failure = result.events.find((e) => e.event === 'reconcile.failed' || e.event === 'policy.invalid');
  if (failure !== undefined) console.log(`    (${args[0]} reported ${JSON.stringify(failure)})`);
  return { result, calls: { ...proxy.counts() } };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function spawnWall(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ ms: number; code: number | null }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - started, code }));
  });
}

/** A bare DescribeSecurityGroups as a process of its own: node start-up + SDK import + one call. */
const BARE_SCRIPT = `
import { EC2Client, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
const client = new EC2Client({ region: '${REGION}', endpoint: process.env.SGR_ENDPOINT });
const out = await client.send(new DescribeSecurityGroupsCommand({
  Filters: [{ Name: 'tag:tier', Values: ['${TIER_TAG.tier}'] }], MaxResults: 1000 }));
if ((out.SecurityGroups ?? []).length === 0) process.exit(1);
client.destroy();
`;

export async function runApiCalls(options: ApiCallsOptions): Promise<{ ok: boolean }> {
  const { groups, rules, runs } = options;
  const checks: Check[] = [];
  linkSchemasIntoBuild();
  const moto = await startMoto();
  const proxy = await startFaultProxy(moto.endpoint);
  const dir = await mkdtemp(join(tmpdir(), 'sgr-bench-calls-'));
  try {
    process.stderr.write(`api-calls: creating ${groups} groups x ${rules} rules in moto\n`);
    const ids = await createFixtures(moto, groups, rules);
    const pinned = ids.slice(0, 3);
    await writePolicySet(dir, rules, pinned, []);
    const common = ['--policies', dir, '--region', REGION];
    const readFloor = Math.ceil(groups / 1000);

    console.log(
      `\n## API calls: built CLI -> counting proxy -> moto_server, ${groups} groups x ${rules} rules\n`,
    );
    console.log(
      'Policies: web-base + web-extra select every group by one tag selector; pinned selects 3 groups by ID\n' +
        '(and wants a rule web-base wants too). Calls counted by EC2 Action at the proxy, retries included.\n',
    );

    // (a) no-change plan
    const plan = await cli(proxy, ['plan', ...common, '--format', 'json', '--detailed-exitcode']);
    const describes = plan.calls['DescribeSecurityGroups'] ?? 0;
    const perGroup =
      (plan.calls['DescribeSecurityGroupRules'] ?? 0) + (plan.calls['AuthorizeSecurityGroupIngress'] ?? 0);
    const writes = plan.calls['AuthorizeSecurityGroupIngress'] ?? 0;
    console.log(`(a) no-change plan: exit ${plan.result.code}; calls: ${sortedCounts(plan.calls)}`);
    checks.push({
      name: '(a) plan reports no change (exit 0 with --detailed-exitcode)',
      ok: plan.result.code === 0,
      detail: `exit ${plan.result.code}`,
    });
    checks.push({
      name: `(a) plan DescribeSecurityGroups <= ceil(${groups}/1000) + ${SMALL_CONSTANT} = ${readFloor + SMALL_CONSTANT} (1 region)`,
      ok: describes <= readFloor + SMALL_CONSTANT,
      detail: `${describes} (one for the tag selector, one for the group-id targets)`,
    });
    checks.push({
      name: '(a) plan makes no per-group call and no write',
      ok: perGroup === 0 && writes === 0,
      detail: `DescribeSecurityGroupRules + AuthorizeSecurityGroupIngress = ${perGroup}`,
    });

    // (b) apply adding one rule to every group
    await writePolicySet(dir, rules, pinned, [rules]);
    const apply = await cli(proxy, ['apply', ...common]);
    const authorizes = apply.calls['AuthorizeSecurityGroupIngress'] ?? 0;
    const authorized = eventsNamed(apply.result.events, 'rule.authorized');
    const withIds = authorized.filter(
      (e) => typeof e['ruleId'] === 'string' && String(e['ruleId']).startsWith('sgr-'),
    );
    console.log(
      `(b) apply, +1 rule per group: exit ${apply.result.code}; rule.authorized ${authorized.length} ` +
        `(${withIds.length} with an sgr- ID); calls: ${sortedCounts(apply.calls)}`,
    );
    checks.push({
      name: `(b) apply makes exactly one AuthorizeSecurityGroupIngress per group (${groups})`,
      ok: authorizes === groups && apply.result.code === 0,
      detail: `${authorizes} authorize calls, exit ${apply.result.code}`,
    });
    checks.push({
      name: '(b) every rule.authorized carries the rule ID EC2 returned',
      ok: authorized.length === groups && withIds.length === groups,
      detail: `${withIds.length}/${authorized.length}`,
    });
    checks.push({
      name: '(b) no DescribeSecurityGroupRules when each call adds one permission',
      ok: (apply.calls['DescribeSecurityGroupRules'] ?? 0) === 0,
      detail: `${apply.calls['DescribeSecurityGroupRules'] ?? 0}`,
    });

    // (b2) two rules (two permissions) per group: moto returns only the last permission's rule.
    await writePolicySet(dir, rules, pinned, [rules, rules + 1, rules + 2]);
    const apply2 = await cli(proxy, ['apply', ...common]);
    const authorized2 = eventsNamed(apply2.result.events, 'rule.authorized');
    const rulesReads = apply2.calls['DescribeSecurityGroupRules'] ?? 0;
    console.log(
      `(b2) apply, +2 rules per group: exit ${apply2.result.code}; rule.authorized ${authorized2.length}; ` +
        `calls: ${sortedCounts(apply2.calls)}`,
    );
    console.log(
      "     moto answers AuthorizeSecurityGroupIngress with only the last permission's SecurityGroupRules\n" +
        "     (MOTO-NOTES), so the engine reads the group's rules once (DescribeSecurityGroupRules) to learn\n" +
        "     the other rule's ID: one extra read per changed group on moto, none on EC2, which lists every\n" +
        '     rule it created.',
    );
    checks.push({
      name: '(b2) still one AuthorizeSecurityGroupIngress per group with two rules each',
      ok:
        (apply2.calls['AuthorizeSecurityGroupIngress'] ?? 0) === groups && authorized2.length === 2 * groups,
      detail: `${apply2.calls['AuthorizeSecurityGroupIngress'] ?? 0} calls, ${authorized2.length} rules`,
    });
    checks.push({
      name: '(b2) at most one DescribeSecurityGroupRules per changed group (moto deviation)',
      ok: rulesReads <= groups,
      detail: `${rulesReads}`,
    });

    const after = await cli(proxy, ['plan', ...common, '--detailed-exitcode']);
    checks.push({
      name: 'converged: a plan after the applies reports no change',
      ok: after.result.code === 0,
      detail: `exit ${after.result.code}`,
    });

    // (c) plan wall time vs a bare DescribeSecurityGroups of the same groups, same SDK, same proxy.
    const env = motoEnv(proxy.endpoint);
    const loaded = await loadPolicies(dir);
    if (!loaded.ok) throw new Error(`bench policies are invalid: ${JSON.stringify(loaded.errors)}`);
    const ports = createEc2PortFactory({ endpoint: proxy.endpoint, credentials: MOTO_CREDENTIALS });
    const client = createEc2Client(REGION, { endpoint: proxy.endpoint, credentials: MOTO_CREDENTIALS });
    const logger = createLogger({ level: 'silent', destination: 2 });
    const bare = async (): Promise<number> => {
      const started = performance.now();
      const out = await client.send(
        new DescribeSecurityGroupsCommand({
          Filters: [{ Name: 'tag:tier', Values: [TIER_TAG.tier] }],
          MaxResults: 1000,
        }),
      );
      if ((out.SecurityGroups ?? []).length !== groups) throw new Error('bare describe saw the wrong groups');
      return performance.now() - started;
    };
    const engine = async (): Promise<number> => {
      const started = performance.now();
      const result = await reconcilePass(
        { ports, logger },
        { mode: 'plan', policies: loaded.policies, defaultRegion: REGION, maxRulesPerGroup: 60 },
      );
      if (result.status !== 'completed' || result.counts.missing !== 0)
        throw new Error('engine plan did not converge');
      return performance.now() - started;
    };
    await bare();
    await engine(); // warm both: connections, JIT
    const bareMs: number[] = [];
    const engineMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      bareMs.push(await bare());
      engineMs.push(await engine());
    }
    ports.destroy();
    client.destroy();

    // Under the repository, so the script resolves @aws-sdk/client-ec2 from its node_modules.
    const bareScript = join(ROOT, '.cache', `bench-bare-describe-${process.pid}.mjs`);
    await mkdir(dirname(bareScript), { recursive: true });
    await writeFile(bareScript, BARE_SCRIPT);
    const cliProcMs: number[] = [];
    const bareProcMs: number[] = [];
    const validateProcMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const b = await spawnWall([bareScript], env);
      const c = await spawnWall([CLI, 'plan', ...common, '--log-level', 'warn'], env);
      // No AWS call at all: what start-up and loading the policies cost the CLI.
      const v = await spawnWall([CLI, 'validate', '--policies', dir], env);
      if (b.code !== 0 || c.code !== 0 || v.code !== 0) {
        throw new Error(`process run failed: bare ${b.code}, plan ${c.code}, validate ${v.code}`);
      }
      bareProcMs.push(b.ms);
      cliProcMs.push(c.ms);
      validateProcMs.push(v.ms);
    }

    const inProcess = median(engineMs) / median(bareMs);
    const perProcess = median(cliProcMs) / median(bareProcMs);
    const fmt = (values: readonly number[]): string => values.map((v) => Math.round(v)).join(' ');
    console.log(
      `\n(c) plan wall time vs a bare DescribeSecurityGroups of the same ${groups} groups (${runs} runs each, median):`,
    );
    console.log(
      `    in-process, warm client:  bare describe ${Math.round(median(bareMs))} ms [${fmt(bareMs)}]`,
    );
    console.log(
      `                              engine plan   ${Math.round(median(engineMs))} ms [${fmt(engineMs)}]  ratio ${inProcess.toFixed(2)}x`,
    );
    console.log(`    whole process (node start + SDK import + calls):`);
    console.log(
      `                              bare describe ${Math.round(median(bareProcMs))} ms [${fmt(bareProcMs)}]`,
    );
    console.log(
      `                              CLI plan      ${Math.round(median(cliProcMs))} ms [${fmt(cliProcMs)}]  ratio ${perProcess.toFixed(2)}x`,
    );
    console.log(
      `                              CLI validate  ${Math.round(median(validateProcMs))} ms [${fmt(validateProcMs)}]  (start-up + policy load, no AWS call)`,
    );
    console.log(
      "    Indicative only: moto is a Python emulator far slower than EC2, and this machine's 2 cores are\n" +
        '    shared with other work. The engine makes 2 DescribeSecurityGroups calls here (tag selector +\n' +
        '    pinned IDs) where the bare read makes 1.',
    );
    checks.push({
      name: `(c) in-process plan <= ${TARGET_RATIO}x a bare describe (indicative, moto)`,
      ok: inProcess <= TARGET_RATIO,
      detail: `${inProcess.toFixed(2)}x`,
    });
    checks.push({
      name: `(c) CLI plan process <= ${TARGET_RATIO}x a bare describe process (indicative, moto)`,
      ok: perProcess <= TARGET_RATIO,
      detail: `${perProcess.toFixed(2)}x`,
    });

    await rm(bareScript, { force: true });
    console.log('\nVerdicts:');
    for (const check of checks)
      console.log(`  ${check.ok ? 'PASS' : 'FAIL'}  ${check.name}: ${check.detail}`);
    return { ok: checks.every((c) => c.ok) };
  } finally {
    await proxy.stop();
    await moto.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export function apiCallsOptionsFrom(args: readonly string[]): ApiCallsOptions {
  return {
    groups: Number(argValue(args, '--groups') ?? '200'),
    rules: Number(argValue(args, '--rules') ?? '10'),
    runs: Number(argValue(args, '--runs') ?? '7'),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ok } = await runApiCalls(apiCallsOptionsFrom(process.argv.slice(2)));
  process.exitCode = ok ? 0 : 1;
}
