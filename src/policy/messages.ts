// Turns ajv's raw schema errors into sentences a person can act on: each names the field and says
// what to write instead. oneOf noise (one error per branch) is collapsed into the one message that
// matches what the user evidently meant.
import type { ErrorObject } from 'ajv';
import { API_VERSION, DOCUMENT_FIELDS, KIND } from './document.js';
import { formatPath, isRecord, quote, type Issue, type Segment } from './issue.js';
import {
  CIDR_DESCRIPTION_CHARS,
  GROUP_DESCRIPTION_CHARS,
  MAX_DESCRIPTION_LENGTH,
  PROTOCOL_HINT,
  PROTOCOL_NAMES,
  closest,
  describeChars,
  disallowedDescriptionChars,
} from './values.js';

const PORTS_HINT = 'write ports: 443, ports: "8000-8080" or ports: {from: 8000, to: 8080}';
const NAME_RULE =
  'lower-case letters, digits and dashes, 1-63 characters, starting and ending with a letter or digit';

/** Where each field name is allowed, for "it belongs under ..." hints on misplaced fields. */
const FIELD_HOMES: ReadonlyMap<string, readonly string[]> = (() => {
  const homes: Record<keyof typeof DOCUMENT_FIELDS, string> = {
    document: 'the top level of the document',
    metadata: 'metadata',
    spec: 'spec',
    target: 'a target (an item of spec.targets)',
    ingressRule: 'an ingress rule (an item of spec.ingress)',
    portRange: 'ports',
    icmp: 'icmp',
    source: 'a source (an item of sources)',
  };
  const map = new Map<string, string[]>();
  for (const [where, fields] of Object.entries(DOCUMENT_FIELDS)) {
    for (const field of fields) {
      map.set(field, [...(map.get(field) ?? []), homes[where as keyof typeof DOCUMENT_FIELDS]]);
    }
  }
  return map;
})();

/** JSON pointer -> path segments; array indices become numbers (decided by the data, not the text). */
function pointerSegments(document: unknown, pointer: string): Segment[] {
  if (pointer === '') return [];
  const segments: Segment[] = [];
  let value: unknown = document;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(value)) {
      const index = Number(token);
      segments.push(index);
      value = value[index];
    } else {
      segments.push(token);
      value = isRecord(value) ? value[token] : undefined;
    }
  }
  return segments;
}

function valueAt(document: unknown, segments: readonly Segment[]): unknown {
  let value = document;
  for (const segment of segments) {
    if (typeof segment === 'number') value = Array.isArray(value) ? value[segment] : undefined;
    else value = isRecord(value) ? value[segment] : undefined;
  }
  return value;
}

const TAG_MAPS = new Set(['tags', 'ruleTags', 'labels']);

/** The shape of a path, independent of indices and tag keys: `spec.ingress[].sources[].cidr`. */
function shapeOf(segments: readonly Segment[]): string {
  let out = '';
  segments.forEach((segment, i) => {
    const previous = segments[i - 1];
    if (typeof segment === 'number') out += '[]';
    else if (typeof previous === 'string' && TAG_MAPS.has(previous)) out += '.*';
    else out += out === '' ? segment : `.${segment}`;
  });
  return out;
}

function lastName(segments: readonly Segment[]): string {
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i];
    if (typeof segment === 'string') return segment;
  }
  return 'document';
}

/** `"a", "b" or "c"` */
function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1] ?? ''}`;
}

function andList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1] ?? ''}`;
}

/** A lower-case, dash-separated form of a name, or undefined if nothing usable is left. */
function suggestName(value: string): string | undefined {
  const slug = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slug === '' ? undefined : slug;
}

const ID_FORMATS: Readonly<Record<string, { what: string; prefix: string; example: string }>> = {
  groupId: { what: 'a security group ID', prefix: 'sg-', example: 'sg-903004f8' },
  vpcId: { what: 'a VPC ID', prefix: 'vpc-', example: 'vpc-0abc1234' },
  prefixList: { what: 'a prefix list ID', prefix: 'pl-', example: 'pl-0123456789abcdef0' },
  vpcPeeringConnectionId: { what: 'a VPC peering connection ID', prefix: 'pcx-', example: 'pcx-1a2b3c4d' },
};

function idMessage(field: string, value: unknown): string {
  const format = ID_FORMATS[field] ?? ID_FORMATS.groupId!;
  const base = `${field} ${quote(value)} is not ${format.what}`;
  if (typeof value === 'string') {
    const lower = value.toLowerCase();
    if (lower !== value && new RegExp(`^${format.prefix}([0-9a-f]{8}|[0-9a-f]{17})$`).test(lower)) {
      return `${base}; write it in lower case: ${lower}`;
    }
  }
  return `${base}; write ${format.prefix} followed by 8 or 17 lower-case hex digits, e.g. ${format.example}`;
}

