// `snapshot` and `plan --snapshot` end to end (the built CLI against moto): a plan from a snapshot
// equals the live plan of the same state, and whatever a snapshot cannot answer fails the plan
// (exit 1, naming the gap) instead of reporting "no changes".
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventsNamed, motoEnv, runCli, writePolicies } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { authorize, createGroup, createPrefixList, createVpc } from '../helpers/moto.js';

const emu = useEmulator({ proxy: true });

/** No credentials, no endpoint, no profile: an offline plan must not need any. */
const OFFLINE_ENV = {
  PATH: process.env['PATH'] ?? '',
  HOME: '/nonexistent',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
};

function policy(name: string, spec: string): string {
  const body = spec
    .trim()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return `apiVersion: sg-reconciler/v1\nkind: IngressPolicy\nmetadata:\n  name: ${name}\nspec:\n${body}\n`;
}

async function tempFile(name: string): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'sgr-snapshot-')), name);
}

/** The JSON plan without what differs between two runs of the same plan (the run's ID). */
function comparable(stdout: string): unknown {
  const plan = JSON.parse(stdout) as Record<string, unknown>;
  delete plan['runId'];
  return plan;
}

/** A state with every kind of target and a prefix list: returns the policy directory. */
async function arrangeState(): Promise<{ dir: string; api: string; list: string }> {
  const web = await createGroup(emu.ec2, { name: 'web', vpcId: emu.vpcId });
  const api = await createGroup(emu.ec2, { name: 'api', vpcId: emu.vpcId });
  const otherVpc = await createVpc(emu.ec2, '10.1.0.0/16');
  // Same name in another VPC: a groupName target must not resolve to it.
  await createGroup(emu.ec2, { name: 'web', vpcId: otherVpc });
  const blue = await createGroup(emu.ec2, { name: 'app-blue', vpcId: otherVpc, tags: { tier: 'app' } });
  const list = await createPrefixList(emu.ec2, {
    name: 'offices',
    maxEntries: 20,
    addressFamily: 'IPv4',
    cidrs: ['198.51.100.0/24'],
  });
  await authorize(emu.ec2, web, [
    {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'old' }],
    },
    { IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: '10.0.0.0/8' }] },
  ]);
  await authorize(emu.ec2, api, [
    { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, PrefixListIds: [{ PrefixListId: list }] },
  ]);
  await authorize(emu.ec2, blue, [
    { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, Ipv6Ranges: [{ CidrIpv6: '2001:db8::/32' }] },
  ]);
  const dir = await writePolicies({
    'web.yaml': policy(
      'web',
      `targets: [{groupName: web}]\ningress:\n  - protocol: tcp\n    ports: 443\n    description: https\n    sources: [{cidr: 0.0.0.0/0}, {cidr: "::/0"}]`,
    ),
    'api.yaml': policy(
      'api',
      `targets: [{groupId: ${api}}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{prefixList: ${list}}]\n  - protocol: tcp\n    ports: 5432\n    sources: [{prefixList: ${list}}, {securityGroup: self}]`,
    ),
    'app.yaml': policy(
      'app',
      `region: us-east-1\ntargets: [{tags: {tier: app}}]\ningress:\n  - protocol: tcp\n    ports: 80\n    sources: [{cidr: "2001:db8::/32"}, {cidr: 192.0.2.0/24}]`,
    ),
  });
  return { dir, api, list };
}

