// The built CLI against moto: apply, plan and dry-run end to end (issue: the reconcile engine).
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateManagedPrefixListCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { eventsNamed, motoEnv, runCli, writePolicies, type Event } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { createGroup, createVpc, defaultVpcId } from '../helpers/moto.js';

const emu = useEmulator();

interface RuleRow {
  ruleId: string;
  protocol: string;
  fromPort: number | undefined;
  toPort: number | undefined;
  source: string;
  description: string | undefined;
  tags: Record<string, string>;
}

async function rules(client: EC2Client, groupId: string): Promise<RuleRow[]> {
  const out = await client.send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }),
  );
  return (out.SecurityGroupRules ?? [])
    .filter((r) => r.IsEgress !== true)
    .map((r) => ({
      ruleId: r.SecurityGroupRuleId ?? '',
      protocol: r.IpProtocol ?? '',
      fromPort: r.FromPort,
      toPort: r.ToPort,
      source: r.CidrIpv4 ?? r.CidrIpv6 ?? r.PrefixListId ?? r.ReferencedGroupInfo?.GroupId ?? '',
      description: r.Description,
      tags: Object.fromEntries((r.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    }))
    .sort((a, b) =>
      `${a.protocol}${a.fromPort}${a.source}`.localeCompare(`${b.protocol}${b.fromPort}${b.source}`),
    );
}

function policy(name: string, spec: string): string {
  return `apiVersion: sg-reconciler/v1\nkind: IngressPolicy\nmetadata:\n  name: ${name}\nspec:\n${spec
    .trim()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n`;
}

const apply = (dir: string, extra: string[] = []) =>
  runCli(['apply', '--policies', dir, ...extra], { env: motoEnv(emu.endpoint) });
const plan = (dir: string, extra: string[] = []) =>
  runCli(['plan', '--policies', dir, ...extra], { env: motoEnv(emu.endpoint) });

function completed(events: readonly Event[]): Event {
  const done = eventsNamed(events, 'reconcile.completed');
  expect(done).toHaveLength(1);
  return done[0] as Event;
}

describe('apply against EC2 (moto)', () => {
  it('authorizes the three AuthorizeSecurityGroupIngress reference examples with descriptions, tags and rule IDs', async () => {
    const bastion = await createGroup(emu.ec2, { name: 'bastion', vpcId: emu.vpcId });
    const web = await createGroup(emu.ec2, { name: 'web', vpcId: emu.vpcId });
    const other = await createGroup(emu.ec2, { name: 'app', vpcId: emu.vpcId });
    const rdp = await createGroup(emu.ec2, { name: 'rdp-hosts', vpcId: emu.vpcId });
    const dir = await writePolicies({
      'ssh.yaml': policy(
        'office-ssh',
        `targets: [{groupName: bastion}]\ningress:\n  - protocol: tcp\n    ports: 22\n    description: SSH access from the LA office\n    sources: [{cidr: 203.0.113.0/24}]`,
      ),
      'http.yaml': policy(
        'web-http',
        `targets: [{groupId: ${web}}]\ningress:\n  - protocol: tcp\n    ports: 80\n    description: HTTP access from other instances\n    sources: [{securityGroup: ${other}}]`,
      ),
      'rdp.yaml': policy(
        'ny-rdp',
        `targets: [{groupName: rdp-hosts}]\nruleTags: {team: windows}\ningress:\n  - protocol: tcp\n    ports: 3389\n    description: RDP access from the NY office\n    sources: [{cidr: "2001:db8:1234:1a00::/64"}]`,
      ),
    });

    const result = await apply(dir);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const authorized = eventsNamed(result.events, 'rule.authorized');
    expect(authorized).toHaveLength(3);
    const live = {
      bastion: await rules(emu.ec2, bastion),
      web: await rules(emu.ec2, web),
      rdp: await rules(emu.ec2, rdp),
    };
    expect(live.bastion).toEqual([
      expect.objectContaining({
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: '203.0.113.0/24',
        description: 'SSH access from the LA office',
        tags: { 'managed-by': 'sg-reconciler', 'sg-reconciler/policy': 'office-ssh' },
      }),
    ]);
    expect(live.web).toEqual([expect.objectContaining({ protocol: 'tcp', fromPort: 80, source: other })]);
    // moto drops group-pair descriptions from DescribeSecurityGroupRules (MOTO-NOTES); read the group.
    const webGroup = await emu.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [web] }));
    expect(webGroup.SecurityGroups?.[0]?.IpPermissions?.[0]?.UserIdGroupPairs).toEqual([
      expect.objectContaining({ GroupId: other, Description: 'HTTP access from other instances' }),
    ]);
    expect(live.rdp).toEqual([
      expect.objectContaining({
        protocol: 'tcp',
        fromPort: 3389,
        source: '2001:db8:1234:1a00::/64',
        description: 'RDP access from the NY office',
        tags: { 'managed-by': 'sg-reconciler', 'sg-reconciler/policy': 'ny-rdp', team: 'windows' },
      }),
    ]);
    const byGroup = new Map(authorized.map((e) => [e.groupId, e]));
    expect(byGroup.get(bastion)).toMatchObject({
      policy: 'office-ssh',
      region: 'us-east-1',
      groupId: bastion,
      ruleId: live.bastion[0]?.ruleId,
      protocol: 'tcp',
      fromPort: 22,
      toPort: 22,
      source: { kind: 'cidr', value: '203.0.113.0/24' },
      description: 'SSH access from the LA office',
    });
    expect(byGroup.get(web)).toMatchObject({
      ruleId: live.web[0]?.ruleId,
      source: { kind: 'securityGroup', value: other },
    });
    expect(byGroup.get(rdp)).toMatchObject({
      ruleId: live.rdp[0]?.ruleId,
      source: { kind: 'cidrIpv6', value: '2001:db8:1234:1a00::/64' },
    });
    for (const e of result.events) {
      expect(e).toEqual(
        expect.objectContaining({
          runId: expect.any(String),
          level: expect.any(String),
          time: expect.any(String),
          msg: expect.any(String),
        }),
      );
    }
    expect(completed(result.events)).toMatchObject({
      mode: 'apply',
      authorized: 3,
      failed: 0,
      missing: 3,
      desired: 3,
    });

    const second = await apply(dir);
    expect(second.code).toBe(0);
    expect(eventsNamed(second.events, 'rule.authorized')).toHaveLength(0);
    expect(completed(second.events)).toMatchObject({ authorized: 0, missing: 0, failed: 0 });
    expect(await rules(emu.ec2, bastion)).toHaveLength(1);
  });

  it('plan writes nothing and reports pending changes through --detailed-exitcode', async () => {
    const group = await createGroup(emu.ec2, { name: 'bastion', vpcId: emu.vpcId });
    const dir = await writePolicies({
      'ssh.yaml': policy(
        'office-ssh',
        `targets: [{groupId: ${group}}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{cidr: 198.51.100.0/24}]`,
      ),
    });

    const plain = await plan(dir);
    const detailed = await plan(dir, ['--detailed-exitcode', '--format', 'json']);

    expect(plain.code).toBe(0);
    expect(detailed.code).toBe(2);
    expect(await rules(emu.ec2, group)).toEqual([]);
    const doc = JSON.parse(detailed.stdout) as {
      summary: { missing: number; changes: boolean };
      groups: { groupId: string; missing: unknown[] }[];
    };
    expect(doc.summary).toMatchObject({ missing: 1, changes: true });
    expect(doc.groups[0]).toMatchObject({
      groupId: group,
      missing: [expect.objectContaining({ fromPort: 22 })],
    });
    expect(eventsNamed(detailed.events, 'rule.missing')).toHaveLength(1);

    expect((await apply(dir)).code).toBe(0);
    const after = await plan(dir, ['--detailed-exitcode']);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('0 rules to authorize');
  });

  it('dry-run reports each missing rule as permitted and changes nothing', async () => {
    const group = await createGroup(emu.ec2, { name: 'bastion', vpcId: emu.vpcId });
    const dir = await writePolicies({
      'ssh.yaml': policy(
        'office-ssh',
        `targets: [{groupId: ${group}}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{cidr: 198.51.100.0/24}, {cidr: 192.0.2.0/24}]`,
      ),
    });

    const result = await apply(dir, ['--dry-run']);

    expect(result.code).toBe(0);
    const missing = eventsNamed(result.events, 'rule.missing');
    expect(missing).toHaveLength(2);
    for (const e of missing) expect(e).toMatchObject({ permitted: true, groupId: group });
    expect(eventsNamed(result.events, 'rule.authorized')).toHaveLength(0);
    expect(completed(result.events)).toMatchObject({ mode: 'dry-run', authorized: 0 });
    expect(await rules(emu.ec2, group)).toEqual([]);
  });

  it('converges for every protocol form: all, icmpv6 without ICMP fields, protocol 50, ICMP type/code, "6" with a range', async () => {
    const group = await createGroup(emu.ec2, { name: 'forms', vpcId: emu.vpcId });
    const dir = await writePolicies({
      'forms.yaml': policy(
        'protocol-forms',
        `targets: [{groupId: ${group}}]
ingress:
  - protocol: all
    sources: [{cidr: 10.1.0.0/16}]
  - protocol: icmpv6
    sources: [{cidr: "2001:db8::/32"}]
  - protocol: 50
    sources: [{cidr: 10.2.0.0/16}]
  - protocol: icmp
    icmp: {type: 8, code: -1}
    sources: [{cidr: 10.3.0.0/16}]
  - protocol: "6"
    ports: 8000-8080
    sources: [{cidr: 10.4.0.0/16}]`,
      ),
    });

    const first = await apply(dir);
    expect(first.code).toBe(0);
    expect(eventsNamed(first.events, 'rule.authorized')).toHaveLength(5);
    const second = await plan(dir, ['--detailed-exitcode', '--format', 'json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ summary: { missing: 0, drift: 0 } });
    expect((await rules(emu.ec2, group)).map((r) => r.protocol).sort()).toEqual(
      ['-1', '50', 'icmp', 'icmpv6', 'tcp'].sort(),
    );
  });

  it('treats a live rule written as protocol 6 with another description as present and reports description drift', async () => {
    const group = await createGroup(emu.ec2, { name: 'web', vpcId: emu.vpcId });
    await emu.ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: group,
        IpPermissions: [
          {
            IpProtocol: '6',
            FromPort: 443,
            ToPort: 443,
            IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'old text' }],
          },
        ],
      }),
    );
    const dir = await writePolicies({
      'https.yaml': policy(
        'https',
        `targets: [{groupId: ${group}}]\ningress:\n  - protocol: tcp\n    ports: 443\n    description: public HTTPS\n    sources: [{cidr: 0.0.0.0/0}]`,
      ),
    });

    const result = await apply(dir);

    expect(result.code).toBe(0);
    expect(eventsNamed(result.events, 'rule.authorized')).toHaveLength(0);
    expect(eventsNamed(result.events, 'rule.description_drift')).toEqual([
      expect.objectContaining({ groupId: group, live: 'old text', desired: 'public HTTPS', fromPort: 443 }),
    ]);
    expect(await rules(emu.ec2, group)).toHaveLength(1);
  });

  it('authorizes a rule two policies want once, attributed to both', async () => {
    const group = await createGroup(emu.ec2, { name: 'shared', vpcId: emu.vpcId });
    const spec = `targets: [{groupId: ${group}}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{cidr: 203.0.113.0/24}]`;
    const dir = await writePolicies({ 'a.yaml': policy('alpha', spec), 'b.yaml': policy('beta', spec) });

    const result = await apply(dir);

    expect(result.code).toBe(0);
    const authorized = eventsNamed(result.events, 'rule.authorized');
    expect(authorized).toHaveLength(1);
    expect(authorized[0]).toMatchObject({ policy: 'alpha', policies: ['alpha', 'beta'] });
    expect(await rules(emu.ec2, group)).toHaveLength(1);
  });

  it('selects groups by tags within a VPC, resolves self, and reports unresolved targets', async () => {
    const vpc = await createVpc(emu.ec2, '10.50.0.0/16');
    const inVpc = await createGroup(emu.ec2, { name: 'web-a', vpcId: vpc, tags: { tier: 'web' } });
    const elsewhere = await createGroup(emu.ec2, { name: 'web-b', vpcId: emu.vpcId, tags: { tier: 'web' } });
    const dir = await writePolicies({
      'tags.yaml': policy(
        'web-tier',
        `targets:\n  - tags: {tier: web}\n    vpcId: ${vpc}\n  - groupName: does-not-exist\ningress:\n  - protocol: tcp\n    ports: 8443\n    sources: [{securityGroup: self}]`,
      ),
    });

    const result = await apply(dir);

    expect(result.code).toBe(0);
    expect(await rules(emu.ec2, inVpc)).toEqual([expect.objectContaining({ fromPort: 8443, source: inVpc })]);
    expect(await rules(emu.ec2, elsewhere)).toEqual([]);
    expect(eventsNamed(result.events, 'target.unresolved')).toEqual([
      expect.objectContaining({ policy: 'web-tier', target: expect.stringContaining('does-not-exist') }),
    ]);
  });

  it('reports drift and leaves it alone', async () => {
    const group = await createGroup(emu.ec2, { name: 'drifty', vpcId: emu.vpcId });
    await emu.ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: group,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      }),
    );
    const dir = await writePolicies({
      'p.yaml': policy(
        'declared',
        `targets: [{groupId: ${group}}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{cidr: 10.0.0.0/8}]`,
      ),
    });

    const result = await apply(dir);

    expect(result.code).toBe(0);
    expect(eventsNamed(result.events, 'rule.drift')).toEqual([
      expect.objectContaining({
        groupId: group,
        protocol: 'tcp',
        fromPort: 3306,
        source: { kind: 'cidr', value: '0.0.0.0/0' },
      }),
    ]);
    expect((await rules(emu.ec2, group)).map((r) => r.fromPort).sort()).toEqual([22, 3306]);
    expect(completed(result.events)).toMatchObject({ drift: 1, authorized: 1 });
  });

  it('fails only the rule whose referenced group does not exist, with its error code, and lands the others', async () => {
    const group = await createGroup(emu.ec2, { name: 'mixed', vpcId: emu.vpcId });
    const dir = await writePolicies({
      'p.yaml': policy(
        'mixed',
        `targets: [{groupId: ${group}}]\ningress:\n  - protocol: tcp\n    ports: 5432\n    sources: [{securityGroup: sg-0123456789abcdef0}]\n  - protocol: tcp\n    ports: 22\n    sources: [{cidr: 10.0.0.0/8}, {cidr: 172.16.0.0/12}]`,
      ),
    });

    const result = await apply(dir);

    expect(result.code).toBe(1);
    const failed = eventsNamed(result.events, 'rule.failed');
    expect(failed).toEqual([
      expect.objectContaining({
        groupId: group,
        fromPort: 5432,
        errorCode: 'InvalidGroup.NotFound',
        source: { kind: 'securityGroup', value: 'sg-0123456789abcdef0' },
      }),
    ]);
    expect(eventsNamed(result.events, 'rule.authorized')).toHaveLength(2);
    expect((await rules(emu.ec2, group)).map((r) => r.source).sort()).toEqual([
      '10.0.0.0/8',
      '172.16.0.0/12',
    ]);
    expect(completed(result.events)).toMatchObject({ authorized: 2, failed: 1 });
  });

  it('writes nothing to a group whose projected rule count exceeds the quota', async () => {
    const group = await createGroup(emu.ec2, { name: 'full', vpcId: emu.vpcId });
    await emu.ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: group,
        IpPermissions: [
          {
            IpProtocol: 'tcp',
            FromPort: 1,
            ToPort: 1,
            IpRanges: Array.from({ length: 58 }, (_, i) => ({ CidrIp: `10.9.${i}.0/24` })),
          },
        ],
      }),
    );
    const dir = await writePolicies({
      'p.yaml': policy(
        'too-many',
        `targets: [{groupId: ${group}}]\ningress:\n  - protocol: tcp\n    ports: 443\n    sources: [{cidr: 10.1.0.0/16}, {cidr: 10.2.0.0/16}, {cidr: 10.3.0.0/16}]`,
      ),
    });

    const planned = await plan(dir, ['--format', 'json']);
    const result = await apply(dir);

    expect(JSON.parse(planned.stdout)).toMatchObject({
      groups: [{ quota: { limit: 60, exceeded: true, ipv4: { current: 58, projected: 61 } } }],
    });
    expect(result.code).toBe(1);
    const failed = eventsNamed(result.events, 'rule.failed');
    expect(failed).toHaveLength(3);
    for (const e of failed) expect(e).toMatchObject({ errorCode: 'QuotaExceeded' });
    expect(await rules(emu.ec2, group)).toHaveLength(58);
  });

  it('weighs a prefix-list rule by the list max entries in the quota projection', async () => {
    const group = await createGroup(emu.ec2, { name: 'pl', vpcId: emu.vpcId });
    const list = await emu.ec2.send(
      new CreateManagedPrefixListCommand({
        PrefixListName: 'offices',
        MaxEntries: 20,
        AddressFamily: 'IPv4',
      }),
    );
    const listId = list.PrefixList?.PrefixListId ?? '';
    const dir = await writePolicies({
      'p.yaml': policy(
        'offices',
        `targets: [{groupId: ${group}}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{prefixList: ${listId}}]`,
      ),
    });

    const planned = await plan(dir, ['--format', 'json', '--max-rules-per-group', '10']);

    expect(JSON.parse(planned.stdout)).toMatchObject({
      groups: [{ quota: { limit: 10, exceeded: true, ipv4: { projected: 20 } } }],
    });
  });

  it('reconciles two regions in one pass', async () => {
    const east = await createGroup(emu.ec2, { name: 'east', vpcId: emu.vpcId });
    const westClient = emu.moto.ec2('eu-west-1');
    const west = await createGroup(westClient, { name: 'west', vpcId: await defaultVpcId(westClient) });
    const rule = `ingress:\n  - protocol: udp\n    ports: 53\n    sources: [{cidr: 10.0.0.0/8}]`;
    const dir = await writePolicies({
      'east.yaml': policy('east', `targets: [{groupId: ${east}}]\n${rule}`),
      'west.yaml': policy('west', `region: eu-west-1\ntargets: [{groupId: ${west}}]\n${rule}`),
    });

    const result = await apply(dir);

    expect(result.code).toBe(0);
    expect(
      eventsNamed(result.events, 'rule.authorized')
        .map((e) => e.region)
        .sort(),
    ).toEqual(['eu-west-1', 'us-east-1']);
    expect(await rules(emu.ec2, east)).toHaveLength(1);
    expect(await rules(westClient, west)).toHaveLength(1);
  });
});

