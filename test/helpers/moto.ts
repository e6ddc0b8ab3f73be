// A private moto_server per test file: started on a free loopback port, ready once a real EC2 call
// succeeds, reset between tests, killed (with its process group) at the end. Plus small fixture
// helpers that speak raw SDK, so fixtures never go through the code under test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';

import {
  AuthorizeSecurityGroupIngressCommand,
  CreateManagedPrefixListCommand,
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeVpcsCommand,
  EC2Client,
  type IpPermission,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';

import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';

export const MOTO_INSTALL_HINT = 'moto_server not found on PATH; install it with: pip install "moto[server]"';

/** Dummy credentials: moto accepts any, and nothing here may ever pick up real ones. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const START_ATTEMPTS = 3;
const STDERR_TAIL = 2_000;
const UNANNOUNCED_PROBE_AFTER_MS = 5_000;

export interface MotoServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** Clears all of moto's state (POST /moto-api/reset). */
  reset(): Promise<void>;
  /** Kills the server and its children and waits for it to exit. Idempotent. */
  stop(): Promise<void>;
  /** A raw SDK client for fixtures: no retries, dummy credentials. Cached per region. */
  ec2(region?: string): EC2Client;
}

/** The moto_server executable on PATH, or undefined. */
export function findMotoServer(): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'moto_server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Throws the install hint unless moto_server is on PATH and runs. */
export function assertMotoServerAvailable(): void {
  const executable = findMotoServer();
  if (executable === undefined) throw new Error(MOTO_INSTALL_HINT);
  // A pyenv shim can be on PATH without the package behind it; --help proves it runs.
  const probe = spawnSync(executable, ['--help'], { stdio: 'pipe', timeout: 30_000 });
  if (probe.status !== 0) {
    const stderr = probe.stderr.toString().slice(-STDERR_TAIL);
    throw new Error(`${MOTO_INSTALL_HINT} (moto_server --help failed: ${stderr || String(probe.error)})`);
  }
}

/** A loopback port that was free a moment ago (the caller retries if it is taken meanwhile). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

function fixtureClient(endpoint: string, region: string): EC2Client {
  return new EC2Client({ region, endpoint, maxAttempts: 1, credentials: MOTO_CREDENTIALS });
}

export async function startMoto(): Promise<MotoServer> {
  const executable = findMotoServer();
  if (executable === undefined) throw new Error(MOTO_INSTALL_HINT);
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const port = await freePort();
    try {
      return await startOn(executable, port);
    } catch (error) {
      // Most likely the port was taken between freePort() and moto binding it: try another.
      lastError = error;
    }
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

async function startOn(executable: string, port: number): Promise<MotoServer> {
  const endpoint = `http://127.0.0.1:${port}`;
  // Its own process group, so stop() reaches the Python process behind a shim too.
  const child = spawn(executable, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
    env: { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  // Werkzeug announces the bound address; until then a DescribeVpcs answer could come from another
  // server that holds the port (and ours is about to exit with "Address already in use").
  let listening = false;
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL);
    if (!listening && stderr.includes(`Running on ${endpoint}`)) listening = true;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  // A detached group outlives its parent: if the worker exits without afterAll, take moto along.
  const killOnExit = (): void => {
    if (!hasExited && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', killOnExit);

  const clients = new Map<string, EC2Client>();
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    for (const client of clients.values()) client.destroy();
    clients.clear();
    await kill(child, exited, () => hasExited);
  };

  try {
    await waitUntilReady(endpoint, {
      hasExited: () => hasExited,
      listening: () => listening,
      stderr: () => stderr,
    });
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    endpoint,
    port,
    async reset(): Promise<void> {
      const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
    },
    stop,
    ec2(region = 'us-east-1'): EC2Client {
      let client = clients.get(region);
      if (client === undefined) {
        client = fixtureClient(endpoint, region);
        clients.set(region, client);
      }
      return client;
    },
  };
}

async function waitUntilReady(
  endpoint: string,
  server: { hasExited(): boolean; listening(): boolean; stderr(): string },
): Promise<void> {
  const { hasExited, stderr } = server;
  const started = Date.now();
  const client = new EC2Client({
    region: 'us-east-1',
    endpoint,
    maxAttempts: 1,
    credentials: MOTO_CREDENTIALS,
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let lastError = 'no attempt';
  try {
    while (Date.now() < deadline) {
      if (hasExited()) {
        throw new Error(`moto_server exited before it was ready on ${endpoint}; stderr:\n${stderr()}`);
      }
      // Should a moto release stop printing the address, a bind failure still exits well within this.
      const mayProbe = server.listening() || Date.now() - started > UNANNOUNCED_PROBE_AFTER_MS;
      if (mayProbe) {
        try {
          // EC2 loads lazily; only a real EC2 answer proves the server is ready.
          await client.send(new DescribeVpcsCommand({}), { abortSignal: AbortSignal.timeout(5_000) });
          return;
        } catch (error) {
          lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
      `moto_server on ${endpoint} did not answer DescribeVpcs within ${READY_TIMEOUT_MS} ms ` +
        `(last error: ${lastError}); stderr:\n${stderr()}`,
    );
  } finally {
    client.destroy();
  }
}

async function kill(child: ChildProcess, exited: Promise<void>, hasExited: () => boolean): Promise<void> {
  const pid = child.pid;
  if (hasExited() || pid === undefined) return;
  const signalGroup = (signal: NodeJS.Signals): void => {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  signalGroup('SIGTERM');
  const timer = setTimeout(() => signalGroup('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
  // The group leader may exit before its children: make sure none is left behind.
  signalGroup('SIGKILL');
}

// ---------------------------------------------------------------------------------------------
// Fixtures (raw SDK; they throw on any failure)

export async function defaultVpcId(ec2: EC2Client): Promise<string> {
  const output = await ec2.send(
    new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }),
  );
  const id = output.Vpcs?.[0]?.VpcId;
  if (id === undefined) throw new Error('moto has no default VPC');
  return id;
}

export async function createVpc(ec2: EC2Client, cidr: string): Promise<string> {
  const output = await ec2.send(new CreateVpcCommand({ CidrBlock: cidr }));
  const id = output.Vpc?.VpcId;
  if (id === undefined) throw new Error('CreateVpc returned no VpcId');
  return id;
}

export interface GroupFixture {
  readonly name: string;
  readonly vpcId: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly description?: string;
}

export async function createGroup(ec2: EC2Client, group: GroupFixture): Promise<string> {
  const tags = Object.entries(group.tags ?? {}).map(([Key, Value]) => ({ Key, Value }));
  const output = await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: group.name,
      Description: group.description ?? `${group.name} (test fixture)`,
      VpcId: group.vpcId,
      ...(tags.length > 0 ? { TagSpecifications: [{ ResourceType: 'security-group', Tags: tags }] } : {}),
    }),
  );
  if (output.GroupId === undefined) throw new Error('CreateSecurityGroup returned no GroupId');
  return output.GroupId;
}

/** Authorizes raw permissions (as EC2 takes them); returns the rules moto says it created. */
export async function authorize(
  ec2: EC2Client,
  groupId: string,
  permissions: IpPermission[],
): Promise<SecurityGroupRule[]> {
  const output = await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissions }),
  );
  return output.SecurityGroupRules ?? [];
}

