// The SDK port's paging, chunking, request shapes and error mapping, proven with the EC2Client's
// `send` stubbed by aws-sdk-client-mock (moto ignores MaxResults/NextToken) and, for transport
// failures, the real SDK against loopback servers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';

import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeManagedPrefixListsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  EC2Client,
  EC2ServiceException,
  GetManagedPrefixListEntriesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';

import {
  chunkFilters,
  createEc2Port,
  createEc2PortFactory,
  sanitizeMessage,
  toEc2Error,
} from '../../src/aws/ec2-port.js';
import { Ec2Error } from '../../src/aws/port.js';
import { createLogger } from '../../src/logging.js';
import { canonicalRules } from '../helpers/rules.js';

interface SentCommand {
  readonly command: string;
  readonly input: Record<string, unknown>;
}

/** The commands the port sends, by the name the tests answer to. */
const COMMANDS = {
  AuthorizeSecurityGroupIngressCommand,
  DescribeManagedPrefixListsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  GetManagedPrefixListEntriesCommand,
} as const;

/**
 * A real EC2Client (the SDK's paginators insist on one) whose `send` aws-sdk-client-mock stubs:
 * every command is recorded as it was sent and answered from `respond` (a throw is a rejection).
 */
function mockedClient(respond: (command: string, input: Record<string, unknown>) => unknown): {
  client: EC2Client;
  sent: SentCommand[];
  /** The abort signal each call was sent with, in call order. */
  signals: () => (AbortSignal | undefined)[];
} {
  const client = new EC2Client({ region: 'us-east-1' });
  const ec2 = mockClient(client);
  const sent: SentCommand[] = [];
  for (const [command, Command] of Object.entries(COMMANDS)) {
    ec2.on(Command as Parameters<typeof ec2.on>[0]).callsFake((input: Record<string, unknown>) => {
      // A paginator sets NextToken on one input object page after page: record it as sent.
      sent.push({ command, input: { ...input } });
      return respond(command, input);
    });
  }
  const signals = (): (AbortSignal | undefined)[] =>
    ec2
      .calls()
      .map((call) => ((call.args as unknown[])[1] as { abortSignal?: AbortSignal } | undefined)?.abortSignal);
  return { client, sent, signals };
}

function group(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    GroupId: id,
    GroupName: id.replace('sg-', 'name-'),
    VpcId: 'vpc-1',
    OwnerId: '123456789012',
    ...extra,
  };
}

