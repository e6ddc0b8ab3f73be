// Guardrails end to end (SPEC "Guardrails"): the built CLI with the shipped CIS 5.2/5.3 guardrail
// against moto. A pull request that opens SSH to the internet fails `validate` at the rule's source;
// a dated exception lets it through until its date (SGR_NOW is the test hook for "today"); a live
// violation created out of band shows in every plan format and stays in place after apply.
import { readFileSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { eventsNamed, motoEnv, runCli, writePolicies } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { authorize, createGroup, listIngressRules } from '../helpers/moto.js';

const emu = useEmulator();

const CIS = readFileSync('policies/guardrails/cis-admin-ports.yaml', 'utf8');

/** An IngressPolicy for the bastion group with one rule per `cidr: ports` entry. */
function policy(name: string, rules: readonly [number, string][]): string {
  return [
    'apiVersion: sg-reconciler/v1',
    'kind: IngressPolicy',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  targets: [{ groupName: bastion }]',
    '  ingress:',
    ...rules.flatMap(([port, cidr]) => [
      '    - protocol: tcp',
      `      ports: ${port}`,
      '      sources:',
      `        - cidr: ${cidr}`,
    ]),
    '',
  ].join('\n');
}

const EXCEPTION = `
  exceptions:
    - policy: break-glass
      expires: 2027-01-31
      reason: incident response access, ticket SEC-123
`;

describe('guardrails: validate', () => {
  it('fails a pull request that opens SSH to 0.0.0.0/0, at the rule source, naming the guardrail and what to do', async () => {
    const dir = await writePolicies({
      'guardrails/cis-admin-ports.yaml': CIS,
      'teams/bastion.yaml': policy('bastion-ssh', [
        [22, '198.51.100.0/24'],
        [22, '0.0.0.0/0'],
      ]),
    });

    const result = await runCli(['validate', '--policies', dir], { env: motoEnv(emu.endpoint) });

    expect(result.code).toBe(3);
    expect(result.stdout).toBe(
      `${dir}/teams/bastion.yaml:15:11  spec.ingress[1].sources[0]  tcp 22 from 0.0.0.0/0 is denied by guardrail cis-admin-ports (deny[0] at ${dir}/guardrails/cis-admin-ports.yaml:12:7); narrow the source to the networks that need access, or add to guardrail cis-admin-ports an exception for policy bastion-ssh with an expires date and a reason\n` +
        `1 error in ${dir}\n`,
    );
    expect(eventsNamed(result.events, 'policy.invalid')).toEqual([
      expect.objectContaining({
        file: `${dir}/teams/bastion.yaml`,
        line: 15,
        column: 11,
        path: 'spec.ingress[1].sources[0]',
        guardrail: 'cis-admin-ports',
        guardrailEntry: 0,
      }),
    ]);
  });

  it('passes a dated exception until its date, and from that date on names the date it expired', async () => {
    const dir = await writePolicies({
      'guardrails/cis-admin-ports.yaml': `${CIS}${EXCEPTION}`,
      'break-glass.yaml': policy('break-glass', [[22, '0.0.0.0/0']]),
    });
    const validate = (now: string) =>
      runCli(['validate', '--policies', dir], { env: motoEnv(emu.endpoint, { SGR_NOW: now }) });

    const before = await validate('2027-01-30');
    const on = await validate('2027-01-31');

    expect(before.code).toBe(0);
    expect(before.stdout).toBe(`1 policy in 2 files under ${dir} is valid\n`);
    expect(on.code).toBe(3);
    expect(on.stdout).toContain(
      'spec.ingress[0].sources[0]  tcp 22 from 0.0.0.0/0 is denied by guardrail cis-admin-ports',
    );
    expect(on.stdout).toContain('its exception for policy break-glass expired on 2027-01-31');
  });

  it('refuses a bad SGR_NOW with exit 3 instead of judging exceptions by a wrong date', async () => {
    const dir = await writePolicies({ 'guardrails/cis-admin-ports.yaml': CIS });
    const result = await runCli(['validate', '--policies', dir], {
      env: motoEnv(emu.endpoint, { SGR_NOW: 'next tuesday' }),
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('SGR_NOW "next tuesday" is not a date');
    // SGR_NOW is a test hook, not an option: nothing names a flag for it.
    expect(result.stderr).not.toContain('--now');
    const [invalid] = eventsNamed(result.events, 'config.invalid');
    expect(invalid).toEqual(
      expect.objectContaining({
        error:
          'SGR_NOW "next tuesday" is not a date; write an ISO date or date-time, e.g. SGR_NOW=2027-01-31, or unset it',
      }),
    );
    expect(invalid).not.toHaveProperty('option');
  });

  it('takes no --now flag: the clock hook is the SGR_NOW variable only (exit 3, unknown option)', async () => {
    const dir = await writePolicies({ 'guardrails/cis-admin-ports.yaml': CIS });
    const result = await runCli(['validate', '--policies', dir, '--now', '2020-01-01'], {
      env: motoEnv(emu.endpoint),
    });
    expect(result.code).toBe(3);
    expect(eventsNamed(result.events, 'config.invalid')).toEqual([
      expect.objectContaining({ errorCode: 'commander.unknownOption' }),
    ]);
  });
});

describe('guardrails: live violations', () => {
  it('a rule created out of band shows in plan (text, JSON, Markdown) and stays in place after apply', async () => {
    const bastion = await createGroup(emu.ec2, { name: 'bastion', vpcId: emu.vpcId });
    // Someone opens SSH to the world by hand, outside the tool.
    await authorize(emu.ec2, bastion, [
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
    ]);
    const [manual] = await listIngressRules(emu.ec2, bastion);
    const dir = await writePolicies({
      'guardrails/cis-admin-ports.yaml': CIS,
      'bastion.yaml': policy('bastion-https', [[443, '198.51.100.0/24']]),
    });
    const run = (args: string[]) => runCli([...args, '--policies', dir], { env: motoEnv(emu.endpoint) });

    const text = await run(['plan']);
    const json = await run(['plan', '--format', 'json']);
    const markdown = await run(['plan', '--format', 'markdown']);
    const apply = await run(['apply']);

    const violation = {
      event: 'rule.violation',
      level: 'warn',
      guardrail: 'cis-admin-ports',
      guardrailEntry: 0,
      account: expect.stringMatching(/^[0-9]{12}$/) as unknown,
      region: 'us-east-1',
      groupId: bastion,
      protocol: 'tcp',
      fromPort: 22,
      toPort: 22,
      source: { kind: 'cidr', value: '0.0.0.0/0' },
      ruleId: manual?.SecurityGroupRuleId,
    };
    expect(text.code).toBe(0);
    expect(eventsNamed(text.events, 'rule.violation')).toEqual([expect.objectContaining(violation)]);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toMatch(/, 1 GUARDRAIL VIOLATION($|,)/);
    expect(lines[2]).toBe(
      '!!! GUARDRAIL VIOLATIONS: 1 live rule that a guardrail denies (left in place: sg-reconciler never revokes; remove them by hand)',
    );
    expect(lines[3]).toMatch(
      new RegExp(
        `^  [0-9]{12} / us-east-1 +${bastion} +tcp +22 +cidr 0\\.0\\.0\\.0/0 +${manual?.SecurityGroupRuleId} +guardrail cis-admin-ports deny\\[0\\]$`,
      ),
    );

    const doc = JSON.parse(json.stdout) as {
      summary: { violations: number };
      guardrails: { checked: string[]; violations: unknown[] };
    };
    expect(doc.summary.violations).toBe(1);
    expect(doc.guardrails.checked).toEqual(['cis-admin-ports']);
    const { event: _, level: __, ...fields } = violation;
    expect(doc.guardrails.violations).toEqual([expect.objectContaining(fields)]);

    expect(markdown.stdout).toContain('#### :no_entry: Guardrail violations: 1 live rule a guardrail denies');
    expect(markdown.stdout).toMatch(
      new RegExp(`\\| [0-9]{12} / us-east-1 \\| \`${bastion}\` \\| tcp \\| 22 \\| \`0\\.0\\.0\\.0/0\` \\|`),
    );

    // apply authorizes what the policy wants, reports the violation again, and revokes nothing.
    expect(apply.code).toBe(0);
    expect(eventsNamed(apply.events, 'rule.violation')).toEqual([expect.objectContaining(violation)]);
    expect(eventsNamed(apply.events, 'rule.authorized')).toHaveLength(1);
    const live = await listIngressRules(emu.ec2, bastion);
    expect(live.map((r) => [r.FromPort, r.CidrIpv4]).sort()).toEqual([
      [22, '0.0.0.0/0'],
      [443, '198.51.100.0/24'],
    ]);
    expect(live.find((r) => r.FromPort === 22)?.SecurityGroupRuleId).toBe(manual?.SecurityGroupRuleId);
  }, 120_000);
});

describe('guardrails: a set still being written', () => {
  it('apply waits until the last write is 2 s old and reads the whole file: a guardrail at its end still blocks', async () => {
    await createGroup(emu.ec2, { name: 'bastion', vpcId: emu.vpcId });
    const dir = await writePolicies({});
    const file = join(dir, 'bastion.yaml');
    // A slow, non-atomic writer: the rule first, the guardrail that denies it 3 s later.
    await writeFile(file, policy('bastion-ssh', [[22, '0.0.0.0/0']]));
    const writing = (async () => {
      for (let i = 0; i < 10; i++) {
        await sleep(300);
        await appendFile(file, '# still writing\n');
      }
      await appendFile(file, `---\n${CIS}`);
    })();

    const result = await runCli(['apply', '--policies', dir], { env: motoEnv(emu.endpoint) });
    await writing;

    expect(result.code, result.stdout + result.stderr).toBe(3);
    expect(eventsNamed(result.events, 'authorize.requested')).toEqual([]);
    expect(eventsNamed(result.events, 'policy.invalid')).toEqual([
      expect.objectContaining({ guardrail: 'cis-admin-ports' }),
    ]);
    // It waited for the writer (3 s) and the settle window (2 s), not less.
    expect(result.durationMs).toBeGreaterThanOrEqual(5_000);
  }, 60_000);
});
