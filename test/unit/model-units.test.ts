import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  accountSelectorErrors,
  matchesAccount,
  type AccountInventory,
  type InventoryAccount,
} from '../../src/model/accounts.js';
import { planUnits, roleArnFor, shardOf, unitKey } from '../../src/model/units.js';
import { policy, tcp } from '../helpers/fake-ec2.js';

const OWN = { account: '999999999999', partition: 'aws' };

function account(id: string, extra: Partial<InventoryAccount> = {}): InventoryAccount {
  return { id, name: undefined, tags: {}, ous: [], roleArn: undefined, ...extra };
}

const inventory: AccountInventory = {
  source: 'file',
  file: 'accounts.yaml',
  roleName: 'sg-reconciler',
  externalId: undefined,
  accounts: [
    account('111111111111', { name: 'prod-payments', tags: { env: 'prod' }, ous: ['ou-ab12-prod0001'] }),
    account('222222222222', {
      name: 'staging',
      tags: { env: 'staging' },
      roleArn: 'arn:aws:iam::222222222222:role/custom-name',
    }),
    account('333333333333', {
      name: 'prod-search',
      tags: { env: 'prod', team: 'search' },
      // nested: ou-ab12-team0001 is below ou-ab12-prod0001
      ous: ['ou-ab12-team0001', 'ou-ab12-prod0001'],
    }),
    account('999999999999', { name: 'hub' }),
  ],
};

const web = { targets: ['sg-1'], rules: [tcp(443, '0.0.0.0/0')] };
const unitIds = (plan: ReturnType<typeof planUnits>): string[] =>
  plan.units.map((u) => unitKey(u.account, u.region));

describe('account selectors', () => {
  const prodSearch = inventory.accounts[2] as InventoryAccount;
  it('match by id, name glob, every tag, and OU including nested OUs', () => {
    expect(matchesAccount({ kind: 'id', id: '333333333333' }, prodSearch)).toBe(true);
    expect(matchesAccount({ kind: 'name', pattern: 'prod-*' }, prodSearch)).toBe(true);
    expect(matchesAccount({ kind: 'name', pattern: 'prod-?' }, prodSearch)).toBe(false);
    expect(matchesAccount({ kind: 'tags', tags: { env: 'prod', team: 'search' } }, prodSearch)).toBe(true);
    expect(matchesAccount({ kind: 'tags', tags: { env: 'prod', team: 'web' } }, prodSearch)).toBe(false);
    expect(matchesAccount({ kind: 'ou', ou: 'ou-ab12-prod0001' }, prodSearch)).toBe(true);
    expect(matchesAccount({ kind: 'ou', ou: 'ou-ab12-team0001' }, prodSearch)).toBe(true);
    expect(matchesAccount({ kind: 'ou', ou: 'ou-ab12-other001' }, prodSearch)).toBe(false);
  });

  it('a name glob treats / as an ordinary character', () => {
    expect(matchesAccount({ kind: 'name', pattern: 'team-*' }, account('1', { name: 'team-a/b' }))).toBe(
      true,
    );
  });

  it('without an inventory, a policy that selects accounts is an error located at the selector', () => {
    const p = policy({ name: 'p', accounts: [{ kind: 'tags', tags: { env: 'prod' } }], ...web });
    const errors = accountSelectorErrors([p, policy({ name: 'q', ...web })], undefined);
    expect(errors).toEqual([
      expect.objectContaining({ file: 'policies/p.yaml', line: 3, column: 7, path: 'spec.accounts[0]' }),
    ]);
    expect(errors[0]?.message).toMatch(/--accounts FILE/);
  });

  it('with an inventory, an unknown id or a selector matching nothing is an error', () => {
    const p = policy({
      name: 'p',
      accounts: [
        { kind: 'id', id: '111111111111' },
        { kind: 'id', id: '444444444444' },
        { kind: 'name', pattern: 'dev-*' },
      ],
      ...web,
    });
    const errors = accountSelectorErrors([p], inventory);
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      [
        'spec.accounts[1]',
        'account 444444444444 is not in the inventory accounts.yaml; add it to the inventory or correct the ID',
      ],
      [
        'spec.accounts[2]',
        'name=dev-* matches no account in the inventory accounts.yaml; correct the selector or the inventory',
      ],
    ]);
  });
});

