// When passes run: cron-expression validation, and the node-cron scheduler behind a
// two-method interface so the daemon can be driven by hand in tests. node-cron's own log lines go
// through pino (its default logger writes coloured text to the console).
import { createTask, validateDetailed, type Logger as CronLogger } from 'node-cron';
import { report } from '../events.js';
import type { Logger } from '../logging.js';

/** Each field's name as people say it, and the values it takes. */
const FIELDS: Readonly<Record<string, { readonly name: string; readonly values: string }>> = {
  second: { name: 'second', values: '0-59' },
  minute: { name: 'minute', values: '0-59' },
  hour: { name: 'hour', values: '0-23' },
  dayOfMonth: { name: 'day-of-month', values: '1-31' },
  month: { name: 'month', values: '1-12 or jan-dec' },
  dayOfWeek: { name: 'day-of-week', values: '0-7 (0 and 7 are Sunday) or sun-sat' },
};

const SCHEDULE_HELP =
  'write 5 fields (minute hour day-of-month month day-of-week, e.g. "*/5 * * * *") or 6 with seconds first (e.g. "*/30 * * * * *")';

/**
 * The reason a cron expression is not usable, phrased for the person who wrote it: which field is
 * wrong, the values that field takes, and the shape of a whole expression. Undefined when valid.
 */
export function validateSchedule(expr: string): string | undefined {
  if (expr.trim() === '') return `--schedule is empty: ${SCHEDULE_HELP}`;
  let detailed: ReturnType<typeof validateDetailed>;
  try {
    detailed = validateDetailed(expr);
  } catch (error) {
    return `--schedule "${expr}" is not a cron expression (${error instanceof Error ? error.message : String(error)}): ${SCHEDULE_HELP}`;
  }
  if (detailed.valid) return undefined;
  const problems = detailed.errors.map((e) => {
    if (e.field === 'expression') return e.message;
    const field = FIELDS[e.field];
    if (field === undefined) return e.message;
    return `the ${field.name} field "${e.value ?? ''}" is not valid (${field.name} takes ${field.values}, *, a range a-b, a list a,b or a step */n)`;
  });
  const detail = problems.length > 0 ? problems.join('; ') : 'not a cron expression';
  return `--schedule "${expr}" is invalid: ${detail}; ${SCHEDULE_HELP}`;
}

/** A started schedule; `stop` ends it for good (idempotent). */
export interface ScheduledJob {
  stop(): void;
}

/** Calls `onTick` at every match of `expression` in `timezone` until stopped. */
export type Scheduler = (expression: string, timezone: string, onTick: () => void) => ScheduledJob;

/** Adapts node-cron's logger interface to pino events; node-cron's messages are fixed English text. */
export function cronLogger(logger: Logger): CronLogger {
  const fields = (err?: Error): object =>
    err === undefined ? { component: 'node-cron' } : { component: 'node-cron', err };
  return {
    info: (message) => logger.debug(fields(), message),
    debug: (message, err) =>
      message instanceof Error
        ? logger.debug(fields(message), message.message)
        : logger.debug(fields(err), message),
    warn: (message) => report(logger, ['daemon.warning', 'cron-warning'], fields(), message),
    error: (message, err) =>
      message instanceof Error
        ? report(logger, ['daemon.warning', 'cron-error'], fields(message), message.message)
        : report(logger, ['daemon.warning', 'cron-error'], fields(err), message),
  };
}

/**
 * node-cron 4. Overlap is not left to node-cron (`noOverlap`): the daemon's own single-flight guard
 * also covers the start-up pass, which node-cron never sees, and reports the skip as an event. The
 * tick handler returns at once, so node-cron never considers a tick as running.
 */
export function createCronScheduler(logger: Logger): Scheduler {
  return (expression, timezone, onTick) => {
    const task = createTask(expression, () => onTick(), {
      name: 'sg-reconciler',
      timezone,
      noOverlap: false,
      logger: cronLogger(logger),
    });
    // A listener makes node-cron skip its own console warning; this one is structured.
    task.on('execution:missed', (context) => {
      report(logger, ['daemon.warning', 'missed-execution'], {
        component: 'node-cron',
        reason: 'missed-execution',
        scheduledAt: context.date.toISOString(),
      });
    });
    const cronFailed = (error: unknown): void =>
      report(logger, ['daemon.warning', 'cron-failed'], { component: 'node-cron', err: error });
    // Inline tasks start and stop synchronously; the types also allow a promise.
    Promise.resolve(task.start()).catch(cronFailed);
    let stopped = false;
    return {
      stop: () => {
        if (stopped) return;
        stopped = true;
        // destroy() also removes the task from node-cron's module-level registry.
        Promise.resolve(task.destroy()).catch(cronFailed);
      },
    };
  };
}
