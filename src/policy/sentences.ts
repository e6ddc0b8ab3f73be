// Small helpers the document definitions and the message layer share to phrase a finding: list
// words, field names from a path, ID formats, and a suggested name.
import { formatPath, quote, type Segment } from './issue.js';
import type { MessageContext } from './schema-kit.js';
import { checkCidr } from './values.js';

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

/**
 * A string as a person would write it as a YAML value: plain when it reads back as the same
 * string (`web`, `web servers`), else double-quoted (`"yes"`, `"a: b"`, `"42"`).
 */
export function yamlScalar(value: string): string {
  const plain =
    /^[A-Za-z][A-Za-z0-9 ._/-]*$/.test(value) &&
    !value.endsWith(' ') &&
    !/^(true|false|yes|no|on|off|y|n|null)$/i.test(value);
  return plain ? value : JSON.stringify(value);
}

/**
 * `111122223333/sg-0fedcba9876543210`, Terraform's spelling of a security group in another account,
 * split into the account and the group ID (lower case); undefined for anything else.
 */
export function crossAccountGroup(value: unknown): { account: string; groupId: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^\s*([0-9]{12})\/(sg-(?:[0-9a-f]{8}|[0-9a-f]{17}))\s*$/i.exec(value);
  if (match === null) return undefined;
  return { account: match[1] ?? '', groupId: (match[2] ?? '').toLowerCase() };
}

export type SourceField = 'cidr' | 'prefixList' | 'securityGroup';

const SOURCE_WHAT: Readonly<Record<SourceField, string>> = {
  cidr: 'a network',
  prefixList: 'a prefix list',
  securityGroup: 'a security group',
};

/** The source field a value reads as: a group ID or self, a prefix list ID, an IP address or network. */
function sourceFieldOf(text: string): SourceField | undefined {
  if (/^sg-[0-9a-f]+$/i.test(text) || text === 'self') return 'securityGroup';
  if (/^pl-[0-9a-f]+$/i.test(text)) return 'prefixList';
  const check = checkCidr(text);
  if (check.ok || check.reason !== 'invalid') return 'cidr';
  return undefined;
}

/**
 * The message for a source value written under the wrong field (`cidr: sg-...`,
 * `securityGroup: 10.0.0.0/8`, Terraform's `account/sg-...`), saying which field to write it in;
 * undefined when the value does not read as another kind of source.
 */
export function misplacedSourceMessage(field: SourceField, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const cross = crossAccountGroup(value);
  if (cross !== undefined) {
    return (
      `${field} ${quote(value)} is Terraform's spelling of a security group in another account; ` +
      `write securityGroup: ${cross.groupId} and account: "${cross.account}"`
    );
  }
  const text = value.trim();
  const kind = sourceFieldOf(text);
  if (kind === undefined || kind === field) return undefined;
  const written = kind === 'cidr' ? text : text.toLowerCase();
  return `${field} ${quote(value)} is ${SOURCE_WHAT[kind]}, not ${SOURCE_WHAT[field]}; write ${kind}: ${written}`;
}
