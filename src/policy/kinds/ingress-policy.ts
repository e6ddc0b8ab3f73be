// The IngressPolicy document, defined once: its JSON Schema (what editors complete and ajv checks),
// its TypeScript types (Static<>), and the sentence for each way a field can be wrong.
import { Type, type Static } from '@sinclair/typebox';
import { quote } from '../issue.js';
import { oneOf, ref, refField, withMessages } from '../schema-kit.js';
import { idMessage, idPattern, lastName, misplacedSourceMessage } from '../sentences.js';
import { PROTOCOL_HINT } from '../values.js';
import { API_VERSION, ID_FORMATS, SHARED_DEFINITIONS, documentSchema, protocolSchema } from './common.js';

export const INGRESS_POLICY = 'IngressPolicy';

/** Tag keys the product sets on every rule it creates; a policy's ruleTags may not use them. */
export const RESERVED_RULE_TAG_KEYS = ['managed-by', 'sg-reconciler/policy'] as const;

export const PORTS_HINT = 'write ports: 443, ports: "8000-8080" or ports: {from: 8000, to: 8080}';

const ONE_RULE_PER_RANGE = '; for several ranges write one ingress rule per range';

const target = withMessages(
  Type.Object(
    {
      groupId: Type.Optional(
        refField('securityGroupId', SHARED_DEFINITIONS.securityGroupId, {
          title: 'Security group ID',
          description: 'A security group ID, e.g. sg-903004f8.',
        }),
      ),
      groupName: Type.Optional(
        withMessages(
          Type.String({
            title: 'Security group name',
            description:
              "A security group name, resolved in the region's default VPC as EC2 does for GroupName.",
            minLength: 1,
            maxLength: 255,
            pattern: '^(?!sg-)',
          }),
          {
            pattern: ({ value }) =>
              `groupName ${quote(value)} is a security group ID, not a name; write groupId: ${String(value)}`,
            length: ({ keyword, value }) =>
              keyword === 'minLength'
                ? 'groupName is empty; write the name of a security group in the default VPC'
                : `groupName is ${typeof value === 'string' ? [...value].length : 0} characters long; EC2 allows at most 255`,
          },
        ),
      ),
      tags: Type.Optional(
        withMessages(
          Type.Unsafe<Record<string, string>>({
            title: 'Tag selector',
            description: 'Every security group that carries all of these tags.',
            type: 'object',
            minProperties: 1,
            allOf: [{ $ref: '#/definitions/tags' }],
          }),
          {
            size: () =>
              'tags selector is empty and would match every group; add at least one tag, e.g. tier: web',
          },
        ),
      ),
      vpcId: Type.Optional(
        refField('vpcId', SHARED_DEFINITIONS.vpcId, {
          title: 'VPC ID',
          description: 'With tags only: match groups in this VPC only, e.g. vpc-0abc1234.',
        }),
      ),
    },
    {
      title: 'Target',
      description: 'Exactly one of groupId, groupName or tags (tags optionally narrowed by vpcId).',
      additionalProperties: false,
      oneOf: [{ required: ['groupId'] }, { required: ['groupName'] }, { required: ['tags'] }],
      dependencies: { vpcId: ['tags'] },
    },
  ),
  {
    home: 'a target (an item of spec.targets)',
    entity: 'target',
    oneOfHint: 'add one, e.g. groupName: web',
    dependency: () =>
      'vpcId narrows a tags selector and is allowed only together with tags; remove it, or add tags',
  },
);

