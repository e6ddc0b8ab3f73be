// Every option's default and parser, written once. program.ts hands the parsers to commander
// (Option.argParser), so a value is parsed and checked once whether it came from a flag or from an
// environment variable, and the commands receive typed values. Each parser throws commander's
// InvalidArgumentError with a sentence that says what is wrong and what to write instead.
import { InvalidArgumentError } from 'commander';
import { DEFAULT_WRITES_PER_SECOND } from '../aws/pacing.js';
import { validateSchedule } from '../daemon/schedule.js';
import { LOG_LEVELS, type LogLevel } from '../logging.js';
import { DEFAULT_ROLE_NAME } from '../model/accounts.js';
import { DEFAULT_UNIT_CONCURRENCY } from '../reconcile/pass.js';
import type { PlanFormat } from './render-plan.js';

/** Where the daemon listens: a host name or address, and a TCP port (0 = any free port). */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** The default of every option that has one; help texts and the commands read them from here. */
export const DEFAULTS = {
  policies: ['./policies'] as readonly string[],
  logLevel: 'info' as LogLevel,
  maxRulesPerGroup: 60,
  writeRate: DEFAULT_WRITES_PER_SECOND,
  format: 'text' as PlanFormat,
  schedule: '*/5 * * * *',
  listen: { host: '0.0.0.0', port: 9464 } as ListenAddress,
  timezone: 'UTC',
  passTimeout: 240,
  roleName: DEFAULT_ROLE_NAME,
  concurrency: DEFAULT_UNIT_CONCURRENCY,
} as const;

/** `--policies a b --policies c` is [a, b, c]; the first value given replaces the default. */
export function collectPaths(value: string, previous: readonly string[] | undefined): string[] {
  return previous === undefined || previous === DEFAULTS.policies ? [value] : [...previous, value];
}

/**
 * The longest delay a Node.js timer can hold, in seconds (2^31 - 1 ms, about 24.8 days): a longer
 * setTimeout fires after 1 ms instead (TimeoutOverflowWarning), so no time option may exceed it.
 */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * A whole number >= 1 (and <= `max` when given, with `maxWhy` saying why); `example` is what the
 * message suggests writing (the option's default). Throws InvalidArgumentError.
 */
export function parsePositiveInt(
  option: string,
  value: string,
  example: number,
  max?: { readonly value: number; readonly why: string },
): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(
      `${option} "${value}" is not a positive whole number; write e.g. ${option} ${example}`,
    );
  }
  if (max !== undefined && Number(value) > max.value) {
    throw new InvalidArgumentError(
      `${option} "${value}" is more than ${max.value} (${max.why}); write at most ${option} ${max.value}`,
    );
  }
  return Number(value);
}

/** A number > 0 (and >= `min` when given, with `minWhy` saying why). Throws InvalidArgumentError. */
export function parsePositiveNumber(
  option: string,
  value: string,
  min?: { readonly value: number; readonly why: string },
): number {
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`${option} "${value}" is not a positive number; write e.g. ${option} 3`);
  }
  if (min !== undefined && n < min.value) {
    throw new InvalidArgumentError(
      `${option} "${value}" is less than ${min.value} (${min.why}); write at least ${option} ${min.value}`,
    );
  }
  return n;
}

export function parseLogLevel(value: string): LogLevel {
  const level = value.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new InvalidArgumentError(
    `--log-level "${value}" is not a level; write one of ${LOG_LEVELS.join(', ')}`,
  );
}

const LISTEN_EXAMPLES = 'write e.g. 0.0.0.0:9464, 127.0.0.1:9464 or [::]:9464';

/** `host:port`, `:port` (every address) or `[v6]:port`; port 0 asks the OS for a free one. */
export function parseListen(value: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`--listen "${value}" is not host:port; ${LISTEN_EXAMPLES}`);
  const host = match[1] ?? (match[2] || '0.0.0.0');
  const port = Number(match[3]);
  if (port > 65535) {
    const shown = match[1] !== undefined ? `[${host}]` : host;
    throw new InvalidArgumentError(
      `--listen "${value}": the port must be 0-65535 (0 picks a free one); write host:port, e.g. ${shown}:9464`,
    );
  }
  return { host, port };
}

