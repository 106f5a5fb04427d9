import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore, type MemoryStore } from '../../src/cache/memory-store.js';
import { createRedisStore } from '../../src/cache/redis-store.js';
import { createTieredStore, type TieredStore } from '../../src/cache/tiered-store.js';
import { createRedisClient } from '../../src/cache/redis-client.js';
import { advanceRedisTtls, readyClient, removeKeysUnder, ttlOrUndefined } from './redis-harness.js';
import { runCacheStoreContract, testPrefix } from './store-contract.js';

let client: Redis;
beforeAll(async () => {
  client = (await readyClient()) as Redis;
});
afterAll(async () => {
  await client.quit();
});

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

runCacheStoreContract('tiered', async () => {
  const prefix = testPrefix();
  const clock = fakeClock();
  const l1 = createMemoryStore<unknown>({ maxEntries: 1_000, now: clock.now });
  const store = createTieredStore({ l1, l2: createRedisStore<unknown>({ client, statsPrefix: prefix }) });
  return {
    store,
    prefix,
    advance: async (ms) => {
      clock.advance(ms);
      await advanceRedisTtls(client, prefix, ms);
    },
    // The longer of the two: neither tier may hold the entry past its absolute expiry.
    ttlOf: async (key) => {
      const ttls = [l1.remainingTtlMs(key), await ttlOrUndefined(client, key)].filter((t) => t !== undefined);
      return ttls.length === 0 ? undefined : Math.max(...ttls);
    },
    cleanup: async () => {
      await store.close();
      await removeKeysUnder(client, prefix);
    },
  };
});

describe('tiered store', () => {
  let prefix: string;
  let clock: ReturnType<typeof fakeClock>;
  let l1: MemoryStore<string>;
  let store: TieredStore<string>;
  let registry: Registry;

  beforeEach(() => {
    prefix = testPrefix();
    clock = fakeClock();
    registry = new Registry();
    l1 = createMemoryStore<string>({ maxEntries: 100, now: clock.now, registry });
    store = createTieredStore({ l1, l2: createRedisStore<string>({ client, registry }) });
  });
  afterEach(async () => {
    await removeKeysUnder(client, prefix);
  });

  it('writes an L2 hit back to L1 with the TTL left in Redis, not a fresh one', async () => {
    const key = `${prefix}k`;
    await client.set(key, '"from-another-replica"', 'PX', 3_000);
    expect(await store.get(key)).toBe('from-another-replica');
    const l1Ttl = l1.remainingTtlMs(key);
    expect(l1Ttl).toBeGreaterThan(2_000);
    expect(l1Ttl).toBeLessThanOrEqual(3_000);
    // Served from L1 now, even with Redis emptied behind it ...
    await client.del(key);
    expect(await store.get(key)).toBe('from-another-replica');
    // ... and only until the absolute expiry the writer set.
    clock.advance(3_001);
    expect(await store.get(key)).toBeUndefined();
    const text = await registry.metrics();
    expect(text).toContain('authctx_cache_requests_total{tier="memory",result="hit"} 1');
    expect(text).toContain('authctx_cache_requests_total{tier="redis",result="hit"} 1');
  });

  it('serves from L2 when L1 was cleared', async () => {
    const key = `${prefix}k`;
    await store.set(key, 'v', 60_000);
    await l1.clear(prefix);
    expect(l1.peek(key)).toBeUndefined();
    expect(await store.get(key)).toBe('v');
    expect(l1.peek(key)).toBe('v');
  });

  it('writes to both tiers and deletes from both', async () => {
    const key = `${prefix}k`;
    await store.set(key, 'v', 60_000);
    expect(l1.peek(key)).toBe('v');
    expect(await client.get(key)).toBe('"v"');
    await store.delete(key);
    expect(l1.peek(key)).toBeUndefined();
    expect(await client.exists(key)).toBe(0);
  });

  it('reports both tiers in stats', async () => {
    await store.set(`${prefix}k`, 'v', 60_000);
    const stats = await store.stats();
    expect(stats.tiers.map((t) => t.tier)).toEqual(['memory', 'redis']);
  });

  it('keeps serving from L1 when Redis is unreachable', async () => {
    const dead = createRedisClient({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 50, maxReconnectDelayMs: 100 });
    const degraded = createTieredStore({ l1, l2: createRedisStore<string>({ client: dead, registry }) });
    try {
      await degraded.set(`${prefix}k`, 'v', 60_000);
      expect(await degraded.get(`${prefix}k`)).toBe('v');
      expect(await degraded.get(`${prefix}absent`)).toBeUndefined();
      expect(await registry.metrics()).toMatch(/authctx_cache_requests_total\{tier="redis",result="error"\} [1-9]/);
    } finally {
      dead.disconnect();
    }
  });
});