function serviceError(name: string, message: string, status: number): EC2ServiceException {
  return new EC2ServiceException({
    name,
    message,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

describe('describeSecurityGroups', () => {
  it('follows NextToken through every page, with Filters and MaxResults 1000 but never GroupIds', async () => {
    const pages: Record<string, unknown> = {
      first: { SecurityGroups: [group('sg-1')], NextToken: 't2' },
      t2: { SecurityGroups: [group('sg-2')], NextToken: 't3' },
      t3: { SecurityGroups: [group('sg-3')] },
    };
    const { client, sent } = mockedClient(
      (_, input) => pages[(input['NextToken'] as string | undefined) ?? 'first'],
    );
    const port = createEc2Port('us-east-1', client);

    const groups = await port.describeSecurityGroups([{ name: 'tag:tier', values: ['web'] }]);

    expect(groups.map((g) => g.groupId)).toEqual(['sg-1', 'sg-2', 'sg-3']);
    expect(sent.map((s) => s.input)).toEqual([
      { Filters: [{ Name: 'tag:tier', Values: ['web'] }], MaxResults: 1000 },
      { Filters: [{ Name: 'tag:tier', Values: ['web'] }], MaxResults: 1000, NextToken: 't2' },
      { Filters: [{ Name: 'tag:tier', Values: ['web'] }], MaxResults: 1000, NextToken: 't3' },
    ]);
    expect(sent.every((s) => s.command === 'DescribeSecurityGroupsCommand')).toBe(true);
  });

  it('expands each group’s ingress permissions and reads its tags', async () => {
    const { client } = mockedClient(() => ({
      SecurityGroups: [
        group('sg-1', {
          Tags: [{ Key: 'tier', Value: 'web' }],
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: 22,
              ToPort: 22,
              IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'a' }, { CidrIp: '10.1.0.0/16' }],
            },
          ],
        }),
      ],
    }));
    const [live] = await createEc2Port('us-east-1', client).describeSecurityGroups([]);
    expect(live).toEqual({
      groupId: 'sg-1',
      groupName: 'name-1',
      vpcId: 'vpc-1',
      ownerId: '123456789012',
      tags: { tier: 'web' },
      rules: [
        {
          protocol: 'tcp',
          fromPort: 22,
          toPort: 22,
          source: { kind: 'cidr', value: '10.0.0.0/8' },
          description: 'a',
        },
        { protocol: 'tcp', fromPort: 22, toPort: 22, source: { kind: 'cidr', value: '10.1.0.0/16' } },
      ],
    });
  });

  it('sends no Filters when asked for every group', async () => {
    const { client, sent } = mockedClient(() => ({ SecurityGroups: [] }));
    await createEc2Port('us-east-1', client).describeSecurityGroups([]);
    expect(sent.map((s) => s.input)).toEqual([{ MaxResults: 1000 }]);
  });

  it('splits a filter of more than 200 values into several calls and de-duplicates the groups', async () => {
    const ids = Array.from({ length: 450 }, (_, i) => `sg-${i.toString(16).padStart(8, '0')}`);
    const { client, sent } = mockedClient((_, input) => {
      const filters = input['Filters'] as { Name: string; Values: string[] }[];
      const values = filters.find((f) => f.Name === 'group-id')?.Values ?? [];
      // Every call also returns the same shared group, as overlapping filters can.
      return { SecurityGroups: [...values.slice(0, 2).map((id) => group(id)), group('sg-shared')] };
    });

    const groups = await createEc2Port('us-east-1', client).describeSecurityGroups([
      { name: 'group-id', values: ids },
      { name: 'vpc-id', values: ['vpc-1'] },
    ]);

    const sizes = sent.map((s) =>
      (s.input['Filters'] as { Name: string; Values: string[] }[]).map((f) => [f.Name, f.Values.length]),
    );
    expect(sizes).toEqual([
      [
        ['group-id', 200],
        ['vpc-id', 1],
      ],
      [
        ['group-id', 200],
        ['vpc-id', 1],
      ],
      [
        ['group-id', 50],
        ['vpc-id', 1],
      ],
    ]);
    const sentIds = sent.flatMap(
      (s) => (s.input['Filters'] as { Name: string; Values: string[] }[])[0]?.Values ?? [],
    );
    expect(sentIds).toEqual(ids);
    expect(groups.map((g) => g.groupId).sort()).toEqual(
      [ids[0], ids[1], ids[200], ids[201], ids[400], ids[401], 'sg-shared'].sort(),
    );
  });

  it('makes no call for a filter without values (it can match nothing)', async () => {
    const { client, sent } = mockedClient(() => ({ SecurityGroups: [group('sg-1')] }));
    const groups = await createEc2Port('us-east-1', client).describeSecurityGroups([
      { name: 'group-id', values: [] },
    ]);
    expect(groups).toEqual([]);
    expect(sent).toEqual([]);
  });

  it('fails the read when EC2 repeats a NextToken instead of looping forever', async () => {
    const { client } = mockedClient(() => ({ SecurityGroups: [group('sg-1')], NextToken: 'same' }));
    await expect(createEc2Port('us-east-1', client).describeSecurityGroups([])).rejects.toMatchObject({
      name: 'Ec2Error',
      code: 'PaginationLoop',
      action: 'DescribeSecurityGroups',
    });
  });

  it('fails the whole read when a later page fails (a partial read is never returned)', async () => {
    const { client } = mockedClient((_, input) => {
      if (input['NextToken'] === undefined) return { SecurityGroups: [group('sg-1')], NextToken: 't2' };
      throw serviceError('RequestLimitExceeded', 'Request limit exceeded.', 503);
    });
    await expect(createEc2Port('us-east-1', client).describeSecurityGroups([])).rejects.toMatchObject({
      code: 'RequestLimitExceeded',
      statusCode: 503,
      action: 'DescribeSecurityGroups',
    });
  });

  it('passes the abort signal to every call', async () => {
    const controller = new AbortController();
    const { client, sent, signals } = mockedClient((_, input) =>
      input['NextToken'] === undefined ? { SecurityGroups: [], NextToken: 'x' } : { SecurityGroups: [] },
    );
    await createEc2Port('us-east-1', client).describeSecurityGroups([], controller.signal);
    expect(sent).toHaveLength(2);
    // Each call gets the pass's signal combined with its own deadline: aborting the pass aborts it.
    expect(signals().map((s) => s?.aborted)).toEqual([false, false]);
    controller.abort();
    expect(signals().map((s) => s?.aborted)).toEqual([true, true]);
  });

  it('bounds one call, retries included, by its deadline and reports TimeoutError', async () => {
    const client = new EC2Client({ region: 'us-east-1' });
    // The stub never answers: only the 200 ms deadline, through the abort signal, can end the call.
    const ec2 = mockClient(client);
    (ec2.send as unknown as { callsFake(fn: (...args: unknown[]) => unknown): void }).callsFake(
      (_command, options) =>
        new Promise((_, reject) => {
          (options as { abortSignal?: AbortSignal }).abortSignal?.addEventListener('abort', () =>
            reject(Object.assign(new Error('aborted'), { name: 'AbortError' })),
          );
        }),
    );
    await expect(
      createEc2Port('us-east-1', client, undefined, 200).describeSecurityGroups([]),
    ).rejects.toMatchObject({
      code: 'TimeoutError',
      action: 'DescribeSecurityGroups',
    });
  });

  it('bounds each page by its own deadline, not the whole read by one', async () => {
    // Six pages of 100 ms each under a 400 ms call timeout: 600 ms in all, every page in time.
    const { client, sent } = mockedClient((_, input) => {
      const page = Number(input['NextToken'] ?? 0);
      const answer = {
        SecurityGroups: [group(`sg-${page}`)],
        ...(page < 5 ? { NextToken: String(page + 1) } : {}),
      };
      return new Promise((resolve) => setTimeout(() => resolve(answer), 100));
    });
    const groups = await createEc2Port('us-east-1', client, undefined, 400).describeSecurityGroups([]);
    expect(groups).toHaveLength(6);
    expect(sent).toHaveLength(6);
  });
});

