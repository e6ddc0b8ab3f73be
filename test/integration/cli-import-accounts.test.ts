// `import` across accounts (SPEC "Adopting existing groups": `--accounts` as for plan), end to end:
// the built CLI against moto, whose STS AssumeRole of a role in account X returns credentials that
// work in X. Groups in the hub (the credentials' own account) and in a spoke are imported in one
// run; the spoke's policy names its account, and plan over the result finds nothing to do.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventsNamed, motoEnv, runCli, writePolicies } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { authorize, createGroup, defaultVpcId, ec2InAccount, MOTO_DEFAULT_ACCOUNT } from '../helpers/moto.js';

const emu = useEmulator({ proxy: true });

const HUB = MOTO_DEFAULT_ACCOUNT;
const SPOKE = '111111111111';
const REGION = 'us-east-1';

const INVENTORY = `apiVersion: sg-reconciler/v1
kind: AccountInventory
spec:
  roleName: sg-reconciler
  accounts:
    - id: "${HUB}"
      name: hub
    - id: "${SPOKE}"
      name: spoke
`;

/** An `app` group with two rules in `account`; returns its ID. */
async function appGroup(account: string, cidr: string): Promise<string> {
  const ec2 = await ec2InAccount(emu.moto.endpoint, account, REGION);
  const groupId = await createGroup(ec2, {
    name: 'app',
    vpcId: await defaultVpcId(ec2),
    tags: { team: 'payments' },
  });
  await authorize(ec2, groupId, [
    { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: cidr, Description: 'HTTPS' }] },
    { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, UserIdGroupPairs: [{ GroupId: groupId }] },
  ]);
  return groupId;
}

function cli(args: readonly string[]): ReturnType<typeof runCli> {
  return runCli(args, { env: motoEnv(emu.endpoint), timeoutMs: 90_000 });
}

describe('import across accounts', () => {
  it('imports the selected groups of every inventory account; plan over the result finds nothing to do', async () => {
    const hubGroup = await appGroup(HUB, '198.51.100.0/24');
    const spokeGroup = await appGroup(SPOKE, '203.0.113.0/24');
    const dir = await writePolicies({});
    const inventory = join(dir, 'accounts.yaml');
    await writeFile(inventory, INVENTORY);
    const out = join(dir, 'imported');

    const imported = await cli([
      'import',
      '--out',
      out,
      '--tag',
      'team=payments',
      '--accounts',
      inventory,
      '--region',
      REGION,
    ]);

    expect(imported.code, imported.stderr).toBe(0);
    const written = eventsNamed(imported.events, 'import.written')
      .map((e) => `${String(e['account'])}/${String(e['region'])}/${String(e['groupId'])}`)
      .sort();
    expect(written).toEqual([`${HUB}/${REGION}/${hubGroup}`, `${SPOKE}/${REGION}/${spokeGroup}`].sort());
    // Both groups are named `app`: each policy gets its group ID to stay unique.
    expect((await readdir(out)).sort()).toEqual([`app-${hubGroup}.yaml`, `app-${spokeGroup}.yaml`].sort());
    const spokeText = await readFile(join(out, `app-${spokeGroup}.yaml`), 'utf8');
    const hubText = await readFile(join(out, `app-${hubGroup}.yaml`), 'utf8');
    // The spoke's policy works in the spoke; the hub's (the credentials' own account) needs no selector.
    expect(spokeText).toContain(`accounts:\n    - id: "${SPOKE}"`);
    expect(hubText).not.toContain('accounts:');
    expect(spokeText).toContain('203.0.113.0/24');
    expect(spokeText).toContain('securityGroup: self');
    // One AssumeRole for the spoke; the hub is read with the credentials themselves.
    expect(emu.proxy.counts()['AssumeRole']).toBe(1);

    const validated = await cli(['validate', '--policies', out, '--accounts', inventory]);
    expect(validated.code, validated.stdout + validated.stderr).toBe(0);
    const planned = await cli([
      'plan',
      '--policies',
      out,
      '--accounts',
      inventory,
      '--format',
      'json',
      '--detailed-exitcode',
    ]);
    expect(planned.code, planned.stderr).toBe(0);
    const summary = (JSON.parse(planned.stdout) as { summary: Record<string, number> }).summary;
    expect(summary).toMatchObject({ groups: 2, missing: 0, drift: 0, descriptionDrift: 0, units: 2 });
  }, 180_000);

  it('an account it cannot reach: exit 1, the failure named, nothing written', async () => {
    await appGroup(HUB, '198.51.100.0/24');
    await appGroup(SPOKE, '203.0.113.0/24');
    const dir = await writePolicies({});
    const inventory = join(dir, 'accounts.yaml');
    await writeFile(inventory, INVENTORY);
    const out = join(dir, 'imported');
    emu.proxy.addRule({
      action: 'AssumeRole',
      times: 'always',
      fault: {
        kind: 'error',
        status: 403,
        code: 'AccessDenied',
        message: 'not authorized to perform: sts:AssumeRole',
      },
    });

    const imported = await cli([
      'import',
      '--out',
      out,
      '--all',
      '--accounts',
      inventory,
      '--region',
      REGION,
    ]);

    expect(imported.code, imported.stderr).toBe(1);
    expect(imported.stderr).toContain(`read failed: ${SPOKE}/${REGION} AssumeRole AccessDenied`);
    expect(imported.stderr).toContain('nothing was written');
    const failed = eventsNamed(imported.events, 'read.failed');
    expect(failed.map((e) => e['account'])).toEqual([SPOKE]);
    await expect(readdir(out)).rejects.toThrow(/ENOENT/);
  }, 120_000);
});
