import { describe, expect, it } from 'vitest';
import { captureLogger, type LogLine } from '../helpers/log-capture.js';
import { Ec2Error, type AccountGateway, type Ec2Port, type Ec2PortFactory } from '../../src/aws/port.js';
import type { AccountInventory, InventoryAccount } from '../../src/model/accounts.js';
import type { Policy } from '../../src/model/policy.js';
import type { AccountRef } from '../../src/model/units.js';
import { reconcilePass, type PassRequest } from '../../src/reconcile/pass.js';
import type { PassMode, PassResult } from '../../src/reconcile/types.js';
import { exitCodeFor } from '../../src/exit-codes.js';
import { accountPorts, fakeWorld, policy, tcp, type FakeEc2 } from '../helpers/fake-ec2.js';

const HUB = '999999999999';
const PROD_A = '111111111111';
const PROD_B = '222222222222';
const STAGING = '333333333333';

function account(id: string, name: string, tags: Record<string, string>): InventoryAccount {
  return { id, name, tags, ous: [], roleArn: undefined };
}

const inventory: AccountInventory = {
  source: 'file',
  roleName: 'sg-reconciler',
  externalId: undefined,
  accounts: [
    account(PROD_A, 'prod-a', { env: 'prod' }),
    account(PROD_B, 'prod-b', { env: 'prod' }),
    account(STAGING, 'staging', { env: 'staging' }),
  ],
};

/** A gateway whose AssumeRole is denied for the accounts in `denied`, recording every reach. */
function gateway(denied: readonly string[] = []): AccountGateway & { reached: AccountRef[] } {
  const reached: AccountRef[] = [];
  return {
    reached,
    ownAccount: () => Promise.resolve({ account: HUB, partition: 'aws' }),
    reach: (ref) => {
      reached.push(ref);
      return denied.includes(ref.id)
        ? Promise.reject(
            new Ec2Error('AccessDenied', 'not authorized to perform: sts:AssumeRole', 'AssumeRole', 403),
          )
        : Promise.resolve();
    },
  };
}

function worldWith(groupId: string, region = 'us-east-1'): FakeEc2 {
  return fakeWorld().group({ id: groupId, region, tags: { tier: 'web' } });
}

async function pass(
  ports: Ec2PortFactory,
  accounts: AccountGateway,
  policies: readonly Policy[],
  mode: PassMode,
  extra: Partial<PassRequest> = {},
): Promise<{ result: PassResult; lines: LogLine[] }> {
  const { logger, lines } = captureLogger('info');
  const result = await reconcilePass(
    { ports, accounts, logger },
    { mode, policies, defaultRegion: 'us-east-1', maxRulesPerGroup: 60, inventory, ...extra },
  );
  return { result, lines };
}

const ssh = tcp(22, '10.0.0.0/8', 'SSH');
const named = (lines: readonly LogLine[], event: string): LogLine[] => lines.filter((l) => l.event === event);

