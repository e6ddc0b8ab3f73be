// The built CLI the way a person runs it, with no AWS behind it (issue 2, "Done when"): the help and
// version, `validate` on the example policies, and a broad set of mistakes a person makes in a
// policy. Each mistake must exit 3, print `file:line:column  path  message` on stdout pointing at the
// offending field, and emit exactly one `policy.invalid` event per error on stderr. Plus option
// precedence (flag over environment) and unusable option values.
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  HAS_SCRIPT,
  ROOT,
  eventsNamed,
  parseEvents,
  runCli,
  runCliInTerminal,
  writePolicies,
  type Event,
} from '../helpers/cli.js';

/** No AWS settings, no SGR_* variables: only what a shell always has. */
const ENV: Record<string, string> = {
  PATH: process.env['PATH'] ?? '',
  HOME: process.env['HOME'] ?? '/tmp',
};
/** Nothing listens here: a command that got as far as calling EC2 would fail, not exit 3. */
const DEAD_ENDPOINT = 'http://127.0.0.1:1';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const dirs: string[] = [];
async function policyDir(files: Record<string, string>): Promise<string> {
  const dir = await writePolicies(files);
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A valid policy; the mistakes below are single edits of it. Line numbers are 1-based. */
function policy(name: string): string {
  return [
    'apiVersion: sg-reconciler/v1', // 1
    'kind: IngressPolicy', // 2
    'metadata:', // 3
    `  name: ${name}`, // 4
    'spec:', // 5
    '  targets:', // 6
    '    - groupId: sg-903004f8', // 7
    '  ingress:', // 8
    '    - protocol: tcp', // 9
    '      ports: 22', // 10
    '      description: SSH access from the LA office', // 11
    '      sources:', // 12
    '        - cidr: 203.0.113.0/24', // 13
    '',
  ].join('\n');
}

/** Replaces exactly one occurrence of `from` (so a typo in a test case cannot go unnoticed). */
function edit(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at === -1 || text.indexOf(from, at + 1) !== -1) throw new Error(`test bug: ${from} is not unique`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** 1-based line and column of `needle` in `text`, where `lineNeedle` picks the line. */
function positionOf(
  text: string,
  lineNeedle: string,
  columnNeedle?: string,
): { line: number; column?: number } {
  const lines = text.split('\n');
  const index = lines.findIndex((l) => l.includes(lineNeedle));
  if (index === -1) throw new Error(`test bug: no line contains ${lineNeedle}`);
  if (columnNeedle === undefined) return { line: index + 1 };
  const column = (lines[index] as string).indexOf(columnNeedle);
  if (column === -1) throw new Error(`test bug: line ${index + 1} lacks ${columnNeedle}`);
  return { line: index + 1, column: column + 1 };
}

/** The human line the contract prints for one error event. */
function humanLine(event: Event): string {
  const path = event['path'] === '' ? '(document)' : String(event['path']);
  // An error about a whole path (it does not exist) has no position worth showing.
  if (String(event['error']).includes('does not exist; create it'))
    return `${String(event['file'])}: ${String(event['error'])}`;
  return `${String(event['file'])}:${String(event['line'])}:${String(event['column'])}  ${path}  ${String(event['error'])}`;
}

interface ValidateReport {
  readonly code: number | null;
  readonly errors: Event[];
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `validate` on an invalid directory and checks the report's shape for every error: exit 3,
 * stdout is one human line per `policy.invalid` event (same order, same facts) plus the summary,
 * and stderr holds only well-formed JSON events.
 */
async function validateInvalid(dir: string, env: Record<string, string> = ENV): Promise<ValidateReport> {
  const result = await runCli(['validate', '--policies', dir], { env });
  expect(result.code, result.stdout + result.stderr).toBe(3);

  const stderrLines = result.stderr.split('\n').filter((l) => l !== '');
  expect(stderrLines.length).toBeGreaterThan(0);
  for (const line of stderrLines) expect(() => JSON.parse(line) as unknown, line).not.toThrow();
  const events = parseEvents(result.stderr);
  expect(events).toHaveLength(stderrLines.length);
  const errors = eventsNamed(events, 'policy.invalid');
  expect(errors.length).toBeGreaterThan(0);
  for (const event of errors) {
    expect(event).toMatchObject({ level: 'error', msg: expect.any(String) });
    expect(typeof event['time']).toBe('string');
    expect(Number.isNaN(Date.parse(String(event['time'])))).toBe(false);
    expect(typeof event['file']).toBe('string');
    expect(Number.isInteger(event['line']) && (event['line'] as number) >= 1).toBe(true);
    expect(Number.isInteger(event['column']) && (event['column'] as number) >= 1).toBe(true);
    expect(typeof event['path']).toBe('string');
    expect(typeof event['error']).toBe('string');
    expect((event['error'] as string).length).toBeGreaterThan(10);
  }

  const stdoutLines = result.stdout.split('\n');
  expect(stdoutLines.pop()).toBe(''); // ends with a newline
  const summary = stdoutLines.pop();
  expect(summary).toBe(`${errors.length} ${errors.length === 1 ? 'error' : 'errors'} in ${dir}`);
  expect(stdoutLines).toEqual(errors.map(humanLine));
  return { code: result.code, errors, stdout: result.stdout, stderr: result.stderr };
}

describe('help and version', () => {
  it('--help lists the four commands with what each does', async () => {
    const result = await runCli(['--help'], { env: ENV });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: sg-reconciler /m);
    expect(result.stdout).toMatch(/^\s+validate \[options\]\s+load and validate every policy; no AWS call$/m);
    expect(result.stdout).toMatch(/^\s+plan \[options\]\s+read live state/m);
    expect(result.stdout).toMatch(/^\s+apply \[options\]\s+one reconcile pass/m);
    expect(result.stdout).toMatch(/^\s+run \[options\]\s+the daemon/m);
  });

  it('each command has its own --help with its options', async () => {
    const validate = await runCli(['validate', '--help'], { env: ENV });
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(/--policies <dir\.\.\.>/);
    expect(validate.stdout).not.toMatch(/--endpoint/); // validate makes no AWS call
    const run = await runCli(['run', '--help'], { env: ENV });
    expect(run.code).toBe(0);
    for (const option of ['--policies', '--endpoint', '--dry-run', '--schedule', '--listen', '--timezone']) {
      expect(run.stdout).toContain(option);
    }
  });

  it('--version and -v print the version from package.json', async () => {
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
    for (const flag of ['--version', '-v']) {
      const result = await runCli([flag], { env: ENV });
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`${VERSION}\n`);
      expect(result.stderr).toBe('');
    }
  });
});

describe('validate on valid policies', () => {
  it('accepts the example policies in policies/ with exit 0 and no event', async () => {
    const result = await runCli(['validate', '--policies', 'policies'], { env: ENV });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^\d+ policies in \d+ files under policies are valid\n$/);
    expect(Number(/^(\d+) policies/.exec(result.stdout)?.[1])).toBeGreaterThanOrEqual(4);
    expect(result.stderr).toBe('');
  });
});

