import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { contextKey } from '../../src/cache/cache-key.js';
import { startApp, type RunningApp } from '../support/app.js';
import { headerValues, startOrigin, type Origin } from '../support/origin.js';
import { createSeededDatabase, type TestDatabase } from '../support/postgres.js';
import { startPostgrestServer, type PostgrestServer } from '../support/postgrest-server.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { signToken } from '../support/tokens.js';
import { namedUsers } from '../../scripts/seed.js';

const serviceRoleKey = 'test-service-role-key';
const adminToken = 'test-admin-token';

let db: TestDatabase;
let postgrest: PostgrestServer;
let origin: Origin;
let redis: TestRedisServer;
let proxy: RunningApp;

beforeAll(async () => {
  db = await createSeededDatabase('resolution', { employees: 50 });
  postgrest = await startPostgrestServer({ databaseUrl: db.url, serviceRoleKey });
  origin = await startOrigin();
  redis = await startRedisServer();
  proxy = await startApp({
    AUTHCTX_SOURCE: 'supabase',
    SUPABASE_URL: postgrest.url,
    SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey,
    AUTHCTX_DATABASE_URL: undefined,
    AUTHCTX_UPSTREAM_URL: origin.url,
    AUTHCTX_ADMIN_TOKEN: adminToken,
    REDIS_URL: redis.url,
    AUTHCTX_SOURCE_TIMEOUT: '1s',
  });
});

afterAll(async () => {
  await proxy?.stop();
  await postgrest?.close();
  await origin?.close();
  await redis?.stop();
  await db?.drop();
});

beforeEach(async () => {
  await admin('/api/admin/cache/clear');
  postgrest.resetCounters();
});

async function admin(path: string): Promise<Response> {
  return fetch(`${proxy.adminUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
}

async function get(email: string, path = '/api/orders'): Promise<Response> {
  const token = await signToken({ email, sub: `sub-${email}` });
  return fetch(`${proxy.proxyUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
}

describe('auth context resolution', () => {
  it('injects the context of the user as X-User-* headers', async () => {
    const before = origin.received.length;
    const res = await get(namedUsers.rina);
    expect(res.status).toBe(200);
    const seen = origin.received[before]!;
    expect(headerValues(seen, 'x-user-id')).toEqual([`sub-${namedUsers.rina}`]);
    expect(headerValues(seen, 'x-user-email')).toEqual(['rina@example.com']);
    expect(headerValues(seen, 'x-user-role')).toEqual(['area_manager']);
    expect(headerValues(seen, 'x-user-region')).toEqual(['JKT']);
    expect(headerValues(seen, 'x-user-scope')).toEqual(['region']);
  });

  it('makes exactly one source call for 500 concurrent requests of one cold user', async () => {
    const token = await signToken({ email: namedUsers.admin });
    const responses = await Promise.all(
      Array.from({ length: 500 }, () => fetch(`${proxy.proxyUrl}/api/x`, { headers: { authorization: `Bearer ${token}` } })),
    );
    expect(responses.map((r) => r.status).every((s) => s === 200)).toBe(true);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    expect(postgrest.rpcCalls).toBe(1);
  });

  it('serves the second request from memory, and from Redis once memory is cleared', async () => {
    expect((await get(namedUsers.sari)).status).toBe(200);
    expect((await get(namedUsers.sari)).status).toBe(200);
    expect(postgrest.rpcCalls).toBe(1);
    // Drop only this replica's memory tier: Redis still holds the entry.
    const client = new Redis(redis.url);
    try {
      expect(await client.exists(contextKey(namedUsers.sari)!)).toBe(1);
    } finally {
      client.disconnect();
    }
    const metricsBefore = await redisHits();
    await clearMemoryTier();
    expect((await get(namedUsers.sari)).status).toBe(200);
    expect(postgrest.rpcCalls).toBe(1);
    expect(await redisHits()).toBe(metricsBefore + 1);
  });

  it('answers 403 for an unknown user and caches the answer for the negative TTL', async () => {
    const res = await get('nobody@example.com');
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_FORBIDDEN' });
    expect((await get('nobody@example.com')).status).toBe(403);
    expect(postgrest.rpcCalls).toBe(1);
  });

  it('answers 403 for an inactive employee', async () => {
    expect((await get(namedUsers.budi)).status).toBe(403);
  });

  it('reaches the source again after an admin invalidate', async () => {
    expect((await get(namedUsers.rina)).status).toBe(200);
    expect(postgrest.rpcCalls).toBe(1);
    const res = await admin(`/api/admin/cache/invalidate/${encodeURIComponent('RINA@example.com')}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ email: 'rina@example.com', invalidated: true });
    expect((await get(namedUsers.rina)).status).toBe(200);
    expect(postgrest.rpcCalls).toBe(2);
  });

  it('refuses admin mutations without the token and invalid emails with 400', async () => {
    const anonymous = await fetch(`${proxy.adminUrl}/api/admin/cache/clear`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'AUTHCTX_ERR_ADMIN_UNAUTHORIZED' });
    for (const bad of ['a@b@c', '*', 'x'.repeat(10_000)]) {
      const res = await admin(`/api/admin/cache/invalidate/${encodeURIComponent(bad)}`);
      expect(res.status, bad.slice(0, 10)).toBe(400);
    }
  });

  it('answers the auth-context route from the context, without the backend', async () => {
    const before = origin.received.length;
    const res = await get(namedUsers.rina, '/api/auth/context');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ email: 'rina@example.com', role: 'area_manager', region: 'JKT', regions: ['JKT', 'BDG'], scope: 'region', slots: ['JKT-AM-01'] });
    expect(origin.received.length).toBe(before);
  });

  it('reports per-tier stats on the admin port', async () => {
    await get(namedUsers.rina);
    const stats = (await (await fetch(`${proxy.adminUrl}/api/admin/cache/stats`)).json()) as Record<string, any>;
    expect(stats.user_context_cache.backend).toBe('tiered');
    expect(stats.user_context_cache.redis.connected).toBe(true);
    const tiers = stats.user_context_cache.tiers.map((t: { tier: string }) => t.tier);
    expect(tiers).toEqual(['memory', 'redis']);
  });
});

async function redisHits(): Promise<number> {
  const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
  const match = /authctx_cache_requests_total\{tier="redis",result="hit"\} (\d+)/.exec(text);
  return Number(match?.[1] ?? 0);
}

/** Empties the memory tier only, the way a restarted replica starts (Redis keeps its entries). */
async function clearMemoryTier(): Promise<void> {
  const res = await fetch(`${proxy.adminUrl}/api/admin/cache/clear?tier=memory`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
  expect(res.status).toBe(200);
}
