// Every validation rule, one real policy file per mistake: each finding must name the file, line,
// column and field path, and say what to write instead.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PolicyError } from '../../src/model/policy.js';
import { parsePolicyTexts } from '../../src/policy/index.js';

const DIR = 'test/fixtures/policies/invalid';

function errorsOf(name: string): PolicyError[] {
  const file = `${DIR}/${name}.yaml`;
  const result = parsePolicyTexts([{ file, text: readFileSync(file) }]);
  if (result.ok) throw new Error(`${file} was accepted`);
  return [...result.errors];
}

type Expected = [line: number, column: number, path: string, message: string];

function expectErrors(name: string, ...expected: Expected[]): void {
  const file = `${DIR}/${name}.yaml`;
  expect(errorsOf(name)).toEqual(
    expected.map(([line, column, path, message]) => ({ file, line, column, path, message })),
  );
}

describe('document shape', () => {
  it('rejects an apiVersion other than sg-reconciler/v1', () => {
    expectErrors('wrong-api-version', [
      1,
      13,
      'apiVersion',
      'apiVersion "v1" is not supported; write apiVersion: sg-reconciler/v1',
    ]);
  });

  it('rejects a kind other than IngressPolicy', () => {
    expectErrors('wrong-kind', [2, 7, 'kind', 'kind "Policy" is not supported; write kind: IngressPolicy']);
  });

  it('rejects a policy name that is not a DNS label and suggests one', () => {
    expectErrors('bad-name', [
      4,
      9,
      'metadata.name',
      'metadata.name "Office_SSH" is not a valid policy name; write lower-case letters, digits and dashes, 1-63 characters, starting and ending with a letter or digit, e.g. office-ssh',
    ]);
  });

  it('rejects a region in the wrong case and gives the lower-case form', () => {
    expectErrors('bad-region', [
      6,
      11,
      'spec.region',
      'region "US-East-1" is not an AWS region name; write us-east-1',
    ]);
  });

  it('rejects a region that is not a region code', () => {
    expectErrors('bad-region-format', [
      6,
      11,
      'spec.region',
      'region "virginia" is not an AWS region name; write a region code like us-east-1 or eu-west-2',
    ]);
  });

  it('names a misspelt field, suggests the real one and lists the allowed fields', () => {
    expectErrors('unknown-field-typo', [
      12,
      7,
      'spec.ingress[0].sorces',
      'unknown field "sorces"; did you mean "sources"? allowed fields here: protocol, ports, icmp, description, sources',
    ]);
  });

  it('suggests a transposed field name in a source without the "needs one of" noise', () => {
    expectErrors('unknown-field-source-typo', [
      13,
      11,
      'spec.ingress[0].sources[0].cdir',
      'unknown field "cdir"; did you mean "cidr"? allowed fields here: cidr, prefixList, securityGroup, account, vpcId, vpcPeeringConnectionId, description',
    ]);
  });

  it('explains a field indented at the wrong level', () => {
    expectErrors(
      'wrong-indentation-misplaced-field',
      [6, 3, 'spec.ingress', 'missing field "ingress"; add ingress: with at least one rule'],
      [
        8,
        1,
        'ingress',
        'unknown field "ingress" here; it belongs under spec, so check its indentation; allowed fields here: apiVersion, kind, metadata, spec',
      ],
    );
  });

  it('reports a YAML indentation error at its position', () => {
    // At the key out of place (column 6, not 1), saying how far to indent it, not the parser's words.
    expectErrors('wrong-indentation-syntax', [
      12,
      6,
      '',
      '"sources:" is indented by 5 spaces, which matches no mapping above it; indent it by 6 spaces, beside "ports:", or by 2 spaces, beside "ingress:"',
    ]);
  });

  const POLICY_HEAD = 'apiVersion: sg-reconciler/v1\nkind: IngressPolicy\nmetadata:\n  name: p\n';
  const errorsIn = (text: string): [number, number, string][] => {
    const result = parsePolicyTexts([{ file: 'p.yaml', text }]);
    if (result.ok) throw new Error('accepted');
    return result.errors.map((e) => [e.line, e.column, e.message]);
  };

  it.each([
    [
      'a key indented deeper than the one above it',
      'spec:\n  targets:\n    - groupId: sg-0123456789abcdef0\n  ingress:\n    - protocol: tcp\n      ports: 22\n        sources:\n          - cidr: 10.0.0.0/8\n',
      [
        11,
        9,
        '"sources:" is indented more than "ports:" above it, so YAML reads it as part of that value; indent it by 6 spaces, like "ports:"',
      ],
    ],
    [
      'a key indented one space short',
      'spec:\n  region: us-east-1\n targets:\n    - groupId: sg-0123456789abcdef0\n',
      [
        7,
        2,
        '"targets:" is indented by 1 space, which matches no mapping above it; indent it by 2 spaces, beside "region:", or by 0 spaces, beside "spec:"',
      ],
    ],
    [
      'a tab',
      'spec:\n\tregion: us-east-1\n',
      [6, 1, 'a tab indents this line; YAML indents with spaces only, so replace the tab with spaces'],
    ],
  ])(
    'one indentation mistake (%s) is one error at the key, saying how far to indent it',
    (_, spec, expected) => {
      expect(errorsIn(POLICY_HEAD + spec)).toEqual([expected]);
    },
  );

  it('quotes a very long value cut, with its length, so the message stays one readable line', () => {
    const name = 'a_'.repeat(50_000);
    const errors = errorsIn(
      `apiVersion: sg-reconciler/v1\nkind: IngressPolicy\nmetadata:\n  name: ${name}\nspec:\n  targets: [{groupId: sg-0123456789abcdef0}]\n  ingress: [{protocol: tcp, ports: 22, sources: [{cidr: 10.0.0.0/8}]}]\n`,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]?.[2]).toContain(`"${'a_'.repeat(50)}…" (100000 characters)`);
    expect(errors[0]?.[2].length).toBeLessThan(400);
  });

  it('a duplicate key is checked with its first value, and its errors are located there', () => {
    const text = `${POLICY_HEAD}spec:\n  targets:\n    - groupId: sg-0123456789abcdef0\n  ingress:\n    - protocol: tcp\n      ports: 22\n      sources:\n        - cidr: 10.0.0.0/8\n  ingress:\n    - protocol: tcp\n      ports: 99999\n      sources:\n        - cidr: 10.71.0.5/16\n`;
    const result = parsePolicyTexts([{ file: 'p.yaml', text }]);
    expect(result.ok ? [] : result.errors.map((e) => [e.line, e.column, e.path])).toEqual([
      [13, 3, 'spec.ingress'],
    ]);
  });

  it('a duplicate key does not hide the other errors of its document', () => {
    const text = `${POLICY_HEAD}  name: q\nspec:\n  targets:\n    - groupId: sg-0123456789abcdef0\n  ingress:\n    - protocol: tcpp\n      ports: 22\n      sources:\n        - cidr: 10.0.0.0/8\n`;
    expect(errorsIn(text).map(([line, column, message]) => [line, column, message.slice(0, 40)])).toEqual([
      [5, 3, 'duplicate key "name"; a key may appear o'],
      [10, 17, 'protocol "tcpp" is not a protocol; did y'],
    ]);
  });

  it('requires sources on every rule', () => {
    expectErrors('missing-sources', [
      10,
      7,
      'spec.ingress[0].sources',
      'missing field "sources"; add sources: with at least one source, e.g. - cidr: 203.0.113.0/24',
    ]);
  });

  it('requires at least one target', () => {
    expectErrors('empty-targets', [
      6,
      12,
      'spec.targets',
      'targets is empty; add at least one target, e.g. - groupName: web',
    ]);
  });
});

