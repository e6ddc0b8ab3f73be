// Organisation-scale benchmark (issue 10): one pass over many (account, region) units against the
// in-memory EC2 fake, one fake world per account.
//
// 1. no-change: UNITS units (ACCOUNTS accounts x REGIONS regions) x 100 groups x 10 rules, every
//    desired rule present. One `plan` pass: CPU (user+system), wall, peak RSS; calls per unit
//    (DescribeSecurityGroups per unit, writes), AssumeRole per account through the real credential
//    cache (createAccountAccess with a counting AssumeRole).
// 2. latency: the same unit count with 1 group each and LATENCY_MS per EC2 call (and per
//    AssumeRole): wall time at --concurrency 8 and 32 against its bound. A unit makes one call
//    after the other: one DescribeSecurityGroups (a tag target, no name target so no DescribeVpcs,
//    no prefix list so no DescribeManagedPrefixLists); the pass reaches accounts ahead of their
//    units' reads, so of the AssumeRoles only the first is on the critical path. The nominal bound
//    is (ceil(units / concurrency) + 1) x latency, which no run reaches: a timer fires after its
//    delay, never on it (~1 ms late per call here). So the bound the wall time is held to is
//    measured: the fake alone serving the same reads with the same concurrency (a bare pool over
//    the ports, no engine, warm code), plus one latency for the first AssumeRole, plus 15 % for the
//    engine's own CPU between a unit's read and the next (~0.1-0.3 ms a unit; 32 units a round at
//    --concurrency 32) and the noise of a shared machine, plus 50 ms for the pass's constant start.
//    Work the pass does per unit count outside its reads (planning after the last read, per-account
//    steps in line before the units' reads) shows up as time above it.
//
//   node .cache/bench-build/bench/accounts.js [--accounts 250] [--regions 4] [--latency 20]
//     [--part no-change|latency]
import { Writable } from 'node:stream';
import { createAccountAccess } from '../src/aws/accounts.js';
import type { AccountGateway } from '../src/aws/port.js';
import { createLogger } from '../src/logging.js';
import type { AccountInventory } from '../src/model/accounts.js';
import type { Rule } from '../src/model/rule.js';
import { reconcilePass } from '../src/reconcile/pass.js';
import { accountPorts, fakeWorld, policy, rule, type FakeEc2 } from '../test/helpers/fake-ec2.js';
import { argValue } from './args.js';

const GROUPS_PER_UNIT = 100;
const RULES_PER_GROUP = 10;
const ALL_REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2', 'sa-east-1'];
const TARGET_CPU_MS = 2_000;
const HUB = '999999999999';

function accountId(i: number): string {
  return String(100_000_000_000 + i);
}

function rules(): Rule[] {
  return Array.from({ length: RULES_PER_GROUP }, (_, k) =>
    rule('tcp', 1000 + k, `10.${k}.0.0/16`, `service port ${k}`),
  );
}

function inventory(accounts: readonly string[]): AccountInventory {
  return {
    source: 'file',
    roleName: 'sg-reconciler',
    externalId: undefined,
    accounts: accounts.map((id) => ({ id, name: `acct-${id}`, tags: {}, ous: [], roleArn: undefined })),
  };
}

/** One world per account; `groups` tier=web groups per region, each holding every desired rule. */
function worlds(
  accounts: readonly string[],
  regions: readonly string[],
  groups: number,
): Record<string, FakeEc2> {
  const wanted = rules();
  const out: Record<string, FakeEc2> = {};
  for (const account of accounts) {
    const world = fakeWorld();
    regions.forEach((region, r) => {
      for (let g = 0; g < groups; g++) {
        const id = `sg-${(r * 1_000_000 + g).toString(16).padStart(17, '0')}`;
        world.group({ id, region, tags: { tier: 'web' } }).rule(id, ...wanted);
      }
    });
    out[account] = world;
  }
  return out;
}

/** A gateway that knows its own account and assumes roles through the real per-account cache. */
function countingGateway(latencyMs: number): { gateway: AccountGateway; assumeRoles: Map<string, number> } {
  const assumeRoles = new Map<string, number>();
  const access = createAccountAccess({
    assumeRole: (roleArn) => async () => {
      const account = /::(\d{12}):/.exec(roleArn)?.[1] ?? '';
      assumeRoles.set(account, (assumeRoles.get(account) ?? 0) + 1);
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      return { accessKeyId: 'ASIABENCH', secretAccessKey: 'x', expiration: new Date(Date.now() + 3_600_000) };
    },
  });
  return {
    gateway: {
      ownAccount: () => Promise.resolve({ account: HUB, partition: 'aws' }),
      reach: (ref, signal) => access.reach(ref, signal),
    },
    assumeRoles,
  };
}

