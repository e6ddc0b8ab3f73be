import { describe, expect, it } from 'vitest';
import { Ec2Error } from '../../src/aws/port.js';
import { readRegion } from '../../src/reconcile/read.js';
import { planRegion } from '../../src/reconcile/plan.js';
import { fakeWorld, policy, tcp, type FakeEc2 } from '../helpers/fake-ec2.js';

const REGION = 'us-east-1';

function filtersOf(world: FakeEc2): unknown[] {
  return world.callsOf('DescribeSecurityGroups').map((c) => (c.input as { filters: unknown }).filters);
}

const throttled = new Ec2Error(
  'RequestLimitExceeded',
  'Request limit exceeded.',
  'DescribeSecurityGroups',
  503,
);

describe('readRegion: the fewest calls', () => {
  it('reads ids in one call, names in one call in the default VPC, one call per distinct tag selector', async () => {
    const world = fakeWorld()
      .vpc('vpc-def', { default: true })
      .vpc('vpc-2')
      .group({ id: 'sg-1', vpcId: 'vpc-2' })
      .group({ id: 'sg-2', vpcId: 'vpc-2' })
      .group({ id: 'sg-3', name: 'web', vpcId: 'vpc-def' })
      .group({ id: 'sg-4', name: 'db', vpcId: 'vpc-def' })
      .group({ id: 'sg-5', vpcId: 'vpc-2', tags: { tier: 'app', env: 'prod' } })
      .group({ id: 'sg-6', vpcId: 'vpc-def', tags: { tier: 'app', env: 'prod' } })
      .group({ id: 'sg-7', vpcId: 'vpc-2', tags: { tier: 'cache' } });
    const policies = [
      policy({
        name: 'a',
        targets: ['sg-1', { name: 'web' }, { tags: { tier: 'app', env: 'prod' }, vpcId: 'vpc-2' }],
        rules: [tcp(22, '10.0.0.0/8')],
      }),
      policy({
        name: 'b',
        targets: [
          'sg-2',
          'sg-1',
          { name: 'db' },
          { tags: { env: 'prod', tier: 'app' }, vpcId: 'vpc-2' },
          { tags: { tier: 'cache' } },
        ],
        rules: [tcp(6379, '10.0.0.0/8')],
      }),
    ];

    const read = await readRegion({ region: REGION, policies, port: world.port() });

    expect(world.count('DescribeSecurityGroups')).toBe(4);
    expect(world.count('DescribeVpcs')).toBe(1);
    expect(filtersOf(world)).toEqual(
      expect.arrayContaining([
        [{ name: 'group-id', values: ['sg-1', 'sg-2'] }],
        [
          { name: 'group-name', values: ['db', 'web'] },
          { name: 'vpc-id', values: ['vpc-def'] },
        ],
        [
          { name: 'tag:env', values: ['prod'] },
          { name: 'tag:tier', values: ['app'] },
          { name: 'vpc-id', values: ['vpc-2'] },
        ],
        [{ name: 'tag:tier', values: ['cache'] }],
      ]),
    );
    expect(Object.fromEntries([...read.groups].map(([id, g]) => [id, [...g.policies].sort()]))).toEqual({
      'sg-1': ['a', 'b'],
      'sg-2': ['b'],
      'sg-3': ['a'],
      'sg-4': ['b'],
      'sg-5': ['a', 'b'],
      'sg-7': ['b'],
    });
    expect(read.unresolved).toEqual([]);
    expect(read.readFailures).toEqual([]);
    expect(world.count('DescribeManagedPrefixLists')).toBe(0);
  });

  it('chunks group IDs at 200 filter values, the most EC2 accepts', async () => {
    const world = fakeWorld();
    const ids = Array.from({ length: 450 }, (_, i) => `sg-${String(i).padStart(4, '0')}`);
    for (const id of ids) world.group({ id });
    const p = policy({ name: 'big', targets: ids, rules: [tcp(22, '10.0.0.0/8')] });

    const read = await readRegion({ region: REGION, policies: [p], port: world.port() });

    expect(
      world
        .callsOf('DescribeSecurityGroups')
        .map((c) => (c.input as { filters: { values: string[] }[] }).filters[0]?.values.length),
    ).toEqual([200, 200, 50]);
    expect(read.groups.size).toBe(450);
    expect(read.readFailures).toEqual([]);
  });

  it('above the threshold, reads every group once and matches targets on our side with the same result', async () => {
    const build = (): FakeEc2 => {
      const world = fakeWorld().vpc('vpc-def', { default: true }).vpc('vpc-2');
      for (let i = 0; i < 8; i++) {
        world.group({
          id: `sg-t${i}`,
          vpcId: i % 2 === 0 ? 'vpc-2' : 'vpc-def',
          tags: { svc: `s${i % 4}`, env: 'prod' },
        });
      }
      return world
        .group({ id: 'sg-n', name: 'web', vpcId: 'vpc-def' })
        .group({ id: 'sg-n2', name: 'web', vpcId: 'vpc-2' });
    };
    const policies = [
      policy({
        name: 'many',
        targets: [
          ...[0, 1, 2, 3].map((i) => ({ tags: { svc: `s${i}` } })),
          { tags: { env: 'prod' }, vpcId: 'vpc-2' },
          { name: 'web' },
          'sg-t1',
          'sg-missing',
        ],
        rules: [tcp(22, '10.0.0.0/8')],
      }),
    ];

    const scanWorld = build();
    const scan = await readRegion({ region: REGION, policies, port: scanWorld.port() });
    const targetedWorld = build();
    const targeted = await readRegion({
      region: REGION,
      policies,
      port: targetedWorld.port(),
      fullScanThreshold: 100,
    });

    expect(scanWorld.count('DescribeSecurityGroups')).toBe(1);
    expect(filtersOf(scanWorld)).toEqual([[]]);
    expect(targetedWorld.count('DescribeSecurityGroups')).toBe(7);
    expect([...scan.groups.keys()]).toEqual([...targeted.groups.keys()]);
    expect([...scan.groups.keys()]).not.toContain('sg-n2');
    expect(scan.unresolved).toEqual(targeted.unresolved);
    expect(scan.unresolved).toEqual([{ region: REGION, policy: 'many', target: 'groupId=sg-missing' }]);
  });

  it('follows every page of a paged answer', async () => {
    const world = fakeWorld();
    world.pageSize = 2;
    for (let i = 0; i < 5; i++) world.group({ id: `sg-${i}`, tags: { tier: 'web' } });
    const p = policy({ name: 'web', targets: [{ tags: { tier: 'web' } }], rules: [tcp(443, '0.0.0.0/0')] });

    const read = await readRegion({ region: REGION, policies: [p], port: world.port() });

    expect(world.count('DescribeSecurityGroups')).toBe(3);
    expect(read.groups.size).toBe(5);
  });

  it('runs a region reads concurrently, within the bound', async () => {
    const world = fakeWorld();
    world.latencyMs = 20;
    for (let i = 0; i < 6; i++) world.group({ id: `sg-${i}`, tags: { svc: `s${i}` } });
    const p = policy({
      name: 'p',
      targets: Array.from({ length: 6 }, (_, i) => ({ tags: { svc: `s${i}` } })),
      rules: [tcp(443, '0.0.0.0/0')],
    });

    await readRegion({
      region: REGION,
      policies: [p],
      port: world.port(),
      concurrency: 2,
      fullScanThreshold: 10,
    });

    expect(world.count('DescribeSecurityGroups')).toBe(6);
    expect(world.maxInFlight('DescribeSecurityGroups')).toBe(2);
  });
});