describe('targets', () => {
  it('allows exactly one selector per target', () => {
    expectErrors('target-two-selectors', [
      7,
      7,
      'spec.targets[0]',
      'a target takes exactly one of groupId, groupName or tags, but this one has groupId and groupName; write each as its own target',
    ]);
  });

  it('allows vpcId only with a tags selector', () => {
    expectErrors('target-vpc-without-tags', [
      8,
      7,
      'spec.targets[0].vpcId',
      'vpcId narrows a tags selector and is allowed only together with tags; remove it, or add tags',
    ]);
  });

  it('rejects an empty tags selector, which would match every group', () => {
    expectErrors('target-empty-tags', [
      7,
      13,
      'spec.targets[0].tags',
      'tags selector is empty and would match every group; add at least one tag, e.g. tier: web',
    ]);
  });

  it('points a group ID written as groupName to groupId', () => {
    expectErrors('target-group-id-as-name', [
      7,
      18,
      'spec.targets[0].groupName',
      'groupName "sg-903004f8" is a security group ID, not a name; write groupId: sg-903004f8',
    ]);
  });

  it('points a group name written as groupId to groupName', () => {
    expectErrors('target-group-name-as-id', [
      7,
      16,
      'spec.targets[0].groupId',
      'groupId "web" is not a security group ID; did you mean groupName: web? (a name is resolved in the region\'s default VPC)',
    ]);
  });

  it("splits Terraform's account/sg-... in a target into the ID and the account selector", () => {
    expectErrors('target-terraform-cross-account', [
      7,
      16,
      'spec.targets[0].groupId',
      'groupId "111122223333/sg-0fedcba9876543210" is Terraform\'s spelling of a security group in another account; write groupId: sg-0fedcba9876543210, and select account 111122223333 with spec.accounts: [{id: "111122223333"}]',
    ]);
  });

  it('rejects a malformed security group ID', () => {
    expectErrors('bad-group-id', [
      7,
      16,
      'spec.targets[0].groupId',
      'groupId "sg-12345" is not a security group ID; write sg- followed by 8 or 17 lower-case hex digits, e.g. sg-903004f8',
    ]);
  });

  it('asks for a VPC ID in lower case', () => {
    expectErrors('upper-case-vpc-id', [
      8,
      14,
      'spec.targets[0].vpcId',
      'vpcId "vpc-0ABC1234" is not a VPC ID; write it in lower case: vpc-0abc1234',
    ]);
  });
});

