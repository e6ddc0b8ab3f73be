// The AccountInventory document (`--accounts FILE`), defined once like the policy kinds: its JSON
// Schema (schemas/account-inventory.schema.json, for editors), its TypeScript type (Static<>), the
// sentence for each way a field can be wrong, and the checks the schema cannot express.
import { Type, type Static } from '@sinclair/typebox';
import { isRecord, quote, type Issue } from '../issue.js';
import { ref, stringMap, withMessages } from '../schema-kit.js';
import { API_VERSION, SHARED_DEFINITIONS, apiVersionField, kindField } from './common.js';

export const ACCOUNT_INVENTORY = 'AccountInventory';

const accountId = withMessages(
  Type.String({
    title: 'Account ID',
    description: 'The AWS account ID: 12 digits, quoted, e.g. "111111111111".',
    pattern: '^[0-9]{12}$',
  }),
  {
    pattern: ({ value }) =>
      `account id ${quote(value)} is not an AWS account ID; write 12 digits, e.g. id: "111111111111"`,
    type: ({ value }) =>
      `account id must be a string of 12 digits; quote it: id: "${typeof value === 'number' ? String(value).padStart(12, '0') : '111111111111'}"`,
    missing: 'add id: with the 12-digit account ID, quoted, e.g. id: "111111111111"',
  },
);

const account = withMessages(
  Type.Object(
    {
      id: accountId,
      name: Type.Optional(
        withMessages(
          Type.String({
            title: 'Account name',
            description: 'The name policies select with name globs, e.g. prod-payments.',
            minLength: 1,
            maxLength: 256,
          }),
          { length: () => 'name is empty; write the account name, e.g. name: prod-payments' },
        ),
      ),
      tags: Type.Optional(
        withMessages(
          Type.Unsafe<Record<string, string>>({
            title: 'Account tags',
            description: 'Tags policies select with tags selectors, e.g. {env: prod}.',
            type: 'object',
            allOf: [{ $ref: '#/definitions/tags' }],
          }),
          {},
        ),
      ),
      ous: Type.Optional(
        withMessages(
          Type.Array(
            withMessages(Type.String({ pattern: '^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$' }), {
              pattern: ({ value }) =>
                `${quote(value)} is not an organizational unit ID; write one like ou-ab12-34cd56ef`,
            }),
            {
              title: 'Organizational units',
              description:
                'The OUs that hold the account: its parent and every OU above it, so ou selectors work offline.',
              uniqueItems: true,
            },
          ),
          {},
        ),
      ),
      roleArn: Type.Optional(
        withMessages(
          Type.String({
            title: 'Role ARN',
            description:
              'The role to assume in this account, overriding roleName, e.g. arn:aws:iam::222222222222:role/custom-name.',
            pattern: '^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]{1,512}$',
          }),
          {
            pattern: ({ value }) =>
              `roleArn ${quote(value)} is not an IAM role ARN; write arn:aws:iam::<account id>:role/<role name>`,
          },
        ),
      ),
    },
    {
      title: 'Account',
      description: 'One account policies may select.',
      additionalProperties: false,
      required: ['id'],
    },
  ),
  { home: 'an account (an item of spec.accounts)' },
);

const spec = withMessages(
  Type.Object(
    {
      roleName: Type.Optional(
        withMessages(
          Type.String({
            title: 'Role name',
            description:
              'The role assumed in each account, as arn:<partition>:iam::<id>:role/<roleName> (default sg-reconciler).',
            pattern: '^[\\w+=,.@/-]{1,512}$',
          }),
          {
            pattern: ({ value }) =>
              `roleName ${quote(value)} is not an IAM role name; use letters, digits and +=,.@_-/ only, e.g. roleName: sg-reconciler`,
          },
        ),
      ),
      externalId: Type.Optional(
        withMessages(
          Type.String({
            title: 'External ID',
            description: 'Passed to every AssumeRole, as the spoke roles’ trust policies require.',
            minLength: 2,
            maxLength: 1224,
            pattern: '^[\\w+=,.@:/-]*$',
          }),
          {
            pattern: () => 'externalId may hold letters, digits and +=,.@:/-_ only',
            length: () => 'externalId must be 2 to 1224 characters long',
          },
        ),
      ),
      accounts: withMessages(
        Type.Array(ref('account', account), {
          title: 'Accounts',
          description: 'Every account policies may select. At least one.',
          minItems: 1,
        }),
        {
          missing: 'add accounts: with at least one account, e.g. - id: "111111111111"',
          length: () => 'accounts is empty; list at least one account, e.g. - id: "111111111111"',
        },
      ),
    },
    {
      title: 'Specification',
      description: 'The role to assume and the accounts.',
      additionalProperties: false,
    },
  ),
  { home: 'spec', missing: 'add spec: with accounts' },
);

/** The JSON Schema of an AccountInventory document, with its definitions. */
export const ACCOUNT_INVENTORY_SCHEMA = withMessages(
  Type.Object(
    {
      apiVersion: apiVersionField,
      kind: kindField(ACCOUNT_INVENTORY),
      metadata: Type.Optional(
        stringMap({ title: 'Metadata', description: 'Free notes (e.g. name, description); not used.' }, {}),
      ),
      spec,
    },
    {
      $schema: 'http://json-schema.org/draft-07/schema#',
      title: 'sg-reconciler AccountInventory',
      description:
        'The accounts sg-reconciler policies may select (--accounts FILE), and the role assumed in each.',
      additionalProperties: false,
      definitions: { account, tags: SHARED_DEFINITIONS.tags },
    },
  ),
  { home: 'the top level of the document' },
);

export type AccountInventoryDocument = Static<typeof ACCOUNT_INVENTORY_SCHEMA>;

/** Two entries for one account: which one's role and tags would apply is anyone's guess. */
function uniqueAccountIds(document: Record<string, unknown>): Issue[] {
  const spec = document.spec;
  if (!isRecord(spec) || !Array.isArray(spec.accounts)) return [];
  const seen = new Map<string, number>();
  const issues: Issue[] = [];
  spec.accounts.forEach((entry: unknown, index) => {
    if (!isRecord(entry) || typeof entry.id !== 'string') return;
    const first = seen.get(entry.id);
    if (first === undefined) seen.set(entry.id, index);
    else
      issues.push({
        segments: ['spec', 'accounts', index, 'id'],
        at: 'value',
        message: `account ${entry.id} is already listed at spec.accounts[${first}]; list each account once`,
      });
  });
  return issues;
}

/** A roleArn in another account would work there, while events and plans name this one. */
function roleInItsAccount(document: Record<string, unknown>): Issue[] {
  const spec = document.spec;
  if (!isRecord(spec) || !Array.isArray(spec.accounts)) return [];
  return spec.accounts.flatMap((entry: unknown, index): Issue[] => {
    if (!isRecord(entry) || typeof entry.id !== 'string' || typeof entry.roleArn !== 'string') return [];
    const owner = /^arn:[^:]+:iam::(\d{12}):role\//.exec(entry.roleArn)?.[1];
    if (owner === undefined || owner === entry.id) return [];
    return [
      {
        segments: ['spec', 'accounts', index, 'roleArn'],
        at: 'value',
        message: `roleArn is a role in account ${owner}, not in ${entry.id}; name a role in account ${entry.id}`,
      },
    ];
  });
}

/** The checks of an AccountInventory the schema cannot express. */
export function accountInventoryRules(document: Record<string, unknown>): Issue[] {
  return [...uniqueAccountIds(document), ...roleInItsAccount(document)];
}

export { API_VERSION };
