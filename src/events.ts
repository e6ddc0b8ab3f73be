// The one table of the contract's events (SPEC.md "Events"): for each event name, its level and its
// constant message, and for an event that is logged in several situations, one variant per situation
// (after renovate's lib/constants/error-messages.ts). `report` is the only function that writes an
// event line: nothing else in src/ passes an event name or a message to the logger, so each event's
// wording lives here once and a test can check the whole table against the README.
import type { Logger } from 'pino';

export type EventLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * The text of a third-party library's own log call (node-cron), passed through as the message.
 * Only the variants marked with it take a message at the call site; their texts are the library's
 * fixed English strings, never values.
 */
export const LIBRARY_TEXT = Symbol('library text');

interface EventSpec {
  readonly level: EventLevel;
  readonly msg: string | typeof LIBRARY_TEXT;
}

type EventEntry = EventSpec | { readonly variants: Readonly<Record<string, EventSpec>> };

/**
 * Every event the product logs. Keys are the event names of the contract; an entry with `variants`
 * is one event name logged in several situations, each with its own level and constant message.
 */
export const EVENT_TABLE = {
  'reconcile.started': { level: 'info', msg: 'reconcile pass started' },
  'reconcile.completed': { level: 'info', msg: 'reconcile pass completed' },
  'reconcile.failed': { level: 'error', msg: 'reconcile pass failed' },
  'reconcile.skipped': {
    variants: {
      overlap: { level: 'warn', msg: 'reconcile pass skipped: the previous pass is still running' },
      'invalid-policies': {
        level: 'error',
        msg: 'reconcile pass skipped: the policy set is invalid, nothing was authorized',
      },
      'policies-changing': {
        level: 'warn',
        msg: 'reconcile pass skipped: the policy files are changing, nothing was authorized',
      },
    },
  },
  'reconcile.progress': { level: 'info', msg: 'reconcile pass in progress' },
  'authorize.requested': { level: 'info', msg: 'sending AuthorizeSecurityGroupIngress' },
  'rule.authorized': { level: 'info', msg: 'ingress rule authorized' },
  'rule.missing': { level: 'info', msg: 'ingress rule missing' },
  'rule.failed': { level: 'error', msg: 'ingress rule could not be authorized' },
  'rule.already_present': { level: 'info', msg: 'ingress rule was already present; nothing to authorize' },
  'rule.outcome_unknown': {
    level: 'error',
    msg: 'the answer to an authorize call was lost and the rule could not be checked; the next pass will tell',
  },
  'rule.drift': {
    variants: {
      reported: { level: 'info', msg: 'ingress rule not declared by any policy' },
      // The daemon: reported when it appeared or changed; the same drift on later passes.
      unchanged: {
        level: 'debug',
        msg: 'ingress rule not declared by any policy, unchanged since the last pass',
      },
    },
  },
  'rule.description_drift': {
    variants: {
      reported: { level: 'info', msg: 'ingress rule description differs from the policy' },
      unchanged: {
        level: 'debug',
        msg: 'ingress rule description differs from the policy, unchanged since the last pass',
      },
    },
  },
  'rule.description_updated': { level: 'info', msg: 'ingress rule description updated' },
  'rule.description_update_failed': {
    level: 'error',
    msg: 'ingress rule description could not be updated; its access is unchanged',
  },
  'rule.violation': {
    variants: {
      reported: { level: 'warn', msg: 'live ingress rule violates a guardrail; it is not revoked' },
      // The daemon: the same violation on later passes. Still a warning on every pass (SPEC: every
      // live rule a pass reads that a guardrail denies is reported), told apart by its message.
      unchanged: {
        level: 'warn',
        msg: 'live ingress rule violates a guardrail, unchanged since the last pass; it is not revoked',
      },
    },
  },
  'rule.blocked': { level: 'error', msg: 'desired ingress rule denied by a guardrail; it was not sent' },
  'target.unresolved': {
    variants: {
      reported: { level: 'warn', msg: 'policy target matched no security group' },
      unchanged: {
        level: 'debug',
        msg: 'policy target matched no security group, unchanged since the last pass',
      },
    },
  },
  'read.failed': {
    variants: {
      groups: {
        level: 'error',
        msg: 'could not read security groups; the groups this read covers are skipped this pass',
      },
      'prefix-lists': {
        level: 'warn',
        msg: 'could not read prefix list sizes; the quota projection counts each unknown list as one rule',
      },
      snapshot: { level: 'error', msg: 'could not read what the snapshot needs; nothing was written' },
      import: { level: 'error', msg: 'could not read the groups to import; nothing was written' },
    },
  },
  'account.failed': {
    level: 'error',
    msg: 'could not reach the account; its units are skipped this pass',
  },
  'policy.invalid': {
    variants: {
      reported: { level: 'error', msg: 'policy is invalid' },
      // The daemon: the same error of a set that is still invalid, reported on an earlier pass. Still
      // an error on every invalid pass (SPEC: one policy.invalid per error), told apart by its message.
      unchanged: { level: 'error', msg: 'policy is invalid, unchanged since the last pass' },
    },
  },
  'policy.warning': { level: 'warn', msg: 'policy set warning' },
  'policy.skipped': {
    level: 'error',
    msg: 'policy skipped: it names no region and no default region is set; the other policies go on',
  },
  'config.invalid': {
    level: 'error',
    msg: 'the command line is invalid (an unknown command or option, or an option value)',
  },
  'aws.warning': {
    variants: {
      'multiple-credential-sources': {
        level: 'warn',
        msg: 'AWS_PROFILE and AWS_ACCESS_KEY_ID are both set: the AWS SDK uses the profile',
      },
      sdk: { level: 'warn', msg: 'the AWS SDK warned' },
    },
  },
  'snapshot.written': { level: 'info', msg: 'snapshot written' },
  'snapshot.failed': { level: 'error', msg: 'snapshot not written' },
  'import.written': { level: 'info', msg: 'policy written for an imported group' },
  'import.skipped': { level: 'info', msg: 'group has no ingress rules; no policy written' },
  'import.refused': { level: 'error', msg: 'import refused; nothing was written' },
  'daemon.started': { level: 'info', msg: 'daemon started' },
  'daemon.reload': { level: 'info', msg: 'SIGHUP received: reconciling now' },
  'daemon.stopping': {
    variants: {
      idle: { level: 'info', msg: 'stopping' },
      'in-flight': { level: 'info', msg: 'stopping: waiting for the pass in flight' },
    },
  },
  'daemon.stopped': {
    variants: {
      graceful: { level: 'info', msg: 'stopped' },
      forced: { level: 'warn', msg: 'second signal: exiting at once' },
    },
  },
  'daemon.failed': {
    variants: {
      'start-up': { level: 'error', msg: 'the daemon could not start' },
      schedule: { level: 'error', msg: 'could not schedule passes' },
    },
  },
  'daemon.warning': {
    variants: {
      'pass-timeout': { level: 'warn', msg: 'reconcile pass exceeded its timeout: aborting it' },
      'shutdown-grace-expired': {
        level: 'warn',
        msg: 'the pass in flight outlived the shutdown grace period: aborting it',
      },
      'missed-execution': {
        level: 'warn',
        msg: 'missed a scheduled pass: the event loop was blocked at the scheduled time',
      },
      'cron-failed': { level: 'error', msg: 'node-cron failed' },
      'cron-warning': { level: 'warn', msg: LIBRARY_TEXT },
      'cron-error': { level: 'error', msg: LIBRARY_TEXT },
      http: { level: 'error', msg: 'could not answer an HTTP request' },
      bookkeeping: { level: 'error', msg: 'could not record the outcome of a pass' },
    },
  },
} as const satisfies Readonly<Record<string, EventEntry>>;

