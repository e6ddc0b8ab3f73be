// The parts every kind of document shares: apiVersion, metadata, and the shared definitions (IDs,
// descriptions, tags), each with the sentences a person reads when a value is wrong.
import { Type, type TSchema } from '@sinclair/typebox';
import type { MessageContext } from '../schema-kit.js';
import { constant, oneOf, stringMap, withMessages } from '../schema-kit.js';
import {
  crossAccountGroup,
  idMessage,
  idPattern,
  lastName,
  nameMessage,
  yamlScalar,
  type IdFormat,
} from '../sentences.js';
import {
  PROTOCOL_HINT,
  PROTOCOL_NAMES,
  closest,
  CIDR_DESCRIPTION_CHARS,
  GROUP_DESCRIPTION_CHARS,
  MAX_DESCRIPTION_LENGTH,
  describeChars,
  disallowedDescriptionChars,
} from '../values.js';
import { isRecord, quote, type Segment } from '../issue.js';

/** The one API version of every document kind. */
export const API_VERSION = 'sg-reconciler/v1';

export const ID_FORMATS = {
  groupId: { what: 'a security group ID', prefix: 'sg-', example: 'sg-903004f8' },
  vpcId: { what: 'a VPC ID', prefix: 'vpc-', example: 'vpc-0abc1234' },
  prefixList: { what: 'a prefix list ID', prefix: 'pl-', example: 'pl-0123456789abcdef0' },
  vpcPeeringConnectionId: { what: 'a VPC peering connection ID', prefix: 'pcx-', example: 'pcx-1a2b3c4d' },
} as const satisfies Record<string, IdFormat>;

export const apiVersionField = withMessages(
  constant(API_VERSION, {
    title: 'API version',
    description: 'The version of the policy format. Write sg-reconciler/v1.',
  }),
  { missing: `add apiVersion: ${API_VERSION}` },
);

/** The `kind` field of a document of kind `kind`. */
export function kindField<const K extends string>(kind: K) {
  return withMessages(
    constant(kind, { title: 'Kind', description: `The kind of document. Write ${kind}.` }),
    {
      missing: `add kind: ${kind}`,
    },
  );
}

/** `metadata: {name, description, labels}`; `nameDescription` says what the name is used for. */
export function metadataSchema(what: string, nameDescription: string, example: string) {
  return withMessages(
    Type.Object(
      {
        name: withMessages(
          Type.String({
            title: `${what[0]?.toUpperCase() ?? ''}${what.slice(1)} name`,
            description: nameDescription,
            pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$',
          }),
          {
            pattern: nameMessage(what),
            missing: `add name: with a ${what} name unique across all files, e.g. name: ${example}`,
          },
        ),
        description: Type.Optional(
          withMessages(
            Type.String({
              title: 'Description',
              description: `Free text for people reading the ${what}; not sent to AWS.`,
              maxLength: 1024,
            }),
            {
              length: ({ value, limit }) =>
                `description is ${typeof value === 'string' ? [...value].length : 0} characters long; write at most ${limit ?? 1024}`,
            },
          ),
        ),
        labels: Type.Optional(
          stringMap(
            {
              title: 'Labels',
              description: 'Free key/value strings for people and tooling; not sent to AWS.',
            },
            tagValueSchema({ type: 'string' }),
          ),
        ),
      },
      {
        title: 'Metadata',
        description: `The ${what}'s name and optional notes.`,
        additionalProperties: false,
      },
    ),
    { home: 'metadata', missing: `add metadata: with a name, e.g. metadata: {name: ${example}}` },
  );
}

/** The value of a tag or label: a string (quoted), at most `maxLength` characters. */
function tagValueSchema<T extends Record<string, unknown>>(schema: T): T {
  return withMessages(schema as unknown as TSchema, {
    type: ({ segments, value }) => {
      const key = String(segments[segments.length - 1]);
      const map = String(segments[segments.length - 2]);
      const example = value === null ? '""' : JSON.stringify(String(value));
      return `tag value of ${JSON.stringify(key)} in ${map} must be a string; quote it: ${key}: ${example}`;
    },
    length: ({ segments, value, limit }) => {
      const key = String(segments[segments.length - 1]);
      const length = typeof value === 'string' ? [...value].length : 0;
      return `tag value of ${JSON.stringify(key)} is ${length} characters long; AWS allows at most ${limit ?? 256}`;
    },
  }) as unknown as T;
}

