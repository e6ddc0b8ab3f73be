// Organisation-scale benchmark (issue 10): one pass over many (account, region) units against the
// in-memory EC2 fake, one fake world per account.
//
// 1. no-change: UNITS units (ACCOUNTS accounts x REGIONS regions) x 100 groups x 10 rules, every
//    desired rule present. One `plan` pass: CPU (user+system), wall, peak RSS; calls per unit
//    (DescribeSecurityGroups per unit, writes), AssumeRole per account through the real credential
//    cache (createAccountAccess with a counting AssumeRole).
// 2. latency: the same unit count with 1 group each and LATENCY_MS per EC2 call (and per
//    AssumeRole): wall time at --concurrency 8 and 32, against the bound (ceil(units / concurrency)
//    + 1) x latency, to show wall time follows --concurrency, not the unit count. The bound counts
//    the calls a unit must make one after the other: here one DescribeSecurityGroups (a tag target,
//    no name target so no DescribeVpcs, no prefix list so no DescribeManagedPrefixLists). The
//    pass reaches accounts ahead of their units' reads, so of the AssumeRoles only the first is on
//    the critical path: the + 1.
//
//   node .cache/bench-build/bench/accounts.js [--accounts 250] [--regions 4] [--latency 20]
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

export async function runAccounts(args: readonly string[]): Promise<boolean> {
  const accountCount = Number(argValue(args, '--accounts') ?? 250);
  const regionCount = Number(argValue(args, '--regions') ?? 4);
  const latencyMs = Number(argValue(args, '--latency') ?? 20);
  const accounts = Array.from({ length: accountCount }, (_, i) => accountId(i));
  const regions = ALL_REGIONS.slice(0, regionCount);
  const units = accountCount * regionCount;
  let ok = true;

  console.log(
    `\n== accounts: ${units} units (${accountCount} accounts x ${regionCount} regions) x ${GROUPS_PER_UNIT} groups x ${RULES_PER_GROUP} rules, no change`,
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
  const verdicts: [string, boolean][] = [
    [`no-change pass under ${TARGET_CPU_MS} ms CPU`, noChange.cpuMs < TARGET_CPU_MS],
    ['1 read per unit', reads === units],
    ['0 writes', writes === 0],
    ['1 AssumeRole per account', assumeRoles.size === accountCount && perAccount.every((n) => n === 1)],
  ];

  console.log(`\n== accounts: ${units} units x 1 group, ${latencyMs} ms per EC2 call and per AssumeRole`);
  // Sequential calls per unit (see the top comment): 1 read; + 1 for the first AssumeRole.
  const bound = (c: number): number => (Math.ceil(units / c) + 1) * latencyMs;
  for (const concurrency of [8, 32]) {
    const small = worlds(accounts, regions, 1);
    for (const world of Object.values(small)) world.latencyMs = latencyMs;
    const timed = await pass(accounts, regions, small, countingGateway(latencyMs).gateway, concurrency);
    console.log(
      `--concurrency ${concurrency}: wall ${timed.wallMs.toFixed(0)} ms; bound (units/concurrency + 1) x latency = ${bound(concurrency)} ms; serial would be ${units * latencyMs} ms`,
    );
    verdicts.push([
      `--concurrency ${concurrency}: wall within 2x of (units/concurrency + 1) x latency`,
      timed.wallMs < 2 * bound(concurrency) + 500,
    ]);
  }
  for (const [what, passed] of verdicts) {
    console.log(`${passed ? 'PASS' : 'FAIL'}  ${what}`);
    ok &&= passed;
  }
  return ok;
}

if (process.argv[1]?.endsWith('accounts.js') === true) {
  const ok = await runAccounts(process.argv.slice(2));
  process.exitCode = ok ? 0 : 1;
}