describe('chunkFilters', () => {
  it('is the cartesian product of each filter’s chunks', () => {
    const a = Array.from({ length: 3 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 2 }, (_, i) => `b${i}`);
    expect(
      chunkFilters(
        [
          { name: 'A', values: a },
          { name: 'B', values: b },
        ],
        2,
      ),
    ).toEqual([
      [
        { name: 'A', values: ['a0', 'a1'] },
        { name: 'B', values: ['b0', 'b1'] },
      ],
      [
        { name: 'A', values: ['a2'] },
        { name: 'B', values: ['b0', 'b1'] },
      ],
    ]);
    expect(chunkFilters([])).toEqual([[]]);
  });
});

describe('describeIngressRules', () => {
  it('pages DescribeSecurityGroupRules for the group, keeps ingress only, and keeps rule IDs', async () => {
    const { client, sent } = mockedClient((_, input) =>
      input['NextToken'] === undefined
        ? {
            SecurityGroupRules: [
              { SecurityGroupRuleId: 'sgr-e', IsEgress: true, IpProtocol: '-1', CidrIpv4: '0.0.0.0/0' },
              {
                SecurityGroupRuleId: 'sgr-1',
                IsEgress: false,
                IpProtocol: 'tcp',
                FromPort: 22,
                ToPort: 22,
                CidrIpv4: '10.0.0.0/8',
                Description: 'ssh',
              },
            ],
            NextToken: 'p2',
          }
        : {
            SecurityGroupRules: [
              {
                SecurityGroupRuleId: 'sgr-2',
                IsEgress: false,
                IpProtocol: '-1',
                FromPort: -1,
                ToPort: -1,
                ReferencedGroupInfo: { GroupId: 'sg-9', UserId: '1' },
              },
            ],
          },
    );
    const rules = await createEc2Port('us-east-1', client).describeIngressRules('sg-1');
    expect(rules).toEqual([
      {
        ruleId: 'sgr-1',
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidr', value: '10.0.0.0/8' },
        description: 'ssh',
      },
      {
        ruleId: 'sgr-2',
        protocol: '-1',
        fromPort: -1,
        toPort: -1,
        source: { kind: 'securityGroup', value: 'sg-9', userId: '1' },
      },
    ]);
    expect(sent.map((s) => [s.command, s.input])).toEqual([
      [
        'DescribeSecurityGroupRulesCommand',
        { Filters: [{ Name: 'group-id', Values: ['sg-1'] }], MaxResults: 1000 },
      ],
      [
        'DescribeSecurityGroupRulesCommand',
        { Filters: [{ Name: 'group-id', Values: ['sg-1'] }], MaxResults: 1000, NextToken: 'p2' },
      ],
    ]);
  });
});

