import type { CacheStore } from './cache-store.js';
import type { MemoryStore } from './memory-store.js';
import type { RedisStore } from './redis-store.js';

export interface TieredStoreOptions<V> {
  /** L1: this process's memory. */
  l1: MemoryStore<V>;
  /** L2: shared by the replicas; its failures are misses (the redis store never rejects). */
  l2: Pick<RedisStore<V>, 'getWithTtl' | 'set' | 'delete' | 'clear' | 'stats' | 'close'>;
  /**
   * TTL for an L2 hit written back to L1 when the L2 key has no expiry (written by hand or by
   * another tool). Default 60 000 ms.
   */
  noExpiryWriteBackTtlMs?: number;
}

export interface TieredStore<V> extends CacheStore<V> {
  readonly name: 'tiered';
  /** The L1 store, for the resolver's synchronous hot-path read. */
  readonly l1: MemoryStore<V>;
  /** L2 only (after a caller's own L1 miss), the hit written back to L1 with its remaining TTL. */
  getFromL2(key: string): Promise<V | undefined>;
}

/**
 * L1 memory in front of L2 Redis. An L2 hit is written back to L1 with the TTL it has left in
 * Redis, so the absolute expiry set by whoever wrote the entry holds in every tier and replica.
 */
export function createTieredStore<V>(options: TieredStoreOptions<V>): TieredStore<V> {
  const { l1, l2 } = options;
  const noExpiryTtlMs = options.noExpiryWriteBackTtlMs ?? 60_000;
  async function getFromL2(key: string): Promise<V | undefined> {
    const remote = await l2.getWithTtl(key);
    if (remote === undefined) return undefined;
    l1.put(key, remote.value, remote.ttlMs ?? noExpiryTtlMs);
    return remote.value;
  }
  return {
    name: 'tiered',
    l1,
    async get(key) {
      const local = l1.peek(key);
      if (local !== undefined) return local;
      return getFromL2(key);
    },
    getFromL2,
    // Awaits L2 so that a later read by another replica sees the value; bounded by the Redis
    // command timeout (the redis store never rejects). A caller on the hot path may `void` it.
    async set(key, value, ttlMs) {
      l1.put(key, value, ttlMs);
      await l2.set(key, value, ttlMs);
    },
    async delete(key) {
      await Promise.all([l1.delete(key), l2.delete(key)]);
    },
    /** Returns the larger of the two tiers' counts: most L1 keys are also in L2. */
    async clear(prefix) {
      const [local, remote] = await Promise.all([l1.clear(prefix), l2.clear(prefix)]);
      return Math.max(local, remote);
    },
    async stats() {
      const [local, remote] = await Promise.all([l1.stats(), l2.stats()]);
      return { tiers: [...local.tiers, ...remote.tiers] };
    },
    async close() {
      await Promise.all([l1.close(), l2.close()]);
    },
  };
}
