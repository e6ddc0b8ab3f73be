import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { Ec2Error } from '../../src/aws/port.js';
import {
  buildSnapshotDocument,
  openSnapshot,
  SNAPSHOT_INCOMPLETE,
  validateSnapshot,
} from '../../src/aws/snapshot-port.js';
import { ruleKey } from '../../src/model/rule.js';
import { canonicalRules } from '../helpers/rules.js';
import { tcp } from '../helpers/fake-ec2.js';

const FIXTURE_PATH = new URL('../fixtures/snapshots/describe-security-groups.json', import.meta.url);
const FIXTURE = JSON.parse(readFileSync(FIXTURE_PATH, 'utf8')) as unknown;

const DEFAULT = 'sg-0c5e1f0a9b8d7e6f1';
const BASTION = 'sg-03f9a1b2c3d4e5f60';
const WEB = 'sg-0b8e7d6c5a4f3e2d1';
const WEB_STAGING = 'sg-0d1e2f3a4b5c6d7e8';
const DB = 'sg-0e9f8a7b6c5d4e3f2';

/** The AWS CLI fixture, taken in us-east-1 (`--region us-east-1`). */
function port(json: unknown = FIXTURE, region = 'us-east-1') {
  return openSnapshot(json, 'snapshot.json', { region: 'us-east-1' }).ports(region);
}

async function ids(
  filters: Parameters<ReturnType<typeof port>['describeSecurityGroups']>[0],
): Promise<string[]> {
  return (await port().describeSecurityGroups(filters)).map((g) => g.groupId);
}

describe('snapshot port: describeSecurityGroups', () => {
  it('returns every group, its ingress expanded into one-source canonical rules', async () => {
    const groups = await port().describeSecurityGroups([]);
    expect(groups.map((g) => g.groupId)).toEqual([DEFAULT, BASTION, WEB, WEB_STAGING, DB]);
    const db = groups.find((g) => g.groupId === DB);
    expect(db).toEqual({
      groupId: DB,
      groupName: 'db',
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      ownerId: '123456789012',
      tags: { tier: 'data' },
      rules: [
        {
          protocol: 'tcp',
          fromPort: 5432,
          toPort: 5432,
          // EC2 names the owner of every group pair; an own-account group reads as a policy writes it.
          source: { kind: 'securityGroup', value: WEB },
          description: 'app servers',
        },
        {
          protocol: 'tcp',
          fromPort: 5432,
          toPort: 5432,
          source: {
            kind: 'securityGroup',
            value: 'sg-0aa11bb22cc33dd44',
            userId: '210987654321',
            vpcId: 'vpc-0fedcba9876543210',
            vpcPeeringConnectionId: 'pcx-0123abcd4567ef890',
          },
        },
        {
          protocol: 'icmpv6',
          fromPort: -1,
          toPort: -1,
          source: { kind: 'cidrIpv6', value: '2001:db8:1234::/48' },
        },
      ],
    });
    const bastion = groups.find((g) => g.groupId === BASTION);
    expect(bastion?.rules.map(ruleKey)).toEqual([
      'tcp|22|22|cidr|203.0.113.0/24',
      'tcp|22|22|cidr|198.51.100.0/24',
      'tcp|22|22|cidrIpv6|2001:db8:1234:1a00::/64',
      'tcp|22|22|prefixList|pl-0123456789abcdef0',
      'icmp|8|-1|cidr|10.0.0.0/8',
    ]);
  });

  const filterCases: { name: string; filters: { name: string; values: string[] }[]; expected: string[] }[] = [
    {
      name: 'group-id',
      filters: [{ name: 'group-id', values: [WEB, DB, 'sg-00000000'] }],
      expected: [WEB, DB],
    },
    { name: 'group-name', filters: [{ name: 'group-name', values: ['bastion'] }], expected: [BASTION] },
    {
      name: 'group-name with a wildcard',
      filters: [{ name: 'group-name', values: ['web*'] }],
      expected: [WEB, WEB_STAGING],
    },
    { name: 'group-name with ?', filters: [{ name: 'group-name', values: ['d?'] }], expected: [DB] },
    {
      name: 'vpc-id',
      filters: [{ name: 'vpc-id', values: ['vpc-0a1b2c3d4e5f60718'] }],
      expected: [DEFAULT, BASTION, WEB, WEB_STAGING, DB],
    },
    { name: 'tag:K', filters: [{ name: 'tag:tier', values: ['web'] }], expected: [WEB, WEB_STAGING] },
    {
      name: 'tag:K values are OR-ed',
      filters: [{ name: 'tag:tier', values: ['web', 'data'] }],
      expected: [WEB, WEB_STAGING, DB],
    },
    {
      name: 'filters are AND-ed',
      filters: [
        { name: 'tag:tier', values: ['web'] },
        { name: 'tag:env', values: ['prod'] },
      ],
      expected: [WEB],
    },
    { name: 'tag-key', filters: [{ name: 'tag-key', values: ['team'] }], expected: [BASTION] },
    { name: 'tag-value', filters: [{ name: 'tag-value', values: ['staging'] }], expected: [WEB_STAGING] },
    { name: 'owner-id', filters: [{ name: 'owner-id', values: ['000000000000'] }], expected: [] },
    { name: 'values are case-sensitive', filters: [{ name: 'group-name', values: ['WEB'] }], expected: [] },
    { name: 'an escaped * is literal', filters: [{ name: 'group-name', values: ['web\\*'] }], expected: [] },
  ];
  for (const { name, filters, expected } of filterCases) {
    it(`applies the ${name} filter as EC2 does`, async () => {
      expect(await ids(filters)).toEqual(expected);
    });
  }

  it('rejects an unknown filter with InvalidParameterValue, as EC2 does', async () => {
    await expect(
      port().describeSecurityGroups([{ name: 'ip-permission.cidr', values: ['10.0.0.0/8'] }]),
    ).rejects.toMatchObject({
      name: 'Ec2Error',
      code: 'InvalidParameterValue',
      action: 'DescribeSecurityGroups',
    });
  });

  it('answers for the region it was taken in only; another region is a gap naming both', async () => {
    const west = port(FIXTURE, 'eu-west-1');
    expect(west.region).toBe('eu-west-1');
    await expect(west.describeSecurityGroups([])).rejects.toMatchObject({
      code: SNAPSHOT_INCOMPLETE,
      message:
        'snapshot snapshot.json holds only region us-east-1 of account 123456789012, not region eu-west-1 of account 123456789012',
    });
  });

  it('without --region it answers for no region, and says to pass --region', async () => {
    const anywhere = openSnapshot(FIXTURE, 'sgs.json').ports('us-east-1');
    await expect(anywhere.describeSecurityGroups([])).rejects.toMatchObject({
      code: SNAPSHOT_INCOMPLETE,
      message: expect.stringContaining('names no region: pass --region') as unknown,
    });
  });

  it('rejects with AbortError when the signal is already aborted', async () => {
    await expect(port().describeSecurityGroups([], AbortSignal.abort())).rejects.toMatchObject({
      code: 'AbortError',
    });
  });
});

