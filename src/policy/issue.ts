// The internal form of a validation finding before it is placed in a file: a field path (as
// segments) plus the sentence a person reads. parse.ts turns it into a located PolicyError.

export type Segment = string | number;

export interface Issue {
  /** Where to point: the field's value node, or (`at: 'key'`) the key that names it. */
  readonly segments: readonly Segment[];
  readonly at: 'value' | 'key';
  /** A missing field's name: appended to the displayed path, while the position stays at the parent. */
  readonly missing?: string;
  readonly message: string;
  /**
   * Set by a rule whose finding makes schema findings at or below the same path pointless (e.g.
   * "ports do not apply to protocol all" makes "ports 70000 is out of range" noise).
   */
  readonly supersedes?: boolean;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `spec.ingress[0].sources[1].cidr`; keys that are not plain names are quoted: `tags["aws:x"]`. */
export function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** The displayed path of an issue. */
export function issuePath(issue: Issue): string {
  return formatPath(issue.missing === undefined ? issue.segments : [...issue.segments, issue.missing]);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The longest string a message quotes whole; a longer one is cut, with its length said. */
const MAX_QUOTED = 100;

/**
 * Quotes a value for a message the way a person would write it in YAML. A string longer than 100
 * characters is cut (`"abc…" (900000 characters)`): a message, and the daemon's log line that
 * repeats it every pass, stays one readable line.
 */
export function quote(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > MAX_QUOTED
      ? `${JSON.stringify(`${value.slice(0, MAX_QUOTED)}…`)} (${value.length} characters)`
      : JSON.stringify(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}
