// The document's shape is defined once (src/policy/kinds/, TypeBox): the JSON Schema editors use is
// generated from it and checked in, the TypeScript types are its Static<> types, and the field lists
// are read from it. These tests keep the checked-in file in step and the schema fit for editors.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import { API_VERSION, DOCUMENT_FIELDS, KIND, type PolicyDocument } from '../../src/policy/document.js';
import { POLICY_SCHEMA_URL, policySchema } from '../../src/policy/index.js';
import { schemaErrors } from '../../src/policy/schema.js';

type Schema = { [key: string]: unknown };

function at(schema: Schema, ...path: (string | number)[]): Schema {
  let node: unknown = schema;
  for (const key of path) node = (node as Record<string | number, unknown>)[key];
  if (typeof node !== 'object' || node === null) throw new Error(`no schema at ${path.join('/')}`);
  return node as Schema;
}

const schema = policySchema() as Schema;

/** Where each DOCUMENT_FIELDS list lives in the schema. */
const LOCATIONS: Record<keyof typeof DOCUMENT_FIELDS, (string | number)[]> = {
  document: [],
  metadata: ['properties', 'metadata'],
  spec: ['properties', 'spec'],
  target: ['definitions', 'target'],
  ingressRule: ['definitions', 'ingressRule'],
  portRange: ['definitions', 'ingressRule', 'properties', 'ports', 'oneOf', 2],
  icmp: ['definitions', 'ingressRule', 'properties', 'icmp'],
  source: ['definitions', 'source'],
};

/** Every object schema that declares properties, with its location. */
function objectSchemas(node: unknown, path: string[] = []): Array<[string, Schema]> {
  if (typeof node !== 'object' || node === null) return [];
  const found: Array<[string, Schema]> = [];
  const record = node as Schema;
  if (typeof record.properties === 'object' && record.properties !== null)
    found.push([path.join('/'), record]);
  for (const [key, value] of Object.entries(record)) found.push(...objectSchemas(value, [...path, key]));
  return found;
}

describe('policy schema', () => {
  it('is checked in exactly as scripts/generate-schema.mjs writes it from the definition (npm run schema)', async () => {
    const file = fileURLToPath(POLICY_SCHEMA_URL);
    const generated = await format(JSON.stringify(policySchema(), null, 2), {
      ...((await resolveConfig(file)) ?? {}),
      filepath: file,
    });
    expect(readFileSync(file, 'utf8')).toBe(generated);
  });

  it('accepts a typed document that uses every field', () => {
    const document = {
      apiVersion: 'sg-reconciler/v1',
      kind: 'IngressPolicy',
      metadata: { name: 'every-field', description: 'Uses every field.', labels: { owner: 'platform' } },
      spec: {
        region: 'eu-west-2',
        targets: [
          { groupId: 'sg-903004f8' },
          { groupName: 'web' },
          { tags: { tier: 'web' }, vpcId: 'vpc-0abc1234' },
        ],
        ruleTags: { team: 'platform' },
        ingress: [
          {
            protocol: 'tcp',
            ports: { from: 8000, to: 8080 },
            description: 'App ports',
            sources: [
              { cidr: '203.0.113.0/24', description: 'office & lab' },
              { prefixList: 'pl-0123456789abcdef0' },
              {
                securityGroup: 'sg-1a2b3c4d',
                account: '123456789012',
                vpcId: 'vpc-0abc1234',
                vpcPeeringConnectionId: 'pcx-1a2b3c4d',
              },
            ],
          },
          { protocol: 58, icmp: { type: 128, code: 0 }, sources: [{ securityGroup: 'self' }] },
          { protocol: 'udp', ports: '8000-8100', sources: [{ cidr: '2001:db8::/32' }] },
          { protocol: 'all', sources: [{ securityGroup: 'self' }] },
        ],
      },
    } satisfies PolicyDocument;

    expect(schemaErrors(document)).toEqual([]);
  });

  it.each(Object.entries(LOCATIONS))(
    'declares exactly the %s fields of the TypeScript type',
    (name, path) => {
      const properties = at(schema, ...path, 'properties');
      expect(Object.keys(properties)).toEqual([...DOCUMENT_FIELDS[name as keyof typeof DOCUMENT_FIELDS]]);
    },
  );

  it('has no object with properties that the field lists do not cover', () => {
    const covered = Object.values(LOCATIONS).map((path) => path.join('/'));
    const declared = objectSchemas(schema).map(([path]) => path);
    expect(declared.sort()).toEqual([...covered].sort());
  });

  it('rejects unknown fields everywhere', () => {
    for (const [path, node] of objectSchemas(schema)) {
      expect(node.additionalProperties, path || 'document').toBe(false);
    }
  });

  it('gives every field a title and a description for editors', () => {
    for (const [path, node] of objectSchemas(schema)) {
      for (const [field, property] of Object.entries(at(node, 'properties'))) {
        const { title, description } = property as Schema;
        expect(typeof title, `${path}/${field} title`).toBe('string');
        if (path !== 'definitions/ingressRule/properties/ports/oneOf/2') {
          expect(typeof description, `${path}/${field} description`).toBe('string');
        }
      }
    }
  });

  it('pins apiVersion and kind to the constants the code uses', () => {
    expect(at(schema, 'properties', 'apiVersion').const).toBe(API_VERSION);
    expect(at(schema, 'properties', 'kind').const).toBe(KIND);
  });

  it('compiles in ajv strict mode without warnings', () => {
    const warnings: unknown[] = [];
    const logger = {
      log: () => undefined,
      warn: (...args: unknown[]) => warnings.push(args),
      error: () => undefined,
    };
    // strictRequired is off: the oneOf branches name properties declared on the parent object.
    const ajv = new Ajv({ strict: true, strictRequired: false, logger });
    expect(() => ajv.compile(schema)).not.toThrow();
    expect(warnings).toEqual([]);
  });
});