describe('snapshot port: the other reads and the write', () => {
  it('returns a group’s ingress rules, and InvalidGroup.NotFound for an unknown group', async () => {
    const rules = await port().describeIngressRules(WEB);
    expect(rules.map(ruleKey)).toEqual([
      'tcp|443|443|cidr|0.0.0.0/0',
      'tcp|443|443|cidrIpv6|::/0',
      `tcp|22|22|securityGroup|${BASTION}`,
    ]);
    await expect(port().describeIngressRules('sg-00000000')).rejects.toMatchObject({
      code: 'InvalidGroup.NotFound',
    });
  });

  it('refuses to authorize (SnapshotReadOnly)', async () => {
    const failure = port().authorizeIngress({
      groupId: WEB,
      rules: canonicalRules([
        { protocol: 'tcp', fromPort: 80, toPort: 80, source: { kind: 'cidr', value: '0.0.0.0/0' } },
      ]),
      tags: {},
      dryRun: true,
    });
    await expect(failure).rejects.toBeInstanceOf(Ec2Error);
    await expect(failure).rejects.toMatchObject({
      code: 'SnapshotReadOnly',
      action: 'AuthorizeSecurityGroupIngress',
    });
  });

  it('holds no prefix-list sizes: asking is a gap naming the list, never "not found"', async () => {
    await expect(port().describePrefixLists(['pl-0123456789abcdef0'])).rejects.toMatchObject({
      code: SNAPSHOT_INCOMPLETE,
      action: 'DescribeManagedPrefixLists',
      message: expect.stringContaining(
        'no size for prefix list pl-0123456789abcdef0 in region us-east-1',
      ) as unknown,
    });
  });

  it('holds no default VPC: asking is a gap, never "the region has none"', async () => {
    await expect(port().describeDefaultVpcId()).rejects.toMatchObject({
      code: SNAPSHOT_INCOMPLETE,
      action: 'DescribeVpcs',
      message: expect.stringContaining('does not hold the default VPC of us-east-1') as unknown,
    });
  });
});

