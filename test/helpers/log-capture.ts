// A logger whose every line is parsed into an array the test can inspect (probot's test/utils.ts
// pattern), shared by the engine's unit tests.
import { Writable } from 'node:stream';
import { createLogger, type Logger, type LogLevel } from '../../src/logging.js';

/** One pino line as a plain object; `event` is the contract's event name. */
export type LogLine = Record<string, unknown> & { event?: string };

/** A logger at `level` (default debug) and the lines it has written so far, parsed. */
export function captureLogger(level: LogLevel = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      for (const line of chunk.toString().split('\n'))
        if (line.trim() !== '') lines.push(JSON.parse(line) as LogLine);
      callback();
    },
  });
  return { logger: createLogger({ level, destination: stream }), lines };
}
