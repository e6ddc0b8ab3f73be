import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import {
  INVENTORY_SCHEMA_URL,
  inventorySchema,
  loadInventory,
  parseInventoryText,
} from '../../src/policy/index.js';

const FILE = 'accounts.yaml';

// SPEC.md "Accounts and regions", verbatim.
const SPEC_EXAMPLE = `apiVersion: sg-reconciler/v1
kind: AccountInventory
spec:
  roleName: sg-reconciler          # assumed in each account as arn:<partition>:iam::<id>:role/<roleName>
  externalId: optional-external-id # optional, passed to AssumeRole
  accounts:
    - id: "111111111111"
      name: prod-payments
      tags: { env: prod }
    - id: "222222222222"
      name: staging
      roleArn: arn:aws:iam::222222222222:role/custom-name   # optional, overrides roleName
`;

function errorsOf(text: string): string[] {
  const result = parseInventoryText(FILE, text);
  if (result.ok) throw new Error('expected errors');
  return result.errors.map((e) => `${e.file}:${e.line}:${e.column}  ${e.path}  ${e.message}`);
}

describe('account inventory file', () => {
  it("reads SPEC.md's example", () => {
    expect(parseInventoryText(FILE, SPEC_EXAMPLE)).toEqual({
      ok: true,
      inventory: {
        source: 'file',
        file: FILE,
        roleName: 'sg-reconciler',
        externalId: 'optional-external-id',
        accounts: [
          { id: '111111111111', name: 'prod-payments', tags: { env: 'prod' }, ous: [], roleArn: undefined },
          {
            id: '222222222222',
            name: 'staging',
            tags: {},
            ous: [],
            roleArn: 'arn:aws:iam::222222222222:role/custom-name',
          },
        ],
      },
    });
  });

  it('roleName defaults to sg-reconciler; ous make OU selectors work offline', () => {
    const result = parseInventoryText(
      FILE,
      'apiVersion: sg-reconciler/v1\nkind: AccountInventory\nspec:\n  accounts:\n    - id: "111111111111"\n      ous: [ou-ab12-team0001, ou-ab12-prod0001]\n',
    );
    expect(result).toMatchObject({
      ok: true,
      inventory: { roleName: 'sg-reconciler', accounts: [{ ous: ['ou-ab12-team0001', 'ou-ab12-prod0001'] }] },
    });
  });

  it('locates every error at file:line:column with the field path and what to write', () => {
    const text = [
      'apiVersion: sg-reconciler/v1',
      'kind: AccountInventory',
      'spec:',
      '  roleName: sg reconciler',
      '  acounts: []',
      '',
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      'accounts.yaml:4:13  spec.roleName  roleName "sg reconciler" is not an IAM role name; use letters, digits and +=,.@_-/ only, e.g. roleName: sg-reconciler',
      'accounts.yaml:5:3  spec.acounts  unknown field "acounts"; did you mean "accounts"? allowed fields here: roleName, externalId, accounts',
    ]);
  });

  it('an unquoted account ID, a bad OU, a duplicate and a role in another account are errors', () => {
    const text = [
      'apiVersion: sg-reconciler/v1',
      'kind: AccountInventory',
      'spec:',
      '  accounts:',
      '    - id: 111111111111',
      '    - id: "222222222222"',
      '      ous: [ou-x]',
      '    - id: "222222222222"',
      '      roleArn: arn:aws:iam::333333333333:role/x',
      '',
    ].join('\n');
    expect(errorsOf(text)).toEqual([
      'accounts.yaml:5:11  spec.accounts[0].id  account id must be a string of 12 digits; quote it: id: "111111111111"',
      'accounts.yaml:7:13  spec.accounts[1].ous[0]  "ou-x" is not an organizational unit ID; write one like ou-ab12-34cd56ef',
      'accounts.yaml:8:11  spec.accounts[2].id  account 222222222222 is already listed at spec.accounts[1]; list each account once',
      'accounts.yaml:9:16  spec.accounts[2].roleArn  roleArn is a role in account 333333333333, not in 222222222222; name a role in account 222222222222',
    ]);
  });

  it('holds one document', () => {
    expect(errorsOf(`${SPEC_EXAMPLE}---\n${SPEC_EXAMPLE}`)).toEqual([
      'accounts.yaml:14:1    an inventory file holds one document; merge the accounts of this one into the first',
    ]);
  });

  it('schemas/account-inventory.schema.json is checked in as npm run schema writes it', async () => {
    const file = fileURLToPath(INVENTORY_SCHEMA_URL);
    const generated = await format(JSON.stringify(inventorySchema(), null, 2), {
      ...((await resolveConfig(file)) ?? {}),
      filepath: file,
    });
    expect(readFileSync(file, 'utf8')).toBe(generated);
  });

  it('a file that cannot be read is an error about the path as a whole (no made-up 1:1), saying what to pass', async () => {
    const result = await loadInventory('/nonexistent/accounts.yaml');

    expect(result).toEqual({
      ok: false,
      errors: [
        expect.objectContaining({
          file: '/nonexistent/accounts.yaml',
          wholePath: true,
          message: expect.stringMatching(
            /it does not exist; pass --accounts with a kind: AccountInventory file/,
          ),
        }),
      ],
    });
  });
});
