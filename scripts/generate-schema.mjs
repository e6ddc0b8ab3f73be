// `npm run schema`: writes schemas/policy.schema.json, the editor schema, from the one definition of
// the documents in src/policy/kinds/ (through the built dist/). The file is checked in so editors
// and the package have it; test/unit/policy-schema.test.ts fails when it is not what this writes.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';

const file = fileURLToPath(new URL('../schemas/policy.schema.json', import.meta.url));
const { policySchema } = await import('../dist/policy/schema.js');
const config = (await resolveConfig(file)) ?? {};
writeFileSync(file, await format(JSON.stringify(policySchema(), null, 2), { ...config, filepath: file }));
process.stdout.write(`wrote ${file}\n`);
