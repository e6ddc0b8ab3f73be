// The Ec2Port over the real AWS SDK for JavaScript v3: one EC2Client per region, adaptive retries,
// bounded timeouts, every page followed, and every failure turned into an Ec2Error whose message is
// safe to log. The only place (with permissions.ts) that knows EC2's request and response shapes.
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeManagedPrefixListsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  EC2Client,
  GetManagedPrefixListEntriesCommand,
  UpdateSecurityGroupRuleDescriptionsIngressCommand,
  type EC2ClientConfig,
  type Filter,
} from '@aws-sdk/client-ec2';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createTokenBucket, DEFAULT_WRITES_PER_SECOND, type TokenBucket } from './pacing.js';

import type { Logger } from '../logging.js';
import type { LiveRule } from '../model/rule.js';
import { liveGroupFromSecurityGroup, liveRuleFromSecurityGroupRule, toIpPermissions } from './permissions.js';
import {
  Ec2Error,
  type AuthorizeRequest,
  type DescriptionUpdateRequest,
  type Ec2Filter,
  type Ec2Port,
  type Ec2PortFactory,
  type LiveGroup,
  type PrefixListInfo,
} from './port.js';

export interface Ec2ClientOptions {
  /** EC2 endpoint override; else the SDK reads AWS_ENDPOINT_URL_EC2 / AWS_ENDPOINT_URL itself. */
  readonly endpoint?: string | undefined;
  /** Attempts per call including the first (adaptive retry mode). Default 5. */
  readonly maxAttempts?: number | undefined;
  /** Every attempt of one call together (the SDK's retries included). Default 45 000 ms. */
  readonly callTimeoutMs?: number | undefined;
  /** Whole request/response bound per attempt. Default 10 000 ms. */
  readonly requestTimeoutMs?: number | undefined;
  /** TCP/TLS connect bound per attempt. Default 5 000 ms. */
  readonly connectionTimeoutMs?: number | undefined;
  /** AuthorizeSecurityGroupIngress calls per second, per region (client-side pacing). Default 3, bursts of twice that. */
  readonly writesPerSecond?: number | undefined;
  /** Explicit credentials (tests); else the SDK's default provider chain. */
  readonly credentials?: EC2ClientConfig['credentials'];
  /**
   * Credentials per account (assumed roles, see accounts.ts); undefined for an account = the
   * `credentials` option or the default chain.
   */
  readonly credentialsFor?: ((account: string) => EC2ClientConfig['credentials'] | undefined) | undefined;
  /** Debug lines per EC2 call (action, region, duration, attempts, error code); never secrets. */
  readonly logger?: Logger | undefined;
}

/** The one method of EC2Client the port uses, so unit tests can drive it with a fake. */
export type Ec2Sender = Pick<EC2Client, 'send'>;

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** Every attempt of one call together; keeps a pass against a hung endpoint to about a minute. */
const DEFAULT_CALL_TIMEOUT_MS = 45_000;
const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
/** EC2 accepts at most 200 values per filter (and per request); larger sets are split. */
export const MAX_FILTER_VALUES = 200;
const SECURITY_GROUPS_PAGE = 1000;
const SECURITY_GROUP_RULES_PAGE = 1000;
const PREFIX_LISTS_PAGE = 100;

/** A configured EC2Client for one region. */
export function createEc2Client(region: string, options: Ec2ClientOptions = {}): EC2Client {
  return new EC2Client({
    region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: 'adaptive',
    requestHandler: new NodeHttpHandler({
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      // Without it a breached requestTimeout is only a console warning and the call hangs on.
      throwOnRequestTimeout: true,
    }),
  });
}

/**
 * Ports per (account, region) over cached EC2Clients, each with its own write pacing (EC2 meters
 * per account and region); `destroy()` closes their connection pools.
 */
export function createEc2PortFactory(options: Ec2ClientOptions = {}): Ec2PortFactory & { destroy(): void } {
  const clients = new Map<string, EC2Client>();
  const ports = new Map<string, Ec2Port>();
  const factory = (region: string, account?: string): Ec2Port => {
    const key = `${account ?? ''}/${region}`;
    let port = ports.get(key);
    if (port === undefined) {
      const credentials = account === undefined ? undefined : options.credentialsFor?.(account);
      const client = createEc2Client(
        region,
        credentials === undefined ? options : { ...options, credentials },
      );
      clients.set(key, client);
      const rate = options.writesPerSecond ?? DEFAULT_WRITES_PER_SECOND;
      const writes = createTokenBucket({ ratePerSecond: rate, burst: Math.max(1, 2 * rate) });
      const logger = account === undefined ? options.logger : options.logger?.child({ account });
      port = createEc2Port(region, client, logger, options.callTimeoutMs, writes);
      ports.set(key, port);
    }
    return port;
  };
  return Object.assign(factory, {
    destroy(): void {
      for (const client of clients.values()) client.destroy();
      clients.clear();
      ports.clear();
    },
  });
}

