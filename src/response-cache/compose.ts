import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createRedisClient, type RedisClient } from '../cache/redis-client.js';
import type { Config } from '../config/schema.js';
import type { Upstream } from '../proxy/forward.js';
import { createResponseCache, type ResponseCache } from './response-cache.js';

export interface ResponseCacheDeps {
  registry: Registry;
  logger: Logger;
  /** Wall clock, epoch ms. */
  now: () => number;
  /** The cache client (shared tier and purge publisher); unset → memory only, purges stay local. */
  redis: RedisClient | undefined;
  upstream: Upstream;
  /** Tests isolate their keys (default `authctx:v1:resp:`). */
  keyPrefix?: string;
}

/** The response cache for `AUTHCTX_CACHED_ROUTES`, or `undefined` when no route is configured. */
export function composeResponseCache(config: Config, deps: ResponseCacheDeps): ResponseCache | undefined {
  const routes = config.cachedRoutes;
  if (!routes || routes.length === 0) return undefined;
  const logger = deps.logger.child({ part: 'response-cache' });
  // Its own connection: a subscribed connection can run no other command. No registry: the
  // `authctx_redis_connected{client="subscriber"}` gauge belongs to the invalidation fan-out.
  const subscriber = config.redisUrl && deps.redis
    ? createRedisClient({ url: config.redisUrl, name: 'subscriber', commandTimeoutMs: 500, logger })
    : undefined;
  return createResponseCache({
    routes,
    upstream: deps.upstream,
    refreshTimeoutMs: config.upstreamTimeout,
    maxEntries: config.responseCacheMaxEntries,
    maxBytes: config.responseCacheMaxBytes,
    redis: deps.redis,
    subscriber,
    registry: deps.registry,
    logger,
    now: deps.now,
    ...(deps.keyPrefix ? { keyPrefix: deps.keyPrefix } : {}),
  });
}
