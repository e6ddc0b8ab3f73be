// Cron validation, and the node-cron scheduler with its log lines routed through pino.
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../src/logging.js';
import { createCronScheduler, cronLogger, validateSchedule } from '../../src/daemon/schedule.js';

type Line = Record<string, unknown>;

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (text: string) => void lines.push(JSON.parse(text) as Line) },
  });
  return { logger, lines };
}

describe('validateSchedule', () => {
  it.each(['*/5 * * * *', '*/1 * * * * *', '0 3 * * 1-5', '30 */2 * * * *', '@daily'])(
    'accepts %s',
    (expr) => {
      expect(validateSchedule(expr)).toBeUndefined();
    },
  );

  it.each([
    ['61 * * * *', /minute field "61" is not valid/],
    ['* * * * 8', /day-of-week field "8" is not valid/],
    ['* * * *', /expected 5 or 6 fields but got 4/],
    ['* * * * * * *', /expected 5 or 6 fields but got 7/],
    ['every five minutes', /--schedule "every five minutes" is invalid/],
    ['', /--schedule is empty/],
  ])('rejects %j with a message that names the problem', (expr, pattern) => {
    const error = validateSchedule(expr);
    expect(error).toMatch(pattern);
    // ...and says what to write instead.
    expect(error).toContain('"*/5 * * * *"');
  });

  it.each([
    ['61 * * * *', 'minute takes 0-59'],
    ['* 24 * * *', 'hour takes 0-23'],
    ['* * 32 * *', 'day-of-month takes 1-31'],
    ['* * * 13 *', 'month takes 1-12 or jan-dec'],
  ])('says which values the wrong field of %j takes', (expr, range) => {
    expect(validateSchedule(expr)).toContain(range);
  });
});

describe('cronLogger', () => {
  it('turns node-cron warnings and errors into daemon.warning events and its chatter into debug lines', () => {
    const { logger, lines } = capture();
    const adapter = cronLogger(logger);
    adapter.warn('task still running');
    adapter.error(new Error('task threw'));
    adapter.error('coordinator failed', new Error('lease lost'));
    adapter.info('task started');

    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        event: 'daemon.warning',
        component: 'node-cron',
        msg: 'task still running',
      }),
      expect.objectContaining({
        level: 'error',
        event: 'daemon.warning',
        msg: 'task threw',
        err: expect.objectContaining({ message: 'task threw' }),
      }),
      expect.objectContaining({
        level: 'error',
        event: 'daemon.warning',
        msg: 'coordinator failed',
        err: expect.objectContaining({ message: 'lease lost' }),
      }),
      expect.objectContaining({ level: 'debug', component: 'node-cron', msg: 'task started' }),
    ]);
    expect(lines[3]).not.toHaveProperty('event');
  });
});

describe('createCronScheduler', () => {
  it('ticks on a seconds schedule and never again once stopped', async () => {
    const { logger, lines } = capture();
    let ticks = 0;
    const job = createCronScheduler(logger)('* * * * * *', 'UTC', () => {
      ticks += 1;
    });
    const deadline = Date.now() + 3_000;
    while (ticks < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(ticks).toBeGreaterThanOrEqual(2);

    job.stop();
    job.stop();
    const atStop = ticks;
    await new Promise((r) => setTimeout(r, 1_300));
    expect(ticks).toBe(atStop);
    expect(lines.filter((l) => l['level'] !== 'debug')).toEqual([]);
  });
});
