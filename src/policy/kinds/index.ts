// The kind registry: every document kind the policy directory may hold, by apiVersion and kind,
// with its schema (one TypeBox definition: JSON Schema, types and messages), the named rules the
// schema cannot express, and its normaliser. Adding a kind is one entry here and one module beside
// this one; the loader, the editor schema and the message layer take it from the registry.
import type { TSchema } from '@sinclair/typebox';
import type { Guardrail } from '../../model/guardrail.js';
import type { Policy, SourcePosition } from '../../model/policy.js';
import type { Issue, Segment } from '../issue.js';
import { normalisePolicy } from '../normalise.js';
import { closest } from '../values.js';
import { INGRESS_POLICY_RULES } from '../rules.js';
import { ingressPolicyWarnings } from '../warnings.js';
import { ACCOUNT_INVENTORY } from './account-inventory.js';
import { API_VERSION } from './common.js';
import {
  GUARDRAIL,
  GUARDRAIL_SCHEMA,
  guardrailRules,
  normaliseGuardrail,
  type GuardrailDocument,
} from './guardrail.js';
import { INGRESS_POLICY, INGRESS_POLICY_SCHEMA, type PolicyDocument } from './ingress-policy.js';

/** Where a field path of the document being normalised was written. */
export type Locate = (segments: readonly Segment[]) => SourcePosition;

/** What one valid document becomes, tagged by its kind. */
export type LoadedDocument =
  | { readonly kind: typeof INGRESS_POLICY; readonly policy: Policy }
  | { readonly kind: typeof GUARDRAIL; readonly guardrail: Guardrail };

/** One kind of document. */
export interface KindDefinition {
  readonly apiVersion: string;
  readonly kind: string;
  /** The root schema of the kind (with its `definitions`), annotated with its messages. */
  readonly schema: TSchema;
  /** The checks the schema cannot express, over the raw document (see rules.ts). */
  readonly rules: (document: Record<string, unknown>) => Issue[];
  /** Only called for a document that passed the schema and every rule. */
  readonly normalise: (document: unknown, file: string, locate: Locate) => LoadedDocument;
  /**
   * Findings that leave the document valid (see warnings.ts), over the raw document and what it
   * normalised to; each becomes a located `policy.warning`. Absent: the kind has none.
   */
  readonly warnings?: (document: Record<string, unknown>, loaded: LoadedDocument) => Issue[];
}

/** Every kind, in the order the editor schema lists them; the first is the default. */
export const KINDS: readonly KindDefinition[] = [
  {
    apiVersion: API_VERSION,
    kind: INGRESS_POLICY,
    schema: INGRESS_POLICY_SCHEMA,
    rules: (document) => INGRESS_POLICY_RULES.flatMap((rule) => rule(document)),
    normalise: (document, file, locate) => ({
      kind: INGRESS_POLICY,
      policy: normalisePolicy(document as PolicyDocument, file, locate),
    }),
    warnings: (document, loaded) =>
      loaded.kind === INGRESS_POLICY ? ingressPolicyWarnings(document, loaded.policy) : [],
  },
  {
    apiVersion: API_VERSION,
    kind: GUARDRAIL,
    schema: GUARDRAIL_SCHEMA,
    rules: guardrailRules,
    normalise: (document, file, locate) => ({
      kind: GUARDRAIL,
      guardrail: normaliseGuardrail(document as GuardrailDocument, file, locate),
    }),
  },
];

/**
 * Why a document of another place is in the policy directory, in one sentence with what to do, or
 * undefined when kindOf can check it. Today that is an AccountInventory (passed with `--accounts
 * FILE`): checked as a policy it would get a list of missing and unknown fields instead.
 */
export function foreignKind(document: Record<string, unknown>): string | undefined {
  if (document.kind !== ACCOUNT_INVENTORY) return undefined;
  return (
    `kind "${ACCOUNT_INVENTORY}" is an account inventory, not a policy: pass it with --accounts FILE ` +
    'and keep it outside the policy directory'
  );
}

/**
 * The one error of a document whose kind is none of ours, resembles none of them, and whose `spec`
 * is shaped like none of them either (no `targets`/`ingress`, no `deny`): it names every kind,
 * instead of checking the document as a policy and listing what a policy would miss. Undefined
 * otherwise (kindOf picks the kind to check it as).
 */
export function unknownKind(document: Record<string, unknown>): string | undefined {
  const { kind, spec } = document;
  if (typeof kind !== 'string' || KINDS.some((entry) => entry.kind === kind)) return undefined;
  if (
    closest(
      kind,
      KINDS.map((entry) => entry.kind),
    ) !== undefined
  )
    return undefined;
  if (shapedKind(spec) !== undefined) return undefined;
  return (
    `kind ${JSON.stringify(kind)} is not supported; write kind: ${INGRESS_POLICY} (ingress rules for ` +
    `security groups) or kind: ${GUARDRAIL} (rules that no policy may open)`
  );
}

/** The `spec` fields that only one kind has: what tells the kinds apart at a glance. */
const KIND_FIELDS: Readonly<Record<string, readonly string[]>> = {
  [GUARDRAIL]: ['deny', 'exceptions'],
  [INGRESS_POLICY]: ['targets', 'ingress'],
};

/** The `spec` fields of `kind` that `spec` has. */
function kindFieldsIn(spec: unknown, kind: string): string[] {
  if (typeof spec !== 'object' || spec === null) return [];
  return (KIND_FIELDS[kind] ?? []).filter((field) => field in spec);
}

/** The kind a `spec` is shaped like (a Guardrail first: `deny` is the stronger sign). */
function shapedKind(spec: unknown): KindDefinition | undefined {
  return [GUARDRAIL, INGRESS_POLICY]
    .map((kind) => KINDS.find((entry) => entry.kind === kind))
    .find((entry) => entry !== undefined && kindFieldsIn(spec, entry.kind).length > 0);
}

/**
 * The one error of a document that declares one of our kinds with the `spec` of another (`kind:
 * Guardrail` over `targets` and `ingress`): it names the kind the spec fits, instead of listing the
 * declared kind's missing and unknown fields. Undefined otherwise.
 */
export function mismatchedKind(document: Record<string, unknown>): string | undefined {
  const declared = KINDS.find((entry) => entry.kind === document.kind);
  if (declared === undefined || kindFieldsIn(document.spec, declared.kind).length > 0) return undefined;
  const fits = shapedKind(document.spec);
  if (fits === undefined) return undefined;
  const found = kindFieldsIn(document.spec, fits.kind);
  const fields = `${found.join(' and ')} ${found.length === 1 ? 'belongs' : 'belong'}`;
  const own = (KIND_FIELDS[declared.kind] ?? []).join(' or ');
  return `kind ${declared.kind} does not fit this spec: ${fields} to kind ${fits.kind}; write kind: ${fits.kind}, or give the ${declared.kind} its own spec (${own})`;
}

/**
 * The kind a document declares. A misspelt kind (`Guardrails`) is checked as the kind it is
 * closest to, so the error says `write kind: Guardrail`; an unknown kind by the shape of its `spec`
 * (`deny`: a Guardrail); anything else as the default kind (IngressPolicy).
 */
export function kindOf(document: Record<string, unknown>): KindDefinition {
  const found = KINDS.find((entry) => entry.kind === document.kind);
  if (found !== undefined) return found;
  const near =
    typeof document.kind === 'string'
      ? closest(
          document.kind,
          KINDS.map((entry) => entry.kind),
        )
      : undefined;
  return (
    KINDS.find((entry) => entry.kind === near) ?? shapedKind(document.spec) ?? (KINDS[0] as KindDefinition)
  );
}
