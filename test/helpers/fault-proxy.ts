// A small fault-injecting HTTP proxy for integration tests: it sits between the SDK
// (`--endpoint http://127.0.0.1:<port>`) and moto_server, reads each request's EC2 `Action`, counts
// calls by action and by SDK attempt, and answers chosen requests with a fault instead of (or after)
// forwarding them: EC2 error XML, a connection reset, added latency, a request that never answers,
// or — with refuse() / restore() — no listener at all on the port.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  /** Answer with EC2 error XML (e.g. 503 RequestLimitExceeded, 500 InternalError, 503 Unavailable). */
  | { readonly kind: 'error'; readonly status: number; readonly code: string; readonly message?: string }
  /**
   * Destroy the client's socket. `before` (default): moto never sees the request. `after`: the request
   * is forwarded and moto answers (a write is applied), but the client never sees the answer.
   */
  | { readonly kind: 'reset'; readonly when?: 'before' | 'after' }
  /**
   * Wait `ms`. `before` (default): before forwarding. `after`: forward at once (a write is applied)
   * and hold the answer `ms` (the client may give up, be aborted or be killed meanwhile).
   */
  | { readonly kind: 'delay'; readonly ms: number; readonly when?: 'before' | 'after' }
  /** Never answer (the socket stays open until the client gives up or the proxy stops). */
  | { readonly kind: 'hang' };

/** What the proxy knows of one request when it decides on a fault. */
export interface CallInfo {
  /**
   * The `Action` of a query-protocol request (EC2, STS: `DescribeSecurityGroups`, `AssumeRole`), the
   * operation of a JSON one (Organizations: `ListAccounts`, from X-Amz-Target), or `(none)`.
   */
  readonly action: string;
  /** The signing name from the Authorization header's credential scope: `ec2`, `sts`, `organizations`. */
  readonly service: string;
  /** The SDK's attempt number (from its `amz-sdk-request: attempt=N; max=M` header), 1 when absent. */
  readonly attempt: number;
  /** 1-based count of this action's calls since the proxy started (or since resetCounts()). */
  readonly n: number;
  /** The form-encoded request body, decoded. */
  readonly params: URLSearchParams;
  /** The request's headers (Authorization, X-Amz-Security-Token, amz-sdk-request, ...). */
  readonly headers: http.IncomingHttpHeaders;
}

export interface FaultRule {
  /** Only calls of this action (exact name, or a pattern). Default: every action. */
  readonly action?: string | RegExp;
  /** Only calls with this SDK attempt number (1 = first attempts, never retries). */
  readonly attempt?: number;
  /** Any further condition. */
  readonly when?: (call: CallInfo) => boolean;
  /**
   * The rule counts the calls that pass its filters; it fires on the `nth` of them (1-based,
   * default 1) and on the following ones until it has fired `times` times (default 1; `'always'`:
   * every matching call from the nth on). With several rules, every rule counts every call it
   * matches and the first rule (in the order added) that fires decides the fault.
   */
  readonly nth?: number;
  readonly times?: number | 'always';
  readonly fault: Fault;
}

export interface CallRecord {
  readonly action: string;
  readonly attempt: number;
  /** The fault applied to this call, if any. */
  readonly fault?: Fault['kind'];
  /** True when moto saw the request (no fault, a delay, or a reset after forwarding). */
  readonly forwarded: boolean;
  /** The HTTP status moto answered with (when forwarded and answered). */
  readonly status?: number;
  /** Milliseconds from the proxy's start to the call's arrival. */
  readonly at: number;
}

