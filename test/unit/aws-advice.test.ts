// Advice for failures on the way to AWS (issue 13, operator experience): every network, TLS and
// credential failure says in one line what to check and where the request went, never a secret;
// the SDK's warnings become events instead of text on stderr.
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import {
  adviseFailures,
  formatHostPort,
  NO_CREDENTIALS,
  profileProblem,
  sdkLogger,
  type SharedFiles,
} from '../../src/aws/advice.js';
import { createEc2Client, toEc2Error } from '../../src/aws/ec2-port.js';
import { createLogger } from '../../src/logging.js';

/** A system error as Node raises it (code, and for connects the address and port). */
function systemError(code: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

describe('network advice in toEc2Error', () => {
  const cases: {
    name: string;
    error: Error;
    action?: string;
    code: string;
    says: RegExp;
  }[] = [
    {
      name: 'ECONNREFUSED names the host:port tried and --endpoint / SGR_ENDPOINT',
      error: systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1', {
        address: '127.0.0.1',
        port: 1,
      }),
      code: 'NetworkingError',
      says: /^ECONNREFUSED: nothing accepts connections at the EC2 endpoint 127\.0\.0\.1:1: check --endpoint \/ SGR_ENDPOINT .*the network$/,
    },
    {
      name: 'EADDRNOTAVAIL says the address is not available from this host',
      error: systemError('EADDRNOTAVAIL', 'connect EADDRNOTAVAIL ::1:5000', { address: '::1', port: 5000 }),
      code: 'NetworkingError',
      says: /^EADDRNOTAVAIL: cannot connect to the EC2 endpoint \[::1\]:5000 from this host .*--endpoint \/ SGR_ENDPOINT/,
    },
    {
      name: 'ENOTFOUND says the host name does not resolve',
      error: systemError('ENOTFOUND', 'getaddrinfo ENOTFOUND ec2.nowhere-1.amazonaws.com'),
      code: 'NetworkingError',
      says: /^ENOTFOUND: the host name of the EC2 endpoint does not resolve: check --endpoint \/ SGR_ENDPOINT .*DNS$/,
    },
    {
      name: 'ENOTFOUND names the host looked up, and its service (an SDK-internal STS client under an EC2 call)',
      error: systemError('ENOTFOUND', 'getaddrinfo ENOTFOUND sts.us-east-1.amazonaws.com', {
        hostname: 'sts.us-east-1.amazonaws.com',
      }),
      code: 'NetworkingError',
      says: /^ENOTFOUND: the host name of the STS endpoint sts\.us-east-1\.amazonaws\.com does not resolve: /,
    },
    {
      name: 'ETIMEDOUT (a request timeout) says to check the network path; STS for AssumeRole',
      error: Object.assign(
        systemError(
          'ETIMEDOUT',
          '@smithy/node-http-handler - [ERROR] a request has exceeded the configured 10000 ms requestTimeout.',
        ),
        { name: 'TimeoutError' },
      ),
      action: 'AssumeRole',
      code: 'TimeoutError',
      says: /^a request has exceeded the configured 10000 ms requestTimeout; the STS endpoint did not answer in time: check the network path .*--endpoint \/ SGR_ENDPOINT/,
    },
    {
      name: 'ECONNRESET says the endpoint closed the connection',
      error: systemError('ECONNRESET', 'read ECONNRESET'),
      action: 'ListAccounts',
      code: 'NetworkingError',
      says: /^ECONNRESET: the Organizations endpoint closed the connection: check --endpoint \/ SGR_ENDPOINT \(.*http:\/\/.*https:\/\//,
    },
    {
      name: 'a TLS record error gives OpenSSL’s reason and says to write http://',
      error: systemError(
        'EPROTO',
        'write EPROTO 40CD737C627F0000:error:0A00010B:SSL routines:tls_validate_record_header:wrong version number:../deps/openssl/openssl/ssl/record/methods/tlsany_meth.c:77:\n',
      ),
      code: 'NetworkingError',
      says: /^EPROTO: TLS with the EC2 endpoint failed \(wrong version number\): check --endpoint \/ SGR_ENDPOINT .*write http:\/\/.*NODE_EXTRA_CA_CERTS$/,
    },
    {
      name: 'a certificate error is a TLS failure with its reason',
      error: systemError('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'),
      code: 'NetworkingError',
      says: /^DEPTH_ZERO_SELF_SIGNED_CERT: TLS with the EC2 endpoint failed \(self-signed certificate\)/,
    },
  ];
  for (const { name, error, action, code, says } of cases) {
    it(name, () => {
      const mapped = toEc2Error(error, action ?? 'DescribeSecurityGroups');
      expect(mapped.code).toBe(code);
      expect(mapped.message).toMatch(says);
      expect(mapped.message).not.toContain('\n');
    });
  }

  it('names the host and port the request went to, never the URL’s user name or password', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const client = new STSClient({
      region: 'us-east-1',
      endpoint: `http://admin:hunter2@localhost:${port}`,
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI' },
      maxAttempts: 1,
    });
    adviseFailures(client, 'STS');
    try {
      const error = await client.send(new GetCallerIdentityCommand({})).then(
        () => undefined,
        (e: unknown) => e,
      );
      const mapped = toEc2Error(error, 'GetCallerIdentity');
      expect(mapped.message).toMatch(
        new RegExp(`^(ECONNREFUSED|EADDRNOTAVAIL): .*the STS endpoint localhost:${port}[: ]`),
      );
      for (const secret of ['admin', 'hunter2', 'AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI'])
        expect(mapped.message).not.toContain(secret);
    } finally {
      client.destroy();
    }
  });
});

