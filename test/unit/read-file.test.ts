// Files named on the command line (--accounts, --snapshot) are read only when they are regular
// files within a limit: a device or FIFO would otherwise be read until memory ran out.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileRefused, readRegularFile } from '../../src/read-file.js';

describe('readRegularFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sgr-read-'));

  it('reads a regular file within the limit', async () => {
    writeFileSync(join(dir, 'a.yaml'), 'kind: x\n');
    expect((await readRegularFile(join(dir, 'a.yaml'), 100)).toString()).toBe('kind: x\n');
  });

  it.each([
    ['/dev/zero', 'not a regular file'],
    ['/dev/urandom', 'not a regular file'],
    [dir, 'is a directory'],
  ])('refuses %s at once (%s)', async (path, why) => {
    await expect(readRegularFile(path, 1024)).rejects.toThrow(FileRefused);
    await expect(readRegularFile(path, 1024)).rejects.toThrow(why);
  });

  it('refuses a FIFO without waiting for a writer', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    await expect(readRegularFile(fifo, 1024)).rejects.toThrow(
      'not a regular file (a FIFO, socket or device)',
    );
  });

  it('refuses a file over the limit, saying its size', async () => {
    writeFileSync(join(dir, 'big.json'), 'x'.repeat(3 * 1024 * 1024));
    await expect(readRegularFile(join(dir, 'big.json'), 2 * 1024 * 1024)).rejects.toThrow(
      'it is 3145728 bytes, over the 2 MiB limit',
    );
  });

  it('passes on the file system error of a file that is not there', async () => {
    await expect(readRegularFile(join(dir, 'missing'), 10)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
