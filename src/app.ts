import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createAdminApp, type AdminActions, type AdminApp } from './admin/admin-app.js';
import { createReadiness, type Readiness } from './admin/readiness.js';
import { createJwksProvider } from './auth/jwks-provider.js';
import { createJwtVerifier } from './auth/jwt-verifier.js';
import { TokenCache } from './auth/token-cache.js';
import type { Config } from './config/schema.js';
import { createMetricsRegistry } from './metrics/registry.js';
import { createUpstream } from './proxy/forward.js';
import { createTokenIdentityResolver, type IdentityResolver } from './proxy/identity.js';
import { createProxyHandler } from './proxy/proxy-server.js';
import { createProxyListener } from './proxy/proxy-listener.js';
import { createProxyMetrics, type ProxyMetrics } from './proxy/proxy-metrics.js';
import { createRouteMatcher } from './proxy/route-match.js';
import { createWebSocketProxy } from './proxy/websocket.js';
import type { Redis } from 'ioredis';
import { createRedisClient } from './cache/redis-client.js';
import { composeContext } from './context/compose.js';
import { composeZones } from './zones/compose.js';
import { composeResponseCache } from './response-cache/compose.js';
import { composeInvalidation } from './invalidation/compose.js';
import { createOverloadGuard } from './proxy/overload.js';

/** What a test or main.ts may hand in instead of the defaults built from config. */
export interface AppDeps {
  logger: Logger;
  registry?: Registry;
  /** Wall clock, epoch ms (token expiry, cache TTLs). */
  now?: () => number;
  /** Replaces the identity resolver (tests of the proxy alone). */
  resolver?: IdentityResolver;
  fetch?: typeof fetch;
}

/** A part with background work or resources: started after listen, closed after drain. */
export interface AppPart {
  name: string;
  start?(): void;
  close(): Promise<void>;
}

export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly readiness: Readiness;
  readonly proxyServer: Server;
  readonly admin: AdminApp;
  readonly metrics: ProxyMetrics;
  /** Starts background work (JWKS warm-up, zone loading, invalidation listeners). */
  start(): void;
  /** Releases pools, timers and connections; call after the listeners are closed. */
  close(): Promise<void>;
}

