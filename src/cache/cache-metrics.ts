import type { Counter, Gauge, Registry } from 'prom-client';
import { getOrCreateCounter, getOrCreateGauge } from '../metrics/get-or-create.js';
import { metricNames } from '../metrics/names.js';

/** `authctx_cache_requests_total{tier,result}`: one per store lookup, per tier. */
export function cacheRequestsCounter(registry: Registry): Counter<'tier' | 'result'> {
  return getOrCreateCounter(registry, {
    name: metricNames.cacheRequests,
    help: 'Context cache lookups by tier and result (hit, miss, error)',
    labelNames: ['tier', 'result'],
  });
}

/** `authctx_cache_entries{tier}`. */
export function cacheEntriesGauge(registry: Registry): Gauge<'tier'> {
  return getOrCreateGauge(registry, {
    name: metricNames.cacheEntries,
    help: 'Context cache entries held, by tier (redis: counted by the last stats() scan)',
    labelNames: ['tier'],
  });
}
