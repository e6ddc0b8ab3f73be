// Hostile and broken policy directories (issue 5, "Hostile and broken input"), each run through the
// built CLI's `apply` against moto behind the counting fault proxy. Every directory also holds a
// valid policy that WOULD authorize a rule on a real group if the set were valid; for every broken
// set the CLI must exit 3, name the file (and line where there is one), never start a pass, make no
// AuthorizeSecurityGroupIngress call, and leave the group without rules. Big generated files live in
// os.tmpdir() and are removed afterwards.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_NESTING_DEPTH } from '../../src/policy/parse.js';
import { eventsNamed, motoEnv, runCli, type CliResult, type Event } from '../helpers/cli.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { createGroup, defaultVpcId, listIngressRules, startMoto, type MotoServer } from '../helpers/moto.js';

const AUTHORIZE = 'AuthorizeSecurityGroupIngress';
const MiB = 1024 * 1024;

let moto: MotoServer;
let proxy: FaultProxy;
let ec2: EC2Client;
let groupId: string;
/** Every temporary directory this file made, removed at the end (big files included). */
const temporary: string[] = [];
/** A preload that writes the CLI process's peak RSS (KiB) to $SGR_TEST_RSS_FILE on exit. */
let rssProbe: string;

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startFaultProxy(moto.endpoint);
  const probeDir = await tempDir('sgr-rss-probe-');
  rssProbe = join(probeDir, 'rss.mjs');
  await writeFile(
    rssProbe,
    "import { writeFileSync } from 'node:fs';\n" +
      "process.on('exit', () => writeFileSync(process.env.SGR_TEST_RSS_FILE, String(process.resourceUsage().maxRSS)));\n",
  );
});
afterAll(async () => {
  await proxy?.stop();
  await moto?.stop();
  await Promise.all(temporary.map((dir) => rm(dir, { recursive: true, force: true })));
});
beforeEach(async () => {
  await moto.reset();
  proxy.resetCounts();
  ec2 = moto.ec2('us-east-1');
  groupId = await createGroup(ec2, { name: 'broken-input-target', vpcId: await defaultVpcId(ec2) });
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

/** A valid policy wanting tcp `port` from 203.0.113.0/24 on the test's group. Line numbers 1-based. */
function policy(name: string, port = 22): string {
  return [
    'apiVersion: sg-reconciler/v1', // 1
    'kind: IngressPolicy', // 2
    'metadata:', // 3
    `  name: ${name}`, // 4
    'spec:', // 5
    '  targets:', // 6
    `    - groupId: ${groupId}`, // 7
    '  ingress:', // 8
    '    - protocol: tcp', // 9
    `      ports: ${port}`, // 10
    '      description: SSH access from the LA office', // 11
    '      sources:', // 12
    '        - cidr: 203.0.113.0/24', // 13
    '',
  ].join('\n');
}

/** A directory holding `good.yaml` (valid: it would authorize tcp 22 on the group) and `files`. */
async function brokenSet(files: Record<string, string | Buffer> = {}): Promise<string> {
  const dir = await tempDir('sgr-broken-');
  await writeFile(join(dir, 'good.yaml'), policy('good-neighbour'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

interface Measured extends CliResult {
  /** Peak RSS of the CLI process, in MiB. */
  readonly peakRssMiB: number;
}

async function apply(dir: string, timeoutMs = 30_000): Promise<Measured> {
  const rssFile = join(await tempDir('sgr-rss-'), 'rss');
  const result = await runCli(['apply', '--policies', dir], {
    env: motoEnv(proxy.endpoint, {
      NODE_OPTIONS: `--import=${pathToFileURL(rssProbe).href}`,
      SGR_TEST_RSS_FILE: rssFile,
    }),
    timeoutMs,
  });
  const kib = Number(await readFile(rssFile, 'utf8').catch(() => 'NaN'));
  return { ...result, peakRssMiB: Math.round(kib / 1024) };
}

function humanLine(event: Event): string {
  const path = event['path'] === '' ? '(document)' : String(event['path']);
  return `${String(event['file'])}:${String(event['line'])}:${String(event['column'])}  ${path}  ${String(event['error'])}`;
}

/**
 * The verdict on every broken set: exit 3; one well-formed `policy.invalid` per error, each naming
 * `dir` or a file below it (never the valid neighbour) and echoed as a human line on stderr; no pass started;
 * no write reached the proxy; the group in moto still has no rule. Returns the errors.
 */
async function expectRejected(result: CliResult, dir: string): Promise<Event[]> {
  const detail = `stdout:\n${result.stdout.slice(0, 2000)}\nstderr:\n${result.stderr.slice(0, 2000)}`;
  expect(result.code, detail).toBe(3);
  expect(result.stderr).not.toMatch(/RangeError|Maximum call stack|unexpected error|this is a bug/);
  const errors = eventsNamed(result.events, 'policy.invalid');
  expect(errors.length, detail).toBeGreaterThan(0);
  for (const error of errors) {
    const file = String(error['file']);
    expect(file === dir || file.startsWith(`${dir}/`), file).toBe(true);
    expect(error['file']).not.toBe(join(dir, 'good.yaml'));
    expect(Number.isInteger(error['line']) && (error['line'] as number) >= 1).toBe(true);
    expect(Number.isInteger(error['column']) && (error['column'] as number) >= 1).toBe(true);
    expect(typeof error['path']).toBe('string');
    expect(typeof error['error']).toBe('string');
    expect(error).toMatchObject({ level: 'error', time: expect.any(String), msg: expect.any(String) });
    expect(result.stderr).toContain(`${humanLine(error)}\n`);
  }
  expect(result.stderr).toContain(
    `${errors.length} ${errors.length === 1 ? 'error' : 'errors'} in ${dir}; nothing was applied`,
  );
  expect(eventsNamed(result.events, 'reconcile.started')).toEqual([]);
  expect(eventsNamed(result.events, 'rule.authorized')).toEqual([]);
  expect(proxy.counts()[AUTHORIZE] ?? 0).toBe(0);
  expect(await listIngressRules(ec2, groupId)).toEqual([]);
  return errors;
}

/** The one error reported against `file`. */
function errorAt(errors: readonly Event[], file: string): Event {
  const found = errors.filter((e) => e['file'] === file);
  expect(found, JSON.stringify(errors)).toHaveLength(1);
  return found[0] as Event;
}

describe('control', () => {
  it('the valid neighbour alone authorizes its rule through the proxy (so "zero writes" below means something)', async () => {
    const dir = await brokenSet();
    const result = await apply(dir);
    expect(result.code, result.stdout).toBe(0);
    expect(eventsNamed(result.events, 'rule.authorized')).toHaveLength(1);
    expect(proxy.counts()[AUTHORIZE]).toBe(1);
    const rules = await listIngressRules(ec2, groupId);
    expect(rules.map((r) => [r.IpProtocol, r.FromPort, r.ToPort, r.CidrIpv4])).toEqual([
      ['tcp', 22, 22, '203.0.113.0/24'],
    ]);
  });
});

describe('empty and encoding', () => {
  it('an empty directory: a valid empty set, exit 0 with a policy.warning, zero writes', async () => {
    const dir = await tempDir('sgr-empty-');
    const result = await apply(dir);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const warnings = eventsNamed(result.events, 'policy.warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.['warning']).toBe(`no policy files (*.yaml, *.yml) found below ${dir}`);
    expect(eventsNamed(result.events, 'policy.invalid')).toEqual([]);
    expect(eventsNamed(result.events, 'reconcile.completed')[0]).toMatchObject({ desired: 0, authorized: 0 });
    expect(proxy.counts()[AUTHORIZE] ?? 0).toBe(0);
    expect(await listIngressRules(ec2, groupId)).toEqual([]);
  });

  it('BOM + CRLF: a valid policy; the rule is authorized with its description intact', async () => {
    const dir = await tempDir('sgr-bom-');
    const text = policy('windows-editor').replace(/\n/g, '\r\n');
    await writeFile(
      join(dir, 'windows.yaml'),
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]),
    );
    const result = await apply(dir);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const authorized = eventsNamed(result.events, 'rule.authorized');
    expect(authorized).toHaveLength(1);
    expect(authorized[0]).toMatchObject({
      policy: 'windows-editor',
      description: 'SSH access from the LA office',
    });
    expect(proxy.counts()[AUTHORIZE]).toBe(1);
    const rules = await listIngressRules(ec2, groupId);
    expect(rules.map((r) => [r.FromPort, r.CidrIpv4, r.Description])).toEqual([
      [22, '203.0.113.0/24', 'SSH access from the LA office'],
    ]);
  });

  it('BOM + CRLF with a mistake: the line counts CRLF lines correctly', async () => {
    const text = policy('windows-mistake', 70000).replace(/\n/g, '\r\n');
    const dir = await brokenSet({
      'windows.yaml': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]),
    });
    const errors = await expectRejected(await apply(dir), dir);
    expect(errorAt(errors, join(dir, 'windows.yaml'))).toMatchObject({
      line: 10,
      column: 14,
      path: 'spec.ingress[0].ports',
      error: 'ports 70000 is out of range; write a port from 0 to 65535',
    });
  });

  it('a binary file (random bytes with NULs): not UTF-8, named as binary', async () => {
    const bytes = randomBytes(64 * 1024);
    for (let i = 0; i < bytes.length; i += 97) bytes[i] = 0;
    const dir = await brokenSet({ 'blob.yaml': bytes });
    const errors = await expectRejected(await apply(dir), dir);
    const error = errorAt(errors, join(dir, 'blob.yaml'));
    expect(error['path']).toBe('');
    expect(error['error']).toMatch(/binary/);
  });

  it('a NUL byte inside otherwise valid UTF-8 text: named as binary at its line', async () => {
    const text = policy('has-nul').replace('description: SSH access', 'description: SSH\u0000access');
    const dir = await brokenSet({ 'nul.yaml': text });
    const errors = await expectRejected(await apply(dir), dir);
    expect(errorAt(errors, join(dir, 'nul.yaml'))).toMatchObject({
      line: 11,
      column: 23,
      error: expect.stringMatching(/NUL byte, so it is binary/),
    });
  });

  it('a policy saved as UTF-16 (Windows "Unicode"): not UTF-8, with what to do', async () => {
    const dir = await brokenSet({ 'utf16.yaml': Buffer.from(`\uFEFF${policy('utf16')}`, 'utf16le') });
    const errors = await expectRejected(await apply(dir), dir);
    expect(errorAt(errors, join(dir, 'utf16.yaml'))['error']).toMatch(/not UTF-8 text .*save it as UTF-8/);
  });
});

describe('files that cannot be read', () => {
  it('a FIFO named *.yaml: reported, never opened (no hang)', async () => {
    const dir = await brokenSet();
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    const result = await apply(dir, 20_000);
    expect(result.durationMs).toBeLessThan(10_000);
    const errors = await expectRejected(result, dir);
    expect(errorAt(errors, join(dir, 'pipe.yaml'))['error']).toMatch(/not a regular file/);
  });

  it('a dangling symlink named *.yaml', async () => {
    const dir = await brokenSet();
    await symlink(join(dir, 'was-deleted.yaml'), join(dir, 'gone.yaml'));
    const errors = await expectRejected(await apply(dir), dir);
    expect(errorAt(errors, join(dir, 'gone.yaml'))['error']).toMatch(/broken symlink/);
  });

  it('a directory symlink loop (sub/up -> ..)', async () => {
    const dir = await brokenSet();
    await mkdir(join(dir, 'sub'));
    await symlink('..', join(dir, 'sub', 'up'));
    const errors = await expectRejected(await apply(dir), dir);
    expect(errorAt(errors, join(dir, 'sub', 'up'))['error']).toMatch(/symlink loop/);
  });

  it('a file symlink loop (a.yaml -> b.yaml -> a.yaml) and a link to itself', async () => {
    const dir = await brokenSet();
    await symlink('b.yaml', join(dir, 'a.yaml'));
    await symlink('a.yaml', join(dir, 'b.yaml'));
    await symlink('self.yaml', join(dir, 'self.yaml'));
    const errors = await expectRejected(await apply(dir), dir);
    for (const name of ['a.yaml', 'b.yaml', 'self.yaml']) {
      expect(errorAt(errors, join(dir, name))['error']).toMatch(/symlink loop/);
    }
  });
});

describe('size and count', () => {
  it('a 50 MB policy file: refused by size (the cap named) without reading it', async () => {
    const dir = await brokenSet();
    // A real policy followed by 50 MiB of comments: it WOULD authorize if it were read.
    const file = join(dir, 'huge.yaml');
    const handle = await open(file, 'w');
    await handle.write(policy('huge'));
    const padding = Buffer.from('# padding line of a very large policy file ..........\n'.repeat(MiB / 64));
    let size = Buffer.byteLength(policy('huge'));
    while (size < 50 * MiB) size += (await handle.write(padding)).bytesWritten;
    await handle.close();

    // The same CLI on a tiny broken set: the memory and time any run costs.
    const baseline = await apply(await brokenSet({ 'small.yaml': policy('small', 70000) }));
    expect(baseline.code).toBe(3);

    const result = await apply(dir);
    const errors = await expectRejected(result, dir);
    expect(errorAt(errors, file)).toMatchObject({
      line: 1,
      column: 1,
      path: '',
      error: `file is ${size} bytes, over the 1 MiB limit for one policy file; split it into smaller files`,
    });
    console.info(
      `[figures] 50 MB file: apply exits 3 in ${result.durationMs} ms, peak RSS ${result.peakRssMiB} MiB ` +
        `(a tiny broken set: ${baseline.durationMs} ms, ${baseline.peakRssMiB} MiB)`,
    );
    expect(Number.isFinite(result.peakRssMiB) && Number.isFinite(baseline.peakRssMiB)).toBe(true);
    // Reading the file would hold >= 50 MiB of bytes (and as much again as text).
    expect(result.peakRssMiB - baseline.peakRssMiB).toBeLessThan(25);
    expect(result.durationMs).toBeLessThan(baseline.durationMs + 3_000);
  });

  it('2,000 small valid policy files that all want the same rule: loaded, the rule authorized once', async () => {
    const dir = await tempDir('sgr-many-');
    for (let i = 0; i < 2_000; i += 200) {
      await Promise.all(
        Array.from({ length: 200 }, (_, j) => {
          const n = String(i + j).padStart(4, '0');
          return mkdir(join(dir, `team-${n.slice(0, 2)}`), { recursive: true }).then(() =>
            writeFile(join(dir, `team-${n.slice(0, 2)}`, `p-${n}.yaml`), policy(`p-${n}`)),
          );
        }),
      );
    }
    const validate = await runCli(['validate', '--policies', dir], { env: motoEnv(proxy.endpoint) });
    expect(validate.code, validate.stdout + validate.stderr).toBe(0);
    expect(validate.stdout).toBe(`2000 policies in 2000 files under ${dir} are valid\n`);

    const result = await apply(dir, 60_000);
    expect(result.code, result.stdout.slice(-2000) + result.stderr.slice(0, 2000)).toBe(0);
    expect(eventsNamed(result.events, 'reconcile.started')[0]).toMatchObject({ policies: 2000 });
    expect(eventsNamed(result.events, 'rule.authorized')).toHaveLength(1);
    expect(eventsNamed(result.events, 'rule.failed')).toEqual([]);
    expect(proxy.counts()[AUTHORIZE]).toBe(1);
    expect((await listIngressRules(ec2, groupId)).map((r) => [r.FromPort, r.CidrIpv4])).toEqual([
      [22, '203.0.113.0/24'],
    ]);
    console.info(
      `[figures] 2,000 policy files: validate (load only) ${validate.durationMs} ms; ` +
        `apply ${result.durationMs} ms, peak RSS ${result.peakRssMiB} MiB`,
    );
    expect(validate.durationMs).toBeLessThan(20_000);
  }, 90_000);

  it('10,001 policy files, over the 10,000-file cap: refused before any is read', async () => {
    const dir = await tempDir('sgr-too-many-');
    for (let i = 0; i < 10_001; i += 500) {
      await Promise.all(
        Array.from({ length: Math.min(500, 10_001 - i) }, (_, j) =>
          writeFile(join(dir, `p-${String(i + j).padStart(5, '0')}.yaml`), policy(`p-${i + j}`)),
        ),
      );
    }
    const result = await apply(dir, 60_000);
    const errors = await expectRejected(result, dir);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      file: dir,
      error: 'found 10001 policy files, more than the limit of 10000; point --policies at a smaller tree',
    });
    console.info(
      `[figures] 10,001 files: refused in ${result.durationMs} ms, peak RSS ${result.peakRssMiB} MiB`,
    );
  }, 90_000);
});