describe('validate with warnings', () => {
  it('shows the warnings of a set that also has errors, so both are fixed in one round (exit 3)', async () => {
    const icmp = edit(
      edit(VALID, '    - protocol: tcp', '    - protocol: icmp'),
      '      ports: 22\n',
      '',
    ).replace('203.0.113.0/24', '2001:db8::/32');
    const broken = edit(VALID, '      ports: 22', '      ports: 70000').replace('office-ssh', 'other-ssh');
    const dir = await policyDir({ 'icmp.yaml': icmp, 'broken.yaml': broken });

    const result = await runCli(['validate', '--policies', dir], { env: ENV });

    expect(result.code).toBe(3);
    expect(result.stdout).toContain(
      `${join(dir, 'icmp.yaml')}:12:17  spec.ingress[0].sources[0].cidr  warning: protocol icmp matches IPv4 traffic only`,
    );
    expect(result.stdout).toMatch(/broken\.yaml:\d+:\d+ {2}spec\.ingress\[0\]\.ports {2}/);
    expect(eventsNamed(parseEvents(result.stderr), 'policy.warning')).toHaveLength(1);
    expect(eventsNamed(parseEvents(result.stderr), 'policy.invalid')).toHaveLength(1);
  });

  it('prints a located warning and its event, and still exits 0 (icmp from an IPv6 network)', async () => {
    const text = edit(
      edit(VALID, '    - protocol: tcp', '    - protocol: icmp'),
      '      ports: 22\n',
      '',
    ).replace('203.0.113.0/24', '2001:db8::/32');
    const dir = await policyDir({ 'icmp.yaml': text });
    const file = join(dir, 'icmp.yaml');

    const result = await runCli(['validate', '--policies', dir], { env: ENV });

    expect(result.code, result.stdout + result.stderr).toBe(0);
    const message =
      'protocol icmp matches IPv4 traffic only, so this rule from the IPv6 network 2001:db8::/32 never matches anything; move this source to a rule with protocol: icmpv6';
    expect(result.stdout).toBe(
      `${file}:12:17  spec.ingress[0].sources[0].cidr  warning: ${message}\n` +
        `1 policy in 1 file under ${dir} is valid, with 1 warning\n`,
    );
    expect(eventsNamed(parseEvents(result.stderr), 'policy.warning')).toEqual([
      expect.objectContaining({
        level: 'warn',
        file,
        line: 12,
        column: 17,
        path: 'spec.ingress[0].sources[0].cidr',
        warning: message,
      }),
    ]);
    expect(eventsNamed(parseEvents(result.stderr), 'policy.invalid')).toEqual([]);
  });
});

