import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { report } from '../../src/events.js';
import { createLogger } from '../../src/logging.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      callback();
    },
  });
  return { lines, logger: createLogger({ level: 'trace', destination: stream }) };
}

describe('createLogger', () => {
  it('censors credential-shaped fields at the top level, in errors and in request headers', () => {
    const { lines, logger } = capture();

    logger.info(
      {
        event: 'x',
        secretAccessKey: 'SECRET-1',
        accessKeyId: 'AKIA-2',
        credentials: { accessKeyId: 'AKIA-3' },
        err: { sessionToken: 'TOKEN-4', message: 'kept' },
        error: { Authorization: 'AWS4-HMAC-SHA256 Credential=AKIA-5' },
        headers: { authorization: 'AWS4 6', 'x-amz-security-token': 'TOKEN-7' },
        request: { headers: { authorization: 'AWS4 8' } },
      },
      'constant message',
    );

    const text = JSON.stringify(lines);
    for (const secret of [
      'SECRET-1',
      'AKIA-2',
      'AKIA-3',
      'TOKEN-4',
      'AKIA-5',
      'AWS4 6',
      'TOKEN-7',
      'AWS4 8',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(lines[0]).toMatchObject({ event: 'x', err: { message: 'kept' }, secretAccessKey: '[redacted]' });
  });

  it('every event line has event, level (a label), time (ISO) and msg', () => {
    const { lines, logger } = capture();

    report(logger, 'reconcile.started', { mode: 'plan', policies: 2 });

    expect(lines).toEqual([
      {
        event: 'reconcile.started',
        mode: 'plan',
        policies: 2,
        level: 'info',
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        msg: 'reconcile pass started',
      },
    ]);
  });
});
