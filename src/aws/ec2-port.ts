// The Ec2Port over the real AWS SDK for JavaScript v3: one EC2Client per region, adaptive retries,
// bounded timeouts, every page followed, and every failure turned into an Ec2Error whose message is
// safe to log. The only place (with permissions.ts) that knows EC2's request and response shapes.
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeVpcsCommand,
  EC2Client,
  UpdateSecurityGroupRuleDescriptionsIngressCommand,
  paginateDescribeManagedPrefixLists,
  paginateDescribeSecurityGroupRules,
  paginateDescribeSecurityGroups,
  paginateGetManagedPrefixListEntries,
  type EC2ClientConfig,
  type EC2PaginationConfiguration,
  type Filter,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  adviseFailures,
  failedCallOf,
  formatHostPort,
  httpStatusAdvice,
  isTlsCode,
  NETWORK_ADVICE,
  networkAdvice,
  NO_CREDENTIALS,
  sanitizeMessage,
  sdkLogger,
  type CallSite,
} from './advice.js';

export { sanitizeMessage } from './advice.js';
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
  const client = new EC2Client({
    region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    retryMode: 'adaptive',
    logger: sdkLogger(options.logger),
    requestHandler: new NodeHttpHandler({
      // Its own warnings (socket usage at capacity) would otherwise be console text on stderr.
      logger: sdkLogger(options.logger),
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      // Without it a breached requestTimeout is only a console warning and the call hangs on.
      throwOnRequestTimeout: true,
    }),
  });
  adviseFailures(client, 'EC2');
  return client;
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

/** What the calls of one port share. */
interface PortScope {
  readonly region: string;
  readonly client: EC2Client;
  readonly logger: Logger | undefined;
  readonly callTimeoutMs: number;
}

type Output = { readonly $metadata?: { readonly attempts?: number | undefined } } | undefined;

/**
 * One EC2 call (or one page of a paginated read), all its SDK attempts bounded by one deadline (a
 * hung endpoint otherwise costs maxAttempts x requestTimeout): when `callTimeoutMs` passes,
 * `deadline` is aborted, and the caller has handed its signal to the SDK with the pass's own.
 * Logs one debug line; rejects with Ec2Error.
 */
async function timedCall<T extends Output>(
  scope: PortScope,
  action: string,
  signal: AbortSignal | undefined,
  deadline: AbortController,
  send: () => Promise<T>,
): Promise<T> {
  const { region, logger, callTimeoutMs } = scope;
  const started = performance.now();
  const timer = setTimeout(() => deadline.abort(), callTimeoutMs);
  try {
    const output = await send();
    logger?.debug(
      { action, region, durationMs: elapsed(started), attempts: output?.$metadata?.attempts },
      'ec2 call succeeded',
    );
    return output;
  } catch (error) {
    const mapped =
      deadline.signal.aborted && signal?.aborted !== true
        ? new Ec2Error(
            'TimeoutError',
            `no answer from EC2 within ${callTimeoutMs} ms, retries included; ${NETWORK_ADVICE.ETIMEDOUT(callSite(error, {}, action))}`,
            action,
          )
        : toEc2Error(error, action);
    logger?.debug(
      { action, region, durationMs: elapsed(started), errorCode: mapped.code, statusCode: mapped.statusCode },
      'ec2 call failed',
    );
    throw mapped;
  } finally {
    clearTimeout(timer);
  }
}

/** The pass's signal and a deadline's, as the one signal the SDK takes. */
function withDeadline(signal: AbortSignal | undefined, deadline: AbortController): AbortSignal {
  return signal === undefined ? deadline.signal : AbortSignal.any([signal, deadline.signal]);
}