describe('reconcilePass over accounts', () => {
  it('an unreachable account gets one account.failed; the other accounts converge; apply exits 1', async () => {
    const worlds = { [PROD_A]: worldWith('sg-a'), [PROD_B]: worldWith('sg-b'), [HUB]: worldWith('sg-h') };
    const accounts = gateway([PROD_B]);
    const policies = [
      policy({
        name: 'prod',
        accounts: [{ kind: 'tags', tags: { env: 'prod' } }],
        regions: ['us-east-1', 'eu-west-1'],
        targets: [{ tags: { tier: 'web' } }],
        rules: [ssh],
      }),
      policy({ name: 'hub', targets: ['sg-h'], rules: [ssh] }),
    ];
    const { result, lines } = await pass(accountPorts(worlds), accounts, policies, 'apply');

    expect(named(lines, 'account.failed')).toEqual([
      expect.objectContaining({
        level: 'error',
        account: PROD_B,
        errorCode: 'AccessDenied',
        error: 'not authorized to perform: sts:AssumeRole',
        roleArn: `arn:aws:iam::${PROD_B}:role/sg-reconciler`,
        regions: ['eu-west-1', 'us-east-1'],
      }),
    ]);
    // One reach per account per pass, however many of its units there are.
    expect(accounts.reached.map((r) => r.id).sort()).toEqual([PROD_A, PROD_B, HUB]);
    expect(accounts.reached.find((r) => r.id === HUB)?.roleArn).toBeUndefined();

    const authorized = named(lines, 'rule.authorized');
    expect(authorized.map((e) => [e.account, e.region, e.groupId])).toEqual([
      [PROD_A, 'us-east-1', 'sg-a'],
      [HUB, 'us-east-1', 'sg-h'],
    ]);
    expect(worlds[PROD_A].rulesOf('sg-a')).toHaveLength(1);
    expect(worlds[PROD_B].rulesOf('sg-b')).toHaveLength(0);
    expect(worlds[PROD_B].calls).toEqual([]);
    if (result.status !== 'completed') throw new Error('pass failed');
    expect(result.counts).toMatchObject({ units: 5, accountsFailed: 1, authorized: 2 });
    expect(named(lines, 'reconcile.completed')[0]).toMatchObject({
      units: 5,
      accounts: 3,
      accountsFailed: 1,
    });
    expect(exitCodeFor({ command: 'apply', result })).toBe(1);
    expect(exitCodeFor({ command: 'plan', result, detailedExitcode: false })).toBe(1);
  });

  it('every group and rule event carries the account beside the region', async () => {
    const worlds = {
      [PROD_A]: worldWith('sg-a').rule('sg-a', tcp(3389, '0.0.0.0/0')),
      [PROD_B]: worldWith('sg-b'),
    };
    const policies = [
      policy({
        name: 'prod',
        accounts: [{ kind: 'name', pattern: 'prod-*' }],
        targets: [{ tags: { tier: 'web' } }, 'sg-missing'],
        rules: [ssh],
      }),
    ];
    const { lines } = await pass(accountPorts(worlds), gateway(), policies, 'plan');
    const about = lines.filter((l) => /^(rule|target)\./.test(l.event ?? ''));
    expect(about.length).toBeGreaterThan(0);
    for (const line of about) expect(line.account).toMatch(/^\d{12}$/);
    expect(named(lines, 'rule.drift').map((e) => e.account)).toEqual([PROD_A]);
    expect(named(lines, 'target.unresolved').map((e) => e.account)).toEqual([PROD_A, PROD_B]);
  });

  it("a read failure in one unit never hides another unit's drift or changes", async () => {
    const worlds = {
      [PROD_A]: worldWith('sg-a').fail(
        'DescribeSecurityGroups',
        new Ec2Error('RequestLimitExceeded', 'slow down', 'DescribeSecurityGroups', 503),
        {
          times: Infinity,
        },
      ),
      [PROD_B]: worldWith('sg-b').rule('sg-b', tcp(3389, '0.0.0.0/0')),
    };
    const policies = [
      policy({
        name: 'prod',
        accounts: [{ kind: 'tags', tags: { env: 'prod' } }],
        targets: [{ tags: { tier: 'web' } }],
        rules: [ssh],
      }),
    ];
    const { result, lines } = await pass(accountPorts(worlds), gateway(), policies, 'plan');
    expect(named(lines, 'read.failed').map((e) => [e.account, e.errorCode])).toEqual([
      [PROD_A, 'RequestLimitExceeded'],
    ]);
    expect(named(lines, 'rule.drift').map((e) => [e.account, e.groupId])).toEqual([[PROD_B, 'sg-b']]);
    expect(named(lines, 'rule.missing').map((e) => [e.account, e.groupId])).toEqual([[PROD_B, 'sg-b']]);
    expect(exitCodeFor({ command: 'plan', result, detailedExitcode: true })).toBe(1);
  });

  it('works on at most --concurrency units at once', async () => {
    const ids = Array.from({ length: 24 }, (_, i) => String(100000000000 + i));
    const worlds = Object.fromEntries(
      ids.map((id) => {
        const world = worldWith(`sg-${id}`);
        world.latencyMs = 10;
        return [id, world] as const;
      }),
    );
    const inner = accountPorts(worlds);
    let inFlight = 0;
    let peak = 0;
    const counting: Ec2PortFactory = (region, account) => {
      const port = inner(region, account);
      return {
        region,
        describeIngressRules: (groupId, signal) => port.describeIngressRules(groupId, signal),
        authorizeIngress: (request, signal) => port.authorizeIngress(request, signal),
        updateIngressDescriptions: (request, signal) => port.updateIngressDescriptions(request, signal),
        describeDefaultVpcId: (signal) => port.describeDefaultVpcId(signal),
        describePrefixLists: (prefixLists, signal) => port.describePrefixLists(prefixLists, signal),
        describeSecurityGroups: async (filters, signal) => {
          inFlight += 1;
          peak = Math.max(peak, inFlight);
          try {
            return await port.describeSecurityGroups(filters, signal);
          } finally {
            inFlight -= 1;
          }
        },
      } satisfies Ec2Port;
    };
    const wide: AccountInventory = { ...inventory, accounts: ids.map((id) => account(id, `a-${id}`, {})) };
    const policies = [
      policy({
        name: 'all',
        accounts: [{ kind: 'name', pattern: '*' }],
        targets: [{ tags: { tier: 'web' } }],
        rules: [ssh],
      }),
    ];
    const { result } = await pass(counting, gateway(), policies, 'apply', {
      inventory: wide,
      unitConcurrency: 3,
    });
    expect(peak).toBe(3);
    if (result.status !== 'completed') throw new Error('pass failed');
    expect(result.counts).toMatchObject({ units: 24, authorized: 24, failed: 0 });
  });

  it('--shard K/N: the shards of a pass together authorize every unit once', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => String(200000000000 + i));
    const worlds = Object.fromEntries(ids.map((id) => [id, worldWith(`sg-${id}`)] as const));
    const wide: AccountInventory = { ...inventory, accounts: ids.map((id) => account(id, `a-${id}`, {})) };
    const policies = [
      policy({
        name: 'all',
        accounts: [{ kind: 'name', pattern: '*' }],
        targets: [{ tags: { tier: 'web' } }],
        rules: [ssh],
      }),
    ];
    const seen: unknown[] = [];
    for (const index of [0, 1]) {
      const { lines } = await pass(accountPorts(worlds), gateway(), policies, 'apply', {
        inventory: wide,
        shard: { index, count: 2 },
      });
      seen.push(...named(lines, 'rule.authorized').map((e) => e.account));
    }
    expect([...seen].sort()).toEqual(ids);
    for (const id of ids) expect(worlds[id]?.rulesOf(`sg-${id}`)).toHaveLength(1);
  });

  it('a pass whose own account cannot be identified fails outright', async () => {
    const accounts: AccountGateway = {
      ownAccount: () =>
        Promise.reject(
          new Ec2Error(
            'ExpiredToken',
            'The security token included in the request is expired',
            'GetCallerIdentity',
          ),
        ),
      reach: () => Promise.resolve(),
    };
    const { result, lines } = await pass(
      accountPorts({}),
      accounts,
      [policy({ name: 'p', targets: ['sg-1'], rules: [ssh] })],
      'plan',
    );
    expect(result).toMatchObject({ status: 'failed', errorCode: 'ExpiredToken' });
    expect(named(lines, 'reconcile.failed')).toHaveLength(1);
  });
});
