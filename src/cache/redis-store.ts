import { Cluster, type Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CacheStore, CacheStoreStats } from './cache-store.js';
import { cacheEntriesGauge, cacheRequestsCounter } from './cache-metrics.js';
import { assertPrefix, assertTtl } from './memory-store.js';
import { isRedisReady, type RedisClient } from './redis-client.js';
import { createWarnLimiter } from './warn-limiter.js';

/** How values are written to Redis. `decode` throws on a value it does not accept. */
export interface CacheCodec<V> {
  encode(value: V): string;
  decode(text: string): V;
}

/**
 * JSON, with an optional shape check on read: an entry written by another version, or by
 * hand, must not reach a request as if it were a context.
 */
export function createJsonCodec<V>(validate?: (value: unknown) => value is V): CacheCodec<V> {
  return {
    encode: (value) => JSON.stringify(value),
    decode(text) {
      const value: unknown = JSON.parse(text);
      if (validate && !validate(value)) throw new TypeError('cached value has an unexpected shape');
      return value as V;
    },
  };
}

export interface RedisStoreOptions<V> {
  /** From `createRedisClient` (fail-fast: no offline queue, short command timeout). */
  client: RedisClient;
  /** Default: JSON without a shape check. */
  codec?: CacheCodec<V>;
  /** Registry for `authctx_cache_requests_total{tier="redis"}` and `authctx_cache_entries{tier="redis"}`. */
  registry?: Registry;
  /** Failures are logged here at warn, at most one line per 10 s per kind. */
  logger?: Logger;
  /** Keys `stats()` counts (with a bounded SCAN). Default `authctx:v1:ctx:`. */
  statsPrefix?: string;
  /** Most SCAN calls (COUNT 500 each) one `clear()` makes per node. Default 10 000. */
  maxClearIterations?: number;
  /** Most SCAN calls (COUNT 500 each) one `stats()` makes per node; past it the count is a lower bound. Default 200. */
  maxStatsIterations?: number;
  /** `close()` also quits the client. Default false: the client may be shared (pub/sub, zones). */
  ownsClient?: boolean;
  /**
   * A circuit breaker (`createCircuitBreaker({ dependency: 'redis' })`) around get/set/delete:
   * while it is open these are misses/no-ops at once instead of each waiting for the command
   * timeout of a hung Redis. Default none.
   */
  circuit?: { allowRequest(): boolean; onSuccess(): void; onFailure(): void };
}

export interface RedisStore<V> extends CacheStore<V> {
  readonly name: 'redis';
  /**
   * The value and its remaining TTL (one round trip: GET and PTTL pipelined), so that a tier
   * in front can keep the absolute expiry. `ttlMs` is `null` for a key without expiry.
   */
  getWithTtl(key: string): Promise<{ value: V; ttlMs: number | null } | undefined>;
}

const scanCount = 500;

/**
 * The `redis` adapter. Every failure (connection down, timeout, undecodable value) is a miss or
 * a no-op plus `authctx_cache_requests_total{tier="redis",result="error"}` and a rate-limited
 * warn: Redis is an optional tier and never fails a request.
 */
