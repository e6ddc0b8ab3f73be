// Small helpers the document definitions and the message layer share to phrase a finding: list
// words, field names from a path, ID formats, and a suggested name.
import { formatPath, quote, type Segment } from './issue.js';
import type { MessageContext } from './schema-kit.js';

/** `"a", "b" or "c"` */
export function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1] ?? ''}`;
}

/** `"a", "b" and "c"` */
export function andList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`;
}

/** The last field name of a path (`ports` for `spec.ingress[0].ports`), or `document`. */
export function lastName(segments: readonly Segment[]): string {
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i];
    if (typeof segment === 'string') return segment;
  }
  return 'document';
}

/** A lower-case, dash-separated form of a name, or undefined if nothing usable is left. */
export function suggestName(value: string): string | undefined {
  const slug = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slug === '' ? undefined : slug;
}

/** The rule every metadata.name follows (IngressPolicy and Guardrail alike). */
export const NAME_RULE =
  'lower-case letters, digits and dashes, 1-63 characters, starting and ending with a letter or digit';

/** `metadata.name "Office_SSH" is not a valid <what> name; write ..., e.g. office-ssh`. */
export function nameMessage(what: string): (context: MessageContext) => string {
  return ({ value }) => {
    const suggestion = typeof value === 'string' ? suggestName(value) : undefined;
    return (
      `metadata.name ${quote(value)} is not a valid ${what} name; write ${NAME_RULE}` +
      (suggestion !== undefined && suggestion !== value ? `, e.g. ${suggestion}` : '')
    );
  };
}

/** An AWS resource ID's shape: prefix followed by 8 or 17 lower-case hex digits. */
export interface IdFormat {
  readonly what: string;
  readonly prefix: string;
  readonly example: string;
}

/** `groupId "SG-1" is not a security group ID; write ...`, with the lower-case form when that is all. */
export function idMessage(field: string, format: IdFormat, value: unknown): string {
  const base = `${field} ${quote(value)} is not ${format.what}`;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower !== value && new RegExp(`^${format.prefix}([0-9a-f]{8}|[0-9a-f]{17})$`).test(lower)) {
      return `${base}; write it in lower case: ${lower}`;
    }
  }
  return `${base}; write ${format.prefix} followed by 8 or 17 lower-case hex digits, e.g. ${format.example}`;
}

/** The `pattern` message of an ID field, named by the field it is written in. */
export function idPattern(format: IdFormat): (context: MessageContext) => string {
  return ({ segments, value }) => idMessage(lastName(segments), format, value);
}

/** The generic "does not have the expected format" for a value no annotation explains. */
export function formatFallback(segments: readonly Segment[], value: unknown): string {
  return `${formatPath(segments)} ${quote(value)} does not have the expected format; see schemas/policy.schema.json`;
}
