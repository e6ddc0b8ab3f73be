// The building blocks of the document definitions (kinds/*.ts): TypeBox schemas that are at once the
// JSON Schema editors and ajv use and, through Static<>, the TypeScript types, plus the sentences a
// person reads when a value fails a keyword. The sentences hang off the schema nodes under a symbol
// key, so they never reach the JSON (JSON.stringify drops symbol keys) nor ajv (which reads string
// keys only), and ajv's `parentSchema` of an error is the very node that carries them.
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import type { Segment } from './issue.js';

/** The symbol key under which a schema node carries its Annotations. */
export const MESSAGES: unique symbol = Symbol('sg-reconciler.messages');

/** What a message function is given about the failing value. */
export interface MessageContext {
  /** The whole document (some messages look at the value's neighbours). */
  readonly document: unknown;
  /** Where the value is, e.g. ['spec', 'ingress', 0, 'ports']. */
  readonly segments: readonly Segment[];
  readonly value: unknown;
  /** The failing keyword: `pattern`, `minimum`, `maxLength`, ... */
  readonly keyword: string;
  /** The keyword's limit (minimum, maxLength, maxProperties, ...), where it has one. */
  readonly limit?: number;
}

export type MessageFn = (context: MessageContext) => string;

/**
 * The human side of one schema node. A field's node says what to write when its value fails a
 * keyword; an object's node says where its fields live and how to name it. Everything is optional:
 * the message layer (messages.ts) has a generic sentence for each keyword.
 */
export interface Annotations {
  /** The value does not match `pattern` (or `propertyNames.pattern`, for a tag key). */
  readonly pattern?: MessageFn;
  /** The value has the wrong type; on a oneOf node, no branch has the value's type. */
  readonly type?: MessageFn;
  /** The value is not one of `enum`. */
  readonly enum?: MessageFn;
  /** `minimum` / `maximum`. */
  readonly range?: MessageFn;
  /** `minLength` / `maxLength`. */
  readonly length?: MessageFn;
  /** `minProperties` / `maxProperties`. */
  readonly size?: MessageFn;
  /** The hint after "missing field" when this field is required and absent, e.g. `add protocol: ...`. */
  readonly missing?: string;
  /** Objects: where their fields belong, for "it belongs under ..." on a misplaced field. */
  readonly home?: string;
  /** Objects with a oneOf of required keys: what one is called (`target`) and how to add a key. */
  readonly entity?: string;
  readonly oneOfHint?: string;
  /** Objects with `dependencies`: the message for `property` written without `needed`. */
  readonly dependency?: (property: string, needed: string) => string;
}

/** Attaches annotations to a schema node (in place) and returns the node, typed as it was. */
export function withMessages<T extends TSchema>(schema: T, annotations: Annotations): T {
  (schema as Record<symbol, unknown>)[MESSAGES] = annotations;
  return schema;
}

/** The annotations of a schema node, if it has any. */
export function annotationsOf(schema: unknown): Annotations | undefined {
  if (typeof schema !== 'object' || schema === null) return undefined;
  return (schema as Record<symbol, Annotations | undefined>)[MESSAGES];
}

/** A `$ref` to `#/definitions/<name>` that has the static type of the definition. */
export function ref<T extends TSchema>(name: string, _definition: T): TUnsafe<Static<T>> {
  return Type.Unsafe<Static<T>>({ $ref: `#/definitions/${name}` });
}

/**
 * A field that is a shared definition plus its own title and description: `allOf: [{$ref}]`, the
 * draft-07 way to annotate a reference.
 */
export function refField<T extends TSchema>(
  name: string,
  definition: T,
  options: Record<string, unknown>,
): TUnsafe<Static<T>> {
  return Type.Unsafe<Static<T>>({ ...options, allOf: [{ $ref: `#/definitions/${name}` }] });
}

type StaticOf<T extends readonly TSchema[]> = { [K in keyof T]: Static<T[K]> }[number];

/** JSON Schema `oneOf` (TypeBox's Union is `anyOf`, whose errors say less). */
export function oneOf<const T extends readonly TSchema[]>(
  branches: T,
  options: Record<string, unknown> = {},
): TUnsafe<StaticOf<T>> {
  return Type.Unsafe<StaticOf<T>>({ ...options, oneOf: branches });
}

/** A JSON Schema `const` without the `type` TypeBox's Literal adds (one error, not two, for `kind: 5`). */
export function constant<const V extends string>(value: V, options: Record<string, unknown>): TUnsafe<V> {
  return Type.Unsafe<V>({ ...options, const: value });
}

/** A mapping of string keys to values of `values`, e.g. labels and tags. */
export function stringMap(
  options: Record<string, unknown>,
  values: Record<string, unknown> = { type: 'string' },
): TUnsafe<Record<string, string>> {
  return Type.Unsafe<Record<string, string>>({ ...options, type: 'object', additionalProperties: values });
}

/** The keys JSON Schema readers expect first, in this order; the rest keep theirs. */
const KEY_ORDER = [
  '$schema',
  '$id',
  'title',
  'description',
  'type',
  'additionalProperties',
  'required',
  'properties',
];

/**
 * The plain JSON form of a schema tree: symbol keys (TypeBox's and our annotations) dropped, keys
 * in a readable order. What schemas/policy.schema.json holds and ajv compiles.
 */
export function toJson(schema: unknown, namesOnly = false): unknown {
  if (Array.isArray(schema)) return schema.map((item) => toJson(item));
  if (typeof schema !== 'object' || schema === null) return schema;
  const record = schema as Record<string, unknown>;
  const keys = Object.keys(record);
  // `properties` and `definitions` are maps of names, not schemas: they keep their order.
  const ordered = namesOnly
    ? keys
    : [...KEY_ORDER.filter((key) => keys.includes(key)), ...keys.filter((key) => !KEY_ORDER.includes(key))];
  const out: Record<string, unknown> = {};
  for (const key of ordered) {
    const names = !namesOnly && (key === 'properties' || key === 'definitions');
    out[key] = toJson(record[key], names);
  }
  return out;
}