describe('the sg-reconciler snapshot document', () => {
  const live = {
    groupId: WEB,
    groupName: 'web',
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    ownerId: '123456789012',
    tags: { tier: 'web', env: 'prod' },
    rules: canonicalRules([
      {
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        source: { kind: 'cidr', value: '0.0.0.0/0' },
        description: 'https',
      },
      {
        protocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        source: { kind: 'prefixList', value: 'pl-0123456789abcdef0' },
      },
      {
        protocol: '-1',
        fromPort: -1,
        toPort: -1,
        source: { kind: 'securityGroup', value: BASTION },
      },
      {
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'securityGroup', value: 'sg-0aa11bb22cc33dd44', userId: '210987654321' },
      },
    ]),
  };
  const document = buildSnapshotDocument({
    takenAt: '2026-11-30T06:00:00.000Z',
    credentialsAccount: '123456789012',
    defaultRegion: 'us-east-1',
    regions: [
      {
        account: '123456789012',
        region: 'us-east-1',
        groups: [live],
        defaultVpcId: 'vpc-0a1b2c3d4e5f60718',
        prefixLists: new Map([
          ['pl-0123456789abcdef0', { maxEntries: 10, addressFamily: 'IPv4' as const }],
          ['pl-0000000000000dead', undefined],
        ]),
      },
      {
        account: '123456789012',
        region: 'eu-west-1',
        groups: [],
        defaultVpcId: undefined,
        prefixLists: new Map(),
      },
    ],
  });
  // Through JSON, as the file is read.
  const snapshot = openSnapshot(JSON.parse(JSON.stringify(document)) as unknown, 'snap.json');

  it('is keyed by account and region and records what a plan asks for', () => {
    expect(document).toMatchObject({
      formatVersion: 1,
      kind: 'SecurityGroupSnapshot',
      credentialsAccount: '123456789012',
      defaultRegion: 'us-east-1',
      accounts: {
        '123456789012': {
          regions: {
            'us-east-1': {
              defaultVpcId: 'vpc-0a1b2c3d4e5f60718',
              prefixLists: {
                'pl-0000000000000dead': null,
                'pl-0123456789abcdef0': { maxEntries: 10, addressFamily: 'IPv4' },
              },
            },
            'eu-west-1': { defaultVpcId: null, groups: [], prefixLists: {} },
          },
        },
      },
    });
    expect(snapshot.units).toEqual([
      { account: '123456789012', region: 'eu-west-1' },
      { account: '123456789012', region: 'us-east-1' },
    ]);
    expect(snapshot.defaultRegion).toBe('us-east-1');
  });

  it('gives back the groups it was built from, rules and descriptions included', async () => {
    const groups = await snapshot.ports('us-east-1').describeSecurityGroups([]);
    expect(groups).toEqual([{ ...live, tags: { env: 'prod', tier: 'web' } }]);
  });

  it('answers the default VPC, and "none" only for a region recorded without one', async () => {
    expect(await snapshot.ports('us-east-1').describeDefaultVpcId()).toBe('vpc-0a1b2c3d4e5f60718');
    expect(await snapshot.ports('eu-west-1').describeDefaultVpcId()).toBeUndefined();
  });

  it('answers prefix-list sizes; a list recorded as absent is absent, one not recorded is a gap', async () => {
    const lists = await snapshot
      .ports('us-east-1')
      .describePrefixLists(['pl-0123456789abcdef0', 'pl-0000000000000dead']);
    expect([...lists.entries()]).toEqual([
      ['pl-0123456789abcdef0', { maxEntries: 10, addressFamily: 'IPv4' }],
    ]);
    await expect(
      snapshot.ports('us-east-1').describePrefixLists(['pl-0000000000000beef']),
    ).rejects.toMatchObject({
      code: SNAPSHOT_INCOMPLETE,
      message: expect.stringContaining('pl-0000000000000beef') as unknown,
    });
  });

  it('a region or account it does not hold is a gap naming it and what it holds', async () => {
    await expect(snapshot.ports('ap-south-1').describeSecurityGroups([])).rejects.toMatchObject({
      code: SNAPSHOT_INCOMPLETE,
      message:
        'snapshot snap.json holds no data for region ap-south-1 of account 123456789012 (it holds eu-west-1 of account 123456789012, us-east-1 of account 123456789012); take a new snapshot with "sg-reconciler snapshot" and the policies that need it',
    });
    await expect(snapshot.portFor('210987654321', 'us-east-1').describeDefaultVpcId()).rejects.toMatchObject({
      code: SNAPSHOT_INCOMPLETE,
      message: expect.stringContaining('region us-east-1 of account 210987654321') as unknown,
    });
  });

  it('a region recorded without defaultVpcId did not read it: a gap, not "no default VPC"', async () => {
    const json = JSON.parse(JSON.stringify(document)) as {
      accounts: Record<string, { regions: Record<string, Record<string, unknown>> }>;
    };
    delete json.accounts['123456789012']?.regions['us-east-1']?.['defaultVpcId'];
    await expect(
      openSnapshot(json, 'snap.json').ports('us-east-1').describeDefaultVpcId(),
    ).rejects.toMatchObject({
      code: SNAPSHOT_INCOMPLETE,
    });
  });

  it("answers a group's rule IDs where the snapshot recorded them (guardrail violations), and rejects a malformed record", async () => {
    const web = 'sg-0c1d2e3f4a5b6c7d8';
    const withIds = buildSnapshotDocument({
      takenAt: '2026-11-30T06:00:00.000Z',
      credentialsAccount: '123456789012',
      defaultRegion: 'us-east-1',
      regions: [
        {
          account: '123456789012',
          region: 'us-east-1',
          groups: [
            {
              groupId: web,
              groupName: 'web',
              vpcId: undefined,
              ownerId: '123456789012',
              tags: {},
              rules: [tcp(22, '0.0.0.0/0'), tcp(443, '0.0.0.0/0')],
            },
          ],
          defaultVpcId: undefined,
          prefixLists: new Map(),
          ruleIds: new Map([[web, new Map([['tcp|22|22|cidr|0.0.0.0/0', 'sgr-0abc']])]]),
        },
      ],
    });
    const opened = openSnapshot(JSON.parse(JSON.stringify(withIds)) as unknown, 'snap.json');
    const rules = await opened.ports('us-east-1').describeIngressRules(web);
    expect(rules.map((r) => [ruleKey(r), r.ruleId])).toEqual([
      ['tcp|22|22|cidr|0.0.0.0/0', 'sgr-0abc'],
      ['tcp|443|443|cidr|0.0.0.0/0', undefined],
    ]);
    const region = withIds.accounts['123456789012']?.regions['us-east-1'];
    const bad = {
      ...withIds,
      accounts: {
        '123456789012': { regions: { 'us-east-1': { ...region, ruleIds: { [web]: { k: 'rule-1' } } } } },
      },
    };
    expect(() => openSnapshot(bad, 'snap.json')).toThrow(
      `$.accounts["123456789012"].regions["us-east-1"].ruleIds["${web}"]["k"]: expected a security group rule ID like sgr-0123456789abcdef0`,
    );
  });

  it('rejects a newer formatVersion and a malformed document, naming the JSON paths', () => {
    expect(() => openSnapshot({ ...document, formatVersion: 2 }, 'snap.json')).toThrow(
      'snap.json is not a snapshot written by "sg-reconciler snapshot" (formatVersion 1): $.formatVersion: 2 was written by a newer sg-reconciler; upgrade, or take the snapshot with this version',
    );
    const bad = {
      ...document,
      accounts: {
        '42': {
          regions: {
            'us-east-1': {
              defaultVpcId: 7,
              groups: [{ GroupName: 'x' }],
              prefixLists: { 'pl-1': { maxEntries: 0 } },
            },
          },
        },
      },
    };
    expect(() => openSnapshot(bad, 'snap.json')).toThrow(
      'snap.json is not a snapshot written by "sg-reconciler snapshot" (formatVersion 1): ' +
        '$.accounts["42"]: expected a 12-digit account ID or "unknown" as the key; ' +
        '$.accounts["42"].regions["us-east-1"].defaultVpcId: expected a string, got a number; ' +
        '$.accounts["42"].regions["us-east-1"].groups[0].GroupId: required, a string; ' +
        '$.accounts["42"].regions["us-east-1"].prefixLists["pl-1"].maxEntries: required, a whole number of 1 or more',
    );
  });
});