describe('readRegion: what matches', () => {
  it('resolves names in the default VPC only, as EC2 does', async () => {
    const world = fakeWorld()
      .vpc('vpc-def', { default: true })
      .vpc('vpc-2')
      .group({ id: 'sg-default-web', name: 'web', vpcId: 'vpc-def' })
      .group({ id: 'sg-other-web', name: 'web', vpcId: 'vpc-2' });
    const p = policy({ name: 'p', targets: [{ name: 'web' }], rules: [tcp(80, '0.0.0.0/0')] });

    const read = await readRegion({ region: REGION, policies: [p], port: world.port() });

    expect([...read.groups.keys()]).toEqual(['sg-default-web']);
  });

  it('a region without a default VPC resolves no name, and says why', async () => {
    const world = fakeWorld().vpc('vpc-2').group({ id: 'sg-1', name: 'web', vpcId: 'vpc-2' });
    const p = policy({ name: 'p', targets: [{ name: 'web' }], rules: [tcp(80, '0.0.0.0/0')] });

    const read = await readRegion({ region: REGION, policies: [p], port: world.port() });

    expect(read.groups.size).toBe(0);
    expect(world.count('DescribeSecurityGroups')).toBe(0);
    expect(read.unresolved).toEqual([
      {
        region: REGION,
        policy: 'p',
        target: 'groupName=web',
        reason: 'the region has no default VPC to resolve group names in',
      },
    ]);
    expect(read.readFailures).toEqual([]);
  });

  it('matches tag values exactly, though EC2 filter values are wildcards', async () => {
    const world = fakeWorld()
      .group({ id: 'sg-star', tags: { tier: 'web*' } })
      .group({ id: 'sg-webserver', tags: { tier: 'webserver' } });
    const p = policy({ name: 'p', targets: [{ tags: { tier: 'web*' } }], rules: [tcp(80, '0.0.0.0/0')] });

    const read = await readRegion({ region: REGION, policies: [p], port: world.port() });

    expect([...read.groups.keys()]).toEqual(['sg-star']);
  });

  it('sends group names, tag values and VPC IDs escaped, so EC2 matches *, ? and \\ literally', async () => {
    const world = fakeWorld()
      .vpc('vpc-def', { default: true })
      .group({ id: 'sg-star', name: 'web*', vpcId: 'vpc-def' })
      .group({ id: 'sg-webserver', name: 'webserver', vpcId: 'vpc-def' })
      .group({ id: 'sg-q', vpcId: 'vpc-def', tags: { 'cost?': 'a?b\\c' } })
      .group({ id: 'sg-qx', vpcId: 'vpc-def', tags: { 'cost?': 'aXb\\c' } });
    const p = policy({
      name: 'p',
      targets: [{ name: 'web*' }, { tags: { 'cost?': 'a?b\\c' } }],
      rules: [tcp(80, '0.0.0.0/0')],
    });

    const read = await readRegion({ region: REGION, policies: [p], port: world.port() });

    expect(filtersOf(world)).toEqual(
      expect.arrayContaining([
        [
          { name: 'group-name', values: ['web\\*'] },
          { name: 'vpc-id', values: ['vpc-def'] },
        ],
        [{ name: 'tag:cost?', values: ['a\\?b\\\\c'] }],
      ]),
    );
    expect([...read.groups.keys()]).toEqual(['sg-q', 'sg-star']);
  });

  it('reports a target that matches no group, once per policy and target', async () => {
    const world = fakeWorld().vpc('vpc-def', { default: true }).group({ id: 'sg-1' });
    const p = policy({
      name: 'p',
      targets: ['sg-1', 'sg-gone', { name: 'nope' }, { tags: { team: 'x' } }],
      rules: [tcp(80, '0.0.0.0/0')],
    });

    const read = await readRegion({ region: REGION, policies: [p], port: world.port() });

    expect([...read.groups.keys()]).toEqual(['sg-1']);
    expect(read.unresolved.map((u) => u.target)).toEqual([
      'groupId=sg-gone',
      'groupName=nope',
      'tags{team=x}',
    ]);
    expect(read.readFailures).toEqual([]);
  });
});

