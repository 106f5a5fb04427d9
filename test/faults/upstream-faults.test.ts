import { createServer, type AddressInfo } from 'node:net';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../support/app.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { activeResources, expectNoLeakedResources, metricValue, waitUntil } from './support/fault-helpers.js';
import { startTcpFaultProxy, type TcpFaultProxy } from './support/tcp-fault-proxy.js';

/** Backend timeouts for this file. */
const timeoutMs = 300;
const slackMs = 1_000; // "at once", with room for a loaded 2-core CI machine
/**
 * undici arms its headers and body timeouts on a coarse timer wheel (≈ 1 s ticks), so a
 * timeout fires between `timeoutMs` and `timeoutMs` + 1 s.
 */
const timeoutBoundMs = timeoutMs + 1_000 + slackMs;

let origin: Origin;
let faults: TcpFaultProxy;
let proxy: RunningApp;
let before: ReturnType<typeof activeResources>;
const held: ServerResponse[] = [];

const env = (upstream: string): Record<string, string | undefined> => ({
  AUTHCTX_UPSTREAM_URL: upstream,
  AUTHCTX_PUBLIC_ROUTES: '/pub/*',
  AUTHCTX_UPSTREAM_TIMEOUT: `${timeoutMs}ms`,
  AUTHCTX_UPSTREAM_BODY_TIMEOUT: `${timeoutMs}ms`,
  AUTHCTX_UPSTREAM_CONNECT_TIMEOUT: `${timeoutMs}ms`,
  AUTHCTX_DATABASE_LISTEN: 'false',
  AUTHCTX_MAX_IN_FLIGHT: '3',
});

beforeAll(async () => {
  origin = await startOrigin();
  origin.handle((req, res) => {
    switch (req.url) {
      case '/pub/reset-before':
        req.socket.resetAndDestroy();
        return;
      case '/pub/reset-mid':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
        res.write('x'.repeat(1000), () => setImmediate(() => req.socket.resetAndDestroy()));
        return;
      case '/pub/stall':
      case '/pub/hold':
        held.push(res);
        return;
      case '/pub/stall-body':
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
        res.write('partial');
        held.push(res);
        return;
      default:
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    }
  });
  faults = await startTcpFaultProxy(origin.port);
  before = activeResources();
  proxy = await startApp(env(faults.url));
});

afterAll(async () => {
  await proxy?.stop();
  await faults?.close();
  await origin?.close();
});

async function timed(path: string): Promise<{ status: number; ms: number; bodyError: unknown; headers: Headers }> {
  const start = performance.now();
  const res = await fetch(`${proxy.proxyUrl}${path}`);
  let bodyError: unknown;
  await res.text().catch((error: unknown) => (bodyError = error));
  return { status: res.status, ms: performance.now() - start, bodyError, headers: res.headers };
}

function releaseHeld(): void {
  for (const res of held.splice(0)) res.destroy();
}