describe('validateSnapshot', () => {
  it('accepts the bare array that --query SecurityGroups prints', () => {
    const groups = (FIXTURE as { SecurityGroups: unknown[] }).SecurityGroups;
    const result = validateSnapshot(groups);
    expect(result.ok && result.groups.length).toBe(5);
  });

  const invalid: { name: string; json: unknown; errors: string[] }[] = [
    { name: 'not an object', json: 'hello', errors: ['$: expected an object with a "SecurityGroups" array'] },
    {
      name: 'describe-security-group-rules output',
      json: { SecurityGroupRules: [] },
      errors: [
        '$: this is the output of describe-security-group-rules; use the output of aws ec2 describe-security-groups',
      ],
    },
    {
      name: 'SecurityGroups not an array',
      json: { SecurityGroups: {} },
      errors: ['$.SecurityGroups: expected an array, got an object'],
    },
    {
      name: 'a group without GroupId and GroupName',
      json: { SecurityGroups: [{ VpcId: 'vpc-1' }] },
      errors: [
        '$.SecurityGroups[0].GroupId: required, a string',
        '$.SecurityGroups[0].GroupName: required, a string',
      ],
    },
    {
      name: 'a malformed group ID',
      json: { SecurityGroups: [{ GroupId: 'web', GroupName: 'web' }] },
      errors: [
        '$.SecurityGroups[0].GroupId: expected a security group ID like sg-0123456789abcdef0, got "web"',
      ],
    },
    {
      name: 'a bad CIDR, a bad port and a non-string description',
      json: {
        SecurityGroups: [
          {
            GroupId: 'sg-1',
            GroupName: 'x',
            IpPermissions: [
              {
                IpProtocol: 'tcp',
                FromPort: 70000,
                ToPort: 22,
                IpRanges: [{ CidrIp: '2001:db8::/64' }, { CidrIp: '10.0.0.0/8', Description: 5 }],
              },
            ],
          },
        ],
      },
      errors: [
        '$.SecurityGroups[0].IpPermissions[0].FromPort: expected an integer from -1 to 65535, got 70000',
        '$.SecurityGroups[0].IpPermissions[0].IpRanges[0].CidrIp: expected an IPv4 network like 10.0.0.0/16, got "2001:db8::/64"',
        '$.SecurityGroups[0].IpPermissions[0].IpRanges[1].Description: expected a string, got a number',
      ],
    },
    {
      name: 'a permission without IpProtocol and a group pair without GroupId',
      json: {
        SecurityGroups: [
          { GroupId: 'sg-1', GroupName: 'x', IpPermissions: [{ UserIdGroupPairs: [{ UserId: '1' }] }] },
        ],
      },
      errors: [
        '$.SecurityGroups[0].IpPermissions[0].IpProtocol: required, a string',
        '$.SecurityGroups[0].IpPermissions[0].UserIdGroupPairs[0].GroupId: required, a string',
      ],
    },
    {
      name: 'a duplicate group',
      json: {
        SecurityGroups: [
          { GroupId: 'sg-1', GroupName: 'a' },
          { GroupId: 'sg-1', GroupName: 'a' },
        ],
      },
      errors: ['$.SecurityGroups[1].GroupId: duplicate group sg-1'],
    },
    {
      name: 'tags that are not Key/Value objects',
      json: { SecurityGroups: [{ GroupId: 'sg-1', GroupName: 'a', Tags: ['tier=web'] }] },
      errors: ['$.SecurityGroups[0].Tags[0]: expected an object, got a string'],
    },
  ];
  for (const { name, json, errors } of invalid) {
    it(`rejects ${name}, naming the JSON path`, () => {
      expect(validateSnapshot(json)).toEqual({ ok: false, errors });
    });
  }

  it('makes the factory throw InvalidSnapshot naming the file and the first problems', () => {
    const json = { SecurityGroups: Array.from({ length: 7 }, () => ({ GroupName: 'x' })) };
    let thrown: unknown;
    try {
      openSnapshot(json, 'plans/prod.json');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Ec2Error);
    expect(thrown).toMatchObject({ code: 'InvalidSnapshot' });
    expect((thrown as Error).message).toBe(
      'plans/prod.json is not the JSON output of "aws ec2 describe-security-groups": ' +
        [0, 1, 2, 3, 4].map((i) => `$.SecurityGroups[${i}].GroupId: required, a string`).join('; ') +
        ' (and 2 more)',
    );
  });
});
