// `npm run demo`: the whole product against a local EC2 emulator, in one command.
// Starts moto_server on a free loopback port, creates the security groups the example policies in
// policies/ target, runs `sg-reconciler apply` and then `sg-reconciler plan --detailed-exitcode`
// with the real CLI, then shows the CIS guardrail (policies/guardrails/) at work: a pull request
// that opens SSH to the internet fails `validate`, and SSH opened to the internet by hand shows up
// as a guardrail violation in `plan` and is left in place. Stops the emulator. Nothing leaves this
// machine.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatEvent } from '../dist/log-pretty.js';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DescribeVpcsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';

const root = fileURLToPath(new URL('..', import.meta.url));
const region = 'us-east-1';
const credentials = { accessKeyId: 'demo', secretAccessKey: 'demo' };

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function startMoto() {
  const which = spawnSync('sh', ['-c', 'command -v moto_server']);
  if (which.status !== 0) {
    throw new Error('moto_server not found on PATH; install it with: pip install "moto[server]"');
  }
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const ec2 = new EC2Client({ region, endpoint, credentials, maxAttempts: 1 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await ec2.send(new DescribeVpcsCommand({}));
      break;
    } catch (error) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill();
        throw new Error(`moto_server did not answer EC2 calls on ${endpoint}: ${error.message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { endpoint, ec2, stop: () => child.kill('SIGTERM') };
}

async function group(ec2, name, vpcId, tags) {
  const { GroupId } = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: name, Description: `demo ${name}`, VpcId: vpcId }),
  );
  if (tags) {
    await ec2.send(
      new CreateTagsCommand({
        Resources: [GroupId],
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  }
  console.log(`  created ${GroupId} ${name} in ${vpcId}${tags ? ` tags ${JSON.stringify(tags)}` : ''}`);
  return GroupId;
}

function cli(args, endpoint) {
  const result = spawnSync(process.execPath, [`${root}dist/cli/main.js`, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: region,
      SGR_ENDPOINT: endpoint,
    },
  });
  return result;
}

/** The events as the CLI shows them on a terminal: one readable line each (src/log-pretty.ts). */
function showEvents(text) {
  for (const line of text.split('\n').filter(Boolean)) {
    try {
      console.log(`  ${formatEvent(JSON.parse(line))}`);
    } catch {
      console.log(`  ${line}`);
    }
  }
}

const moto = await startMoto();
let exitCode = 0;
try {
  console.log(
    `moto_server (local EC2 emulator) on ${moto.endpoint}\n\nCreating the groups the example policies target:`,
  );
  const { Vpcs } = await moto.ec2.send(
    new DescribeVpcsCommand({ Filters: [{ Name: 'isDefault', Values: ['true'] }] }),
  );
  const defaultVpc = Vpcs[0].VpcId;
  const bastion = await group(moto.ec2, 'bastion', defaultVpc);
  await group(moto.ec2, 'web', defaultVpc, { tier: 'web' });
  await group(moto.ec2, 'rdp-hosts', defaultVpc);
  const { Vpc } = await moto.ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }));
  await group(moto.ec2, 'web-blue', Vpc.VpcId, { tier: 'web' });

  console.log('\n$ sg-reconciler validate');
  const validate = cli(['validate'], moto.endpoint);
  process.stdout.write(validate.stdout.replace(/^/gm, '  '));

  console.log('\n$ sg-reconciler apply            # events (JSON lines on stdout), summarised');
  const apply = cli(['apply'], moto.endpoint);
  showEvents(apply.stdout);
  process.stderr.write(apply.stderr);
  console.log(`  exit code ${apply.status}`);

  console.log('\n$ sg-reconciler plan --detailed-exitcode   # a second look: nothing is missing now');
  const plan = cli(['plan', '--detailed-exitcode'], moto.endpoint);
  process.stdout.write(plan.stdout.replace(/^/gm, '  '));
  console.log(`  exit code ${plan.status} (0 = no changes pending, 2 = changes pending)`);

  // Guardrail, first enforcement point: a pull request that opens SSH to the internet.
  const pr = mkdtempSync(join(tmpdir(), 'sgr-demo-pr-'));
  cpSync(`${root}policies`, pr, { recursive: true });
  writeFileSync(
    join(pr, 'bastion-anywhere.yaml'),
    [
      'apiVersion: sg-reconciler/v1',
      'kind: IngressPolicy',
      'metadata:',
      '  name: bastion-anywhere',
      'spec:',
      '  targets: [{ groupName: bastion }]',
      '  ingress:',
      '    - protocol: tcp',
      '      ports: 22',
      '      description: SSH from anywhere (a bad idea)',
      '      sources: [{ cidr: 0.0.0.0/0 }]',
      '',
    ].join('\n'),
  );
  console.log('\n$ sg-reconciler validate --policies <policies + a PR opening SSH to 0.0.0.0/0>');
  const blocked = cli(['validate', '--policies', pr], moto.endpoint);
  process.stdout.write(blocked.stdout.replaceAll(pr, '<pr>').replace(/^/gm, '  '));
  console.log(`  exit code ${blocked.status} (3 = invalid: the guardrail blocked it before any write)`);
  rmSync(pr, { recursive: true, force: true });

  // Guardrail, audit: someone opens SSH to the world by hand, outside the tool.
  console.log(`\nOpening tcp 22 to 0.0.0.0/0 on ${bastion} by hand (out of band), then:`);
  await moto.ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: bastion,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    }),
  );
  console.log('\n$ sg-reconciler plan');
  const audit = cli(['plan'], moto.endpoint);
  process.stdout.write(audit.stdout.replace(/^/gm, '  '));
  showEvents(
    audit.stderr
      .split('\n')
      .filter((line) => line.includes('"rule.violation"'))
      .join('\n'),
  );
  const violationShown = audit.status === 0 && audit.stdout.includes('GUARDRAIL VIOLATIONS');

  exitCode = apply.status === 0 && plan.status === 0 && blocked.status === 3 && violationShown ? 0 : 1;
  console.log(
    exitCode === 0
      ? '\nDemo complete: every declared rule is in place, the guardrail blocked the PR, and the hand-made violation is reported (never revoked).'
      : '\nDemo FAILED: see above.',
  );
} finally {
  moto.stop();
}
process.exitCode = exitCode;