describe('protocol, ports and ICMP', () => {
  it('rejects port 70000', () => {
    expectErrors('port-out-of-range', [
      11,
      14,
      'spec.ingress[0].ports',
      'ports 70000 is out of range; write a port from 0 to 65535',
    ]);
  });

  it('rejects a "from-to" range beyond 65535', () => {
    expectErrors('port-range-out-of-range', [
      11,
      14,
      'spec.ingress[0].ports',
      'ports "8000-70000" is out of range; write ports from 0 to 65535',
    ]);
  });

  it('turns 443-80 around', () => {
    expectErrors('ports-backwards', [
      11,
      14,
      'spec.ingress[0].ports',
      'ports "443-80" runs backwards; write the lower port first: "80-443"',
    ]);
  });

  it('turns {from: 443, to: 80} around', () => {
    expectErrors('ports-object-backwards', [
      11,
      14,
      'spec.ingress[0].ports',
      'ports from 443 to 80 runs backwards; write {from: 80, to: 443}',
    ]);
  });

  it('rejects a list of ports with one clear message', () => {
    expectErrors('ports-list', [
      11,
      14,
      'spec.ingress[0].ports',
      'ports must be a port, a "from-to" string or {from, to}; write ports: 443, ports: "8000-8080" or ports: {from: 8000, to: 8080}; for several ranges write one ingress rule per range',
    ]);
  });

  it('rejects comma-separated ports', () => {
    expectErrors('ports-comma-string', [
      11,
      14,
      'spec.ingress[0].ports',
      'ports "80,443" is not a port or port range; write ports: 443, ports: "8000-8080" or ports: {from: 8000, to: 8080}; for several ranges write one ingress rule per range',
    ]);
  });

  it('requires ports for tcp', () => {
    expectErrors('tcp-without-ports', [
      10,
      7,
      'spec.ingress[0].ports',
      'protocol tcp needs ports; write ports: 443, ports: "8000-8080" or ports: {from: 8000, to: 8080}; for every port write ports: "0-65535"',
    ]);
  });

  it('rejects ports on protocol all', () => {
    expectErrors('ports-on-all', [
      11,
      7,
      'spec.ingress[0].ports',
      'ports do not apply to protocol all, which opens every port; remove ports, or write protocol: tcp or udp',
    ]);
  });

  it('rejects ports on icmp and points to icmp:', () => {
    expectErrors('ports-on-icmp', [
      11,
      7,
      'spec.ingress[0].ports',
      'ports do not apply to protocol icmp; to choose an ICMP type write icmp: {type: 8, code: -1} instead',
    ]);
  });

  it('rejects ports on a protocol number other than tcp or udp', () => {
    expectErrors('ports-on-protocol-number', [
      11,
      7,
      'spec.ingress[0].ports',
      'ports do not apply to protocol 50, whose every port EC2 opens; remove ports, or write protocol: tcp or udp',
    ]);
  });

  it('rejects icmp on tcp', () => {
    expectErrors('icmp-on-tcp', [
      12,
      7,
      'spec.ingress[0].icmp',
      'icmp applies only to protocol icmp or icmpv6, not tcp; remove it, or write protocol: icmp',
    ]);
  });

  it('rejects a code with all ICMP types', () => {
    expectErrors('icmp-all-types-with-code', [
      11,
      31,
      'spec.ingress[0].icmp.code',
      'icmp code 4 needs a specific type; with type -1 (all types) omit code or write code: -1',
    ]);
  });

  it('rejects an ICMP type above 255', () => {
    expectErrors('icmp-type-out-of-range', [
      12,
      15,
      'spec.ingress[0].icmp.type',
      'icmp type 300 is out of range; write a type from 0 to 255, or -1 for all types',
    ]);
  });

  it('rejects an unknown protocol name and suggests the closest', () => {
    expectErrors('protocol-unknown', [
      10,
      17,
      'spec.ingress[0].protocol',
      'protocol "tcpp" is not a protocol; did you mean tcp? write tcp, udp, icmp, icmpv6, all (or -1), or a protocol number from 0 to 255',
    ]);
  });

  it('rejects a protocol number above 255', () => {
    expectErrors('protocol-number-out-of-range', [
      10,
      17,
      'spec.ingress[0].protocol',
      'protocol 300 is not a protocol number; write tcp, udp, icmp, icmpv6, all (or -1), or a protocol number from 0 to 255',
    ]);
  });

  it('rejects a quoted protocol number above 255', () => {
    expectErrors('protocol-numeric-string-out-of-range', [
      10,
      17,
      'spec.ingress[0].protocol',
      'protocol "256" is not a protocol number; write a number from 0 to 255, or tcp, udp, icmp, icmpv6 or all',
    ]);
  });
});

