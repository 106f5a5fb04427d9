import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import { createMemoryStore } from '../cache/memory-store.js';
import { createJsonCodec, createRedisStore } from '../cache/redis-store.js';
import { isRedisReady, type RedisClient } from '../cache/redis-client.js';
import { createTieredStore } from '../cache/tiered-store.js';
import type { CacheStore } from '../cache/cache-store.js';
import type { ContextSource } from './context-source.js';
import { createPostgresSource } from './postgres-source.js';
import { createSupabaseSource } from './supabase-source.js';
import { parseUserContext } from './validate-context.js';
import { createRedisSourceLease } from './source-lease.js';
import { createContextResolver, type CachedContext, type ContextResolver, type ZoneLookup } from './resolver.js';
import { createCircuitBreaker, withCircuitBreaker } from './circuit-breaker.js';

export interface ContextPart {
  resolver: ContextResolver;
  source: ContextSource;
  store: CacheStore<CachedContext>;
  stats(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Builds the configured source and cache tiers and the resolver over them. */
export function composeContext(
  config: Config,
  deps: {
    registry: Registry;
    logger: Logger;
    now: () => number;
    redis: RedisClient | undefined;
    zones: ZoneLookup | undefined;
    onInvalidate?: (email: string) => void;
    /** From the invalidation part: shortens what is trusted while a channel is down. */
    maxEntryAgeMs?: () => number;
  },
): ContextPart {
  const { registry, logger, now } = deps;
  const breaker = (dependency: 'source' | 'redis') =>
    createCircuitBreaker({ dependency, failureThreshold: config.circuitFailures, coolDownMs: config.circuitCooldown, now: () => performance.now(), registry, logger });
  const rawSource = config.source === 'postgres' ? createPostgresSource({
    connectionString: config.databaseUrl!,
    functionName: config.rpcFunction,
    timeoutMs: config.sourceTimeout,
    maxConnections: config.sourceMaxConnections,
    poolTimeoutMs: config.sourcePoolTimeout,
    registry,
    logger,
  }) : createSupabaseSource({
    url: config.supabaseUrl!,
    serviceRoleKey: config.supabaseServiceRoleKey!,
    functionName: config.rpcFunction,
    timeoutMs: config.sourceTimeout,
    maxConnections: config.sourceMaxConnections,
    poolTimeoutMs: config.sourcePoolTimeout,
    retries: config.sourceRetries,
    registry,
    logger,
    now,
  });
  const source = withCircuitBreaker(rawSource, breaker('source'));
  const l1 = createMemoryStore<CachedContext>({ maxEntries: config.cacheMaxEntries, registry, now });
  const redisCircuit = deps.redis ? breaker('redis') : undefined;
  const tiered = deps.redis
    ? createTieredStore({ l1, l2: createRedisStore<CachedContext>({ client: deps.redis, codec: createJsonCodec(isCachedContext), registry, logger, circuit: redisCircuit }) })
    : undefined;
  const store: CacheStore<CachedContext> = tiered ?? l1;
  const resolver = createContextResolver({
    source,
    store,
    l1,
    l2Get: tiered?.getFromL2,
    lease: deps.redis
      ? createRedisSourceLease({ client: deps.redis, ttlMs: config.sourceTimeout, available: () => redisCircuit?.state === 'closed' })
      : undefined,
    leaseWaitMs: config.sourceTimeout,
    zones: deps.zones,
    ttlMs: config.cacheTtl,
    negativeTtlMs: config.negativeTtl,
    staleIfErrorMs: config.staleIfError,
    ttlJitter: config.cacheTtlJitter,
    refreshAheadFraction: 0.1,
    onInvalidate: deps.onInvalidate,
    maxEntryAgeMs: deps.maxEntryAgeMs,
    registry,
    logger,
    now,
  });
  return {
    resolver,
    source,
    store,
    async stats() {
      const storeStats = await store.stats();
      const requests = await registry.getSingleMetric('authctx_cache_requests_total')?.get();
      const counts: Record<string, Record<string, number>> = {};
      for (const sample of requests?.values ?? []) {
        const tier = String(sample.labels.tier);
        (counts[tier] ??= {})[String(sample.labels.result)] = sample.value;
      }
      return {
        backend: deps.redis ? 'tiered' : 'memory',
        source: source.kind,
        ttl_ms: config.cacheTtl,
        tiers: storeStats.tiers.map((tier) => ({ ...tier, requests: counts[tier.tier] ?? {} })),
        stale_served: (await registry.getSingleMetric('authctx_context_stale_served_total')?.get())?.values[0]?.value ?? 0,
        redis: deps.redis ? { connected: isRedisReady(deps.redis), status: deps.redis.status } : null,
        memory_size_mb: Math.round((l1.entries() * approxEntryBytes) / 1024 / 10.24) / 100,
      };
    },
    async close() {
      await source.close();
      await store.close();
    },
  };
}

/** Rough heap per cached context (measured by the bench's memory run); only for the stats estimate. */
const approxEntryBytes = 1024;

function isCachedContext(value: unknown): value is CachedContext {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Partial<CachedContext>;
  if (typeof entry.at !== 'number' || typeof entry.exp !== 'number' || entry.v === undefined) return false;
  if (entry.v === null) return true;
  // A Redis value is re-checked like a source reply: its fields become headers.
  try {
    parseUserContext(entry.v, (entry.v as { email?: unknown }).email as string);
    return true;
  } catch {
    return false; // the redis store counts it as an error, deletes it, and reports a miss
  }
}
