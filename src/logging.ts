// The structured event log: one JSON object per line (pino), every one with `event`, `runId` (inside
// a pass), `level`, `time` and `msg`; on a terminal, one readable line per event instead
// (log-pretty.ts). Created once by the CLI and passed in; nothing else makes loggers.
import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger } from 'pino';
import { report } from './events.js';
import { formatEvent } from './log-pretty.js';
import type { PolicyWarning } from './model/policy.js';
import type { ReportChange } from './reconcile/report-memory.js';

export type { Logger } from 'pino';
export { EVENT_NAMES, type EventName } from './events.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** `json`: one JSON object per line (pipes, CI, the daemon); `pretty`: one readable line per event. */
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/**
 * Credential-shaped fields are censored wherever this code could put them: at the top level of an
 * event, in an error, or in request headers. The paths are exact on purpose: pino's wildcard paths
 * cost 10-35x more per event (measured: 1.8 us exact, 20 us with `*.key`, 70 us with `*.*.key`),
 * which is most of the logging cost of a 10,000-group pass. The first line of defence is that no
 * code here ever logs a credentials object or raw SDK request; the secrets test proves the whole.
 */
const SECRET_KEYS = [
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
  'AccessKeyId',
  'SecretAccessKey',
  'SessionToken',
  'authorization',
  'Authorization',
  'credentials',
  'password',
  'token',
  'x-amz-security-token',
];
/**
 * Text with the user information of every URL in it masked (`http://user:pass@host` ->
 * `http://***@host`): for messages that echo what a person typed, such as commander's "argument
 * 'http://user:pass@…' is invalid" for `--endpoint`, before they reach stderr or an event.
 */
export function redactUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@'"]*@/gi, '$1***@');
}

const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [
  `["${key}"]`,
  `err["${key}"]`,
  `error["${key}"]`,
  `headers["${key}"]`,
  `request.headers["${key}"]`,
]);

export interface LoggerOptions {
  readonly level: LogLevel;
  /** 1 for stdout (apply, run), 2 for stderr (plan, validate), or a stream (tests). */
  readonly destination: 1 | 2 | DestinationStream;
  /**
   * `pretty` writes one readable line per event instead of the JSON line (formatEvent); the
   * default, `auto`, is pretty when the destination is a terminal and JSON otherwise.
   */
  readonly format?: LogFormat | 'auto';
}

/** The format `auto` resolves to for a file descriptor: pretty on a terminal, else JSON. */
export function resolveLogFormat(format: LogFormat | 'auto' | undefined, fd: 1 | 2): LogFormat {
  if (format === 'json' || format === 'pretty') return format;
  return isatty(fd) ? 'pretty' : 'json';
}

export function createLogger(options: LoggerOptions): Logger {
  let destination: DestinationStream;
  if (typeof options.destination === 'number') {
    const fd = options.destination;
    destination =
      resolveLogFormat(options.format, fd) === 'pretty'
        ? prettyDestination((line) => writeSync(fd, line))
        : pino.destination({ fd, sync: true });
  } else {
    const stream = options.destination;
    destination = options.format === 'pretty' ? prettyDestination((line) => stream.write(line)) : stream;
  }
  return pino(
    {
      level: options.level,
      base: undefined,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination,
  );
}

/** A pino destination that turns each JSON line into formatEvent's line before writing it. */
function prettyDestination(write: (line: string) => void): DestinationStream {
  return {
    write(line: string): void {
      let text: string;
      try {
        text = formatEvent(JSON.parse(line) as Record<string, unknown>);
      } catch {
        text = line.trimEnd();
      }
      write(`${text}\n`);
    },
  };
}

/**
 * One `policy.warning` event per warning: `warning` (the sentence), plus `file`, `line`, `column`
 * and `path` when it is about a field; `fields` adds the pass's context (the daemon's runId).
 */
export function reportPolicyWarnings(
  log: Logger,
  warnings: readonly PolicyWarning[],
  fields: Readonly<Record<string, unknown>> = {},
): void {
  for (const { message, ...where } of warnings) {
    report(log, 'policy.warning', { ...fields, ...where, warning: message });
  }
}

/**
 * One `policy.invalid` event per validation error (validate, plan, apply and every daemon pass).
 * `changes` (the daemon's report memory, one per error in order) makes an `unchanged` error a debug
 * line and adds `change` to each event; without it every error is reported at error level.
 */
export function reportPolicyErrors(
  log: Logger,
  errors: readonly {
    file: string;
    line: number;
    column: number;
    path: string;
    message: string;
    guardrail?: string;
    guardrailEntry?: number;
  }[],
  changes?: readonly ReportChange[],
): void {
  errors.forEach(({ file, line, column, path, message, guardrail, guardrailEntry }, index) => {
    const change = changes?.[index];
    const denied = guardrail !== undefined ? { guardrail, guardrailEntry } : {};
    report(log, ['policy.invalid', change === 'unchanged' ? 'unchanged' : 'reported'], {
      file,
      line,
      column,
      path,
      error: message,
      ...denied,
      ...(change !== undefined ? { change } : {}),
    });
  });
}
