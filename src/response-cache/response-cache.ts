import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { CacheStore } from '../cache/cache-store.js';
import { createMemoryStore, type MemoryStore } from '../cache/memory-store.js';
import type { RedisClient } from '../cache/redis-client.js';
import { createRedisStore } from '../cache/redis-store.js';
import { createTieredStore } from '../cache/tiered-store.js';
import { AuthctxError } from '../errors.js';
import type { ResponseTap, Upstream } from '../proxy/forward.js';
import { createCachedRouteMatcher, type CachedRouteSpec } from './cached-routes.js';
import { createPurgeChannel, type PurgeChannel } from './purge-channel.js';
import { createCapture, fetchForCache } from './response-capture.js';
import { createResponseCacheStats } from './response-cache-stats.js';
import { adminPartitionValues, keyedQuery, partitionKeyPrefix, partitionValues, responseKey, responseKeyPrefix, routeKeyPrefix } from './response-key.js';
import { storedResponseCodec, storedSize, varyMatches, type StoredResponse } from './stored-response.js';

export interface ResponseCacheOptions {
  routes: readonly CachedRouteSpec[];
  /** The proxy's upstream: background refreshes use its pool. */
  upstream: Pick<Upstream, 'pool' | 'basePath'>;
  /** Headers and body timeout of a background refresh. */
  refreshTimeoutMs: number;
  /** Memory tier bound, entries. */
  maxEntries: number;
  /** Memory tier bound, bytes (sum of bodies and headers). */
  maxBytes: number;
  /** Shared tier; unset → memory only. */
  redis?: RedisClient | undefined;
  /** A dedicated connection for the purge channel (needs `redis`); unset → purges stay local. */
  subscriber?: RedisClient | undefined;
  registry: Registry;
  logger: Logger;
  /** Wall clock, epoch ms. */
  now: () => number;
  /** Default `authctx:v1:resp:`; tests isolate themselves with their own. */
  keyPrefix?: string;
  /** Default a random UUID. */
  replicaId?: string;
  /** Purge channel name (default `authctx:v1:resp-purge`). */
  purgeChannel?: string;
  /** Most keys filled from the backend at once; past it requests are forwarded uncoalesced. Default 10 000. */
  maxFills?: number;
}

/** One request on a cached route, as the proxy hands it over (identity already resolved). */
export interface CacheExchange {
  route: CachedRouteSpec;
  method: string;
  /** Canonical path. */
  path: string;
  /** Raw query string, without `?`. */
  query: string;
  context: Readonly<Record<string, unknown>>;
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  /** Forwards the request as usual; `tap` (when given) captures the response. Calls the proxy's finish. */
  forward(tap: ResponseTap | undefined): void;
  /** What `forward` would send upstream (client headers, forwarded, identity), for a refresh. */
  upstreamHeaders(): string[];
  /** The exchange was answered from the cache with `status` (0: the client had gone). */
  done(status: number): void;
}

