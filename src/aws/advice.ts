// What a person should do about a failure on the way to AWS: the one table of advice for network,
// TLS and credential errors (and the SDK's credential warnings), and the client middleware that
// remembers, for each failed call, the host and port it tried and what is wrong with a named
// profile. toEc2Error (ec2-port.ts) turns an error into its message with this advice; nothing else
// words it. Advice never carries a secret: hosts, ports, profile names, key *names* and file paths.
import { loadSharedConfigFiles } from '@smithy/core/config';
import { report } from '../events.js';
import type { Logger } from '../logging.js';

/** Where a failed call went: `host:port` when known, and the service. */
export interface CallSite {
  /** `host:port` of the request (never the URL's user information); undefined when not known. */
  readonly at?: string | undefined;
  /** `EC2`, `STS` or `Organizations`. */
  readonly service: string;
}

const ENDPOINT_SETTINGS = '--endpoint / SGR_ENDPOINT (and AWS_ENDPOINT_URL*, if set)';
const ENDPOINT = `check ${ENDPOINT_SETTINGS}`;

/** `the EC2 endpoint 127.0.0.1:5000`, or `the EC2 endpoint` when the host is not known. */
function endpoint(site: CallSite): string {
  return site.at === undefined ? `the ${site.service} endpoint` : `the ${site.service} endpoint ${site.at}`;
}

/**
 * The one-line advice per transport failure (Node's system error codes, and `TLS` for every
 * certificate and handshake failure): what happened, where, and what to check.
 */
export const NETWORK_ADVICE = {
  ECONNREFUSED: (s: CallSite) =>
    `nothing accepts connections at ${endpoint(s)}: ${ENDPOINT}, that the service there is running, and the network`,
  EADDRNOTAVAIL: (s: CallSite) =>
    `cannot connect to ${endpoint(s)} from this host (address not available here): ${ENDPOINT} (an address of another machine, or IPv6 without an IPv6 network) and the network`,
  ENOTFOUND: (s: CallSite) =>
    `the host name of ${endpoint(s)} does not resolve: ${ENDPOINT} for a typo, the region (AWS endpoint names contain it), and DNS`,
  EAI_AGAIN: (s: CallSite) =>
    `the host name of ${endpoint(s)} could not be looked up (DNS did not answer): check DNS and the network, and ${ENDPOINT_SETTINGS}`,
  ETIMEDOUT: (s: CallSite) =>
    `${endpoint(s)} did not answer in time: check the network path (firewall, proxy, a private subnet without a NAT gateway or VPC endpoint) and ${ENDPOINT_SETTINGS}`,
  ECONNRESET: (s: CallSite) =>
    `${endpoint(s)} closed the connection: ${ENDPOINT} (http:// for a plain-HTTP emulator, https:// for AWS) and any proxy or firewall in between`,
  EHOSTUNREACH: (s: CallSite) =>
    `no network route to ${endpoint(s)}: check the network (routes, VPN, firewall) and ${ENDPOINT_SETTINGS}`,
  TLS: (s: CallSite, reason: string) =>
    `TLS with ${endpoint(s)} failed (${reason}): ${ENDPOINT} (an https:// URL for a plain-HTTP server fails this way: write http://); behind a TLS-inspecting proxy, trust its CA with NODE_EXTRA_CA_CERTS`,
} as const;

/**
 * The advice for an HTTP answer without an AWS error code (AWS always sends one, so something
 * else answered, or the service failed): what the status means, where, and what to check.
 */
export function httpStatusAdvice(status: number, site: CallSite): string {
  const answered = `${endpoint(site)} answered HTTP ${status} without an AWS error code`;
  if (status === 404 || status === 405) {
    return `${answered}: the endpoint URL is probably wrong (a path after host:port, or a server that is not ${site.service}); ${ENDPOINT}: write the scheme, host and port only, e.g. http://127.0.0.1:5000`;
  }
  if (status >= 500) {
    return `${answered}: the endpoint failed; retry later, and against an emulator (moto, LocalStack) check the region, which one it does not know fails this way (--region / AWS_REGION, the policies' spec.region), and its log`;
  }
  return `${answered}, so it is probably not ${site.service} (a proxy, a firewall or another server at that address): ${ENDPOINT}`;
}

