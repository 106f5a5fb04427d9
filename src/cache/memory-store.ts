import { LRUCache } from 'lru-cache';
import type { Registry } from 'prom-client';
import type { CacheStore, CacheStoreStats } from './cache-store.js';
import { cacheEntriesGauge, cacheRequestsCounter } from './cache-metrics.js';

export interface MemoryStoreOptions<V> {
  /** Most entries held; beyond it the least recently used one is evicted. Required, > 0. */
  maxEntries: number;
  /** Registry for `authctx_cache_requests_total{tier="memory"}` and `authctx_cache_entries`; none → no metrics. */
  registry?: Registry;
  /** Clock in milliseconds (default `performance.now`); tests pass a fake one. */
  now?: () => number;
  /**
   * Estimated size of a value in bytes; given → `stats()` reports `approxBytes`.
   * Called once per `set`, so keep it cheap (e.g. the length of the JSON the source returned).
   */
  sizeOf?: (value: V) => number;
  /**
   * Bound on the sum of `sizeOf` (bytes); beyond it least recently used entries are evicted, and
   * one entry larger than it is not stored. Needs `sizeOf`. Default: no byte bound.
   */
  maxBytes?: number;
}

/** The L1 tier. Besides the port, it offers synchronous reads for the hot path. */
export interface MemoryStore<V> extends CacheStore<V> {
  readonly name: 'memory';
  /**
   * Synchronous `get` (same metric, same expiry): the resolver checks L1 without
   * paying a microtask per request.
   */
  peek(key: string): V | undefined;
  /** Synchronous `set`. */
  put(key: string, value: V, ttlMs: number): void;
  /** Remaining TTL in milliseconds, or `undefined` when the key is absent or expired. */
  remainingTtlMs(key: string): number | undefined;
  /** Entries held, expired ones not yet dropped included (expiry is lazy). */
  entries(): number;
}

/** Boxed so that `null` (a negative-cache entry) can be stored: lru-cache refuses nullish values. */
interface Box<V> {
  value: V;
}

/**
 * The `memory` adapter on lru-cache: bounded by entries, absolute TTL (reads never extend it),
 * lazy expiry (no timers: `ttlAutopurge` off), expired entries never served.
 */
export function createMemoryStore<V>(options: MemoryStoreOptions<V>): MemoryStore<V> {
  if (!Number.isInteger(options.maxEntries) || options.maxEntries <= 0) {
    throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
  }
  const { sizeOf } = options;
  const cache = new LRUCache<string, Box<V>>({
    max: options.maxEntries,
    ttlAutopurge: false,
    updateAgeOnGet: false,
    updateAgeOnHas: false,
    allowStale: false,
    // With an injected clock, read it on every check: lru-cache otherwise caches `now` for
    // `ttlResolution` ms behind a timer, which a fake clock could not move.
    ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
    ...(sizeOf
      ? { ...(options.maxBytes ? { maxSize: options.maxBytes } : {}), maxEntrySize: options.maxBytes ?? Number.MAX_SAFE_INTEGER, sizeCalculation: (box: Box<V>) => Math.max(1, Math.ceil(sizeOf(box.value))) }
      : {}),
  });

  const requests = options.registry ? cacheRequestsCounter(options.registry) : undefined;
  const hit = requests?.labels({ tier: 'memory', result: 'hit' });
  const miss = requests?.labels({ tier: 'memory', result: 'miss' });
  const entriesGauge = options.registry ? cacheEntriesGauge(options.registry).labels({ tier: 'memory' }) : undefined;

  function peek(key: string): V | undefined {
    const box = cache.get(key);
    if (box === undefined) {
      miss?.inc();
      return undefined;
    }
    hit?.inc();
    return box.value;
  }

  function put(key: string, value: V, ttlMs: number): void {
    assertTtl(ttlMs);
    cache.set(key, { value }, { ttl: ttlMs });
    entriesGauge?.set(cache.size);
  }

  function remove(key: string): void {
    cache.delete(key);
    entriesGauge?.set(cache.size);
  }

  function clearPrefix(prefix: string): number {
    assertPrefix(prefix);
    let deleted = 0;
    // Collect first: deleting while iterating an lru-cache is safe, but this keeps it obvious.
    const doomed: string[] = [];
    for (const key of cache.keys()) if (key.startsWith(prefix)) doomed.push(key);
    for (const key of doomed) if (cache.delete(key)) deleted++;
    entriesGauge?.set(cache.size);
    return deleted;
  }

  function stats(): CacheStoreStats {
    const tier: CacheStoreStats['tiers'][number] = { tier: 'memory', entries: cache.size };
    if (sizeOf) tier.approxBytes = cache.calculatedSize;
    return { tiers: [tier] };
  }

  return {
    name: 'memory',
    peek,
    put,
    entries: () => cache.size,
    remainingTtlMs(key) {
      if (!cache.has(key)) return undefined;
      const remaining = cache.getRemainingTTL(key);
      return remaining > 0 && Number.isFinite(remaining) ? remaining : undefined;
    },
    get: async (key) => peek(key),
    set: async (key, value, ttlMs) => put(key, value, ttlMs),
    delete: async (key) => remove(key),
    clear: async (prefix) => clearPrefix(prefix),
    stats: async () => stats(),
    close: async () => {
      cache.clear();
      entriesGauge?.set(0);
    },
  };
}

export function assertTtl(ttlMs: number): void {
  if (!(ttlMs > 0) || !Number.isFinite(ttlMs)) throw new RangeError(`ttlMs must be a finite number > 0, got ${ttlMs}`);
}

/** An empty prefix would wipe a shared Redis; callers name what they mean to clear. */
export function assertPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || prefix.length === 0) throw new RangeError('clear() needs a non-empty key prefix');
}