describe('authorizeIngress', () => {
  it('sends one call with grouped permissions, rule tags and DryRun, and maps the created rules', async () => {
    const { client, sent } = mockedClient(() => ({
      Return: true,
      SecurityGroupRules: [
        {
          SecurityGroupRuleId: 'sgr-a',
          IsEgress: false,
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          CidrIpv4: '10.0.0.0/8',
          Description: 'a',
        },
      ],
    }));
    const created = await createEc2Port('us-east-1', client).authorizeIngress({
      groupId: 'sg-1',
      rules: canonicalRules([
        {
          protocol: 'tcp',
          fromPort: 22,
          toPort: 22,
          source: { kind: 'cidr', value: '10.0.0.0/8' },
          description: 'a',
        },
        {
          protocol: 'tcp',
          fromPort: 22,
          toPort: 22,
          source: { kind: 'cidr', value: '10.1.0.0/16' },
          description: 'b',
        },
        { protocol: 'all', fromPort: -1, toPort: -1, source: { kind: 'securityGroup', value: 'sg-2' } },
      ]),
      tags: { 'managed-by': 'sg-reconciler', 'sg-reconciler/policy': 'office-ssh' },
      dryRun: true,
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.command).toBe('AuthorizeSecurityGroupIngressCommand');
    expect(sent[0]?.input).toEqual({
      GroupId: 'sg-1',
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 22,
          ToPort: 22,
          IpRanges: [
            { CidrIp: '10.0.0.0/8', Description: 'a' },
            { CidrIp: '10.1.0.0/16', Description: 'b' },
          ],
        },
        { IpProtocol: '-1', FromPort: -1, ToPort: -1, UserIdGroupPairs: [{ GroupId: 'sg-2' }] },
      ],
      TagSpecifications: [
        {
          ResourceType: 'security-group-rule',
          Tags: [
            { Key: 'managed-by', Value: 'sg-reconciler' },
            { Key: 'sg-reconciler/policy', Value: 'office-ssh' },
          ],
        },
      ],
      DryRun: true,
    });
    expect(created).toEqual([
      {
        ruleId: 'sgr-a',
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidr', value: '10.0.0.0/8' },
        description: 'a',
      },
    ]);
  });

  it('sends neither TagSpecifications nor DryRun when there are no tags and it is not a dry run', async () => {
    const { client, sent } = mockedClient(() => ({ Return: true }));
    const created = await createEc2Port('us-east-1', client).authorizeIngress({
      groupId: 'sg-1',
      rules: canonicalRules([
        { protocol: 'udp', fromPort: 53, toPort: 53, source: { kind: 'prefixList', value: 'pl-1' } },
      ]),
      tags: {},
      dryRun: false,
    });
    expect(sent[0]?.input).toEqual({
      GroupId: 'sg-1',
      IpPermissions: [
        { IpProtocol: 'udp', FromPort: 53, ToPort: 53, PrefixListIds: [{ PrefixListId: 'pl-1' }] },
      ],
    });
    expect(created).toEqual([]);
  });

  it('makes no call for an empty batch', async () => {
    const { client, sent } = mockedClient(() => ({ Return: true }));
    const created = await createEc2Port('us-east-1', client).authorizeIngress({
      groupId: 'sg-1',
      rules: canonicalRules([]),
      tags: {},
      dryRun: false,
    });
    expect(created).toEqual([]);
    expect(sent).toEqual([]);
  });

  it('rejects with the EC2 error code and the action', async () => {
    const { client } = mockedClient(() => {
      throw serviceError(
        'InvalidPermission.Duplicate',
        'the specified rule "peer: 10.0.0.0/8, TCP, from port: 22, to port: 22, ALLOW" already exists',
        400,
      );
    });
    const failure = createEc2Port('us-east-1', client).authorizeIngress({
      groupId: 'sg-1',
      rules: canonicalRules([
        { protocol: 'tcp', fromPort: 22, toPort: 22, source: { kind: 'cidr', value: '10.0.0.0/8' } },
      ]),
      tags: {},
      dryRun: false,
    });
    await expect(failure).rejects.toBeInstanceOf(Ec2Error);
    await expect(failure).rejects.toMatchObject({
      code: 'InvalidPermission.Duplicate',
      action: 'AuthorizeSecurityGroupIngress',
      statusCode: 400,
    });
  });
});