describe('backend failures', () => {
  it('answers 502 at once when the backend refuses connections', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const refused = await startApp(env(`http://127.0.0.1:${closedPort}`));
    try {
      const start = performance.now();
      const res = await fetch(`${refused.proxyUrl}/pub/ok`);
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ code: 'AUTHCTX_ERR_PROXY_UPSTREAM_UNREACHABLE' });
      expect(performance.now() - start).toBeLessThan(slackMs);
    } finally {
      await refused.stop();
    }
  });

  it('answers 502 when the backend resets the connection before its headers', async () => {
    const result = await timed('/pub/reset-before');
    expect(result.status).toBe(502);
    expect(result.ms).toBeLessThan(slackMs);
  });

  it('answers 502 when the connection is reset at accept (a crashed peer)', async () => {
    faults.mode = 'reset';
    try {
      const result = await timed('/pub/ok');
      expect(result.status).toBe(502);
      expect(result.ms).toBeLessThan(slackMs);
    } finally {
      faults.mode = 'pass';
    }
  });

  it('cuts the client connection when the backend resets mid-body, instead of hanging', async () => {
    const result = await timed('/pub/reset-mid');
    expect(result.status).toBe(200); // the status line was already sent
    expect(result.bodyError).toBeDefined();
    expect(result.ms).toBeLessThan(slackMs);
  });

  it('answers 504 within the headers timeout when the backend stalls before its headers', async () => {
    try {
      const result = await timed('/pub/stall');
      expect(result.status).toBe(504);
      expect(await metricValue(proxy.adminUrl, 'authctx_upstream_errors_total', { kind: 'timeout' })).toBe(1);
      expect(result.ms).toBeGreaterThanOrEqual(timeoutMs - 20);
      expect(result.ms).toBeLessThan(timeoutBoundMs);
    } finally {
      releaseHeld();
    }
  });

  it('answers 504 when the backend accepts the connection and never reads or writes', async () => {
    faults.mode = 'blackhole';
    try {
      const result = await timed('/pub/ok');
      expect(result.status).toBe(504);
      expect(result.ms).toBeLessThan(timeoutBoundMs);
    } finally {
      faults.mode = 'pass';
      faults.resetAll();
    }
  });

  it('cuts the response within the body timeout when the backend stalls mid-body', async () => {
    try {
      const result = await timed('/pub/stall-body');
      expect(result.status).toBe(200);
      expect(result.bodyError).toBeDefined();
      expect(result.ms).toBeLessThan(timeoutBoundMs);
    } finally {
      releaseHeld();
    }
  });

  it('answers 502 for requests in flight when the backend goes away (pod shutdown)', async () => {
    const pending = Promise.all([timed('/pub/hold'), timed('/pub/hold')]);
    try {
      await waitUntil('both requests reached the backend', () => held.length === 2);
      faults.resetAll(); // the backend container is gone: its sockets die with it
      const results = await pending;
      expect(results.map((r) => r.status)).toEqual([502, 502]);
      expect(results.every((r) => r.ms < slackMs)).toBe(true);
    } finally {
      releaseHeld();
    }
  });

  it('refuses with 503 and Retry-After at once above the in-flight limit, without queueing', async () => {
    const pending = Promise.all([timed('/pub/hold'), timed('/pub/hold'), timed('/pub/hold')]);
    await waitUntil('three requests held by the backend', () => held.length === 3);
    const refused = await timed('/pub/ok');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.ms).toBeLessThan(slackMs);
    expect(await metricValue(proxy.adminUrl, 'authctx_overload_rejections_total', { reason: 'in_flight' })).toBe(1);
    for (const res of held.splice(0)) res.writeHead(200).end('released');
    expect((await pending).map((r) => r.status)).toEqual([200, 200, 200]);
    expect((await timed('/pub/ok')).status).toBe(200);
  });

  it('releases every backend socket and leaves no sockets or timers behind once stopped', async () => {
    expect(await metricValue(proxy.adminUrl, 'authctx_upstream_errors_total', { kind: 'timeout' })).toBeGreaterThanOrEqual(2);
    expect(await metricValue(proxy.adminUrl, 'authctx_upstream_errors_total', { kind: 'unreachable' })).toBeGreaterThanOrEqual(3);
    expect(await proxy.stop()).toBe(true);
    await waitUntil('no connection left between authctx and the backend', () => faults.openConnections === 0);
    await expectNoLeakedResources(before);
  });
});

describe('event-loop overload', () => {
  it('refuses with 503 while the event loop lags beyond the limit, and admits again once it recovers', async () => {
    const app = await startApp({ ...env(origin.url), AUTHCTX_MAX_IN_FLIGHT: '0', AUTHCTX_MAX_EVENT_LOOP_DELAY: '100ms' });
    try {
      expect((await fetch(`${app.proxyUrl}/pub/ok`)).status).toBe(200);
      // Block this process' event loop (the app runs in it) the way a CPU-bound burst would.
      const until = performance.now() + 600;
      while (performance.now() < until) {
        // busy
      }
      const res = await fetch(`${app.proxyUrl}/pub/ok`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toMatchObject({ code: 'AUTHCTX_ERR_PROXY_OVERLOADED' });
      expect(await metricValue(app.adminUrl, 'authctx_overload_rejections_total', { reason: 'event_loop' })).toBeGreaterThanOrEqual(1);
      await waitUntil('requests admitted again', async () => (await fetch(`${app.proxyUrl}/pub/ok`)).status === 200);
    } finally {
      await app.stop();
    }
  });
});
