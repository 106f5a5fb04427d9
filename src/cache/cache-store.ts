/**
 * The `CacheStore` port (after undici's three-method cache store): a bounded
 * key → value store with an absolute TTL. Adapters: `memory` (lru-cache), `redis`
 * (ioredis), `tiered` (memory in front of redis). One contract suite runs them all.
 *
 * Failure rule: a store never makes a request fail. A Redis error or timeout is a
 * miss (get → undefined) or a no-op (set/delete), plus a metric and a warn log.
 */
export type CacheTier = 'memory' | 'redis';

export interface CacheStore<V> {
  readonly name: 'memory' | 'redis' | 'tiered';
  /** The value, or `undefined` on a miss, an expired entry, or a store failure. */
  get(key: string): Promise<V | undefined>;
  /**
   * Stores `value` until `ttlMs` from now (absolute: reads never extend it).
   * `ttlMs` must be a finite number > 0 (else the promise rejects with a `RangeError`: a
   * programming error, unlike a store failure). Callers add jitter (`jitterTtl`) themselves.
   */
  set(key: string, value: V, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Deletes every key that starts with `prefix` (taken literally, never as a pattern); returns how
   * many were deleted (best effort for redis). An empty prefix rejects with a `RangeError`: on a
   * shared Redis it would delete other applications' keys.
   */
  clear(prefix: string): Promise<number>;
  /** Entry counts per tier, for stats and the `authctx_cache_entries` gauge. */
  stats(): Promise<CacheStoreStats>;
  close(): Promise<void>;
}

export interface CacheStoreStats {
  tiers: Array<{ tier: CacheTier; entries: number; connected?: boolean; approxBytes?: number }>;
}
