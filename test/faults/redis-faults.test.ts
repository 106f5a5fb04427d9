import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedEmail } from '../../scripts/seed.js';
import { contextKey } from '../../src/cache/cache-key.js';
import { startApp, type RunningApp } from '../support/app.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { createSeededDatabase, type TestDatabase } from '../support/postgres.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { activeResources, expectNoLeakedResources, expectWithin, metricValue, timedGet, waitUntil, onceAsync } from './support/fault-helpers.js';

const commandTimeoutMs = 50;
const graceMs = 2_000;
/** Bound on any request while Redis misbehaves: its command timeouts plus a source call, with CI slack. */
const boundMs = 1_000;
/** Generated employee i is inactive when i % 17 === 0 (scripts/seed.ts). */
const user = (i: number) => generatedEmail(i % 17 === 0 ? i + 1 : i);

let db: TestDatabase;
let origin: Origin;
let redis: TestRedisServer;
let proxy: RunningApp;
let before: ReturnType<typeof activeResources>;
let skewMs = 0;

beforeAll(async () => {
  db = await createSeededDatabase('redis_faults', { employees: 400 });
  before = activeResources();
  origin = await startOrigin();
  redis = await startRedisServer();
  proxy = await startApp(
    {
      AUTHCTX_DATABASE_URL: db.url,
      AUTHCTX_DATABASE_LISTEN: 'false',
      AUTHCTX_UPSTREAM_URL: origin.url,
      REDIS_URL: redis.url,
      AUTHCTX_REDIS_COMMAND_TIMEOUT: `${commandTimeoutMs}ms`,
      AUTHCTX_INVALIDATION_GRACE: `${graceMs}ms`,
      AUTHCTX_CIRCUIT_FAILURES: '3',
      AUTHCTX_CIRCUIT_COOLDOWN: '200ms',
    },
    { now: () => Date.now() + skewMs },
  );
  await waitUntil('subscribed to the invalidation channel', async () => (await metric('authctx_invalidation_subscribed', { channel: 'redis' })) === 1);
});

const closeSupport = onceAsync(async () => {
  await origin?.close();
  await redis?.stop();
});

afterAll(async () => {
  await proxy?.stop();
  await closeSupport();
  await db?.drop();
});

const get = (email: string) => timedGet(proxy.proxyUrl, email);
const metric = (name: string, labels: Record<string, string> = {}) => metricValue(proxy.adminUrl, name, labels);
const sourceCalls = async () => (await metric('authctx_context_source_requests_total', { source: 'postgres', outcome: 'found' })) ?? 0;
const subscribed = async () => metric('authctx_invalidation_subscribed', { channel: 'redis' });

describe('Redis failures', () => {
  it('answers within the command timeout while Redis hangs, opens the circuit, and recovers after SIGCONT', async () => {
    expectWithin(await get(user(1)), 200, boundMs);
    redis.pause();
    try {
      for (let i = 2; i <= 8; i++) expectWithin(await get(user(i)), 200, boundMs, `user ${i}`);
      expect(await metric('authctx_circuit_state', { dependency: 'redis' })).toBe(2);
      const errors = await metric('authctx_cache_requests_total', { tier: 'redis', result: 'error' });
      // With the circuit open a request costs no Redis round trip at all.
      const open = await get(user(9));
      expectWithin(open, 200, boundMs);
      expect(await metric('authctx_cache_requests_total', { tier: 'redis', result: 'error' })).toBe((errors ?? 0) + 2);
      // A hung server keeps its sockets open: only the heartbeat can tell the subscription is gone.
      await waitUntil('subscription reported lost', async () => (await subscribed()) === 0);
    } finally {
      redis.resume();
    }
    await waitUntil('subscribed again', async () => (await subscribed()) === 1, 5_000);
    let next = 360;
    await waitUntil('circuit closed by a probe', async () => {
      // A cold user each time: a memory hit would not reach Redis, so it could not probe.
      expectWithin(await get(user(next++)), 200, boundMs);
      return (await metric('authctx_circuit_state', { dependency: 'redis' })) === 0;
    });
  });

  it('while unsubscribed, re-reads contexts older than AUTHCTX_INVALIDATION_GRACE; once back, trusts them again', async () => {
    expectWithin(await get(user(20)), 200, boundMs);
    const calls = await sourceCalls();
    await redis.kill();
    await waitUntil('subscription reported lost', async () => (await subscribed()) === 0);
    expectWithin(await get(user(20)), 200, boundMs, 'young entry');
    expect(await sourceCalls()).toBe(calls); // younger than the grace: still served from memory
    skewMs += graceMs + 1_000;
    expectWithin(await get(user(20)), 200, boundMs, 'old entry');
    expect(await sourceCalls()).toBe(calls + 1); // it might have missed an invalidation: re-read
    expectWithin(await get(user(20)), 200, boundMs);
    expect(await sourceCalls()).toBe(calls + 1);

    await redis.restart();
    await waitUntil('subscribed again', async () => (await subscribed()) === 1, 5_000);
    // Whatever memory held from before may have missed messages: it was dropped on resubscription.
    expectWithin(await get(user(20)), 200, boundMs);
    expect(await sourceCalls()).toBe(calls + 2);
    skewMs += graceMs + 1_000;
    expectWithin(await get(user(20)), 200, boundMs);
    expect(await sourceCalls()).toBe(calls + 2);
  });

  it('treats garbage JSON under a context key as a miss: deleted, answered from the source, rewritten', async () => {
    const email = user(30);
    const client = new Redis(redis.url);
    try {
      await client.set(contextKey(email)!, '{"v": not json', 'PX', 60_000);
      const calls = await sourceCalls();
      const result = await get(email);
      expectWithin(result, 200, boundMs);
      expect(await sourceCalls()).toBe(calls + 1);
      const stored = JSON.parse((await client.get(contextKey(email)!))!) as { v: { email: string } };
      expect(stored.v.email).toBe(email);
    } finally {
      client.disconnect();
    }
  });

  it('answers every request within its bound while Redis restarts every second', async () => {
    let flapping = true;
    const flapper = (async () => {
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        await redis.restart();
      }
      flapping = false;
    })();
    const results: Array<{ status: number; ms: number }> = [];
    let i = 0;
    while (flapping) {
      const batch = await Promise.all([get(user(100 + (i % 250))), get(user(101 + (i % 250))), get(user(1 + (i % 40)))]);
      results.push(...batch);
      i += 2;
    }
    await flapper;
    expect(results.length).toBeGreaterThan(50);
    const failed = results.filter((r) => r.status !== 200);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
    const slowest = Math.max(...results.map((r) => r.ms));
    expect(slowest).toBeLessThan(boundMs);
    await waitUntil('subscribed again after the flapping', async () => (await subscribed()) === 1, 5_000);
  });

  it('closes cleanly: no sockets or timers left behind', async () => {
    expect(await proxy.stop()).toBe(true);
    await closeSupport();
    await expectNoLeakedResources(before);
  });
});