function securityGroupMessage(value: unknown): string {
  if (typeof value === 'string') {
    if (value.toLowerCase() === 'self')
      return `securityGroup ${quote(value)} is not valid; write self in lower case`;
    if (!/^sg-/i.test(value)) {
      return (
        `securityGroup ${quote(value)} looks like a group name; EC2 never returns names on read-back, ` +
        `so write the group's ID (sg-...) or self`
      );
    }
  }
  return `${idMessage('groupId', value).replace(/^groupId/, 'securityGroup')}, or self`;
}

function descriptionCharsMessage(document: unknown, segments: readonly Segment[], value: unknown): string {
  if (typeof value !== 'string') return 'description must be a string; quote it';
  // A source's own description follows that source's character set; a rule's, the wider one.
  const owner = valueAt(document, segments.slice(0, -1));
  const groupLike = isRecord(owner) && (owner.prefixList !== undefined || owner.securityGroup !== undefined);
  const bad = disallowedDescriptionChars(value, !groupLike);
  const allowed = groupLike ? GROUP_DESCRIPTION_CHARS : CIDR_DESCRIPTION_CHARS;
  return (
    `description contains characters EC2 does not allow: ${describeChars(bad)}; ` +
    `use only letters, digits, spaces and ${allowed.slice('a-zA-Z0-9 '.length)}`
  );
}

function patternMessage(document: unknown, segments: readonly Segment[], value: unknown): string {
  const shape = shapeOf(segments);
  const field = lastName(segments);
  switch (shape) {
    case 'metadata.name': {
      const suggestion = typeof value === 'string' ? suggestName(value) : undefined;
      return (
        `metadata.name ${quote(value)} is not a valid policy name; write ${NAME_RULE}` +
        (suggestion !== undefined && suggestion !== value ? `, e.g. ${suggestion}` : '')
      );
    }
    case 'spec.region': {
      const lower = typeof value === 'string' ? value.trim().toLowerCase() : '';
      if (lower !== value && /^[a-z]{2}(-[a-z]+)+-[0-9]+$/.test(lower)) {
        return `region ${quote(value)} is not an AWS region name; write ${lower}`;
      }
      return `region ${quote(value)} is not an AWS region name; write a region code like us-east-1 or eu-west-2`;
    }
    case 'spec.targets[].groupName':
      return `groupName ${quote(value)} is a security group ID, not a name; write groupId: ${String(value)}`;
    case 'spec.ingress[].sources[].securityGroup':
      return securityGroupMessage(value);
    case 'spec.ingress[].sources[].account':
      return `account ${quote(value)} is not an AWS account ID; write its 12 digits, quoted, e.g. "123456789012"`;
    case 'spec.ingress[].protocol': {
      const suggestion = typeof value === 'string' ? closest(value, PROTOCOL_NAMES) : undefined;
      return (
        `protocol ${quote(value)} is not a protocol; ` +
        (suggestion !== undefined ? `did you mean ${suggestion}? ` : '') +
        `write ${PROTOCOL_HINT}`
      );
    }
    case 'spec.ingress[].ports': {
      const many = typeof value === 'string' && /[,\s]/.test(value.trim());
      return (
        `ports ${quote(value)} is not a port or port range; ${PORTS_HINT}` +
        (many ? '; for several ranges write one ingress rule per range' : '')
      );
    }
    case 'spec.ingress[].description':
    case 'spec.ingress[].sources[].description':
      return descriptionCharsMessage(document, segments, value);
    default:
      if (field in ID_FORMATS) return idMessage(field, value);
      return `${formatPath(segments)} ${quote(value)} does not have the expected format; see schemas/policy.schema.json`;
  }
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  object: 'a mapping (key: value lines)',
  array: 'a list (lines starting with "- ")',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
};