export function createRedisStore<V>(options: RedisStoreOptions<V>): RedisStore<V> {
  const { client } = options;
  const codec = options.codec ?? createJsonCodec<V>();
  const limiter = createWarnLimiter(options.logger);
  const requests = options.registry ? cacheRequestsCounter(options.registry) : undefined;
  const hit = requests?.labels({ tier: 'redis', result: 'hit' });
  const miss = requests?.labels({ tier: 'redis', result: 'miss' });
  const error = requests?.labels({ tier: 'redis', result: 'error' });
  const entriesGauge = options.registry ? cacheEntriesGauge(options.registry).labels({ tier: 'redis' }) : undefined;
  const statsPrefix = options.statsPrefix ?? 'authctx:v1:ctx:';
  const maxClearIterations = options.maxClearIterations ?? 10_000;
  const maxStatsIterations = options.maxStatsIterations ?? 200;

  const { circuit } = options;

  function failed(kind: string, cause: unknown): undefined {
    error?.inc();
    // An undecodable value is a data problem: Redis itself answered.
    if (kind !== 'decode') circuit?.onFailure();
    limiter.warn(kind, cause, `redis cache ${kind} failed; treated as a miss`);
    return undefined;
  }

  /** False (counted as an error, not logged) while the circuit refuses calls. */
  function allowed(): boolean {
    if (!circuit || circuit.allowRequest()) return true;
    error?.inc();
    return false;
  }

  function decodeOrDrop(key: string, text: string): { value: V } | undefined {
    try {
      return { value: codec.decode(text) };
    } catch (cause) {
      failed('decode', cause);
      // An entry nobody can read would be a miss until it expires: drop it now.
      client.unlink(key).catch((unlinkError: unknown) => failed('delete', unlinkError));
      return undefined;
    }
  }

  async function scanKeys(
    node: Redis,
    prefix: string,
    maxIterations: number,
    onPage: (keys: string[]) => Promise<void>,
  ): Promise<boolean> {
    const pattern = `${escapeGlob(prefix)}*`;
    let cursor = '0';
    for (let i = 0; i < maxIterations; i++) {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', scanCount);
      if (keys.length > 0) await onPage(keys);
      cursor = next;
      if (cursor === '0') return true;
    }
    return false;
  }

  function nodes(): Redis[] {
    return client instanceof Cluster ? client.nodes('master') : [client];
  }

  return {
    name: 'redis',
    async get(key) {
      if (!allowed()) return undefined;
      let text: string | null;
      try {
        text = await client.get(key);
      } catch (cause) {
        return failed('get', cause);
      }
      circuit?.onSuccess();
      if (text === null) {
        miss?.inc();
        return undefined;
      }
      const decoded = decodeOrDrop(key, text);
      if (decoded) hit?.inc();
      return decoded?.value;
    },
    async getWithTtl(key) {
      if (!allowed()) return undefined;
      let replies: Array<[Error | null, unknown]> | null;
      try {
        replies = await client.pipeline().get(key).pttl(key).exec();
      } catch (cause) {
        return failed('get', cause);
      }
      const [getReply, ttlReply] = replies ?? [];
      const replyError = getReply?.[0] ?? ttlReply?.[0];
      if (!getReply || !ttlReply || replyError) return failed('get', replyError ?? new Error('empty pipeline reply'));
      circuit?.onSuccess();
      const text = getReply[1];
      const ttlMs = Number(ttlReply[1]);
      // PTTL -2: the key expired between GET and PTTL.
      if (typeof text !== 'string' || ttlMs === -2 || ttlMs === 0) {
        miss?.inc();
        return undefined;
      }
      const decoded = decodeOrDrop(key, text);
      if (!decoded) return undefined;
      hit?.inc();
      return { value: decoded.value, ttlMs: ttlMs > 0 ? ttlMs : null };
    },
    async set(key, value, ttlMs) {
      assertTtl(ttlMs);
      if (!allowed()) return;
      try {
        await client.set(key, codec.encode(value), 'PX', Math.ceil(ttlMs));
        circuit?.onSuccess();
      } catch (cause) {
        failed('set', cause);
      }
    },
    async delete(key) {
      if (!allowed()) return;
      try {
        await client.unlink(key);
        circuit?.onSuccess();
      } catch (cause) {
        failed('delete', cause);
      }
    },
    async clear(prefix) {
      assertPrefix(prefix);
      let deleted = 0;
      try {
        for (const node of nodes()) {
          const complete = await scanKeys(node, prefix, maxClearIterations, async (keys) => {
            // Cluster: keys on one node may still span slots, and multi-key commands may not.
            if (client instanceof Cluster) {
              const replies = (await keys.reduce((p, k) => p.unlink(k), node.pipeline()).exec()) ?? [];
              for (const [replyError, count] of replies) if (!replyError) deleted += Number(count);
            } else {
              deleted += await node.unlink(...keys);
            }
          });
          if (!complete) limiter.warn('clear-bound', undefined, 'redis cache clear stopped at its iteration bound');
        }
      } catch (cause) {
        failed('clear', cause);
      }
      return deleted;
    },
    async stats() {
      const connected = isRedisReady(client);
      let entries = 0;
      if (connected) {
        try {
          for (const node of nodes()) {
            await scanKeys(node, statsPrefix, maxStatsIterations, async (keys) => {
              entries += keys.length;
            });
          }
          entriesGauge?.set(entries);
        } catch (cause) {
          failed('stats', cause);
        }
      }
      const tiers: CacheStoreStats['tiers'] = [{ tier: 'redis', entries, connected }];
      return { tiers };
    },
    async close() {
      if (!options.ownsClient) return;
      try {
        await client.quit();
      } catch (cause) {
        limiter.warn('close', cause, 'redis quit failed; disconnecting');
        client.disconnect();
      }
    },
  };
}

/** SCAN MATCH is a glob: a prefix with `*`, `?`, `[` or `\` must match only itself. */
function escapeGlob(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