export interface ResponseCache {
  readonly routes: readonly CachedRouteSpec[];
  match(method: string, path: string): CachedRouteSpec | undefined;
  serve(exchange: CacheExchange): void;
  /** Purges a route (or one partition of it) here, in Redis, and in every replica's memory. */
  purge(input: { route: string; partition?: Record<string, string> }): Promise<Record<string, unknown>>;
  /** Every cached response: `all` tiers fleet-wide, or this replica's `memory` only. */
  clear(tier: 'all' | 'memory'): Promise<number>;
  stats(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

type Store = CacheStore<StoredResponse> & { readonly l1?: MemoryStore<StoredResponse> };

export function createResponseCache(options: ResponseCacheOptions): ResponseCache {
  const { logger, now } = options;
  const keyPrefix = options.keyPrefix ?? responseKeyPrefix;
  const maxFills = options.maxFills ?? 10_000;
  const matcher = createCachedRouteMatcher(options.routes);
  // No registry: these lookups must not count in the context cache's tier metrics.
  const l1 = createMemoryStore<StoredResponse>({ maxEntries: options.maxEntries, maxBytes: options.maxBytes, sizeOf: storedSize, now });
  const store: Store = options.redis
    ? createTieredStore({ l1, l2: createRedisStore({ client: options.redis, codec: storedResponseCodec, logger, statsPrefix: keyPrefix }) })
    : l1;
  const stats = createResponseCacheStats({
    routes: options.routes,
    registry: options.registry,
    holds: (key) => l1.remainingTtlMs(key) !== undefined,
    maxEntries: options.maxEntries,
    now,
  });
  /** Bumped by every purge and clear: a fill or refresh that began before it is not stored. */
  let epoch = 0;
  const filling = new Map<string, Promise<StoredResponse | undefined>>();
  const refreshing = new Set<string>();

  const channel: PurgeChannel | undefined =
    options.redis && options.subscriber
      ? createPurgeChannel({
          subscriber: options.subscriber,
          publisher: options.redis,
          replicaId: options.replicaId ?? randomUUID(),
          ...(options.purgeChannel ? { channel: options.purgeChannel } : {}),
          logger,
          onPurge(prefix) {
            if (!prefix.startsWith(keyPrefix)) return;
            epoch++;
            void l1.clear(prefix);
          },
        })
      : undefined;

  function write(key: string, route: CachedRouteSpec, entry: StoredResponse, startedIn: number): void {
    if (startedIn !== epoch) return;
    const ttlMs = entry.staleUntil - now();
    if (!(ttlMs > 0)) return;
    stats.track(key, route, storedSize(entry), entry.storedAt);
    void store.set(key, entry, ttlMs);
  }

  const headerPairs = new WeakMap<StoredResponse, string[]>();
  function storedHeaderPairs(entry: StoredResponse): string[] {
    let pairs = headerPairs.get(entry);
    if (!pairs) {
      pairs = [];
      for (const [name, value] of Object.entries(entry.headers)) {
        if (name === 'date') continue;
        for (const v of Array.isArray(value) ? value : [value]) pairs.push(name, v);
      }
      headerPairs.set(entry, pairs);
    }
    return pairs;
  }

  function replay(exchange: CacheExchange, entry: StoredResponse, kind: 'HIT' | 'STALE'): void {
    const { res } = exchange;
    if (res.destroyed) {
      exchange.done(0);
      return;
    }
    // Flat [name, value, …] pairs: no object spread per hit; Node adds a fresh Date itself.
    const headers = [...storedHeaderPairs(entry), 'age', String(Math.max(0, Math.floor((now() - entry.storedAt) / 1000))), 'x-cache', kind, 'x-request-id', exchange.requestId];
    if (entry.status !== 204) headers.push('content-length', String(entry.body.length));
    res.writeHead(entry.status, headers);
    res.end(exchange.method === 'HEAD' ? undefined : entry.body);
    exchange.done(entry.status);
  }

  function forwardUncached(exchange: CacheExchange): void {
    exchange.res.setHeader('x-cache', 'MISS');
    exchange.forward(undefined);
  }

  function fill(exchange: CacheExchange, key: string): void {
    const { route } = exchange;
    const counters = stats.counters(route);
    const running = filling.get(key);
    if (running) {
      // Coalesced: the leader's response, once complete, answers this request too.
      void running.then((entry) => {
        if (entry && varyMatches(entry, exchange.req.headers)) {
          counters.count('hit');
          replay(exchange, entry, 'HIT');
        } else {
          counters.count('miss');
          forwardUncached(exchange);
        }
      });
      return;
    }
    counters.count('miss');
    if (filling.size >= maxFills) {
      forwardUncached(exchange);
      return;
    }
    const startedIn = epoch;
    let settle!: (entry: StoredResponse | undefined) => void;
    filling.set(key, new Promise((resolve) => (settle = resolve)));
    const tap = createCapture({
      route,
      now,
      requestHeaders: exchange.req.headers,
      onSettle(entry) {
        filling.delete(key);
        if (entry) write(key, route, entry, startedIn);
        settle(entry);
      },
    });
    exchange.res.setHeader('x-cache', 'MISS');
    exchange.forward(tap);
  }

  function revalidate(exchange: CacheExchange, key: string): void {
    if (refreshing.has(key) || filling.has(key)) return;
    refreshing.add(key);
    const startedIn = epoch;
    const { route } = exchange;
    fetchForCache({
      pool: options.upstream.pool,
      path: options.upstream.basePath + exchange.path + (exchange.query === '' ? '' : `?${exchange.query}`),
      headers: exchange.upstreamHeaders(),
      requestHeaders: exchange.req.headers,
      route,
      timeoutMs: options.refreshTimeoutMs,
      now,
    })
      .then(
        (entry) => {
          if (entry) write(key, route, entry, startedIn);
        },
        (error: unknown) => logger.warn({ err: error, route: route.name }, 'cached route refresh failed; the stale entry serves until its window ends'),
      )
      .finally(() => refreshing.delete(key));
  }

  function decide(exchange: CacheExchange, key: string, entry: StoredResponse | undefined): void {
    const counters = stats.counters(exchange.route);
    const t = now();
    if (entry && varyMatches(entry, exchange.req.headers)) {
      stats.track(key, exchange.route, storedSize(entry), entry.storedAt);
      if (t < entry.freshUntil) {
        counters.count('hit');
        replay(exchange, entry, 'HIT');
        return;
      }
      if (t < entry.staleUntil) {
        counters.count('stale');
        replay(exchange, entry, 'STALE');
        revalidate(exchange, key);
        return;
      }
    }
    if (exchange.method === 'HEAD') {
      // A HEAD miss tells nothing about the body: forwarded as HEAD, nothing stored.
      counters.count('miss');
      forwardUncached(exchange);
      return;
    }
    fill(exchange, key);
  }

  function keyOf(exchange: CacheExchange): string | undefined {
    const { req, route } = exchange;
    // A body, a range or an upgrade makes the request something other than "read this resource".
    if (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') return undefined;
    if (req.headers['transfer-encoding'] !== undefined || req.headers.range !== undefined) return undefined;
    const partition = partitionValues(route, exchange.context);
    const query = partition && keyedQuery(route, exchange.query);
    if (!partition || !query) return undefined;
    return responseKey(keyPrefix, route, partition, exchange.path, query);
  }

  async function clearPrefix(prefix: string): Promise<{ purged: number; notified: boolean }> {
    epoch++;
    const purged = await store.clear(prefix);
    const notified = channel ? await channel.publish(prefix) : false;
    return { purged, notified };
  }

  return {
    routes: options.routes,
    match: matcher.match,
    serve(exchange) {
      const key = keyOf(exchange);
      if (key === undefined) {
        stats.counters(exchange.route).count('bypass');
        forwardUncached(exchange);
        return;
      }
      // The memory tier answers synchronously; only a memory miss pays for the Redis round trip.
      const local = l1.peek(key);
      if (local !== undefined || store === l1 || filling.has(key)) {
        decide(exchange, key, local);
        return;
      }
      store.get(key).then(
        // A fill may have completed here while Redis answered: memory has the newest entry then.
        (entry) => decide(exchange, key, entry ?? l1.peek(key)),
        (error: unknown) => {
          logger.warn({ err: error }, 'response cache lookup failed; treated as a miss');
          decide(exchange, key, undefined);
        },
      );
    },
    async purge({ route: name, partition }) {
      const route = matcher.byName(name);
      if (!route) {
        const known = options.routes.map((r) => r.name).join(', ');
        throw new AuthctxError('AUTHCTX_ERR_ADMIN_NOT_FOUND', `no cached route is named "${name}" (configured: ${known})`);
      }
      let prefix = routeKeyPrefix(keyPrefix, route);
      if (partition) {
        const values = adminPartitionValues(route, partition);
        if (typeof values === 'string') throw new AuthctxError('AUTHCTX_ERR_ADMIN_BAD_REQUEST', values);
        prefix = partitionKeyPrefix(keyPrefix, route, values);
      }
      const { purged, notified } = await clearPrefix(prefix);
      return { route: route.name, ...(partition ? { partition } : {}), purged, replicas_notified: notified };
    },
    async clear(tier) {
      if (tier === 'memory') {
        epoch++;
        return l1.clear(keyPrefix);
      }
      return (await clearPrefix(keyPrefix)).purged;
    },
    async stats() {
      const tiers = (await store.stats()).tiers;
      return {
        routes: stats.routes(),
        tiers,
        fleet_purge: channel ? (channel.subscribed ? 'subscribed' : 'disconnected') : 'off',
      };
    },
    async close() {
      await channel?.close();
      await l1.close();
    },
  };
}
