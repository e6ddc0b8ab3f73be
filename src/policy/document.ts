// The policy document as a user writes it (the YAML's shape), before normalisation. The types come
// from the one definition in kinds/ingress-policy.ts (TypeBox: JSON Schema and Static<> types in one),
// so the schema, the types and the messages cannot drift apart.
export { API_VERSION } from './kinds/common.js';
export { GUARDRAIL, type GuardrailDocument } from './kinds/guardrail.js';
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