function typeMessage(segments: readonly Segment[], expected: string, value: unknown): string {
  const shape = shapeOf(segments);
  const path = formatPath(segments);
  const previous = segments[segments.length - 2];
  if (shape.endsWith('.*') && typeof previous === 'string') {
    const key = String(segments[segments.length - 1]);
    const example = value === null ? '""' : JSON.stringify(String(value));
    return `tag value of ${JSON.stringify(key)} in ${previous} must be a string; quote it: ${key}: ${example}`;
  }
  if (shape === 'spec.ingress[].sources[].account') {
    return (
      'account must be a quoted string of 12 digits, e.g. account: "123456789012"; ' +
      'unquoted, YAML reads it as a number and drops leading zeros'
    );
  }
  if (shape === 'spec.ingress[].protocol')
    return `protocol ${quote(value)} is not a protocol; write ${PROTOCOL_HINT}`;
  if (shape === 'spec.ingress[].ports') {
    return (
      `ports must be a port, a "from-to" string or {from, to}; ${PORTS_HINT}` +
      (Array.isArray(value) ? '; for several ranges write one ingress rule per range' : '')
    );
  }
  const word = TYPE_WORDS[expected] ?? expected;
  if (expected === 'string' && value !== null && typeof value !== 'object') {
    return `${path} must be a string; quote it: ${lastName(segments)}: ${JSON.stringify(String(value))}`;
  }
  if (expected === 'integer' && typeof value === 'string' && /^-?[0-9]+$/.test(value)) {
    return `${path} must be a number, not a string; remove the quotes: ${lastName(segments)}: ${value}`;
  }
  return `${path} must be ${word}, not ${describeValue(value)}`;
}

function describeValue(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' && !Number.isInteger(value)) return `the number ${value}`;
  return String(value);
}

function rangeMessage(segments: readonly Segment[], value: unknown): string {
  const shape = shapeOf(segments);
  if (
    shape === 'spec.ingress[].ports' ||
    shape === 'spec.ingress[].ports.from' ||
    shape === 'spec.ingress[].ports.to'
  ) {
    const label = shape === 'spec.ingress[].ports' ? 'ports' : `ports.${lastName(segments)}`;
    return `${label} ${quote(value)} is out of range; write a port from 0 to 65535`;
  }
  if (shape === 'spec.ingress[].icmp.type') {
    return `icmp type ${quote(value)} is out of range; write a type from 0 to 255, or -1 for all types`;
  }
  if (shape === 'spec.ingress[].icmp.code') {
    return `icmp code ${quote(value)} is out of range; write a code from 0 to 255, or -1 for all codes`;
  }
  if (shape === 'spec.ingress[].protocol') {
    return `protocol ${quote(value)} is not a protocol number; write ${PROTOCOL_HINT}`;
  }
  return `${formatPath(segments)} ${quote(value)} is out of range; see schemas/policy.schema.json`;
}

function lengthMessage(segments: readonly Segment[], keyword: string, limit: number, value: unknown): string {
  const shape = shapeOf(segments);
  const length = typeof value === 'string' ? [...value].length : 0;
  if (shape.endsWith('.*')) {
    const key = String(segments[segments.length - 1]);
    return `tag value of ${JSON.stringify(key)} is ${length} characters long; AWS allows at most ${limit}`;
  }
  if (shape === 'spec.ingress[].sources[].cidr') return 'cidr is empty; write a network like 203.0.113.0/24';
  if (shape === 'spec.targets[].groupName') {
    return keyword === 'minLength'
      ? 'groupName is empty; write the name of a security group in the default VPC'
      : `groupName is ${length} characters long; EC2 allows at most 255`;
  }
  if (lastName(segments) === 'description') {
    const max = shape === 'metadata.description' ? limit : MAX_DESCRIPTION_LENGTH;
    return `description is ${length} characters long; ${shape === 'metadata.description' ? 'write' : 'EC2 allows'} at most ${max}`;
  }
  const bound = keyword === 'minLength' ? 'at least' : 'at most';
  return `${formatPath(segments)} is ${length} characters long; write ${bound} ${limit}`;
}

function tagKeyMessage(keyword: string, key: string, limit: number | undefined): string {
  if (keyword === 'pattern') {
    return `tag key ${JSON.stringify(key)} begins with "aws:", which AWS reserves; choose a key without that prefix`;
  }
  if (keyword === 'minLength') return 'tag key is empty; write a key of 1 to 127 characters';
  return `tag key ${JSON.stringify(key)} is ${[...key].length} characters long; AWS allows at most ${limit ?? 127}`;
}

const MISSING_HINTS: Readonly<Record<string, string>> = {
  apiVersion: `add apiVersion: ${API_VERSION}`,
  kind: `add kind: ${KIND}`,
  metadata: 'add metadata: with a name, e.g. metadata: {name: office-ssh}',
  spec: 'add spec: with targets and ingress',
  name: 'add name: with a policy name unique across all files, e.g. name: office-ssh',
  targets: 'add targets: with at least one target, e.g. - groupName: web',
  ingress: 'add ingress: with at least one rule',
  protocol: `add protocol: with ${PROTOCOL_HINT}`,
  sources: 'add sources: with at least one source, e.g. - cidr: 203.0.113.0/24',
  from: 'add from: and to:, e.g. ports: {from: 8000, to: 8080}',
  to: 'add from: and to:, e.g. ports: {from: 8000, to: 8080}',
  type: 'add type:, e.g. icmp: {type: 8}, or remove icmp to allow every type',
};