/** One unpaginated call under its own deadline and the pass's signal. */
function call<T extends Output>(
  scope: PortScope,
  action: string,
  signal: AbortSignal | undefined,
  send: (abortSignal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = new AbortController();
  return timedCall(scope, action, signal, deadline, () => send(withDeadline(signal, deadline)));
}

/** The SDK paginators' configuration (EC2PaginationConfiguration) and their trailing `send` options. */
type Paginate<P> = (
  config: EC2PaginationConfiguration,
  options: { readonly abortSignal: AbortSignal },
) => AsyncIterator<P, unknown>;

/**
 * Every page of a read, through one of the SDK's paginators (`paginateDescribeSecurityGroups`, ...),
 * each page a timed call. A paginator hands the same `send` options to every page, so the per-call
 * deadline cannot be a fresh signal per page: the read gets one deadline controller, re-armed for
 * each page and aborted only when a page outlives it (which ends the read). The paginator stops on
 * a missing NextToken; a NextToken EC2 already returned would loop forever, so it fails the read
 * (`PaginationLoop`) before that page is asked for; a failed read is never taken as "no rules".
 */
async function* pages<P extends Output & { readonly NextToken?: string | undefined }>(
  scope: PortScope,
  action: string,
  signal: AbortSignal | undefined,
  pageSize: number,
  paginate: Paginate<P>,
): AsyncGenerator<NonNullable<P>> {
  const deadline = new AbortController();
  const iterator = paginate(
    { client: scope.client, pageSize },
    { abortSignal: withDeadline(signal, deadline) },
  );
  const seen = new Set<string>();
  for (;;) {
    const page = await timedCall(scope, action, signal, deadline, async () => {
      const next = await iterator.next();
      return next.done === true ? undefined : next.value;
    });
    if (page === undefined) return;
    yield page;
    const token = page.NextToken;
    if (token === undefined || token === '') continue;
    if (seen.has(token)) {
      throw new Ec2Error('PaginationLoop', 'EC2 returned a NextToken it had already returned', action);
    }
    seen.add(token);
  }
}

/**
 * The port over an EC2Client (the real one, or one whose `send` aws-sdk-client-mock stubs in unit
 * tests: the SDK's paginators insist on an EC2Client). `callTimeoutMs` bounds each call, retries
 * included; `writes` paces AuthorizeSecurityGroupIngress.
 */
export function createEc2Port(
  region: string,
  client: EC2Client,
  logger?: Logger,
  callTimeoutMs: number = DEFAULT_CALL_TIMEOUT_MS,
  writes?: TokenBucket,
): Ec2Port {
  const scope: PortScope = { region, client, logger, callTimeoutMs };
  return {
    region,
    describeSecurityGroups: (filters, signal) => describeSecurityGroups(scope, filters, signal),
    describeIngressRules: (groupId, signal) => describeIngressRules(scope, groupId, signal),
    authorizeIngress: (request, signal) => authorizeIngress(scope, writes, request, signal),
    updateIngressDescriptions: (request, signal) => updateIngressDescriptions(scope, writes, request, signal),
    describeDefaultVpcId: async (signal) => {
      const output = await call(scope, 'DescribeVpcs', signal, (abortSignal) =>
        client.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }), {
          abortSignal,
        }),
      );
      return output.Vpcs?.find((vpc) => vpc.VpcId !== undefined)?.VpcId;
    },
    describePrefixLists: (ids, signal) => describePrefixLists(scope, ids, signal),
  };
}

/** Ec2Port.describeSecurityGroups: every page of every filter chunk, groups de-duplicated by ID. */
async function describeSecurityGroups(
  scope: PortScope,
  filters: readonly Ec2Filter[],
  signal: AbortSignal | undefined,
): Promise<LiveGroup[]> {
  // A filter with no values matches nothing (values are OR-ed, filters AND-ed); EC2 would reject it.
  if (filters.some((filter) => filter.values.length === 0)) return [];
  const groups = new Map<string, LiveGroup>();
  for (const chunk of chunkFilters(filters)) {
    const input = chunk.length > 0 ? { Filters: toSdkFilters(chunk) } : {};
    const all = pages(scope, 'DescribeSecurityGroups', signal, SECURITY_GROUPS_PAGE, (config, options) =>
      paginateDescribeSecurityGroups(config, input, options),
    );
    for await (const page of all) {
      for (const group of page.SecurityGroups ?? []) {
        const live = liveGroupFromSecurityGroup(group);
        if (live !== undefined) groups.set(live.groupId, live);
      }
    }
  }
  return [...groups.values()];
}

/** Ec2Port.describeIngressRules: DescribeSecurityGroupRules for one group, ingress only, every page. */
async function describeIngressRules(
  scope: PortScope,
  groupId: string,
  signal: AbortSignal | undefined,
): Promise<LiveRule[]> {
  const rules: LiveRule[] = [];
  const input = { Filters: [{ Name: 'group-id', Values: [groupId] }] };
  const all = pages(
    scope,
    'DescribeSecurityGroupRules',
    signal,
    SECURITY_GROUP_RULES_PAGE,
    (config, options) => paginateDescribeSecurityGroupRules(config, input, options),
  );
  for await (const page of all) rules.push(...ingressRules(page.SecurityGroupRules));
  return rules;
}

/** The ingress rules among DescribeSecurityGroupRules' or AuthorizeSecurityGroupIngress's answer. */
function ingressRules(rules: readonly SecurityGroupRule[] | undefined): LiveRule[] {
  const live: LiveRule[] = [];
  for (const sgr of rules ?? []) {
    if (sgr.IsEgress === true) continue;
    const rule = liveRuleFromSecurityGroupRule(sgr);
    if (rule !== undefined) live.push(rule);
  }
  return live;
}