export type EventName = keyof typeof EVENT_TABLE;

/** The event names, in table order. */
export const EVENT_NAMES = Object.keys(EVENT_TABLE) as readonly EventName[];

type Table = typeof EVENT_TABLE;
type VariantOf<N extends EventName> = Table[N] extends { readonly variants: infer V }
  ? keyof V & string
  : never;
type SimpleEvent = {
  [N in EventName]: Table[N] extends { readonly variants: unknown } ? never : N;
}[EventName];
type VariantEvent = Exclude<EventName, SimpleEvent>;

/** `[event, variant]` for events logged in several situations; plain names otherwise. */
export type EventKey = SimpleEvent | { [N in VariantEvent]: readonly [N, VariantOf<N>] }[VariantEvent];

function specOf(key: EventKey): { name: EventName; spec: EventSpec } {
  if (typeof key === 'string') return { name: key, spec: EVENT_TABLE[key] as EventSpec };
  const [name, variant] = key;
  const entry = EVENT_TABLE[name] as { readonly variants: Readonly<Record<string, EventSpec>> };
  const spec = entry.variants[variant];
  if (spec === undefined) throw new Error(`event ${name} has no variant ${variant}`);
  return { name, spec };
}

/**
 * Log one event: `{ event, ...fields }` at the table's level with the table's constant message.
 * `fields` may be a function, called only when the level is enabled (for costly field builders).
 * `libraryText` is used only by the variants whose message is a library's own text (LIBRARY_TEXT).
 */
export function report(
  log: Logger,
  key: EventKey,
  fields: object | (() => object),
  libraryText?: string,
): void {
  const { name, spec } = specOf(key);
  // A 10,000-group pass reports tens of thousands of events: build no fields for a level that is off.
  if (!log.isLevelEnabled(spec.level)) return;
  const msg = spec.msg === LIBRARY_TEXT ? (libraryText ?? name) : spec.msg;
  const built = typeof fields === 'function' ? fields() : fields;
  log[spec.level]({ event: name, ...built }, msg);
}

/** Every (event, level, message) the table can log; LIBRARY_TEXT entries have `msg: undefined`. */
export function tableEntries(): { event: EventName; variant?: string; level: EventLevel; msg?: string }[] {
  return Object.entries(EVENT_TABLE).flatMap(([event, entry]: [string, EventEntry]) => {
    const specs: [string | undefined, EventSpec][] =
      'variants' in entry ? Object.entries(entry.variants) : [[undefined, entry]];
    return specs.map(([variant, spec]) => ({
      event: event as EventName,
      ...(variant !== undefined ? { variant } : {}),
      level: spec.level,
      ...(typeof spec.msg === 'string' ? { msg: spec.msg } : {}),
    }));
  });
}
