// Turns ajv's raw schema errors into sentences a person can act on. The sentences are not mapped
// back from paths: each error's `parentSchema` is the schema node that failed, and the node carries
// its own sentences (schema-kit.ts Annotations, written next to the field in kinds/*.ts). This
// layer only adds the generic sentence for a keyword no annotation covers, and collapses oneOf
// noise (one error per branch) into the one message that matches what the user evidently meant.
import type { ErrorObject } from 'ajv';
import { formatPath, isRecord, quote, type Issue, type Segment } from './issue.js';
import { annotationsOf, type Annotations, type MessageContext } from './schema-kit.js';
import { andList, formatFallback, lastName, orList } from './sentences.js';
import { closest } from './values.js';

/** Where each field name is allowed in one kind of document, for "it belongs under ..." hints. */
export type FieldHomes = ReadonlyMap<string, readonly string[]>;

function children(node: Record<string, unknown>): unknown[] {
  const out: unknown[] = [];
  if (isRecord(node.properties)) out.push(...Object.values(node.properties));
  for (const key of ['items', 'additionalProperties', 'propertyNames'] as const) out.push(node[key]);
  for (const key of ['oneOf', 'anyOf', 'allOf'] as const) {
    const branches = node[key];
    if (Array.isArray(branches)) out.push(...(branches as unknown[]));
  }
  return out;
}

/**
 * Every field of every object schema that has a `home`, in reading order: the document, then its
 * definitions, depth first. A field that several objects declare lists each home.
 */
export function fieldHomes(root: unknown): FieldHomes {
  const homes = new Map<string, string[]>();
  const visit = (node: unknown): void => {
    if (!isRecord(node)) return;
    const home = annotationsOf(node)?.home;
    if (home !== undefined && isRecord(node.properties)) {
      for (const field of Object.keys(node.properties)) homes.set(field, [...(homes.get(field) ?? []), home]);
    }
    for (const child of children(node)) visit(child);
  };
  visit(root);
  if (isRecord(root) && isRecord(root.definitions)) {
    for (const definition of Object.values(root.definitions)) visit(definition);
  }
  return homes;
}

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

const TYPE_WORDS: Readonly<Record<string, string>> = {
  object: 'a mapping (key: value lines)',
  array: 'a list (lines starting with "- ")',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
};

function describeValue(value: unknown): string {
  if (value === null) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number' && !Number.isInteger(value)) return `the number ${value}`;
  return String(value);
}

function genericType(segments: readonly Segment[], expected: string, value: unknown): string {
  const path = formatPath(segments);
  if (expected === 'string' && value !== null && typeof value !== 'object') {
    return `${path} must be a string; quote it: ${lastName(segments)}: ${JSON.stringify(String(value))}`;
  }
  if (expected === 'integer' && typeof value === 'string' && /^-?[0-9]+$/.test(value)) {
    return `${path} must be a number, not a string; remove the quotes: ${lastName(segments)}: ${value}`;
  }
  return `${path} must be ${TYPE_WORDS[expected] ?? expected}, not ${describeValue(value)}`;
}

function genericLength(segments: readonly Segment[], keyword: string, limit: number, value: unknown): string {
  const length = typeof value === 'string' ? [...value].length : 0;
  const bound = keyword === 'minLength' ? 'at least' : 'at most';
  return `${formatPath(segments)} is ${length} characters long; write ${bound} ${limit}`;
}

function minItemsMessage(segments: readonly Segment[], annotations: Annotations | undefined): string {
  const hint = annotations?.missing?.replace(/^add \w+: with/, 'add') ?? 'add at least one item';
  return `${lastName(segments)} is empty; ${hint}`;
}

/** "unknown field" with the allowed names, a near-miss suggestion, or where the field belongs. */
function unknownFieldMessage(property: string, allowed: readonly string[], homes: FieldHomes): string {
  const allowedText = `allowed fields here: ${allowed.join(', ')}`;
  const suggestion = closest(property, allowed);
  if (suggestion !== undefined) {
    return `unknown field ${JSON.stringify(property)}; did you mean ${JSON.stringify(suggestion)}? ${allowedText}`;
  }
  const where = homes.get(property);
  if (where !== undefined) {
    return (
      `unknown field ${JSON.stringify(property)} here; it belongs under ${orList(where)}, ` +
      `so check its indentation; ${allowedText}`
    );
  }
  return `unknown field ${JSON.stringify(property)}; ${allowedText}`;
}

function propertiesOf(schema: unknown): Record<string, unknown> {
  const properties = isRecord(schema) ? schema.properties : undefined;
  return isRecord(properties) ? properties : {};
}

function oneOfKeys(error: ErrorObject): string[] {
  const branches = Array.isArray(error.schema) ? (error.schema as unknown[]) : [];
  return branches.flatMap((branch) =>
    isRecord(branch) && Array.isArray(branch.required) ? branch.required.map(String) : [],
  );
}