interface Mistake {
  readonly title: string;
  readonly text: string;
  /** A text that only the offending line contains. */
  readonly line: string;
  /** A text on that line where the error must point (omit where the column is the parser's call). */
  readonly column?: string;
  readonly path: string;
  readonly message: RegExp;
  /** How many errors this mistake gives (omitted: the parser decides, at least one). */
  readonly count?: number;
}

const VALID = policy('office-ssh');
const MISTAKES: Mistake[] = [
  {
    title: 'wrong indentation',
    text: edit(VALID, '      ports: 22', '     ports: 22'),
    line: '     ports: 22',
    // One error at the key out of place, saying how far to indent it (not the parser's words at column 1).
    column: 'ports',
    path: '',
    message:
      /^"ports:" is indented by 5 spaces, which matches no mapping above it; indent it by 6 spaces, beside "protocol:"/,
    count: 1,
  },
  {
    title: 'a tab as indentation',
    text: edit(VALID, '      ports: 22', '\tports: 22'),
    line: '\tports: 22',
    column: '\tports',
    path: '',
    message: /^a tab indents this line; YAML indents with spaces only, so replace the tab with spaces$/,
    count: 1,
  },
  {
    title: 'an unknown field (typo of ports)',
    text: edit(VALID, '      ports: 22', '      portz: 22'),
    line: 'portz',
    column: 'portz',
    path: 'spec.ingress[0].portz',
    message: /^unknown field "portz"; did you mean "ports"\?/,
    count: 2, // and tcp then lacks its ports
  },
  {
    title: 'an unknown field in a source (typo of cidr)',
    text: edit(VALID, '- cidr:', '- cdir:'),
    line: 'cdir',
    column: 'cdir',
    path: 'spec.ingress[0].sources[0].cdir',
    message: /^unknown field "cdir"; did you mean "cidr"\?/,
  },
  {
    title: 'port 70000',
    text: edit(VALID, 'ports: 22', 'ports: 70000'),
    line: '70000',
    column: '70000',
    path: 'spec.ingress[0].ports',
    message: /^ports 70000 is out of range; write a port from 0 to 65535$/,
    count: 1,
  },
  {
    title: 'a backwards range 443-80',
    text: edit(VALID, 'ports: 22', 'ports: 443-80'),
    line: '443-80',
    column: '443-80',
    path: 'spec.ingress[0].ports',
    message: /runs backwards; write the lower port first: "80-443"/,
    count: 1,
  },
  {
    title: 'tcp without ports',
    text: edit(VALID, '      ports: 22\n', ''),
    line: 'protocol: tcp',
    column: 'protocol',
    path: 'spec.ingress[0].ports',
    message: /^protocol tcp needs ports; write ports: 443/,
    count: 1,
  },
  {
    title: 'ports on protocol all',
    text: edit(VALID, 'protocol: tcp', 'protocol: all'),
    line: 'ports: 22',
    column: 'ports',
    path: 'spec.ingress[0].ports',
    message: /^ports do not apply to protocol all/,
    count: 1,
  },
  {
    title: 'a protocol name typo',
    text: edit(VALID, 'protocol: tcp', 'protocol: tpc'),
    line: 'tpc',
    column: 'tpc',
    path: 'spec.ingress[0].protocol',
    message: /^protocol "tpc" is not a protocol; did you mean tcp\?/,
  },
  {
    title: 'host bits set (10.0.0.5/24)',
    text: edit(VALID, '203.0.113.0/24', '10.0.0.5/24'),
    line: '10.0.0.5/24',
    column: '10.0.0.5/24',
    path: 'spec.ingress[0].sources[0].cidr',
    message: /^cidr 10\.0\.0\.5\/24 has host bits set; write 10\.0\.0\.0\/24/,
    count: 1,
  },
  {
    title: 'a bad IPv4 address',
    text: edit(VALID, '203.0.113.0/24', '203.0.113.300/32'),
    line: '203.0.113.300',
    column: '203.0.113.300',
    path: 'spec.ingress[0].sources[0].cidr',
    message: /^cidr "203\.0\.113\.300\/32" is not an IPv4 or IPv6 network/,
    count: 1,
  },
  {
    title: 'a bad IPv6 address',
    text: edit(VALID, '203.0.113.0/24', '"2001:db8::g/64"'),
    line: '2001:db8::g',
    column: '"2001:db8::g',
    path: 'spec.ingress[0].sources[0].cidr',
    message: /is not an IPv4 or IPv6 network/,
    count: 1,
  },
  {
    title: 'a 300-character description',
    text: edit(VALID, 'SSH access from the LA office', 'x'.repeat(300)),
    line: 'x'.repeat(300),
    column: 'x'.repeat(300),
    path: 'spec.ingress[0].description',
    message: /^description is 300 characters long; EC2 allows at most 255$/,
    count: 1,
  },
  {
    title: 'a description with <',
    text: edit(VALID, 'SSH access from the LA office', '"SSH <from> the LA office"'),
    line: '<from>',
    column: '"SSH',
    path: 'spec.ingress[0].description',
    message: /^description contains characters EC2 does not allow: "<", ">"; use only/,
    count: 1,
  },
  {
    title: "a description with '",
    text: edit(VALID, 'SSH access from the LA office', `"SSH from the LA office's network"`),
    line: "office's",
    column: '"SSH',
    path: 'spec.ingress[0].description',
    message: /^description contains characters EC2 does not allow: "'"; use only/,
    count: 1,
  },
  {
    title: 'an aws: tag key',
    text: edit(VALID, '  ingress:', '  ruleTags: { "aws:owner": platform }\n  ingress:'),
    line: 'aws:owner',
    column: '"aws:owner"',
    path: 'spec.ruleTags["aws:owner"]',
    message: /^tag key "aws:owner" begins with "aws:", which AWS reserves/,
    count: 1,
  },
  {
    title: 'a group name as a source',
    text: edit(VALID, '- cidr: 203.0.113.0/24', '- securityGroup: web-servers'),
    line: 'web-servers',
    column: 'web-servers',
    path: 'spec.ingress[0].sources[0].securityGroup',
    message:
      /^securityGroup "web-servers" looks like a group name; .* write the group's ID \(sg-\.\.\.\) or self$/,
    count: 1,
  },
  {
    title: 'a malformed group ID as a target',
    text: edit(VALID, 'groupId: sg-903004f8', 'groupId: sg-12345'),
    line: 'sg-12345',
    column: 'sg-12345',
    path: 'spec.targets[0].groupId',
    message: /^groupId "sg-12345" is not a security group ID/,
    count: 1,
  },
  {
    title: 'the wrong apiVersion',
    text: edit(VALID, 'sg-reconciler/v1', 'sg-reconciler/v2'),
    line: 'apiVersion',
    column: 'sg-reconciler/v2',
    path: 'apiVersion',
    message: /^apiVersion "sg-reconciler\/v2" is not supported; write apiVersion: sg-reconciler\/v1$/,
    count: 1,
  },
  {
    title: 'the wrong kind',
    text: edit(VALID, 'kind: IngressPolicy', 'kind: SecurityGroupPolicy'),
    line: 'kind:',
    column: 'SecurityGroupPolicy',
    path: 'kind',
    message: /^kind "SecurityGroupPolicy" is not supported; write kind: IngressPolicy$/,
    count: 1,
  },
  {
    title: 'a policy name with capitals and an underscore',
    text: edit(VALID, 'name: office-ssh', 'name: Office_SSH'),
    line: 'Office_SSH',
    column: 'Office_SSH',
    path: 'metadata.name',
    message: /^metadata\.name "Office_SSH" is not a valid policy name; .*e\.g\. office-ssh$/,
    count: 1,
  },
  {
    title: 'a missing sources list',
    text: edit(VALID, '      sources:\n        - cidr: 203.0.113.0/24\n', ''),
    line: 'protocol: tcp',
    column: 'protocol',
    path: 'spec.ingress[0].sources',
    message: /^missing field "sources"; add sources:/,
    count: 1,
  },
  {
    title: 'duplicate keys',
    text: edit(VALID, '      ports: 22\n', '      ports: 22\n      ports: 2222\n'),
    line: 'ports: 2222',
    column: 'ports',
    path: 'spec.ingress[0].ports',
    message:
      /^duplicate key "ports"; a key may appear only once in a mapping \(the first, at line \d+, is the one checked\)/,
    count: 1,
  },
];