describe('an HTTP answer without an AWS error code', () => {
  /** What the SDK raises for a response it could read no error code from. */
  function codeless(status: number): Error {
    return Object.assign(new Error('UnknownError'), {
      name: 'Unknown',
      $fault: status >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode: status },
    });
  }

  it('names the service that answered (STS for GetCallerIdentity), and a 404 says the URL is wrong', () => {
    const mapped = toEc2Error(codeless(404), 'GetCallerIdentity');
    expect(mapped.code).toBe('UnknownError');
    expect(mapped.statusCode).toBe(404);
    expect(mapped.message).toBe(
      'the STS endpoint answered HTTP 404 without an AWS error code: the endpoint URL is probably wrong (a path after host:port, or a server that is not STS); check --endpoint / SGR_ENDPOINT (and AWS_ENDPOINT_URL*, if set): write the scheme, host and port only, e.g. http://127.0.0.1:5000',
    );
  });

  it('a 5xx is InternalError: the endpoint failed; an emulator fails so for a region it does not know', () => {
    const mapped = toEc2Error(codeless(500), 'DescribeSecurityGroups');
    expect(mapped.code).toBe('InternalError');
    expect(mapped.message).toMatch(
      /^the EC2 endpoint answered HTTP 500 without an AWS error code: the endpoint failed; retry later, .*--region \/ AWS_REGION/,
    );
  });

  it('another status says something other than the service answered', () => {
    const mapped = toEc2Error(codeless(403), 'ListAccounts');
    expect(mapped.code).toBe('UnknownError');
    expect(mapped.message).toMatch(
      /^the Organizations endpoint answered HTTP 403 without an AWS error code, so it is probably not Organizations .*--endpoint/,
    );
  });

  it('names the host:port the request went to', async () => {
    const server = createHttpServer((_request, response) => response.writeHead(404).end('not here'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const client = new STSClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}/path?x=1`,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    });
    adviseFailures(client, 'STS');
    try {
      const error = await client.send(new GetCallerIdentityCommand({})).then(
        () => undefined,
        (e: unknown) => e,
      );
      const mapped = toEc2Error(error, 'GetCallerIdentity');
      expect(mapped.message).toMatch(
        new RegExp(`^the STS endpoint 127\\.0\\.0\\.1:${port} answered HTTP 404 without an AWS error code: `),
      );
    } finally {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('formatHostPort: an IPv6 address in brackets exactly once', () => {
  it('brackets a bare IPv6 address and keeps the brackets the URL already has', () => {
    expect(formatHostPort('::1', 5000)).toBe('[::1]:5000');
    expect(formatHostPort('[::1]', 5000)).toBe('[::1]:5000');
    expect(formatHostPort('127.0.0.1', 5000)).toBe('127.0.0.1:5000');
    expect(formatHostPort('sts.us-east-1.amazonaws.com')).toBe('sts.us-east-1.amazonaws.com');
  });

  it('an http://[::1]:PORT endpoint is named [::1]:PORT in the advice, not [[::1]]:PORT', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const client = new STSClient({
      region: 'us-east-1',
      endpoint: `http://[::1]:${port}`,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      maxAttempts: 1,
    });
    adviseFailures(client, 'STS');
    try {
      const error = await client.send(new GetCallerIdentityCommand({})).then(
        () => undefined,
        (e: unknown) => e,
      );
      const mapped = toEc2Error(error, 'GetCallerIdentity');
      expect(mapped.message).toContain(`the STS endpoint [::1]:${port}`);
      expect(mapped.message).not.toContain('[[');
    } finally {
      client.destroy();
    }
  });
});