describe('endpoint selection', () => {
  it("uses the SDK's own AWS_ENDPOINT_URL_EC2 (and _STS) when --endpoint and SGR_ENDPOINT are not set", async () => {
    const group = await createGroup(emu.ec2, { name: 'sdk-endpoint', vpcId: emu.vpcId });
    const dir = await writePolicies({
      'p.yaml': policy(
        'sdk-endpoint',
        `targets: [{groupId: ${group}}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{cidr: 10.0.0.0/8}]`,
      ),
    });
    const { SGR_ENDPOINT: _unused, ...env } = motoEnv(emu.endpoint);

    const result = await runCli(['apply', '--policies', dir], {
      // STS answers GetCallerIdentity (the account every event carries).
      env: { ...env, AWS_ENDPOINT_URL_EC2: emu.endpoint, AWS_ENDPOINT_URL_STS: emu.endpoint },
    });

    expect(result.code).toBe(0);
    expect(eventsNamed(result.events, 'rule.authorized')).toEqual([
      expect.objectContaining({ account: '123456789012', region: 'us-east-1' }),
    ]);
  });

  it('--endpoint wins over SGR_ENDPOINT', async () => {
    const group = await createGroup(emu.ec2, { name: 'flag-endpoint', vpcId: emu.vpcId });
    const dir = await writePolicies({
      'p.yaml': policy(
        'flag-endpoint',
        `targets: [{groupId: ${group}}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{cidr: 10.0.0.0/8}]`,
      ),
    });

    const result = await runCli(['apply', '--policies', dir, '--endpoint', emu.endpoint], {
      env: motoEnv('http://127.0.0.1:9'),
    });

    expect(result.code).toBe(0);
    expect(eventsNamed(result.events, 'rule.authorized')).toHaveLength(1);
  });
});

