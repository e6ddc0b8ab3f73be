// Reaching many accounts: the tool's own account (STS GetCallerIdentity), credentials per account by
// STS AssumeRole (one AssumeRole per account per credential lifetime, refreshed before expiry), and
// the inventory discovered from AWS Organizations. With ec2-port.ts, the only code that imports the
// AWS SDK; errors leave as Ec2Error (code + a message safe to log), never with a credential.
import {
  OrganizationsClient,
  paginateListAccounts,
  paginateListChildren,
  paginateListRoots,
  paginateListTagsForResource,
  type Account,
} from '@aws-sdk/client-organizations';
import {
  GetCallerIdentityCommand,
  getDefaultRoleAssumer,
  getDefaultRoleAssumerWithWebIdentity,
  STSClient,
} from '@aws-sdk/client-sts';
import { fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import pTimeout, { TimeoutError } from 'p-timeout';
import type { Logger } from '../logging.js';
import { DEFAULT_ROLE_NAME, type AccountInventory, type InventoryAccount } from '../model/accounts.js';
import type { AccountRef, OwnAccount } from '../model/units.js';
import { mapBounded } from '../reconcile/support.js';
import {
  adviseFailures,
  advicePlugin,
  createInFlight,
  failedCallOf,
  noteCallSite,
  sdkLogger,
  type InFlight,
} from './advice.js';
import { toEc2Error } from './ec2-port.js';
import type { AccountGateway } from './port.js';

/** Credentials as the SDK's clients take them (a structural copy of AwsCredentialIdentity). */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}
export type CredentialProvider = () => Promise<Credentials>;

/** The session name of every AssumeRole (visible in CloudTrail of the spoke accounts). */
export const ROLE_SESSION_NAME = 'sg-reconciler';
/** Credentials are replaced this long before they expire, as the SDK's own clients do. */
export const REFRESH_BEFORE_EXPIRY_MS = 5 * 60_000;
/** One STS call (GetCallerIdentity, AssumeRole) with its retries. */
const STS_TIMEOUT_MS = 30_000;
const STS_MAX_ATTEMPTS = 3;
const REQUEST_TIMEOUT_MS = 10_000;
const CONNECTION_TIMEOUT_MS = 5_000;
/** ListTagsForResource calls in flight at once (Organizations allows a few requests per second). */
const TAG_READS_IN_FLIGHT = 4;

export interface AccountAccessOptions {
  /** Endpoint of STS and Organizations (with EC2's, the --endpoint override). */
  readonly endpoint?: string | undefined;
  /** Region of the STS client (regional endpoint); default us-east-1. */
  readonly region?: string | undefined;
  /** Passed to AssumeRole when the account's AccountRef carries none. */
  readonly externalId?: string | undefined;
  /** Explicit base credentials (tests); else the SDK's default provider chain. */
  readonly credentials?: Credentials | CredentialProvider | undefined;
  readonly logger?: Logger | undefined;
  /** Milliseconds clock (tests). */
  readonly now?: () => number;
  /** The STS deadline of one call, retries included (tests); default 30 000 ms. */
  readonly stsTimeoutMs?: number | undefined;
  /** Replaces fromTemporaryCredentials (tests count AssumeRole calls with it). */
  readonly assumeRole?: (roleArn: string, externalId: string | undefined) => CredentialProvider;
}

/** The account gateway over STS, plus what the EC2 port factory needs: credentials per account. */
export interface AccountAccess extends AccountGateway {
  /**
   * The credentials to use in `account`: undefined = the default chain (an account reached with
   * the own credentials); else the provider shared by every client of that account. Throws for an
   * account never passed to reach(), so nothing is ever sent to it with the hub's own credentials.
   */
  credentialsFor(account: string): CredentialProvider | undefined;
  /** Closes the STS client's connections. */
  destroy(): void;
}

/** The STS and Organizations clients' HTTP handler; its warnings (socket usage) are events too. */
function httpHandler(logger: Logger | undefined): NodeHttpHandler {
  return new NodeHttpHandler({
    logger: sdkLogger(logger),
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    throwOnRequestTimeout: true,
  });
}

/**
 * The SDK's default credential chain whose own STS calls go to `endpoint` too: the AssumeRole of a
 * shared-config profile with `role_arn` (and `source_profile` or `credential_source`), and the
 * AssumeRoleWithWebIdentity of a web identity token. Without this the chain's STS client takes the
 * SDK's endpoint (AWS) whatever the tool's clients are given. One chain for every client (one
 * AssumeRole per credential lifetime), its STS client advised like ours. The SSO portal is not
 * redirected: --endpoint is for EC2, STS and Organizations.
 */
