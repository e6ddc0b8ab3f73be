// The example policies shipped in policies/ are the documentation users copy from: they must
// validate, point editors at the schema, and mean exactly what their comments say.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPolicies } from '../../src/policy/index.js';

describe('example policies', () => {
  it('all validate and normalise to the rules of the EC2 API reference examples', async () => {
    const result = await loadPolicies('policies');

    expect(result).toEqual({
      ok: true,
      warnings: [],
      files: [
        'policies/guardrails/cis-admin-ports.yaml',
        'policies/http-from-app.yaml',
        'policies/rdp-ny-office.yaml',
        'policies/ssh-la-office.yaml',
        'policies/web-tier.yaml',
      ],
      policies: [
        {
          name: 'http-from-app',
          file: 'policies/http-from-app.yaml',
          position: { file: 'policies/http-from-app.yaml', line: 9, column: 1 },
          region: undefined,
          // No region: a missing one would be written at the start of spec's mapping.
          regionPosition: { file: 'policies/http-from-app.yaml', line: 14, column: 3 },
          targets: [
            {
              selector: { kind: 'groupName', groupName: 'web' },
              position: { file: 'policies/http-from-app.yaml', line: 15, column: 7 },
            },
          ],
          ruleTags: {},
          rules: [
            {
              rule: {
                protocol: 'tcp',
                fromPort: 80,
                toPort: 80,
                source: { kind: 'securityGroup', value: 'self' },
                description: 'HTTP access from other instances',
              },
              position: { file: 'policies/http-from-app.yaml', line: 21, column: 11 },
            },
          ],
        },
        {
          name: 'rdp-ny-office',
          file: 'policies/rdp-ny-office.yaml',
          position: { file: 'policies/rdp-ny-office.yaml', line: 6, column: 1 },
          region: undefined,
          // No region: a missing one would be written at the start of spec's mapping.
          regionPosition: { file: 'policies/rdp-ny-office.yaml', line: 11, column: 3 },
          targets: [
            {
              selector: { kind: 'groupName', groupName: 'rdp-hosts' },
              position: { file: 'policies/rdp-ny-office.yaml', line: 12, column: 7 },
            },
          ],
          ruleTags: {},
          rules: [
            {
              rule: {
                protocol: 'tcp',
                fromPort: 3389,
                toPort: 3389,
                source: { kind: 'cidrIpv6', value: '2001:db8:1234:1a00::/64' },
                description: 'RDP access from the NY office',
              },
              position: { file: 'policies/rdp-ny-office.yaml', line: 18, column: 11 },
            },
          ],
        },
        {
          name: 'ssh-la-office',
          file: 'policies/ssh-la-office.yaml',
          position: { file: 'policies/ssh-la-office.yaml', line: 6, column: 1 },
          region: undefined,
          // No region: a missing one would be written at the start of spec's mapping.
          regionPosition: { file: 'policies/ssh-la-office.yaml', line: 12, column: 3 },
          targets: [
            {
              selector: { kind: 'groupName', groupName: 'bastion' },
              position: { file: 'policies/ssh-la-office.yaml', line: 13, column: 7 },
            },
          ],
          ruleTags: {},
          rules: [
            {
              rule: {
                protocol: 'tcp',
                fromPort: 22,
                toPort: 22,
                source: { kind: 'cidr', value: '203.0.113.0/24' },
                description: 'SSH access from the LA office',
              },
              position: { file: 'policies/ssh-la-office.yaml', line: 19, column: 11 },
            },
          ],
        },
        {
          name: 'web-tier',
          file: 'policies/web-tier.yaml',
          position: { file: 'policies/web-tier.yaml', line: 7, column: 1 },
          region: undefined,
          // No region: a missing one would be written at the start of spec's mapping.
          regionPosition: { file: 'policies/web-tier.yaml', line: 14, column: 3 },
          targets: [
            {
              selector: { kind: 'tags', tags: { tier: 'web' } },
              position: { file: 'policies/web-tier.yaml', line: 15, column: 7 },
            },
          ],
          ruleTags: { team: 'platform' },
          rules: [
            {
              rule: {
                protocol: 'tcp',
                fromPort: 443,
                toPort: 443,
                source: { kind: 'cidr', value: '0.0.0.0/0' },
                description: 'HTTPS from anywhere',
              },
              position: { file: 'policies/web-tier.yaml', line: 24, column: 11 },
            },
            {
              rule: {
                protocol: 'tcp',
                fromPort: 443,
                toPort: 443,
                source: { kind: 'cidrIpv6', value: '::/0' },
                description: 'HTTPS from anywhere',
              },
              position: { file: 'policies/web-tier.yaml', line: 25, column: 11 },
            },
            {
              rule: {
                protocol: 'icmp',
                fromPort: 8,
                toPort: -1,
                source: { kind: 'cidr', value: '0.0.0.0/0' },
                description: 'Ping from anywhere',
              },
              position: { file: 'policies/web-tier.yaml', line: 30, column: 11 },
            },
          ],
        },
      ],
      guardrails: [
        {
          name: 'cis-admin-ports',
          file: 'policies/guardrails/cis-admin-ports.yaml',
          position: { file: 'policies/guardrails/cis-admin-ports.yaml', line: 5, column: 1 },
          description: 'SSH and RDP are never open to the internet (CIS AWS Foundations 5.2 and 5.3)',
          deny: [
            {
              protocol: 'tcp',
              ports: [
                { from: 22, to: 22 },
                { from: 3389, to: 3389 },
              ],
              from: { kind: 'internet' },
              position: { file: 'policies/guardrails/cis-admin-ports.yaml', line: 12, column: 7 },
            },
            {
              protocol: 'udp',
              ports: [
                { from: 22, to: 22 },
                { from: 3389, to: 3389 },
              ],
              from: { kind: 'internet' },
              position: { file: 'policies/guardrails/cis-admin-ports.yaml', line: 15, column: 7 },
            },
          ],
          exceptions: [],
        },
      ],
    });
  });

  it('the CIS 5.2/5.3 guardrail points editors at the schema too', () => {
    const firstLine = readFileSync('policies/guardrails/cis-admin-ports.yaml', 'utf8').split('\n')[0];
    expect(firstLine).toBe('# yaml-language-server: $schema=../../schemas/policy.schema.json');
  });

  it('each points editors at the schema on its first line', () => {
    const files = readdirSync('policies').filter((name) => name.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const name of files) {
      const firstLine = readFileSync(`policies/${name}`, 'utf8').split('\n')[0];
      expect(firstLine, name).toBe('# yaml-language-server: $schema=../schemas/policy.schema.json');
    }
  });
});