/**
 * The endpoint text safe to echo: whatever could be a user name or password becomes `***`. That is
 * everything up to the last `@` (a password may hold `/`, `?`, `#` or `@`), and, with no `@`,
 * everything after a colon that is not followed by a port number (`http://user:secret/x`).
 */
export function maskUserInfo(value: string): string {
  if (value.includes('@')) return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[\s\S]*@/i, '$1***@');
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(value)?.[0] ?? '';
  const rest = value.slice(scheme.length).replace(/^([^/:]*):(?!\d+(?:[/?#]|$))[\s\S]*$/, '$1:***');
  return `${scheme}${rest}`;
}

export function parseEndpoint(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(
      `--endpoint "${maskUserInfo(value)}" is not a URL; write e.g. http://127.0.0.1:5000`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidArgumentError(`--endpoint "${maskUserInfo(value)}" must be an http:// or https:// URL`);
  }
  if (url.username !== '' || url.password !== '') {
    // Never echo what looks like a credential back.
    throw new InvalidArgumentError('--endpoint must not carry a user name or password');
  }
  return value;
}

/** The SDK's endpoint variables for the services the tool calls, the service-specific ones first. */
export const SDK_ENDPOINT_VARIABLES = [
  'AWS_ENDPOINT_URL_EC2',
  'AWS_ENDPOINT_URL_STS',
  'AWS_ENDPOINT_URL_ORGANIZATIONS',
  'AWS_ENDPOINT_URL',
] as const;

/**
 * What is wrong with the first of the SDK's endpoint variables (SDK_ENDPOINT_VARIABLES) that is set
 * and no http(s) URL without user information, in a sentence that names the variable and what to
 * write; undefined when all are usable, unset, or ignored (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true,
 * as the SDK does). The value is shown only when nothing in it could be a password.
 */
export function sdkEndpointProblem(env: NodeJS.ProcessEnv): string | undefined {
  if ((env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'] ?? '').trim().toLowerCase() === 'true') return undefined;
  for (const name of SDK_ENDPOINT_VARIABLES) {
    const value = env[name];
    // The SDK takes an empty variable as unset.
    if (value === undefined || value === '') continue;
    const shown = !value.includes('@') && maskUserInfo(value) === value ? `=${JSON.stringify(value)}` : '';
    const write = `write e.g. ${name}=http://127.0.0.1:5000, or unset it`;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return `${name}${shown} is not a URL; ${write}`;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return `${name}${shown} must be an http:// or https:// URL; ${write}`;
    }
    if (url.username !== '' || url.password !== '') {
      return `${name} must not carry a user name or password (its value is not shown); ${write}`;
    }
  }
  return undefined;
}

/** An AWS region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`); `from` names where it came from. */
export function parseRegion(value: string, from = '--region'): string {
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(value.trim())) {
    throw new InvalidArgumentError(`${from} "${value}" is not an AWS region name; write e.g. us-east-1`);
  }
  return value.trim();
}

/** An IANA time zone this runtime knows (the schedule's zone). */
export function parseTimezone(value: string): string {
  if (value.trim() === '') {
    throw new InvalidArgumentError(
      '--timezone is empty: write an IANA time zone such as UTC or Europe/Berlin',
    );
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw new InvalidArgumentError(
      `--timezone "${value}" is not an IANA time zone; write e.g. UTC or Europe/Berlin`,
    );
  }
  return value;
}

/** A cron expression node-cron accepts (5 fields, or 6 with seconds first). */
export function parseSchedule(value: string): string {
  const problem = validateSchedule(value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value;
}

/**
 * A boolean environment variable: `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`/empty. Commander
 * treats any value of a boolean flag's variable as "set", so `SGR_X=false` would mean true.
 */
export function parseEnvBoolean(name: string, value: string): boolean {
  const text = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(text)) return true;
  if (['false', '0', 'no', 'off', ''].includes(text)) return false;
  throw new InvalidArgumentError(`${name}="${value}" is not a boolean; write true or false`);
}

/** The environment variable of the clock's test hook (parseNow); there is no flag for it. */
export const NOW_VARIABLE = 'SGR_NOW';

/**
 * `SGR_NOW`, a test hook (not an option): an ISO date (`2027-01-31`, midnight UTC) or date-time
 * that fixes the moment guardrail exceptions are judged by. Unset, the system clock is read each time.
 */
export function parseNow(value: string): Date {
  const text = value.trim();
  const fixed = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (text === '' || Number.isNaN(fixed.getTime())) {
    throw new InvalidArgumentError(
      `SGR_NOW "${value}" is not a date; write an ISO date or date-time, e.g. SGR_NOW=2027-01-31, or unset it`,
    );
  }
  return fixed;
}

const GROUP_ID = /^sg-[0-9a-f]{8}([0-9a-f]{9})?$/;

/** `--group-id sg-…`, repeatable: each value lower-cased and checked to be a security group ID. */
export function collectGroupIds(value: string, previous: readonly string[] | undefined): string[] {
  const id = value.trim().toLowerCase();
  if (!GROUP_ID.test(id)) {
    throw new InvalidArgumentError(
      `--group-id "${value}" is not a security group ID; write e.g. --group-id sg-0123456789abcdef0`,
    );
  }
  return [...(previous ?? []), id];
}

/** `--tag KEY=VALUE`, repeatable: the tags a group must all carry. */
export function collectTags(
  value: string,
  previous: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`--tag "${value}" is not KEY=VALUE; write e.g. --tag tier=web`);
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) };
}