describe('sources', () => {
  it('names the network meant when IPv4 host bits are set', () => {
    expectErrors('host-bits-ipv4', [
      13,
      17,
      'spec.ingress[0].sources[0].cidr',
      'cidr 10.0.0.5/24 has host bits set; write 10.0.0.0/24 (or 10.0.0.5/32 for the single host)',
    ]);
  });

  it('names the network meant when IPv6 host bits are set', () => {
    expectErrors('host-bits-ipv6', [
      13,
      17,
      'spec.ingress[0].sources[0].cidr',
      'cidr 2001:db8:1234:1a00::1/64 has host bits set; write 2001:db8:1234:1a00::/64 (or 2001:db8:1234:1a00::1/128 for the single host)',
    ]);
  });

  it('rejects an address that does not parse', () => {
    expectErrors('bad-ip', [
      13,
      17,
      'spec.ingress[0].sources[0].cidr',
      'cidr "10.0.0.300/24" is not an IPv4 or IPv6 network; write a network in CIDR notation, e.g. 203.0.113.0/24 or 2001:db8::/64',
    ]);
  });

  it('asks for a prefix length on a bare address', () => {
    expectErrors('cidr-without-prefix', [
      13,
      17,
      'spec.ingress[0].sources[0].cidr',
      'cidr 198.51.100.7 has no prefix length; write 198.51.100.7/32 for the single host, or the network, e.g. 203.0.113.0/24',
    ]);
  });

  it('allows exactly one kind per source', () => {
    expectErrors('source-two-kinds', [
      13,
      11,
      'spec.ingress[0].sources[0]',
      'a source takes exactly one of cidr, prefixList or securityGroup, but this one has cidr and securityGroup; write each as its own source',
    ]);
  });

  it('rejects a group name as a source and explains why', () => {
    expectErrors('group-name-as-source', [
      13,
      26,
      'spec.ingress[0].sources[0].securityGroup',
      'securityGroup "web-servers" looks like a group name; EC2 never returns names on read-back, so write the group\'s ID (sg-...) or self',
    ]);
  });

  it("splits Terraform's account/sg-... in a source into securityGroup and account, not a group name", () => {
    expectErrors('source-terraform-cross-account', [
      12,
      26,
      'spec.ingress[0].sources[0].securityGroup',
      'securityGroup "111122223333/sg-0fedcba9876543210" is Terraform\'s spelling of a security group in another account; write securityGroup: sg-0fedcba9876543210 and account: "111122223333"',
    ]);
  });

  it('names the field a source value belongs in when it is written in another', () => {
    expectErrors(
      'source-value-in-wrong-field',
      [
        12,
        26,
        'spec.ingress[0].sources[0].securityGroup',
        'securityGroup "10.0.0.0/8" is a network, not a security group; write cidr: 10.0.0.0/8',
      ],
      [
        13,
        17,
        'spec.ingress[0].sources[1].cidr',
        'cidr "sg-0fedcba9876543210" is a security group, not a network; write securityGroup: sg-0fedcba9876543210',
      ],
      [
        14,
        23,
        'spec.ingress[0].sources[2].prefixList',
        'prefixList "sg-0123456789abcdef0" is a security group, not a prefix list; write securityGroup: sg-0123456789abcdef0',
      ],
      [
        15,
        26,
        'spec.ingress[0].sources[3].securityGroup',
        'securityGroup "pl-0123456789abcdef0" is a prefix list, not a security group; write prefixList: pl-0123456789abcdef0',
      ],
    );
  });

  it('rejects a malformed prefix list ID', () => {
    expectErrors('bad-prefix-list-id', [
      13,
      23,
      'spec.ingress[0].sources[0].prefixList',
      'prefixList "pl-xyz" is not a prefix list ID; write pl- followed by 8 or 17 lower-case hex digits, e.g. pl-0123456789abcdef0',
    ]);
  });

  it('rejects a malformed peering connection ID', () => {
    expectErrors('bad-peering-id', [
      15,
      35,
      'spec.ingress[0].sources[0].vpcPeeringConnectionId',
      'vpcPeeringConnectionId "pcx-123" is not a VPC peering connection ID; write pcx- followed by 8 or 17 lower-case hex digits, e.g. pcx-1a2b3c4d',
    ]);
  });

  it('rejects an account that is not 12 digits', () => {
    expectErrors('account-not-twelve-digits', [
      14,
      20,
      'spec.ingress[0].sources[0].account',
      'account "12345" is not an AWS account ID; write its 12 digits, quoted, e.g. "123456789012"',
    ]);
  });

  it('asks for an account ID to be quoted', () => {
    expectErrors('account-unquoted', [
      14,
      20,
      'spec.ingress[0].sources[0].account',
      'account must be a quoted string of 12 digits, e.g. account: "123456789012"; unquoted, YAML reads it as a number and drops leading zeros',
    ]);
  });

  it('allows account only on security-group sources', () => {
    expectErrors('account-on-cidr', [
      14,
      11,
      'spec.ingress[0].sources[0].account',
      'account applies only to securityGroup sources; remove it, or use securityGroup: sg-...',
    ]);
  });

  it('rejects an account on a self source', () => {
    expectErrors('self-with-account', [
      14,
      11,
      'spec.ingress[0].sources[0].account',
      'account does not apply to securityGroup: self, which is the target group itself; remove account',
    ]);
  });
});

