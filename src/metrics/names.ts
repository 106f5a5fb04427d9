/**
 * Every metric name authctx exports, in one place (STYLE.md: `authctx_<area>_<what>_<unit>`,
 * counters end `_total`, times in `_seconds`). Labels take values from closed unions only:
 * never a user, email, token, path or URL.
 */
export const metricNames = {
  // proxy/
  proxyRequests: 'authctx_proxy_requests_total', // {route: proxied|public|context|cached, status_class}
  proxyDuration: 'authctx_proxy_request_duration_seconds', // {route, status_class}
  proxyInFlight: 'authctx_proxy_requests_in_flight',
  upstreamDuration: 'authctx_upstream_duration_seconds', // {outcome}
  upstreamErrors: 'authctx_upstream_errors_total', // {kind: refused|timeout|reset|other}
  overloadRejections: 'authctx_overload_rejections_total', // {reason: in_flight|event_loop}
  // auth/
  jwtVerifications: 'authctx_jwt_verifications_total', // {result: valid|invalid|expired|cached}
  jwtCacheEntries: 'authctx_jwt_cache_entries',
  jwksFetches: 'authctx_jwks_fetches_total', // {outcome: success|error}
  // cache/
  cacheRequests: 'authctx_cache_requests_total', // {tier: memory|redis, result: hit|miss|stale|error}
  cacheEntries: 'authctx_cache_entries', // {tier}
  singleflightCoalesced: 'authctx_singleflight_coalesced_total',
  redisUp: 'authctx_redis_connected', // {client: cache|subscriber|publisher|zones} 1 connected, 0 not
  // context/
  sourceRequests: 'authctx_context_source_requests_total', // {source, outcome: found|not_found|error|timeout|malformed}
  sourceDuration: 'authctx_context_source_duration_seconds', // {source}
  sourceLegacyFallback: 'authctx_context_source_legacy_fallback_total', // {source}
  sourceLease: 'authctx_context_source_lease_waits_total', // {outcome: shared|fetched}
  staleServed: 'authctx_context_stale_served_total',
  refreshAhead: 'authctx_context_refresh_ahead_total', // {outcome}
  circuitState: 'authctx_circuit_state', // {dependency: source|redis} 0 closed, 1 half-open, 2 open
  // zones/
  zonesRegions: 'authctx_zones_regions',
  zonesLastSuccess: 'authctx_zones_last_success_timestamp_seconds',
  zonesRefresh: 'authctx_zones_refresh_total', // {outcome: success|error|skipped|shared}
  zonesRefreshDuration: 'authctx_zones_refresh_duration_seconds',
  // invalidation/
  invalidationsReceived: 'authctx_invalidations_total', // {origin: admin|pubsub|postgres}
  invalidationSubscribed: 'authctx_invalidation_subscribed', // {channel: redis|postgres} 1/0
  // response cache (cached routes)
  responseCacheRequests: 'authctx_response_cache_requests_total', // {route: <configured name>, result: hit|miss|stale|bypass}
  responseCacheEntries: 'authctx_response_cache_entries', // {route}: this replica's memory tier
  responseCacheBytes: 'authctx_response_cache_bytes', // {route}: this replica's memory tier
} as const;

export type MetricName = (typeof metricNames)[keyof typeof metricNames];

/** Histogram buckets that resolve sub-millisecond times (seconds). */
export const latencyBucketsSeconds = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
