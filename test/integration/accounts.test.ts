// Many accounts x regions in one pass (SPEC "Accounts and regions"), end to end: the built CLI
// against moto, whose STS AssumeRole of a role in account X returns credentials that work in X, and
// whose Organizations is emulated. The fault proxy in front denies AssumeRole for one account.
import {
  CreateOrganizationCommand,
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  ListRootsCommand,
  MoveAccountCommand,
  OrganizationsClient,
  TagResourceCommand,
} from '@aws-sdk/client-organizations';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventsNamed, motoEnv, runCli, writePolicies, type Event } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import {
  createGroup,
  defaultVpcId,
  ec2InAccount,
  listIngressRules,
  MOTO_CREDENTIALS,
  MOTO_DEFAULT_ACCOUNT,
} from '../helpers/moto.js';

const emu = useEmulator({ proxy: true });

const HUB = MOTO_DEFAULT_ACCOUNT;
const PROD_A = '111111111111';
const PROD_B = '222222222222';
const STAGING = '333333333333';
const REGIONS = ['us-east-1', 'us-west-2'] as const;

const INVENTORY = `apiVersion: sg-reconciler/v1
kind: AccountInventory
spec:
  roleName: sg-reconciler
  externalId: sgr-test-external-id
  accounts:
    - id: "${PROD_A}"
      name: prod-a
      tags: { env: prod }
    - id: "${PROD_B}"
      name: prod-b
      tags: { env: prod }
    - id: "${STAGING}"
      name: staging
      tags: { env: staging }
      ous: [ou-ab12-staging01, ou-ab12-nonprod1]
`;

