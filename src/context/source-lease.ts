import type { RedisClient } from '../cache/redis-client.js';

/**
 * A short cross-replica lease on one user's source call. Single-flight holds one call per
 * key per process; with several replicas sharing Redis, the replica that takes the lease
 * calls the source and the others wait for its entry to appear in Redis, so a user costs
 * one source call per TTL across the fleet, not one per replica.
 */
export interface SourceLease {
  /** True when this replica should call the source: it took the lease, or Redis could not tell. */
  acquire(key: string): Promise<boolean>;
  release(key: string): void;
}

const leasePrefix = 'authctx:v1:lease:';

export function createRedisSourceLease(options: { client: RedisClient; ttlMs: number }): SourceLease {
  const { client, ttlMs } = options;
  const leaseKey = (key: string) => leasePrefix + key.slice(key.lastIndexOf(':') + 1);
  return {
    async acquire(key) {
      try {
        return (await client.set(leaseKey(key), '1', 'PX', ttlMs, 'NX')) === 'OK';
      } catch {
        // Redis is down or slow: nobody can share an entry through it either, so go alone.
        return true;
      }
    },
    release(key) {
      client.del(leaseKey(key)).catch(() => undefined); // the lease expires by itself anyway
    },
  };
}
