// The built CLI against moto, set up the way people set it up: the region from wherever the AWS CLI
// takes it, no credentials at all, a strict mode for CI (issue: operator experience).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsNamed, motoEnv, ROOT, runCli, writePolicies } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { createGroup } from '../helpers/moto.js';

const emu = useEmulator();
/** Fails (and logs) every DNS lookup and connection off loopback in the CLI it is preloaded into. */
const LOOPBACK_GUARD = join(ROOT, 'test', 'helpers', 'loopback-guard.mjs');
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function policy(name: string, groupId: string, region?: string): string {
  return [
    'apiVersion: sg-reconciler/v1',
    'kind: IngressPolicy',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    ...(region !== undefined ? [`  region: ${region}`] : []),
    '  targets:',
    `    - groupId: ${groupId}`,
    '  ingress:',
    '    - protocol: tcp',
    '      ports: 22',
    '      sources: [{ cidr: 203.0.113.0/24 }]',
    '',
  ].join('\n');
}

async function policies(files: Record<string, string>): Promise<string> {
  const dir = await writePolicies(files);
  dirs.push(dir);
  return dir;
}

/** moto's environment without any region: the test adds the one source it is about. */
function envWithoutRegion(extra: Record<string, string>): Record<string, string> {
  const { AWS_REGION: _region, ...env } = motoEnv(emu.endpoint);
  return { ...env, ...extra };
}

describe('the default region, resolved as the AWS CLI does', () => {
  it('AWS_DEFAULT_REGION, and the region of the shared config profile, are used when AWS_REGION is unset', async () => {
    const groupId = await createGroup(emu.ec2, { name: 'region-chain', vpcId: emu.vpcId });
    const dir = await policies({ 'p.yaml': policy('no-region', groupId) });
    const config = join(await mkdtemp(join(tmpdir(), 'sgr-aws-')), 'config');
    dirs.push(join(config, '..'));
    // With AWS_PROFILE set the SDK takes credentials from the profile, not the environment.
    await writeFile(
      config,
      '[default]\nregion = eu-west-1\n\n[profile team]\nregion = us-east-1\naws_access_key_id = testing\naws_secret_access_key = testing\n',
    );

    const viaDefault = await runCli(['plan', '--policies', dir, '--format', 'json'], {
      env: envWithoutRegion({ AWS_DEFAULT_REGION: 'us-east-1' }),
    });
    const viaProfile = await runCli(['plan', '--policies', dir, '--format', 'json'], {
      env: envWithoutRegion({ AWS_CONFIG_FILE: config, AWS_PROFILE: 'team' }),
    });

    for (const result of [viaDefault, viaProfile]) {
      expect(result.code, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout) as { groups: { region: string; groupId: string }[] };
      expect(report.groups.map((g) => [g.region, g.groupId])).toEqual([['us-east-1', groupId]]);
    }
  });

  it('a region from the environment that is not a region name is invalid input naming its source', async () => {
    const dir = await policies({ 'p.yaml': policy('no-region', 'sg-0123456789abcdef0') });
    const result = await runCli(['plan', '--policies', dir], {
      env: envWithoutRegion({ AWS_DEFAULT_REGION: 'Frankfurt' }),
    });
    expect(result.code).toBe(3);
    expect(eventsNamed(result.events, 'config.invalid')).toEqual([
      expect.objectContaining({
        error:
          'the region from AWS_DEFAULT_REGION "Frankfurt" is not an AWS region name; write e.g. us-east-1',
      }),
    ]);
    expect(eventsNamed(result.events, 'reconcile.started')).toEqual([]);
  });
});