/** Ec2Port.authorizeIngress: one paced AuthorizeSecurityGroupIngress call for the batch. */
async function authorizeIngress(
  scope: PortScope,
  writes: TokenBucket | undefined,
  request: AuthorizeRequest,
  signal: AbortSignal | undefined,
): Promise<LiveRule[]> {
  // EC2 rejects a call without permissions; an empty batch has nothing to create.
  if (request.rules.length === 0) return [];
  await writes?.take(signal);
  const tags = Object.entries(request.tags).map(([Key, Value]) => ({ Key, Value }));
  const output = await call(scope, 'AuthorizeSecurityGroupIngress', signal, (abortSignal) =>
    scope.client.send(
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
  return ingressRules(output.SecurityGroupRules);
}

/** Ec2Port.updateIngressDescriptions: one paced UpdateSecurityGroupRuleDescriptionsIngress call. */
async function updateIngressDescriptions(
  scope: PortScope,
  writes: TokenBucket | undefined,
  request: DescriptionUpdateRequest,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (request.rules.length === 0) return;
  await writes?.take(signal);
  // The IpPermissions form selects each rule by its identity, so no rule ID has to be read first
  // (DescribeSecurityGroups returns none); a permission without Description removes it (EC2).
  await call(scope, 'UpdateSecurityGroupRuleDescriptionsIngress', signal, (abortSignal) =>
    scope.client.send(
      new UpdateSecurityGroupRuleDescriptionsIngressCommand({
        GroupId: request.groupId,
        IpPermissions: toIpPermissions(request.rules),
        ...(request.dryRun ? { DryRun: true } : {}),
      }),
      { abortSignal },
    ),
  );
}

/** Ec2Port.describePrefixLists: the IDs in chunks of 200, every page, AWS-managed lists sized by their entries. */
async function describePrefixLists(
  scope: PortScope,
  ids: readonly string[],
  signal: AbortSignal | undefined,
): Promise<Map<string, PrefixListInfo>> {
  const result = new Map<string, PrefixListInfo>();
  for (const chunk of chunkValues([...new Set(ids)], MAX_FILTER_VALUES)) {
    const input = { Filters: [{ Name: 'prefix-list-id', Values: chunk }] };
    const all = pages(scope, 'DescribeManagedPrefixLists', signal, PREFIX_LISTS_PAGE, (config, options) =>
      paginateDescribeManagedPrefixLists(config, input, options),
    );
    for await (const page of all) {
      for (const list of page.PrefixLists ?? []) {
        if (list.PrefixListId === undefined) continue;
        // AWS-managed lists carry no MaxEntries; their entry count is the best weight we can read.
        const maxEntries = list.MaxEntries ?? (await countEntries(scope, list.PrefixListId, signal));
        result.set(list.PrefixListId, { maxEntries, addressFamily: addressFamily(list.AddressFamily) });
      }
    }
  }
  return result;
}

/** The entries of one prefix list (GetManagedPrefixListEntries, every page); at least 1. */
async function countEntries(
  scope: PortScope,
  prefixListId: string,
  signal: AbortSignal | undefined,
): Promise<number> {
  let count = 0;
  const all = pages(scope, 'GetManagedPrefixListEntries', signal, PREFIX_LISTS_PAGE, (config, options) =>
    paginateGetManagedPrefixListEntries(config, { PrefixListId: prefixListId }, options),
  );
  for await (const page of all) count += page.Entries?.length ?? 0;
  return Math.max(count, 1);
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
  'EADDRNOTAVAIL',
]);
const CODELESS_NAMES = new Set(['Error', 'Unknown', 'UnknownError']);
const ENCODED_FAILURE = /encoded authorization failure message/i;

interface ErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  /** A failed DNS lookup (ENOTFOUND, EAI_AGAIN): the host name looked up. */
  readonly hostname?: unknown;
  /** A refused or timed-out connect: the address and port tried. */
  readonly address?: unknown;
  readonly port?: unknown;
  readonly Code?: unknown;
  readonly message?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown; readonly attempts?: unknown };
  readonly $response?: { readonly statusCode?: unknown };
}

