// A missing IAM permission is named in the event, for reads and for writes (the built CLI via a proxy).
import { beforeEach, describe, expect, it } from 'vitest';
import { eventsNamed, motoEnv, runCli, writePolicies } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { createGroup, listIngressRules } from '../helpers/moto.js';

const emu = useEmulator({ proxy: true });
let dir: string;
let groupId: string;

const denied = {
  kind: 'error',
  status: 403,
  code: 'UnauthorizedOperation',
  message:
    'You are not authorized to perform this operation. Encoded authorization failure message: AbCdEf0123',
} as const;

beforeEach(async () => {
  groupId = await createGroup(emu.ec2, { name: 'iam', vpcId: emu.vpcId });
  dir = await writePolicies({
    'p.yaml': `apiVersion: sg-reconciler/v1
kind: IngressPolicy
metadata: { name: iam }
spec:
  targets: [{ groupId: ${groupId} }]
  ingress:
    - { protocol: tcp, ports: 22, sources: [{ cidr: 10.0.0.0/8 }] }
`,
  });
});

describe('UnauthorizedOperation', () => {
  it('on AuthorizeSecurityGroupIngress: rule.failed names the missing IAM action, exit 1', async () => {
    emu.proxy.addRule({ action: 'AuthorizeSecurityGroupIngress', times: 'always', fault: denied });

    const result = await runCli(['apply', '--policies', dir], { env: motoEnv(emu.endpoint) });

    expect(result.code).toBe(1);
    expect(eventsNamed(result.events, 'rule.failed')).toEqual([
      expect.objectContaining({
        groupId,
        errorCode: 'UnauthorizedOperation',
        error: expect.stringContaining('ec2:AuthorizeSecurityGroupIngress'),
      }),
    ]);
    expect(JSON.stringify(result.events)).not.toContain('AbCdEf0123');
    expect(await listIngressRules(emu.ec2, groupId)).toEqual([]);
  });

  it('on DescribeSecurityGroups: the pass fails naming the missing IAM action, and nothing is written', async () => {
    emu.proxy.addRule({ action: 'DescribeSecurityGroups', times: 'always', fault: denied });

    const result = await runCli(['apply', '--policies', dir], { env: motoEnv(emu.endpoint) });

    expect(result.code).toBe(1);
    const failure = [
      ...eventsNamed(result.events, 'read.failed'),
      ...eventsNamed(result.events, 'reconcile.failed'),
    ];
    expect(failure.length).toBeGreaterThan(0);
    for (const e of failure) {
      expect(e).toMatchObject({
        errorCode: 'UnauthorizedOperation',
        error: expect.stringContaining('ec2:DescribeSecurityGroups'),
      });
    }
    expect(emu.proxy.counts()['AuthorizeSecurityGroupIngress'] ?? 0).toBe(0);
  });
});
