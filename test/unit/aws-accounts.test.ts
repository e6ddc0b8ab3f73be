import {
  ListAccountsCommand,
  ListChildrenCommand,
  ListRootsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
  type ListAccountsCommandInput,
  type ListChildrenCommandInput,
  type ListTagsForResourceCommandInput,
} from '@aws-sdk/client-organizations';
import { createServer as createHttpServer } from 'node:http';
import { mockClient, type AwsClientStub } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import {
  createAccountAccess,
  discoverOrganization,
  memoizeCredentials,
  REFRESH_BEFORE_EXPIRY_MS,
  type Credentials,
  type OrganizationsSender,
} from '../../src/aws/accounts.js';
import { Ec2Error } from '../../src/aws/port.js';

const HOUR = 3_600_000;

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function issuing(now: () => number): { provider: () => Promise<Credentials>; calls: () => number } {
  let calls = 0;
  return {
    provider: () => {
      calls += 1;
      return Promise.resolve({
        accessKeyId: `ASIA${calls}`,
        secretAccessKey: 'secret',
        sessionToken: 'token',
        expiration: new Date(now() + HOUR),
      });
    },
    calls: () => calls,
  };
}

describe('memoizeCredentials', () => {
  it('calls the provider once per credential lifetime and again shortly before expiry', async () => {
    const c = clock();
    const source = issuing(c.now);
    const provider = memoizeCredentials(source.provider, c.now);
    await Promise.all([provider(), provider(), provider()]);
    expect(source.calls()).toBe(1);
    c.advance(HOUR - REFRESH_BEFORE_EXPIRY_MS - 1);
    expect((await provider()).accessKeyId).toBe('ASIA1');
    c.advance(2);
    expect((await provider()).accessKeyId).toBe('ASIA2');
    expect(source.calls()).toBe(2);
  });

  it('does not keep a failure: the next call asks again', async () => {
    let calls = 0;
    const provider = memoizeCredentials(() => {
      calls += 1;
      return calls === 1
        ? Promise.reject(new Error('denied'))
        : Promise.resolve({ accessKeyId: 'ASIAOK', secretAccessKey: 's' });
    });
    await expect(provider()).rejects.toThrow('denied');
    expect((await provider()).accessKeyId).toBe('ASIAOK');
    expect(calls).toBe(2);
  });
});

