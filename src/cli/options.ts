// Parsers for option values. Each throws InvalidOptionError with a sentence that says what to write.
import { LOG_LEVELS, type LogLevel } from '../logging.js';

export class InvalidOptionError extends Error {
  override readonly name = 'InvalidOptionError';
}

export function parsePositiveInt(option: string, value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidOptionError(
      `${option} "${value}" is not a positive whole number; write e.g. ${option} 60`,
    );
  }
  return Number(value);
}

export function parsePositiveNumber(option: string, value: string): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidOptionError(`${option} "${value}" is not a positive number; write e.g. ${option} 3`);
  }
  return n;
}

export function parseLogLevel(value: string): LogLevel {
  const level = value.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new InvalidOptionError(
    `--log-level "${value}" is not a level; write one of ${LOG_LEVELS.join(', ')}`,
  );
}

export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new InvalidOptionError(
      `--listen "${value}" is not host:port; write e.g. 0.0.0.0:9464, 127.0.0.1:9464 or [::]:9464`,
    );
  }
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

export function parseEndpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidOptionError(`--endpoint "${value}" is not a URL; write e.g. http://127.0.0.1:5000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidOptionError(`--endpoint "${value}" must be an http:// or https:// URL`);
  }
  if (url.username !== '' || url.password !== '') {
    // Never echo what looks like a credential back.
    throw new InvalidOptionError('--endpoint must not carry a user name or password');
  }
  return value;
}

export function parseRegion(value: string): string {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(value.trim())) {
    throw new InvalidOptionError(`--region "${value}" is not an AWS region name; write e.g. us-east-1`);
  }
  return value.trim();
}

export function parseTimezone(value: string): string {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw new InvalidOptionError(
      `--timezone "${value}" is not an IANA time zone; write e.g. UTC or Europe/Berlin`,
    );
  }
  return value;
}

export function parseFormat(value: string): 'text' | 'json' | 'markdown' {
  if (value === 'text' || value === 'json' || value === 'markdown') return value;
  throw new InvalidOptionError(`--format "${value}" is not a format; write text, json or markdown`);
}