/** The latency bound's allowance for the engine's CPU between reads and machine noise (see the top). */
const LATENCY_SLACK = 1.15;
/**
 * The latency bound's allowance for the pass's constant start, which a bare pool has not: policies
 * to units, the inventory check, the reporter (~15 ms on an idle machine). Per-account work in line
 * before the units' reads (250 AssumeRoles, 8 at a time, would be 625 ms) does not fit in it.
 */
const START_MS = 50;

/**
 * The fake alone: every unit's one DescribeSecurityGroups, `concurrency` at a time, through a bare
 * pool over the ports (no engine). Wall ms: the floor any pass over these units has.
 */
async function bareReads(
  accounts: readonly string[],
  regions: readonly string[],
  world: Record<string, FakeEc2>,
  concurrency: number,
): Promise<number> {
  const ports = accountPorts(world);
  const units = accounts.flatMap((account) => regions.map((region) => ({ account, region })));
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (let unit = units[next++]; unit !== undefined; unit = units[next++]) {
      await ports(unit.region, unit.account).describeSecurityGroups([{ name: 'tag:tier', values: ['web'] }]);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallMs = performance.now() - started;
  for (const w of Object.values(world)) w.resetCalls();
  return wallMs;
}

const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });

async function pass(
  accounts: readonly string[],
  regions: readonly string[],
  world: Record<string, FakeEc2>,
  gateway: AccountGateway,
  unitConcurrency: number,
): Promise<{ cpuMs: number; wallMs: number; counts: Record<string, unknown> }> {
  const policies = [
    policy({
      name: 'everywhere',
      accounts: [{ kind: 'name', pattern: 'acct-*' }],
      regions,
      targets: [{ tags: { tier: 'web' } }],
      rules: rules(),
    }),
  ];
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await reconcilePass(
    {
      ports: accountPorts(world),
      accounts: gateway,
      logger: createLogger({ level: 'info', destination: discard }),
    },
    {
      mode: 'plan',
      policies,
      defaultRegion: undefined,
      maxRulesPerGroup: 60,
      inventory: inventory(accounts),
      unitConcurrency,
    },
  );
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (result.status !== 'completed') throw new Error(`pass failed: ${result.errorCode} ${result.error}`);
  return { cpuMs: (used.user + used.system) / 1000, wallMs, counts: { ...result.counts } };
}

function sumCalls(world: Record<string, FakeEc2>, action: Parameters<FakeEc2['count']>[0]): number {
  return Object.values(world).reduce((n, w) => n + w.count(action), 0);
}

/** What one section of the benchmark found: a verdict per target. */
type Verdicts = [string, boolean][];

/** Section 1: the no-change pass over UNITS x 100 groups x 10 rules (see the top). */
async function noChangeSection(accounts: readonly string[], regions: readonly string[]): Promise<Verdicts> {
  const units = accounts.length * regions.length;
  console.log(
    `\n== accounts: ${units} units (${accounts.length} accounts x ${regions.length} regions) x ${GROUPS_PER_UNIT} groups x ${RULES_PER_GROUP} rules, no change`,
  );
  const big = worlds(accounts, regions, GROUPS_PER_UNIT);
  const baseline = process.memoryUsage().rss / 2 ** 20;
  const { gateway, assumeRoles } = countingGateway(0);
  const noChange = await pass(accounts, regions, big, gateway, 8);
  const peakMb = process.resourceUsage().maxRSS / 1024;
  const reads = sumCalls(big, 'DescribeSecurityGroups');
  const writes = sumCalls(big, 'AuthorizeSecurityGroupIngress');
  // The fake's own share: the same reads again, bare (the fake filters every group by tag in JS).
  const ports = accountPorts(big);
  const fake0 = process.cpuUsage();
  for (const account of accounts) {
    for (const region of regions)
      await ports(region, account).describeSecurityGroups([{ name: 'tag:tier', values: ['web'] }]);
  }
  const fakeUsed = process.cpuUsage(fake0);
  const fakeCpuMs = (fakeUsed.user + fakeUsed.system) / 1000;
  const perAccount = [...assumeRoles.values()];
  console.log(
    `pass: ${noChange.cpuMs.toFixed(0)} ms CPU (of which the fake's reads ~${fakeCpuMs.toFixed(0)} ms), ${noChange.wallMs.toFixed(0)} ms wall; RSS ${baseline.toFixed(0)} MB after building the fake, peak ${peakMb.toFixed(0)} MB`,
  );
  console.log(`counts: ${JSON.stringify(noChange.counts)}`);
  console.log(
    `calls: DescribeSecurityGroups ${reads} (${(reads / units).toFixed(2)} per unit), AuthorizeSecurityGroupIngress ${writes}, ` +
      `AssumeRole ${perAccount.reduce((a, b) => a + b, 0)} for ${assumeRoles.size} accounts (max ${Math.max(...perAccount)} per account)`,
  );
  return [
    [`no-change pass under ${TARGET_CPU_MS} ms CPU`, noChange.cpuMs < TARGET_CPU_MS],
    ['1 read per unit', reads === units],
    ['0 writes', writes === 0],
    ['1 AssumeRole per account', assumeRoles.size === accounts.length && perAccount.every((n) => n === 1)],
  ];
}