describe('a policy without a region, when no default region resolves', () => {
  it('is skipped with an event at the place spec.region goes; the policies that name a region are reconciled; exit 1', async () => {
    const groupId = await createGroup(emu.ec2, { name: 'named-region', vpcId: emu.vpcId });
    const dir = await policies({
      'named.yaml': policy('named', groupId, 'us-east-1'),
      'regionless.yaml': policy('regionless', groupId),
    });
    // No AWS_REGION, no AWS_DEFAULT_REGION, no config file: nothing resolves a default region.
    const env = envWithoutRegion({});

    const plan = await runCli(['plan', '--policies', dir, '--format', 'json'], { env });
    const apply = await runCli(['apply', '--policies', dir], { env });

    const skipped = {
      policy: 'regionless',
      reason: 'no-region',
      file: join(dir, 'regionless.yaml'),
      // `spec:` holds `targets` at line 6, column 3: where `region:` is to be written.
      line: 6,
      column: 3,
      path: 'spec.region',
      error: expect.stringMatching(/^policy regionless names no region .*write spec\.region .*--region/),
    };
    expect(plan.code, plan.stderr).toBe(1);
    expect(eventsNamed(plan.events, 'policy.skipped')).toEqual([expect.objectContaining(skipped)]);
    const report = JSON.parse(plan.stdout) as {
      summary: { missing: number; policiesSkipped: number };
      skippedPolicies: unknown[];
    };
    expect(report.summary).toMatchObject({ missing: 1, policiesSkipped: 1 });
    expect(report.skippedPolicies).toEqual([expect.objectContaining(skipped)]);

    expect(apply.code, apply.stdout).toBe(1);
    expect(eventsNamed(apply.events, 'policy.skipped')).toEqual([expect.objectContaining(skipped)]);
    expect(eventsNamed(apply.events, 'reconcile.failed')).toEqual([]);
    expect(eventsNamed(apply.events, 'rule.authorized')).toEqual([
      expect.objectContaining({ groupId, policy: 'named', region: 'us-east-1', fromPort: 22 }),
    ]);
    expect(eventsNamed(apply.events, 'reconcile.completed')).toEqual([
      expect.objectContaining({ authorized: 1, policiesSkipped: 1 }),
    ]);
  }, 60_000);
});

describe('without credentials', () => {
  it('says what to set, in one line, instead of only the SDK error', async () => {
    const groupId = await createGroup(emu.ec2, { name: 'no-credentials', vpcId: emu.vpcId });
    const dir = await policies({ 'p.yaml': policy('p', groupId) });
    const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...env } = motoEnv(emu.endpoint);

    const result = await runCli(['plan', '--policies', dir], { env });

    expect(result.code).toBe(1);
    const failed = eventsNamed(result.events, 'reconcile.failed');
    expect(failed).toEqual([
      expect.objectContaining({
        errorCode: 'CredentialsProviderError',
        error: expect.stringMatching(
          /no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE .*IRSA.*ECS task role.*instance profile$/,
        ),
      }),
    ]);
    expect(result.stdout).toMatch(
      /^Plan could not run: CredentialsProviderError: .*no AWS credentials found;/,
    );
  });
});

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Shared AWS files in a temporary directory: `config` and `credentials` texts. */
async function awsFiles(config: string, credentials = ''): Promise<{ config: string; credentials: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'sgr-aws-'));
  dirs.push(dir);
  await writeFile(join(dir, 'config'), config);
  await writeFile(join(dir, 'credentials'), credentials);
  return { config: join(dir, 'config'), credentials: join(dir, 'credentials') };
}