describe('validate: one mistake a person would make, next to a valid policy', () => {
  for (const mistake of MISTAKES) {
    it(`${mistake.title}: exit 3, the file and the line of the offending field`, async () => {
      const dir = await policyDir({ 'bad.yaml': mistake.text, 'good.yaml': policy('good-neighbour') });
      const bad = join(dir, 'bad.yaml');
      const { errors } = await validateInvalid(dir);

      // Nothing is reported against the valid neighbour.
      for (const error of errors) expect(error['file']).toBe(bad);
      if (mistake.count !== undefined) expect(errors).toHaveLength(mistake.count);
      const expected = positionOf(mistake.text, mistake.line, mistake.column);
      // The finding about the mistake (the first one with its path: a syntax error can cascade).
      const finding = errors.find((e) => e['path'] === mistake.path);
      expect(finding, JSON.stringify(errors)).toBeDefined();
      expect(finding?.['line']).toBe(expected.line);
      if (expected.column !== undefined) expect(finding?.['column']).toBe(expected.column);
      expect(finding?.['error']).toMatch(mistake.message);
    });
  }

  it('an alias bomb: stopped with a clear error at the document that holds it, quickly', async () => {
    const bomb = [
      'apiVersion: sg-reconciler/v1',
      'kind: IngressPolicy',
      'metadata:',
      '  name: bomb',
      '  labels:',
      '    a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
      '    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      '    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
      '    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
      '    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
      '    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]',
      '    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]',
      '    h: [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]',
      'spec:',
      '  targets: [{ groupId: sg-903004f8 }]',
      '  ingress: [{ protocol: tcp, ports: 22, sources: [{ cidr: 203.0.113.0/24 }] }]',
      '',
    ].join('\n');
    // The bomb is the second document of its file, so its position cannot be "line 1" by accident.
    const text = `${policy('first-in-file')}---\n${bomb}`;
    const dir = await policyDir({ 'bomb.yaml': text });
    const started = Date.now();
    const { errors } = await validateInvalid(dir);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      file: join(dir, 'bomb.yaml'),
      line: positionOf(text, 'name: bomb').line - 3, // the bomb document's first line
      column: 1,
      path: '',
      error: expect.stringMatching(/expands its aliases more than 100 times, which looks like an alias bomb/),
    });
  });

  it('duplicate policy names across two files: the second file is named, with where the first is', async () => {
    const dir = await policyDir({
      'a-first.yaml': policy('office-ssh'),
      'team/b-second.yaml': policy('office-ssh'),
    });
    const { errors } = await validateInvalid(dir);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      file: join(dir, 'team/b-second.yaml'),
      line: 4,
      column: 9,
      path: 'metadata.name',
    });
    expect(errors[0]?.['error']).toBe(
      `metadata.name "office-ssh" is already used by the policy at ${join(dir, 'a-first.yaml')}:4:9; give each policy a unique name`,
    );
  });
});

