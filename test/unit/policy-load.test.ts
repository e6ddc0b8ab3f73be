// The loader's file-system edge: which files are read, in which order, and how every problem on the
// way (missing directory, loops, binary or oversized files) becomes one located error.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyLoadResult } from '../../src/model/policy.js';
import { loadPolicies } from '../../src/policy/index.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sgr-policies-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function policy(name: string, port = 22): string {
  return [
    'apiVersion: sg-reconciler/v1',
    'kind: IngressPolicy',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  targets:',
    '    - groupName: web',
    '  ingress:',
    '    - protocol: tcp',
    `      ports: ${port}`,
    '      sources:',
    '        - cidr: 203.0.113.0/24',
    '',
  ].join('\n');
}

function write(relative: string, content: string | Uint8Array): string {
  const file = join(dir, relative);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, content);
  return file;
}

function names(result: PolicyLoadResult): string[] {
  if (!result.ok) throw new Error(JSON.stringify(result.errors, null, 2));
  return result.policies.map((entry) => entry.name);
}

function errors(result: PolicyLoadResult): Array<[string, number, number, string]> {
  if (result.ok) throw new Error('expected errors');
  return result.errors.map((error) => [error.file, error.line, error.column, error.message]);
}

describe('loadPolicies', () => {
  it('reads *.yaml and *.yml recursively, sorted by relative path, skipping other and hidden files', async () => {
    write('web/https.yml', policy('web-https', 443));
    write('ssh.yaml', policy('ssh'));
    write('db/postgres.YAML', policy('postgres', 5432));
    write('web/README.md', '# not a policy');
    write('.git/hooks/sample.yaml', 'not: [a policy');
    write('..data/ssh.yaml', policy('ssh'));

    const result = await loadPolicies(dir);

    expect(result.files).toEqual([
      join(dir, 'db/postgres.YAML'),
      join(dir, 'ssh.yaml'),
      join(dir, 'web/https.yml'),
    ]);
    expect(names(result)).toEqual(['postgres', 'ssh', 'web-https']);
    expect(result.ok && result.warnings).toEqual([]);
  });

  it('reads several documents per file and ignores empty ones', async () => {
    write('all.yaml', `---\n${policy('one')}---\n# nothing here\n---\n${policy('two', 2222)}---\n`);

    const result = await loadPolicies(dir);

    expect(names(result)).toEqual(['one', 'two']);
    if (result.ok)
      expect(result.policies[1]?.position).toEqual({ file: join(dir, 'all.yaml'), line: 17, column: 1 });
  });

  it('reads a file with a byte-order mark and CRLF line ends, with correct columns', async () => {
    const text = policy('crlf').replace('ports: 22', 'ports: 70000').replace(/\n/g, '\r\n');
    write('windows.yaml', `\uFEFF${text}`);
    write('windows-ok.yaml', `\uFEFF${policy('crlf-ok').replace(/\n/g, '\r\n')}`);

    const result = await loadPolicies(dir);

    expect(errors(result)).toEqual([
      [join(dir, 'windows.yaml'), 10, 14, 'ports 70000 is out of range; write a port from 0 to 65535'],
    ]);
  });

  it('rejects a file with NUL bytes as binary, at the first NUL', async () => {
    write('image.yaml', Buffer.from('kind: x\nab\u0000cd', 'utf8'));

    expect(errors(await loadPolicies(dir))).toEqual([
      [
        join(dir, 'image.yaml'),
        2,
        3,
        'file contains a NUL byte, so it is binary, not YAML; move it out of the policy directory',
      ],
    ]);
  });

  it('rejects a file that is not UTF-8, such as UTF-16', async () => {
    write('utf16.yaml', Buffer.from('\uFEFFapiVersion: x', 'utf16le'));

    expect(errors(await loadPolicies(dir))).toEqual([
      [
        join(dir, 'utf16.yaml'),
        1,
        1,
        'file is not UTF-8 text (a binary file, or another encoding such as UTF-16); save it as UTF-8 or move it out of the policy directory',
      ],
    ]);
  });

  it('reports a symlink loop at the link and still reads the other files', async () => {
    write('sub/ssh.yaml', policy('ssh'));
    symlinkSync('..', join(dir, 'sub/loop'));

    const result = await loadPolicies(dir);

    expect(errors(result)).toEqual([
      [
        join(dir, 'sub/loop'),
        1,
        1,
        'this symlink points back to a directory above it (a symlink loop); remove it or point it elsewhere',
      ],
    ]);
    expect(result.files).toEqual([join(dir, 'sub/ssh.yaml')]);
  });

  it('reports a broken symlink named like a policy', async () => {
    symlinkSync(join(dir, 'gone.yaml'), join(dir, 'ssh.yaml'));

    expect(errors(await loadPolicies(dir))).toEqual([
      [join(dir, 'ssh.yaml'), 1, 1, 'this is a broken symlink; point it at a policy file or remove it'],
    ]);
  });

  it('follows a symlinked directory and reads a file linked twice only once', async () => {
    write('shared/ssh.yaml', policy('ssh'));
    symlinkSync(join(dir, 'shared'), join(dir, 'team'));

    const result = await loadPolicies(dir);

    expect(names(result)).toEqual(['ssh']);
    expect(result.ok && result.warnings).toEqual([
      { message: `${join(dir, 'team')}: skipped, this directory was already read under another path` },
    ]);
  });

  it('descends into a directory that is named like a policy file', async () => {
    write('web.yaml/https.yaml', policy('https', 443));

    expect(names(await loadPolicies(dir))).toEqual(['https']);
  });

  it('reports a policy-named file that cannot be read as a file (a FIFO) instead of hanging', async () => {
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);

    expect(errors(await loadPolicies(dir))).toEqual([
      [
        join(dir, 'pipe.yaml'),
        1,
        1,
        'this is not a regular file (a FIFO, socket or device); remove it or rename it',
      ],
    ]);
  });

  it('rejects a file over the default 1 MiB cap and says the cap', async () => {
    write('huge.yaml', `# ${'x'.repeat(1024 * 1024)}\n`);

    expect(errors(await loadPolicies(dir))).toEqual([
      [
        join(dir, 'huge.yaml'),
        1,
        1,
        'file is 1048579 bytes, over the 1 MiB limit for one policy file; split it into smaller files',
      ],
    ]);
  });

  it('applies a configured file-size cap', async () => {
    write('ssh.yaml', policy('ssh'));

    expect(errors(await loadPolicies(dir, { maxFileBytes: 100 }))).toEqual([
      [
        join(dir, 'ssh.yaml'),
        1,
        1,
        `file is ${policy('ssh').length} bytes, over the 100 bytes limit for one policy file; split it into smaller files`,
      ],
    ]);
  });

  it('applies a cap on the number of files', async () => {
    write('a.yaml', policy('a'));
    write('b.yaml', policy('b'));

    expect(errors(await loadPolicies(dir, { maxFiles: 1 }))).toEqual([
      [dir, 1, 1, 'found 2 policy files, more than the limit of 1; point --policies at a smaller tree'],
    ]);
  });

  it('reports a missing directory once, naming it', async () => {
    const missing = join(dir, 'nope');

    expect(await loadPolicies(missing)).toEqual({
      ok: false,
      files: [],
      errors: [
        {
          file: missing,
          line: 1,
          column: 1,
          path: '',
          message:
            'the policy directory or file does not exist; create it or pass --policies <dir> (or a policy file)',
          wholePath: true,
        },
      ],
    });
  });

  it('reads a single policy file named as the path, whatever its extension', async () => {
    const file = write('ssh.yaml', policy('ssh'));
    const other = write('hook-input.txt', policy('other', 443));

    expect(names(await loadPolicies(file))).toEqual(['ssh']);
    expect(names(await loadPolicies(other))).toEqual(['other']);
  });

  it('reads several paths (files and directories) in the order given, each file once', async () => {
    const single = write('ssh.yaml', policy('ssh'));
    write('web/https.yaml', policy('web-https', 443));
    write('web/http.yaml', policy('web-http', 80));

    const result = await loadPolicies([join(dir, 'web'), single, join(dir, 'web', 'http.yaml')]);

    expect(names(result)).toEqual(['web-http', 'web-https', 'ssh']);
    expect(result.ok && result.warnings).toEqual([
      { message: `${join(dir, 'web', 'http.yaml')}: skipped, this file was already read under another path` },
    ]);
  });

  it('reports each missing path of several, and still names the duplicate policies of the others', async () => {
    write('a.yaml', policy('same'));
    write('b.yaml', policy('same', 443));
    const missing = join(dir, 'gone.yaml');

    const found = errors(await loadPolicies([join(dir, 'a.yaml'), missing, join(dir, 'b.yaml')]));

    expect(found.map(([file]) => file).sort()).toEqual([join(dir, 'b.yaml'), missing]);
    expect(found.find(([file]) => file === missing)?.[3]).toContain('does not exist');
  });

  it('accepts an empty directory with a warning', async () => {
    expect(await loadPolicies(dir)).toEqual({
      ok: true,
      policies: [],
      files: [],
      warnings: [{ message: `no policy files (*.yaml, *.yml) found below ${dir}` }],
    });
  });

  it('warns about a policy file that holds no documents', async () => {
    write('empty.yaml', '# policies will go here\n');

    expect(await loadPolicies(dir)).toEqual({
      ok: true,
      policies: [],
      files: [join(dir, 'empty.yaml')],
      warnings: [{ message: `${join(dir, 'empty.yaml')}: no policy documents in this file` }],
    });
  });

  it('shows files as join(dir, relative path) for a relative directory', async () => {
    const result = await loadPolicies('test/fixtures/policies/duplicate-names');

    expect(errors(result)).toEqual([
      [
        'test/fixtures/policies/duplicate-names/b.yaml',
        5,
        9,
        'metadata.name "web-https" is already used by the policy at test/fixtures/policies/duplicate-names/a.yaml:4:9; give each policy a unique name',
      ],
    ]);
  });

  it('never throws, even for a path the OS rejects', async () => {
    const result = await loadPolicies('bad\u0000path');

    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors.map((error) => error.file)).toEqual(['bad\u0000path']);
  });
});