/** The port over any sender with EC2Client's `send` (the real client, or a fake in unit tests). */
export function createEc2Port(
  region: string,
  client: Ec2Sender,
  logger?: Logger,
  callTimeoutMs: number = DEFAULT_CALL_TIMEOUT_MS,
  writes?: TokenBucket,
): Ec2Port {
  /**
   * One EC2 call, all its SDK attempts bounded by one deadline (a hung endpoint otherwise costs
   * maxAttempts x requestTimeout), and the pass's own signal.
   */
  async function call<T extends { $metadata?: { attempts?: number | undefined } }>(
    action: string,
    signal: AbortSignal | undefined,
    send: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    const deadline = AbortSignal.timeout(callTimeoutMs);
    try {
      const output = await send(signal === undefined ? deadline : AbortSignal.any([signal, deadline]));
      logger?.debug(
        { action, region, durationMs: elapsed(started), attempts: output.$metadata?.attempts },
        'ec2 call succeeded',
      );
      return output;
    } catch (error) {
      const mapped =
        deadline.aborted && signal?.aborted !== true
          ? new Ec2Error(
              'TimeoutError',
              `no answer from EC2 within ${callTimeoutMs} ms, retries included`,
              action,
            )
          : toEc2Error(error, action);
      logger?.debug(
        {
          action,
          region,
          durationMs: elapsed(started),
          errorCode: mapped.code,
          statusCode: mapped.statusCode,
        },
        'ec2 call failed',
      );
      throw mapped;
    }
  }

  return {
    region,

    async describeSecurityGroups(filters: readonly Ec2Filter[], signal?: AbortSignal): Promise<LiveGroup[]> {
      const action = 'DescribeSecurityGroups';
      // A filter with no values matches nothing (values are OR-ed, filters AND-ed); EC2 would reject it.
      if (filters.some((filter) => filter.values.length === 0)) return [];
      const groups = new Map<string, LiveGroup>();
      for (const chunk of chunkFilters(filters)) {
        await followPages(action, async (nextToken) => {
          const page = await call(action, signal, (abortSignal) =>
            client.send(
              new DescribeSecurityGroupsCommand({
                ...(chunk.length > 0 ? { Filters: toSdkFilters(chunk) } : {}),
                MaxResults: SECURITY_GROUPS_PAGE,
                ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
              }),
              { abortSignal },
            ),
          );
          for (const group of page.SecurityGroups ?? []) {
            const live = liveGroupFromSecurityGroup(group);
            if (live !== undefined) groups.set(live.groupId, live);
          }
          return page.NextToken;
        });
      }
      return [...groups.values()];
    },

    async describeIngressRules(groupId: string, signal?: AbortSignal): Promise<LiveRule[]> {
      const action = 'DescribeSecurityGroupRules';
      const rules: LiveRule[] = [];
      await followPages(action, async (nextToken) => {
        const page = await call(action, signal, (abortSignal) =>
          client.send(
            new DescribeSecurityGroupRulesCommand({
              Filters: [{ Name: 'group-id', Values: [groupId] }],
              MaxResults: SECURITY_GROUP_RULES_PAGE,
              ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
            }),
            { abortSignal },
          ),
        );
        for (const sgr of page.SecurityGroupRules ?? []) {
          if (sgr.IsEgress === true) continue;
          const live = liveRuleFromSecurityGroupRule(sgr);
          if (live !== undefined) rules.push(live);
        }
        return page.NextToken;
      });
      return rules;
    },

    async authorizeIngress(request: AuthorizeRequest, signal?: AbortSignal): Promise<LiveRule[]> {
      // EC2 rejects a call without permissions; an empty batch has nothing to create.
      if (request.rules.length === 0) return [];
      await writes?.take(signal);
      const tags = Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value }));
      const output = await call('AuthorizeSecurityGroupIngress', signal, (abortSignal) =>
        client.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: request.groupId,
            IpPermissions: toIpPermissions(request.rules),
            ...(tags.length > 0
              ? { TagSpecifications: [{ ResourceType: 'security-group-rule', Tags: tags }] }
              : {}),
            ...(request.dryRun ? { DryRun: true } : {}),
          }),
          { abortSignal },
        ),
      );
      const created: LiveRule[] = [];
      for (const sgr of output.SecurityGroupRules ?? []) {
        if (sgr.IsEgress === true) continue;
        const live = liveRuleFromSecurityGroupRule(sgr);
        if (live !== undefined) created.push(live);
      }
      return created;
    },

    async updateIngressDescriptions(request: DescriptionUpdateRequest, signal?: AbortSignal): Promise<void> {
      if (request.rules.length === 0) return;
      await writes?.take(signal);
      // The IpPermissions form selects each rule by its identity, so no rule ID has to be read first
      // (DescribeSecurityGroups returns none); a permission without Description removes it (EC2).
      await call('UpdateSecurityGroupRuleDescriptionsIngress', signal, (abortSignal) =>
        client.send(
          new UpdateSecurityGroupRuleDescriptionsIngressCommand({
            GroupId: request.groupId,
            IpPermissions: toIpPermissions(request.rules),
            ...(request.dryRun ? { DryRun: true } : {}),
          }),
          { abortSignal },
        ),
      );
    },

    async describeDefaultVpcId(signal?: AbortSignal): Promise<string | undefined> {
      const output = await call('DescribeVpcs', signal, (abortSignal) =>
        client.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }), {
          abortSignal,
        }),
      );
      return output.Vpcs?.find((vpc) => vpc.VpcId !== undefined)?.VpcId;
    },

    async describePrefixLists(
      ids: readonly string[],
      signal?: AbortSignal,
    ): Promise<Map<string, PrefixListInfo>> {
      const action = 'DescribeManagedPrefixLists';
      const result = new Map<string, PrefixListInfo>();
      const unique = [...new Set(ids)];
      for (const chunk of chunkValues(unique, MAX_FILTER_VALUES)) {
        await followPages(action, async (nextToken) => {
          const page = await call(action, signal, (abortSignal) =>
            client.send(
              new DescribeManagedPrefixListsCommand({
                Filters: [{ Name: 'prefix-list-id', Values: chunk }],
                MaxResults: PREFIX_LISTS_PAGE,
                ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
              }),
              { abortSignal },
            ),
          );
          for (const list of page.PrefixLists ?? []) {
            if (list.PrefixListId === undefined) continue;
            // AWS-managed lists carry no MaxEntries; their entry count is the best weight we can read.
            const maxEntries = list.MaxEntries ?? (await countEntries(list.PrefixListId, signal));
            result.set(list.PrefixListId, {
              maxEntries,
              addressFamily: addressFamily(list.AddressFamily),
            });
          }
          return page.NextToken;
        });
      }
      return result;
    },
  };

  async function countEntries(prefixListId: string, signal: AbortSignal | undefined): Promise<number> {
    const action = 'GetManagedPrefixListEntries';
    let count = 0;
    await followPages(action, async (nextToken) => {
      const page = await call(action, signal, (abortSignal) =>
        client.send(
          new GetManagedPrefixListEntriesCommand({
            PrefixListId: prefixListId,
            MaxResults: PREFIX_LISTS_PAGE,
            ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
          }),
          { abortSignal },
        ),
      );
      count += page.Entries?.length ?? 0;
      return page.NextToken;
    });
    return Math.max(count, 1);
  }
}

