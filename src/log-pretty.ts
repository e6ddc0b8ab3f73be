// The human form of the event stream: one readable line per event, for a person at a terminal
// (`--log-format pretty`, or a terminal without `--log-format`). JSON stays the format for pipes,
// CI and log collectors. This changes only how an event is shown, never which events exist or what
// their fields are: messages stay constant, and the summaries (counts, the rule in words) are built
// here from the fields.
import { describeRule, type RuleFields, type SourceKind } from './model/rule.js';
import { counted } from './text.js';

/** One event as pino wrote it (a parsed JSON line). */
export type EventRecord = Readonly<Record<string, unknown>>;

const LEVEL_TAGS: Readonly<Record<string, string>> = {
  trace: 'TRACE',
  debug: 'DEBUG',
  info: 'INFO ',
  warn: 'WARN ',
  error: 'ERROR',
  fatal: 'FATAL',
};

/** Fields a line shows in its own place, or never (runId is long and the same for a whole pass). */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'event', 'runId', 'change']);

/** Events whose summary already says everything a person needs: no key=value tail. */
const SUMMARISED = new Set([
  'policy.invalid',
  'policy.skipped',
  'policy.warning',
  'reconcile.completed',
  'reconcile.progress',
  'target.unresolved',
  'config.invalid',
  'authorize.requested',
]);

const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));
const count = (value: unknown): number => (typeof value === 'number' ? value : 0);

/** `06:12:03` from pino's ISO time. */
function clock(time: unknown): string {
  const match = typeof time === 'string' ? /T(\d\d:\d\d:\d\d)/.exec(time) : null;
  return match?.[1] ?? '--:--:--';
}

/** The rule an event names, when it names one (rule.* events carry the rule's fields). */
function ruleOf(fields: Readonly<Record<string, unknown>>): RuleFields | undefined {
  const { protocol, fromPort, toPort } = fields;
  const source = fields['source'] as { kind?: unknown; value?: unknown; userId?: unknown } | undefined;
  if (typeof protocol !== 'string' || typeof fromPort !== 'number' || typeof toPort !== 'number')
    return undefined;
  if (typeof source?.value !== 'string') return undefined;
  return {
    protocol,
    fromPort,
    toPort,
    source: {
      kind: source.kind as SourceKind,
      value: source.value,
      ...(typeof source.userId === 'string' ? { userId: source.userId } : {}),
    },
  };
}

/** Where a group is: `111111111111/us-east-1`, the region alone, or nothing. */
function unitOf(fields: EventRecord): string | undefined {
  const { account, region } = fields;
  if (typeof region !== 'string') return undefined;
  return typeof account === 'string' ? `${account}/${region}` : region;
}

/** `sg-0abc (111111111111/us-east-1)  tcp 22 from 10.0.0.0/8  "office"  sgr-0123  [policy]  ...` */
function ruleLine(event: string, rule: RuleFields, fields: EventRecord): string {
  const parts: string[] = [];
  if (typeof fields['groupId'] === 'string') {
    const unit = unitOf(fields);
    parts.push(unit !== undefined ? `${fields['groupId']} (${unit})` : fields['groupId']);
  }
  parts.push(describeRule(rule));
  if (event.startsWith('rule.description_')) {
    parts.push(
      `description ${JSON.stringify(fields['live'] ?? '')} -> ${JSON.stringify(fields['desired'] ?? '')}`,
    );
    if (fields['reportedOnly'] === true) parts.push('reported only');
  } else if (typeof fields['description'] === 'string' && fields['description'] !== '') {
    parts.push(JSON.stringify(fields['description']));
  }
  if (typeof fields['ruleId'] === 'string') parts.push(fields['ruleId']);
  if (typeof fields['guardrail'] === 'string') parts.push(guardrailText(fields));
  if (typeof fields['policy'] === 'string') parts.push(`[${fields['policy']}]`);
  if (typeof fields['permitted'] === 'boolean') parts.push(fields['permitted'] ? 'permitted' : 'denied');
  if (typeof fields['errorCode'] === 'string') parts.push(`${fields['errorCode']}: ${text(fields['error'])}`);
  return parts.join('  ');
}