describe('structure', () => {
  const TOO_DEEP = new RegExp(`nests lists or mappings more than ${MAX_NESTING_DEPTH} levels deep`);

  /** line/column: where the first collection deeper than the limit opens. */
  const DEEP: { title: string; text: () => string; line: number; column: number }[] = [
    {
      title: '10,000 levels of [ in a policy field',
      text: () =>
        policy('deep-flow-seq').replace(
          '  ingress:\n',
          `  ruleTags: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n  ingress:\n`,
        ),
      line: 8,
      column: 13 + MAX_NESTING_DEPTH - 2, // the first [ is at depth 3 (document, spec)
    },
    {
      title: '10,000 levels of { } mappings',
      text: () => `${'{a: '.repeat(10_000)}1${'}'.repeat(10_000)}\n`,
      line: 1,
      column: 1 + 4 * MAX_NESTING_DEPTH,
    },
    {
      title: '10,000 levels of block sequences (- - - ...)',
      text: () => `${'- '.repeat(10_000)}x\n`,
      line: 1,
      column: 2 * MAX_NESTING_DEPTH + 1,
    },
    {
      title: '1,000 levels of indented block mappings (as deep as fits in 1 MiB)',
      text: () => Array.from({ length: 1_000 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' 1\n',
      line: MAX_NESTING_DEPTH + 1, // line n opens the mapping at depth n
      column: MAX_NESTING_DEPTH + 1,
    },
    {
      title: `${MAX_NESTING_DEPTH + 1} levels of [ (just past the limit)`,
      text: () => `${'['.repeat(MAX_NESTING_DEPTH + 1)}${']'.repeat(MAX_NESTING_DEPTH + 1)}\n`,
      line: 1,
      column: MAX_NESTING_DEPTH + 1,
    },
  ];

  for (const deep of DEEP) {
    it(`${deep.title}: one clear error, no stack overflow`, async () => {
      const dir = await brokenSet({ 'deep.yaml': deep.text() });
      const result = await apply(dir);
      const errors = await expectRejected(result, dir);
      const error = errorAt(errors, join(dir, 'deep.yaml'));
      expect(error['error']).toMatch(TOO_DEEP);
      expect([error['line'], error['column']]).toEqual([deep.line, deep.column]);
      expect(result.durationMs).toBeLessThan(10_000);
    });
  }

  it(`${MAX_NESTING_DEPTH} levels of nesting are still only a schema matter, not "too deep"`, async () => {
    const text = `${'['.repeat(MAX_NESTING_DEPTH)}${']'.repeat(MAX_NESTING_DEPTH)}\n`;
    const dir = await brokenSet({ 'deep.yaml': text });
    const errors = await expectRejected(await apply(dir), dir);
    expect(errorAt(errors, join(dir, 'deep.yaml'))['error']).toMatch(/must be a mapping .*not a list/);
  });

  it('duplicate keys: exit 3 at the repeated key', async () => {
    const text = policy('dup').replace('      ports: 22\n', '      ports: 22\n      ports: 2222\n');
    const dir = await brokenSet({ 'dup.yaml': text });
    const errors = await expectRejected(await apply(dir), dir);
    expect(errorAt(errors, join(dir, 'dup.yaml'))).toMatchObject({
      line: 11,
      column: 7,
      error: expect.stringMatching(/^duplicate key "ports"/),
    });
  });

  it('an alias bomb: refused without expanding it', async () => {
    const levels = ['    a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `    a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const text = policy('bomb').replace('metadata:\n', `metadata:\n  labels:\n${levels.join('\n')}\n`);
    const dir = await brokenSet({ 'bomb.yaml': text });
    const result = await apply(dir);
    const errors = await expectRejected(result, dir);
    expect(errorAt(errors, join(dir, 'bomb.yaml'))['error']).toMatch(/alias bomb/);
    expect(result.peakRssMiB).toBeLessThan(400);
  });
});

describe('files named on the command line', () => {
  it.each([
    [
      '--accounts /dev/zero',
      ['validate', '--accounts', '/dev/zero'],
      3,
      /cannot read the account inventory: it is not a regular file/,
    ],
    [
      '--snapshot /dev/urandom',
      ['plan', '--snapshot', '/dev/urandom'],
      1,
      /cannot use snapshot \/dev\/urandom: it is not a regular file/,
    ],
    [
      '--snapshot of a directory',
      ['plan', '--snapshot', '/tmp'],
      1,
      /cannot use snapshot \/tmp: it is a directory/,
    ],
  ] as const)('%s is refused at once, never read until memory runs out', async (_, args, code, message) => {
    const dir = await brokenSet();
    const result = await runCli([args[0], '--policies', dir, ...args.slice(1)], {
      env: motoEnv(proxy.endpoint),
      timeoutMs: 20_000,
    });
    expect(result.code).toBe(code);
    expect(result.stdout + result.stderr).toMatch(message);
  });
});