describe('validate: several errors in several files', () => {
  it('reports every error of every file, sorted by file and then line, and exits 3', async () => {
    const aText = edit(edit(VALID, 'ports: 22', 'ports: 70000'), '203.0.113.0/24', '10.0.0.5/24');
    const files = {
      'a.yaml': aText,
      'c.yml': edit(policy('c-policy'), 'sg-reconciler/v1', 'v1'),
      'nested/deeper/b.yaml': edit(policy('b-policy'), '      ports: 22', '      port: 22'),
      'z-valid.yaml': policy('z-valid'),
      'notes.md': 'not a policy: {{{ [[[\n', // not *.yaml / *.yml: never read
      '.hidden/broken.yaml': 'this: [is not read\n', // hidden directories are skipped
    };
    const dir = await policyDir(files);
    const { errors } = await validateInvalid(dir);
    expect(errors.map((e) => [e['file'], e['line'], e['path']])).toEqual([
      [join(dir, 'a.yaml'), 10, 'spec.ingress[0].ports'],
      [join(dir, 'a.yaml'), 13, 'spec.ingress[0].sources[0].cidr'],
      [join(dir, 'c.yml'), 1, 'apiVersion'],
      [join(dir, 'nested/deeper/b.yaml'), 9, 'spec.ingress[0].ports'], // tcp lacks its ports...
      [join(dir, 'nested/deeper/b.yaml'), 10, 'spec.ingress[0].port'], // ...because of this typo
    ]);
  });

  it('a valid file next to an invalid one does not make the set valid', async () => {
    const dir = await policyDir({ 'ok.yaml': policy('ok') });
    const alone = await runCli(['validate', '--policies', dir], { env: ENV });
    expect(alone.code).toBe(0);
    expect(alone.stdout).toBe(`1 policy in 1 file under ${dir} is valid\n`);

    const mixed = await policyDir({
      'ok.yaml': policy('ok'),
      'zz-bad.yaml': edit(policy('bad'), 'ports: 22', 'ports: 70000'),
    });
    const { errors, stdout } = await validateInvalid(mixed);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.['file']).toBe(join(mixed, 'zz-bad.yaml'));
    expect(stdout).not.toMatch(/are valid/);
  });
});

