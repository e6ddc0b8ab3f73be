// `import` end to end (the built CLI against moto): import -> validate (0) -> plan (nothing missing,
// no drift) for a group holding every kind of rule, the same bytes for the same state (live or from
// a snapshot), and files never overwritten without --force.
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventsNamed, motoEnv, runCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { authorize, createGroup, createPrefixList } from '../helpers/moto.js';

const emu = useEmulator();

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sgr-import-'));
}

interface State {
  app: string;
  worker: string;
  empty: string;
  clients: string;
  list: string;
}

/** A group with IPv4, IPv6, prefix-list, group, self, ICMP, all-traffic, protocol-number and port-range rules. */
async function arrangeState(): Promise<State> {
  const app = await createGroup(emu.ec2, { name: 'App Servers', vpcId: emu.vpcId });
  const clients = await createGroup(emu.ec2, { name: 'db-clients', vpcId: emu.vpcId });
  const worker = await createGroup(emu.ec2, { name: 'worker', vpcId: emu.vpcId, tags: { role: 'worker' } });
  const empty = await createGroup(emu.ec2, { name: 'empty', vpcId: emu.vpcId });
  const list = await createPrefixList(emu.ec2, {
    name: 'offices',
    maxEntries: 5,
    addressFamily: 'IPv4',
    cidrs: ['198.51.100.0/24'],
  });
  await authorize(emu.ec2, app, [
    {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'https from anywhere' }],
      Ipv6Ranges: [{ CidrIpv6: '::/0', Description: 'https from anywhere' }],
    },
    {
      IpProtocol: 'tcp',
      FromPort: 8000,
      ToPort: 8080,
      IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'internal' }, { CidrIp: '192.168.0.0/16' }],
    },
    // No description: moto drops prefix-list descriptions on read-back (EC2 keeps them; the unit
    // tests of the folding cover descriptions on every kind of source).
    { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, PrefixListIds: [{ PrefixListId: list }] },
    {
      IpProtocol: 'tcp',
      FromPort: 5432,
      ToPort: 5432,
      UserIdGroupPairs: [{ GroupId: clients, Description: 'db clients' }],
    },
    { IpProtocol: 'tcp', FromPort: 9000, ToPort: 9000, UserIdGroupPairs: [{ GroupId: app }] },
    {
      IpProtocol: 'icmp',
      FromPort: 8,
      ToPort: -1,
      IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'ping' }],
    },
    { IpProtocol: 'icmpv6', FromPort: -1, ToPort: -1, Ipv6Ranges: [{ CidrIpv6: '2001:db8::/32' }] },
    { IpProtocol: '-1', FromPort: -1, ToPort: -1, UserIdGroupPairs: [{ GroupId: clients }] },
    {
      IpProtocol: '50',
      FromPort: -1,
      ToPort: -1,
      IpRanges: [{ CidrIp: '172.16.0.0/12', Description: 'ESP' }],
    },
  ]);
  await authorize(emu.ec2, worker, [
    { IpProtocol: 'udp', FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: '10.1.0.0/16' }] },
  ]);
  return { app, worker, empty, clients, list };
}

const env = (): Record<string, string> => motoEnv(emu.endpoint);

async function files(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = await readFile(join(dir, name), 'utf8');
  return out;
}

