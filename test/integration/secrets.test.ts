// No credential ever appears in the output (SPEC "Output streams", issue 5 "Secrets"): the built CLI
// runs `apply` at trace level with distinctive credentials against moto (through the fault proxy,
// which also proves the credentials were really sent), on the happy path and on error paths.
import type { EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventsNamed, motoEnv, runCli, writePolicies, type CliResult } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  createGroup,
  defaultVpcId,
  ec2InAccount,
  listIngressRules,
  startMoto,
  type MotoServer,
} from '../helpers/moto.js';

const ACCESS_KEY_ID = 'AKIASGRSECRETTEST123';
const SECRET_ACCESS_KEY = 'sgr/secret+Key/DoNotLog0123456789abcdef';
const SESSION_TOKEN = 'sgrSessionTokenDoNotLog/IQoJb3JpZ2luX2VjEJr+/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==';

const CREDENTIALS = {
  AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
  AWS_SESSION_TOKEN: SESSION_TOKEN,
};

/**
 * What must never be printed: each credential whole, URL-encoded (as in a query string or a form
 * body), and the distinctive parts of each, so a truncated or re-encoded copy is caught too.
 */
const FORBIDDEN = [
  ...Object.values(CREDENTIALS).flatMap((value) => [value, encodeURIComponent(value)]),
  'SGRSECRETTEST',
  'DoNotLog',
  'IQoJb3JpZ2luX2VjEJr',
];

let moto: MotoServer;
let ec2: EC2Client;
let proxy: FaultProxy;
/** Authorization / X-Amz-Security-Token headers as the proxy received them. */
let sentHeaders: { authorization: string; token: string }[];

beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto.stop();
});
beforeEach(async () => {
  await moto.reset();
  ec2 = moto.ec2('us-east-1');
  proxy = await startFaultProxy(moto.endpoint);
  sentHeaders = [];
  // Never fires: it only records what the SDK sent, to prove the credentials were in use.
  proxy.addRule({
    times: 'always',
    when: (call) => {
      const header = (name: string): string => {
        const value = call.headers[name];
        return Array.isArray(value) ? value.join(',') : (value ?? '');
      };
      sentHeaders.push({ authorization: header('authorization'), token: header('x-amz-security-token') });
      return false;
    },
    fault: { kind: 'hang' },
  });
});
afterEach(async () => {
  await proxy.stop();
});

async function policyDir(groupId: string): Promise<string> {
  return writePolicies({
    'secrets.yaml': [
      'apiVersion: sg-reconciler/v1',
      'kind: IngressPolicy',
      'metadata:',
      '  name: secrets',
      'spec:',
      '  targets:',
      `    - groupId: ${groupId}`,
      '  ingress:',
      '    - protocol: tcp',
      '      ports: 443',
      '      sources:',
      '        - cidr: 203.0.113.0/24',
      '        - cidr: 2001:db8::/64',
      '    - protocol: tcp',
      '      ports: 5432',
      '      description: from a group that does not exist',
      '      sources: [{ securityGroup: sg-0123456789abcdef0 }]',
      '',
    ].join('\n'),
  });
}

function applyAtTrace(dir: string, endpoint: string): Promise<CliResult> {
  return runCli(
    ['apply', '--policies', dir, '--endpoint', endpoint, '--region', 'us-east-1', '--log-level', 'trace'],
    {
      env: motoEnv(endpoint, { ...CREDENTIALS, LOG_LEVEL: 'trace' }),
      timeoutMs: 60_000,
    },
  );
}

function expectNoSecrets(result: CliResult): void {
  const output = `${result.stdout}\n${result.stderr}`;
  for (const secret of FORBIDDEN) {
    const at = output.indexOf(secret);
    expect(at, `"${secret}" printed: …${output.slice(Math.max(0, at - 200), at + 200)}…`).toBe(-1);
  }
}

function expectCredentialsSent(): void {
  expect(sentHeaders.length).toBeGreaterThan(0);
  for (const { authorization, token } of sentHeaders) {
    expect(authorization).toContain(`Credential=${ACCESS_KEY_ID}/`);
    expect(token).toBe(SESSION_TOKEN);
  }
}