const accountSelector = withMessages(
  Type.Object(
    {
      id: Type.Optional(
        withMessages(
          Type.String({
            title: 'Account ID',
            description: 'An AWS account ID: 12 digits, quoted, e.g. "111111111111".',
            pattern: '^[0-9]{12}$',
          }),
          {
            pattern: ({ value }) =>
              `account id ${quote(value)} is not an AWS account ID; write 12 digits, e.g. id: "111111111111"`,
            type: ({ value }) =>
              `account id must be a string of 12 digits; quote it: id: "${typeof value === 'number' ? String(value).padStart(12, '0') : '111111111111'}"`,
          },
        ),
      ),
      name: Type.Optional(
        withMessages(
          Type.String({
            title: 'Account name glob',
            description: 'A glob on the inventory name of the account, e.g. prod-* (*, ?, [abc], {a,b}).',
            minLength: 1,
            maxLength: 256,
          }),
          { length: () => 'name is empty; write a glob on account names, e.g. name: prod-*' },
        ),
      ),
      tags: Type.Optional(
        withMessages(
          Type.Unsafe<Record<string, string>>({
            title: 'Account tag selector',
            description: 'Every account that carries all of these tags in the inventory.',
            type: 'object',
            minProperties: 1,
            allOf: [{ $ref: '#/definitions/tags' }],
          }),
          {
            size: () =>
              'tags selector is empty and would match every account; add at least one tag, e.g. env: prod',
          },
        ),
      ),
      ou: Type.Optional(
        withMessages(
          Type.String({
            title: 'Organizational unit',
            description:
              'Every account in this organizational unit or in an OU below it, e.g. ou-ab12-34cd56ef.',
            pattern: '^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$',
          }),
          {
            pattern: ({ value }) =>
              `ou ${quote(value)} is not an organizational unit ID; write one like ou-ab12-34cd56ef (aws organizations list-organizational-units-for-parent)`,
          },
        ),
      ),
    },
    {
      title: 'Account selector',
      description: 'Exactly one of id, name, tags or ou.',
      additionalProperties: false,
      oneOf: [{ required: ['id'] }, { required: ['name'] }, { required: ['tags'] }, { required: ['ou'] }],
    },
  ),
  {
    home: 'an account selector (an item of spec.accounts)',
    entity: 'account selector',
    oneOfHint: 'add one, e.g. tags: {env: prod}',
  },
);

const portRange = withMessages(
  Type.Object(
    {
      from: Type.Integer({ title: 'First port', minimum: 0, maximum: 65535 }),
      to: Type.Integer({ title: 'Last port', minimum: 0, maximum: 65535 }),
    },
    { additionalProperties: false },
  ),
  { home: 'ports' },
);
for (const field of [portRange.properties.from, portRange.properties.to]) {
  withMessages(field, {
    missing: 'add from: and to:, e.g. ports: {from: 8000, to: 8080}',
    range: ({ segments, value }) =>
      `ports.${lastName(segments)} ${quote(value)} is out of range; write a port from 0 to 65535`,
  });
}

const protocol = protocolSchema(
  'tcp, udp, icmp, icmpv6, all (or -1), or an IP protocol number 0-255.',
  `add protocol: with ${PROTOCOL_HINT}`,
);

const ports = withMessages(
  oneOf(
    [
      withMessages(Type.Integer({ minimum: 0, maximum: 65535 }), {
        range: ({ value }) => `ports ${quote(value)} is out of range; write a port from 0 to 65535`,
      }),
      withMessages(Type.String({ pattern: '^[0-9]{1,5}(-[0-9]{1,5})?$' }), {
        pattern: ({ value }) => {
          const many = typeof value === 'string' && /[,\s]/.test(value.trim());
          return `ports ${quote(value)} is not a port or port range; ${PORTS_HINT}${many ? ONE_RULE_PER_RANGE : ''}`;
        },
      }),
      portRange,
    ],
    {
      title: 'Ports',
      description:
        'tcp and udp only, and required for them: a port (22), a range as "from-to" ("8000-8080"), or {from, to}. 0-65535.',
    },
  ),
  {
    type: ({ value }) =>
      `ports must be a port, a "from-to" string or {from, to}; ${PORTS_HINT}` +
      (Array.isArray(value) ? ONE_RULE_PER_RANGE : ''),
  },
);

const icmp = withMessages(
  Type.Object(
    {
      type: withMessages(
        Type.Integer({
          title: 'ICMP type',
          description: 'An ICMP type 0-255, or -1 for all types.',
          minimum: -1,
          maximum: 255,
        }),
        {
          missing: 'add type:, e.g. icmp: {type: 8}, or remove icmp to allow every type',
          range: ({ value }) =>
            `icmp type ${quote(value)} is out of range; write a type from 0 to 255, or -1 for all types`,
        },
      ),
      code: Type.Optional(
        withMessages(
          Type.Integer({
            title: 'ICMP code',
            description: 'An ICMP code 0-255, or -1 (the default) for all codes.',
            minimum: -1,
            maximum: 255,
          }),
          {
            range: ({ value }) =>
              `icmp code ${quote(value)} is out of range; write a code from 0 to 255, or -1 for all codes`,
          },
        ),
      ),
    },
    {
      title: 'ICMP type and code',
      description:
        'icmp and icmpv6 only. Omitted: all types and codes. type -1 means all types (and then code must be -1 or omitted); code omitted or -1 means all codes.',
      additionalProperties: false,
    },
  ),
  { home: 'icmp' },
);