/**
 * Runs `fetchPage` until EC2 returns no NextToken. A token EC2 already returned would loop forever,
 * so it fails the read instead (a failed read is never taken as "no rules").
 */
async function followPages(
  action: string,
  fetchPage: (nextToken: string | undefined) => Promise<string | undefined>,
): Promise<void> {
  const seen = new Set<string>();
  let nextToken: string | undefined;
  do {
    nextToken = (await fetchPage(nextToken)) || undefined;
    if (nextToken !== undefined) {
      if (seen.has(nextToken)) {
        throw new Ec2Error('PaginationLoop', 'EC2 returned a NextToken it had already returned', action);
      }
      seen.add(nextToken);
    }
  } while (nextToken !== undefined);
}

function chunkValues(values: readonly string[], max: number): string[][] {
  const chunks: string[][] = [];
  for (let i = 0; i < values.length; i += max) chunks.push(values.slice(i, i + max));
  return chunks;
}

/**
 * Filters split so that no filter carries more than `max` values. Filters are AND-ed and a filter's
 * values OR-ed, so the union over the cartesian product of each filter's chunks is the same set of
 * groups. No filters = one request without filters.
 */
export function chunkFilters(filters: readonly Ec2Filter[], max = MAX_FILTER_VALUES): Ec2Filter[][] {
  let combos: Ec2Filter[][] = [[]];
  for (const filter of filters) {
    const chunks = chunkValues(filter.values, max);
    if (chunks.length === 0) chunks.push([]);
    combos = combos.flatMap((combo) => chunks.map((values) => [...combo, { name: filter.name, values }]));
  }
  return combos;
}

function toSdkFilters(filters: readonly Ec2Filter[]): Filter[] {
  return filters.map((filter) => ({ Name: filter.name, Values: [...filter.values] }));
}

