// The daemon's HTTP routes, served by node:http on a loopback port.
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, type Logger } from '../../src/logging.js';
import {
  closeServer,
  createHealthServer,
  DEFAULT_HTTP_LIMITS,
  formatAddress,
  listen,
  type HttpLimits,
} from '../../src/daemon/http.js';
import { createDaemonMetrics } from '../../src/daemon/metrics.js';
import type { Readiness } from '../../src/daemon/outcome.js';

type Line = Record<string, unknown>;

function capture(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: { write: (text: string) => void lines.push(JSON.parse(text) as Line) },
  });
  return { logger, lines };
}

let server: Server | undefined;

afterEach(async () => {
  if (server !== undefined) await closeServer(server);
  server = undefined;
});

async function start(
  readiness: () => Readiness,
  limits?: Partial<HttpLimits>,
): Promise<{ base: string; lines: Line[]; port: number }> {
  const { logger, lines } = capture();
  const metrics = createDaemonMetrics();
  metrics.passes.labels('completed').inc(3);
  server = createHealthServer({
    readiness,
    registry: metrics.registry,
    logger,
    ...(limits !== undefined ? { limits } : {}),
  });
  const address = await listen(server, '127.0.0.1', 0);
  return { base: `http://${formatAddress(address)}`, lines, port: address.port };
}

/** A client connection that never sends a byte; `closed` resolves when the server closes it. */
async function silentSocket(port: number): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = connect(port, '127.0.0.1');
  const opened = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed };
}

describe('health server connection bounds', () => {
  it('closes a connection that never sends a byte once the idle timeout passes', async () => {
    const { port } = await start(() => ({ ready: true }), { idleTimeoutMs: 300 });
    const { closed } = await silentSocket(port);

    const after = await closed;

    expect(after).toBeGreaterThanOrEqual(250);
    expect(after).toBeLessThan(3_000);
  });

  it('keeps answering /healthz under a flood of 200 silent connections, holding at most the cap', async () => {
    const { base, port } = await start(() => ({ ready: true }), {
      maxConnections: 50,
      idleTimeoutMs: 60_000,
    });
    const flood = [];
    for (let i = 0; i < 200; i++) flood.push(await silentSocket(port));
    try {
      const health = await fetch(`${base}/healthz`);
      expect(health.status).toBe(200);
      await new Promise((r) => setTimeout(r, 200));
      const open = flood.filter((client) => !client.socket.destroyed && client.socket.readyState === 'open');
      expect(open.length).toBeLessThanOrEqual(50);
    } finally {
      for (const client of flood) client.socket.destroy();
      server?.closeAllConnections();
    }
  });

  it('by default closes silent connections within 30 s and caps connections', () => {
    expect(DEFAULT_HTTP_LIMITS.idleTimeoutMs).toBeLessThanOrEqual(30_000);
    expect(DEFAULT_HTTP_LIMITS.maxConnections).toBeGreaterThan(0);
  });
});

describe('health server', () => {
  it('answers /healthz with 200 {"status":"ok"}', async () => {
    const { base } = await start(() => ({ ready: false, reason: 'no pass completed yet' }));
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 200 when ready and 503 with the reason when not', async () => {
    let readiness: Readiness = { ready: false, reason: 'no pass completed yet' };
    const { base } = await start(() => readiness);

    const before = await fetch(`${base}/readyz`);
    expect(before.status).toBe(503);
    expect(await before.json()).toEqual({ ready: false, reason: 'no pass completed yet' });

    readiness = { ready: true };
    const after = await fetch(`${base}/readyz`);
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual({ ready: true });
  });

  it('serves the registry in the Prometheus text format, default process metrics included', async () => {
    const { base } = await start(() => ({ ready: true }));
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await res.text();
    expect(body).toContain('sgr_passes_total{result="completed"} 3');
    expect(body).toContain('# TYPE sgr_pass_duration_seconds histogram');
    expect(body).toMatch(/^sgr_process_cpu_user_seconds_total \d/m);
    expect(body).toMatch(/^sgr_nodejs_eventloop_lag_seconds /m);
  });

  it('ignores the query string', async () => {
    const { base } = await start(() => ({ ready: true }));
    const res = await fetch(`${base}/healthz?probe=kubelet`);
    expect(res.status).toBe(200);
  });

  it('answers HEAD like GET without a body', async () => {
    const { base } = await start(() => ({ ready: false, reason: 'shutting down' }));
    const res = await fetch(`${base}/readyz`, { method: 'HEAD' });
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('');
  });

  it.each(['POST', 'PUT', 'DELETE'])('refuses %s with 405 and an Allow header', async (method) => {
    const { base } = await start(() => ({ ready: true }));
    const res = await fetch(`${base}/metrics`, { method });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it.each(['/', '/health', '/metrics/extra', '/readyz/'])(
    'answers unknown path %s with 404',
    async (path) => {
      const { base } = await start(() => ({ ready: true }));
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(404);
    },
  );

  it('logs requests by method, path and status only, never their headers', async () => {
    const { base, lines } = await start(() => ({ ready: true }));
    await fetch(`${base}/healthz?token=abc`, {
      headers: { authorization: 'Bearer secret-value', cookie: 'session=1' },
    });
    await new Promise((r) => setTimeout(r, 20));

    expect(lines).toEqual([
      {
        level: 'debug',
        time: expect.any(String),
        component: 'http',
        method: 'GET',
        path: '/healthz',
        status: 200,
        msg: 'http request',
      },
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret-value');
  });

  it('rejects a second server on the same port with EADDRINUSE', async () => {
    const { base } = await start(() => ({ ready: true }));
    const port = Number(new URL(base).port);
    const { logger } = capture();
    const other = createHealthServer({
      readiness: () => ({ ready: true }),
      registry: createDaemonMetrics().registry,
      logger,
    });
    await expect(listen(other, '127.0.0.1', port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(other.listening).toBe(false);
  });
});
