// Reading a file a person names on the command line (--accounts, --snapshot) without letting it
// hold the process: only a regular file is read, and never more than a limit. A FIFO never ends,
// and a device such as /dev/zero or /dev/urandom has no size to check beforehand (stat says 0), so
// both would be read until memory ran out.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/** Why a file was not read: not a regular file, or larger than the limit (bytes). */
export class FileRefused extends Error {
  override readonly name = 'FileRefused';
}

/**
 * The bytes of `path`, at most `maxBytes`. Throws FileRefused for a FIFO, socket, device or
 * directory, or a file over `maxBytes` (the message says which, for a person), and the file
 * system's error (ENOENT, EACCES, ...) when it cannot be opened. `O_NONBLOCK` keeps the open of a
 * FIFO from waiting for a writer.
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (stat.isDirectory()) throw new FileRefused('it is a directory');
    if (!stat.isFile()) throw new FileRefused('it is not a regular file (a FIFO, socket or device)');
    if (stat.size > maxBytes) {
      throw new FileRefused(`it is ${stat.size} bytes, over the ${maxBytes / (1024 * 1024)} MiB limit`);
    }
    // One byte more than the stat said: a file that grows while it is read fills it, and is refused.
    const buffer = Buffer.alloc(stat.size + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) throw new FileRefused('it grew while it was read; try again');
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}
