// Accounts as the policies and the inventory see them: the account selectors of `spec.accounts`,
// the inventory (`kind: AccountInventory` or AWS Organizations), and which accounts a selector
// picks. Pure: no AWS, no file system, no logger.
import picomatch from 'picomatch';
import type { Policy, PolicyError, SourcePosition } from './policy.js';

/** One entry of a policy's `spec.accounts` (SPEC "Accounts and regions"). */
export type AccountSelector =
  | { readonly kind: 'id'; readonly id: string }
  /** A glob on the inventory name (`prod-*`), matched with picomatch, `/` not special. */
  | { readonly kind: 'name'; readonly pattern: string }
  /** Every tag must be present with this value. */
  | { readonly kind: 'tags'; readonly tags: Readonly<Record<string, string>> }
  /** Accounts in this organisational unit or in any OU below it. */
  | { readonly kind: 'ou'; readonly ou: string };

export interface PolicyAccountSelector {
  readonly selector: AccountSelector;
  readonly position: SourcePosition;
}

/** One account of the inventory. */
export interface InventoryAccount {
  /** 12 digits. */
  readonly id: string;
  readonly name: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  /**
   * The organisational units that hold the account: its parent first, then every OU above it up to
   * (not including) the root. Empty when unknown or directly under the root.
   */
  readonly ous: readonly string[];
  /** Overrides `arn:<partition>:iam::<id>:role/<roleName>`. */
  readonly roleArn: string | undefined;
}

/** The accounts a pass may work in, from `--accounts FILE` or `--accounts organizations`. */
export interface AccountInventory {
  readonly source: 'file' | 'organizations';
  /** The file it was read from (source `file`). */
  readonly file?: string;
  /** Assumed in each account as `arn:<partition>:iam::<id>:role/<roleName>` (default `sg-reconciler`). */
  readonly roleName: string;
  /** Passed to AssumeRole when set. */
  readonly externalId: string | undefined;
  readonly accounts: readonly InventoryAccount[];
}

export const DEFAULT_ROLE_NAME = 'sg-reconciler';
export const ACCOUNT_ID_PATTERN = /^\d{12}$/;

/** `id=111111111111`, `name=prod-*`, `tags{env=prod}`, `ou=ou-ab12-34cd56ef`: for events and reports. */
export function describeAccountSelector(selector: AccountSelector): string {
  switch (selector.kind) {
    case 'id':
      return `id=${selector.id}`;
    case 'name':
      return `name=${selector.pattern}`;
    case 'tags':
      return `tags{${Object.entries(selector.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}}`;
    case 'ou':
      return `ou=${selector.ou}`;
  }
}

const globCache = new Map<string, (name: string) => boolean>();

/** Compiled once per pattern; `/` is an ordinary character in an account name. */
function globMatcher(pattern: string): (name: string) => boolean {
  let matcher = globCache.get(pattern);
  if (matcher === undefined) {
    const compiled = picomatch(pattern.replaceAll('/', '\u2215'), { dot: true, noextglob: true });
    // picomatch treats `/` as a path separator; account names are not paths.
    matcher = (name) => compiled(name.replaceAll('/', '\u2215'));
    globCache.set(pattern, matcher);
  }
  return matcher;
}

/** Does `selector` pick `account`? */
export function matchesAccount(selector: AccountSelector, account: InventoryAccount): boolean {
  switch (selector.kind) {
    case 'id':
      return account.id === selector.id;
    case 'name':
      return account.name !== undefined && globMatcher(selector.pattern)(account.name);
    case 'tags':
      return Object.entries(selector.tags).every(([key, value]) => account.tags[key] === value);
    case 'ou':
      return account.ous.includes(selector.ou);
  }
}

/** The inventory accounts any of `selectors` picks, in inventory order, each once. */
export function selectAccounts(
  selectors: readonly AccountSelector[],
  inventory: AccountInventory,
): InventoryAccount[] {
  return inventory.accounts.filter((account) => selectors.some((s) => matchesAccount(s, account)));
}

/** Does a policy name accounts (and so need an inventory)? */
export function selectsAccounts(policy: Policy): boolean {
  return policy.accounts !== undefined && policy.accounts.length > 0;
}

/**
 * The account selectors that cannot be used with this inventory, as located errors:
 * - without an inventory, every policy with `spec.accounts` (a configuration error, exit 3);
 * - with one, every selector that picks no account of it (an `id` the inventory lacks, a name glob,
 *   tag set or OU that matches nothing), so a typo fails CI instead of silently reconciling nothing.
 */
export function accountSelectorErrors(
  policies: readonly Policy[],
  inventory: AccountInventory | undefined,
): PolicyError[] {
  const errors: PolicyError[] = [];
  for (const policy of policies) {
    if (!selectsAccounts(policy)) continue;
    (policy.accounts ?? []).forEach(({ selector, position }, index) => {
      const path = `spec.accounts[${index}]`;
      if (inventory === undefined) {
        errors.push({
          ...position,
          path,
          message:
            'this policy selects accounts, but no account inventory was given; pass --accounts FILE ' +
            '(a kind: AccountInventory document) or --accounts organizations, or remove spec.accounts ' +
            "to work in the credentials' own account",
        });
        return;
      }
      if (inventory.accounts.some((account) => matchesAccount(selector, account))) return;
      const where =
        inventory.source === 'file' ? `the inventory ${inventory.file ?? ''}`.trimEnd() : 'the organization';
      errors.push({
        ...position,
        path,
        message:
          selector.kind === 'id'
            ? `account ${selector.id} is not in ${where}; add it to the inventory or correct the ID`
            : `${describeAccountSelector(selector)} matches no account in ${where}; correct the selector or the inventory`,
      });
    });
  }
  return errors;
}

/** Which account fields a policy set selects by, so a discovery reads only those. */
export function selectorNeeds(policies: readonly Policy[]): { tags: boolean; ous: boolean } {
  const kinds = new Set(policies.flatMap((p) => (p.accounts ?? []).map((a) => a.selector.kind)));
  return { tags: kinds.has('tags'), ous: kinds.has('ou') };
}
