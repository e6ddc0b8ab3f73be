// When passes run: cron-expression validation, and the node-cron scheduler behind a
// two-method interface so the daemon can be driven by hand in tests. node-cron's own log lines go
// through pino (its default logger writes coloured text to the console).
import { createTask, validateDetailed, type Logger as CronLogger } from 'node-cron';
import { report } from '../events.js';
import type { Logger } from '../logging.js';

/** Each field's name as people say it, the values it takes, and a value to show in an example. */
interface FieldInfo {
  readonly name: string;
  readonly values: string;
  readonly min: number;
  readonly max: number;
  /** A value of this field to put in the example of a corrected expression. */
  readonly example: string;
  /** A step that makes sense for this field, for the example of a corrected step. */
  readonly exampleStep: number;
}

const FIELDS: Readonly<Record<string, FieldInfo>> = {
  second: { name: 'second', values: '0-59', min: 0, max: 59, example: '0', exampleStep: 30 },
  minute: { name: 'minute', values: '0-59', min: 0, max: 59, example: '0', exampleStep: 15 },
  hour: { name: 'hour', values: '0-23', min: 0, max: 23, example: '0', exampleStep: 6 },
  dayOfMonth: { name: 'day-of-month', values: '1-31', min: 1, max: 31, example: '1', exampleStep: 2 },
  month: { name: 'month', values: '1-12 or jan-dec', min: 1, max: 12, example: '1', exampleStep: 3 },
  // 0 and 7 are both Sunday: a step spans the seven days 0-6.
  dayOfWeek: {
    name: 'day-of-week',
    values: '0-7 (0 and 7 are Sunday) or sun-sat',
    min: 0,
    max: 6,
    example: '1',
    exampleStep: 2,
  },
};

/** The fields of a 6-field expression, in order (a 5-field one has no seconds). */
const FIELD_ORDER = ['second', 'minute', 'hour', 'dayOfMonth', 'month', 'dayOfWeek'] as const;

const SCHEDULE_HELP =
  'write 5 fields (minute hour day-of-month month day-of-week, e.g. "*/5 * * * *") or 6 with seconds first (e.g. "*/30 * * * * *")';

const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;
/** The most days each month has (February: 29, in leap years). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

/** The expression's fields keyed by name (5 fields: no `second`); undefined unless 5 or 6 fields. */
function splitExpression(expr: string): Map<(typeof FIELD_ORDER)[number], string> | undefined {
  const raw = expr.trim().split(/\s+/);
  if (raw.length !== 5 && raw.length !== 6) return undefined;
  const names = raw.length === 6 ? FIELD_ORDER : FIELD_ORDER.slice(1);
  return new Map(names.map((name, i) => [name, raw[i] ?? '']));
}

/** `expr` with one field replaced by `value`: the example of what to write instead. */
function withField(expr: string, field: string, value: string): string {
  const fields = splitExpression(expr);
  if (fields === undefined) return expr;
  return [...fields.entries()].map(([name, text]) => (name === field ? value : text)).join(' ');
}

/**
 * A step (`*\/n`, `a-b/n`, `a/n`) larger than its field's range: node-cron accepts it, and the field
 * then matches only its first value (a step of 61 in the minute field fires once an hour, at minute 0).
 */
function stepProblem(expr: string): string | undefined {
  const fields = splitExpression(expr);
  if (fields === undefined) return undefined;
  for (const [name, text] of fields) {
    const info = FIELDS[name];
    if (info === undefined) continue;
    for (const token of text.split(',')) {
      const step = /\/(\d+)$/.exec(token)?.[1];
      if (step === undefined || Number(step) <= info.max - info.min) continue;
      const example = withField(expr, name, `*/${info.exampleStep}`);
      return (
        `--schedule "${expr}" is invalid: the ${info.name} step /${step} is larger than the ${info.name} range ` +
        `(${info.min}-${info.max}), so it would match only one ${info.name}; write a step from 1 to ` +
        `${info.max - info.min}, e.g. "${example}", or a fixed ${info.name} such as "${withField(expr, name, info.example)}"`
      );
    }
  }
  return undefined;
}