function securityGroupMessage(value: unknown): string {
  if (typeof value === 'string') {
    if (value.toLowerCase() === 'self')
      return `securityGroup ${quote(value)} is not valid; write self in lower case`;
    const misplaced = misplacedSourceMessage('securityGroup', value);
    if (misplaced !== undefined) return misplaced;
    if (!/^sg-/i.test(value)) {
      return (
        `securityGroup ${quote(value)} looks like a group name; EC2 never returns names on read-back, ` +
        `so write the group's ID (sg-...) or self`
      );
    }
  }
  return `${idMessage('securityGroup', ID_FORMATS.groupId, value)}, or self`;
}

const source = withMessages(
  Type.Object(
    {
      cidr: Type.Optional(
        withMessages(
          Type.String({
            title: 'Network',
            description:
              'An IPv4 or IPv6 network in CIDR notation without host bits, e.g. 203.0.113.0/24 or 2001:db8:1234:1a00::/64.',
            minLength: 1,
          }),
          { length: () => 'cidr is empty; write a network like 203.0.113.0/24' },
        ),
      ),
      prefixList: Type.Optional(
        withMessages(
          Type.String({
            title: 'Prefix list ID',
            description: 'A managed prefix list ID, e.g. pl-0123456789abcdef0.',
            pattern: '^pl-([0-9a-f]{8}|[0-9a-f]{17})$',
          }),
          {
            pattern: (context) =>
              misplacedSourceMessage('prefixList', context.value) ??
              idPattern(ID_FORMATS.prefixList)(context),
          },
        ),
      ),
      securityGroup: Type.Optional(
        withMessages(
          Type.String({
            title: 'Security group',
            description:
              'A security group ID (sg-...) or self for the target group itself. Not a group name: EC2 never returns names on read-back.',
            pattern: '^(sg-([0-9a-f]{8}|[0-9a-f]{17})|self)$',
          }),
          { pattern: ({ value }) => securityGroupMessage(value) },
        ),
      ),
      account: Type.Optional(
        withMessages(
          Type.String({
            title: 'Account',
            description:
              'securityGroup only: the 12-digit AWS account that owns the group, quoted, e.g. "123456789012".',
            pattern: '^[0-9]{12}$',
          }),
          {
            pattern: ({ value }) =>
              `account ${quote(value)} is not an AWS account ID; write its 12 digits, quoted, e.g. "123456789012"`,
            type: () =>
              'account must be a quoted string of 12 digits, e.g. account: "123456789012"; ' +
              'unquoted, YAML reads it as a number and drops leading zeros',
          },
        ),
      ),
      vpcId: Type.Optional(
        refField('vpcId', SHARED_DEFINITIONS.vpcId, {
          title: 'VPC ID',
          description: 'securityGroup only: the VPC of a group referenced across a peering connection.',
        }),
      ),
      vpcPeeringConnectionId: Type.Optional(
        withMessages(
          Type.String({
            title: 'VPC peering connection ID',
            description:
              'securityGroup only: the peering connection of a group in a peered VPC, e.g. pcx-1a2b3c4d.',
            pattern: '^pcx-([0-9a-f]{8}|[0-9a-f]{17})$',
          }),
          { pattern: idPattern(ID_FORMATS.vpcPeeringConnectionId) },
        ),
      ),
      description: Type.Optional(
        refField('description', SHARED_DEFINITIONS.description, {
          title: 'Description',
          description:
            "This source's description, overriding the rule's. Up to 255 characters: letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* (& only for cidr sources).",
        }),
      ),
    },
    {
      title: 'Source',
      description: 'Exactly one of cidr, prefixList or securityGroup.',
      additionalProperties: false,
      oneOf: [{ required: ['cidr'] }, { required: ['prefixList'] }, { required: ['securityGroup'] }],
      dependencies: {
        account: ['securityGroup'],
        vpcId: ['securityGroup'],
        vpcPeeringConnectionId: ['securityGroup'],
      },
    },
  ),
  {
    home: 'a source (an item of sources)',
    entity: 'source',
    oneOfHint: 'add one, e.g. cidr: 203.0.113.0/24',
    dependency: (property) =>
      `${property} applies only to securityGroup sources; remove it, or use securityGroup: sg-...`,
  },
);

const ingressRule = withMessages(
  Type.Object(
    {
      protocol,
      ports: Type.Optional(ports),
      icmp: Type.Optional(icmp),
      description: Type.Optional(
        refField('description', SHARED_DEFINITIONS.description, {
          title: 'Description',
          description:
            'The default description of every source of this rule. Up to 255 characters: letters, digits, spaces and ._-:/()#,@[]+=&;{}!$* (prefix-list and security-group sources do not allow &).',
        }),
      ),
      sources: withMessages(
        Type.Array(ref('source', source), {
          title: 'Sources',
          description: 'Who may connect: networks, prefix lists or security groups. At least one.',
          minItems: 1,
        }),
        { missing: 'add sources: with at least one source, e.g. - cidr: 203.0.113.0/24' },
      ),
    },
    {
      title: 'Ingress rule',
      description: 'A protocol, its ports or ICMP type/code, and the sources allowed in.',
      additionalProperties: false,
    },
  ),
  { home: 'an ingress rule (an item of spec.ingress)' },
);