describe('plan reports', () => {
  it('renders a Markdown pull-request comment with drift collapsed', async () => {
    const group = await createGroup(emu.ec2, { name: 'md', vpcId: emu.vpcId });
    await emu.ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: group,
        IpPermissions: [{ IpProtocol: 'tcp', FromPort: 25, ToPort: 25, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    );
    const dir = await writePolicies({
      'p.yaml': policy(
        'md',
        `targets: [{groupId: ${group}}]\ningress:\n  - protocol: tcp\n    ports: 22\n    description: ops\n    sources: [{cidr: 10.0.0.0/8}]`,
      ),
    });

    const result = await plan(dir, ['--format', 'markdown']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('### sg-reconciler plan');
    expect(result.stdout).toContain('| + | tcp | 22 | `10.0.0.0/8` | ops | md |');
    expect(result.stdout).toMatch(/<details><summary>1 drift rule:/);
  });

  it('plans offline against a describe-security-groups snapshot with no credentials and no endpoint', async () => {
    const dir = await writePolicies({
      'p.yaml': policy(
        'snap',
        `targets: [{groupId: sg-0aaaaaaaaaaaaaaa1}]\ningress:\n  - protocol: tcp\n    ports: 22\n    sources: [{cidr: 10.0.0.0/8}]`,
      ),
    });
    const snapshot = await writePolicies({
      'sgs.json': JSON.stringify({
        SecurityGroups: [
          {
            GroupId: 'sg-0aaaaaaaaaaaaaaa1',
            GroupName: 'snap',
            VpcId: 'vpc-0bbbbbbbbbbbbbbb1',
            OwnerId: '123456789012',
            Description: 'snap',
            IpPermissions: [
              {
                IpProtocol: 'tcp',
                FromPort: 80,
                ToPort: 80,
                IpRanges: [{ CidrIp: '0.0.0.0/0' }],
                Ipv6Ranges: [],
                PrefixListIds: [],
                UserIdGroupPairs: [],
              },
            ],
            IpPermissionsEgress: [],
          },
        ],
      }),
    });

    const result = await runCli(
      [
        'plan',
        '--policies',
        dir,
        '--snapshot',
        `${snapshot}/sgs.json`,
        '--detailed-exitcode',
        '--format',
        'json',
      ],
      {
        // An "aws ec2 describe-security-groups" file names no region: it is the region given here.
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: '/nonexistent',
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_REGION: 'us-east-1',
        },
      },
    );

    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({
      summary: { missing: 1, drift: 1 },
      groups: [{ groupId: 'sg-0aaaaaaaaaaaaaaa1', missing: [{ fromPort: 22 }], drift: [{ fromPort: 80 }] }],
    });
  });
});
