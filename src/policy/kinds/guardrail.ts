// The Guardrail document (SPEC "Guardrails"), defined once: its JSON Schema, its TypeScript types,
// the sentence for each way a field can be wrong, the checks the schema cannot express, and the
// normaliser to model/guardrail.ts.
import { Type, type Static } from '@sinclair/typebox';
import type { DenyEntry, DenySource, Guardrail, PortSpan } from '../../model/guardrail.js';
import type { SourcePosition } from '../../model/policy.js';
import { canonicalCidr, canonicalProtocol, describeProtocol, portKind } from '../../model/rule.js';
import { isRecord, quote, type Issue, type Segment } from '../issue.js';
import { oneOf, ref, withMessages } from '../schema-kit.js';
import { MAX_PORT, checkCidr, closest, parseProtocol } from '../values.js';
import { documentSchema, protocolSchema } from './common.js';

export const GUARDRAIL = 'Guardrail';

const PORTS_EXAMPLE = 'e.g. ports: [22, 3389, "5900-5910"]';
const FROM_EXAMPLE = 'e.g. from: internet, or from: [0.0.0.0/0, "::/0"]';
const FROM_WORDS = ['internet', 'any'] as const;

const port = withMessages(
  oneOf(
    [
      withMessages(Type.Integer({ minimum: 0, maximum: 65535 }), {
        range: ({ value }) => `port ${quote(value)} is out of range; write a port from 0 to 65535`,
      }),
      withMessages(Type.String({ pattern: '^[0-9]{1,5}(-[0-9]{1,5})?$' }), {
        pattern: ({ value }) =>
          `ports entry ${quote(value)} is not a port or port range; write a port (22) or a range as "from-to" ("5900-5910")`,
      }),
    ],
    {},
  ),
  {
    type: ({ value }) =>
      `ports entry ${quote(value)} is not a port or port range; write a port (22) or a range as "from-to" ("5900-5910")`,
  },
);

const denyEntry = withMessages(
  Type.Object(
    {
      protocol: Type.Optional(
        protocolSchema(
          'Optional: tcp, udp, icmp, icmpv6, all (or -1), or a protocol number 0-255. Omitted or all: every protocol. A rule of protocol all matches every entry.',
        ),
      ),
      ports: Type.Optional(
        withMessages(
          Type.Array(port, {
            title: 'Ports',
            description:
              'Optional: a list of ports and "from-to" ranges, e.g. [22, 3389, "5900-5910"]. A rule matches when its port range overlaps one; a rule without ports (protocol all, or a protocol number) always matches. Omitted: every port.',
            minItems: 1,
          }),
          {
            type: () => `ports must be a list of ports and "from-to" ranges, ${PORTS_EXAMPLE}`,
            missing: `add ports: ${PORTS_EXAMPLE}, or remove ports to deny every port`,
          },
        ),
      ),
      from: withMessages(
        oneOf(
          [
            withMessages(Type.Unsafe<'internet' | 'any'>({ type: 'string', enum: [...FROM_WORDS] }), {
              enum: ({ value }) => {
                const suggestion = typeof value === 'string' ? closest(value, FROM_WORDS) : undefined;
                if (suggestion !== undefined)
                  return `from ${quote(value)} is not valid; did you mean ${suggestion}?`;
                // Only a value that looks like a network is worth offering back as a list.
                const network = typeof value === 'string' && /^[0-9a-f.:]+\/\d+$/i.test(value);
                return network
                  ? `from ${quote(value)} is not internet or any; for networks write a list, e.g. from: [${value}]`
                  : `from ${quote(value)} is not valid; write internet, any, or a list of networks, e.g. from: [0.0.0.0/0]`;
              },
            }),
            Type.Array(
              withMessages(Type.String({ minLength: 1 }), {
                length: () => 'network is empty; write a network like 0.0.0.0/0',
              }),
              { minItems: 1 },
            ),
          ],
          {
            title: 'From',
            description:
              'internet (any network holding an address outside the IANA special-purpose registries), any (every source, prefix lists and security groups too), or a list of networks matched by overlap.',
            examples: ['internet', 'any'],
          },
        ),
        {
          type: () => `from must be internet, any, or a list of networks; ${FROM_EXAMPLE}`,
          missing: `add from: with internet, any, or a list of networks, ${FROM_EXAMPLE}`,
        },
      ),
    },
    {
      title: 'Deny entry',
      description: 'Rules matching protocol, ports and from (each optional but from) are never authorized.',
      additionalProperties: false,
    },
  ),
  { home: 'a deny entry (an item of spec.deny)' },
);