/** The issue for a oneOf error, or undefined when a branch's own errors say it better (kept). */
function oneOfIssue(
  document: unknown,
  error: ErrorObject,
  errors: readonly ErrorObject[],
  dropped: Set<ErrorObject>,
): Issue | undefined {
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
  const annotations = annotationsOf(error.parentSchema);
  const keys = oneOfKeys(error);
  const entity = annotations?.entity ?? formatPath(segments);
  const passing = (error.params as { passingSchemas?: unknown }).passingSchemas;
  if (Array.isArray(passing)) {
    const present = keys.filter((key) => isRecord(value) && key in value);
    return {
      segments,
      at: 'value',
      message:
        `a ${entity} takes exactly one of ${orList(keys)}, but this one has ${andList(present)}; ` +
        `write each as its own ${entity}`,
    };
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
    if (misspelt) return undefined;
    return {
      segments,
      at: 'value',
      message: `a ${entity} needs one of ${orList(keys)}; ${annotations?.oneOfHint ?? 'add one'}`,
    };
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
    return undefined;
  }
  const context: MessageContext = { document, segments, value, keyword: 'type' };
  return {
    segments,
    at: 'value',
    message: annotations?.type?.(context) ?? genericType(segments, 'oneOf', value),
  };
}

/**
 * Converts the schema errors of one document into issues, collapsing oneOf noise. `homes` are the
 * field homes of the document's kind (fieldHomes of its schema).
 */
export function schemaIssues(document: unknown, errors: readonly ErrorObject[], homes: FieldHomes): Issue[] {
  const dropped = new Set<ErrorObject>();
  const issues: Issue[] = [];

  for (const error of errors) {
    if (error.keyword !== 'oneOf') continue;
    const issue = oneOfIssue(document, error, errors, dropped);
    if (issue !== undefined) issues.push(issue);
  }

  // A misspelt field (`sorces`) also makes the real one missing; the "did you mean" message says both.
  for (const error of errors) {
    if (error.keyword !== 'additionalProperties') continue;
    const allowed = Object.keys(propertiesOf(error.parentSchema));
    const suggestion = closest(String(error.params.additionalProperty), allowed);
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
    const issue = translate(document, error, homes);
    if (issue !== undefined) issues.push(issue);
  }
  return issues;
}

/** A tag key that fails `propertyNames`: the issue points at the key. */
function keyIssue(segments: readonly Segment[], error: ErrorObject, key: string): Issue {
  const annotations = annotationsOf(error.parentSchema);
  const context: MessageContext = {
    document: undefined,
    segments: [...segments, key],
    value: key,
    keyword: error.keyword,
    limit: Number((error.params as { limit?: unknown }).limit),
  };
  const message =
    (error.keyword === 'pattern' ? annotations?.pattern : annotations?.length)?.(context) ??
    `key ${JSON.stringify(key)} is not allowed here (${error.message ?? error.keyword})`;
  return { segments: [...segments, key], at: 'key', message };
}

function translate(document: unknown, error: ErrorObject, homes: FieldHomes): Issue | undefined {
  const segments = pointerSegments(document, error.instancePath);
  const value = valueAt(document, segments);
  const params = error.params as Record<string, unknown>;
  const annotations = annotationsOf(error.parentSchema);
  const limit = typeof params.limit === 'number' ? params.limit : undefined;
  const context: MessageContext = {
    document,
    segments,
    value,
    keyword: error.keyword,
    ...(limit !== undefined ? { limit } : {}),
  };
  const at = (message: string): Issue => ({ segments, at: 'value', message });
  if (error.propertyName !== undefined && error.keyword !== 'propertyNames') {
    return keyIssue(segments, error, error.propertyName);
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const property = String(params.additionalProperty);
      const allowed = Object.keys(propertiesOf(error.parentSchema));
      return {
        segments: [...segments, property],
        at: 'key',
        message: unknownFieldMessage(property, allowed, homes),
      };
    }
    case 'required': {
      const missing = String(params.missingProperty);
      const hint = annotationsOf(propertiesOf(error.parentSchema)[missing])?.missing ?? `add ${missing}:`;
      return { segments, at: 'value', missing, message: `missing field ${JSON.stringify(missing)}; ${hint}` };
    }
    case 'dependencies': {
      const property = String(params.property);
      const needed = String(params.missingProperty);
      const message =
        annotations?.dependency?.(property, needed) ??
        `${property} is allowed only together with ${needed}; remove it, or add ${needed}`;
      return { segments: [...segments, property], at: 'key', message };
    }
    case 'const': {
      const field = lastName(segments);
      return at(`${field} ${quote(value)} is not supported; write ${field}: ${String(params.allowedValue)}`);
    }
    case 'type':
      return at(annotations?.type?.(context) ?? genericType(segments, String(params.type), value));
    case 'pattern':
      return at(annotations?.pattern?.(context) ?? formatFallback(segments, value));
    case 'enum': {
      const allowed = Array.isArray(params.allowedValues) ? params.allowedValues.map(String) : [];
      return at(
        annotations?.enum?.(context) ??
          `${lastName(segments)} ${quote(value)} is not valid; write ${orList(allowed)}`,
      );
    }
    case 'minimum':
    case 'maximum':
      return at(
        annotations?.range?.(context) ??
          `${formatPath(segments)} ${quote(value)} is out of range; see schemas/policy.schema.json`,
      );
    case 'minLength':
    case 'maxLength':
      return at(annotations?.length?.(context) ?? genericLength(segments, error.keyword, limit ?? 0, value));
    case 'minItems':
      return at(minItemsMessage(segments, annotations));
    case 'minProperties':
    case 'maxProperties':
      return at(
        annotations?.size?.(context) ??
          `${formatPath(segments)} must have ${error.keyword === 'minProperties' ? 'at least' : 'at most'} ${String(limit)} entries`,
      );
    case 'propertyNames':
      // The inner error (pattern, minLength, maxLength) carries the message.
      return undefined;
    default:
      return at(
        `${formatPath(segments) || 'document'} ${error.message ?? 'is not valid'}; see schemas/policy.schema.json`,
      );
  }
}
