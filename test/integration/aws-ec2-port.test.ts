// The SDK port end to end against moto_server: real requests, real responses, real error codes.
import type { EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createEc2PortFactory } from '../../src/aws/ec2-port.js';
import { Ec2Error, type Ec2Port } from '../../src/aws/port.js';
import { canonicalRule, ruleKey, type Rule, type RuleFields } from '../../src/model/rule.js';
import {
  authorize,
  createGroup,
  createPrefixList,
  createVpc,
  defaultVpcId,
  listIngressRules,
  MOTO_CREDENTIALS,
  startMoto,
  type MotoServer,
} from '../helpers/moto.js';

let moto: MotoServer;
let factory: ReturnType<typeof createEc2PortFactory>;
let ec2: EC2Client;
let port: Ec2Port;
let vpc: string;

beforeAll(async () => {
  moto = await startMoto();
  // maxAttempts 1: moto's 500s would otherwise be retried into misleading follow-up errors.
  factory = createEc2PortFactory({ endpoint: moto.endpoint, maxAttempts: 1, credentials: MOTO_CREDENTIALS });
});

afterAll(async () => {
  factory.destroy();
  await moto.stop();
});

beforeEach(async () => {
  await moto.reset();
  ec2 = moto.ec2('us-east-1');
  port = factory('us-east-1');
  vpc = await defaultVpcId(ec2);
});

const tcp22 = (cidr: string, description?: string): Rule =>
  canonicalRule({
    protocol: 'tcp',
    fromPort: 22,
    toPort: 22,
    source: { kind: 'cidr', value: cidr },
    ...(description !== undefined ? { description } : {}),
  });

describe('describeSecurityGroups against moto', () => {
  it('finds groups by each filter kind', async () => {
    const other = await createVpc(ec2, '10.50.0.0/16');
    const web = await createGroup(ec2, { name: 'web', vpcId: vpc, tags: { tier: 'web', env: 'prod' } });
    const webOther = await createGroup(ec2, { name: 'web-2', vpcId: other, tags: { tier: 'web' } });
    const db = await createGroup(ec2, { name: 'db', vpcId: vpc, tags: { owner: 'data' } });

    const ids = async (filters: Parameters<Ec2Port['describeSecurityGroups']>[0]): Promise<string[]> =>
      (await port.describeSecurityGroups(filters)).map((g) => g.groupId).sort();

    expect(await ids([{ name: 'group-id', values: [web, db] }])).toEqual([web, db].sort());
    expect(await ids([{ name: 'group-name', values: ['db'] }])).toEqual([db]);
    expect(await ids([{ name: 'tag:tier', values: ['web'] }])).toEqual([web, webOther].sort());
    expect(
      await ids([
        { name: 'tag:tier', values: ['web'] },
        { name: 'vpc-id', values: [vpc] },
      ]),
    ).toEqual([web]);
    expect(await ids([{ name: 'tag-key', values: ['owner'] }])).toEqual([db]);
    const all = await port.describeSecurityGroups([]);
    expect(all.map((g) => g.groupId)).toEqual(expect.arrayContaining([web, webOther, db]));
    expect(all.find((g) => g.groupId === web)).toMatchObject({
      groupName: 'web',
      vpcId: vpc,
      ownerId: '123456789012',
      tags: { tier: 'web', env: 'prod' },
      rules: [],
    });
  });

  it('expands a multi-source permission into one rule per source, each with its description', async () => {
    const group = await createGroup(ec2, { name: 'bastion', vpcId: vpc });
    const peer = await createGroup(ec2, { name: 'peer', vpcId: vpc });
    const list = await createPrefixList(ec2, { name: 'vpn', maxEntries: 5, addressFamily: 'IPv4' });
    await authorize(ec2, group, [
      {
        IpProtocol: 'tcp',
        FromPort: 22,
        ToPort: 22,
        IpRanges: [
          { CidrIp: '203.0.113.0/24', Description: 'LA office' },
          { CidrIp: '198.51.100.0/24', Description: 'NY office' },
        ],
        Ipv6Ranges: [{ CidrIpv6: '2001:DB8:1234:1A00::/64', Description: 'LA office v6' }],
        PrefixListIds: [{ PrefixListId: list }],
        UserIdGroupPairs: [{ GroupId: peer, Description: 'peer group' }],
      },
    ]);

    const [live] = await port.describeSecurityGroups([{ name: 'group-id', values: [group] }]);

    expect(live?.rules).toEqual([
      {
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidr', value: '203.0.113.0/24' },
        description: 'LA office',
      },
      {
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidr', value: '198.51.100.0/24' },
        description: 'NY office',
      },
      // moto stores the text verbatim; the port reads it back canonical, as EC2 would store it.
      {
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidrIpv6', value: '2001:db8:1234:1a00::/64' },
        description: 'LA office v6',
      },
      { protocol: 'tcp', fromPort: 22, toPort: 22, source: { kind: 'prefixList', value: list } },
      {
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        // moto, like EC2, names the owner (UserId) of a group of the same account; the port drops it,
        // so drift and plans show `sg-…` as a policy writes it, not `123456789012/sg-…`.
        source: { kind: 'securityGroup', value: peer },
        description: 'peer group',
      },
    ]);
  });
});