function addressFamily(value: string | undefined): 'IPv4' | 'IPv6' | undefined {
  return value === 'IPv4' || value === 'IPv6' ? value : undefined;
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

// ---------------------------------------------------------------------------------------------
// Error mapping

/** Socket-level failures: the request may never have reached EC2. */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EPROTO',
]);
const CODELESS_NAMES = new Set(['Error', 'Unknown', 'UnknownError']);
const MAX_MESSAGE_LENGTH = 300;
/** Anything from one of these on may be a signature, a credential scope or a session token. */
const SECRET_MARKER =
  /authorization|credential=|x-amz-security-token|x-amz-signature|signature=|secretaccesskey|sessiontoken/i;
const ACCESS_KEY_ID = /\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b/g;
const ENCODED_FAILURE = /encoded authorization failure message/i;

interface ErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly Code?: unknown;
  readonly message?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown; readonly attempts?: unknown };
  readonly $response?: { readonly statusCode?: unknown };
}

/**
 * Any error out of the SDK (service exception, transport failure, abort) as an Ec2Error: `code` is
 * EC2's error code where EC2 sent one, else `TimeoutError`, `NetworkingError`, `AbortError`, or
 * `InternalError` for an HTTP 5xx without a code. The message is stripped of anything that could be
 * a credential and capped; for `UnauthorizedOperation` it names the IAM action that is missing.
 */
export function toEc2Error(error: unknown, action: string): Ec2Error {
  if (error instanceof Ec2Error) return error;
  const shape: ErrorShape = typeof error === 'object' && error !== null ? error : {};
  const name = typeof shape.name === 'string' ? shape.name : undefined;
  const systemCode = typeof shape.code === 'string' ? shape.code : undefined;
  const statusCode =
    numberOrUndefined(shape.$metadata?.httpStatusCode) ?? numberOrUndefined(shape.$response?.statusCode);
  const rawMessage =
    typeof shape.message === 'string' ? shape.message : typeof error === 'string' ? error : '';
  const serviceCode = typeof shape.Code === 'string' ? shape.Code : name;
  // A response the SDK could not read an error code from comes back named `Error` or `Unknown`.
  const isServiceError =
    shape.$fault !== undefined && serviceCode !== undefined && !CODELESS_NAMES.has(serviceCode);

  let code: string;
  let message: string;
  if (name === 'AbortError') {
    code = 'AbortError';
    message = 'the EC2 request was aborted';
  } else if (systemCode !== undefined && NETWORK_ERROR_CODES.has(systemCode)) {
    code = 'NetworkingError';
    message = `${systemCode}: ${rawMessage}`;
  } else if (name === 'TimeoutError' || systemCode === 'ETIMEDOUT') {
    code = 'TimeoutError';
    message = rawMessage;
  } else if (isServiceError) {
    code = serviceCode;
    message = rawMessage;
  } else if (statusCode !== undefined && statusCode >= 500) {
    code = 'InternalError';
    message = `EC2 returned HTTP ${statusCode} without an error code`;
  } else if (statusCode !== undefined) {
    code = 'UnknownError';
    message = `EC2 returned HTTP ${statusCode} without an error code`;
  } else {
    code = name !== undefined && !CODELESS_NAMES.has(name) ? name : 'UnknownError';
    message = rawMessage;
  }
  if (code === 'UnauthorizedOperation') message = unauthorizedMessage(rawMessage, action);
  if (code === 'CredentialsProviderError') message = NO_CREDENTIALS;
  return new Ec2Error(
    code,
    sanitizeMessage(message),
    action,
    statusCode,
    numberOrUndefined(shape.$metadata?.attempts),
  );
}

/** What the SDK's "Could not load credentials from any providers" means a person should do. */
export const NO_CREDENTIALS =
  'no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (a profile in ~/.aws/credentials or ~/.aws/config, e.g. after `aws sso login`), or run with a web identity token (IRSA), an ECS task role or an EC2 instance profile';

function unauthorizedMessage(rawMessage: string, action: string): string {
  const iamAction = /\bec2:[A-Za-z]+/.exec(rawMessage)?.[0] ?? `ec2:${action}`;
  const readable =
    rawMessage
      .split(ENCODED_FAILURE)[0]
      ?.trim()
      .replace(/[.:\s]+$/, '') ?? '';
  return `missing IAM permission ${iamAction}${readable === '' ? '' : ` (${readable})`}`;
}

/** Cuts the message at the first credential-shaped marker, redacts key IDs, caps the length. */
export function sanitizeMessage(message: string): string {
  let text = message;
  const marker = SECRET_MARKER.exec(text);
  if (marker !== null) text = `${text.slice(0, marker.index).trimEnd()} [redacted]`;
  text = text.replace(ACCESS_KEY_ID, '[redacted]').replace(/\s+/g, ' ').trim();
  if (text.length > MAX_MESSAGE_LENGTH) text = `${text.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
  return text === '' ? 'no message' : text;
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}