describe('readRegion: a failed read is never "no groups"', () => {
  it('records the failure with every policy and target that depended on it; other reads still count', async () => {
    const world = fakeWorld()
      .group({ id: 'sg-1' })
      .group({ id: 'sg-web', tags: { tier: 'web' } })
      .fail('DescribeSecurityGroups', throttled, {
        when: (input) => JSON.stringify(input).includes('tag:tier'),
      });
    const policies = [
      policy({ name: 'ids', targets: ['sg-1'], rules: [tcp(22, '10.0.0.0/8')] }),
      policy({ name: 'web-a', targets: [{ tags: { tier: 'web' } }], rules: [tcp(443, '0.0.0.0/0')] }),
      policy({ name: 'web-b', targets: [{ tags: { tier: 'web' } }, 'sg-1'], rules: [tcp(80, '0.0.0.0/0')] }),
    ];

    const read = await readRegion({ region: REGION, policies, port: world.port() });

    expect(read.readFailures).toEqual([
      {
        region: REGION,
        action: 'DescribeSecurityGroups',
        errorCode: 'RequestLimitExceeded',
        error: 'Request limit exceeded.',
        policies: ['web-a', 'web-b'],
        targets: ['tags{tier=web}'],
      },
    ]);
    expect([...read.groups.keys()]).toEqual(['sg-1']);
    expect(read.unresolved).toEqual([]);
    expect(read.readsSucceeded).toBe(1);
  });

  it('a failure on a later page fails the whole read, not a partial answer', async () => {
    const world = fakeWorld();
    world.pageSize = 2;
    for (let i = 0; i < 5; i++) world.group({ id: `sg-${i}`, tags: { tier: 'web' } });
    world.fail(
      'DescribeSecurityGroups',
      new Ec2Error('InternalError', 'An internal error has occurred', 'DescribeSecurityGroups', 500),
      { call: 2 },
    );
    const p = policy({ name: 'web', targets: [{ tags: { tier: 'web' } }], rules: [tcp(443, '0.0.0.0/0')] });

    const read = await readRegion({ region: REGION, policies: [p], port: world.port() });

    expect(read.groups.size).toBe(0);
    expect(read.unresolved).toEqual([]);
    expect(read.readFailures.map((f) => f.errorCode)).toEqual(['InternalError']);
    expect(read.readsSucceeded).toBe(0);
  });

  it('a group covered only by a failed read is not planned, so nothing is authorized for it', async () => {
    const world = fakeWorld()
      .group({ id: 'sg-ok' })
      .group({ id: 'sg-web', tags: { tier: 'web' } })
      .fail('DescribeSecurityGroups', throttled, {
        when: (input) => JSON.stringify(input).includes('tag:tier'),
      });
    const policies = [
      policy({ name: 'p', targets: ['sg-ok', { tags: { tier: 'web' } }], rules: [tcp(443, '0.0.0.0/0')] }),
    ];

    const read = await readRegion({ region: REGION, policies, port: world.port() });
    const groups = planRegion({
      account: '111111111111',
      region: REGION,
      policies,
      read,
      maxRulesPerGroup: 60,
    });

    expect(groups.map((g) => g.group.groupId)).toEqual(['sg-ok']);
  });

  it('a failed default-VPC lookup fails the name targets only', async () => {
    const world = fakeWorld()
      .vpc('vpc-def', { default: true })
      .group({ id: 'sg-1' })
      .group({ id: 'sg-web', name: 'web', vpcId: 'vpc-def' })
      .fail(
        'DescribeVpcs',
        new Ec2Error(
          'UnauthorizedOperation',
          'You are not authorized to perform this operation.',
          'DescribeVpcs',
          403,
        ),
      );
    const p = policy({ name: 'p', targets: ['sg-1', { name: 'web' }], rules: [tcp(443, '0.0.0.0/0')] });

    const read = await readRegion({ region: REGION, policies: [p], port: world.port() });

    expect([...read.groups.keys()]).toEqual(['sg-1']);
    expect(read.readFailures).toEqual([
      expect.objectContaining({
        action: 'DescribeVpcs',
        errorCode: 'UnauthorizedOperation',
        targets: ['groupName=web'],
      }),
    ]);
  });

  it('in a full scan, a failed scan is one failure for every target', async () => {
    const world = fakeWorld().fail('DescribeSecurityGroups', throttled);
    const p = policy({
      name: 'p',
      targets: Array.from({ length: 5 }, (_, i) => ({ tags: { svc: `s${i}` } })),
      rules: [tcp(443, '0.0.0.0/0')],
    });

    const read = await readRegion({ region: REGION, policies: [p], port: world.port() });

    expect(read.readFailures).toHaveLength(1);
    expect(read.readFailures[0]?.targets).toHaveLength(5);
    expect(read.groups.size).toBe(0);
  });
});