describe('descriptions', () => {
  it('rejects a description longer than 255 characters', () => {
    expectErrors('description-too-long', [
      12,
      20,
      'spec.ingress[0].description',
      'description is 269 characters long; EC2 allows at most 255',
    ]);
  });

  it('names the characters EC2 does not allow', () => {
    expectErrors('description-bad-characters', [
      14,
      24,
      'spec.ingress[0].sources[0].description',
      'description contains characters EC2 does not allow: "ü", "<", ">"; use only letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*',
    ]);
  });

  it('allows & for a network but not for a prefix list', () => {
    expectErrors('description-ampersand-prefix-list', [
      16,
      24,
      'spec.ingress[0].sources[1].description',
      'description contains "&", which EC2 does not allow for prefix-list sources; use only letters, digits, spaces and ._-:/()#,@[]+=;{}!$*',
    ]);
  });

  it('rejects & in a rule description that a security-group source inherits', () => {
    expectErrors('description-ampersand-inherited', [
      12,
      20,
      'spec.ingress[0].description',
      'description contains "&", which EC2 does not allow for security-group sources such as sources[1]; remove it, or give that source its own description',
    ]);
  });
});

describe('tags', () => {
  it('rejects a rule tag key beginning with aws:, in any case', () => {
    expectErrors('rule-tag-aws-prefix', [
      9,
      5,
      'spec.ruleTags["AWS:cost-center"]',
      'tag key "AWS:cost-center" begins with "aws:", which AWS reserves; choose a key without that prefix',
    ]);
  });

  it('rejects a target tag key beginning with aws:', () => {
    expectErrors('target-tag-aws-prefix', [
      8,
      9,
      'spec.targets[0].tags["aws:cloudformation:stack-name"]',
      'tag key "aws:cloudformation:stack-name" begins with "aws:", which AWS reserves; choose a key without that prefix',
    ]);
  });

  it('rejects the tags sg-reconciler sets itself', () => {
    expectErrors('rule-tag-reserved', [
      10,
      5,
      'spec.ruleTags.managed-by',
      'tag key "managed-by" is set by sg-reconciler on every rule it creates; remove it from ruleTags',
    ]);
  });

  it('rejects a tag key longer than 127 characters', () => {
    const key = 'k'.repeat(128);
    expectErrors('tag-key-too-long', [
      9,
      5,
      `spec.ruleTags.${key}`,
      `tag key "${key}" is 128 characters long; AWS allows at most 127`,
    ]);
  });

  it('rejects a tag value longer than 256 characters', () => {
    expectErrors('tag-value-too-long', [
      9,
      11,
      'spec.ruleTags.team',
      'tag value of "team" is 257 characters long; AWS allows at most 256',
    ]);
  });

  it('asks for a numeric tag value to be quoted', () => {
    expectErrors('tag-value-number', [
      7,
      28,
      'spec.targets[0].tags.cost-center',
      'tag value of "cost-center" in tags must be a string; quote it: cost-center: "1234"',
    ]);
  });
});

