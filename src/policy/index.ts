// The policy language: loading, validating and normalising IngressPolicy documents. The loader
// is the file-system walk; parsePolicyTexts is the pure pipeline behind it.
export {
  loadPolicies,
  loadPolicySet,
  describeChanging,
  nodeLoaderFs,
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_FILES,
  DEFAULT_SETTLE_MS,
  DEFAULT_LOAD_ATTEMPTS,
  type LoaderFs,
  type LoadOptions,
} from './load.js';
export { parsePolicyTexts, MAX_ALIAS_COUNT, type PolicyText } from './parse.js';
export {
  API_VERSION,
  KIND,
  RESERVED_RULE_TAG_KEYS,
  type PolicyDocument,
  type TargetDocument,
  type IngressRuleDocument,
  type SourceDocument,
  type PortsDocument,
  type IcmpDocument,
} from './document.js';
export { POLICY_SCHEMA_URL, policySchema, policySchemaId } from './schema.js';
export { adoptGroups, adoptUnits, type AdoptedPolicy, type AdoptResult } from './adopt.js';
export {
  loadInventory,
  parseInventoryText,
  inventorySchema,
  INVENTORY_SCHEMA_URL,
  type InventoryResult,
} from './inventory.js';