/** System codes that share another's advice. */
const SAME_AS: Readonly<Record<string, keyof typeof NETWORK_ADVICE>> = {
  ECONNABORTED: 'ECONNRESET',
  EPIPE: 'ECONNRESET',
  ENETUNREACH: 'EHOSTUNREACH',
  ENETDOWN: 'EHOSTUNREACH',
};

/** Node's and OpenSSL's codes of a TLS failure (handshake, protocol, certificate). */
export function isTlsCode(code: string): boolean {
  return (
    code === 'EPROTO' ||
    code.startsWith('ERR_SSL_') ||
    code.startsWith('ERR_TLS_') ||
    code.startsWith('CERT_') ||
    code.startsWith('UNABLE_TO_') ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'HOSTNAME_MISMATCH'
  );
}

/** OpenSSL's reason (`wrong version number`) out of its error line, else the message itself. */
function tlsReason(code: string, rawMessage: string): string {
  const openssl = /error:[0-9A-F]+:SSL routines:[^:]*:([^:]+):/.exec(rawMessage)?.[1];
  const text = (openssl ?? rawMessage).replace(/\s+/g, ' ').trim();
  return text === '' ? code : text.slice(0, 120);
}

/**
 * The advice for a transport failure with Node's system `code` (`ECONNREFUSED`, `ETIMEDOUT`, a TLS
 * code, ...), or undefined for a code the table does not know.
 */
export function networkAdvice(code: string, rawMessage: string, site: CallSite): string | undefined {
  if (isTlsCode(code)) return NETWORK_ADVICE.TLS(site, tlsReason(code, rawMessage));
  const key = SAME_AS[code] ?? code;
  return key in NETWORK_ADVICE && key !== 'TLS'
    ? NETWORK_ADVICE[key as Exclude<keyof typeof NETWORK_ADVICE, 'TLS'>](site)
    : undefined;
}

/** What the SDK's "Could not load credentials from any providers" means a person should do. */
export const NO_CREDENTIALS =
  'no AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (a profile in ~/.aws/credentials or ~/.aws/config, e.g. after `aws sso login`), or run with a web identity token (IRSA), an ECS task role or an EC2 instance profile';

/** A profile's settings, as the SDK's loader parses the shared files. */
type Profiles = Readonly<Record<string, Readonly<Record<string, string | undefined>>>>;

/** The shared files and where they are (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE or ~/.aws/). */
export interface SharedFiles {
  readonly configFile: Profiles;
  readonly credentialsFile: Profiles;
  readonly configPath: string;
  readonly credentialsPath: string;
}

/** Settings that make a profile a source of credentials other than static keys. */
const OTHER_SOURCES = [
  'role_arn',
  'credential_process',
  'sso_session',
  'sso_start_url',
  'web_identity_token_file',
  'login_session',
];

/**
 * What is wrong with the named profile `profile` (AWS_PROFILE) that gave no credentials: not in
 * either file, half a key pair, or no credentials at all; undefined when the profile names a
 * source the SDK could not use for another reason (an SSO login that expired, a role it could not
 * assume). Names keys, never their values.
 */
