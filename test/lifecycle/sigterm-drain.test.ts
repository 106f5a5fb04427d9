import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { createTokenIdentityResolver } from '../../src/proxy/identity.js';
import { startApp, testEnv } from '../support/app.js';
import { buildCli, spawnCli } from '../support/cli.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { signToken } from '../support/tokens.js';

/**
 * DESIGN.md "Semantics": at SIGTERM readiness turns 503 while in-flight requests finish;
 * the process then exits 0 within AUTHCTX_SHUTDOWN_GRACE.
 */
let origin: Origin;
/** Responses the slow origin holds until the test releases them. */
let held: ServerResponse[];
let arrived: () => Promise<void>;

beforeAll(async () => {
  buildCli();
  origin = await startOrigin();
  held = [];
  let waiters: Array<() => void> = [];
  origin.handle((req, res) => {
    req.resume();
    held.push(res);
    for (const w of waiters) w();
    waiters = [];
  });
  arrived = () => new Promise((resolve) => waiters.push(resolve));
});

afterAll(async () => {
  await origin.close();
});

async function waitForHeld(count: number): Promise<void> {
  while (held.length < count) await arrived();
}

function release(): void {
  for (const res of held.splice(0)) res.end('done');
}

describe('SIGTERM drain', () => {
  it('the real CLI turns /readyz 503, finishes in-flight requests with 200 and exits 0 within the grace period', async () => {
    const child = spawnCli(['start'], {
      ...testEnv({ AUTHCTX_UPSTREAM_URL: origin.url, AUTHCTX_PUBLIC_ROUTES: '/slow', AUTHCTX_SHUTDOWN_GRACE: '5s', AUTHCTX_LOG_LEVEL: 'info' }),
    });
    let stdout = '';
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const listening = new Promise<{ proxy: string; admin: string }>((resolve, reject) => {
      child.stdout!.on('data', (c: Buffer) => {
        stdout += c.toString();
        const line = stdout.split('\n').find((l) => l.includes('authctx is listening'));
        if (line) resolve(JSON.parse(line) as { proxy: string; admin: string });
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${stderr}`)));
    });
    try {
      const addresses = await listening;
      const proxyUrl = `http://${addresses.proxy}`;
      const adminUrl = `http://${addresses.admin}`;
      expect((await fetch(`${adminUrl}/readyz`)).status).toBe(200);

      const inFlight = [1, 2, 3].map(() => fetch(`${proxyUrl}/slow`).then(async (r) => ({ status: r.status, body: await r.text() })));
      await waitForHeld(3);
      const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
      const signalledAt = performance.now();
      child.kill('SIGTERM');

      await expect.poll(async () => (await fetch(`${adminUrl}/readyz`)).status, { interval: 20, timeout: 3000 }).toBe(503);
      release();
      expect(await Promise.all(inFlight)).toEqual([1, 2, 3].map(() => ({ status: 200, body: 'done' })));
      const [code, signal] = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      expect(performance.now() - signalledAt).toBeLessThan(5000);
    } finally {
      release();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('drain() in process: readiness 503, in-flight requests complete, resolves true', async () => {
    const app = await startApp({ AUTHCTX_UPSTREAM_URL: origin.url }, { resolver: createTokenIdentityResolver() });
    const token = await signToken({});
    const inFlight = [1, 2].map(() => fetch(`${app.proxyUrl}/api/slow`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status));
    await waitForHeld(2);
    const drained = app.stop(5000);
    expect(app.app.readiness.report()).toMatchObject({ ready: false, status: 'shutting_down' });
    expect((await fetch(`${app.adminUrl}/readyz`)).status).toBe(503);
    // New connections are no longer accepted on the proxy port.
    await expect(fetch(`${app.proxyUrl}/api/new`, { headers: { authorization: `Bearer ${token}` } })).rejects.toThrow();
    release();
    expect(await Promise.all(inFlight)).toEqual([200, 200]);
    expect(await drained).toBe(true);
  });

  it('drain() cuts what is still running when the grace period is over and resolves false', async () => {
    const app = await startApp({ AUTHCTX_UPSTREAM_URL: origin.url, AUTHCTX_PUBLIC_ROUTES: '/slow' }, { resolver: createTokenIdentityResolver() });
    // The handler is attached now: the rejection happens while drain() is awaited.
    const stuck = fetch(`${app.proxyUrl}/slow`).then((r) => r.text()).then(() => 'completed', (error: Error) => error.message);
    await waitForHeld(1);
    expect(await app.stop(100)).toBe(false);
    expect(await stuck).toBe('fetch failed');
    release();
  });
});