function minItemsMessage(segments: readonly Segment[]): string {
  const field = lastName(segments);
  const hint = MISSING_HINTS[field]?.replace(/^add \w+: with/, 'add') ?? 'add at least one item';
  return `${field} is empty; ${hint}`;
}

/** "unknown field" with the allowed names, a near-miss suggestion, or where the field belongs. */
function unknownFieldMessage(property: string, allowed: readonly string[]): string {
  const allowedText = `allowed fields here: ${allowed.join(', ')}`;
  const suggestion = closest(property, allowed);
  if (suggestion !== undefined) {
    return `unknown field ${JSON.stringify(property)}; did you mean ${JSON.stringify(suggestion)}? ${allowedText}`;
  }
  const homes = FIELD_HOMES.get(property);
  if (homes !== undefined) {
    return (
      `unknown field ${JSON.stringify(property)} here; it belongs under ${orList(homes)}, ` +
      `so check its indentation; ${allowedText}`
    );
  }
  return `unknown field ${JSON.stringify(property)}; ${allowedText}`;
}

function allowedFields(error: ErrorObject): string[] {
  const properties = isRecord(error.parentSchema) ? error.parentSchema.properties : undefined;
  return isRecord(properties) ? Object.keys(properties) : [];
}

function oneOfKeys(error: ErrorObject): string[] {
  const branches = Array.isArray(error.schema) ? (error.schema as unknown[]) : [];
  return branches.flatMap((branch) =>
    isRecord(branch) && Array.isArray(branch.required) ? branch.required.map(String) : [],
  );
}

function entityName(segments: readonly Segment[]): string {
  const field = lastName(segments);
  if (field === 'targets') return 'target';
  if (field === 'sources') return 'source';
  return formatPath(segments);
}

const ONE_OF_EXAMPLES: Readonly<Record<string, string>> = {
  target: 'add one, e.g. groupName: web',
  source: 'add one, e.g. cidr: 203.0.113.0/24',
};

/** Converts the schema errors of one document into issues, collapsing oneOf noise. */
export function schemaIssues(document: unknown, errors: readonly ErrorObject[]): Issue[] {
  const dropped = new Set<ErrorObject>();
  const issues: Issue[] = [];

  for (const error of errors) {
    if (error.keyword !== 'oneOf') continue;
    const prefix = `${error.schemaPath}/`;
    const within = (other: ErrorObject): boolean =>
      other !== error &&
      other.schemaPath.startsWith(prefix) &&
      (other.instancePath === error.instancePath || other.instancePath.startsWith(`${error.instancePath}/`));
    const branchErrors = errors.filter(within);
    dropped.add(error);
    for (const other of branchErrors) dropped.add(other);

    const segments = pointerSegments(document, error.instancePath);
    const value = valueAt(document, segments);
    const keys = oneOfKeys(error);
    const entity = entityName(segments);
    const passing = (error.params as { passingSchemas?: unknown }).passingSchemas;
    if (Array.isArray(passing)) {
      const present = keys.filter((key) => isRecord(value) && key in value);
      issues.push({
        segments,
        at: 'value',
        message:
          `a ${entity} takes exactly one of ${orList(keys)}, but this one has ${andList(present)}; ` +
          `write each as its own ${entity}`,
      });
      continue;
    }
    if (
      branchErrors.every((other) => other.keyword === 'required' && other.instancePath === error.instancePath)
    ) {
      // Skip when an unknown field is evidently a misspelling of one of the keys: that message says it all.
      const misspelt = errors.some(
        (other) =>
          other.keyword === 'additionalProperties' &&
          other.instancePath === error.instancePath &&
          closest(String((other.params as { additionalProperty?: unknown }).additionalProperty), keys) !==
            undefined,
      );
      if (!misspelt) {
        issues.push({
          segments,
          at: 'value',
          message: `a ${entity} needs one of ${orList(keys)}; ${ONE_OF_EXAMPLES[entity] ?? 'add one'}`,
        });
      }
      continue;
    }
    // Branches by type (protocol, ports): report the branch whose type the value has, if exactly one.
    const branchCount = Array.isArray(error.schema) ? error.schema.length : 0;
    const matching: number[] = [];
    for (let i = 0; i < branchCount; i++) {
      const typeFailed = branchErrors.some(
        (other) =>
          other.keyword === 'type' &&
          other.instancePath === error.instancePath &&
          other.schemaPath === `${prefix}${i}/type`,
      );
      if (!typeFailed) matching.push(i);
    }
    const [only] = matching;
    if (matching.length === 1 && only !== undefined) {
      for (const other of branchErrors) {
        if (other.schemaPath.startsWith(`${prefix}${only}/`)) dropped.delete(other);
      }
    } else {
      issues.push({ segments, at: 'value', message: typeMessage(segments, 'oneOf', value) });
    }
  }

  // A misspelt field (`sorces`) also makes the real one missing; the "did you mean" message says both.
  for (const error of errors) {
    if (error.keyword !== 'additionalProperties') continue;
    const suggestion = closest(String(error.params.additionalProperty), allowedFields(error));
    for (const other of errors) {
      if (
        other.keyword === 'required' &&
        other.instancePath === error.instancePath &&
        other.params.missingProperty === suggestion
      ) {
        dropped.add(other);
      }
    }
  }

  for (const error of errors) {
    if (dropped.has(error)) continue;
    const issue = translate(document, error);
    if (issue !== undefined) issues.push(issue);
  }
  return issues;
}