/** `--accounts organizations`: discover the inventory with AWS Organizations. */
export const ORGANIZATIONS = 'organizations';

/**
 * `--shard K/N`, or `--shard N` with K from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or else
 * from the ordinal at the end of the host name (`sg-reconciler-2`, a StatefulSet pod).
 */
export function parseShard(
  value: string,
  env: Readonly<Record<string, string | undefined>>,
  hostname: string,
): { index: number; count: number } {
  const text = value.trim();
  const full = /^(\d+)\/(\d+)$/.exec(text);
  const countOnly = /^(\d+)$/.exec(text);
  if (full === null && countOnly === null) {
    throw new InvalidArgumentError(
      `--shard "${value}" is not K/N or N; write e.g. --shard 0/4, or --shard 4`,
    );
  }
  const count = Number(full?.[2] ?? countOnly?.[1]);
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new InvalidArgumentError(`--shard "${value}": N must be at least 1; write e.g. --shard 0/4`);
  }
  let index: number;
  if (full !== null) {
    index = Number(full[1]);
  } else {
    const fromJob = env['JOB_COMPLETION_INDEX'];
    const ordinal = /-(\d+)$/.exec(hostname)?.[1];
    if (fromJob !== undefined && /^\d+$/.test(fromJob.trim())) index = Number(fromJob.trim());
    else if (ordinal !== undefined) index = Number(ordinal);
    else {
      throw new InvalidArgumentError(
        `--shard ${count} names only N, and K could not be found: JOB_COMPLETION_INDEX is not set and ` +
          `the host name ${JSON.stringify(hostname)} does not end in -<ordinal>; write --shard K/${count}`,
      );
    }
  }
  if (index >= count) {
    throw new InvalidArgumentError(
      `--shard: K is ${index}, but must be below N (${count}); K runs from 0 to ${count - 1}`,
    );
  }
  return { index, count };
}

/** `--role-name`: an IAM role name (a path is allowed, e.g. ops/sg-reconciler). */
export function parseRoleName(value: string): string {
  if (!/^[\w+=,.@/-]{1,512}$/.test(value.trim())) {
    throw new InvalidArgumentError(
      `--role-name "${value}" is not an IAM role name; write e.g. --role-name sg-reconciler`,
    );
  }
  return value.trim();
}

/** `--accounts`: `organizations`, or the path of an AccountInventory file (read by the command). */
export function parseAccounts(value: string): string {
  const text = value.trim();
  if (text === '') {
    throw new InvalidArgumentError(
      '--accounts is empty; write the path of a kind: AccountInventory file, or organizations',
    );
  }
  return text;
}
