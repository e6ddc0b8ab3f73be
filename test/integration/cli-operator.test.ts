// The built CLI against moto, set up the way people set it up: the region from wherever the AWS CLI
// takes it, no credentials at all, a strict mode for CI (issue: operator experience).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventsNamed, motoEnv, runCli, writePolicies } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { createGroup } from '../helpers/moto.js';

const emu = useEmulator();
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