describe('errors with advice', () => {
  it('a refused endpoint names the host:port tried and says to check --endpoint / SGR_ENDPOINT', async () => {
    const dir = await policies({ 'p.yaml': policy('p', 'sg-0123456789abcdef0') });
    const port = await closedPort();
    const result = await runCli(['plan', '--policies', dir], {
      env: motoEnv(`http://127.0.0.1:${port}`),
    });
    expect(result.code).toBe(1);
    expect(eventsNamed(result.events, 'reconcile.failed')).toEqual([
      expect.objectContaining({
        errorCode: 'NetworkingError',
        error: `cannot identify the credentials' account: ECONNREFUSED: nothing accepts connections at the STS endpoint 127.0.0.1:${port}: check --endpoint / SGR_ENDPOINT (and AWS_ENDPOINT_URL*, if set), that the service there is running, and the network`,
      }),
    ]);
  });

  it('https:// to a plain-HTTP endpoint is a TLS failure that says to write http://', async () => {
    const dir = await policies({ 'p.yaml': policy('p', 'sg-0123456789abcdef0') });
    const result = await runCli(['plan', '--policies', dir], {
      env: motoEnv(emu.endpoint.replace(/^http:/, 'https:')),
    });
    expect(result.code).toBe(1);
    const [failed] = eventsNamed(result.events, 'reconcile.failed');
    expect(failed?.['errorCode']).toBe('NetworkingError');
    const hostPort = emu.endpoint.replace(/^http:\/\//, '');
    expect(failed?.['error']).toContain(`: TLS with the STS endpoint ${hostPort} failed (`);
    expect(failed?.['error']).toMatch(/\): check --endpoint \/ SGR_ENDPOINT .*write http:\/\//);
  });

  it('an endpoint URL with a path: STS answers 404 without an error code, named with host:port and --endpoint', async () => {
    const dir = await policies({ 'p.yaml': policy('p', 'sg-0123456789abcdef0') });
    const hostPort = emu.endpoint.replace(/^http:\/\//, '');
    const result = await runCli(['plan', '--policies', dir, '--endpoint', `${emu.endpoint}/path?x=1`], {
      env: motoEnv(emu.endpoint),
    });
    expect(result.code).toBe(1);
    expect(eventsNamed(result.events, 'reconcile.failed')).toEqual([
      expect.objectContaining({
        errorCode: 'UnknownError',
        error: `cannot identify the credentials' account: the STS endpoint ${hostPort} answered HTTP 404 without an AWS error code: the endpoint URL is probably wrong (a path after host:port, or a server that is not STS); check --endpoint / SGR_ENDPOINT (and AWS_ENDPOINT_URL*, if set): write the scheme, host and port only, e.g. http://127.0.0.1:5000`,
      }),
    ]);
  });

  it('a region moto does not know: EC2 answers 500 without an error code, with advice naming the region', async () => {
    const dir = await policies({ 'p.yaml': policy('p', 'sg-0123456789abcdef0') });
    const hostPort = emu.endpoint.replace(/^http:\/\//, '');
    const result = await runCli(['plan', '--policies', dir, '--region', 'us-east-99'], {
      env: motoEnv(emu.endpoint),
    });
    expect(result.code).toBe(1);
    const [failed] = eventsNamed(result.events, 'read.failed');
    expect(failed).toMatchObject({ region: 'us-east-99', errorCode: 'InternalError' });
    expect(failed?.['error']).toMatch(
      new RegExp(
        `^the EC2 endpoint ${hostPort.replace(/\./g, '\\.')} answered HTTP 500 without an AWS error code: the endpoint failed; .*--region / AWS_REGION`,
      ),
    );
  });

  it('AWS_PROFILE naming a profile that is not there, or one without keys, says what is wrong with it', async () => {
    const groupId = await createGroup(emu.ec2, { name: 'profiles', vpcId: emu.vpcId });
    const dir = await policies({ 'p.yaml': policy('p', groupId) });
    const files = await awsFiles(
      '[profile nokeys]\nregion = us-east-1\n[profile halfkey]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n',
      '[ci]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\naws_secret_access_key = je7MtGbClwBF/2Zp9Utk\n',
    );
    const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...base } = motoEnv(emu.endpoint);
    const run = (profile: string) =>
      runCli(['plan', '--policies', dir], {
        env: {
          ...base,
          AWS_CONFIG_FILE: files.config,
          AWS_SHARED_CREDENTIALS_FILE: files.credentials,
          AWS_PROFILE: profile,
        },
      });

    const [missing, nokeys, halfkey] = await Promise.all([run('prod'), run('nokeys'), run('halfkey')]);

    const errorOf = (result: Awaited<ReturnType<typeof run>>): unknown =>
      eventsNamed(result.events, 'reconcile.failed')[0]?.['error'];
    expect(errorOf(missing)).toBe(
      `cannot identify the credentials' account: AWS_PROFILE=prod, but no profile prod is in ${files.config} ([profile prod]) or ${files.credentials} ([prod]) (profiles there: ci, halfkey, nokeys); fix the name, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at the files that hold it`,
    );
    expect(errorOf(nokeys)).toBe(
      `cannot identify the credentials' account: AWS_PROFILE=nokeys: profile nokeys (${files.config}) holds no credentials; add aws_access_key_id and aws_secret_access_key, or role_arn with source_profile, or sso_session (then \`aws sso login --profile nokeys\`), or credential_process`,
    );
    expect(errorOf(halfkey)).toBe(
      `cannot identify the credentials' account: AWS_PROFILE=halfkey: profile halfkey (${files.config}) has aws_access_key_id but no aws_secret_access_key; add it, or remove the key and use another credential source`,
    );
    for (const result of [missing, nokeys, halfkey]) {
      expect(result.code).toBe(1);
      expect(eventsNamed(result.events, 'reconcile.failed')[0]?.['errorCode']).toBe(
        'CredentialsProviderError',
      );
      for (const secret of ['AKIAIOSFODNN7EXAMPLE', 'AKIAI44QH8DHBEXAMPLE', 'je7MtGbClwBF'])
        expect(result.stdout + result.stderr).not.toContain(secret);
    }
  });
});

describe('a role-assuming shared-config profile with --endpoint', () => {
  it('assumes the role at the endpoint (moto), never at AWS: the run succeeds and nothing leaves loopback', async () => {
    const groupId = await createGroup(emu.ec2, { name: 'role-profile', vpcId: emu.vpcId });
    const dir = await policies({ 'p.yaml': policy('p', groupId) });
    const files = await awsFiles(
      [
        '[profile source]',
        'aws_access_key_id = testing',
        'aws_secret_access_key = testing',
        '[profile deployer]',
        'role_arn = arn:aws:iam::123456789012:role/deployer',
        'source_profile = source',
        '',
      ].join('\n'),
    );
    const offMachine = join(dirs.at(-1) as string, 'off-machine.log');
    const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...base } = motoEnv(emu.endpoint);
    const result = await runCli(['plan', '--policies', dir, '--format', 'json'], {
      env: {
        ...base,
        AWS_CONFIG_FILE: files.config,
        AWS_SHARED_CREDENTIALS_FILE: files.credentials,
        AWS_PROFILE: 'deployer',
        NODE_OPTIONS: `--import ${LOOPBACK_GUARD}`,
        SGR_TEST_OFF_MACHINE_LOG: offMachine,
      },
    });

    const hosts = existsSync(offMachine) ? readFileSync(offMachine, 'utf8') : '';
    expect(hosts, 'hosts looked up or connected to off the machine').toBe('');
    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { summary: { missing: number } }).summary.missing).toBe(1);
  });
});