function translate(document: unknown, error: ErrorObject): Issue | undefined {
  const segments = pointerSegments(document, error.instancePath);
  const value = valueAt(document, segments);
  const params = error.params as Record<string, unknown>;
  const shape = shapeOf(segments);
  switch (error.keyword) {
    case 'additionalProperties': {
      const property = String(params.additionalProperty);
      return {
        segments: [...segments, property],
        at: 'key',
        message: unknownFieldMessage(property, allowedFields(error)),
      };
    }
    case 'required': {
      const missing = String(params.missingProperty);
      const hint = MISSING_HINTS[missing] ?? `add ${missing}:`;
      return { segments, at: 'value', missing, message: `missing field ${JSON.stringify(missing)}; ${hint}` };
    }
    case 'dependencies': {
      const property = String(params.property);
      const needed = String(params.missingProperty);
      const message =
        needed === 'tags'
          ? `vpcId narrows a tags selector and is allowed only together with tags; remove it, or add tags`
          : `${property} applies only to securityGroup sources; remove it, or use securityGroup: sg-...`;
      return { segments: [...segments, property], at: 'key', message };
    }
    case 'const': {
      const field = lastName(segments);
      const expected = String(params.allowedValue);
      return {
        segments,
        at: 'value',
        message: `${field} ${quote(value)} is not supported; write ${field}: ${expected}`,
      };
    }
    case 'type':
      return { segments, at: 'value', message: typeMessage(segments, String(params.type), value) };
    case 'pattern':
      if (error.propertyName !== undefined) {
        return {
          segments: [...segments, error.propertyName],
          at: 'key',
          message: tagKeyMessage('pattern', error.propertyName, undefined),
        };
      }
      return { segments, at: 'value', message: patternMessage(document, segments, value) };
    case 'minimum':
    case 'maximum':
      return { segments, at: 'value', message: rangeMessage(segments, value) };
    case 'minLength':
    case 'maxLength': {
      const limit = Number(params.limit);
      if (error.propertyName !== undefined) {
        return {
          segments: [...segments, error.propertyName],
          at: 'key',
          message: tagKeyMessage(error.keyword, error.propertyName, limit),
        };
      }
      return { segments, at: 'value', message: lengthMessage(segments, error.keyword, limit, value) };
    }
    case 'minItems':
      return { segments, at: 'value', message: minItemsMessage(segments) };
    case 'minProperties':
      return {
        segments,
        at: 'value',
        message: 'tags selector is empty and would match every group; add at least one tag, e.g. tier: web',
      };
    case 'maxProperties': {
      const count = isRecord(value) ? Object.keys(value).length : 0;
      return {
        segments,
        at: 'value',
        message:
          `ruleTags has ${count} tags; EC2 allows 50 tags per rule and sg-reconciler sets 2 of them, ` +
          `so write at most ${String(params.limit)}`,
      };
    }
    case 'propertyNames':
      // The inner error (pattern, minLength, maxLength) carries the message.
      return undefined;
    default:
      return {
        segments,
        at: 'value',
        message: `${formatPath(segments) || shape || 'document'} ${error.message ?? 'is not valid'}; see schemas/policy.schema.json`,
      };
  }
}