export function endpointCredentials(options: {
  readonly endpoint: string;
  /** The STS client's region; else the SDK's (AWS_REGION, the profile's region, us-east-1). */
  readonly region?: string | undefined;
  readonly logger?: Logger | undefined;
}): CredentialProvider {
  // The role assumers pass their options on to the STSClient they create (endpoint included).
  const sts = {
    endpoint: options.endpoint,
    ...(options.region !== undefined ? { region: options.region } : {}),
    logger: sdkLogger(options.logger),
    requestHandler: httpHandler(options.logger),
  } as Parameters<typeof getDefaultRoleAssumer>[0];
  const plugins = [advicePlugin('STS')];
  return fromNodeProviderChain({
    logger: sdkLogger(options.logger),
    roleAssumer: getDefaultRoleAssumer(sts, plugins),
    roleAssumerWithWebIdentity: getDefaultRoleAssumerWithWebIdentity(sts, plugins),
  }) as CredentialProvider;
}

/**
 * A provider that keeps what `provider` returned until REFRESH_BEFORE_EXPIRY_MS before its
 * expiration, so every client of an account shares one AssumeRole per credential lifetime. Calls
 * while one is in flight share it; a failure is not kept (the next pass tries again).
 */
export function memoizeCredentials(
  provider: CredentialProvider,
  now: () => number = Date.now,
): CredentialProvider {
  let current: Promise<Credentials> | undefined;
  let expiresAt: number | undefined;
  return () => {
    if (current !== undefined && (expiresAt === undefined || expiresAt - REFRESH_BEFORE_EXPIRY_MS > now())) {
      return current;
    }
    expiresAt = undefined;
    const attempt = provider().then((credentials) => {
      expiresAt = credentials.expiration?.getTime();
      return credentials;
    });
    current = attempt;
    attempt.catch(() => {
      if (current === attempt) current = undefined;
    });
    return attempt;
  };
}

/**
 * `promise` under the STS deadline (`ms`) and the pass's `signal` (p-timeout): rejects with an
 * Ec2Error for `action`, code `TimeoutError` when no answer came within `ms` (naming the host:port
 * of the request `inFlight` says is on the wire), else what the signal's reason or the call's own
 * error maps to (toEc2Error). The call itself is not cancelled.
 */
function withDeadline<T>(
  promise: Promise<T>,
  ms: number,
  action: string,
  signal: AbortSignal | undefined,
  inFlight: InFlight | undefined,
): Promise<T> {
  return pTimeout(promise, {
    milliseconds: ms,
    message: `no answer within ${ms} ms`,
    ...(signal !== undefined ? { signal } : {}),
  }).catch((error: unknown) => {
    if (error instanceof TimeoutError && failedCallOf(error) === undefined) {
      const site = inFlight?.latest();
      if (site !== undefined) noteCallSite(error, site);
    }
    throw toEc2Error(error, action);
  });
}

/** The account and partition of the STS client's credentials (GetCallerIdentity), under the STS deadline. */
function callerIdentity(
  sts: STSClient,
  signal: AbortSignal | undefined,
  deadlineMs: number,
  inFlight: InFlight,
): Promise<OwnAccount> {
  return withDeadline(
    sts.send(new GetCallerIdentityCommand({})).then((output) => {
      const account = output.Account ?? '';
      if (!/^\d{12}$/.test(account)) throw new Error('GetCallerIdentity returned no account ID');
      return { account, partition: output.Arn?.split(':')[1] || 'aws' };
    }),
    deadlineMs,
    'GetCallerIdentity',
    signal,
    inFlight,
  );
}

/** The provider of one role's credentials, and the AssumeRole requests its STS client has out. */
interface RoleProvider {
  readonly provider: CredentialProvider;
  readonly inFlight: InFlight | undefined;
}

/** AssumeRole of `roleArn` with fromTemporaryCredentials, its STS client advised like ours. */
function roleProvider(
  roleArn: string,
  externalId: string | undefined,
  masterCredentials: Credentials | CredentialProvider | undefined,
  clientConfig: NonNullable<Parameters<typeof fromTemporaryCredentials>[0]['clientConfig']>,
): RoleProvider {
  const inFlight = createInFlight();
  const provider = fromTemporaryCredentials({
    params: {
      RoleArn: roleArn,
      RoleSessionName: ROLE_SESSION_NAME,
      ...(externalId !== undefined ? { ExternalId: externalId } : {}),
    },
    ...(masterCredentials !== undefined ? { masterCredentials } : {}),
    clientConfig,
    clientPlugins: [advicePlugin('STS', inFlight)],
  }) as CredentialProvider;
  return { provider, inFlight };
}