describe('credentials never appear in the output of apply --log-level trace', () => {
  it('on a pass that authorizes rules and fails one (rule.failed)', async () => {
    const groupId = await createGroup(ec2, { name: 'secrets', vpcId: await defaultVpcId(ec2) });
    const result = await applyAtTrace(await policyDir(groupId), proxy.endpoint);

    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(eventsNamed(result.events, 'rule.authorized')).toHaveLength(2);
    const failed = eventsNamed(result.events, 'rule.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ errorCode: 'InvalidGroup.NotFound', fromPort: 5432 });
    expect(await listIngressRules(ec2, groupId)).toHaveLength(2);
    // Trace level really was on: the per-call debug lines are there.
    expect(result.stdout).toMatch(/"level":"(debug|trace)"/);
    expectCredentialsSent();
    expectNoSecrets(result);
  }, 40_000);

  it('when EC2 echoes the credentials back in an error message', async () => {
    const groupId = await createGroup(ec2, { name: 'secrets', vpcId: await defaultVpcId(ec2) });
    const echo =
      'The request signature we calculated does not match the signature you provided. ' +
      `Credential=${ACCESS_KEY_ID}/20261126/us-east-1/ec2/aws4_request, ` +
      `X-Amz-Security-Token=${SESSION_TOKEN}, key ${SECRET_ACCESS_KEY}`;
    proxy.addRule({
      action: 'AuthorizeSecurityGroupIngress',
      times: 'always',
      fault: { kind: 'error', status: 403, code: 'SignatureDoesNotMatch', message: echo },
    });
    const result = await applyAtTrace(await policyDir(groupId), proxy.endpoint);

    expect(result.code, result.stdout + result.stderr).toBe(1);
    const failed = eventsNamed(result.events, 'rule.failed');
    expect(failed).toHaveLength(3);
    for (const event of failed) {
      expect(event['errorCode']).toBe('SignatureDoesNotMatch');
      // The message did reach the event (so the scan below covers it), minus the credentials.
      expect(event['error']).toMatch(/^The request signature we calculated does not match/);
    }
    expect(proxy.counts()['AuthorizeSecurityGroupIngress']).toBeGreaterThan(0);
    expectCredentialsSent();
    expectNoSecrets(result);
  }, 40_000);

  it('on a pass that cannot reach EC2 at all (reconcile.failed)', async () => {
    const groupId = await createGroup(ec2, { name: 'secrets', vpcId: await defaultVpcId(ec2) });
    await proxy.refuse();
    const result = await applyAtTrace(await policyDir(groupId), proxy.endpoint);

    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(eventsNamed(result.events, 'reconcile.failed')).toHaveLength(1);
    expectNoSecrets(result);
  }, 60_000);
});

describe('assumed-role credentials never appear in the output either', () => {
  const SPOKE = '111111111111';

  it('on a pass that assumes a role in another account at trace level', async () => {
    const spoke = await ec2InAccount(moto.endpoint, SPOKE);
    const groupId = await createGroup(spoke, { name: 'secrets', vpcId: await defaultVpcId(spoke) });
    const dir = await policyDir(groupId);
    const policyFile = join(dir, 'secrets.yaml');
    await writeFile(
      policyFile,
      (await readFile(policyFile, 'utf8')).replace('spec:\n', `spec:\n  accounts: [{ id: "${SPOKE}" }]\n`),
    );
    const inventory = join(dir, '..', `${basename(dir)}-accounts.yaml`);
    await writeFile(
      inventory,
      `apiVersion: sg-reconciler/v1\nkind: AccountInventory\nspec:\n  externalId: sgr-external-DoNotLog\n  accounts:\n    - id: "${SPOKE}"\n`,
    );
    proxy.recordResponses('AssumeRole');

    const result = await runCli(
      [
        'apply',
        '--policies',
        dir,
        '--accounts',
        inventory,
        '--endpoint',
        proxy.endpoint,
        '--log-level',
        'trace',
      ],
      { env: motoEnv(proxy.endpoint, { ...CREDENTIALS, LOG_LEVEL: 'trace' }), timeoutMs: 60_000 },
    );

    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(eventsNamed(result.events, 'rule.authorized')).toEqual([
      expect.objectContaining({ account: SPOKE }),
      expect.objectContaining({ account: SPOKE }),
    ]);
    // What STS issued for the spoke: moto's AssumeRole answer, as the SDK read it.
    const [answer] = proxy.responses('AssumeRole');
    const field = (name: string): string =>
      new RegExp(`<${name}>([^<]+)</${name}>`).exec(answer ?? '')?.[1] ?? '';
    const assumed = [field('AccessKeyId'), field('SecretAccessKey'), field('SessionToken')];
    expect(assumed.every((value) => value.length >= 16)).toBe(true);
    // The spoke's EC2 calls were signed with them (so they passed through the process)...
    expect(sentHeaders.some((h) => h.authorization.includes(`Credential=${assumed[0]}/`))).toBe(true);
    // ...and none of them, nor the base credentials, nor the external ID, was printed.
    const output = `${result.stdout}\n${result.stderr}`;
    for (const secret of [...assumed, ...assumed.map(encodeURIComponent)]) {
      const at = output.indexOf(secret);
      expect(at, `"${secret}" printed: …${output.slice(Math.max(0, at - 200), at + 200)}…`).toBe(-1);
    }
    expectNoSecrets(result);
  }, 60_000);
});

describe('a password in --endpoint is never echoed', () => {
  const PASSWORD = 'hunter2passDoNotEcho';
  // The message names where the value came from: the flag, or the variable it was read from.
  const cases: readonly [string, readonly string[], Record<string, string>, string][] = [
    ['the flag', ['--endpoint', `http://user:${PASSWORD}@127.0.0.1:1`], {}, '--endpoint'],
    ['SGR_ENDPOINT', [], { SGR_ENDPOINT: `http://user:${PASSWORD}@127.0.0.1:1` }, 'SGR_ENDPOINT'],
    ['a scheme that is not http', ['--endpoint', `ftp://user:${PASSWORD}@127.0.0.1:1`], {}, '--endpoint'],
    ['a URL that does not parse', ['--endpoint', `http://AKIA:${PASSWORD}@[::1`], {}, '--endpoint'],
    ['user:password without a host (no @)', ['--endpoint', `http://user:${PASSWORD}`], {}, '--endpoint'],
    ['user:password without a scheme', ['--endpoint', `user:${PASSWORD}`], {}, '--endpoint'],
    // A password may hold / ? # or @: everything up to the last @ is masked.
    ['a password with a slash', ['--endpoint', `http://admin:hun/${PASSWORD}@127.0.0.1:1`], {}, '--endpoint'],
    ['a password with an @', ['--endpoint', `http://admin:a@${PASSWORD}@[::1`], {}, '--endpoint'],
  ];
  for (const [name, args, env, named] of cases) {
    it(`in the message or the config.invalid event: ${name}`, async () => {
      const dir = await writePolicies({});
      const result = await runCli(['plan', '--policies', dir, ...args], {
        env: { ...motoEnv('http://127.0.0.1:1'), ...env },
      });

      expect(result.code).toBe(3);
      expect(eventsNamed(result.events, 'config.invalid')).toHaveLength(1);
      expect(result.stderr).toContain(named);
      expect(eventsNamed(result.events, 'config.invalid')[0]).toMatchObject({ option: '--endpoint' });
      expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    });
  }
});

describe('the SDK’s endpoint variables are checked at start-up like --endpoint, never echoing a password', () => {
  const PASSWORD = 'hunter2passDoNotEcho';
  const cases: readonly [string, string][] = [
    ['AWS_ENDPOINT_URL', `http://user:${PASSWORD}@127.0.0.1:99999`],
    ['AWS_ENDPOINT_URL', `http://user:pa/${PASSWORD}`],
    ['AWS_ENDPOINT_URL_EC2', `http://user:${PASSWORD}@127.0.0.1:5000`],
    ['AWS_ENDPOINT_URL_STS', 'ftp://127.0.0.1:5000'],
    ['AWS_ENDPOINT_URL_ORGANIZATIONS', 'not a url'],
  ];
  for (const [variable, value] of cases) {
    it(`${variable}=${value.replace(PASSWORD, '<password>')}: config.invalid naming it, exit 3`, async () => {
      const dir = await writePolicies({});
      const result = await runCli(['plan', '--policies', dir], {
        env: { ...motoEnv('http://127.0.0.1:1'), [variable]: value },
      });

      expect(result.code).toBe(3);
      const invalid = eventsNamed(result.events, 'config.invalid');
      expect(invalid).toEqual([expect.objectContaining({ option: '--endpoint' })]);
      expect(invalid[0]?.['error']).toMatch(
        new RegExp(`^${variable}\\b.*; write e\\.g\\. ${variable}=http://127\\.0\\.0\\.1:5000, or unset it$`),
      );
      expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    });
  }
});
