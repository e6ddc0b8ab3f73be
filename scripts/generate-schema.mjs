// `npm run schema`: writes schemas/policy.schema.json and schemas/account-inventory.schema.json, the editor schemas, from the one definition of
// the documents in src/policy/kinds/ (through the built dist/). The file is checked in so editors
// and the package have it; test/unit/policy-schema.test.ts fails when it is not what this writes.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';

const { policySchema } = await import('../dist/policy/schema.js');
const { inventorySchema } = await import('../dist/policy/inventory.js');
for (const [name, schema] of [
  ['policy.schema.json', policySchema()],
  ['account-inventory.schema.json', inventorySchema()],
]) {
  const file = fileURLToPath(new URL(`../schemas/${name}`, import.meta.url));
  const config = (await resolveConfig(file)) ?? {};
  writeFileSync(file, await format(JSON.stringify(schema, null, 2), { ...config, filepath: file }));
  process.stdout.write(`wrote ${file}\n`);
}