function descriptionCharsMessage({ document, segments, value }: MessageContext): string {
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

/** The value at a path of a plain document, or undefined. */
export function valueAt(document: unknown, segments: readonly Segment[]): unknown {
  let value = document;
  for (const segment of segments) {
    if (typeof segment === 'number') value = Array.isArray(value) ? value[segment] : undefined;
    else value = isRecord(value) ? value[segment] : undefined;
  }
  return value;
}

/**
 * A value that is not a security group ID, where one is needed (a target's `groupId`): Terraform's
 * `account/sg-...` is split into the ID and the account selector; a name (anything that is not an
 * ID of some kind) is pointed to `groupName`, the opposite of groupName's "is a security group ID".
 */
function groupIdMessage({ segments, value }: MessageContext): string {
  const field = lastName(segments);
  const cross = crossAccountGroup(value);
  if (cross !== undefined) {
    return (
      `${field} ${quote(value)} is Terraform's spelling of a security group in another account; ` +
      `write ${field}: ${cross.groupId}, and select account ${cross.account} with spec.accounts: [{id: "${cross.account}"}]`
    );
  }
  if (field === 'groupId' && typeof value === 'string') {
    const text = value.trim();
    // sg-12345 is a malformed ID, vpc-... or pl-... another resource's: the ID sentence fits those.
    if (text !== '' && !/^(sg|vpc|pl|pcx|subnet|eni|i)-[0-9a-f]*$/i.test(text)) {
      return `groupId ${quote(value)} is not a security group ID; did you mean groupName: ${yamlScalar(text)}? (a name is resolved in the region's default VPC)`;
    }
  }
  return idMessage(field, ID_FORMATS.groupId, value);
}

/** Definitions shared by the kinds (`#/definitions/<name>`). */
export const SHARED_DEFINITIONS = {
  region: withMessages(Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-[0-9]+$' }), {
    pattern: ({ value }) => {
      const lower = typeof value === 'string' ? value.trim().toLowerCase() : '';
      if (lower !== value && /^[a-z]{2}(-[a-z]+)+-[0-9]+$/.test(lower)) {
        return `region ${quote(value)} is not an AWS region name; write ${lower}`;
      }
      return `region ${quote(value)} is not an AWS region name; write a region code like us-east-1 or eu-west-2`;
    },
  }),
  securityGroupId: withMessages(Type.String({ pattern: '^sg-([0-9a-f]{8}|[0-9a-f]{17})$' }), {
    pattern: groupIdMessage,
  }),
  vpcId: withMessages(Type.String({ pattern: '^vpc-([0-9a-f]{8}|[0-9a-f]{17})$' }), {
    pattern: idPattern(ID_FORMATS.vpcId),
  }),
  description: withMessages(
    Type.String({
      maxLength: MAX_DESCRIPTION_LENGTH,
      pattern: '^[a-zA-Z0-9 ._:/()#,@\\[\\]+=&;{}!$*-]*$',
    }),
    {
      pattern: descriptionCharsMessage,
      length: ({ value }) =>
        `description is ${typeof value === 'string' ? [...value].length : 0} characters long; EC2 allows at most ${MAX_DESCRIPTION_LENGTH}`,
    },
  ),
  tags: Type.Unsafe<Record<string, string>>({
    type: 'object',
    propertyNames: withMessages(
      Type.Unsafe({
        minLength: 1,
        maxLength: 127,
        pattern: '^(?![aA][wW][sS]:)',
      }),
      {
        pattern: ({ value }) =>
          `tag key ${JSON.stringify(value)} begins with "aws:", which AWS reserves; choose a key without that prefix`,
        length: ({ value, keyword, limit }) =>
          keyword === 'minLength'
            ? 'tag key is empty; write a key of 1 to 127 characters'
            : `tag key ${JSON.stringify(value)} is ${[...String(value)].length} characters long; AWS allows at most ${limit ?? 127}`,
      },
    ),
    additionalProperties: tagValueSchema({ type: 'string', maxLength: 256 }),
  }),
};

/** A rule's protocol: a name, `all`/-1, or a protocol number (a string or a number). */
export function protocolSchema(description: string, missing?: string) {
  return withMessages(
    oneOf(
      [
        withMessages(
          Type.String({
            pattern:
              '^([tT][cC][pP]|[uU][dD][pP]|[iI][cC][mM][pP]|[iI][cC][mM][pP][vV]6|[aA][lL][lL]|-1|[0-9]{1,3})$',
          }),
          {
            pattern: ({ value }) => {
              const suggestion = typeof value === 'string' ? closest(value, PROTOCOL_NAMES) : undefined;
              return (
                `protocol ${quote(value)} is not a protocol; ` +
                (suggestion !== undefined ? `did you mean ${suggestion}? ` : '') +
                `write ${PROTOCOL_HINT}`
              );
            },
          },
        ),
        withMessages(Type.Integer({ minimum: -1, maximum: 255 }), {
          range: ({ value }) => `protocol ${quote(value)} is not a protocol number; write ${PROTOCOL_HINT}`,
        }),
      ],
      { title: 'Protocol', description, examples: ['tcp', 'udp', 'icmp', 'icmpv6', 'all'] },
    ),
    {
      type: ({ value }) => `protocol ${quote(value)} is not a protocol; write ${PROTOCOL_HINT}`,
      ...(missing !== undefined ? { missing } : {}),
    },
  );
}

/** What a kind's root schema is made of; see documentSchema. */
export interface DocumentParts<K extends string, S extends TSchema> {
  readonly kind: K;
  /** What a document of the kind is called in messages: `policy`, `guardrail`. */
  readonly what: string;
  readonly nameDescription: string;
  readonly nameExample: string;
  readonly spec: S;
  readonly title: string;
  readonly description: string;
  readonly definitions: Record<string, TSchema>;
}

/** The root schema of a kind: apiVersion, kind, metadata and its spec, with its definitions. */
export function documentSchema<const K extends string, S extends TSchema>(parts: DocumentParts<K, S>) {
  return withMessages(
    Type.Object(
      {
        apiVersion: apiVersionField,
        kind: kindField(parts.kind),
        metadata: metadataSchema(parts.what, parts.nameDescription, parts.nameExample),
        spec: parts.spec,
      },
      {
        $schema: 'http://json-schema.org/draft-07/schema#',
        title: parts.title,
        description: parts.description,
        additionalProperties: false,
        definitions: parts.definitions,
      },
    ),
    { home: 'the top level of the document' },
  );
}