describe('the AWS SDK’s warnings', () => {
  it('AWS_PROFILE and AWS_ACCESS_KEY_ID both set: one aws.warning event, and nothing but JSON on stderr', async () => {
    const groupId = await createGroup(emu.ec2, { name: 'two-sources', vpcId: emu.vpcId });
    const dir = await policies({ 'p.yaml': policy('p', groupId) });
    const files = await awsFiles(
      '[profile team]\nregion = us-east-1\naws_access_key_id = testing\naws_secret_access_key = testing\n',
    );
    const env = motoEnv(emu.endpoint, {
      AWS_CONFIG_FILE: files.config,
      AWS_SHARED_CREDENTIALS_FILE: files.credentials,
      AWS_PROFILE: 'team',
    });

    const result = await runCli(['plan', '--policies', dir, '--format', 'json', '--log-format', 'json'], {
      env,
    });

    expect(result.code, result.stderr).toBe(0);
    const lines = result.stderr.split('\n').filter((line) => line !== '');
    for (const line of lines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
    expect(eventsNamed(result.events, 'aws.warning')).toEqual([
      expect.objectContaining({
        level: 'warn',
        reason: 'multiple-credential-sources',
        profile: 'team',
        warning:
          'both AWS_PROFILE=team and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are set; the AWS SDK uses the profile team and ignores the keys: unset one of them',
      }),
    ]);
    expect((JSON.parse(result.stdout) as { valid: boolean }).valid).toBe(true);
  });
});

describe('--fail-on-unresolved', () => {
  it('makes a target that matched nothing fail plan and apply (exit 1); without it, a warning', async () => {
    const groupId = await createGroup(emu.ec2, { name: 'strict', vpcId: emu.vpcId });
    const dir = await policies({
      'ok.yaml': policy('ok', groupId),
      'typo.yaml': policy('typo', 'sg-0000000000000dead'),
    });
    const env = motoEnv(emu.endpoint);

    const lenient = await runCli(['plan', '--policies', dir], { env });
    expect(lenient.code, lenient.stderr).toBe(0);
    expect(eventsNamed(lenient.events, 'target.unresolved')).toEqual([
      expect.objectContaining({ policy: 'typo', target: 'groupId=sg-0000000000000dead' }),
    ]);

    const strictPlan = await runCli(['plan', '--policies', dir, '--fail-on-unresolved'], { env });
    expect(strictPlan.code).toBe(1);
    const strictApply = await runCli(['apply', '--policies', dir, '--fail-on-unresolved'], { env });
    expect(strictApply.code).toBe(1);
    // The resolved group is still reconciled: strict mode changes the verdict, not the work.
    expect(eventsNamed(strictApply.events, 'rule.authorized')).toEqual([
      expect.objectContaining({ groupId, policy: 'ok' }),
    ]);
  });
});