export function profileProblem(profile: string, files: SharedFiles): string | undefined {
  const named = `AWS_PROFILE=${profile}`;
  const inConfig = files.configFile[profile];
  const inCredentials = files.credentialsFile[profile];
  if (inConfig === undefined && inCredentials === undefined) {
    const known = [...new Set([...Object.keys(files.configFile), ...Object.keys(files.credentialsFile)])]
      // The loader keys [sso-session x] and [services x] sections as `sso-session.x`, `services.x`.
      .filter((name) => !/^(?:sso-session|services)\./.test(name))
      .sort();
    return (
      `${named}, but no profile ${profile} is in ${files.configPath} ([profile ${profile}]) or ${files.credentialsPath} ([${profile}])` +
      `${known.length > 0 ? ` (profiles there: ${known.join(', ')})` : ''}; ` +
      'fix the name, or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE at the files that hold it'
    );
  }
  const settings = { ...inConfig, ...inCredentials };
  const where = [
    inCredentials !== undefined ? files.credentialsPath : undefined,
    inConfig !== undefined ? files.configPath : undefined,
  ]
    .filter((path) => path !== undefined)
    .join(' and ');
  const has = (key: string): boolean => (settings[key] ?? '').trim() !== '';
  if (has('aws_access_key_id') !== has('aws_secret_access_key')) {
    const [present, absent] = has('aws_access_key_id')
      ? ['aws_access_key_id', 'aws_secret_access_key']
      : ['aws_secret_access_key', 'aws_access_key_id'];
    return `${named}: profile ${profile} (${where}) has ${present} but no ${absent}; add it, or remove the key and use another credential source`;
  }
  if (!has('aws_access_key_id') && !OTHER_SOURCES.some(has)) {
    return (
      `${named}: profile ${profile} (${where}) holds no credentials; add aws_access_key_id and aws_secret_access_key, ` +
      `or role_arn with source_profile, or sso_session (then \`aws sso login --profile ${profile}\`), or credential_process`
    );
  }
  return undefined;
}

/**
 * The advice for a CredentialsProviderError: what is wrong with AWS_PROFILE's profile when one is
 * named (reading the shared files as the SDK does), else NO_CREDENTIALS.
 */
export async function credentialsAdvice(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const profile = env['AWS_PROFILE']?.trim();
  if (profile === undefined || profile === '') return NO_CREDENTIALS;
  try {
    const { configFile, credentialsFile } = await loadSharedConfigFiles({ ignoreCache: true });
    const home = env['HOME'] ?? '~';
    const problem = profileProblem(profile, {
      configFile,
      credentialsFile,
      configPath: env['AWS_CONFIG_FILE'] ?? `${home}/.aws/config`,
      credentialsPath: env['AWS_SHARED_CREDENTIALS_FILE'] ?? `${home}/.aws/credentials`,
    });
    return (
      problem ??
      `AWS_PROFILE=${profile}: profile ${profile} gave no credentials; if it uses SSO, run \`aws sso login --profile ${profile}\`; check its role_arn / source_profile or credential_process`
    );
  } catch {
    return NO_CREDENTIALS;
  }
}

/**
 * The SDK's warning about AWS_PROFILE and AWS_ACCESS_KEY_ID both set, in our words: which one the
 * SDK uses and what to do. Undefined for any other text.
 */
export function credentialWarningAdvice(
  text: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (!/Multiple credential sources detected/i.test(text)) return undefined;
  const profile = env['AWS_PROFILE'] ?? '';
  return `both AWS_PROFILE=${profile} and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are set; the AWS SDK uses the profile ${profile} and ignores the keys: unset one of them`;
}

/** The logger interface the SDK's clients and credential providers take (`logger` in their config). */
export interface SdkLogger {
  debug(...content: unknown[]): void;
  info(...content: unknown[]): void;
  warn(...content: unknown[]): void;
  error(...content: unknown[]): void;
}

/**
 * A logger for the SDK's clients that keeps its text off stdout and stderr: a warning becomes one
 * `aws.warning` event (the SDK's credential-sources warning in our words, any other as the SDK's
 * text on one line, sanitized); the SDK's info and error lines (one per call, with its input) and
 * debug lines are dropped: every failed call is reported by our own events. Without `logger`, the
 * warnings are dropped too (never the SDK's console.warn).
 */