describe('authorizeIngress and describeIngressRules against moto', () => {
  it('authorizes a batch with rule tags; every rule reads back with its rule ID and the tags', async () => {
    const group = await createGroup(ec2, { name: 'web', vpcId: vpc });
    const peer = await createGroup(ec2, { name: 'lb', vpcId: vpc });
    const rules: Rule[] = (
      [
        tcp22('10.0.0.0/8', 'ssh a'),
        tcp22('10.1.0.0/16', 'ssh b'),
        {
          protocol: 'tcp',
          fromPort: 22,
          toPort: 22,
          source: { kind: 'cidrIpv6', value: '2001:db8::/64' },
          description: 'ssh v6',
        },
        {
          protocol: '-1',
          fromPort: -1,
          toPort: -1,
          source: { kind: 'securityGroup', value: peer },
          description: 'from lb',
        },
        { protocol: 'icmp', fromPort: 8, toPort: -1, source: { kind: 'cidr', value: '10.2.0.0/16' } },
        { protocol: 'icmpv6', fromPort: -1, toPort: -1, source: { kind: 'cidrIpv6', value: '::/0' } },
        { protocol: '50', fromPort: -1, toPort: -1, source: { kind: 'cidr', value: '10.3.0.0/16' } },
        { protocol: 'udp', fromPort: 1000, toPort: 2000, source: { kind: 'cidr', value: '10.4.0.0/16' } },
      ] as RuleFields[]
    ).map((r) => canonicalRule(r));
    const tags = { 'managed-by': 'sg-reconciler', 'sg-reconciler/policy': 'office-ssh' };

    const created = await port.authorizeIngress({ groupId: group, rules, tags, dryRun: false });

    // moto lists only the last permission's rules; EC2 lists all. Either way each has an ID.
    expect(created.length).toBeGreaterThan(0);
    expect(created.every((r) => r.ruleId?.startsWith('sgr-') === true)).toBe(true);
    const live = await port.describeIngressRules(group);
    expect(live.map(ruleKey).sort()).toEqual(rules.map(ruleKey).sort());
    expect(live.every((r) => r.ruleId?.startsWith('sgr-') === true)).toBe(true);
    const liveIds = new Set(live.map((r) => r.ruleId));
    expect(created.every((r) => liveIds.has(r.ruleId))).toBe(true);
    expect(live.find((r) => r.source.value === '10.1.0.0/16')?.description).toBe('ssh b');

    const raw = await listIngressRules(ec2, group);
    expect(raw).toHaveLength(rules.length);
    for (const rule of raw) {
      expect(rule.Tags).toEqual(
        expect.arrayContaining([
          { Key: 'managed-by', Value: 'sg-reconciler' },
          { Key: 'sg-reconciler/policy', Value: 'office-ssh' },
        ]),
      );
    }
  });

  it('describeIngressRules leaves out egress rules', async () => {
    const group = await createGroup(ec2, { name: 'web', vpcId: vpc });
    expect(await port.describeIngressRules(group)).toEqual([]);
  });

  it('a dry run rejects with DryRunOperation (HTTP 412) and creates nothing', async () => {
    const group = await createGroup(ec2, { name: 'web', vpcId: vpc });
    const failure = port.authorizeIngress({
      groupId: group,
      rules: [tcp22('10.0.0.0/8')],
      tags: { a: 'b' },
      dryRun: true,
    });
    await expect(failure).rejects.toBeInstanceOf(Ec2Error);
    await expect(failure).rejects.toMatchObject({
      code: 'DryRunOperation',
      statusCode: 412,
      action: 'AuthorizeSecurityGroupIngress',
    });
    expect(await port.describeIngressRules(group)).toEqual([]);
  });

  it('a rule that exists (even with another description) rejects with InvalidPermission.Duplicate', async () => {
    const group = await createGroup(ec2, { name: 'web', vpcId: vpc });
    await port.authorizeIngress({
      groupId: group,
      rules: [tcp22('10.0.0.0/8', 'first')],
      tags: {},
      dryRun: false,
    });
    await expect(
      port.authorizeIngress({
        groupId: group,
        rules: [tcp22('10.0.0.0/8', 'second')],
        tags: {},
        dryRun: false,
      }),
    ).rejects.toMatchObject({
      code: 'InvalidPermission.Duplicate',
      statusCode: 400,
      action: 'AuthorizeSecurityGroupIngress',
    });
  });

  it('an unknown group rejects with InvalidGroup.NotFound', async () => {
    await expect(
      port.authorizeIngress({
        groupId: 'sg-0123456789abcdef0',
        rules: [tcp22('10.0.0.0/8')],
        tags: {},
        dryRun: false,
      }),
    ).rejects.toMatchObject({ code: 'InvalidGroup.NotFound', statusCode: 400 });
  });
});