/** Section 2: wall time with per-call latency against its bound (see the top). */
async function latencySection(
  accounts: readonly string[],
  regions: readonly string[],
  latencyMs: number,
): Promise<Verdicts> {
  const units = accounts.length * regions.length;
  const verdicts: Verdicts = [];
  console.log(`\n== accounts: ${units} units x 1 group, ${latencyMs} ms per EC2 call and per AssumeRole`);
  // Both timed runs on warm code: the fake's and the engine's first calls run in the interpreter.
  const warm = worlds(accounts, regions, 1);
  await bareReads(accounts, regions, warm, 8);
  await pass(accounts, regions, warm, countingGateway(0).gateway, 8);
  for (const concurrency of [8, 32]) {
    const small = worlds(accounts, regions, 1);
    for (const world of Object.values(small)) world.latencyMs = latencyMs;
    const floorMs = await bareReads(accounts, regions, small, concurrency);
    const timed = await pass(accounts, regions, small, countingGateway(latencyMs).gateway, concurrency);
    const inRow = Math.ceil(units / concurrency);
    const nominal = (inRow + 1) * latencyMs;
    const bound = (floorMs + latencyMs) * LATENCY_SLACK + START_MS;
    console.log(
      `--concurrency ${concurrency}: wall ${timed.wallMs.toFixed(0)} ms; bound ${bound.toFixed(0)} ms = ` +
        `(the fake alone ${floorMs.toFixed(0)} ms + 1 AssumeRole ${latencyMs} ms) x ${LATENCY_SLACK} + ${START_MS} ms; ` +
        `nominal (ceil(units/concurrency) + 1) x latency = ${nominal} ms; serial would be ${units * latencyMs} ms`,
    );
    const above = timed.wallMs - floorMs - latencyMs;
    console.log(
      `  the pass above the fake alone + 1 AssumeRole: ${above.toFixed(0)} ms (${((100 * above) / floorMs).toFixed(1)} %)`,
    );
    verdicts.push([
      `--concurrency ${concurrency}: wall within (the fake's own ${inRow} reads in a row + 1 AssumeRole) x ${LATENCY_SLACK} + ${START_MS} ms`,
      timed.wallMs <= bound,
    ]);
  }
  return verdicts;
}

/** `--part no-change` or `--part latency` runs one section; both by default. */
export async function runAccounts(args: readonly string[]): Promise<boolean> {
  const accountCount = Number(argValue(args, '--accounts') ?? 250);
  const regionCount = Number(argValue(args, '--regions') ?? 4);
  const latencyMs = Number(argValue(args, '--latency') ?? 20);
  const part = argValue(args, '--part');
  const accounts = Array.from({ length: accountCount }, (_, i) => accountId(i));
  const regions = ALL_REGIONS.slice(0, regionCount);
  const verdicts: Verdicts = [
    ...(part !== 'latency' ? await noChangeSection(accounts, regions) : []),
    ...(part !== 'no-change' ? await latencySection(accounts, regions, latencyMs) : []),
  ];
  for (const [what, passed] of verdicts) console.log(`${passed ? 'PASS' : 'FAIL'}  ${what}`);
  return verdicts.every(([, passed]) => passed);
}

if (process.argv[1]?.endsWith('accounts.js') === true) {
  const ok = await runAccounts(process.argv.slice(2));
  process.exitCode = ok ? 0 : 1;
}