/** The group's ingress rules as DescribeSecurityGroupRules returns them (IDs, tags), raw. */
export async function listIngressRules(ec2: EC2Client, groupId: string): Promise<SecurityGroupRule[]> {
  const output = await ec2.send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }),
  );
  return (output.SecurityGroupRules ?? []).filter((rule) => rule.IsEgress !== true);
}

export async function createPrefixList(
  ec2: EC2Client,
  list: { name: string; maxEntries: number; addressFamily: 'IPv4' | 'IPv6'; cidrs?: readonly string[] },
): Promise<string> {
  const output = await ec2.send(
    new CreateManagedPrefixListCommand({
      PrefixListName: list.name,
      MaxEntries: list.maxEntries,
      AddressFamily: list.addressFamily,
      Entries: (list.cidrs ?? []).map((Cidr) => ({ Cidr })),
    }),
  );
  const id = output.PrefixList?.PrefixListId;
  if (id === undefined) throw new Error('CreateManagedPrefixList returned no PrefixListId');
  return id;
}

/** The account moto puts the dummy `testing` credentials in (the hub of the accounts tests). */
export const MOTO_DEFAULT_ACCOUNT = '123456789012';

/**
 * A raw EC2 client working in `account`: moto's STS AssumeRole of a role in that account (the role
 * need not exist) returns credentials that moto maps to the account. For fixtures only.
 */
export async function ec2InAccount(
  endpoint: string,
  account: string,
  region = 'us-east-1',
): Promise<EC2Client> {
  const sts = new STSClient({ region, endpoint, credentials: MOTO_CREDENTIALS, maxAttempts: 1 });
  try {
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${account}:role/fixture`,
        RoleSessionName: 'fixture',
      }),
    );
    if (c?.AccessKeyId === undefined || c.SecretAccessKey === undefined) {
      throw new Error('moto AssumeRole returned no credentials');
    }
    return new EC2Client({
      region,
      endpoint,
      maxAttempts: 1,
      credentials: {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        ...(c.SessionToken !== undefined ? { sessionToken: c.SessionToken } : {}),
      },
    });
  } finally {
    sts.destroy();
  }
}