describe('createAccountAccess', () => {
  it('one AssumeRole per account however many units reach it; the own account needs none', async () => {
    const c = clock();
    const assumed: string[] = [];
    const access = createAccountAccess({
      now: c.now,
      assumeRole: (roleArn) => () => {
        assumed.push(roleArn);
        return Promise.resolve({
          accessKeyId: 'ASIAX',
          secretAccessKey: 's',
          expiration: new Date(c.now() + HOUR),
        });
      },
    });
    const spoke = { id: '111111111111', roleArn: 'arn:aws:iam::111111111111:role/sg-reconciler' };
    await Promise.all([access.reach(spoke), access.reach(spoke), access.reach(spoke)]);
    await access.reach({ id: '999999999999', roleArn: undefined });
    expect(assumed).toEqual(['arn:aws:iam::111111111111:role/sg-reconciler']);
    expect(access.credentialsFor('999999999999')).toBeUndefined();
    expect(typeof access.credentialsFor('111111111111')).toBe('function');
    access.destroy();
  });

  it('an account never reached has no credentials: nothing is sent to it with the hub credentials', () => {
    const access = createAccountAccess({ assumeRole: () => () => Promise.reject(new Error('unused')) });
    expect(() => access.credentialsFor('111111111111')).toThrow(/before it was reached/);
    access.destroy();
  });

  it('a denied AssumeRole rejects with its error code and a message without credentials', async () => {
    const access = createAccountAccess({
      assumeRole: () => () =>
        Promise.reject(
          Object.assign(
            new Error(
              'User: arn:aws:iam::999999999999:user/hub is not authorized to perform: sts:AssumeRole',
            ),
            {
              name: 'AccessDenied',
              $fault: 'client',
              $metadata: { httpStatusCode: 403 },
            },
          ),
        ),
    });
    const error = await access
      .reach({ id: '111111111111', roleArn: 'arn:aws:iam::111111111111:role/sg-reconciler' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Ec2Error);
    expect(error).toMatchObject({ code: 'AccessDenied', action: 'AssumeRole' });
    access.destroy();
  });

  const spoke = { id: '111111111111', roleArn: 'arn:aws:iam::111111111111:role/sg-reconciler' };
  const hanging = (): Promise<Credentials> => new Promise<Credentials>(() => undefined);

  it('an AssumeRole without an answer fails with TimeoutError after the STS deadline (30 s)', async () => {
    vi.useFakeTimers();
    try {
      const access = createAccountAccess({ assumeRole: () => hanging });
      const reached = access.reach(spoke).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(29_999);
      let settled = false;
      void reached.then(() => (settled = true));
      await vi.advanceTimersByTimeAsync(0);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(await reached).toMatchObject({ code: 'TimeoutError', action: 'AssumeRole' });
      access.destroy();
    } finally {
      vi.useRealTimers();
    }
  });

  it('an AssumeRole in flight stops waiting when the pass is aborted, with the abort reason', async () => {
    const access = createAccountAccess({ assumeRole: () => hanging });
    const controller = new AbortController();
    const reached = access.reach(spoke, controller.signal).catch((e: unknown) => e);
    controller.abort(Object.assign(new Error('pass timed out'), { name: 'PassTimeout' }));
    const error = await reached;
    expect(error).toBeInstanceOf(Ec2Error);
    expect(error).toMatchObject({ code: 'PassTimeout', action: 'AssumeRole' });
    access.destroy();
  });
});

describe('the STS deadline names the host:port that did not answer', () => {
  it('GetCallerIdentity and AssumeRole to a loopback server that accepts and never answers', async () => {
    const server = createHttpServer(() => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const access = createAccountAccess({
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      stsTimeoutMs: 300,
    });
    try {
      const own = await access.ownAccount().catch((e: unknown) => e);
      expect(own).toMatchObject({ code: 'TimeoutError', action: 'GetCallerIdentity' });
      expect((own as Ec2Error).message).toMatch(
        new RegExp(
          `^no answer within 300 ms; the STS endpoint 127\\.0\\.0\\.1:${port} did not answer in time: `,
        ),
      );
      const spoke = { id: '111111111111', roleArn: 'arn:aws:iam::111111111111:role/sg-reconciler' };
      const reached = await access.reach(spoke).catch((e: unknown) => e);
      expect(reached).toMatchObject({ code: 'TimeoutError', action: 'AssumeRole' });
      expect((reached as Ec2Error).message).toMatch(
        new RegExp(
          `^no answer within 300 ms; the STS endpoint 127\\.0\\.0\\.1:${port} did not answer in time: `,
        ),
      );
    } finally {
      access.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** A real client (the SDK's paginators insist on one) whose send() aws-sdk-client-mock stubs. */
function mockedOrganizations(): {
  client: OrganizationsSender;
  organizations: AwsClientStub<OrganizationsClient>;
} {
  const client = new OrganizationsClient({ region: 'us-east-1' });
  return { client, organizations: mockClient(client) };
}

describe('discoverOrganization', () => {
  // root r-1 > ou-1 (prod) > ou-2 (prod/search); accounts: 111 in ou-1, 333 in ou-2, 444 under the root,
  // 555 suspended. Pages of one item, to prove every list is followed.
  const accounts = [
    { Id: '111111111111', Name: 'prod-payments', State: 'ACTIVE' },
    { Id: '333333333333', Name: 'prod-search', Status: 'ACTIVE' },
    { Id: '444444444444', Name: 'sandbox', State: 'ACTIVE' },
    { Id: '555555555555', Name: 'closed', State: 'SUSPENDED' },
  ];
  const children: Record<string, { Id: string; Type: string }[]> = {
    'r-1': [
      { Id: 'ou-1', Type: 'ORGANIZATIONAL_UNIT' },
      { Id: '444444444444', Type: 'ACCOUNT' },
    ],
    'ou-1': [
      { Id: '111111111111', Type: 'ACCOUNT' },
      { Id: 'ou-2', Type: 'ORGANIZATIONAL_UNIT' },
    ],
    'ou-2': [{ Id: '333333333333', Type: 'ACCOUNT' }],
  };
  const tags: Record<string, { Key: string; Value: string }[]> = {
    '111111111111': [
      { Key: 'env', Value: 'prod' },
      { Key: 'team', Value: 'payments' },
    ],
    '333333333333': [{ Key: 'env', Value: 'prod' }],
  };

  function page<T>(items: readonly T[], token: string | undefined): { items: T[]; next: string | undefined } {
    const index = token === undefined ? 0 : Number(token);
    return {
      items: items.slice(index, index + 1),
      next: index + 1 < items.length ? String(index + 1) : undefined,
    };
  }

  function fakeOrganizations(): { sender: OrganizationsSender; calls: string[] } {
    const calls: string[] = [];
    const { client, organizations } = mockedOrganizations();
    organizations.on(ListAccountsCommand).callsFake((input: ListAccountsCommandInput) => {
      calls.push('ListAccounts');
      const p = page(accounts, input.NextToken);
      return { Accounts: p.items, NextToken: p.next };
    });
    organizations.on(ListRootsCommand).callsFake(() => {
      calls.push('ListRoots');
      return { Roots: [{ Id: 'r-1' }] };
    });
    organizations.on(ListChildrenCommand).callsFake((input: ListChildrenCommandInput) => {
      calls.push('ListChildren');
      const all = (children[input.ParentId ?? ''] ?? []).filter((c) => c.Type === input.ChildType);
      const p = page(all, input.NextToken);
      return { Children: p.items, NextToken: p.next };
    });
    organizations.on(ListTagsForResourceCommand).callsFake((input: ListTagsForResourceCommandInput) => {
      calls.push('ListTagsForResource');
      const p = page(tags[input.ResourceId ?? ''] ?? [], input.NextToken);
      return { Tags: p.items, NextToken: p.next };
    });
    return { sender: client, calls };
  }

  it('lists ACTIVE accounts with their tags and every OU above them (nested OUs)', async () => {
    const { sender } = fakeOrganizations();
    const inventory = await discoverOrganization(sender, { tags: true, ous: true, roleName: 'spoke' });
    expect(inventory).toEqual({
      source: 'organizations',
      roleName: 'spoke',
      externalId: undefined,
      accounts: [
        {
          id: '111111111111',
          name: 'prod-payments',
          tags: { env: 'prod', team: 'payments' },
          ous: ['ou-1'],
          roleArn: undefined,
        },
        {
          id: '333333333333',
          name: 'prod-search',
          tags: { env: 'prod' },
          ous: ['ou-2', 'ou-1'],
          roleArn: undefined,
        },
        { id: '444444444444', name: 'sandbox', tags: {}, ous: [], roleArn: undefined },
      ],
    });
  });

  it('reads neither tags nor the OU tree when no policy selects by them', async () => {
    const { sender, calls } = fakeOrganizations();
    await discoverOrganization(sender, {});
    expect(new Set(calls)).toEqual(new Set(['ListAccounts']));
  });

  it('a failed call rejects with the action named', async () => {
    const { client: sender, organizations } = mockedOrganizations();
    organizations.onAnyCommand().rejects(
      Object.assign(new Error('You don’t have permissions to access this resource.'), {
        name: 'AccessDeniedException',
        $fault: 'client',
      }),
    );
    await expect(discoverOrganization(sender, {})).rejects.toMatchObject({
      code: 'AccessDeniedException',
      action: 'ListAccounts',
    });
  });
});
