// plan with invalid policies: the report on stdout is still one document (JSON) or a comment
// (Markdown) that shows the errors, so a pull request's plan comment is never empty (SPEC "Output
// streams"). No AWS call is made, so no emulator is needed.
import { describe, expect, it } from 'vitest';
import { eventsNamed, runCli, writePolicies } from '../helpers/cli.js';

const ENV = { PATH: process.env['PATH'] ?? '', HOME: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' };

const INVALID = `apiVersion: sg-reconciler/v1
kind: IngressPolicy
metadata:
  name: office-ssh
spec:
  region: us-east-1
  targets: [{ groupId: sg-0123456789abcdef0 }]
  ingress:
    - protocol: tcp
      ports: 443-80
      sources:
        - cidr: 10.0.0.5/24
`;

async function invalidDir(): Promise<string> {
  return writePolicies({ 'ssh.yaml': INVALID });
}

describe('plan over invalid policies', () => {
  it('--format json prints one document with valid: false and every error located (exit 3)', async () => {
    const dir = await invalidDir();

    const result = await runCli(['plan', '--policies', dir, '--format', 'json'], { env: ENV });

    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toEqual({
      formatVersion: 1,
      valid: false,
      errors: [
        {
          file: `${dir}/ssh.yaml`,
          line: 10,
          column: 14,
          path: 'spec.ingress[0].ports',
          error: expect.stringContaining('write the lower port first: "80-443"') as unknown,
        },
        {
          file: `${dir}/ssh.yaml`,
          line: 12,
          column: 17,
          path: 'spec.ingress[0].sources[0].cidr',
          error: expect.stringContaining('write 10.0.0.0/24') as unknown,
        },
      ],
    });
    // Events stay on stderr, one policy.invalid per error.
    expect(eventsNamed(result.events, 'policy.invalid')).toHaveLength(2);
  });

  it('--format markdown prints a table of the errors with file and line (exit 3)', async () => {
    const dir = await invalidDir();

    const result = await runCli(['plan', '--policies', dir, '--format', 'markdown'], { env: ENV });

    expect(result.code).toBe(3);
    const lines = result.stdout.split('\n');
    expect(lines.slice(0, 6)).toEqual([
      '### sg-reconciler plan',
      '',
      ':x: **The policies are invalid: 2 errors. Nothing was planned.**',
      '',
      '| file | line | column | field | error |',
      '|---|---|---|---|---|',
    ]);
    expect(lines[6]).toMatch(
      new RegExp(
        `^\\| \`${dir}/ssh\\.yaml\` \\| 10 \\| 14 \\| \`spec\\.ingress\\[0\\]\\.ports\` \\| ports "443-80" runs backwards`,
      ),
    );
    expect(lines[7]).toMatch(
      /^\| `.*ssh\.yaml` \| 12 \| 17 \| `spec\.ingress\[0\]\.sources\[0\]\.cidr` \| cidr 10\.0\.0\.5\/24 has host bits set/,
    );
  });

  it('the text report is the located errors on stdout (plan > plan.txt keeps them) and says nothing was planned, exit 3', async () => {
    const dir = await invalidDir();

    const result = await runCli(['plan', '--policies', dir], { env: ENV });

    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(
      new RegExp(`^${dir}/ssh\\.yaml:10:14  spec\\.ingress\\[0\\]\\.ports  ports "443-80" runs backwards`),
    );
    expect(result.stdout).toContain(`2 errors in ${dir}; nothing was planned\n`);
    expect(result.stdout).not.toContain('nothing was applied');
    // The events stay on stderr, one per error.
    expect(eventsNamed(result.events, 'policy.invalid')).toHaveLength(2);
  });

  it('a valid plan says valid: true in its JSON document', async () => {
    const dir = await writePolicies({
      'ssh.yaml': INVALID.replace('443-80', '80-443').replace('10.0.0.5/24', '10.0.0.0/24'),
      'sgs.json': '{"SecurityGroups": []}',
    });
    const result = await runCli(
      [
        'plan',
        '--policies',
        dir,
        '--format',
        'json',
        '--snapshot',
        `${dir}/sgs.json`,
        '--region',
        'us-east-1',
      ],
      { env: ENV },
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ formatVersion: 1, valid: true, status: 'completed' });
  });
});