const exception = withMessages(
  Type.Object(
    {
      policy: withMessages(
        Type.String({
          title: 'Policy',
          description: 'The metadata.name of the IngressPolicy whose rules this exception lets through.',
          pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$',
        }),
        {
          pattern: ({ value }) =>
            `policy ${quote(value)} is not a policy name; write the metadata.name of an IngressPolicy`,
          missing: 'add policy: with the metadata.name of the IngressPolicy this exception is for',
        },
      ),
      expires: withMessages(
        Type.String({
          title: 'Expires',
          description:
            'Required: the date (YYYY-MM-DD, UTC) from which the exception no longer applies, e.g. 2027-01-31.',
          pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$',
        }),
        {
          pattern: ({ value }) =>
            `expires ${quote(value)} is not a date; write the first day the exception no longer applies as YYYY-MM-DD, e.g. expires: 2027-01-31`,
          type: ({ value }) =>
            `expires must be a date written YYYY-MM-DD, e.g. expires: 2027-01-31, not ${quote(value)}`,
          missing:
            'add expires: with the date from which the exception no longer applies, e.g. expires: 2027-01-31; exceptions do not last for ever',
        },
      ),
      reason: withMessages(
        Type.String({
          title: 'Reason',
          description: 'Why the exception exists, e.g. a ticket.',
          minLength: 1,
        }),
        {
          length: () => 'reason is empty; say why the exception exists, e.g. a ticket',
          missing:
            'add reason: with why the exception exists, e.g. reason: incident response, ticket SEC-123',
        },
      ),
    },
    {
      title: 'Exception',
      description: "A dated exception for one IngressPolicy's rules.",
      additionalProperties: false,
    },
  ),
  { home: 'an exception (an item of spec.exceptions)' },
);

const spec = withMessages(
  Type.Object(
    {
      description: Type.Optional(
        Type.String({
          title: 'Description',
          description: 'What the guardrail protects and why, e.g. the benchmark it implements.',
          maxLength: 1024,
        }),
      ),
      deny: withMessages(
        Type.Array(ref('denyEntry', denyEntry), {
          title: 'Deny',
          description: 'What must never be authorized. A rule is denied when it matches any entry.',
          minItems: 1,
        }),
        { missing: 'add deny: with at least one entry, e.g. - {protocol: tcp, ports: [22], from: internet}' },
      ),
      exceptions: Type.Optional(
        Type.Array(ref('exception', exception), {
          title: 'Exceptions',
          description: 'Dated exceptions, each for one IngressPolicy.',
        }),
      ),
    },
    {
      title: 'Specification',
      description: 'What the guardrail denies, and its dated exceptions.',
      additionalProperties: false,
    },
  ),
  { home: 'spec', missing: 'add spec: with deny' },
);

/** The JSON Schema of a Guardrail document, with its definitions. */
export const GUARDRAIL_SCHEMA = documentSchema({
  kind: GUARDRAIL,
  what: 'guardrail',
  nameDescription:
    'Unique among guardrails; lower-case letters, digits and dashes, 1-63 characters, starting and ending with a letter or digit. Named in every error, rule.blocked and rule.violation event it causes.',
  nameExample: 'no-internet-admin-ports',
  spec,
  title: 'sg-reconciler Guardrail',
  description:
    'What must never be authorized: checked by validate, again before every write, and against the live rules of every pass.',
  definitions: { denyEntry, exception },
});

/** A Guardrail as a user writes it. */
export type GuardrailDocument = Static<typeof GUARDRAIL_SCHEMA>;
type DenyEntryDocument = Static<typeof denyEntry>;

// ---- the checks the schema cannot express ----

interface Located<T> {
  readonly value: T;
  readonly segments: readonly Segment[];
}

function items(
  document: Record<string, unknown>,
  field: 'deny' | 'exceptions',
): Located<Record<string, unknown>>[] {
  const spec = document.spec;
  if (!isRecord(spec) || !Array.isArray(spec[field])) return [];
  const out: Located<Record<string, unknown>>[] = [];
  (spec[field] as unknown[]).forEach((value, index) => {
    if (isRecord(value)) out.push({ value, segments: ['spec', field, index] });
  });
  return out;
}