/** Access to many accounts from the default credential chain (or `options.credentials`). */
export function createAccountAccess(options: AccountAccessOptions = {}): AccountAccess {
  const now = options.now ?? Date.now;
  const region = options.region ?? 'us-east-1';
  const clientConfig = {
    region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    maxAttempts: STS_MAX_ATTEMPTS,
    requestHandler: httpHandler(options.logger),
    logger: sdkLogger(options.logger),
  };
  const deadlineMs = options.stsTimeoutMs ?? STS_TIMEOUT_MS;
  const sts = new STSClient(clientConfig);
  const stsInFlight = createInFlight();
  adviseFailures(sts, 'STS', stsInFlight);
  const assume = (roleArn: string, externalId: string | undefined): RoleProvider =>
    options.assumeRole !== undefined
      ? { provider: options.assumeRole(roleArn, externalId), inFlight: undefined }
      : roleProvider(roleArn, externalId, options.credentials, clientConfig);
  /** One memoized provider per account; the role ARN it was built for. */
  const providers = new Map<string, RoleProvider & { roleArn: string }>();
  /** Accounts reached with the own credentials. */
  const direct = new Set<string>();
  let identity: Promise<OwnAccount> | undefined;

  return {
    ownAccount(signal?: AbortSignal): Promise<OwnAccount> {
      identity ??= callerIdentity(sts, signal, deadlineMs, stsInFlight);
      const pending = identity;
      // Not kept when it failed: the next pass asks again.
      pending.catch(() => {
        if (identity === pending) identity = undefined;
      });
      return pending;
    },

    async reach(account: AccountRef, signal?: AbortSignal): Promise<void> {
      if (account.roleArn === undefined) {
        providers.delete(account.id);
        direct.add(account.id);
        return;
      }
      direct.delete(account.id);
      let entry = providers.get(account.id);
      if (entry === undefined || entry.roleArn !== account.roleArn) {
        const externalId = account.externalId ?? options.externalId;
        const { provider, inFlight } = assume(account.roleArn, externalId);
        entry = { roleArn: account.roleArn, provider: memoizeCredentials(provider, now), inFlight };
        providers.set(account.id, entry);
      }
      const started = now();
      try {
        await withDeadline(entry.provider(), deadlineMs, 'AssumeRole', signal, entry.inFlight);
        options.logger?.debug({ account: account.id, durationMs: now() - started }, 'account reached');
      } catch (error) {
        const mapped = toEc2Error(error, 'AssumeRole');
        options.logger?.debug({ account: account.id, errorCode: mapped.code }, 'account not reached');
        throw mapped;
      }
    },

    credentialsFor(account: string): CredentialProvider | undefined {
      if (direct.has(account)) return undefined;
      const entry = providers.get(account);
      if (entry === undefined) throw new Error(`account ${account} was used before it was reached`);
      return entry.provider;
    },

    destroy(): void {
      sts.destroy();
    },
  };
}

export interface OrganizationsOptions {
  readonly endpoint?: string | undefined;
  /** Receives the SDK's warnings as aws.warning events. */
  readonly logger?: Logger | undefined;
  readonly credentials?: Credentials | CredentialProvider | undefined;
  /** The role assumed in each discovered account (`--role-name`). */
  readonly roleName?: string | undefined;
  readonly externalId?: string | undefined;
  /** Read account tags (one ListTagsForResource per account); skip when no policy selects by tag. */
  readonly tags?: boolean;
  /** Read the OU tree (ListRoots, then ListChildren per OU); skip when no policy selects by OU. */
  readonly ous?: boolean;
  readonly signal?: AbortSignal;
}

/** The client the discovery pages through (the SDK's paginators require an OrganizationsClient). */
export type OrganizationsSender = OrganizationsClient;

function isActive(account: Account): boolean {
  // `State` replaces `Status` (retired September 2026); either says ACTIVE.
  return (account.State ?? account.Status) === 'ACTIVE';
}

/**
 * The organisation's ACTIVE accounts (ListAccounts), their tags (ListTagsForResource) and the OUs
 * above each (ListRoots, then ListChildren from each root down: one pair of calls per OU instead of
 * one ListParents per account and OU). Every list is paged with the SDK's paginators. Run from the
 * management account or a delegated administrator. Rejects with Ec2Error (action named).
 */