describe('describeDefaultVpcId and describePrefixLists against moto', () => {
  it('returns the default VPC, not another one', async () => {
    await createVpc(ec2, '10.60.0.0/16');
    expect(await port.describeDefaultVpcId()).toBe(vpc);
  });

  it('is per region: each region has its own default VPC', async () => {
    const west = factory('eu-west-1');
    expect(west).not.toBe(port);
    expect(await west.describeDefaultVpcId()).toBe(await defaultVpcId(moto.ec2('eu-west-1')));
  });

  it('reads a customer-managed list’s max entries and family; unknown IDs are absent', async () => {
    const v4 = await createPrefixList(ec2, {
      name: 'vpn',
      maxEntries: 7,
      addressFamily: 'IPv4',
      cidrs: ['10.9.0.0/16'],
    });
    const v6 = await createPrefixList(ec2, { name: 'vpn6', maxEntries: 12, addressFamily: 'IPv6' });

    const lists = await port.describePrefixLists([v4, v6, 'pl-00000000000000000']);

    expect(Object.fromEntries(lists)).toEqual({
      [v4]: { maxEntries: 7, addressFamily: 'IPv4' },
      [v6]: { maxEntries: 12, addressFamily: 'IPv6' },
    });
  });

  it('weighs an AWS-managed list (which has no MaxEntries) by its entry count', async () => {
    const { DescribeManagedPrefixListsCommand, GetManagedPrefixListEntriesCommand } =
      await import('@aws-sdk/client-ec2');
    const all = await ec2.send(new DescribeManagedPrefixListsCommand({}));
    const s3 = all.PrefixLists?.find((l) => l.PrefixListName === 'com.amazonaws.us-east-1.s3');
    expect(s3?.MaxEntries).toBeUndefined();
    const id = s3?.PrefixListId ?? '';
    const entries = await ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: id }));

    const lists = await port.describePrefixLists([id]);

    expect(lists.get(id)).toEqual({ maxEntries: entries.Entries?.length, addressFamily: 'IPv4' });
    expect(lists.get(id)?.maxEntries).toBeGreaterThan(0);
  });
});