describe('readRegion: prefix lists', () => {
  it('sizes every prefix list of desired and live rules in one call', async () => {
    const world = fakeWorld()
      .prefixList('pl-desired', 20, 'IPv4')
      .prefixList('pl-live', 5, 'IPv6')
      .group({ id: 'sg-1' })
      .rule('sg-1', tcp(443, 'pl-live'));
    const p = policy({
      name: 'p',
      targets: ['sg-1'],
      rules: [tcp(443, 'pl-desired'), tcp(80, 'pl-unknown')],
    });

    const read = await readRegion({ region: REGION, policies: [p], port: world.port() });

    expect(world.callsOf('DescribeManagedPrefixLists').map((c) => c.input)).toEqual([
      { ids: ['pl-desired', 'pl-live', 'pl-unknown'] },
    ]);
    expect(read.prefixLists).toEqual(
      new Map([
        ['pl-desired', { maxEntries: 20, addressFamily: 'IPv4' }],
        ['pl-live', { maxEntries: 5, addressFamily: 'IPv6' }],
      ]),
    );
    expect(read.prefixListFailure).toBeUndefined();
  });

  it('a failed prefix-list read skips no group: it is reported and the lists count as unknown', async () => {
    const world = fakeWorld()
      .prefixList('pl-1', 20, 'IPv4')
      .group({ id: 'sg-1' })
      .fail('DescribeManagedPrefixLists', throttled);
    const p = policy({ name: 'p', targets: ['sg-1'], rules: [tcp(443, 'pl-1')] });

    const read = await readRegion({ region: REGION, policies: [p], port: world.port() });
    const [planned] = planRegion({
      account: '111111111111',
      region: REGION,
      policies: [p],
      read,
      maxRulesPerGroup: 60,
    });

    expect(read.prefixListFailure).toEqual({
      region: REGION,
      errorCode: 'RequestLimitExceeded',
      error: 'Request limit exceeded.',
      prefixListIds: ['pl-1'],
    });
    expect(read.readFailures).toEqual([]);
    expect(planned?.missing).toHaveLength(1);
    expect(planned?.quota.unknownPrefixLists).toEqual(['pl-1']);
  });
});
