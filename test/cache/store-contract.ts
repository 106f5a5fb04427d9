import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CacheStore } from '../../src/cache/cache-store.js';

/** One adapter under test, built fresh for every test. */
export interface StoreHarness {
  store: CacheStore<unknown>;
  /** Keys the test may use start with this; `cleanup` removes them. */
  prefix: string;
  /** Moves the store's clock forward (a fake clock, or for Redis the keys' PTTL pulled in). */
  advance(ms: number): Promise<void>;
  /** The remaining TTL of a key as the store sees it (Redis: PTTL), undefined when absent. */
  ttlOf(key: string): Promise<number | undefined>;
  cleanup(): Promise<void>;
}

/** A unique key prefix per test, so that suites can share the one Redis on 127.0.0.1:6379. */
export function testPrefix(): string {
  return `authctx:test:${randomUUID()}:`;
}

/**
 * The `CacheStore` contract (after undici's `cacheStoreTests`): every adapter runs it, so
 * the resolver can rely on the port alone.
 */
export function runCacheStoreContract(name: string, factory: () => Promise<StoreHarness>): void {
  describe(`CacheStore contract: ${name}`, () => {
    let h: StoreHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('misses on a key never set', async () => {
      expect(await h.store.get(`${h.prefix}absent`)).toBeUndefined();
    });

    it('round-trips values of every JSON shape, null included', async () => {
      const values: unknown[] = [
        { user_id: '8c0e', email: 'rina@example.com', regions: ['JKT', 'BDG'], nested: { a: [1, 2.5, true] } },
        ['a', 'b'],
        'plain string with ünïcödé and "quotes"',
        42,
        0,
        false,
        null,
      ];
      for (const [i, value] of values.entries()) await h.store.set(`${h.prefix}v${i}`, value, 60_000);
      for (const [i, value] of values.entries()) expect(await h.store.get(`${h.prefix}v${i}`)).toEqual(value);
    });

    it('overwrites a value and restarts its TTL', async () => {
      const key = `${h.prefix}k`;
      await h.store.set(key, { v: 1 }, 1_000);
      await h.advance(800);
      await h.store.set(key, { v: 2 }, 1_000);
      await h.advance(800);
      expect(await h.store.get(key)).toEqual({ v: 2 });
    });

    it('deletes one key and tolerates deleting an absent one', async () => {
      await h.store.set(`${h.prefix}a`, 1, 60_000);
      await h.store.set(`${h.prefix}b`, 2, 60_000);
      await h.store.delete(`${h.prefix}a`);
      await h.store.delete(`${h.prefix}never`);
      expect(await h.store.get(`${h.prefix}a`)).toBeUndefined();
      expect(await h.store.get(`${h.prefix}b`)).toBe(2);
    });

    it('clears exactly the keys under a prefix', async () => {
      for (const key of ['ctx:a@x.io', 'ctx:b@x.io', 'ctxother', 'other:ctx:c@x.io']) {
        await h.store.set(`${h.prefix}${key}`, key, 60_000);
      }
      expect(await h.store.clear(`${h.prefix}ctx:`)).toBe(2);
      expect(await h.store.get(`${h.prefix}ctx:a@x.io`)).toBeUndefined();
      expect(await h.store.get(`${h.prefix}ctx:b@x.io`)).toBeUndefined();
      expect(await h.store.get(`${h.prefix}ctxother`)).toBe('ctxother');
      expect(await h.store.get(`${h.prefix}other:ctx:c@x.io`)).toBe('other:ctx:c@x.io');
    });

    it('treats glob characters in a clear prefix literally', async () => {
      await h.store.set(`${h.prefix}a*b`, 1, 60_000);
      await h.store.set(`${h.prefix}axb`, 2, 60_000);
      await h.store.set(`${h.prefix}a?[c]`, 3, 60_000);
      expect(await h.store.clear(`${h.prefix}a*`)).toBe(1);
      expect(await h.store.clear(`${h.prefix}a?[`)).toBe(1);
      expect(await h.store.get(`${h.prefix}axb`)).toBe(2);
    });

    it('refuses an empty clear prefix and a TTL that is not positive', async () => {
      await expect(h.store.clear('')).rejects.toThrow(RangeError);
      await expect(h.store.set(`${h.prefix}k`, 1, 0)).rejects.toThrow(RangeError);
      await expect(h.store.set(`${h.prefix}k`, 1, -5)).rejects.toThrow(RangeError);
    });

    it('serves an entry until its TTL and never after', async () => {
      const key = `${h.prefix}ttl`;
      await h.store.set(key, 'v', 1_000);
      await h.advance(900);
      expect(await h.store.get(key)).toBe('v');
      await h.advance(150);
      expect(await h.store.get(key)).toBeUndefined();
    });

    it('does not extend the TTL on reads (absolute expiry)', async () => {
      const key = `${h.prefix}abs`;
      await h.store.set(key, 'v', 1_000);
      await h.advance(600);
      expect(await h.store.get(key)).toBe('v');
      const remaining = await h.ttlOf(key);
      expect(remaining).toBeDefined();
      expect(remaining!).toBeLessThanOrEqual(400);
      await h.advance(500);
      expect(await h.store.get(key)).toBeUndefined();
    });

    it('counts its entries in stats', async () => {
      for (let i = 0; i < 3; i++) await h.store.set(`${h.prefix}s${i}`, i, 60_000);
      const stats = await h.store.stats();
      expect(stats.tiers.length).toBeGreaterThan(0);
      for (const tier of stats.tiers) expect(tier.entries).toBeGreaterThanOrEqual(3);
    });
  });
}