export function sdkLogger(logger: Logger | undefined, env: NodeJS.ProcessEnv = process.env): SdkLogger {
  const ignore = (): void => undefined;
  return {
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (...content: unknown[]): void => {
      if (logger === undefined) return;
      const text = content.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' ');
      const advice = credentialWarningAdvice(text, env);
      if (advice !== undefined) {
        report(logger, ['aws.warning', 'multiple-credential-sources'], {
          reason: 'multiple-credential-sources',
          profile: env['AWS_PROFILE'],
          warning: advice,
        });
      } else {
        report(logger, ['aws.warning', 'sdk'], { reason: 'sdk', warning: sanitizeMessage(text, true) });
      }
    },
  };
}

/** What the middleware learned about a failed call. */
interface FailedCall {
  readonly site: CallSite;
  /** The credentials advice, for a CredentialsProviderError. */
  readonly credentials?: string;
}

const failedCalls = new WeakMap<object, FailedCall>();

/** What adviseFailures recorded about `error`, if it came out of an advised client. */
export function failedCallOf(error: unknown): FailedCall | undefined {
  return typeof error === 'object' && error !== null ? failedCalls.get(error) : undefined;
}

/** The part of a request the middleware reads (an HttpRequest after serialization). */
interface RequestShape {
  readonly hostname?: unknown;
  readonly port?: unknown;
  readonly protocol?: unknown;
}

/**
 * `host:port` (or the host alone without a port), an IPv6 address in brackets exactly once: the
 * SDK's request keeps the URL's brackets (`[::1]`), a system error's address has none (`::1`).
 */
export function formatHostPort(host: string, port?: number): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const shown = bare.includes(':') ? `[${bare}]` : bare;
  return port === undefined ? shown : `${shown}:${port}`;
}

/** `host:port` of a serialized request; the port is the scheme's default when the URL gave none. */
function hostPort(request: RequestShape | undefined): string | undefined {
  if (request === undefined || typeof request.hostname !== 'string' || request.hostname === '')
    return undefined;
  const port = typeof request.port === 'number' ? request.port : request.protocol === 'http:' ? 80 : 443;
  return formatHostPort(request.hostname, port);
}

/**
 * The requests of one client (or of several) that are on the wire now, and where each went: what a
 * deadline of our own (which the SDK never sees) names when it fires before any error does.
 */
export interface InFlight {
  /** Where the most recently sent of the requests not answered yet went; undefined: none. */
  latest(): CallSite | undefined;
  /** Records a request sent to `site`; the returned function records its answer (or failure). */
  start(site: CallSite): () => void;
}

/** An empty InFlight, to hand to adviseFailures / advicePlugin and read when a deadline fires. */
export function createInFlight(): InFlight {
  const sent: CallSite[] = [];
  return {
    latest: () => sent.at(-1),
    start(site: CallSite): () => void {
      sent.push(site);
      return () => {
        const at = sent.lastIndexOf(site);
        if (at >= 0) sent.splice(at, 1);
      };
    },
  };
}

/**
 * Records `site` as where the call that failed with `error` went, unless the middleware already
 * recorded one (toEc2Error names it): for errors of our own deadlines, which no request carries.
 */
export function noteCallSite(error: unknown, site: CallSite): void {
  if (typeof error === 'object' && error !== null && !failedCalls.has(error)) {
    failedCalls.set(error, { site });
  }
}

type Handler = (args: { readonly request?: unknown }) => Promise<unknown>;

/** The slice of an SDK client this needs: its middleware stack (whose `add` is overloaded per step). */
export interface AdvisableClient {
  readonly middlewareStack: { readonly add: (...args: never[]) => void };
}

/** A middleware stack, as far as adviseFailures uses it. */
type AdvisableStack = AdvisableClient['middlewareStack'];

/** `middlewareStack.add` for the steps adviseFailures uses. */
type AddAtStep = (
  middleware: (next: Handler) => Handler,
  options: { step: 'initialize' | 'build' | 'deserialize'; name: string; override: boolean },
) => void;

