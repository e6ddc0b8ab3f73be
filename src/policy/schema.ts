// Owns the JSON Schema of a policy document: reads schemas/policy.schema.json (shipped next to
// dist/ in the package and the image) once, and compiles it with ajv on first use.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

/** Resolved from both src/policy/ (tests) and dist/policy/ (the built package): two levels up. */
export const POLICY_SCHEMA_URL = new URL('../../schemas/policy.schema.json', import.meta.url);

export type JsonSchema = { readonly [key: string]: unknown };

let cached: { schema: JsonSchema; validate: ValidateFunction } | undefined;

function compiled(): { schema: JsonSchema; validate: ValidateFunction } {
  if (cached === undefined) {
    const schema = JSON.parse(readFileSync(POLICY_SCHEMA_URL, 'utf8')) as JsonSchema;
    // verbose: each error carries its parentSchema, which the message layer reads allowed fields from.
    const ajv = new Ajv({ allErrors: true, verbose: true });
    cached = { schema, validate: ajv.compile(schema) };
  }
  return cached;
}

/** The parsed policy schema. */
export function policySchema(): JsonSchema {
  return compiled().schema;
}

/** Validates one document against the schema; returns ajv's raw errors (empty when valid). */
export function schemaErrors(document: unknown): readonly ErrorObject[] {
  const { validate } = compiled();
  return validate(document) ? [] : [...(validate.errors ?? [])];
}
