// The document shapes are defined once (src/policy/kinds/, TypeBox): the JSON Schema editors use is
// generated from them and checked in, the TypeScript types are their Static<> types. These tests
// keep the checked-in file in step, and the schema fit for editors: it validates either kind,
// chosen by `kind`, rejects unknown fields everywhere, and titles and describes every field.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import {
  API_VERSION,
  GUARDRAIL,
  KIND,
  type GuardrailDocument,
  type PolicyDocument,
} from '../../src/policy/document.js';
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

/** The document schemas proper: everything under definitions (the root only picks a kind). */
const documentObjects = objectSchemas(at(schema, 'definitions'), ['definitions']);

const EVERY_FIELD_POLICY = {
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

const EVERY_FIELD_GUARDRAIL = {
  apiVersion: 'sg-reconciler/v1',
  kind: 'Guardrail',
  metadata: {
    name: 'no-internet-admin-ports',
    description: 'CIS 5.2 and 5.3',
    labels: { owner: 'security' },
  },
  spec: {
    description: 'SSH and RDP are never open to the internet',
    deny: [
      { protocol: 'tcp', ports: [22, 3389, '5900-5910'], from: 'internet' },
      { from: ['0.0.0.0/0', '::/0'] },
      { protocol: 'all', from: 'any' },
    ],
    exceptions: [{ policy: 'break-glass-ssh', expires: '2027-01-31', reason: 'incident response, SEC-123' }],
  },
} satisfies GuardrailDocument;

describe('policy schema', () => {
  it('is checked in exactly as scripts/generate-schema.mjs writes it from the definition (npm run schema)', async () => {
    const file = fileURLToPath(POLICY_SCHEMA_URL);
    const generated = await format(JSON.stringify(policySchema(), null, 2), {
      ...((await resolveConfig(file)) ?? {}),
      filepath: file,
    });
    expect(readFileSync(file, 'utf8')).toBe(generated);
  });

  it('accepts typed documents of each kind that use every field', () => {
    expect(schemaErrors(EVERY_FIELD_POLICY)).toEqual([]);
    expect(schemaErrors(EVERY_FIELD_GUARDRAIL)).toEqual([]);
  });

  it('as the editor schema, validates either kind, chosen by kind', () => {
    const validate = new Ajv({ strictRequired: false }).compile(schema);
    expect(validate(EVERY_FIELD_POLICY)).toBe(true);
    expect(validate(EVERY_FIELD_GUARDRAIL)).toBe(true);
    // A field of the other kind is an unknown field.
    expect(validate({ ...EVERY_FIELD_POLICY, spec: { ...EVERY_FIELD_POLICY.spec, deny: [] } })).toBe(false);
    expect(validate({ ...EVERY_FIELD_GUARDRAIL, spec: { ...EVERY_FIELD_GUARDRAIL.spec, ingress: [] } })).toBe(
      false,
    );
    expect(validate({ ...EVERY_FIELD_GUARDRAIL, kind: 'Firewall' })).toBe(false);
    const { expires: _, ...undated } = EVERY_FIELD_GUARDRAIL.spec.exceptions[0]!;
    expect(
      validate({ ...EVERY_FIELD_GUARDRAIL, spec: { ...EVERY_FIELD_GUARDRAIL.spec, exceptions: [undated] } }),
    ).toBe(false);
  });

  it('describes each kind once, under definitions, with the shared definitions beside them', () => {
    expect(Object.keys(at(schema, 'definitions', 'ingressPolicy', 'properties'))).toEqual([
      'apiVersion',
      'kind',
      'metadata',
      'spec',
    ]);
    expect(
      Object.keys(at(schema, 'definitions', 'ingressPolicy', 'properties', 'spec', 'properties')),
    ).toEqual(['region', 'regions', 'accounts', 'targets', 'ruleTags', 'ingress']);
    expect(Object.keys(at(schema, 'definitions', 'guardrail', 'properties', 'spec', 'properties'))).toEqual([
      'description',
      'deny',
      'exceptions',
    ]);
    expect(Object.keys(at(schema, 'definitions', 'denyEntry', 'properties'))).toEqual([
      'protocol',
      'ports',
      'from',
    ]);
    expect(Object.keys(at(schema, 'definitions', 'exception', 'properties'))).toEqual([
      'policy',
      'expires',
      'reason',
    ]);
    expect(at(schema, 'definitions', 'exception').required).toEqual(['policy', 'expires', 'reason']);
  });

  it('rejects unknown fields everywhere', () => {
    expect(documentObjects.length).toBeGreaterThan(10);
    for (const [path, node] of documentObjects) {
      expect(node.additionalProperties, path).toBe(false);
    }
  });

  it('gives every field a title and a description for editors', () => {
    for (const [path, node] of documentObjects) {
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
    expect(at(schema, 'properties', 'kind').enum).toEqual([KIND, GUARDRAIL]);
    expect(at(schema, 'definitions', 'ingressPolicy', 'properties', 'kind').const).toBe(KIND);
    expect(at(schema, 'definitions', 'guardrail', 'properties', 'kind').const).toBe(GUARDRAIL);
    expect(at(schema, 'definitions', 'guardrail', 'properties', 'apiVersion').const).toBe(API_VERSION);
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