/**
 * The guardrail verdict of rule.violation and rule.blocked, as the text plan writes it:
 * `guardrail cis-admin-ports deny[0]`, and `(exception expired 2026-11-01)` when one did.
 */
function guardrailText(fields: EventRecord): string {
  const entry = typeof fields['guardrailEntry'] === 'number' ? ` deny[${fields['guardrailEntry']}]` : '';
  const expired =
    typeof fields['exceptionExpired'] === 'string'
      ? ` (exception expired ${fields['exceptionExpired']})`
      : '';
  return `guardrail ${text(fields['guardrail'])}${entry}${expired}`;
}

/** `sg-0abc (111111111111/us-east-1)  2 rules: tcp 22 from 10.0.0.0/8; tcp 443 from ::/0  [web, ssh]` */
function requestedLine(fields: EventRecord): string {
  const unit = unitOf(fields);
  const group = `${text(fields['groupId'])}${unit !== undefined ? ` (${unit})` : ''}`;
  const rules = Array.isArray(fields['rules']) ? (fields['rules'] as unknown[]) : [];
  const words = rules.map((r) => valueText(r)).join('; ');
  const policies = Array.isArray(fields['policies'])
    ? `  [${(fields['policies'] as unknown[]).join(', ')}]`
    : '';
  return `${group}  ${counted(rules.length, 'rule')}: ${words}${policies}`;
}

/**
 * A field's value in words for the key=value tail: a rule as `tcp 22 from 10.0.0.0/8`, a list of
 * names as `a,b`, a source as its value; JSON only for a shape no person reads (never seen so far).
 */
function valueText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(valueText).join(',');
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const asRule = ruleOf(record);
    if (asRule !== undefined) return describeRule(asRule);
    if (typeof record['kind'] === 'string' && typeof record['value'] === 'string') {
      return typeof record['userId'] === 'string'
        ? `${record['userId']}/${record['value']}`
        : record['value'];
    }
  }
  return JSON.stringify(value);
}

/** The counts of a completed pass in words: what reconcile.completed's constant message leaves out. */
function completedLine(fields: EventRecord): string {
  const parts = [
    counted(count(fields['groups']), 'group'),
    counted(count(fields['desired']), 'desired rule'),
    `${count(fields['missing'])} missing`,
  ];
  if (fields['mode'] !== 'plan')
    parts.push(`${count(fields['authorized'])} authorized`, `${count(fields['failed'])} failed`);
  // The daemon reports unchanged findings as debug lines: say how much of each total was news.
  const unchanged = (key: string): string =>
    count(fields[key]) > 0 ? ` (${count(fields[key])} unchanged)` : '';
  parts.push(
    `${count(fields['drift'])} drift${unchanged('driftUnchanged')}`,
    `${count(fields['descriptionDrift'])} description drift${unchanged('descriptionDriftUnchanged')}`,
  );
  if (typeof fields['descriptionsUpdated'] === 'number')
    parts.push(`${counted(count(fields['descriptionsUpdated']), 'description')} updated`);
  if (count(fields['descriptionsFailed']) > 0)
    parts.push(`${counted(count(fields['descriptionsFailed']), 'description update')} failed`);
  if (count(fields['unresolved']) > 0)
    parts.push(
      `${counted(count(fields['unresolved']), 'unresolved target')}${unchanged('unresolvedUnchanged')}`,
    );
  if (count(fields['violations']) > 0)
    parts.push(
      `${counted(count(fields['violations']), 'guardrail violation')}${unchanged('violationsUnchanged')}`,
    );
  if (count(fields['readFailures']) > 0) parts.push(counted(count(fields['readFailures']), 'failed read'));
  if (count(fields['policiesSkipped']) > 0)
    parts.push(`${counted(count(fields['policiesSkipped']), 'policy', 'policies')} skipped`);
  const seconds =
    typeof fields['durationMs'] === 'number' ? ` in ${(fields['durationMs'] / 1000).toFixed(1)} s` : '';
  return `${text(fields['mode'])}: ${parts.join(', ')}${seconds}`;
}

