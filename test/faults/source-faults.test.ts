import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namedUsers } from '../../scripts/seed.js';
import { startApp, type RunningApp } from '../support/app.js';
import { headerValues, startOrigin, type Origin } from '../support/origin.js';
import { createSeededDatabase, type TestDatabase } from '../support/postgres.js';
import { startPostgrestServer, type PostgrestServer } from '../support/postgrest-server.js';
import { activeResources, expectNoLeakedResources, expectWithin, metricValue, timedGet, waitUntil, onceAsync } from './support/fault-helpers.js';
import { startTcpFaultProxy, type TcpFaultProxy } from './support/tcp-fault-proxy.js';

const serviceRoleKey = 'test-service-role-key';
const ttlMs = 60_000;
const staleIfErrorMs = 300_000;
const sourceTimeoutMs = 600;
const coolDownMs = 300;
/** "At once": no source wait, with room for a loaded 2-core CI machine. */
const promptMs = 1_000;

let db: TestDatabase;
let postgrest: PostgrestServer;
let faults: TcpFaultProxy;
let origin: Origin;
let proxy: RunningApp;
let before: ReturnType<typeof activeResources>;
/** The app's clock runs `skewMs` ahead of the wall clock: tests expire entries without waiting. */
let skewMs = 0;

beforeAll(async () => {
  db = await createSeededDatabase('source_faults', { employees: 20 });
  before = activeResources();
  postgrest = await startPostgrestServer({ databaseUrl: db.url, serviceRoleKey });
  faults = await startTcpFaultProxy(Number(new URL(postgrest.url).port));
  origin = await startOrigin();
  proxy = await startApp(
    {
      AUTHCTX_SOURCE: 'supabase',
      SUPABASE_URL: faults.url,
      SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey,
      AUTHCTX_DATABASE_URL: undefined,
      AUTHCTX_UPSTREAM_URL: origin.url,
      AUTHCTX_CACHE_TTL: `${ttlMs}ms`,
      AUTHCTX_CACHE_TTL_JITTER: '0',
      AUTHCTX_STALE_IF_ERROR: `${staleIfErrorMs}ms`,
      AUTHCTX_SOURCE_TIMEOUT: `${sourceTimeoutMs}ms`,
      AUTHCTX_SOURCE_RETRIES: '0',
      AUTHCTX_CIRCUIT_FAILURES: '3',
      AUTHCTX_CIRCUIT_COOLDOWN: `${coolDownMs}ms`,
    },
    { now: () => Date.now() + skewMs },
  );
});

const closeSupport = onceAsync(async () => {
  await origin?.close();
  await faults?.close();
  await postgrest?.close();
});

afterAll(async () => {
  await proxy?.stop();
  await closeSupport();
  await db?.drop();
});

const get = (email: string) => timedGet(proxy.proxyUrl, email);
const metric = (name: string, labels: Record<string, string> = {}) => metricValue(proxy.adminUrl, name, labels);

/** The source is unreachable: new connections are reset and the pooled ones die. */
function sourceDown(): void {
  faults.mode = 'reset';
  faults.resetAll();
}

function sourceUp(): void {
  faults.mode = 'pass';
}

