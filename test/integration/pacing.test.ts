// Client-side pacing: a large apply spreads its writes instead of draining EC2's mutating-call bucket.
import { describe, expect, it } from 'vitest';
import { eventsNamed, motoEnv, runCli, writePolicies } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { createGroup } from '../helpers/moto.js';

const emu = useEmulator({ proxy: true });

describe('write pacing', () => {
  it('spreads AuthorizeSecurityGroupIngress calls to --write-rate after the burst', async () => {
    const groups: string[] = [];
    for (let i = 0; i < 8; i++)
      groups.push(await createGroup(emu.ec2, { name: `paced-${i}`, vpcId: emu.vpcId }));
    const dir = await writePolicies({
      'paced.yaml': `apiVersion: sg-reconciler/v1
kind: IngressPolicy
metadata:
  name: paced
spec:
  targets:
${groups.map((g) => `    - groupId: ${g}`).join('\n')}
  ingress:
    - protocol: tcp
      ports: 22
      sources: [{ cidr: 10.0.0.0/8 }]
`,
    });

    // 2 writes a second, bursts of 4: 8 writes cannot finish in under (8 - 4) / 2 = 2 seconds.
    const result = await runCli(['apply', '--policies', dir, '--write-rate', '2'], {
      env: motoEnv(emu.endpoint),
    });

    expect(result.code).toBe(0);
    expect(eventsNamed(result.events, 'rule.authorized')).toHaveLength(8);
    const writes = emu.proxy
      .calls()
      .filter((c) => c.action === 'AuthorizeSecurityGroupIngress')
      .map((c) => c.at)
      .sort((a, b) => a - b);
    expect(writes).toHaveLength(8);
    const spanMs = (writes.at(-1) ?? 0) - (writes[0] ?? 0);
    expect(spanMs).toBeGreaterThanOrEqual(1900);
  });

  it('rejects a write rate that is not a positive number', async () => {
    const dir = await writePolicies({});

    const result = await runCli(['apply', '--policies', dir, '--write-rate', '0'], {
      env: motoEnv(emu.endpoint),
    });

    expect(result.code).toBe(3);
    expect(result.stderr).toContain('--write-rate "0" is not a positive number');
  });
});