/**
 * Any error out of the SDK (service exception, transport failure, abort) as an Ec2Error: `code` is
 * EC2's error code where EC2 sent one, else `TimeoutError`, `NetworkingError`, `AbortError`, or
 * `InternalError` for an HTTP 5xx without a code (`UnknownError` for another status without one;
 * either way the message is httpStatusAdvice's, naming the service and host:port that answered).
 * The message is stripped of anything that could be a credential and capped; for
 * `UnauthorizedOperation` it names the IAM action that is missing.
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
  /** The message ends in our advice: kept whole (sanitizeMessage's longer cap). */
  let advice = false;
  if (name === 'AbortError') {
    code = 'AbortError';
    message = 'the EC2 request was aborted';
  } else if (systemCode !== undefined && (NETWORK_ERROR_CODES.has(systemCode) || isTlsCode(systemCode))) {
    code = 'NetworkingError';
    const advice = networkAdvice(systemCode, rawMessage, callSite(error, shape, action));
    message = `${systemCode}: ${advice ?? rawMessage}`;
  } else if (name === 'TimeoutError' || systemCode === 'ETIMEDOUT') {
    code = 'TimeoutError';
    message = `${rawMessage.replace(/^@smithy\/node-http-handler - \[ERROR\] /, '').replace(/\.$/, '')}; ${NETWORK_ADVICE.ETIMEDOUT(callSite(error, shape, action))}`;
  } else if (isServiceError) {
    code = serviceCode;
    message = rawMessage;
  } else if (statusCode !== undefined) {
    code = statusCode >= 500 ? 'InternalError' : 'UnknownError';
    message = httpStatusAdvice(statusCode, callSite(error, shape, action));
    advice = true;
  } else {
    code = name !== undefined && !CODELESS_NAMES.has(name) ? name : 'UnknownError';
    message = rawMessage;
  }
  if (code === 'UnauthorizedOperation') message = unauthorizedMessage(rawMessage, action);
  if (code === 'CredentialsProviderError') message = failedCallOf(error)?.credentials ?? NO_CREDENTIALS;
  return new Ec2Error(
    code,
    sanitizeMessage(message, advice || advised(code)),
    action,
    statusCode,
    numberOrUndefined(shape.$metadata?.attempts),
  );
}

/** STS and Organizations actions; every other action is EC2's. */
const SERVICE_OF: Readonly<Record<string, string>> = {
  GetCallerIdentity: 'STS',
  AssumeRole: 'STS',
  ListAccounts: 'Organizations',
  ListRoots: 'Organizations',
  ListChildren: 'Organizations',
  ListTagsForResource: 'Organizations',
};

/** The service an AWS host name belongs to (`sts.us-east-1.amazonaws.com`: STS), if one of ours. */
function serviceOfHost(hostname: string): string | undefined {
  const label = /^([a-z]+)[.-]/i.exec(hostname)?.[1]?.toLowerCase();
  return label === 'sts'
    ? 'STS'
    : label === 'ec2'
      ? 'EC2'
      : label === 'organizations'
        ? 'Organizations'
        : undefined;
}

/**
 * Where a failed call went: the host name a failed DNS lookup names when it is not the host the
 * call itself went to (an SDK-internal client, such as the STS client of a role-assuming profile,
 * failed under the call), else what adviseFailures recorded (the request's host and port), else
 * the address a refused connect names, else only the service.
 */
export function callSite(error: unknown, shape: ErrorShape, action: string): CallSite {
  const recorded = failedCallOf(error)?.site;
  const looked = typeof shape.hostname === 'string' && shape.hostname !== '' ? shape.hostname : undefined;
  if (looked !== undefined && !(recorded?.at ?? '').startsWith(`${formatHostPort(looked)}:`)) {
    return {
      service: serviceOfHost(looked) ?? recorded?.service ?? SERVICE_OF[action] ?? 'EC2',
      at: formatHostPort(looked),
    };
  }
  if (recorded?.at !== undefined) return recorded;
  const service = recorded?.service ?? SERVICE_OF[action] ?? 'EC2';
  const { address, port } = shape;
  if (typeof address === 'string' && typeof port === 'number') {
    return { service, at: formatHostPort(address, port) };
  }
  return { service };
}

/** Messages that end in our own advice, kept whole rather than capped (it is the point of them). */
function advised(code: string): boolean {
  return code === 'NetworkingError' || code === 'TimeoutError' || code === 'CredentialsProviderError';
}

function unauthorizedMessage(rawMessage: string, action: string): string {
  const iamAction = /\bec2:[A-Za-z]+/.exec(rawMessage)?.[0] ?? `ec2:${action}`;
  const readable =
    rawMessage
      .split(ENCODED_FAILURE)[0]
      ?.trim()
      .replace(/[.:\s]+$/, '') ?? '';
  return `missing IAM permission ${iamAction}${readable === '' ? '' : ` (${readable})`}`;
}

function numberOrUndefined(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}