describe('options', () => {
  it('--policies defaults to ./policies', async () => {
    const result = await runCli(['validate'], { env: ENV, cwd: ROOT });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/ under \.\/policies are valid\n$/);
  });

  it('SGR_POLICIES alone selects the directory', async () => {
    const good = await policyDir({ 'ok.yaml': policy('ok') });
    const bad = await policyDir({ 'bad.yaml': edit(policy('bad'), 'ports: 22', 'ports: 70000') });
    const valid = await runCli(['validate'], { env: { ...ENV, SGR_POLICIES: good } });
    expect(valid.code).toBe(0);
    expect(valid.stdout).toBe(`1 policy in 1 file under ${good} is valid\n`);
    const { errors } = await validateInvalid(bad, { ...ENV, SGR_POLICIES: bad });
    expect(errors[0]?.['file']).toBe(join(bad, 'bad.yaml'));
  });

  it('the --policies flag wins over SGR_POLICIES, whichever of the two is the valid one', async () => {
    const good = await policyDir({ 'ok.yaml': policy('ok') });
    const bad = await policyDir({ 'bad.yaml': edit(policy('bad'), 'ports: 22', 'ports: 70000') });

    const flagGood = await runCli(['validate', '--policies', good], { env: { ...ENV, SGR_POLICIES: bad } });
    expect(flagGood.code, flagGood.stdout).toBe(0);
    expect(flagGood.stdout).toBe(`1 policy in 1 file under ${good} is valid\n`);
    expect(flagGood.stderr).toBe('');

    const flagBad = await validateInvalid(bad, { ...ENV, SGR_POLICIES: good });
    expect(flagBad.errors.map((e) => e['file'])).toEqual([join(bad, 'bad.yaml')]);

    // The same precedence for a command that talks to AWS: the invalid set stops it before any call.
    const plan = await runCli(['plan', '--policies', bad, '--endpoint', DEAD_ENDPOINT], {
      env: { ...ENV, SGR_POLICIES: good, AWS_REGION: 'us-east-1' },
    });
    expect(plan.code).toBe(3);
    expect(eventsNamed(plan.events, 'policy.invalid').map((e) => e['file'])).toEqual([join(bad, 'bad.yaml')]);
    expect(eventsNamed(plan.events, 'reconcile.started')).toEqual([]);
  });

  it('--policies takes single files and several paths (a pre-commit hook passes the changed files)', async () => {
    const dirA = await policyDir({ 'a.yaml': policy('a'), 'b.yaml': policy('b') });
    const dirC = await policyDir({ 'c.yml': policy('c') });
    const files = [join(dirA, 'a.yaml'), join(dirC, 'c.yml')];

    const filesOnly = await runCli(['validate', '--policies', ...files], { env: ENV });
    expect(filesOnly.code, filesOnly.stdout + filesOnly.stderr).toBe(0);
    expect(filesOnly.stdout).toBe(`2 policies in 2 files under ${files.join(', ')} are valid\n`);

    const repeated = await runCli(['validate', '--policies', dirA, '--policies', join(dirC, 'c.yml')], {
      env: ENV,
    });
    expect(repeated.code, repeated.stdout + repeated.stderr).toBe(0);
    expect(repeated.stdout).toMatch(/^3 policies in 3 files under /);

    const bad = await policyDir({ 'bad.yaml': edit(policy('bad'), 'ports: 22', 'ports: 70000') });
    const { errors } = await validateInvalid(join(bad, 'bad.yaml'));
    expect(errors.map((e) => e['file'])).toEqual([join(bad, 'bad.yaml')]);
  });

  it('a policy directory that does not exist is an error naming it, not an empty valid set', async () => {
    const missing = join(ROOT, '.cache', 'no-such-policy-dir');
    const { errors } = await validateInvalid(missing);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.['file']).toBe(missing);
    expect(errors[0]?.['error']).toMatch(/does not exist; create it or pass --policies <dir>/);
    // The person reading it is told the directory does not exist, not pointed at `missing:1:1`.
    const { stdout } = await runCli(['validate', '--policies', missing], { env: ENV });
    expect(stdout.split('\n')[0]).toBe(
      `${missing}: the policy directory or file does not exist; create it or pass --policies <dir> (or a policy file)`,
    );
  });

  const BAD_VALUES: {
    readonly title: string;
    readonly args: string[];
    readonly env?: Record<string, string>;
    readonly message: RegExp;
    /** Rejected by our own option parsing (a `config.invalid` event too), not by commander. */
    readonly event: boolean;
  }[] = [
    {
      title: 'plan --max-rules-per-group abc',
      args: ['plan', '--max-rules-per-group', 'abc'],
      message:
        /--max-rules-per-group "abc" is not a positive whole number; write e\.g\. --max-rules-per-group 60/,
      event: true,
    },
    {
      title: 'SGR_MAX_RULES_PER_GROUP=0 (from the environment)',
      args: ['plan'],
      env: { SGR_MAX_RULES_PER_GROUP: '0' },
      message:
        /SGR_MAX_RULES_PER_GROUP="0" is not a positive whole number; write e\.g\. SGR_MAX_RULES_PER_GROUP=60/,
      event: true,
    },
    {
      title: "run --schedule 'bad cron'",
      args: ['run', '--schedule', 'bad cron', '--listen', '127.0.0.1:0'],
      message: /--schedule "bad cron" is invalid: .*write 5 fields/,
      event: true,
    },
    {
      title: 'run --listen nope',
      args: ['run', '--listen', 'nope'],
      message: /--listen "nope" is not host:port; write e\.g\. 0\.0\.0\.0:9464/,
      event: true,
    },
    {
      title: 'run --timezone Mars/Olympus',
      args: ['run', '--timezone', 'Mars/Olympus', '--listen', '127.0.0.1:0'],
      message: /--timezone "Mars\/Olympus" is not an IANA time zone/,
      event: true,
    },
    {
      title: 'plan --format xml',
      args: ['plan', '--format', 'xml'],
      message: /'xml' is invalid\. Allowed choices are text, json, markdown/,
      event: true,
    },
    {
      title: 'run --listen localhost:99999 (a port out of range)',
      args: ['run', '--listen', 'localhost:99999'],
      // Said once: not commander's "option '--listen <host:port>' argument ... is invalid." first.
      message:
        /^(?:error: )?--listen "localhost:99999": the port must be 0-65535 \(0 picks a free one\); write host:port, e\.g\. localhost:9464$/m,
      event: true,
    },
    {
      title: 'SGR_LISTEN=localhost:99999 (from the environment)',
      args: ['run'],
      env: { SGR_LISTEN: 'localhost:99999' },
      message:
        /^(?:error: )?SGR_LISTEN="localhost:99999": the port must be 0-65535 \(0 picks a free one\); write host:port, e\.g\. localhost:9464$/m,
      event: true,
    },
    {
      title: "run --schedule '61 * * * *' (a minute out of range)",
      args: ['run', '--schedule', '61 * * * *', '--listen', '127.0.0.1:0'],
      message: /the minute field "61" is not valid \(minute takes 0-59/,
      event: true,
    },
    {
      title: "run --schedule '*/61 * * * *' (a step node-cron would clamp)",
      args: ['run', '--schedule', '*/61 * * * *', '--listen', '127.0.0.1:0'],
      message: /the minute step \/61 is larger than the minute range \(0-59\).*write a step from 1 to 59/,
      event: true,
    },
    {
      title: "run --schedule '0 0 31 2 *' (never fires)",
      args: ['run', '--schedule', '0 0 31 2 *', '--listen', '127.0.0.1:0'],
      message: /--schedule "0 0 31 2 \*" never fires: February has no 31st/,
      event: true,
    },
    {
      title: 'SGR_TIMEZONE=Mars/Base (from the environment)',
      args: ['run', '--listen', '127.0.0.1:0'],
      env: { SGR_TIMEZONE: 'Mars/Base' },
      message: /SGR_TIMEZONE="Mars\/Base" is not an IANA time zone; write e\.g\. UTC/,
      event: true,
    },
    {
      title: 'run --pass-timeout 0',
      args: ['run', '--pass-timeout', '0', '--listen', '127.0.0.1:0'],
      message: /--pass-timeout "0" is not a positive whole number/,
      event: true,
    },
    {
      title:
        'run --pass-timeout 99999999 (longer than a Node.js timer holds: every pass would time out at once)',
      args: ['run', '--pass-timeout', '99999999', '--listen', '127.0.0.1:0'],
      message:
        /--pass-timeout "99999999" is more than 2147483 \(about 24\.8 days.*write at most --pass-timeout 2147483/,
      event: true,
    },
    {
      title: 'SGR_WRITE_RATE=0.0000001 (slower than can be timed: the pacing would switch off)',
      args: ['apply', '--policies', 'nonexistent'],
      env: { SGR_WRITE_RATE: '0.0000001' },
      message: /SGR_WRITE_RATE="0\.0000001" is less than 0\.001 .*write at least SGR_WRITE_RATE=0\.001/,
      event: true,
    },
    {
      title: 'plan --log-format yaml',
      args: ['plan', '--log-format', 'yaml'],
      message: /'yaml' is invalid\. Allowed choices are json, pretty/,
      event: true,
    },
    {
      title: 'apply --region US-EAST-1',
      args: ['apply', '--region', 'US-EAST-1'],
      message: /--region "US-EAST-1" is not an AWS region name; write e\.g\. us-east-1/,
      event: true,
    },
    {
      title: 'apply --endpoint not-a-url',
      args: ['apply', '--endpoint', 'not-a-url'],
      message: /--endpoint "not-a-url" is not a URL/,
      event: true,
    },
    {
      title: 'an unknown option',
      args: ['validate', '--polices', 'policies'],
      message: /unknown option '--polices'/,
      event: true,
    },
    {
      title: 'an unknown option of plan',
      args: ['plan', '--polices', 'x'],
      message: /unknown option '--polices'/,
      event: true,
    },
    {
      title: '--write-rate given to plan, which never writes',
      args: ['plan', '--write-rate', '5'],
      message: /unknown option '--write-rate'/,
      event: true,
    },
  ];

  for (const bad of BAD_VALUES) {
    it(`${bad.title}: exit 3 with a message that names the option, before any work`, async () => {
      const good = await policyDir({ 'ok.yaml': policy('ok') });
      const result = await runCli([...bad.args], {
        env: {
          ...ENV,
          SGR_POLICIES: good,
          SGR_ENDPOINT: DEAD_ENDPOINT,
          AWS_REGION: 'us-east-1',
          ...bad.env,
        },
        timeoutMs: 20_000, // a daemon that wrongly started would be killed (code null), not exit 3
      });
      expect(result.code, result.stdout + result.stderr).toBe(3);
      expect(result.stderr).toMatch(bad.message);
      expect(eventsNamed(result.events, 'reconcile.started')).toEqual([]);
      expect(eventsNamed(result.events, 'daemon.started')).toEqual([]);
      // Where our own option parsing rejects the value, it is also a structured event.
      const configInvalid = eventsNamed(result.events, 'config.invalid');
      expect(configInvalid).toHaveLength(bad.event ? 1 : 0);
      if (bad.event) {
        expect(configInvalid[0]?.['error']).toMatch(bad.message);
        expect(configInvalid[0]?.['level']).toBe('error');
      }
      // apply and run write their events to stdout, the others to stderr (SPEC "Output streams").
      const eventStream = ['apply', 'run'].includes(bad.args[0] ?? '') ? result.stdout : result.stderr;
      expect(parseEvents(eventStream).map((e) => e.event)).toEqual(bad.event ? ['config.invalid'] : []);
    });
  }

  it('the option an invalid value was given for is a field of config.invalid', async () => {
    const result = await runCli(['run', '--schedule', '61 * * * *'], { env: ENV });
    expect(result.code).toBe(3);
    expect(eventsNamed(result.events, 'config.invalid')).toEqual([
      expect.objectContaining({
        level: 'error',
        option: '--schedule',
        error: expect.stringMatching(/minute field "61"/),
      }),
    ]);
  });

  it('an unknown command: exit 3, and stderr names it', async () => {
    const result = await runCli(['reconcile', '--policies', 'policies'], { env: ENV });
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/unknown command 'reconcile'/);
    expect(result.stderr).toMatch(/sg-reconciler --help/);
    expect(eventsNamed(result.events, 'config.invalid')).toEqual([
      expect.objectContaining({
        errorCode: 'commander.unknownCommand',
        error: "unknown command 'reconcile'",
      }),
    ]);
  });

  it('plan --help does not offer --write-rate, which only apply and run use', async () => {
    const plan = await runCli(['plan', '--help'], { env: ENV });
    expect(plan.stdout).not.toContain('--write-rate');
    const apply = await runCli(['apply', '--help'], { env: ENV });
    expect(apply.stdout).toContain('--write-rate');
  });
});