describe('describeDefaultVpcId and describePrefixLists', () => {
  it('asks DescribeVpcs for the default VPC and returns undefined when there is none', async () => {
    let vpcs: unknown[] = [{ VpcId: 'vpc-default', IsDefault: true }];
    const { client, sent } = mockedClient(() => ({ Vpcs: vpcs }));
    const port = createEc2Port('us-east-1', client);
    expect(await port.describeDefaultVpcId()).toBe('vpc-default');
    vpcs = [];
    expect(await port.describeDefaultVpcId()).toBeUndefined();
    expect(sent[0]?.input).toEqual({ Filters: [{ Name: 'is-default', Values: ['true'] }] });
  });

  it('chunks the IDs, follows pages, and weighs an AWS-managed list (no MaxEntries) by its entries', async () => {
    const ids = Array.from({ length: 250 }, (_, i) => `pl-${String(i).padStart(17, '0')}`);
    const { client, sent } = mockedClient((command, input) => {
      if (command === 'GetManagedPrefixListEntriesCommand') {
        return input['NextToken'] === undefined
          ? { Entries: [{ Cidr: '52.0.0.0/15' }, { Cidr: '54.0.0.0/16' }], NextToken: 'e2' }
          : { Entries: [{ Cidr: '3.5.0.0/19' }] };
      }
      const values = (input['Filters'] as { Values: string[] }[])[0]?.Values ?? [];
      if (values.length === 200 && input['NextToken'] === undefined) {
        return {
          PrefixLists: [{ PrefixListId: ids[0], MaxEntries: 10, AddressFamily: 'IPv4' }],
          NextToken: 'n2',
        };
      }
      if (values.length === 200) {
        return { PrefixLists: [{ PrefixListId: ids[1], MaxEntries: 20, AddressFamily: 'IPv6' }] };
      }
      return {
        PrefixLists: [
          {
            PrefixListId: ids[249],
            AddressFamily: 'IPv4',
            OwnerId: 'AWS',
            PrefixListName: 'com.amazonaws.us-east-1.s3',
          },
        ],
      };
    });

    const lists = await createEc2Port('us-east-1', client).describePrefixLists([...ids, ids[0] ?? '']);

    expect([...lists.entries()]).toEqual([
      [ids[0], { maxEntries: 10, addressFamily: 'IPv4' }],
      [ids[1], { maxEntries: 20, addressFamily: 'IPv6' }],
      [ids[249], { maxEntries: 3, addressFamily: 'IPv4' }],
    ]);
    const describeCalls = sent.filter((s) => s.command === 'DescribeManagedPrefixListsCommand');
    expect(
      describeCalls.map((s) => [
        (s.input['Filters'] as { Name: string; Values: string[] }[])[0]?.Values.length,
        s.input['NextToken'],
        s.input['MaxResults'],
      ]),
    ).toEqual([
      [200, undefined, 100],
      [200, 'n2', 100],
      [50, undefined, 100],
    ]);
    expect(
      sent
        .filter((s) => s.command === 'GetManagedPrefixListEntriesCommand')
        .map((s) => s.input['PrefixListId']),
    ).toEqual([ids[249], ids[249]]);
  });

  it('makes no call for no IDs', async () => {
    const { client, sent } = mockedClient(() => ({ PrefixLists: [] }));
    expect((await createEc2Port('us-east-1', client).describePrefixLists([])).size).toBe(0);
    expect(sent).toEqual([]);
  });
});