const spec = withMessages(
  Type.Object(
    {
      region: Type.Optional(
        refField('region', SHARED_DEFINITIONS.region, {
          title: 'Region',
          description:
            'The AWS region of the target groups, e.g. us-east-1. When omitted (and without regions), --region or AWS_REGION is used.',
        }),
      ),
      regions: Type.Optional(
        withMessages(
          Type.Array(ref('region', SHARED_DEFINITIONS.region), {
            title: 'Regions',
            description:
              'Several regions, e.g. [us-east-1, eu-west-1]: the policy applies in each (not together with region).',
            minItems: 1,
            uniqueItems: true,
          }),
          {
            length: () =>
              'regions is empty; list at least one region, e.g. regions: [us-east-1], or remove it',
          },
        ),
      ),
      accounts: Type.Optional(
        withMessages(
          Type.Array(ref('accountSelector', accountSelector), {
            title: 'Accounts',
            description:
              "The accounts of the inventory (--accounts) the policy applies in; an account matched by several selectors is one account. When omitted, the account of the tool's own credentials.",
            minItems: 1,
          }),
          {
            length: () =>
              "accounts is empty; add a selector, e.g. - tags: {env: prod}, or remove accounts to work in the credentials' own account",
          },
        ),
      ),
      targets: withMessages(
        Type.Array(ref('target', target), {
          title: 'Targets',
          description:
            'The security groups that must have the rules. A group matched by several targets is one group.',
          minItems: 1,
        }),
        { missing: 'add targets: with at least one target, e.g. - groupName: web' },
      ),
      ruleTags: Type.Optional(
        withMessages(
          Type.Unsafe<Record<string, string>>({
            title: 'Rule tags',
            description:
              'Extra tags for the security-group rules this policy creates. managed-by and sg-reconciler/policy are set by sg-reconciler and cannot be used here.',
            type: 'object',
            maxProperties: 48,
            allOf: [{ $ref: '#/definitions/tags' }],
          }),
          {
            size: ({ value, limit }) =>
              `ruleTags has ${typeof value === 'object' && value !== null ? Object.keys(value).length : 0} tags; ` +
              `EC2 allows 50 tags per rule and sg-reconciler sets 2 of them, so write at most ${String(limit)}`,
          },
        ),
      ),
      ingress: withMessages(
        Type.Array(ref('ingressRule', ingressRule), {
          title: 'Ingress rules',
          description: 'The desired ingress rules. Each entry becomes one rule per source.',
          minItems: 1,
        }),
        { missing: 'add ingress: with at least one rule' },
      ),
    },
    {
      title: 'Specification',
      description: 'Which security groups the policy targets and which ingress rules they must have.',
      additionalProperties: false,
    },
  ),
  { home: 'spec', missing: 'add spec: with targets and ingress' },
);

/** The JSON Schema of an IngressPolicy document, with its definitions. */
export const INGRESS_POLICY_SCHEMA = documentSchema({
  kind: INGRESS_POLICY,
  what: 'policy',
  nameDescription:
    'Unique across all policy files; lower-case letters, digits and dashes, 1-63 characters, starting and ending with a letter or digit. Rules this policy creates are tagged sg-reconciler/policy=<name>.',
  nameExample: 'office-ssh',
  spec,
  title: 'sg-reconciler IngressPolicy',
  description:
    'Desired ingress rules for AWS EC2 security groups. sg-reconciler authorizes the rules that are missing and never revokes any.',
  definitions: { target, accountSelector, ingressRule, source, ...SHARED_DEFINITIONS },
});

/** An IngressPolicy as a user writes it (the YAML's shape), before normalisation. */
export type PolicyDocument = Static<typeof INGRESS_POLICY_SCHEMA>;
export type PolicyMetadataDocument = PolicyDocument['metadata'];
export type PolicySpecDocument = PolicyDocument['spec'];
export type TargetDocument = Static<typeof target>;
export type IngressRuleDocument = Static<typeof ingressRule>;
export type PortsDocument = Static<typeof ports>;
export type IcmpDocument = Static<typeof icmp>;
export type SourceDocument = Static<typeof source>;
export type AccountSelectorDocument = Static<typeof accountSelector>;

export { API_VERSION };