// Each test runs the CLI several times: on a loaded machine that takes longer than the default.
describe('import', { timeout: 120_000 }, () => {
  it('round trip: import -> validate 0 -> plan with nothing missing and no drift', async () => {
    const state = await arrangeState();
    const out = await tempDir();

    const imported = await runCli(
      ['import', '--out', out, '--group-id', state.app, '--group-id', state.empty, '--tag', 'role=worker'],
      { env: env() },
    );
    const validated = await runCli(['validate', '--policies', out], { env: env() });
    const planned = await runCli(['plan', '--policies', out, '--format', 'json', '--detailed-exitcode'], {
      env: env(),
    });

    expect(imported.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{'))).toEqual([]);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain(`no ingress rules, no file: ${state.empty} (empty)`);
    expect(imported.stdout).toContain(`2 policies written to ${out}; 1 group without ingress rules`);
    expect(Object.keys(await files(out))).toEqual(['app-servers.yaml', 'worker.yaml']);
    expect(eventsNamed(imported.events, 'import.skipped')).toEqual([
      expect.objectContaining({ groupId: state.empty, groupName: 'empty' }),
    ]);
    expect(validated.code).toBe(0);
    expect(planned.code).toBe(0);
    expect(JSON.parse(planned.stdout)).toMatchObject({
      summary: {
        changes: false,
        groups: 2,
        desired: 12,
        missing: 0,
        drift: 0,
        descriptionDrift: 0,
        readFailures: 0,
      },
    });
  });

  it('writes the rules the way a person would: folded per protocol and ports, shared descriptions, self, the schema line', async () => {
    const state = await arrangeState();
    const out = await tempDir();

    const result = await runCli(['import', '--out', out, '--group-id', state.app], { env: env() });

    expect(result.code).toBe(0);
    expect(await readFile(join(out, 'app-servers.yaml'), 'utf8')).toBe(
      `# yaml-language-server: $schema=https://raw.githubusercontent.com/sg-reconciler/sg-reconciler/main/schemas/policy.schema.json
# Imported by sg-reconciler from security group ${state.app} ("App Servers") in us-east-1, account 123456789012:
# every ingress rule the group held, so that plan reports nothing missing and no drift for it.
apiVersion: sg-reconciler/v1
kind: IngressPolicy
metadata:
  name: app-servers
spec:
  region: us-east-1
  targets:
    - groupId: ${state.app}
  ingress:
    - protocol: tcp
      ports: 22
      sources:
        - prefixList: ${state.list}
    - protocol: tcp
      ports: 443
      description: https from anywhere
      sources:
        - cidr: 0.0.0.0/0
        - cidr: ::/0
    - protocol: tcp
      ports: 5432
      description: db clients
      sources:
        - securityGroup: ${state.clients}
    - protocol: tcp
      ports: 8000-8080
      sources:
        - cidr: 10.0.0.0/8
          description: internal
        - cidr: 192.168.0.0/16
    - protocol: tcp
      ports: 9000
      sources:
        - securityGroup: self
    - protocol: icmp
      icmp:
        type: 8
        code: -1
      description: ping
      sources:
        - cidr: 10.0.0.0/8
    - protocol: icmpv6
      sources:
        - cidr: 2001:db8::/32
    - protocol: 50
      description: ESP
      sources:
        - cidr: 172.16.0.0/12
    - protocol: all
      sources:
        - securityGroup: ${state.clients}
`,
    );
  });

  it('the same state gives the same bytes, live or from a snapshot', async () => {
    const state = await arrangeState();
    const [first, second, offline] = [await tempDir(), await tempDir(), await tempDir()];
    const snapshotDir = await tempDir();
    const policy = join(snapshotDir, 'p.yaml');
    await writeFile(
      policy,
      `apiVersion: sg-reconciler/v1\nkind: IngressPolicy\nmetadata: {name: p}\nspec:\n  region: us-east-1\n  targets: [{groupId: ${state.app}}]\n  ingress: [{protocol: tcp, ports: 1, sources: [{cidr: 10.0.0.0/8}]}]\n`,
    );
    const snapshot = join(snapshotDir, 'snapshot.json');

    const args = ['--group-id', state.app, '--tag', 'role=worker'];
    expect((await runCli(['import', '--out', first, ...args], { env: env() })).code).toBe(0);
    expect((await runCli(['import', '--out', second, ...args], { env: env() })).code).toBe(0);
    expect((await runCli(['snapshot', '--policies', policy, '--out', snapshot], { env: env() })).code).toBe(
      0,
    );
    const fromSnapshot = await runCli(['import', '--out', offline, '--snapshot', snapshot, ...args], {
      env: { PATH: process.env['PATH'] ?? '', HOME: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' },
    });

    expect(fromSnapshot.code).toBe(0);
    const bytes = await files(first);
    expect(Object.keys(bytes)).toEqual(['app-servers.yaml', 'worker.yaml']);
    expect(await files(second)).toEqual(bytes);
    expect(await files(offline)).toEqual(bytes);
  });

  it('takes no --policies (it writes policies and reads none): the flag is an unknown option, exit 3, nothing written', async () => {
    const state = await arrangeState();
    const out = await tempDir();
    const result = await runCli(['import', '--out', out, '--group-id', state.app, '--policies', 'policies'], {
      env: env(),
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain("unknown option '--policies'");
    expect(await files(out)).toEqual({});
  });

  it('never overwrites an existing file without --force (exit 3, nothing written); --force overwrites', async () => {
    const state = await arrangeState();
    const out = await tempDir();
    expect((await runCli(['import', '--out', out, '--group-id', state.app], { env: env() })).code).toBe(0);
    const original = await readFile(join(out, 'app-servers.yaml'), 'utf8');
    await writeFile(join(out, 'app-servers.yaml'), '# edited by hand\n');

    const refused = await runCli(['import', '--out', out, '--group-id', state.app, '--tag', 'role=worker'], {
      env: env(),
    });

    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(
      `${join(out, 'app-servers.yaml')} already exists; pass --force to overwrite`,
    );
    expect(await files(out)).toEqual({ 'app-servers.yaml': '# edited by hand\n' });

    const forced = await runCli(['import', '--out', out, '--group-id', state.app, '--force'], { env: env() });

    expect(forced.code).toBe(0);
    expect(await readFile(join(out, 'app-servers.yaml'), 'utf8')).toBe(original);
  });

  const refusals = [
    { name: 'no selection', args: [], message: 'choose the groups to import: --group-id' },
    {
      name: 'a malformed group ID',
      args: ['--group-id', 'web'],
      message: '--group-id "web" is not a security group ID',
    },
    { name: 'a tag without =', args: ['--tag', 'web'], message: '--tag "web" is not KEY=VALUE' },
    {
      name: 'a group that does not exist',
      args: ['--group-id', 'sg-0123456789abcdef0'],
      message: 'no security group sg-0123456789abcdef0 in us-east-1',
    },
    {
      name: 'tags no group carries',
      args: ['--tag', 'role=nobody'],
      message: 'the selection matched no security group in us-east-1',
    },
  ];
  for (const { name, args, message } of refusals) {
    it(`${name}: exit 3 with a message, nothing written`, async () => {
      await arrangeState();
      const out = await tempDir();

      const result = await runCli(['import', '--out', out, ...args], { env: env() });

      expect(result.code).toBe(3);
      expect(result.stderr).toContain(message);
      expect(await readdir(out)).toEqual([]);
    });
  }
});