describe('toEc2Error', () => {
  const cases: { name: string; error: unknown; expected: { code: string; statusCode?: number } }[] = [
    {
      name: 'a service exception keeps EC2’s code and status',
      error: serviceError('InvalidGroup.NotFound', "The security group 'sg-1' does not exist", 400),
      expected: { code: 'InvalidGroup.NotFound', statusCode: 400 },
    },
    {
      name: 'DryRunOperation (HTTP 412) keeps its code',
      error: serviceError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412),
      expected: { code: 'DryRunOperation', statusCode: 412 },
    },
    {
      name: 'a throttle keeps its code',
      error: serviceError('RequestLimitExceeded', 'Request limit exceeded.', 503),
      expected: { code: 'RequestLimitExceeded', statusCode: 503 },
    },
    {
      name: 'a 5xx without a code is InternalError',
      error: Object.assign(new Error('@aws-sdk XML parse error: mismatched tags'), {
        $metadata: { httpStatusCode: 500 },
      }),
      expected: { code: 'InternalError', statusCode: 500 },
    },
    {
      name: 'a refused connection is NetworkingError',
      error: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), {
        code: 'ECONNREFUSED',
        $metadata: {},
      }),
      expected: { code: 'NetworkingError' },
    },
    {
      name: 'a reset connection (which the handler names TimeoutError) is NetworkingError',
      error: Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ECONNRESET' }),
      expected: { code: 'NetworkingError' },
    },
    {
      name: 'a request timeout is TimeoutError',
      error: Object.assign(new Error('a request has exceeded the configured 100 ms requestTimeout.'), {
        name: 'TimeoutError',
        code: 'ETIMEDOUT',
      }),
      expected: { code: 'TimeoutError' },
    },
    {
      name: 'an abort is AbortError',
      error: Object.assign(new Error('Request aborted'), { name: 'AbortError' }),
      expected: { code: 'AbortError' },
    },
    {
      name: 'a credentials failure keeps its name',
      error: Object.assign(new Error('Could not load credentials from any providers'), {
        name: 'CredentialsProviderError',
      }),
      expected: { code: 'CredentialsProviderError' },
    },
    { name: 'anything else is UnknownError', error: 'boom', expected: { code: 'UnknownError' } },
  ];
  for (const { name, error, expected } of cases) {
    it(name, () => {
      const mapped = toEc2Error(error, 'DescribeSecurityGroups');
      expect(mapped).toBeInstanceOf(Ec2Error);
      expect({ code: mapped.code, statusCode: mapped.statusCode, action: mapped.action }).toEqual({
        statusCode: undefined,
        ...expected,
        action: 'DescribeSecurityGroups',
      });
    });
  }

  it('names the missing IAM action for UnauthorizedOperation and drops the encoded failure message', () => {
    const encoded = 'Xq'.repeat(600);
    const mapped = toEc2Error(
      serviceError(
        'UnauthorizedOperation',
        `You are not authorized to perform this operation. Encoded authorization failure message: ${encoded}`,
        403,
      ),
      'AuthorizeSecurityGroupIngress',
    );
    expect(mapped.code).toBe('UnauthorizedOperation');
    expect(mapped.message).toBe(
      'missing IAM permission ec2:AuthorizeSecurityGroupIngress (You are not authorized to perform this operation)',
    );
  });

  it('takes the IAM action from EC2’s message when it names one', () => {
    const mapped = toEc2Error(
      serviceError(
        'UnauthorizedOperation',
        'You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/sgr/x is not authorized to perform: ec2:DescribeSecurityGroupRules because no identity-based policy allows the ec2:DescribeSecurityGroupRules action. Encoded authorization failure message: abc',
        403,
      ),
      'DescribeSecurityGroupRules',
    );
    expect(mapped.message).toMatch(
      /^missing IAM permission ec2:DescribeSecurityGroupRules \(You are not authorized/,
    );
    expect(mapped.message).not.toContain('abc');
  });

  it('never carries a signature, credential scope, session token or access key ID, and is capped', () => {
    const mapped = toEc2Error(
      serviceError(
        'AuthFailure',
        'The request signature we calculated does not match. Canonical request: Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ec2/aws4_request, Signature=abcdef',
        401,
      ),
      'DescribeVpcs',
    );
    expect(mapped.message).toBe(
      'The request signature we calculated does not match. Canonical request: [redacted]',
    );
    expect(sanitizeMessage('key ASIAIOSFODNN7EXAMPLE leaked')).toBe('key [redacted] leaked');
    expect(sanitizeMessage('x'.repeat(1000))).toHaveLength(300);
    expect(sanitizeMessage('token X-Amz-Security-Token=FQoGZXIvYXdzE')).toBe('token [redacted]');
  });
});

