// The policy document as a user writes it (the YAML's shape), before normalisation. These types
// mirror schemas/policy.schema.json, which stays the single source of the shape; the field lists
// below are checked against the types at compile time and against the schema by a unit test, so
// the three cannot drift apart silently.

export const API_VERSION = 'sg-reconciler/v1';
export const KIND = 'IngressPolicy';

/** Tag keys the product sets on every rule it creates; a policy's ruleTags may not use them. */
export const RESERVED_RULE_TAG_KEYS = ['managed-by', 'sg-reconciler/policy'] as const;

export interface PolicyDocument {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: PolicyMetadataDocument;
  spec: PolicySpecDocument;
}

export interface PolicyMetadataDocument {
  name: string;
  description?: string;
  labels?: Record<string, string>;
}

export interface PolicySpecDocument {
  region?: string;
  targets: TargetDocument[];
  ruleTags?: Record<string, string>;
  ingress: IngressRuleDocument[];
}

export interface TargetDocument {
  groupId?: string;
  groupName?: string;
  tags?: Record<string, string>;
  vpcId?: string;
}

export type PortsDocument = number | string | { from: number; to: number };

export interface IcmpDocument {
  type: number;
  code?: number;
}

export interface IngressRuleDocument {
  protocol: string | number;
  ports?: PortsDocument;
  icmp?: IcmpDocument;
  description?: string;
  sources: SourceDocument[];
}

export interface SourceDocument {
  cidr?: string;
  prefixList?: string;
  securityGroup?: string;
  account?: string;
  vpcId?: string;
  vpcPeeringConnectionId?: string;
  description?: string;
}

type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Every field name of each object in the document, keyed by where it appears. */
export const DOCUMENT_FIELDS = {
  document: ['apiVersion', 'kind', 'metadata', 'spec'],
  metadata: ['name', 'description', 'labels'],
  spec: ['region', 'targets', 'ruleTags', 'ingress'],
  target: ['groupId', 'groupName', 'tags', 'vpcId'],
  ingressRule: ['protocol', 'ports', 'icmp', 'description', 'sources'],
  portRange: ['from', 'to'],
  icmp: ['type', 'code'],
  source: [
    'cidr',
    'prefixList',
    'securityGroup',
    'account',
    'vpcId',
    'vpcPeeringConnectionId',
    'description',
  ],
} as const;

type Fields<K extends keyof typeof DOCUMENT_FIELDS> = (typeof DOCUMENT_FIELDS)[K][number];

// Compile-time proof that each list names exactly the fields of its type.
const _fieldsMatchTypes: [
  Equal<Fields<'document'>, keyof PolicyDocument>,
  Equal<Fields<'metadata'>, keyof PolicyMetadataDocument>,
  Equal<Fields<'spec'>, keyof PolicySpecDocument>,
  Equal<Fields<'target'>, keyof TargetDocument>,
  Equal<Fields<'ingressRule'>, keyof IngressRuleDocument>,
  Equal<Fields<'portRange'>, keyof Extract<PortsDocument, object>>,
  Equal<Fields<'icmp'>, keyof IcmpDocument>,
  Equal<Fields<'source'>, keyof SourceDocument>,
] = [true, true, true, true, true, true, true, true];
void _fieldsMatchTypes;