function policy(name: string, spec: string): string {
  return `apiVersion: sg-reconciler/v1\nkind: IngressPolicy\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
}

const WEB_RULE = `  targets: [{ tags: { tier: web } }]
  ingress:
    - protocol: tcp
      ports: 443
      description: HTTPS from the office
      sources: [{ cidr: 203.0.113.0/24 }]
`;

/** One `tier: web` group per (account, region); returns the clients and group IDs by unit key. */
async function webGroups(
  accounts: readonly string[],
  regions: readonly string[],
): Promise<Map<string, { ec2: EC2Client; groupId: string }>> {
  const groups = new Map<string, { ec2: EC2Client; groupId: string }>();
  for (const account of accounts) {
    for (const region of regions) {
      const ec2 = await ec2InAccount(emu.moto.endpoint, account, region);
      const groupId = await createGroup(ec2, {
        name: `web-${account}-${region}`,
        vpcId: await defaultVpcId(ec2),
        tags: { tier: 'web' },
      });
      groups.set(`${account}/${region}`, { ec2, groupId });
    }
  }
  return groups;
}

async function inventoryFile(dir: string, text = INVENTORY): Promise<string> {
  const file = join(dir, '..', `${dir.split('/').pop() ?? 'x'}-accounts.yaml`);
  await writeFile(file, text);
  return file;
}

function cli(args: readonly string[], extra: Record<string, string> = {}): ReturnType<typeof runCli> {
  return runCli(args, { env: motoEnv(emu.endpoint, extra), timeoutMs: 90_000 });
}

/** Creates moto's organization (all features); returns a raw client to it for fixtures. */
async function newOrganization(): Promise<OrganizationsClient> {
  const org = new OrganizationsClient({
    region: 'us-east-1',
    endpoint: emu.moto.endpoint,
    credentials: MOTO_CREDENTIALS,
    maxAttempts: 1,
  });
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  return org;
}

const units = (events: readonly Event[], name: string): string[] =>
  eventsNamed(events, name)
    .map((e) => `${String(e['account'])}/${String(e['region'])}`)
    .sort();

describe('accounts and regions against moto', () => {
  it('selects accounts by tags and OU from the inventory file, works in each through its own role', async () => {
    const groups = await webGroups([HUB, PROD_A, PROD_B, STAGING], REGIONS);
    const dir = await writePolicies({
      'prod.yaml': policy(
        'prod-web',
        `  accounts: [{ tags: { env: prod } }]\n  regions: [us-east-1, us-west-2]\n${WEB_RULE}`,
      ),
      'nonprod.yaml': policy(
        'nonprod-web',
        `  accounts: [{ ou: ou-ab12-nonprod1 }]\n  region: us-west-2\n${WEB_RULE}`,
      ),
    });
    const accounts = await inventoryFile(dir);
    emu.proxy.recordResponses('AssumeRole');

    const apply = await cli(['apply', '--policies', dir, '--accounts', accounts]);

    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(units(apply.events, 'rule.authorized')).toEqual([
      `${PROD_A}/us-east-1`,
      `${PROD_A}/us-west-2`,
      `${PROD_B}/us-east-1`,
      `${PROD_B}/us-west-2`,
      `${STAGING}/us-west-2`,
    ]);
    // The rules really are in those accounts, and nowhere else: not in the hub, whose own
    // credentials would have reached its tier=web groups had a role not been assumed.
    for (const [unit, { ec2, groupId }] of groups) {
      const expected = [`${HUB}/us-east-1`, `${HUB}/us-west-2`, `${STAGING}/us-east-1`].includes(unit)
        ? 0
        : 1;
      expect(await listIngressRules(ec2, groupId), unit).toHaveLength(expected);
    }
    // One AssumeRole per account (3 spokes), with session name sg-reconciler and the external ID.
    const assumeRoles = emu.proxy.calls().filter((c) => c.action === 'AssumeRole');
    expect(assumeRoles).toHaveLength(3);
    expect(eventsNamed(apply.events, 'reconcile.completed')[0]).toMatchObject({ units: 5, accounts: 3 });

    const plan = await cli([
      'plan',
      '--policies',
      dir,
      '--accounts',
      accounts,
      '--detailed-exitcode',
      '--format',
      'json',
    ]);
    expect(plan.code, plan.stderr).toBe(0);
    const report = JSON.parse(plan.stdout) as {
      summary: { missing: number; units: number };
      groups: { account: string }[];
    };
    expect(report.summary).toMatchObject({ missing: 0, units: 5 });
    // Grouped by account, then region.
    expect(report.groups.map((g) => g.account)).toEqual([PROD_A, PROD_A, PROD_B, PROD_B, STAGING]);
  }, 180_000);

  it('an account whose AssumeRole is denied gets one account.failed and is skipped; the others converge', async () => {
    const groups = await webGroups([PROD_A, PROD_B], ['us-east-1']);
    emu.proxy.addRule({
      action: 'AssumeRole',
      when: (call) => call.params.get('RoleArn')?.includes(PROD_B) === true,
      times: 'always',
      fault: {
        kind: 'error',
        status: 403,
        code: 'AccessDenied',
        message: 'not authorized to perform: sts:AssumeRole',
      },
    });
    const dir = await writePolicies({
      'prod.yaml': policy('prod-web', `  accounts: [{ name: "prod-*" }]\n  region: us-east-1\n${WEB_RULE}`),
    });

    const apply = await cli(['apply', '--policies', dir, '--accounts', await inventoryFile(dir)]);

    expect(apply.code, apply.stdout + apply.stderr).toBe(1);
    expect(eventsNamed(apply.events, 'account.failed')).toEqual([
      expect.objectContaining({
        account: PROD_B,
        errorCode: 'AccessDenied',
        regions: ['us-east-1'],
        roleArn: `arn:aws:iam::${PROD_B}:role/sg-reconciler`,
      }),
    ]);
    expect(units(apply.events, 'rule.authorized')).toEqual([`${PROD_A}/us-east-1`]);
    const prodA = groups.get(`${PROD_A}/us-east-1`);
    const prodB = groups.get(`${PROD_B}/us-east-1`);
    expect(await listIngressRules(prodA?.ec2 as EC2Client, prodA?.groupId ?? '')).toHaveLength(1);
    expect(await listIngressRules(prodB?.ec2 as EC2Client, prodB?.groupId ?? '')).toHaveLength(0);
  }, 120_000);

  it('shards 0/2 and 1/2 together cover every unit exactly once; --shard 2 takes K from JOB_COMPLETION_INDEX', async () => {
    const accounts = [PROD_A, PROD_B, STAGING];
    await webGroups(accounts, REGIONS);
    const dir = await writePolicies({
      'all.yaml': policy(
        'all-web',
        `  accounts: [{ name: "*" }]\n  regions: [us-east-1, us-west-2]\n${WEB_RULE}`,
      ),
    });
    const inventory = await inventoryFile(dir);

    const planned = async (shard: string, extra: Record<string, string> = {}): Promise<string[]> => {
      const plan = await cli(
        ['plan', '--policies', dir, '--accounts', inventory, '--shard', shard, '--format', 'json'],
        extra,
      );
      expect(plan.code, plan.stderr).toBe(0);
      const report = JSON.parse(plan.stdout) as { groups: { account: string; region: string }[] };
      return report.groups.map((g) => `${g.account}/${g.region}`);
    };
    const zero = await planned('0/2');
    const one = await planned('1/2');
    expect([...zero, ...one].sort()).toEqual(accounts.flatMap((a) => REGIONS.map((r) => `${a}/${r}`)).sort());
    expect(zero.filter((u) => one.includes(u))).toEqual([]);
    expect(await planned('2', { JOB_COMPLETION_INDEX: '1' })).toEqual(one);
  }, 180_000);

  it('discovers the inventory with AWS Organizations: ACTIVE accounts, tags, nested OUs', async () => {
    const org = await newOrganization();
    const created = async (name: string): Promise<string> => {
      const out = await org.send(
        new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }),
      );
      return out.CreateAccountStatus?.AccountId ?? '';
    };
    const payments = await created('prod-payments');
    const search = await created('prod-search');
    const sandbox = await created('sandbox');
    const rootId = (await org.send(new ListRootsCommand({}))).Roots?.[0]?.Id ?? '';
    const prodOu =
      (await org.send(new CreateOrganizationalUnitCommand({ ParentId: rootId, Name: 'prod' })))
        .OrganizationalUnit?.Id ?? '';
    const teamOu =
      (await org.send(new CreateOrganizationalUnitCommand({ ParentId: prodOu, Name: 'search' })))
        .OrganizationalUnit?.Id ?? '';
    await org.send(
      new MoveAccountCommand({ AccountId: payments, SourceParentId: rootId, DestinationParentId: prodOu }),
    );
    await org.send(
      new MoveAccountCommand({ AccountId: search, SourceParentId: rootId, DestinationParentId: teamOu }),
    );
    await org.send(new TagResourceCommand({ ResourceId: sandbox, Tags: [{ Key: 'env', Value: 'sandbox' }] }));
    org.destroy();
    const groups = await webGroups([payments, search, sandbox], ['us-east-1']);

    const dir = await writePolicies({
      // The prod OU and everything below it (search sits in a child OU), plus the sandbox by tag.
      'prod.yaml': policy(
        'prod-web',
        `  accounts: [{ ou: ${prodOu} }, { tags: { env: sandbox } }]\n  region: us-east-1\n${WEB_RULE}`,
      ),
    });
    const apply = await cli([
      'apply',
      '--policies',
      dir,
      '--accounts',
      'organizations',
      '--role-name',
      'OrganizationAccountAccessRole',
    ]);

    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(units(apply.events, 'rule.authorized')).toEqual(
      [payments, search, sandbox].map((a) => `${a}/us-east-1`).sort(),
    );
    for (const { ec2, groupId } of groups.values())
      expect(await listIngressRules(ec2, groupId)).toHaveLength(1);
    const counts = emu.proxy.counts();
    expect(counts['ListAccounts']).toBeGreaterThan(0);
    expect(counts['ListChildren']).toBeGreaterThan(0);
    expect(counts['ListTagsForResource']).toBeGreaterThan(0);
    expect(emu.proxy.calls().filter((c) => c.action === 'AssumeRole')).toHaveLength(3);
  }, 180_000);

  it('a policy that selects accounts without an inventory is a configuration error before any AWS call', async () => {
    const dir = await writePolicies({
      'prod.yaml': policy(
        'prod-web',
        `  accounts: [{ tags: { env: prod } }]\n  region: us-east-1\n${WEB_RULE}`,
      ),
    });
    const plan = await cli(['plan', '--policies', dir]);
    expect(plan.code).toBe(3);
    expect(eventsNamed(plan.events, 'policy.invalid')).toEqual([
      expect.objectContaining({ path: 'spec.accounts[0]', line: 6, column: 14 }),
    ]);
    expect(emu.proxy.calls()).toEqual([]);
  }, 60_000);

  it('validate --accounts FILE checks every selector against the inventory offline', async () => {
    const dir = await writePolicies({
      'prod.yaml': policy(
        'prod-web',
        `  accounts: [{ id: "444444444444" }]\n  region: us-east-1\n${WEB_RULE}`,
      ),
    });
    const validate = await runCli(['validate', '--policies', dir, '--accounts', await inventoryFile(dir)], {
      env: { PATH: process.env['PATH'] ?? '' },
    });
    expect(validate.code).toBe(3);
    expect(validate.stdout).toContain(
      `prod.yaml:6:14  spec.accounts[0]  account 444444444444 is not in the inventory`,
    );
    const fine = await runCli(['validate', '--policies', dir], { env: { PATH: process.env['PATH'] ?? '' } });
    expect(fine.code).toBe(0);
  }, 60_000);
});

// Selectors the inventory cannot serve are invalid policies (SPEC "Output streams"): exit 3, the
// located errors in every plan format, no AWS call, nothing applied.
describe('account selectors that match no account of the inventory', () => {
  const SELECTORS = '  accounts: [{ id: "444444444444" }, { name: "prod-*" }, { tags: { env: qa } }]\n';

  async function typoPolicies(): Promise<{ dir: string; accounts: string; file: string }> {
    const dir = await writePolicies({
      'prod.yaml': policy('prod-web', `${SELECTORS}  region: us-east-1\n${WEB_RULE}`),
    });
    return { dir, accounts: await inventoryFile(dir), file: `${dir}/prod.yaml` };
  }

  it('an invalid --accounts file: plan --format json and markdown print valid: false with its located errors', async () => {
    const dir = await writePolicies({
      'prod.yaml': policy('prod-web', `  region: us-east-1\n${WEB_RULE}`),
    });
    const accounts = await inventoryFile(
      dir,
      'apiVersion: sg-reconciler/v1\nkind: AccountInventory\nspec:\n  accounts:\n    - id: "12"\n',
    );

    const json = await cli(['plan', '--policies', dir, '--accounts', accounts, '--format', 'json']);
    expect(json.code, json.stderr).toBe(3);
    expect(JSON.parse(json.stdout)).toEqual({
      formatVersion: 1,
      valid: false,
      errors: [expect.objectContaining({ file: accounts, line: 5, path: 'spec.accounts[0].id' }) as unknown],
    });
    const markdown = await cli(['plan', '--policies', dir, '--accounts', accounts, '--format', 'markdown']);
    expect(markdown.code, markdown.stderr).toBe(3);
    expect(markdown.stdout).toContain(':x: **The policies are invalid: 1 error. Nothing was planned.**');
    expect(markdown.stdout).toContain(`| \`${accounts}\` | 5 |`);
    expect(emu.proxy.calls()).toEqual([]);
  }, 60_000);

  it('plan --format json prints valid: false with each selector located (exit 3), before any AWS call', async () => {
    const { dir, accounts, file } = await typoPolicies();

    const plan = await cli(['plan', '--policies', dir, '--accounts', accounts, '--format', 'json']);

    expect(plan.code, plan.stderr).toBe(3);
    expect(JSON.parse(plan.stdout)).toEqual({
      formatVersion: 1,
      valid: false,
      errors: [
        {
          file,
          line: 6,
          column: 14,
          path: 'spec.accounts[0]',
          error: expect.stringContaining('account 444444444444 is not in the inventory') as unknown,
        },
        {
          file,
          line: 6,
          column: 58,
          path: 'spec.accounts[2]',
          error: expect.stringContaining('matches no account in the inventory') as unknown,
        },
      ],
    });
    expect(eventsNamed(plan.events, 'policy.invalid')).toHaveLength(2);
    expect(eventsNamed(plan.events, 'reconcile.started')).toEqual([]);
    expect(emu.proxy.calls()).toEqual([]);
  }, 60_000);

  it('plan --format markdown prints the table of located errors (exit 3)', async () => {
    const { dir, accounts, file } = await typoPolicies();

    const plan = await cli(['plan', '--policies', dir, '--accounts', accounts, '--format', 'markdown']);

    expect(plan.code, plan.stderr).toBe(3);
    const lines = plan.stdout.split('\n');
    expect(lines.slice(0, 6)).toEqual([
      '### sg-reconciler plan',
      '',
      ':x: **The policies are invalid: 2 errors. Nothing was planned.**',
      '',
      '| file | line | column | field | error |',
      '|---|---|---|---|---|',
    ]);
    expect(lines[6]).toContain(
      `| \`${file}\` | 6 | 14 | \`spec.accounts[0]\` | account 444444444444 is not in`,
    );
    expect(lines[7]).toContain(`| \`${file}\` | 6 | 58 | \`spec.accounts[2]\` |`);
    expect(emu.proxy.calls()).toEqual([]);
  }, 60_000);

  it('plan (text) prints file:line:column, the field and the fix as its report on stdout (exit 3)', async () => {
    const { dir, accounts, file } = await typoPolicies();

    const plan = await cli(['plan', '--policies', dir, '--accounts', accounts]);

    expect(plan.code).toBe(3);
    // The report of a text plan is on stdout, whatever it says (README "Output streams").
    expect(plan.stdout).toContain(
      `${file}:6:14  spec.accounts[0]  account 444444444444 is not in the inventory ${accounts}; add it to the inventory or correct the ID\n`,
    );
    expect(plan.stdout).toContain(`${file}:6:58  spec.accounts[2]  `);
    expect(plan.stdout).toContain(`2 account selectors do not match the inventory ${accounts}`);
    expect(emu.proxy.calls()).toEqual([]);
  }, 60_000);

  it('apply applies nothing, reports the located errors and exits 3', async () => {
    const groups = await webGroups([PROD_A, PROD_B], ['us-east-1']);
    const { dir, accounts, file } = await typoPolicies();

    const apply = await cli(['apply', '--policies', dir, '--accounts', accounts]);

    expect(apply.code, apply.stdout + apply.stderr).toBe(3);
    expect(eventsNamed(apply.events, 'policy.invalid')).toEqual([
      expect.objectContaining({ file, line: 6, column: 14, path: 'spec.accounts[0]' }),
      expect.objectContaining({ file, line: 6, column: 58, path: 'spec.accounts[2]' }),
    ]);
    expect(apply.stderr).toContain(`${file}:6:14  spec.accounts[0]  account 444444444444 is not in`);
    expect(eventsNamed(apply.events, 'reconcile.started')).toEqual([]);
    expect(emu.proxy.calls()).toEqual([]);
    for (const { ec2, groupId } of groups.values()) expect(await listIngressRules(ec2, groupId)).toEqual([]);
  }, 60_000);

  it('with --accounts organizations, plan --format json checks the selectors against the organization', async () => {
    (await newOrganization()).destroy();
    const dir = await writePolicies({
      'prod.yaml': policy(
        'prod-web',
        `  accounts: [{ id: "444444444444" }]\n  region: us-east-1\n${WEB_RULE}`,
      ),
    });

    const plan = await cli(['plan', '--policies', dir, '--accounts', 'organizations', '--format', 'json']);

    expect(plan.code, plan.stderr).toBe(3);
    expect(JSON.parse(plan.stdout)).toEqual({
      formatVersion: 1,
      valid: false,
      errors: [
        {
          file: `${dir}/prod.yaml`,
          line: 6,
          column: 14,
          path: 'spec.accounts[0]',
          error: expect.stringContaining('account 444444444444 is not in the organization') as unknown,
        },
      ],
    });
    expect(eventsNamed(plan.events, 'policy.invalid')).toHaveLength(1);
    const calls = emu.proxy.calls().map((c) => c.action);
    expect(calls).toContain('ListAccounts');
    expect(calls.filter((a) => a === 'AssumeRole' || a.startsWith('Describe'))).toEqual([]);
  }, 60_000);
});