// Each test runs the CLI several times: on a loaded machine that takes longer than the default.
describe('snapshot, then plan --snapshot', { timeout: 120_000 }, () => {
  it('a plan from a snapshot equals the live plan of the same state (groupId, groupName, tags, prefix lists)', async () => {
    const { dir, list } = await arrangeState();
    const out = await tempFile('snapshot.json');
    const env = motoEnv(emu.endpoint);

    const live = await runCli(['plan', '--policies', dir, '--format', 'json', '--detailed-exitcode'], {
      env,
    });
    const liveText = await runCli(['plan', '--policies', dir], { env });
    const taken = await runCli(['snapshot', '--policies', dir, '--out', out], { env });
    const offline = await runCli(
      ['plan', '--policies', dir, '--snapshot', out, '--format', 'json', '--detailed-exitcode'],
      { env: OFFLINE_ENV },
    );
    const offlineText = await runCli(['plan', '--policies', dir, '--snapshot', out], { env: OFFLINE_ENV });

    expect(taken.code).toBe(0);
    expect(taken.stdout).toMatch(
      /^wrote .*snapshot\.json: \d+ groups in 123456789012\/us-east-1 \(account\/region\)\n$/,
    );
    expect(live.code).toBe(2);
    expect(offline.code).toBe(2);
    expect(comparable(offline.stdout)).toEqual(comparable(live.stdout));
    expect(offlineText.stdout).toBe(liveText.stdout);
    // The comparison is not vacuous: every kind of target was planned, with a change and quota figures.
    expect(comparable(live.stdout)).toMatchObject({
      summary: {
        groups: 3,
        missing: 4,
        drift: 1,
        descriptionDrift: 1,
        readFailures: 0,
        prefixListFailures: 0,
      },
      groups: expect.arrayContaining([
        expect.objectContaining({
          groupName: 'api',
          quota: expect.objectContaining({ ipv4: { current: 20, projected: 41 } }),
        }),
        expect.objectContaining({ groupName: 'web', vpcId: emu.vpcId }),
        expect.objectContaining({ groupName: 'app-blue' }),
      ]) as unknown,
    });
    const document = JSON.parse(await readFile(out, 'utf8')) as Record<string, unknown>;
    expect(document).toMatchObject({
      formatVersion: 1,
      kind: 'SecurityGroupSnapshot',
      credentialsAccount: '123456789012',
      defaultRegion: 'us-east-1',
      accounts: {
        '123456789012': {
          regions: {
            'us-east-1': {
              defaultVpcId: emu.vpcId,
              prefixLists: { [list]: { maxEntries: 20, addressFamily: 'IPv4' } },
            },
          },
        },
      },
    });
    expect(eventsNamed(taken.events, 'snapshot.written')).toEqual([
      expect.objectContaining({ account: '123456789012', units: ['123456789012/us-east-1'] }),
    ]);
  });

  it('an offline plan names the rule of a guardrail violation as a live plan does, and an own-account group as sg-…', async () => {
    const bastion = await createGroup(emu.ec2, { name: 'bastion', vpcId: emu.vpcId });
    const app = await createGroup(emu.ec2, { name: 'app', vpcId: emu.vpcId });
    await authorize(emu.ec2, bastion, [
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
      { IpProtocol: 'tcp', FromPort: 9100, ToPort: 9100, UserIdGroupPairs: [{ GroupId: app }] },
    ]);
    const dir = await writePolicies({
      'bastion.yaml': policy(
        'bastion',
        `targets: [{groupId: ${bastion}}]\ningress:\n  - protocol: tcp\n    ports: 443\n    sources: [{cidr: 10.0.0.0/8}]`,
      ),
      'guardrail.yaml':
        'apiVersion: sg-reconciler/v1\nkind: Guardrail\nmetadata:\n  name: no-internet-ssh\nspec:\n  deny:\n    - protocol: tcp\n      ports: [22]\n      from: internet\n',
    });
    const out = await tempFile('snapshot.json');
    const env = motoEnv(emu.endpoint);

    const live = await runCli(['plan', '--policies', dir, '--format', 'json'], { env });
    const liveText = await runCli(['plan', '--policies', dir], { env });
    const taken = await runCli(['snapshot', '--policies', dir, '--out', out], { env });
    const offline = await runCli(['plan', '--policies', dir, '--snapshot', out, '--format', 'json'], {
      env: OFFLINE_ENV,
    });
    const offlineText = await runCli(['plan', '--policies', dir, '--snapshot', out], { env: OFFLINE_ENV });

    expect(taken.code).toBe(0);
    const { violations } = (comparable(live.stdout) as { guardrails: { violations: unknown[] } }).guardrails;
    expect(violations).toEqual([
      expect.objectContaining({ groupId: bastion, ruleId: expect.stringMatching(/^sgr-/) as unknown }),
    ]);
    expect(comparable(offline.stdout)).toEqual(comparable(live.stdout));
    expect(offlineText.stdout).toBe(liveText.stdout);
    // The group of the same account reads as a policy writes it, in both.
    expect(liveText.stdout).toContain(`tcp  9100  securityGroup ${app}`);
    expect(liveText.stdout).not.toContain(`123456789012/${app}`);
  });

  it('a region the snapshot does not hold fails the plan naming the region, never a plan for it', async () => {
    const { dir } = await arrangeState();
    const out = await tempFile('snapshot.json');
    expect(
      (await runCli(['snapshot', '--policies', dir, '--out', out], { env: motoEnv(emu.endpoint) })).code,
    ).toBe(0);
    const west = await writePolicies({
      'west.yaml': policy(
        'west',
        `region: eu-west-1\ntargets: [{tags: {tier: app}}]\ningress:\n  - protocol: tcp\n    ports: 8443\n    sources: [{cidr: 198.51.100.0/24}]`,
      ),
    });

    const result = await runCli(
      ['plan', '--policies', west, '--snapshot', out, '--format', 'json', '--detailed-exitcode'],
      { env: OFFLINE_ENV },
    );

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 'failed',
      errorCode: 'SnapshotIncomplete',
      error: expect.stringContaining('holds no data for region eu-west-1 of account 123456789012') as unknown,
    });
  });

  it('a prefix list added after the snapshot was taken fails the plan naming the list', async () => {
    const { dir, api } = await arrangeState();
    const out = await tempFile('snapshot.json');
    expect(
      (await runCli(['snapshot', '--policies', dir, '--out', out], { env: motoEnv(emu.endpoint) })).code,
    ).toBe(0);
    const added = await writePolicies({
      'api.yaml': policy(
        'api',
        `targets: [{groupId: ${api}}]\ningress:\n  - protocol: tcp\n    ports: 9000\n    sources: [{prefixList: pl-0123456789abcdef0}]`,
      ),
    });

    const result = await runCli(['plan', '--policies', added, '--snapshot', out, '--detailed-exitcode'], {
      env: OFFLINE_ENV,
    });

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('SnapshotIncomplete');
    expect(result.stdout).toContain('no size for prefix list pl-0123456789abcdef0 in region us-east-1');
  });

  it('a group name the snapshot holds nothing for is unresolved, not a gap: the snapshot holds every group of the region', async () => {
    const { dir } = await arrangeState();
    const out = await tempFile('snapshot.json');
    expect(
      (await runCli(['snapshot', '--policies', dir, '--out', out], { env: motoEnv(emu.endpoint) })).code,
    ).toBe(0);
    // A pull request that targets a group no policy targeted when the snapshot was taken.
    const other = await writePolicies({
      'p.yaml': policy(
        'other',
        `targets: [{groupName: app-blue}, {groupName: api}]\ningress:\n  - protocol: tcp\n    ports: 25\n    sources: [{cidr: 10.0.0.0/8}]`,
      ),
    });

    const result = await runCli(['plan', '--policies', other, '--snapshot', out, '--format', 'json'], {
      env: OFFLINE_ENV,
    });

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      summary: { groups: 1, missing: 1, unresolved: 1 },
      groups: [{ groupName: 'api', missing: [{ fromPort: 25 }] }],
      // app-blue is not in the default VPC: EC2 would not resolve the name either.
      unresolved: [{ target: 'groupName=app-blue' }],
    });
  });

  it('a live plan names a prefix list it could not size instead of silently counting it as one rule', async () => {
    const { api } = await arrangeState();
    const dir = await writePolicies({
      'api.yaml': policy(
        'api',
        `targets: [{groupId: ${api}}]\ningress:\n  - protocol: tcp\n    ports: 9000\n    sources: [{prefixList: pl-0000000000000dead}]`,
      ),
    });

    const text = await runCli(['plan', '--policies', dir], { env: motoEnv(emu.endpoint) });
    const json = await runCli(['plan', '--policies', dir, '--format', 'json'], {
      env: motoEnv(emu.endpoint),
    });

    expect(text.stdout).toContain(
      'prefix list pl-0000000000000dead could not be sized: not found or not read; counted as 1 rule in each family',
    );
    expect(JSON.parse(json.stdout)).toMatchObject({
      groups: [{ groupId: api, quota: { unknownPrefixLists: ['pl-0000000000000dead'] } }],
    });
  });

  it('writes nothing when a read fails, and keeps an existing file as it was (exit 1)', async () => {
    const { dir } = await arrangeState();
    const out = await tempFile('snapshot.json');
    await writeFile(out, 'previous snapshot\n');
    emu.proxy.addRule({
      action: 'DescribeVpcs',
      times: 'always',
      fault: {
        kind: 'error',
        status: 403,
        code: 'UnauthorizedOperation',
        message: 'You are not authorized to perform this operation.',
      },
    });

    const result = await runCli(['snapshot', '--policies', dir, '--out', out], {
      env: motoEnv(emu.endpoint),
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'read failed: 123456789012 us-east-1 DescribeVpcs UnauthorizedOperation: missing IAM permission ec2:DescribeVpcs',
    );
    expect(result.stderr).toContain(`${out} was not written`);
    expect(eventsNamed(result.events, 'read.failed')).toEqual([
      expect.objectContaining({
        region: 'us-east-1',
        action: 'DescribeVpcs',
        errorCode: 'UnauthorizedOperation',
      }),
    ]);
    expect(await readFile(out, 'utf8')).toBe('previous snapshot\n');
  });

  it('invalid policies: exit 3 and nothing written', async () => {
    const dir = await writePolicies({ 'bad.yaml': policy('bad', 'targets: []\ningress: []') });
    const out = await tempFile('snapshot.json');

    const result = await runCli(['snapshot', '--policies', dir, '--out', out], {
      env: motoEnv(emu.endpoint),
    });

    expect(result.code).toBe(3);
    expect(eventsNamed(result.events, 'policy.invalid').length).toBeGreaterThan(0);
    expect(existsSync(out)).toBe(false);
    // The summary says what snapshot did not do: it writes a file, it applies nothing anyway.
    expect(result.stderr).toMatch(new RegExp(`\\d+ errors? in ${dir}; nothing was written\n$`));
    expect(result.stderr).not.toContain('nothing was applied');
  });

  it('without --out: exit 3 with a message saying what to write', async () => {
    const { dir } = await arrangeState();
    const result = await runCli(['snapshot', '--policies', dir], { env: motoEnv(emu.endpoint) });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('snapshot needs --out <file>');
  });
});

