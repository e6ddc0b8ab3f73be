// The policy document as a user writes it (the YAML's shape), before normalisation. The types come
// from the one definition in kinds/ingress-policy.ts (TypeBox: JSON Schema and Static<> types in one),
// so the schema, the types and the messages cannot drift apart.
import { INGRESS_POLICY_OBJECTS } from './kinds/ingress-policy.js';

export { API_VERSION } from './kinds/common.js';
export {
  INGRESS_POLICY as KIND,
  RESERVED_RULE_TAG_KEYS,
  type PolicyDocument,
  type PolicyMetadataDocument,
  type PolicySpecDocument,
  type TargetDocument,
  type PortsDocument,
  type IcmpDocument,
  type IngressRuleDocument,
  type SourceDocument,
} from './kinds/ingress-policy.js';

/** Every field name of each object of an IngressPolicy, keyed by where it appears (read from the schema). */
export const DOCUMENT_FIELDS = Object.fromEntries(
  Object.entries(INGRESS_POLICY_OBJECTS).map(([where, schema]) => [where, Object.keys(schema.properties)]),
) as unknown as { readonly [K in keyof typeof INGRESS_POLICY_OBJECTS]: readonly string[] };