/** Wires the parts from a validated config. No environment, no listening: see lifecycle.ts. */
export function buildApp(config: Config, deps: AppDeps): App {
  const { logger } = deps;
  const registry = deps.registry ?? createMetricsRegistry({ defaultMetrics: true });
  const now = deps.now ?? Date.now;
  const readiness = createReadiness();
  const parts: AppPart[] = [];

  const jwks = config.jwksUrl
    ? createJwksProvider({
        url: config.jwksUrl,
        timeoutMs: config.jwksTimeout,
        cooldownMs: config.jwksCooldown,
        maxAgeMs: config.jwksMaxAge,
        registry,
        logger,
        now,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      })
    : undefined;
  if (jwks) parts.push({ name: 'jwks', start: () => void jwks.warm(), close: async () => undefined });

  const tokenCache = new TokenCache({ maxEntries: config.tokenCacheMaxEntries, ttlCapMs: config.tokenCacheTtl, now });
  const verifier = createJwtVerifier({
    hsSecret: config.jwtSecret,
    jwks,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    roles: config.jwtRoles.split(',').map((r) => r.trim()).filter(Boolean),
    clockToleranceMs: config.jwtClockTolerance,
    cache: tokenCache,
    registry,
    now,
  });

  const redis = config.redisUrl
    ? createRedisClient({ url: config.redisUrl, commandTimeoutMs: config.redisCommandTimeout, logger, registry, name: 'cache' })
    : undefined;
  // Zone copies are large and rare: their own client, with a longer command timeout.
  const zonesRedis = config.redisUrl && config.zonesSource !== 'none'
    ? createRedisClient({ url: config.redisUrl, commandTimeoutMs: 1_000, logger, registry, name: 'zones' })
    : undefined;
  for (const client of [redis, zonesRedis]) {
    if (client) parts.push({ name: 'redis', close: async () => client.disconnect() });
  }

  const zones = composeZones(config, { registry, logger, now, redis: zonesRedis as Redis | undefined });
  if (zones) {
    parts.push({ name: 'zones', start: () => zones.index.start(), close: () => zones.close() });
    readiness.add(zones.readiness);
  }

  const invalidation = deps.resolver ? undefined : composeInvalidation(config, { registry, logger, redis });
  const context = deps.resolver
    ? undefined
    : composeContext(config, {
        registry,
        logger,
        now,
        redis,
        zones: zones?.index,
        ...(invalidation ? { onInvalidate: invalidation.onInvalidate, maxEntryAgeMs: invalidation.maxEntryAgeMs } : {}),
      });
  if (context) parts.push({ name: 'context', close: () => context.close() });
  if (context && invalidation) {
    invalidation.bind(context.resolver);
    parts.push({ name: 'invalidation', start: () => invalidation.start(), close: () => invalidation.close() });
  }
  const resolver = deps.resolver ?? context?.resolver ?? createTokenIdentityResolver();

  const upstream = createUpstream({
    url: config.upstreamUrl,
    connections: config.upstreamConnections,
    headersTimeoutMs: config.upstreamTimeout,
    bodyTimeoutMs: config.upstreamBodyTimeout,
    connectTimeoutMs: config.upstreamConnectTimeout,
    keepAliveTimeoutMs: config.upstreamKeepAliveTimeout,
  });
  parts.push({ name: 'upstream', close: () => upstream.close() });
  const websocket = createWebSocketProxy({ target: config.upstreamUrl, timeoutMs: config.upstreamTimeout, logger });
  parts.push({ name: 'websocket', close: async () => websocket.close() });
  const responseCache = composeResponseCache(config, { registry, logger, now, redis, upstream });
  if (responseCache) parts.push({ name: 'response-cache', close: () => responseCache.close() });

  const metrics = createProxyMetrics(registry, () => performance.now());
  const overload = createOverloadGuard({
    maxInFlight: config.maxInFlight,
    maxEventLoopDelayMs: config.maxEventLoopDelay,
    inFlight: () => metrics.inFlight,
    registry,
  });
  parts.push({ name: 'overload', start: () => overload.start(), close: async () => overload.close() });
  const handler = createProxyHandler({
    verifier,
    resolver,
    upstream,
    websocket,
    publicRoutes: createRouteMatcher(config.publicRoutes),
    contextRoutes: createRouteMatcher(config.contextRoutes),
    maxBodyBytes: config.maxBodySize,
    trustForwardedHeaders: config.trustForwardedHeaders,
    metrics,
    logger,
    accessLog: config.accessLog,
    now: () => performance.now(),
    isShuttingDown: () => readiness.shuttingDown,
    responseCache,
    admit: config.maxInFlight > 0 || config.maxEventLoopDelay > 0 ? overload.admit : undefined,
  });

  const proxyServer = createProxyListener(handler, {
    maxHeaderBytes: config.maxHeaderSize,
    requestTimeoutMs: config.requestTimeout,
    headersTimeoutMs: config.headersTimeout,
  });

  const actions: AdminActions = {
    async clearCaches({ tier }) {
      const tokens = tokenCache.size;
      tokenCache.clear();
      const userContext = tier === 'memory' ? context?.resolver.clearLocal() : await context?.resolver.clear();
      if (tier !== 'memory') await invalidation?.publishClear();
      const responses = await responseCache?.clear(tier);
      return { user_context: userContext ?? 0, tokens, ...(responseCache ? { responses: responses ?? 0 } : {}) };
    },
    async invalidate(email) {
      return { invalidated: (await context?.resolver.invalidate(email)) ?? false };
    },
    ...(responseCache ? { purge: (input) => responseCache.purge(input) } : {}),
    ...(zones ? { refreshZones: async () => ({ ...(await zones.index.refresh()) }) } : {}),
  };
  const stats: Record<string, () => unknown> = {
    user_context_cache: () => context?.stats() ?? { backend: 'none' },
    zone_cache: () => (zones ? { cached_regions: zones.index.stats().regions, ...zones.index.stats() } : { source: 'none', cached_regions: 0 }),
    token_cache: () => ({ entries: tokenCache.size, max: config.tokenCacheMaxEntries }),
    response_cache: () => responseCache?.stats() ?? { routes: {} },
  };
  const admin = createAdminApp({ registry, logger, readiness, adminToken: config.adminToken, stats, actions });

  return {
    config,
    logger,
    registry,
    readiness,
    proxyServer,
    admin,
    metrics,
    start() {
      for (const part of parts) part.start?.();
    },
    async close() {
      for (const part of [...parts].reverse()) {
        try {
          await part.close();
        } catch (error) {
          logger.warn({ err: error, part: part.name }, 'error while closing');
        }
      }
    },
  };
}