describe('context source failures', () => {
  it('answers 503 with Retry-After, at once, when the source fails with 5xx and nothing is cached', async () => {
    // The function fails inside PostgREST: HTTP 500 XX000, as long as this is set.
    postgrest.rewriteRpc = () => {
      throw new Error('boom');
    };
    try {
      const before = origin.received.length;
      const result = await get(namedUsers.sari);
      expectWithin(result, 503, promptMs);
      expect(JSON.parse(result.body)).toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_UNAVAILABLE' });
      expect(result.headers.get('retry-after')).toBe('1');
      expect(origin.received.length).toBe(before);
    } finally {
      postgrest.rewriteRpc = undefined;
    }
    expectWithin(await get(namedUsers.sari), 200, promptMs, 'source back');
  });

  it('serves an expired entry marked X-Auth-Context-Stale: 1 while the source is down, request after request', async () => {
    expectWithin(await get(namedUsers.rina), 200, promptMs);
    skewMs += ttlMs + 1_000;
    sourceDown();
    for (let i = 0; i < 2; i++) {
      const result = await get(namedUsers.rina);
      expectWithin(result, 200, promptMs, `stale #${i}`);
      expect(result.headers.get('x-auth-context-stale')).toBeNull(); // proxied: the header goes to the backend
      const seen = origin.received.at(-1)!;
      expect(headerValues(seen, 'x-auth-context-stale')).toEqual(['1']);
      expect(headerValues(seen, 'x-user-role')).toEqual(['area_manager']);
    }
    expect(await metric('authctx_context_stale_served_total')).toBe(2);
  });

  it('opens the circuit after consecutive failures: no more source calls, stale still served, cold users 503 at once', async () => {
    await get(namedUsers.rina); // third consecutive failure
    expect(await metric('authctx_circuit_state', { dependency: 'source' })).toBe(2);
    const accepted = faults.accepted;
    const stale = await get(namedUsers.rina);
    expectWithin(stale, 200, promptMs);
    expect(headerValues(origin.received.at(-1)!, 'x-auth-context-stale')).toEqual(['1']);
    expectWithin(await get(namedUsers.dewi), 503, promptMs, 'cold user');
    expect(faults.accepted).toBe(accepted);

    sourceUp();
    await waitUntil('a probe after the cool-down closes the circuit', async () => (await get(namedUsers.rina)).status === 200 && headerValues(origin.received.at(-1)!, 'x-auth-context-stale').length === 0, 3_000, 50);
    expect(await metric('authctx_circuit_state', { dependency: 'source' })).toBe(0);
  });

  it('fails closed (503) once the only cached entry expired longer ago than AUTHCTX_STALE_IF_ERROR', async () => {
    skewMs += ttlMs + staleIfErrorMs + 1_000;
    sourceDown();
    try {
      const result = await get(namedUsers.rina);
      expectWithin(result, 503, promptMs);
    } finally {
      sourceUp();
    }
  });

  it('answers within the source timeout when the source hangs: 503 for a cold user, stale for a cached one', async () => {
    expectWithin(await get(namedUsers.rina), 200, promptMs, 'warm');
    skewMs += ttlMs + 1_000;
    postgrest.delayMs = 1_500;
    const calls = postgrest.rpcCalls;
    try {
      const cold = await get(namedUsers.joko);
      expectWithin(cold, 503, sourceTimeoutMs + promptMs, 'cold');
      expect(JSON.parse(cold.body)).toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_TIMEOUT' });
      expect(cold.ms).toBeGreaterThanOrEqual(sourceTimeoutMs - 20);
      expectWithin(await get(namedUsers.rina), 200, sourceTimeoutMs + promptMs, 'stale');
      expect(headerValues(origin.received.at(-1)!, 'x-auth-context-stale')).toEqual(['1']);
    } finally {
      postgrest.delayMs = 0;
    }
    expectWithin(await get(namedUsers.rina), 200, promptMs, 'recovered');
    // The two hung calls still reach PostgREST; let them land before the next test counts calls.
    await waitUntil('the hung source calls finished', () => postgrest.rpcCalls >= calls + 3);
  });

  it('refuses a reply about another user (503 malformed) and never forwards it', async () => {
    postgrest.rewriteRpc = (value) => (value && typeof value === 'object' ? { ...value, email: 'someone-else@example.com' } : value);
    try {
      const before = origin.received.length;
      const result = await get(namedUsers.admin);
      expectWithin(result, 503, promptMs);
      expect(JSON.parse(result.body)).toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_MALFORMED' });
      expect(origin.received.length).toBe(before);
    } finally {
      postgrest.rewriteRpc = undefined;
    }
    expectWithin(await get(namedUsers.admin), 200, promptMs);
  });

  it('refreshes a hot entry near expiry in the background: the request does not wait for the source', async () => {
    expectWithin(await get(namedUsers.dewi), 200, promptMs);
    const successes = (await metric('authctx_context_refresh_ahead_total', { outcome: 'success' })) ?? 0;
    const calls = postgrest.rpcCalls;
    skewMs += ttlMs * 0.95; // inside the last 10 % of the TTL
    postgrest.delayMs = 150;
    try {
      const result = await get(namedUsers.dewi);
      expectWithin(result, 200, promptMs);
      // Answered from the cache while the refresh was still waiting on the (slow) source.
      expect((await metric('authctx_context_refresh_ahead_total', { outcome: 'success' })) ?? 0).toBe(successes);
      await waitUntil('the background refresh completed', async () => ((await metric('authctx_context_refresh_ahead_total', { outcome: 'success' })) ?? 0) === successes + 1);
      expect(postgrest.rpcCalls).toBe(calls + 1);
    } finally {
      postgrest.delayMs = 0;
    }
    // The refreshed entry has a whole TTL again: past the old expiry it is still fresh.
    skewMs += ttlMs * 0.1;
    expectWithin(await get(namedUsers.dewi), 200, promptMs);
    expect(headerValues(origin.received.at(-1)!, 'x-auth-context-stale')).toEqual([]);
    expect(postgrest.rpcCalls).toBe(calls + 1);
  });

  it('keeps serving the fresh entry when a refresh-ahead fails, without counting it as stale', async () => {
    const stale = await metric('authctx_context_stale_served_total');
    const errors = (await metric('authctx_context_refresh_ahead_total', { outcome: 'error' })) ?? 0;
    skewMs += ttlMs * 0.85; // the entry refreshed above is now in the last 10 % of its TTL
    sourceDown();
    try {
      expectWithin(await get(namedUsers.dewi), 200, promptMs);
      expect(headerValues(origin.received.at(-1)!, 'x-auth-context-stale')).toEqual([]);
      await waitUntil('the refresh-ahead failure is counted', async () => ((await metric('authctx_context_refresh_ahead_total', { outcome: 'error' })) ?? 0) === errors + 1);
      expect(await metric('authctx_context_stale_served_total')).toBe(stale);
    } finally {
      sourceUp();
    }
  });

  it('closes cleanly: no sockets or timers left behind', async () => {
    expect(await proxy.stop()).toBe(true);
    await waitUntil('no connection left to the source', () => faults.openConnections === 0);
    // The support servers hold pools of their own: with them closed, whatever is left is the app's.
    await closeSupport();
    await expectNoLeakedResources(before);
  });
});