describe('createEc2PortFactory', () => {
  it('gives one port per region, cached', () => {
    const factory = createEc2PortFactory({
      endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    try {
      const east = factory('us-east-1');
      expect(factory('us-east-1')).toBe(east);
      expect(east.region).toBe('us-east-1');
      expect(factory('eu-west-1').region).toBe('eu-west-1');
      expect(factory('eu-west-1')).not.toBe(east);
    } finally {
      factory.destroy();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The real SDK and HTTP handler against loopback servers: the transport failures a fake cannot show.

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY';
const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  servers = [];
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function ec2ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>req-1</RequestID></Response>`;
}

function captureLogs(): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

function realFactory(
  endpoint: string,
  extra: Parameters<typeof createEc2PortFactory>[0] = {},
): ReturnType<typeof createEc2PortFactory> {
  return createEc2PortFactory({
    endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
    ...extra,
  });
}

describe('the real SDK transport', () => {
  it('maps a request that gets no answer within requestTimeoutMs to TimeoutError', async () => {
    const endpoint = await serve(() => {
      // never answers
    });
    const factory = realFactory(endpoint, { requestTimeoutMs: 200 });
    try {
      await expect(factory('us-east-1').describeDefaultVpcId()).rejects.toMatchObject({
        code: 'TimeoutError',
        action: 'DescribeVpcs',
      });
    } finally {
      factory.destroy();
    }
  });

  it('maps a refused connection to NetworkingError', async () => {
    const endpoint = await serve(() => undefined);
    const closed = servers.pop();
    await new Promise((resolve) => closed?.close(resolve));
    const factory = realFactory(endpoint);
    try {
      await expect(factory('us-east-1').describeDefaultVpcId()).rejects.toMatchObject({
        code: 'NetworkingError',
        action: 'DescribeVpcs',
      });
    } finally {
      factory.destroy();
    }
  });

  it('maps an HTTP 500 HTML page (no error code) to InternalError', async () => {
    const endpoint = await serve((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end(
        '<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>',
      );
    });
    const factory = realFactory(endpoint);
    try {
      await expect(factory('us-east-1').describeSecurityGroups([])).rejects.toMatchObject({
        code: 'InternalError',
        statusCode: 500,
        action: 'DescribeSecurityGroups',
      });
    } finally {
      factory.destroy();
    }
  });

  it('maps an aborted call to AbortError', async () => {
    const endpoint = await serve(() => undefined);
    const factory = realFactory(endpoint);
    const controller = new AbortController();
    try {
      const pending = factory('us-east-1').describeIngressRules('sg-1', controller.signal);
      setTimeout(() => controller.abort(), 50);
      await expect(pending).rejects.toMatchObject({
        code: 'AbortError',
        action: 'DescribeSecurityGroupRules',
      });
    } finally {
      factory.destroy();
    }
  });

  it('retries a throttled call (adaptive retry mode) and succeeds', async () => {
    let calls = 0;
    const endpoint = await serve((_req, res) => {
      calls += 1;
      if (calls === 1) {
        res.writeHead(503, { 'content-type': 'text/xml' });
        res.end(ec2ErrorXml('RequestLimitExceeded', 'Request limit exceeded.'));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(
        '<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><vpcSet><item><vpcId>vpc-default</vpcId><isDefault>true</isDefault></item></vpcSet></DescribeVpcsResponse>',
      );
    });
    const factory = realFactory(endpoint, { maxAttempts: 3 });
    try {
      expect(await factory('us-east-1').describeDefaultVpcId()).toBe('vpc-default');
      expect(calls).toBe(2);
    } finally {
      factory.destroy();
    }
  });

  it('keeps credentials out of error messages and debug lines, though every request is signed with them', async () => {
    const authorizations: string[] = [];
    const endpoint = await serve((req, res) => {
      authorizations.push(req.headers.authorization ?? '');
      res.writeHead(403, { 'content-type': 'text/xml' });
      res.end(
        ec2ErrorXml(
          'UnauthorizedOperation',
          `You are not authorized to perform this operation. Encoded authorization failure message: ${'Zm9v'.repeat(300)}`,
        ),
      );
    });
    const { lines, logger } = captureLogs();
    const factory = realFactory(endpoint, { logger });
    try {
      const failure = factory('us-east-1').authorizeIngress({
        groupId: 'sg-1',
        rules: canonicalRules([
          { protocol: 'tcp', fromPort: 22, toPort: 22, source: { kind: 'cidr', value: '10.0.0.0/8' } },
        ]),
        tags: {},
        dryRun: true,
      });
      await expect(failure).rejects.toMatchObject({
        code: 'UnauthorizedOperation',
        statusCode: 403,
        message:
          'missing IAM permission ec2:AuthorizeSecurityGroupIngress (You are not authorized to perform this operation)',
      });
    } finally {
      factory.destroy();
    }
    expect(authorizations[0]).toContain(`Credential=${ACCESS_KEY}/`);
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({
        level: 'debug',
        msg: 'ec2 call failed',
        action: 'AuthorizeSecurityGroupIngress',
        region: 'us-east-1',
        errorCode: 'UnauthorizedOperation',
        statusCode: 403,
      }),
    ]);
    const logged = lines.join('\n');
    expect(logged).not.toContain(ACCESS_KEY);
    expect(logged).not.toContain(SECRET);
  });
});