/** The whole numbers a simple field (`n`, `a-b`, lists, steps, month names) matches; undefined if not simple. */
function fieldValues(text: string, min: number, max: number): number[] | undefined {
  const names = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
  const number = (t: string): number =>
    /^\d+$/.test(t) ? Number(t) : names.indexOf(t.toLowerCase()) + 1 || Number.NaN;
  const values: number[] = [];
  for (const token of text.split(',')) {
    const match = /^(\*|(\w+)(?:-(\w+))?)(?:\/(\d+))?$/.exec(token);
    if (match === null) return undefined;
    const from = match[1] === '*' ? min : number(match[2] ?? '');
    const to = match[1] === '*' ? max : match[3] !== undefined ? number(match[3]) : from;
    const step = match[4] !== undefined ? Number(match[4]) : 1;
    if (!Number.isInteger(from) || !Number.isInteger(to) || step < 1) return undefined;
    for (let v = from; v <= to; v += step) values.push(v);
  }
  return values;
}

/** `31st`, `22nd`: the day as people write it. */
function ordinal(day: number): string {
  const suffix =
    day % 10 === 1 && day !== 11
      ? 'st'
      : day % 10 === 2 && day !== 12
        ? 'nd'
        : day % 10 === 3 && day !== 13
          ? 'rd'
          : 'th';
  return `${day}${suffix}`;
}

/** `April, June and September`. */
function listed(items: readonly string[], and: string): string {
  return items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} ${and} ${items.at(-1) ?? ''}`;
}

/** An expression whose days of the month exist in none of its months (`0 0 31 2 *`): it never fires. */
function neverFires(expr: string): string {
  const fields = splitExpression(expr);
  const days = fieldValues(fields?.get('dayOfMonth') ?? '', 1, 31);
  const months = fieldValues(fields?.get('month') ?? '', 1, 12);
  const example = (day: string): string => withField(expr, 'dayOfMonth', day);
  const fix = `e.g. "${example('28')}", or L for the last day of the month, e.g. "${example('L')}"`;
  if (days === undefined || months === undefined || days.length === 0 || months.length === 0) {
    return `--schedule "${expr}" never fires: none of its months has the day of the month it names; write a day they have, ${fix}`;
  }
  const names = months.map((m) => MONTH_NAMES[m - 1] ?? String(m));
  const most = Math.max(...months.map((m) => MONTH_DAYS[m - 1] ?? 31));
  const subject = months.length > 1 ? `${listed(names, 'and')} have` : `${names[0] ?? ''} has`;
  return (
    `--schedule "${expr}" never fires: ${subject} no ${listed(days.map(ordinal), 'or')} ` +
    `(at most ${most} days); write a day ${months.length > 1 ? 'each of them' : 'it'} has, ${fix}`
  );
}

/** One of node-cron's per-field errors, phrased with the values the field takes and an example. */
function fieldProblem(expr: string, error: { field: string; value?: string; message: string }): string {
  if (error.field === 'expression') return error.message;
  const field = FIELDS[error.field];
  if (field === undefined) return error.message;
  return (
    `the ${field.name} field "${error.value ?? ''}" is not valid (${field.name} takes ${field.values}, *, ` +
    `a range a-b, a list a,b or a step */n; e.g. "${withField(expr, error.field, field.example)}")`
  );
}

/**
 * The reason a cron expression is not usable, phrased for the person who wrote it: which field is
 * wrong, the values that field takes, and an example of what to write. Also what node-cron accepts
 * but the person cannot have meant: a step larger than its field's range (it matches one value),
 * and a day of the month none of the months has (it never fires). Undefined when usable.
 */
export function validateSchedule(expr: string): string | undefined {
  if (expr.trim() === '') return `--schedule is empty: ${SCHEDULE_HELP}`;
  let detailed: ReturnType<typeof validateDetailed>;
  try {
    detailed = validateDetailed(expr);
  } catch (error) {
    return `--schedule "${expr}" is not a cron expression (${error instanceof Error ? error.message : String(error)}): ${SCHEDULE_HELP}`;
  }
  if (detailed.valid) return stepProblem(expr);
  // node-cron reports an impossible day only when every field is valid on its own.
  if (detailed.errors.some((e) => e.field === 'dayOfMonth' && /impossible/.test(e.message))) {
    return neverFires(expr);
  }
  const problems = detailed.errors.map((e) => fieldProblem(expr, e));
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