describe('profileProblem: what is wrong with AWS_PROFILE’s profile', () => {
  const files = (
    configFile: SharedFiles['configFile'],
    credentialsFile: SharedFiles['credentialsFile'] = {},
  ): SharedFiles => ({
    configFile,
    credentialsFile,
    configPath: '/home/me/.aws/config',
    credentialsPath: '/home/me/.aws/credentials',
  });

  it('a profile in neither file: says where it looked and which profiles are there', () => {
    expect(
      profileProblem(
        'prod',
        files(
          { dev: { region: 'us-east-1' }, 'sso-session.corp': {}, 'services.s3': {}, 'team.eu': {} },
          { ci: {} },
        ),
      ),
    ).toBe(
      'AWS_PROFILE=prod, but no profile prod is in /home/me/.aws/config ([profile prod]) or /home/me/.aws/credentials ([prod]) (profiles there: ci, dev, team.eu); fix the name, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at the files that hold it',
    );
  });

  it('a profile without credentials: says which settings would give it some', () => {
    expect(profileProblem('dev', files({ dev: { region: 'us-east-1' } }))).toBe(
      'AWS_PROFILE=dev: profile dev (/home/me/.aws/config) holds no credentials; add aws_access_key_id and aws_secret_access_key, or role_arn with source_profile, or sso_session (then `aws sso login --profile dev`), or credential_process',
    );
  });

  it('half a key pair: names the missing key, never the value of the present one', () => {
    const problem = profileProblem('dev', files({}, { dev: { aws_access_key_id: 'AKIAIOSFODNN7EXAMPLE' } }));
    expect(problem).toBe(
      'AWS_PROFILE=dev: profile dev (/home/me/.aws/credentials) has aws_access_key_id but no aws_secret_access_key; add it, or remove the key and use another credential source',
    );
    const secret = profileProblem('dev', files({ dev: { aws_secret_access_key: 'wJalrXUtnFEMI' } }));
    expect(secret).toMatch(/has aws_secret_access_key but no aws_access_key_id/);
    expect(secret).not.toContain('wJalrXUtnFEMI');
  });

  it('a profile with another source (SSO, a role, a process) is not diagnosed here', () => {
    expect(profileProblem('sso', files({ sso: { sso_session: 'corp' } }))).toBeUndefined();
    expect(
      profileProblem('role', files({ role: { role_arn: 'arn:aws:iam::1:role/x', source_profile: 'dev' } })),
    ).toBeUndefined();
    expect(
      profileProblem('keys', files({}, { keys: { aws_access_key_id: 'a', aws_secret_access_key: 'b' } })),
    ).toBeUndefined();
  });

  it('without AWS_PROFILE, a credentials failure keeps the one-line default-chain advice', () => {
    expect(NO_CREDENTIALS).toMatch(/^no AWS credentials found; set AWS_ACCESS_KEY_ID/);
  });
});

describe('sdkLogger: the SDK’s warnings as events', () => {
  function capture(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
          lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    return { logger: createLogger({ level: 'debug', destination: stream }), lines };
  }

  it('turns the multiple-credential-sources warning into one aws.warning in our words', () => {
    const { logger, lines } = capture();
    const sdk = sdkLogger(logger, { AWS_PROFILE: 'team' });
    sdk.warn(`@aws-sdk/credential-provider-node - defaultProvider::fromEnv WARNING:
    Multiple credential sources detected:
    Both AWS_PROFILE and the pair AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY static credentials are set.`);
    expect(lines).toEqual([
      expect.objectContaining({
        event: 'aws.warning',
        level: 'warn',
        reason: 'multiple-credential-sources',
        profile: 'team',
        warning:
          'both AWS_PROFILE=team and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are set; the AWS SDK uses the profile team and ignores the keys: unset one of them',
      }),
    ]);
  });

  it('is the logger of the EC2 client’s HTTP handler too (its socket-capacity warning is an event)', async () => {
    const { logger, lines } = capture();
    const client = createEc2Client('us-east-1', { endpoint: 'http://127.0.0.1:9', logger });
    try {
      // The handler's resolved configuration (NodeHttpHandler keeps it behind configProvider).
      const handler = client.config.requestHandler as unknown as {
        configProvider: Promise<{ logger?: { warn(text: string): void } }>;
      };
      (await handler.configProvider).logger?.warn(
        '@smithy/node-http-handler:WARN - socket usage at capacity=50 and 3 additional requests are enqueued.',
      );
      expect(lines).toEqual([
        expect.objectContaining({
          event: 'aws.warning',
          reason: 'sdk',
          warning:
            '@smithy/node-http-handler:WARN - socket usage at capacity=50 and 3 additional requests are enqueued.',
        }),
      ]);
    } finally {
      client.destroy();
    }
  });

  it('passes any other warning as one sanitized line, and drops the SDK’s info, error and debug lines', () => {
    const { logger, lines } = capture();
    const sdk = sdkLogger(logger, {});
    sdk.info({ clientName: 'EC2Client', input: {} });
    sdk.error({ clientName: 'EC2Client', error: 'x' });
    sdk.debug('@aws-sdk/credential-provider-node - defaultProvider::fromEnv');
    sdk.warn('something\n  odd with key AKIAIOSFODNN7EXAMPLE');
    expect(lines).toEqual([
      expect.objectContaining({
        event: 'aws.warning',
        reason: 'sdk',
        warning: 'something odd with key [redacted]',
      }),
    ]);
  });
});
