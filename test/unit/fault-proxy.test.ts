// The fault proxy itself (test/helpers/fault-proxy.ts), driven with the raw SDK against moto: what
// each fault looks like to a client, whether moto saw the request, and that the counts are right.
import {
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ec2ErrorXml, startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startMoto, type MotoServer } from '../helpers/moto.js';

let moto: MotoServer;
let proxy: FaultProxy;
const clients: EC2Client[] = [];

beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto.stop();
});
beforeEach(async () => {
  await moto.reset();
  proxy = await startFaultProxy(moto.endpoint);
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await proxy.stop();
});

/** An SDK client through the proxy; maxAttempts 1 unless a test is about retries. */
function client(options: { maxAttempts?: number; requestTimeout?: number } = {}): EC2Client {
  const ec2 = new EC2Client({
    region: 'us-east-1',
    endpoint: proxy.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: options.maxAttempts ?? 1,
    ...(options.requestTimeout !== undefined
      ? {
          requestHandler: new NodeHttpHandler({
            requestTimeout: options.requestTimeout,
            throwOnRequestTimeout: true,
          }),
        }
      : {}),
  });
  clients.push(ec2);
  return ec2;
}

/** The rejection of `promise` (fails the test when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

async function groupNamesInMoto(): Promise<string[]> {
  const out = await moto.ec2().send(new DescribeSecurityGroupsCommand({}));
  return (out.SecurityGroups ?? []).map((group) => group.GroupName ?? '');
}

describe('fault proxy', () => {
  it('forwards requests untouched and counts them by action and attempt', async () => {
    const ec2 = client();
    const vpcs = await ec2.send(new DescribeVpcsCommand({}));
    expect(vpcs.Vpcs?.length).toBeGreaterThan(0);
    await ec2.send(new DescribeSecurityGroupsCommand({}));
    await ec2.send(new DescribeSecurityGroupsCommand({}));

    expect(proxy.counts()).toEqual({ DescribeVpcs: 1, DescribeSecurityGroups: 2 });
    expect(proxy.forwardedCounts()).toEqual({ DescribeVpcs: 1, DescribeSecurityGroups: 2 });
    expect(proxy.attemptCounts()).toEqual({ 'DescribeVpcs#1': 1, 'DescribeSecurityGroups#1': 2 });
    expect(proxy.calls().map((call) => [call.action, call.status, call.fault])).toEqual([
      ['DescribeVpcs', 200, undefined],
      ['DescribeSecurityGroups', 200, undefined],
      ['DescribeSecurityGroups', 200, undefined],
    ]);
    proxy.resetCounts();
    expect(proxy.counts()).toEqual({});
  });

  it.each([
    [503, 'RequestLimitExceeded', 'Request limit exceeded.'],
    [500, 'InternalError', 'An internal error has occurred.'],
    [503, 'Unavailable', 'The server is overloaded and cannot handle the request.'],
  ])('answers with EC2 error XML: %i %s, and moto never sees the call', async (status, code, message) => {
    proxy.addRule({ action: 'CreateSecurityGroup', fault: { kind: 'error', status, code } });
    const error = await rejection(
      client().send(new CreateSecurityGroupCommand({ GroupName: 'throttled', Description: 'x' })),
    );
    expect(error['name']).toBe(code);
    expect(error['message']).toBe(message);
    expect((error['$metadata'] as { httpStatusCode?: number }).httpStatusCode).toBe(status);
    expect(proxy.counts()).toEqual({ CreateSecurityGroup: 1 });
    expect(proxy.forwardedCounts()).toEqual({});
    expect(proxy.calls()).toMatchObject([{ action: 'CreateSecurityGroup', fault: 'error', status }]);
    expect(await groupNamesInMoto()).not.toContain('throttled');
  });

  it('writes the error document EC2 writes', async () => {
    proxy.addRule({ fault: { kind: 'error', status: 503, code: 'RequestLimitExceeded' } });
    const response = await fetch(proxy.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeSecurityGroups&Version=2016-11-15',
    });
    expect(response.status).toBe(503);
    expect(response.headers.get('content-type')).toMatch(/^text\/xml/);
    const body = await response.text();
    expect(body).toMatch(
      /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>RequestLimitExceeded<\/Code><Message>Request limit exceeded\.<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/,
    );
    expect(proxy.counts()).toEqual({ DescribeSecurityGroups: 1 });
    expect(ec2ErrorXml('A&B', '<x>', 'id')).toContain('<Code>A&amp;B</Code><Message>&lt;x&gt;</Message>');
  });

  it('reset before forwarding: a network error, and the write never happened', async () => {
    proxy.addRule({ action: 'CreateSecurityGroup', fault: { kind: 'reset' } });
    const error = await rejection(
      client().send(new CreateSecurityGroupCommand({ GroupName: 'reset-before', Description: 'x' })),
    );
    expect(error['code']).toBe('ECONNRESET');
    // No HTTP response at all, so no status code.
    expect((error['$metadata'] as { httpStatusCode?: number }).httpStatusCode).toBeUndefined();
    expect(proxy.calls()).toMatchObject([
      { action: 'CreateSecurityGroup', fault: 'reset', forwarded: false },
    ]);
    expect(await groupNamesInMoto()).not.toContain('reset-before');
  });

  it('reset after forwarding: a network error, but moto applied the write', async () => {
    proxy.addRule({ action: 'CreateSecurityGroup', fault: { kind: 'reset', when: 'after' } });
    const ec2 = client();
    const error = await rejection(
      ec2.send(new CreateSecurityGroupCommand({ GroupName: 'reset-after', Description: 'x' })),
    );
    expect(error['code']).toBe('ECONNRESET');
    expect(proxy.calls()).toMatchObject([
      { action: 'CreateSecurityGroup', fault: 'reset', forwarded: true, status: 200 },
    ]);
    expect(await groupNamesInMoto()).toContain('reset-after');
    // The rule fired once (times defaults to 1): the same client carries on normally.
    await ec2.send(new DescribeVpcsCommand({}));
    expect(proxy.counts()).toEqual({ CreateSecurityGroup: 1, DescribeVpcs: 1 });
  });

  it('fires on the nth matching call for `times` calls, and only for the chosen action', async () => {
    proxy.addRule({
      action: /^Describe(SecurityGroups|Vpcs)$/,
      nth: 2,
      times: 2,
      fault: { kind: 'error', status: 503, code: 'Unavailable' },
    });
    const ec2 = client();
    const outcomes: string[] = [];
    for (const command of [
      new DescribeVpcsCommand({}),
      new DescribeSecurityGroupsCommand({}),
      new CreateSecurityGroupCommand({ GroupName: 'g', Description: 'x' }),
      new DescribeVpcsCommand({}),
      new DescribeSecurityGroupsCommand({}),
    ] as const) {
      try {
        await ec2.send(command as DescribeVpcsCommand);
        outcomes.push('ok');
      } catch (error) {
        outcomes.push((error as Error).name);
      }
    }
    expect(outcomes).toEqual(['ok', 'Unavailable', 'ok', 'Unavailable', 'ok']);
    expect(proxy.counts()).toEqual({ DescribeVpcs: 2, DescribeSecurityGroups: 2, CreateSecurityGroup: 1 });
    expect(proxy.forwardedCounts()).toEqual({
      DescribeVpcs: 1,
      DescribeSecurityGroups: 1,
      CreateSecurityGroup: 1,
    });
  });

  it("matches the SDK's attempt number: first attempts fail, the retry goes through", async () => {
    proxy.addRule({
      attempt: 1,
      times: 'always',
      fault: { kind: 'error', status: 503, code: 'RequestLimitExceeded' },
    });
    const ec2 = client({ maxAttempts: 3 });
    const first = await ec2.send(new DescribeVpcsCommand({}));
    const second = await ec2.send(new DescribeSecurityGroupsCommand({}));
    expect(first.$metadata.attempts).toBe(2);
    expect(second.$metadata.attempts).toBe(2);
    expect(proxy.attemptCounts()).toEqual({
      'DescribeVpcs#1': 1,
      'DescribeVpcs#2': 1,
      'DescribeSecurityGroups#1': 1,
      'DescribeSecurityGroups#2': 1,
    });
    expect(
      proxy.calls().map((call) => `${call.action}#${call.attempt}:${call.fault ?? call.status}`),
    ).toEqual([
      'DescribeVpcs#1:error',
      'DescribeVpcs#2:200',
      'DescribeSecurityGroups#1:error',
      'DescribeSecurityGroups#2:200',
    ]);
    // With the SDK's retries off, every call is a first attempt and fails.
    const error = await rejection(client().send(new DescribeVpcsCommand({})));
    expect(error['name']).toBe('RequestLimitExceeded');
  });

  it('delays a call by the given time, then forwards it', async () => {
    proxy.addRule({ action: 'DescribeVpcs', fault: { kind: 'delay', ms: 600 } });
    const ec2 = client();
    const started = Date.now();
    const out = await ec2.send(new DescribeVpcsCommand({}));
    expect(Date.now() - started).toBeGreaterThanOrEqual(590);
    expect(out.Vpcs?.length).toBeGreaterThan(0);
    expect(proxy.calls()).toMatchObject([
      { action: 'DescribeVpcs', fault: 'delay', forwarded: true, status: 200 },
    ]);
  });

  it('hangs a call until the client gives up', async () => {
    proxy.addRule({ action: 'DescribeVpcs', times: 'always', fault: { kind: 'hang' } });
    const started = Date.now();
    const error = await rejection(client({ requestTimeout: 400 }).send(new DescribeVpcsCommand({})));
    const waited = Date.now() - started;
    expect(error['name']).toBe('TimeoutError');
    expect(waited).toBeGreaterThanOrEqual(390);
    expect(waited).toBeLessThan(5_000);
    expect(proxy.calls()).toMatchObject([{ action: 'DescribeVpcs', fault: 'hang', forwarded: false }]);
  });

  it('refuses connections, then listens again on the same port', async () => {
    const ec2 = client();
    await ec2.send(new DescribeVpcsCommand({})); // leaves a kept-alive connection that refuse() must drop
    await proxy.refuse();
    const error = await rejection(ec2.send(new DescribeVpcsCommand({})));
    expect(error['code']).toBe('ECONNREFUSED');
    const fresh = await rejection(client().send(new DescribeVpcsCommand({})));
    expect(fresh['code']).toBe('ECONNREFUSED');
    expect(proxy.counts()).toEqual({ DescribeVpcs: 1 });

    await proxy.restore();
    expect(proxy.endpoint).toBe(`http://127.0.0.1:${proxy.port}`);
    const out = await ec2.send(new DescribeVpcsCommand({}));
    expect(out.Vpcs?.length).toBeGreaterThan(0);
    expect(proxy.counts()).toEqual({ DescribeVpcs: 2 });
  });

  it('clearRules() removes every rule', async () => {
    proxy.addRule({ times: 'always', fault: { kind: 'error', status: 503, code: 'RequestLimitExceeded' } });
    const ec2 = client();
    expect((await rejection(ec2.send(new DescribeVpcsCommand({}))))['name']).toBe('RequestLimitExceeded');
    proxy.clearRules();
    await ec2.send(new DescribeVpcsCommand({}));
    expect(proxy.calls().map((call) => call.fault)).toEqual(['error', undefined]);
  });
});
