import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { contextKey } from '../../src/cache/cache-key.js';
import { headerValues } from '../support/origin.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { signToken } from '../support/tokens.js';
import { namedUsers } from '../../scripts/seed.js';

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ label: 'resolution', source: 'supabase', redis: true, env: { AUTHCTX_SOURCE_TIMEOUT: '1s' } });
});

afterAll(async () => {
  await stack?.close();
});

beforeEach(async () => {
  expect((await stack.admin('/api/admin/cache/clear')).status).toBe(200);
  stack.postgrest!.resetCounters();
});

const rpcCalls = () => stack.postgrest!.rpcCalls;

async function redisHits(): Promise<number> {
  const match = /authctx_cache_requests_total\{tier="redis",result="hit"\} (\d+)/.exec(await stack.metrics());
  return Number(match?.[1] ?? 0);
}

describe('auth context resolution', () => {
  it('injects the context of the user as X-User-* headers', async () => {
    const before = stack.origin.received.length;
    const res = await stack.get(namedUsers.rina, '/api/orders');
    expect(res.status).toBe(200);
    const seen = stack.origin.received[before]!;
    expect(headerValues(seen, 'x-user-id')).toEqual([`sub-${namedUsers.rina}`]);
    expect(headerValues(seen, 'x-user-email')).toEqual(['rina@example.com']);
    expect(headerValues(seen, 'x-user-role')).toEqual(['area_manager']);
    expect(headerValues(seen, 'x-user-region')).toEqual(['JKT']);
    expect(headerValues(seen, 'x-user-scope')).toEqual(['region']);
  });

  it('makes exactly one source call for 500 concurrent requests of one cold user', async () => {
    const token = await signToken({ email: namedUsers.admin });
    const responses = await Promise.all(
      Array.from({ length: 500 }, () => fetch(`${stack.proxy.proxyUrl}/api/x`, { headers: { authorization: `Bearer ${token}` } })),
    );
    expect(responses.map((r) => r.status).every((s) => s === 200)).toBe(true);
    await Promise.all(responses.map((r) => r.arrayBuffer()));
    expect(rpcCalls()).toBe(1);
  });

  it('serves the second request from memory, and from Redis once memory is cleared', async () => {
    expect((await stack.get(namedUsers.sari)).status).toBe(200);
    expect((await stack.get(namedUsers.sari)).status).toBe(200);
    expect(rpcCalls()).toBe(1);
    const client = new Redis(stack.redis!.url);
    try {
      expect(await client.exists(contextKey(namedUsers.sari)!)).toBe(1);
    } finally {
      client.disconnect();
    }
    const hitsBefore = await redisHits();
    // Empty this replica's memory only, the way a restarted replica starts.
    expect((await stack.admin('/api/admin/cache/clear?tier=memory')).status).toBe(200);
    expect((await stack.get(namedUsers.sari)).status).toBe(200);
    expect(rpcCalls()).toBe(1);
    expect(await redisHits()).toBe(hitsBefore + 1);
  });

  it('answers 403 for an unknown user and caches the answer for the negative TTL', async () => {
    const res = await stack.get('nobody@example.com');
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_FORBIDDEN' });
    expect((await stack.get('nobody@example.com')).status).toBe(403);
    expect(rpcCalls()).toBe(1);
  });

  it('answers 403 for an inactive employee', async () => {
    expect((await stack.get(namedUsers.budi)).status).toBe(403);
  });

  it('reaches the source again after an admin invalidate', async () => {
    expect((await stack.get(namedUsers.rina)).status).toBe(200);
    expect(rpcCalls()).toBe(1);
    const res = await stack.admin(`/api/admin/cache/invalidate/${encodeURIComponent('RINA@example.com')}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ email: 'rina@example.com', invalidated: true });
    expect((await stack.get(namedUsers.rina)).status).toBe(200);
    expect(rpcCalls()).toBe(2);
  });

  it('refuses admin mutations without the token and invalid emails with 400', async () => {
    const anonymous = await fetch(`${stack.proxy.adminUrl}/api/admin/cache/clear`, { method: 'POST' });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'AUTHCTX_ERR_ADMIN_UNAUTHORIZED' });
    for (const bad of ['a@b@c', '*', 'x'.repeat(10_000)]) {
      const res = await stack.admin(`/api/admin/cache/invalidate/${encodeURIComponent(bad)}`);
      expect(res.status, bad.slice(0, 10)).toBe(400);
    }
  });

  it('answers the auth-context route from the context, without the backend', async () => {
    const before = stack.origin.received.length;
    const res = await stack.get(namedUsers.rina, '/api/auth/context');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ email: 'rina@example.com', role: 'area_manager', region: 'JKT', regions: ['JKT', 'BDG'], scope: 'region', slots: ['JKT-AM-01'] });
    expect(stack.origin.received.length).toBe(before);
  });

  it('reports per-tier stats on the admin port', async () => {
    await stack.get(namedUsers.rina);
    const stats = (await (await fetch(`${stack.proxy.adminUrl}/api/admin/cache/stats`)).json()) as { user_context_cache: { backend: string; redis: { connected: boolean }; tiers: Array<{ tier: string }> } };
    expect(stats.user_context_cache.backend).toBe('tiered');
    expect(stats.user_context_cache.redis.connected).toBe(true);
    expect(stats.user_context_cache.tiers.map((t) => t.tier)).toEqual(['memory', 'redis']);
  });
});