describe('hostile and malformed YAML', () => {
  it('rejects duplicate keys at the second one', () => {
    // With its field path (SPEC: every error names it), and which value was checked.
    expectErrors('duplicate-keys', [
      12,
      7,
      'spec.ingress[0].ports',
      'duplicate key "ports"; a key may appear only once in a mapping (the first, at line 11, is the one checked), so merge or remove the repeated one',
    ]);
  });

  it('stops an alias bomb with a clear error instead of expanding it', () => {
    const started = Date.now();
    expectErrors('alias-bomb', [
      1,
      1,
      '',
      'this document expands its aliases more than 100 times, which looks like an alias bomb; write the values out instead of nesting aliases',
    ]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reports an alias without an anchor where it is used', () => {
    expectErrors('unresolved-alias', [
      11,
      14,
      '',
      'alias *ssh refers to no anchor; define &ssh before it, or write the value out',
    ]);
  });

  it('rejects a document that is not a mapping', () => {
    expectErrors('not-a-mapping', [
      2,
      1,
      '',
      'a policy document must be a mapping with apiVersion, kind, metadata and spec, not a list',
    ]);
  });
});

describe('collecting errors', () => {
  it('reports every error of every file, sorted by file, line and column', () => {
    // All three fixtures are named office-ssh, so the second and third also repeat a name.
    const files = ['ports-backwards', 'host-bits-ipv4', 'wrong-indentation-misplaced-field'].map((name) => {
      const file = `${DIR}/${name}.yaml`;
      return { file, text: readFileSync(file, 'utf8') };
    });
    const result = parsePolicyTexts(files);
    expect(
      result.ok
        ? []
        : result.errors.map((error) => [error.file.slice(DIR.length + 1), error.line, error.column]),
    ).toEqual([
      ['host-bits-ipv4.yaml', 4, 9],
      ['host-bits-ipv4.yaml', 13, 17],
      ['ports-backwards.yaml', 11, 14],
      ['wrong-indentation-misplaced-field.yaml', 4, 9],
      ['wrong-indentation-misplaced-field.yaml', 6, 3],
      ['wrong-indentation-misplaced-field.yaml', 8, 1],
    ]);
  });

  it('reports several mistakes in one document, not only the first', () => {
    const text = [
      'apiVersion: sg-reconciler/v1',
      'kind: IngressPolicy',
      'metadata: { name: multi }',
      'spec:',
      '  targets: [{ groupName: web }]',
      '  ingress:',
      '    - protocol: tcp',
      '      ports: 70000',
      '      sources: [{ cidr: 10.0.0.5/24 }, { securityGroup: web-servers }]',
    ].join('\n');
    const result = parsePolicyTexts([{ file: 'multi.yaml', text }]);
    expect(result.ok ? [] : result.errors.map((error) => [error.line, error.column, error.path])).toEqual([
      [8, 14, 'spec.ingress[0].ports'],
      [9, 25, 'spec.ingress[0].sources[0].cidr'],
      [9, 57, 'spec.ingress[0].sources[1].securityGroup'],
    ]);
  });

  it('rejects a policy name used twice, at the second use, naming the first', () => {
    const files = ['a.yaml', 'b.yaml'].map((name) => {
      const file = `test/fixtures/policies/duplicate-names/${name}`;
      return { file, text: readFileSync(file, 'utf8') };
    });
    expect(parsePolicyTexts(files)).toEqual({
      ok: false,
      files: files.map((entry) => entry.file),
      errors: [
        {
          file: 'test/fixtures/policies/duplicate-names/b.yaml',
          line: 5,
          column: 9,
          path: 'metadata.name',
          message:
            'metadata.name "web-https" is already used by the policy at test/fixtures/policies/duplicate-names/a.yaml:4:9; give each policy a unique name',
        },
      ],
    });
  });
});

describe('documents written inline', () => {
  function errorsIn(spec: string): Array<[number, number, string, string]> {
    const text = `apiVersion: sg-reconciler/v1\nkind: IngressPolicy\nmetadata: { name: inline }\nspec:\n${spec}`;
    const result = parsePolicyTexts([{ file: 'inline.yaml', text }]);
    return result.ok
      ? []
      : result.errors.map((error) => [error.line, error.column, error.path, error.message]);
  }

  it('asks a target without a selector for one', () => {
    expect(
      errorsIn('  targets: [{}]\n  ingress: [{ protocol: all, sources: [{ securityGroup: self }] }]\n'),
    ).toEqual([
      [
        5,
        13,
        'spec.targets[0]',
        'a target needs one of groupId, groupName or tags; add one, e.g. groupName: web',
      ],
    ]);
  });

  it('asks a source without a kind for one', () => {
    expect(
      errorsIn(
        '  targets: [{ groupName: web }]\n  ingress: [{ protocol: all, sources: [{ description: x }] }]\n',
      ),
    ).toEqual([
      [
        6,
        40,
        'spec.ingress[0].sources[0]',
        'a source needs one of cidr, prefixList or securityGroup; add one, e.g. cidr: 203.0.113.0/24',
      ],
    ]);
  });

  it('allows at most 48 rule tags, leaving room for the 2 sg-reconciler sets', () => {
    const tags = Array.from({ length: 49 }, (_, i) => `t${i}: v`).join(', ');
    expect(
      errorsIn(
        `  targets: [{ groupName: web }]\n  ruleTags: { ${tags} }\n  ingress: [{ protocol: all, sources: [{ securityGroup: self }] }]\n`,
      ),
    ).toEqual([
      [
        6,
        13,
        'spec.ruleTags',
        'ruleTags has 49 tags; EC2 allows 50 tags per rule and sg-reconciler sets 2 of them, so write at most 48',
      ],
    ]);
  });

  it('asks for self in lower case', () => {
    expect(
      errorsIn(
        '  targets: [{ groupName: web }]\n  ingress: [{ protocol: all, sources: [{ securityGroup: Self }] }]\n',
      ),
    ).toEqual([
      [
        6,
        57,
        'spec.ingress[0].sources[0].securityGroup',
        'securityGroup "Self" is not valid; write self in lower case',
      ],
    ]);
  });

  it('requires at least one ingress rule', () => {
    expect(errorsIn('  targets: [{ groupName: web }]\n  ingress: []\n')).toEqual([
      [6, 12, 'spec.ingress', 'ingress is empty; add at least one rule'],
    ]);
  });

  it('asks for an ICMP type when icmp is given without one', () => {
    expect(
      errorsIn(
        '  targets: [{ groupName: web }]\n  ingress: [{ protocol: icmp, icmp: { code: 0 }, sources: [{ cidr: ::/0 }] }]\n',
      ),
    ).toEqual([
      [
        6,
        37,
        'spec.ingress[0].icmp.type',
        'missing field "type"; add type:, e.g. icmp: {type: 8}, or remove icmp to allow every type',
      ],
    ]);
  });
});