/**
 * adviseFailures as a client plugin, for the clients the SDK creates itself (the STS client of
 * fromTemporaryCredentials, of a role-assuming profile): `clientPlugins` / `stsPlugins`.
 */
export function advicePlugin(
  service: string,
  inFlight?: InFlight,
): { applyToStack: (stack: AdvisableStack) => void } {
  return { applyToStack: (stack) => adviseStack(stack, service, inFlight) };
}

/**
 * Records, for every call of `client` that fails, the host and port it went to (from the request
 * itself, so --endpoint, AWS_ENDPOINT_URL* and the SDK's own endpoint rules are all covered: a
 * build-step middleware, which sees the serialized request and every error of signing, retries and
 * transport) and, for a CredentialsProviderError (raised before the request is built, so seen by an
 * initialize-step middleware), what is wrong with AWS_PROFILE's profile. With `inFlight`, every
 * request on the wire (after signing, each retry too) is recorded there until it is answered.
 */
export function adviseFailures(client: AdvisableClient, service: string, inFlight?: InFlight): void {
  adviseStack(client.middlewareStack, service, inFlight);
}

/** adviseFailures on a client's middleware stack. */
function adviseStack(stack: AdvisableStack, service: string, inFlight: InFlight | undefined): void {
  const add = stack.add as unknown as AddAtStep;
  const record = (error: unknown, call: (known: FailedCall | undefined) => Promise<FailedCall>) =>
    typeof error === 'object' && error !== null
      ? call(failedCalls.get(error)).then((found) => void failedCalls.set(error, found))
      : Promise.resolve();
  // A middleware that passes every call on and, when it fails, records what `onError` learns first.
  const catching =
    (onError: (error: unknown, args: { request?: unknown }) => Promise<void>) =>
    (next: (args: { request?: unknown }) => Promise<unknown>) =>
    async (args: { request?: unknown }) => {
      try {
        return await next(args);
      } catch (error) {
        await onError(error, args);
        throw error;
      }
    };
  add.call(
    stack,
    catching((error, args) => {
      const at = hostPort(args.request as RequestShape | undefined);
      return record(error, (known) => Promise.resolve(known ?? { site: { at, service } }));
    }),
    { step: 'build', name: 'sgReconcilerCallSite', override: true },
  );
  add.call(
    stack,
    catching((error) =>
      (error as { name?: unknown } | undefined)?.name === 'CredentialsProviderError'
        ? record(error, async (known) => ({
            site: known?.site ?? { service },
            credentials: await credentialsAdvice(),
          }))
        : Promise.resolve(),
    ),
    { step: 'initialize', name: 'sgReconcilerCredentials', override: true },
  );
  if (inFlight === undefined) return;
  add.call(
    stack,
    (next) => async (args) => {
      const at = hostPort(args.request as RequestShape | undefined);
      const done = inFlight.start({ at, service });
      try {
        return await next(args);
      } finally {
        done();
      }
    },
    { step: 'deserialize', name: 'sgReconcilerInFlight', override: true },
  );
}

const MAX_MESSAGE_LENGTH = 300;
/** Anything from one of these on may be a signature, a credential scope or a session token. */
const SECRET_MARKER =
  /authorization|credential=|x-amz-security-token|x-amz-signature|signature=|secretaccesskey|sessiontoken/i;
const ACCESS_KEY_ID = /\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b/g;

/**
 * Cuts the message at the first credential-shaped marker, redacts key IDs, caps the length
 * (`long`: messages that end in our advice get twice the room, so the advice is not cut off).
 */
export function sanitizeMessage(message: string, long = false): string {
  let text = message;
  const marker = SECRET_MARKER.exec(text);
  if (marker !== null) text = `${text.slice(0, marker.index).trimEnd()} [redacted]`;
  text = text.replace(ACCESS_KEY_ID, '[redacted]').replace(/\s+/g, ' ').trim();
  const max = long ? 2 * MAX_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  if (text.length > max) text = `${text.slice(0, max - 1)}…`;
  return text === '' ? 'no message' : text;
}
