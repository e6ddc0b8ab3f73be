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

describe('validateSchedule: expressions node-cron accepts but nobody means', () => {
  it.each([
    [
      '*/61 * * * *',
      'the minute step /61 is larger than the minute range (0-59)',
      'write a step from 1 to 59, e.g. "*/15 * * * *"',
    ],
    ['*/90 * * * * *', 'the second step /90 is larger than the second range (0-59)', 'e.g. "*/30 * * * * *"'],
    ['0 */24 * * *', 'the hour step /24 is larger than the hour range (0-23)', 'e.g. "0 */6 * * *"'],
    [
      '0 0 */31 * *',
      'the day-of-month step /31 is larger than the day-of-month range (1-31)',
      'e.g. "0 0 */2 * *"',
    ],
  ])('rejects the step of %j, larger than its field, and says what to write', (expr, problem, fix) => {
    const error = validateSchedule(expr);
    expect(error).toContain(`--schedule "${expr}" is invalid: ${problem}`);
    expect(error).toContain(fix);
  });

  it.each(['*/59 * * * *', '0 */23 * * *', '0 0 */30 * *', '0-30/15 * * * *'])(
    'accepts the step of %j, within its field',
    (expr) => {
      expect(validateSchedule(expr)).toBeUndefined();
    },
  );

  it('says an expression whose day no month has never fires, and what to write', () => {
    expect(validateSchedule('0 0 31 2 *')).toBe(
      '--schedule "0 0 31 2 *" never fires: February has no 31st (at most 29 days); write a day it has, ' +
        'e.g. "0 0 28 2 *", or L for the last day of the month, e.g. "0 0 L 2 *"',
    );
    expect(validateSchedule('0 0 31 4,6 *')).toMatch(
      /never fires: April and June have no 31st \(at most 30 days\)/,
    );
    expect(validateSchedule('0 0 30,31 feb *')).toMatch(/never fires: February has no 30th or 31st/);
    // Both examples it gives are usable.
    expect(validateSchedule('0 0 28 2 *')).toBeUndefined();
    expect(validateSchedule('0 0 L 2 *')).toBeUndefined();
    expect(validateSchedule('0 0 29 2 *')).toBeUndefined(); // leap years
  });

  it('says which values the minute takes and gives an example for "61 * * * *"', () => {
    const error = validateSchedule('61 * * * *');
    expect(error).toContain('the minute field "61" is not valid (minute takes 0-59');
    expect(error).toContain('e.g. "0 * * * *"');
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