export async function discoverOrganization(
  client: OrganizationsSender,
  options: OrganizationsOptions = {},
): Promise<AccountInventory> {
  const config = { client, pageSize: 20 };
  const extra = options.signal !== undefined ? [{ abortSignal: options.signal }] : [];
  let action = 'ListAccounts';
  try {
    const listed: Account[] = [];
    for await (const page of paginateListAccounts(config, {}, ...extra)) {
      for (const account of page.Accounts ?? [])
        if (account.Id !== undefined && isActive(account)) listed.push(account);
    }

    const ousOf = new Map<string, string[]>();
    if (options.ous === true) {
      action = 'ListRoots';
      const parents: { id: string; chain: string[] }[] = [];
      for await (const page of paginateListRoots(config, {}, ...extra)) {
        for (const root of page.Roots ?? [])
          if (root.Id !== undefined) parents.push({ id: root.Id, chain: [] });
      }
      action = 'ListChildren';
      while (parents.length > 0) {
        const parent = parents.shift() as { id: string; chain: string[] };
        for await (const page of paginateListChildren(
          config,
          { ParentId: parent.id, ChildType: 'ACCOUNT' },
          ...extra,
        )) {
          for (const child of page.Children ?? [])
            if (child.Id !== undefined) ousOf.set(child.Id, parent.chain);
        }
        for await (const page of paginateListChildren(
          config,
          { ParentId: parent.id, ChildType: 'ORGANIZATIONAL_UNIT' },
          ...extra,
        )) {
          for (const child of page.Children ?? []) {
            if (child.Id !== undefined) parents.push({ id: child.Id, chain: [child.Id, ...parent.chain] });
          }
        }
      }
    }

    action = 'ListTagsForResource';
    const tagsOf = await mapBounded(
      listed,
      options.tags === true ? TAG_READS_IN_FLIGHT : 1,
      async (account) => {
        const tags: Record<string, string> = {};
        if (options.tags !== true) return tags;
        for await (const page of paginateListTagsForResource(config, { ResourceId: account.Id }, ...extra)) {
          for (const tag of page.Tags ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
        }
        return tags;
      },
    );

    const accounts: InventoryAccount[] = listed.map((account, index) => ({
      id: account.Id as string,
      name: account.Name,
      tags: tagsOf[index] ?? {},
      ous: ousOf.get(account.Id as string) ?? [],
      roleArn: undefined,
    }));
    accounts.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return {
      source: 'organizations',
      roleName: options.roleName ?? DEFAULT_ROLE_NAME,
      externalId: options.externalId,
      accounts,
    };
  } catch (error) {
    throw toEc2Error(error, action);
  }
}

/** An Organizations client (us-east-1, where the service lives) with the tool's timeouts. */
export function createOrganizationsClient(options: OrganizationsOptions = {}): OrganizationsClient {
  const client = new OrganizationsClient({
    region: 'us-east-1',
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    maxAttempts: 5,
    retryMode: 'adaptive',
    requestHandler: httpHandler(options.logger),
    logger: sdkLogger(options.logger),
  });
  adviseFailures(client, 'Organizations');
  return client;
}

/** How long a discovered organisation is reused before it is read again (a daemon's passes). */
export const ORGANIZATIONS_CACHE_MS = 10 * 60_000;

/** What a policy set needs to know about accounts beyond their IDs and names. */
export interface DiscoveryNeeds {
  readonly tags: boolean;
  readonly ous: boolean;
}

/**
 * `--accounts organizations`: the organisation's inventory, discovered on first use and reused for
 * ORGANIZATIONS_CACHE_MS (a discovery costs one ListTagsForResource per account), read again sooner
 * when a policy set starts to need tags or OUs the cached one lacks. A failure is not kept.
 */
export function createOrganizationsInventory(
  options: OrganizationsOptions & { readonly now?: () => number; readonly client?: OrganizationsSender },
): { inventory(needs: DiscoveryNeeds, signal?: AbortSignal): Promise<AccountInventory>; destroy(): void } {
  const client = options.client ?? createOrganizationsClient(options);
  const now = options.now ?? Date.now;
  let cached: { at: number; needs: DiscoveryNeeds; inventory: Promise<AccountInventory> } | undefined;
  return {
    inventory(needs: DiscoveryNeeds, signal?: AbortSignal): Promise<AccountInventory> {
      const covers =
        cached !== undefined &&
        now() - cached.at < ORGANIZATIONS_CACHE_MS &&
        (!needs.tags || cached.needs.tags) &&
        (!needs.ous || cached.needs.ous);
      if (covers && cached !== undefined) return cached.inventory;
      const pending = discoverOrganization(client, {
        ...options,
        tags: needs.tags,
        ous: needs.ous,
        ...(signal !== undefined ? { signal } : {}),
      });
      const entry = { at: now(), needs, inventory: pending };
      cached = entry;
      pending.catch(() => {
        if (cached === entry) cached = undefined;
      });
      return pending;
    },
    destroy(): void {
      client.destroy();
    },
  };
}