export interface FaultProxy {
  readonly endpoint: string;
  readonly port: number;
  /** Calls received, by action (including faulted ones). */
  counts(): Record<string, number>;
  /** Calls received, by `Action#attempt` (e.g. `DescribeSecurityGroups#2`). */
  attemptCounts(): Record<string, number>;
  /** Calls that reached moto, by action. */
  forwardedCounts(): Record<string, number>;
  calls(): CallRecord[];
  resetCounts(): void;
  /** Keep the response bodies moto sends for `action` (e.g. AssumeRole, to learn issued credentials). */
  recordResponses(action: string): void;
  /** The bodies kept for `action`, in order. */
  responses(action: string): string[];
  addRule(rule: FaultRule): void;
  clearRules(): void;
  /** Stop listening (new connections are refused) and drop every open connection. */
  refuse(): Promise<void>;
  /** Listen again, on the same port. */
  restore(): Promise<void>;
  stop(): Promise<void>;
}

interface ActiveRule {
  readonly rule: FaultRule;
  matched: number;
  fired: number;
}

/** The XML STS answers errors with (awsQuery protocol: ErrorResponse/Error, unlike EC2's). */
export function stsErrorXml(code: string, message: string, requestId: string = randomUUID()): string {
  const escape = (text: string): string =>
    text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">' +
    `<Error><Type>Sender</Type><Code>${escape(code)}</Code><Message>${escape(message)}</Message></Error>` +
    `<RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}

/** The service a request is signed for (the credential scope of its Authorization header). */
function serviceOf(headers: http.IncomingHttpHeaders): string {
  const authorization = headers['authorization'];
  const value = Array.isArray(authorization) ? authorization[0] : authorization;
  return /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(value ?? '')?.[1] ?? 'unknown';
}

/** The XML EC2 answers errors with (query protocol). */
export function ec2ErrorXml(code: string, message: string, requestId: string = randomUUID()): string {
  const escape = (text: string): string =>
    text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Response><Errors><Error><Code>${escape(code)}</Code><Message>${escape(message)}</Message></Error></Errors>` +
    `<RequestID>${requestId}</RequestID></Response>`
  );
}

const DEFAULT_MESSAGES: Record<string, string> = {
  RequestLimitExceeded: 'Request limit exceeded.',
  InternalError: 'An internal error has occurred.',
  Unavailable: 'The server is overloaded and cannot handle the request.',
};

function parseAttempt(header: string | string[] | undefined): number {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value === undefined ? null : /attempt=(\d+)/.exec(value);
  return match?.[1] === undefined ? 1 : Number(match[1]);
}

