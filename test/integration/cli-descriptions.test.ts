// The built CLI against moto: description drift is reported only, until `--update-descriptions`
// (or SGR_UPDATE_DESCRIPTIONS=true) sets the policy's text with UpdateSecurityGroupRuleDescriptionsIngress
// and leaves the rule's access as it was.
import { describe, expect, it } from 'vitest';
import { eventsNamed, motoEnv, runCli, writePolicies, type Event } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { authorize, createGroup, listIngressRules } from '../helpers/moto.js';

const emu = useEmulator();

/** sg with a declared SSH rule whose live description drifted, and a declared HTTPS rule that did not. */
async function driftedGroup(): Promise<{ groupId: string; dir: string }> {
  const groupId = await createGroup(emu.ec2, { name: 'web', vpcId: emu.vpcId });
  await authorize(emu.ec2, groupId, [
    {
      IpProtocol: 'tcp',
      FromPort: 22,
      ToPort: 22,
      IpRanges: [{ CidrIp: '10.0.0.0/8', Description: 'old ssh text' }],
    },
    {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'public HTTPS' }],
    },
  ]);
  const dir = await writePolicies({
    'web.yaml': [
      'apiVersion: sg-reconciler/v1',
      'kind: IngressPolicy',
      'metadata:',
      '  name: web',
      'spec:',
      `  targets: [{ groupId: ${groupId} }]`,
      '  ingress:',
      '    - protocol: tcp',
      '      ports: 22',
      '      description: SSH from the office',
      '      sources: [{ cidr: 10.0.0.0/8 }]',
      '    - protocol: tcp',
      '      ports: 443',
      '      description: public HTTPS',
      '      sources: [{ cidr: 0.0.0.0/0 }]',
      '',
    ].join('\n'),
  });
  return { groupId, dir };
}

/** Every ingress rule as [ruleId, protocol, from, to, cidr, description], sorted by port. */
async function liveRules(groupId: string): Promise<(string | number | undefined)[][]> {
  return (await listIngressRules(emu.ec2, groupId))
    .map((r) => [r.SecurityGroupRuleId, r.IpProtocol, r.FromPort, r.ToPort, r.CidrIpv4, r.Description])
    .sort((a, b) => Number(a[2]) - Number(b[2]));
}

function completed(events: readonly Event[]): Event {
  const done = eventsNamed(events, 'reconcile.completed');
  expect(done).toHaveLength(1);
  return done[0] as Event;
}

describe('--update-descriptions against EC2 (moto)', () => {
  it('without the option: apply changes nothing, and every plan format says the drift is reported only', async () => {
    const { groupId, dir } = await driftedGroup();
    const before = await liveRules(groupId);
    const env = motoEnv(emu.endpoint);

    const apply = await runCli(['apply', '--policies', dir], { env });
    const text = await runCli(['plan', '--policies', dir, '--detailed-exitcode'], { env });
    const json = await runCli(['plan', '--policies', dir, '--format', 'json'], { env });
    const markdown = await runCli(['plan', '--policies', dir, '--format', 'markdown'], { env });

    expect(apply.code, apply.stderr).toBe(0);
    expect(await liveRules(groupId)).toEqual(before);
    expect(eventsNamed(apply.events, 'rule.description_updated')).toEqual([]);
    expect(eventsNamed(apply.events, 'rule.description_drift')).toEqual([
      expect.objectContaining({
        groupId,
        fromPort: 22,
        live: 'old ssh text',
        desired: 'SSH from the office',
        reportedOnly: true,
      }),
    ]);
    // Reported only is no pending change: --detailed-exitcode says "nothing to do".
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ {2}! +tcp +22 .*"old ssh text" -> "SSH from the office".*reported only/m);
    const report = JSON.parse(json.stdout) as {
      summary: { changes: boolean; descriptionUpdates: number };
      groups: { descriptionDrift: { reportedOnly: boolean }[] }[];
    };
    expect(report.summary).toMatchObject({ changes: false, descriptionUpdates: 0 });
    expect(report.groups[0]?.descriptionDrift).toEqual([expect.objectContaining({ reportedOnly: true })]);
    expect(markdown.stdout).toContain('**reported only**: not changed without `--update-descriptions`');
    expect(markdown.stdout).not.toMatch(/^\| ~ \|/m);
  });

  it('plan --update-descriptions shows the change; apply --update-descriptions makes it with the access unchanged', async () => {
    const { groupId, dir } = await driftedGroup();
    const before = await liveRules(groupId);
    const env = motoEnv(emu.endpoint);

    const plan = await runCli(['plan', '--policies', dir, '--update-descriptions', '--detailed-exitcode'], {
      env,
    });
    const apply = await runCli(['apply', '--policies', dir, '--update-descriptions'], { env });
    const after = await liveRules(groupId);
    const replan = await runCli(['plan', '--policies', dir, '--format', 'json'], { env });

    expect(plan.code, plan.stderr).toBe(2);
    expect(plan.stdout).toMatch(/^ {2}~ +tcp +22 .*"old ssh text" -> "SSH from the office"/m);
    expect(apply.code, apply.stderr).toBe(0);
    // Same rule IDs, protocols, ports and networks; only the SSH rule's description changed.
    expect(after.map((r) => r.slice(0, 5))).toEqual(before.map((r) => r.slice(0, 5)));
    expect(after.map((r) => [r[2], r[5]])).toEqual([
      [22, 'SSH from the office'],
      [443, 'public HTTPS'],
    ]);
    expect(eventsNamed(apply.events, 'rule.description_updated')).toEqual([
      expect.objectContaining({
        groupId,
        protocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        source: { kind: 'cidr', value: '10.0.0.0/8' },
        ruleId: after[0]?.[0],
        live: 'old ssh text',
        desired: 'SSH from the office',
        policy: 'web',
      }),
    ]);
    expect(eventsNamed(apply.events, 'rule.authorized')).toEqual([]);
    expect(completed(apply.events)).toMatchObject({ descriptionsUpdated: 1, descriptionsFailed: 0 });
    const report = JSON.parse(replan.stdout) as { summary: { descriptionDrift: number } };
    expect(report.summary.descriptionDrift).toBe(0);
  });

  it('SGR_UPDATE_DESCRIPTIONS=true turns it on, =false leaves it off, anything else is invalid input', async () => {
    const { groupId, dir } = await driftedGroup();

    const off = await runCli(['apply', '--policies', dir], {
      env: motoEnv(emu.endpoint, { SGR_UPDATE_DESCRIPTIONS: 'false' }),
    });
    const offRules = await liveRules(groupId);
    const bad = await runCli(['apply', '--policies', dir], {
      env: motoEnv(emu.endpoint, { SGR_UPDATE_DESCRIPTIONS: 'maybe' }),
    });
    const on = await runCli(['apply', '--policies', dir], {
      env: motoEnv(emu.endpoint, { SGR_UPDATE_DESCRIPTIONS: 'true' }),
    });

    expect(off.code, off.stderr).toBe(0);
    expect(offRules[0]?.[5]).toBe('old ssh text');
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('SGR_UPDATE_DESCRIPTIONS="maybe" is not a boolean; write true or false');
    expect(eventsNamed(bad.events, 'config.invalid')).toEqual([
      expect.objectContaining({ option: '--update-descriptions' }),
    ]);
    expect(on.code, on.stderr).toBe(0);
    expect(eventsNamed(on.events, 'rule.description_updated')).toHaveLength(1);
    expect((await liveRules(groupId))[0]?.[5]).toBe('SSH from the office');
  });
});
