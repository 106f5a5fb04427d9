import type { RedisClient } from '../cache/redis-client.js';

/**
 * A short cross-replica lease on one user's source call. Single-flight holds one call per
 * key per process; with several replicas sharing Redis, the replica that takes the lease
 * calls the source and the others wait for its entry to appear in Redis, so a user costs
 * one source call per TTL across the fleet, not one per replica.
 */
export interface SourceLease {
  /**
   * `taken`: this replica holds the lease and calls the source. `held`: another replica does.
   * `unavailable`: Redis cannot coordinate now (its circuit is open, or the command failed):
   * call the source without the lease, paying no Redis round trip.
   */
  acquire(key: string): Promise<'taken' | 'held' | 'unavailable'>;
  release(key: string): void;
}

const leasePrefix = 'authctx:v1:lease:';

export function createRedisSourceLease(options: {
  client: RedisClient;
  /** Lease lifetime: the source timeout, so a crashed holder blocks nobody for longer. */
  ttlMs: number;
  /** False while Redis's circuit is not closed: the lease is not even asked for. */
  available: () => boolean;
}): SourceLease {
  const { client, ttlMs } = options;
  const leaseKey = (key: string) => leasePrefix + key.slice(key.lastIndexOf(':') + 1);
  return {
    async acquire(key) {
      if (!options.available()) return 'unavailable';
      try {
        return (await client.set(leaseKey(key), '1', 'PX', ttlMs, 'NX')) === 'OK' ? 'taken' : 'held';
      } catch {
        // Redis is down or slow: nobody can share an entry through it either, so go alone.
        return 'unavailable';
      }
    },
    release(key) {
      client.del(leaseKey(key)).catch(() => undefined); // the lease expires by itself anyway
    },
  };
}
