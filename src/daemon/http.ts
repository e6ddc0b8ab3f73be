// The daemon's HTTP surface on --listen, with node:http: /healthz, /readyz and /metrics, GET (and
// HEAD) only. Requests are logged at debug level by method, path and status; never their headers.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Registry } from 'prom-client';
import { report } from '../events.js';
import type { Logger } from '../logging.js';
import type { Readiness } from './outcome.js';

export interface HealthServerOptions {
  readonly readiness: () => Readiness;
  readonly registry: Registry;
  readonly logger: Logger;
  /** What a client may hold (defaults: DEFAULT_HTTP_LIMITS). */
  readonly limits?: Partial<HttpLimits>;
}

/** What one client can hold on the HTTP port (SPEC "The daemon": idle and silent connections, a cap). */
export interface HttpLimits {
  /**
   * A connection with no traffic for this long is closed, whether it never sent a byte (Node's
   * header and request timeouts only start with the first byte) or sits idle between requests.
   */
  readonly idleTimeoutMs: number;
  /** How long a kept-alive connection may wait for its next request. */
  readonly keepAliveTimeoutMs: number;
  /** From the first byte, how long the headers / the whole request may take (slow senders). */
  readonly requestTimeoutMs: number;
  /**
   * Open connections at most. At the cap, a new connection evicts the oldest one that has no request
   * in flight (a silent or idle one), so a probe still gets through a flood of slow clients; when
   * every connection is busy, the new one is closed.
   */
  readonly maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  idleTimeoutMs: 15_000,
  keepAliveTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  maxConnections: 100,
};

const JSON_TYPE = 'application/json; charset=utf-8';

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  extra: object = {},
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...extra,
  });
  // For HEAD, node:http drops the body and keeps the headers.
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, value: unknown, extra?: object): void =>
  send(res, status, JSON_TYPE, JSON.stringify(value), extra);

/** Only the path matters; a query string (`/healthz?probe=1`) is ignored, and never logged. */
function pathOf(req: IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return '/';
  }
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  options: HealthServerOptions,
): Promise<void> {
  const known = path === '/healthz' || path === '/readyz' || path === '/metrics';
  if (!known) return sendJson(res, 404, { error: 'not found', paths: ['/healthz', '/readyz', '/metrics'] });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
  }
  switch (path) {
    case '/healthz':
      return sendJson(res, 200, { status: 'ok' });
    case '/readyz': {
      const readiness = options.readiness();
      return readiness.ready
        ? sendJson(res, 200, { ready: true })
        : sendJson(res, 503, { ready: false, reason: readiness.reason });
    }
    default: {
      const body = await options.registry.metrics();
      return send(res, 200, options.registry.contentType, body);
    }
  }
}

/** The server, not yet listening. */
export function createHealthServer(options: HealthServerOptions): Server {
  const server = createServer((req, res) => {
    const path = pathOf(req);
    route(req, res, path, options)
      .catch((error: unknown) => {
        report(options.logger, ['daemon.warning', 'http'], { component: 'http', path, err: error });
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
        else res.destroy();
      })
      .finally(() => {
        options.logger.debug(
          { component: 'http', method: req.method, path, status: res.statusCode },
          'http request',
        );
      });
  });
  bound(server, { ...DEFAULT_HTTP_LIMITS, ...options.limits });
  return server;
}

/** Applies the limits: timeouts on every socket, and the connection cap with eviction of idle ones. */
function bound(server: Server, limits: HttpLimits): void {
  // A probe that never finishes its request must not hold a socket (or a graceful stop) for long.
  server.requestTimeout = limits.requestTimeoutMs;
  server.headersTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // Inactivity on the socket itself, from the moment it is accepted: covers the silent connection.
  server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
  const open = new Set<Socket>();
  const busy = new WeakSet<Socket>();
  server.on('connection', (socket: Socket) => {
    if (open.size >= limits.maxConnections) {
      const idle = [...open].find((candidate) => !busy.has(candidate));
      if (idle === undefined) {
        socket.destroy();
        return;
      }
      idle.destroy();
      open.delete(idle);
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    busy.add(req.socket);
    res.once('close', () => busy.delete(req.socket));
  });
}

/** Resolves with the bound address, or rejects with the listen error (EADDRINUSE, EACCES, ...). */
export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      server.off('listening', onListening);
      reject(error);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, exclusive: true });
  });
}

/** Stops accepting connections and resolves once every open one is gone (idle ones are closed now). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatAddress(address: AddressInfo): string {
  return address.family === 'IPv6'
    ? `[${address.address}]:${address.port}`
    : `${address.address}:${address.port}`;
}