/** A "from-to" string in range and in order; a protocol number string up to 255. */
function denyValues(document: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  for (const { value: entry, segments } of items(document, 'deny')) {
    const protocol = entry.protocol;
    if (typeof protocol === 'string' && /^[0-9]{1,3}$/.test(protocol) && Number(protocol) > 255) {
      issues.push({
        segments: [...segments, 'protocol'],
        at: 'value',
        message: `protocol ${quote(protocol)} is not a protocol number; write a number from 0 to 255, or tcp, udp, icmp, icmpv6 or all`,
      });
    }
    const canonical = parseProtocol(protocol);
    if (
      entry.ports !== undefined &&
      canonical !== undefined &&
      canonical !== '-1' &&
      portKind(canonical) !== 'ports'
    ) {
      issues.push({
        segments: [...segments, 'ports'],
        at: 'key',
        supersedes: true,
        message: `ports do not apply to protocol ${describeProtocol(canonical)}; remove ports, or write protocol: tcp or udp (or omit protocol to match every protocol)`,
      });
    }
    if (Array.isArray(entry.ports)) {
      (entry.ports as unknown[]).forEach((item, index) => {
        if (typeof item !== 'string') return;
        const match = /^([0-9]{1,5})(?:-([0-9]{1,5}))?$/.exec(item);
        if (match === null) return;
        const from = Number(match[1]);
        const to = Number(match[2] ?? match[1]);
        const at = [...segments, 'ports', index];
        if (from > MAX_PORT || to > MAX_PORT) {
          issues.push({
            segments: at,
            at: 'value',
            message: `ports entry ${quote(item)} is out of range; write ports from 0 to ${MAX_PORT}`,
          });
        } else if (from > to) {
          issues.push({
            segments: at,
            at: 'value',
            message: `ports entry ${quote(item)} runs backwards; write the lower port first: "${to}-${from}"`,
          });
        }
      });
    }
    if (Array.isArray(entry.from)) {
      (entry.from as unknown[]).forEach((network, index) => {
        if (typeof network !== 'string' || network === '') return;
        const check = checkCidr(network);
        if (check.ok) return;
        const at = [...segments, 'from', index];
        issues.push({
          segments: at,
          at: 'value',
          message:
            check.reason === 'host-bits'
              ? `network ${network} has host bits set; write ${check.network ?? ''}`
              : check.reason === 'no-prefix'
                ? `network ${network} has no prefix length; write ${network}/${network.includes(':') ? 128 : 32} for the single host, or the network, e.g. 0.0.0.0/0`
                : `network ${quote(network)} is not an IPv4 or IPv6 network; write a network in CIDR notation, e.g. 0.0.0.0/0 or ::/0`,
        });
      });
    }
  }
  return issues;
}

/** `2027-02-30` matches the pattern but is no date. */
function expiresIsADate(document: Record<string, unknown>): Issue[] {
  return items(document, 'exceptions').flatMap(({ value, segments }): Issue[] => {
    const expires = value.expires;
    if (typeof expires !== 'string' || !/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(expires)) return [];
    const parsed = new Date(`${expires}T00:00:00Z`);
    if (!Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 10) === expires) return [];
    return [
      {
        segments: [...segments, 'expires'],
        at: 'value',
        message: `expires ${quote(expires)} is not a calendar date; write a real day as YYYY-MM-DD, e.g. expires: 2027-01-31`,
      },
    ];
  });
}

/** Every check of a Guardrail the schema cannot express. */
export function guardrailRules(document: Record<string, unknown>): Issue[] {
  return [...denyValues(document), ...expiresIsADate(document)];
}

// ---- normalise ----

function portSpans(ports: DenyEntryDocument['ports']): PortSpan[] | undefined {
  if (ports === undefined) return undefined;
  return ports.map((item) => {
    if (typeof item === 'number') return { from: item, to: item };
    const [from = '0', to = from] = item.split('-');
    return { from: Number(from), to: Number(to) };
  });
}

function denySource(from: DenyEntryDocument['from']): DenySource {
  if (from === 'internet' || from === 'any') return { kind: from };
  return { kind: 'networks', networks: from.map((network) => canonicalCidr(network).value) };
}

/** One valid Guardrail document -> the normalised Guardrail, every part located in `file`. */
export function normaliseGuardrail(
  document: GuardrailDocument,
  file: string,
  locate: (segments: readonly Segment[]) => SourcePosition,
): Guardrail {
  const { spec } = document;
  const deny: DenyEntry[] = spec.deny.map((entry, index) => {
    const protocol = entry.protocol === undefined ? undefined : canonicalProtocol(entry.protocol);
    return {
      protocol: protocol === '-1' ? undefined : protocol,
      ports: portSpans(entry.ports),
      from: denySource(entry.from),
      position: locate(['spec', 'deny', index]),
    };
  });
  return {
    name: document.metadata.name,
    file,
    position: locate([]),
    description: spec.description,
    deny,
    exceptions: (spec.exceptions ?? []).map((entry, index) => ({
      policy: entry.policy,
      expires: entry.expires,
      reason: entry.reason,
      position: locate(['spec', 'exceptions', index]),
    })),
  };
}