describe('events for a person at a terminal', () => {
  const twoErrors = (): Promise<string> =>
    policyDir({
      'bad.yaml': edit(
        edit(policy('bad'), 'ports: 22', 'ports: 70000'),
        'groupId: sg-903004f8',
        'groupId: web',
      ),
    });

  it.skipIf(!HAS_SCRIPT)('validate in a terminal shows each error once, as a readable line', async () => {
    const dir = await twoErrors();
    const { code, output } = await runCliInTerminal(['validate', '--policies', dir], { env: ENV });
    expect(code).toBe(3);
    const lines = output.split('\n').filter((l) => l !== '');
    expect(lines.filter((l) => l.includes('ports 70000 is out of range'))).toEqual([
      expect.stringMatching(
        new RegExp(
          `^\\d\\d:\\d\\d:\\d\\d ERROR policy\\.invalid  ${join(dir, 'bad.yaml')}:\\d+:\\d+  spec\\.ingress\\[0\\]\\.ports  `,
        ),
      ),
    ]);
    expect(lines.filter((l) => l.includes('groupId "web"'))).toHaveLength(1);
    expect(output).not.toContain('{"level"');
    expect(lines.at(-1)).toBe(`2 errors in ${dir}`);
  });

  it.skipIf(!HAS_SCRIPT)('--log-format json keeps JSON lines in a terminal', async () => {
    const dir = await twoErrors();
    const { code, output } = await runCliInTerminal(['validate', '--policies', dir, '--log-format', 'json'], {
      env: ENV,
    });
    expect(code).toBe(3);
    expect(eventsNamed(parseEvents(output), 'policy.invalid')).toHaveLength(2);
  });

  it('--log-format pretty (or SGR_LOG_FORMAT) gives readable lines through a pipe too', async () => {
    const dir = await twoErrors();
    for (const [args, env] of [
      [['--log-format', 'pretty'], ENV],
      [[], { ...ENV, SGR_LOG_FORMAT: 'pretty' }],
    ] as const) {
      const result = await runCli(['validate', '--policies', dir, ...args], { env });
      expect(result.code).toBe(3);
      expect(result.events).toEqual([]);
      expect(result.stderr.split('\n').filter((l) => l.includes(' ERROR policy.invalid  '))).toHaveLength(2);
      // stdout is not the terminal the events go to: the report keeps its own list.
      expect(result.stdout).toContain('ports 70000 is out of range');
    }
  });

  it('pipes get JSON lines when no format is given', async () => {
    const dir = await twoErrors();
    const result = await runCli(['validate', '--policies', dir], { env: ENV });
    expect(eventsNamed(result.events, 'policy.invalid')).toHaveLength(2);
  });
});