// Each test runs the CLI several times: on a loaded machine that takes longer than the default.
describe('plan --snapshot of an "aws ec2 describe-security-groups" file', { timeout: 120_000 }, () => {
  const awsCliFile = {
    SecurityGroups: [
      {
        GroupId: 'sg-0aaaaaaaaaaaaaaa0',
        GroupName: 'default',
        VpcId: 'vpc-0123456789abcdef0',
        OwnerId: '123456789012',
        Description: 'default VPC security group',
        IpPermissions: [],
      },
      {
        GroupId: 'sg-0123456789abcdef0',
        GroupName: 'web',
        VpcId: 'vpc-0123456789abcdef0',
        OwnerId: '123456789012',
        Description: 'web',
        Tags: [{ Key: 'tier', Value: 'web' }],
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '203.0.113.0/24' }] },
        ],
      },
    ],
  };
  const cases = [
    {
      name: 'a groupName target: the file holds no default VPC',
      spec: 'targets: [{groupName: web}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{cidr: 10.0.0.0/8}]',
      args: ['--region', 'us-east-1'],
      gap: 'does not hold the default VPC of us-east-1',
    },
    {
      name: 'a prefix-list rule: the file holds no list sizes',
      spec: 'targets: [{tags: {tier: web}}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{prefixList: pl-0123456789abcdef0}]',
      args: ['--region', 'us-east-1'],
      gap: 'no size for prefix list pl-0123456789abcdef0',
    },
    {
      name: 'no --region: the file names none',
      spec: 'region: us-east-1\ntargets: [{groupId: sg-0123456789abcdef0}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{cidr: 10.0.0.0/8}]',
      args: [],
      gap: 'names no region: pass --region',
    },
    {
      name: 'a policy of another region',
      spec: 'region: eu-west-1\ntargets: [{groupId: sg-0123456789abcdef0}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{cidr: 10.0.0.0/8}]',
      args: ['--region', 'us-east-1'],
      gap: 'holds only region us-east-1 of account 123456789012, not region eu-west-1',
    },
  ];
  for (const { name, spec, args, gap } of cases) {
    it(`${name}: exit 1 naming the gap, never "no changes"`, async () => {
      const dir = await writePolicies({ 'p.yaml': policy('p', spec) });
      const file = await tempFile('sgs.json');
      await writeFile(file, JSON.stringify(awsCliFile));

      for (const format of ['text', 'json', 'markdown']) {
        const result = await runCli(
          ['plan', '--policies', dir, '--snapshot', file, '--format', format, '--detailed-exitcode', ...args],
          { env: OFFLINE_ENV },
        );
        expect(result.code).toBe(1);
        expect(result.stdout).toContain(gap);
        expect(result.stdout).not.toContain('has no default VPC');
      }
    });
  }

  it('plans the groups it holds for the region given with --region', async () => {
    const dir = await writePolicies({
      'p.yaml': policy(
        'p',
        'targets: [{tags: {tier: web}}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{cidr: 10.0.0.0/8}]',
      ),
    });
    const file = await tempFile('sgs.json');
    await writeFile(file, JSON.stringify(awsCliFile));

    const result = await runCli(
      ['plan', '--policies', dir, '--snapshot', file, '--format', 'json', '--detailed-exitcode'],
      { env: { ...OFFLINE_ENV, AWS_REGION: 'us-east-1' } },
    );

    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({
      summary: { missing: 1, drift: 1 },
      groups: [{ region: 'us-east-1', groupId: 'sg-0123456789abcdef0', missing: [{ fromPort: 22 }] }],
    });
  });
});