describe('planUnits', () => {
  it('a policy without spec.accounts works in the own account, with the own credentials', () => {
    const plan = planUnits({
      policies: [policy({ name: 'p', ...web })],
      inventory: undefined,
      own: OWN,
      defaultRegion: 'us-east-1',
    });
    expect(unitIds(plan)).toEqual(['999999999999/us-east-1']);
    expect(plan.accounts.get('999999999999')).toEqual({ id: '999999999999', roleArn: undefined });
  });

  it('spec.regions x selected accounts, sorted by account then region; policies merge per unit', () => {
    const prod = policy({
      name: 'prod',
      accounts: [{ kind: 'tags', tags: { env: 'prod' } }],
      regions: ['eu-west-1', 'us-east-1'],
      ...web,
    });
    const staging = policy({
      name: 'staging',
      accounts: [{ kind: 'name', pattern: 'stag*' }],
      region: 'us-east-1',
      ...web,
    });
    const local = policy({ name: 'local', ...web });
    const plan = planUnits({
      policies: [prod, staging, local],
      inventory,
      own: OWN,
      defaultRegion: 'us-east-1',
    });
    expect(unitIds(plan)).toEqual([
      '111111111111/eu-west-1',
      '111111111111/us-east-1',
      '222222222222/us-east-1',
      '333333333333/eu-west-1',
      '333333333333/us-east-1',
      '999999999999/us-east-1',
    ]);
    expect(plan.units.find((u) => u.account === '222222222222')?.policies.map((p) => p.name)).toEqual([
      'staging',
    ]);
    // The role comes from roleName unless the inventory names one; the own account is used directly.
    expect(plan.accounts.get('111111111111')?.roleArn).toBe(
      roleArnFor('aws', '111111111111', 'sg-reconciler'),
    );
    expect(plan.accounts.get('111111111111')?.roleArn).toBe('arn:aws:iam::111111111111:role/sg-reconciler');
    expect(plan.accounts.get('222222222222')?.roleArn).toBe('arn:aws:iam::222222222222:role/custom-name');
    expect(plan.accounts.get('999999999999')?.roleArn).toBeUndefined();
  });

  it('the own account selected through the inventory with a roleArn assumes that role', () => {
    const inv = {
      ...inventory,
      accounts: [account('999999999999', { roleArn: 'arn:aws:iam::999999999999:role/x' })],
    };
    const plan = planUnits({
      policies: [policy({ name: 'p', accounts: [{ kind: 'id', id: '999999999999' }], ...web })],
      inventory: inv,
      own: OWN,
      defaultRegion: 'us-east-1',
    });
    expect(plan.accounts.get('999999999999')?.roleArn).toBe('arn:aws:iam::999999999999:role/x');
  });

  it('role ARNs use the partition of the own credentials', () => {
    const plan = planUnits({
      policies: [policy({ name: 'p', accounts: [{ kind: 'id', id: '111111111111' }], ...web })],
      inventory,
      own: { account: OWN.account, partition: 'aws-cn' },
      defaultRegion: 'cn-north-1',
    });
    expect(plan.accounts.get('111111111111')?.roleArn).toBe(
      'arn:aws-cn:iam::111111111111:role/sg-reconciler',
    );
  });

  it('reports policies without any region', () => {
    const plan = planUnits({
      policies: [policy({ name: 'p', ...web })],
      inventory,
      own: OWN,
      defaultRegion: undefined,
    });
    expect(plan.noRegion).toEqual(['p']);
    expect(plan.units).toEqual([]);
  });

  it('shards: N processes cover every unit exactly once (property)', () => {
    const accountId = fc.stringMatching(/^\d{12}$/);
    const region = fc.constantFrom('us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-south-1');
    fc.assert(
      fc.property(
        fc.uniqueArray(accountId, { minLength: 1, maxLength: 30 }),
        fc.uniqueArray(region, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 7 }),
        (ids, regions, count) => {
          const inv: AccountInventory = { ...inventory, accounts: ids.map((id) => account(id)) };
          const p = policy({ name: 'p', accounts: [{ kind: 'name', pattern: '*' }], regions, ...web });
          const all = ids.map((id) => account(id, { name: `a-${id}` }));
          const named: AccountInventory = { ...inv, accounts: all };
          const whole = unitIds(
            planUnits({ policies: [p], inventory: named, own: OWN, defaultRegion: undefined }),
          );
          const shards = Array.from({ length: count }, (_, index) =>
            unitIds(
              planUnits({
                policies: [p],
                inventory: named,
                own: OWN,
                defaultRegion: undefined,
                shard: { index, count },
              }),
            ),
          );
          const union = shards.flat();
          expect(union.length).toBe(whole.length);
          expect(new Set(union)).toEqual(new Set(whole));
          expect(whole.length).toBe(ids.length * regions.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('the shard of a unit is a stable hash of account/region', () => {
    // Pinned: a change here re-shuffles the units of every sharded deployment.
    expect([0, 1, 2, 3, 4, 5].map((i) => shardOf(`11111111111${i}`, 'us-east-1', 4))).toEqual([
      0, 3, 2, 1, 2, 2,
    ]);
    expect(shardOf('111111111111', 'us-east-1', 1)).toBe(0);
  });
});
