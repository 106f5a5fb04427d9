import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/cache/memory-store.js';
import { runCacheStoreContract, testPrefix } from './store-contract.js';

function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  // lru-cache treats a start time of 0 as "no TTL": begin well above it.
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

runCacheStoreContract('memory', async () => {
  const clock = fakeClock();
  const store = createMemoryStore<unknown>({ maxEntries: 1_000, now: clock.now });
  return {
    store,
    prefix: testPrefix(),
    advance: async (ms) => clock.advance(ms),
    ttlOf: async (key) => store.remainingTtlMs(key),
    cleanup: () => store.close(),
  };
});

describe('memory store', () => {
  it('evicts the least recently used entry beyond maxEntries', async () => {
    const store = createMemoryStore<number>({ maxEntries: 3 });
    store.put('a', 1, 60_000);
    store.put('b', 2, 60_000);
    store.put('c', 3, 60_000);
    expect(store.peek('a')).toBe(1); // a is now the most recent, b the least
    store.put('d', 4, 60_000);
    expect(store.entries()).toBe(3);
    expect(store.peek('b')).toBeUndefined();
    expect([store.peek('a'), store.peek('c'), store.peek('d')]).toEqual([1, 3, 4]);
  });

  it('reads synchronously with peek, with the same expiry as get', () => {
    const clock = fakeClock();
    const store = createMemoryStore<string>({ maxEntries: 10, now: clock.now });
    store.put('k', 'v', 100);
    expect(store.peek('k')).toBe('v');
    clock.advance(101);
    expect(store.peek('k')).toBeUndefined();
    expect(store.remainingTtlMs('k')).toBeUndefined();
  });

  it('counts hits and misses and keeps the entries gauge current', async () => {
    const registry = new Registry();
    const store = createMemoryStore<string>({ maxEntries: 10, registry });
    await store.set('a', 'x', 60_000);
    await store.set('b', 'y', 60_000);
    await store.get('a');
    store.peek('a');
    await store.get('missing');
    await store.delete('b');
    const text = await registry.metrics();
    expect(text).toContain('authctx_cache_requests_total{tier="memory",result="hit"} 2');
    expect(text).toContain('authctx_cache_requests_total{tier="memory",result="miss"} 1');
    expect(text).toContain('authctx_cache_entries{tier="memory"} 1');
  });

  it('shares metrics between two stores on one registry', () => {
    const registry = new Registry();
    createMemoryStore({ maxEntries: 1, registry });
    expect(() => createMemoryStore({ maxEntries: 1, registry })).not.toThrow();
  });

  it('estimates its size in bytes when given sizeOf', async () => {
    const store = createMemoryStore<string>({ maxEntries: 10, sizeOf: (v) => v.length });
    store.put('a', 'x'.repeat(100), 60_000);
    store.put('b', 'y'.repeat(50), 60_000);
    expect((await store.stats()).tiers[0]).toEqual({ tier: 'memory', entries: 2, approxBytes: 150 });
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => createMemoryStore({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => createMemoryStore({ maxEntries: 1.5 })).toThrow(RangeError);
  });
});