function matches(rule: FaultRule, call: CallInfo): boolean {
  if (rule.action !== undefined) {
    const ok = typeof rule.action === 'string' ? rule.action === call.action : rule.action.test(call.action);
    if (!ok) return false;
  }
  if (rule.attempt !== undefined && rule.attempt !== call.attempt) return false;
  return rule.when === undefined || rule.when(call);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Start a proxy to `target` (e.g. `http://127.0.0.1:5000`) on a free loopback port. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const started = Date.now();
  const sockets = new Set<Socket>();
  const rules: ActiveRule[] = [];
  let calls: CallRecord[] = [];
  let perAction = new Map<string, number>();
  const recorded = new Map<string, string[]>();
  let stopped = false;

  const forward = (
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: upstream.host, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      delete headers['expect'];
      const out = http.request(
        {
          hostname: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers,
          agent,
        },
        (res) => {
          readBody(res).then(
            (data) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: data }),
            reject,
          );
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://proxy');
    const params = new URLSearchParams(body.toString('utf8'));
    const target = req.headers['x-amz-target'];
    const jsonAction = (Array.isArray(target) ? target[0] : target)?.split('.').pop();
    const action = params.get('Action') ?? url.searchParams.get('Action') ?? jsonAction ?? '(none)';
    const service = serviceOf(req.headers);
    const attempt = parseAttempt(req.headers['amz-sdk-request']);
    const n = (perAction.get(action) ?? 0) + 1;
    perAction.set(action, n);
    const call: CallInfo = { action, service, attempt, n, params, headers: req.headers };

    let fault: Fault | undefined;
    for (const active of rules) {
      if (!matches(active.rule, call)) continue;
      active.matched += 1;
      const nth = active.rule.nth ?? 1;
      const times = active.rule.times ?? 1;
      const fires = active.matched >= nth && (times === 'always' || active.fired < times);
      if (fires && fault === undefined) {
        active.fired += 1;
        fault = active.rule.fault;
      }
    }

    // Recorded on arrival (so counts() includes calls still in flight), completed as it ends.
    const entry: { -readonly [K in keyof CallRecord]: CallRecord[K] } = {
      action,
      attempt,
      forwarded: false,
      at: Date.now() - started,
      ...(fault === undefined ? {} : { fault: fault.kind }),
    };
    calls.push(entry);
    const record = (forwarded: boolean, status?: number): void => {
      entry.forwarded = forwarded;
      if (status !== undefined) entry.status = status;
    };

    switch (fault?.kind) {
      case 'error': {
        record(false, fault.status);
        const message = fault.message ?? DEFAULT_MESSAGES[fault.code] ?? fault.code;
        // Each protocol's own error shape, so the SDK reads the code as it would from AWS.
        const [contentType, body] =
          service === 'organizations'
            ? ['application/x-amz-json-1.1', JSON.stringify({ __type: fault.code, message })]
            : service === 'sts'
              ? ['text/xml;charset=UTF-8', stsErrorXml(fault.code, message)]
              : ['text/xml;charset=UTF-8', ec2ErrorXml(fault.code, message)];
        res.writeHead(fault.status, {
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
        });
        res.end(body);
        return;
      }
      case 'hang':
        record(false);
        return; // never answered; the socket is dropped by refuse()/stop() or the client
      case 'reset':
        if (fault.when !== 'after') {
          record(false);
          req.socket.destroy();
          return;
        }
        break;
      case 'delay':
        if (fault.when !== 'after') await sleep(fault.ms);
        break;
      default:
        break;
    }

    let answer: Awaited<ReturnType<typeof forward>>;
    try {
      answer = await forward(req, body);
    } catch (error) {
      record(false);
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`fault-proxy: upstream error: ${(error as Error).message}`);
      }
      return;
    }
    record(true, answer.status);
    if (recorded.has(action)) recorded.get(action)?.push(answer.body.toString('utf8'));
    if (fault?.kind === 'delay' && fault.when === 'after') await sleep(fault.ms);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (res.destroyed) return; // the client went away (e.g. its request timeout fired during a delay)
    const headers = { ...answer.headers, 'content-length': String(answer.body.length) };
    delete headers['transfer-encoding'];
    res.writeHead(answer.status, headers);
    res.end(answer.body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fault-proxy: ${(error as Error).message}`);
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      server.once('error', onError);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', onError);
        resolve();
      });
    });

  const close = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
    });

  await listen(0);
  const port = (server.address() as AddressInfo).port;

  const tally = (select: (call: CallRecord) => string | undefined): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const call of calls) {
      const key = select(call);
      if (key !== undefined) out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    counts: () => tally((call) => call.action),
    attemptCounts: () => tally((call) => `${call.action}#${call.attempt}`),
    forwardedCounts: () => tally((call) => (call.forwarded ? call.action : undefined)),
    calls: () => calls.map((call) => ({ ...call })),
    resetCounts: () => {
      calls = [];
      perAction = new Map();
    },
    recordResponses: (action) => {
      if (!recorded.has(action)) recorded.set(action, []);
    },
    responses: (action) => [...(recorded.get(action) ?? [])],
    addRule: (rule) => {
      rules.push({ rule, matched: 0, fired: 0 });
    },
    clearRules: () => {
      rules.length = 0;
    },
    refuse: close,
    restore: async () => {
      if (stopped) throw new Error('fault-proxy: restore() after stop()');
      if (!server.listening) await listen(port);
    },
    stop: async () => {
      stopped = true;
      await close();
      agent.destroy();
    },
  };
}