/**
 * A running pass in words: `apply, reading: 3 of 10 units done, ...`; while it reaches its accounts
 * `apply, accounts: 2 of 5 accounts reached, ...`, and before it knows them `apply, accounts:
 * finding the accounts (STS, Organizations), ...` (never "0 of 0").
 */
function progressLine(fields: EventRecord): string {
  const phase = text(fields['phase']);
  const known = typeof fields['total'] === 'number';
  const where =
    phase !== 'accounts'
      ? `${count(fields['done'])} of ${counted(count(fields['total']), 'unit')} done`
      : known
        ? `${count(fields['done'])} of ${counted(count(fields['total']), 'account')} reached`
        : 'finding the accounts (STS, Organizations)';
  const read = count(fields['groupsRead']) > 0 || phase !== 'accounts';
  return [
    `${text(fields['mode'])}, ${phase}: ${where}`,
    ...(read ? [`${counted(count(fields['groupsRead']), 'group')} read`] : []),
    `${(count(fields['elapsedMs']) / 1000).toFixed(0)} s so far`,
  ].join(', ');
}

/** What the line says after the event name. */
function summary(event: string, fields: EventRecord): string {
  const rule = ruleOf(fields);
  if (rule !== undefined && event.startsWith('rule.')) return ruleLine(event, rule, fields);
  switch (event) {
    case 'policy.invalid':
    case 'policy.skipped':
      return `${text(fields['file'])}:${text(fields['line'])}:${text(fields['column'])}  ${text(fields['path']) || '(document)'}  ${text(fields['error'])}`;
    case 'policy.warning':
      return typeof fields['file'] === 'string' && fields['line'] !== undefined
        ? `${text(fields['file'])}:${text(fields['line'])}:${text(fields['column'])}  ${text(fields['path']) || '(document)'}  ${text(fields['warning'])}`
        : text(fields['warning']);
    case 'reconcile.completed':
      return completedLine(fields);
    case 'reconcile.progress':
      return progressLine(fields);
    case 'config.invalid':
      return text(fields['error']);
    case 'authorize.requested':
      return requestedLine(fields);
    case 'target.unresolved':
      return `policy ${text(fields['policy'])}: target ${text(fields['target'])} in ${text(fields['region'])} matched no security group`;
    default:
      return text(fields['msg'] ?? '');
  }
}

function tail(event: string, fields: EventRecord): string {
  if (SUMMARISED.has(event) || (event.startsWith('rule.') && ruleOf(fields) !== undefined)) return '';
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(fields)) {
    if (HEAD_FIELDS.has(key) || value === undefined) continue;
    pairs.push(`${key}=${valueText(value)}`);
  }
  return pairs.length > 0 ? `  ${pairs.join(' ')}` : '';
}

/**
 * How the daemon's finding compares with its previous pass, for the events that carry `change`
 * (drift, violations, unresolved targets, policy errors): news (`appeared`) is the default and says
 * nothing; a repeat says so, since violations and policy errors stay at their level every pass.
 */
function changeNote(fields: EventRecord): string {
  if (fields['change'] === 'unchanged') return '  (unchanged since the last pass)';
  return fields['change'] === 'changed' ? '  (changed since the last pass)' : '';
}

/**
 * One event as one line, without the newline: `time LEVEL event  summary  key=value ...`. Rule
 * events show the rule in words (`tcp 22 from 10.0.0.0/8`, `icmp type 8, all codes from ...`),
 * reconcile.completed its counts, policy.invalid `file:line:column  path  error`; other events
 * their constant message and their fields as key=value.
 */
export function formatEvent(fields: EventRecord): string {
  const level = LEVEL_TAGS[text(fields['level'])] ?? text(fields['level']).toUpperCase();
  const event = typeof fields['event'] === 'string' ? fields['event'] : '';
  const head = `${clock(fields['time'])} ${level} ${event === '' ? '' : `${event}  `}`;
  return `${head}${summary(event, fields)}${tail(event, fields)}${changeNote(fields)}`;
}
