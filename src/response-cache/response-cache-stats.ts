import type { Counter, Registry } from 'prom-client';
import { getOrCreateCounter, getOrCreateGauge } from '../metrics/get-or-create.js';
import { metricNames } from '../metrics/names.js';
import type { CachedRouteSpec } from './cached-routes.js';

export type ResponseCacheResult = 'hit' | 'miss' | 'stale' | 'bypass';
const results: readonly ResponseCacheResult[] = ['hit', 'miss', 'stale', 'bypass'];

interface Tracked {
  route: string;
  bytes: number;
  storedAt: number;
}

export interface RouteCounters {
  count(result: ResponseCacheResult): void;
}

export interface ResponseCacheStats {
  counters(route: CachedRouteSpec): RouteCounters;
  /** Records an entry now held in this replica's memory tier. */
  track(key: string, route: CachedRouteSpec, bytes: number, storedAt: number): void;
  /** Per-route figures for `GET /api/admin/cache/stats` (memory tier of this replica). */
  routes(): Record<string, Record<string, number | null>>;
}

export interface ResponseCacheStatsOptions {
  routes: readonly CachedRouteSpec[];
  registry: Registry;
  /** Whether the memory tier still holds `key` (lru-cache evicts without telling us). */
  holds: (key: string) => boolean;
  /** Bound on tracked keys before a prune; the memory tier's own entry bound. */
  maxEntries: number;
  /** Epoch ms. */
  now: () => number;
}

/**
 * Hit/miss counters and per-route entries, bytes and oldest age. The memory tier evicts on its
 * own, so the per-key index is reconciled against it on every read and whenever it outgrows
 * twice the tier's bound. Metric labels are configured route names: a closed set.
 */
export function createResponseCacheStats(options: ResponseCacheStatsOptions): ResponseCacheStats {
  const requests: Counter<'route' | 'result'> = getOrCreateCounter(options.registry, {
    name: metricNames.responseCacheRequests,
    help: 'Requests on cached routes by configured route name and result (hit, miss, stale, bypass)',
    labelNames: ['route', 'result'],
  });
  const tallies = new Map<string, Record<ResponseCacheResult, number>>();
  const bound = new Map<string, RouteCounters>();
  for (const route of options.routes) {
    const tally = { hit: 0, miss: 0, stale: 0, bypass: 0 };
    tallies.set(route.name, tally);
    const children = Object.fromEntries(results.map((result) => [result, requests.labels({ route: route.name, result })]));
    bound.set(route.name, {
      count(result) {
        tally[result]++;
        children[result]!.inc();
      },
    });
  }
  const index = new Map<string, Tracked>();

  function prune(): void {
    for (const [key] of index) if (!options.holds(key)) index.delete(key);
  }

  function perRoute(): Map<string, { entries: number; bytes: number; oldest: number | undefined }> {
    prune();
    const out = new Map(options.routes.map((route) => [route.name, { entries: 0, bytes: 0, oldest: undefined as number | undefined }]));
    for (const tracked of index.values()) {
      const figures = out.get(tracked.route);
      if (!figures) continue;
      figures.entries++;
      figures.bytes += tracked.bytes;
      figures.oldest = figures.oldest === undefined ? tracked.storedAt : Math.min(figures.oldest, tracked.storedAt);
    }
    return out;
  }

  let lastCollect = -Infinity;
  let latest = new Map<string, { entries: number; bytes: number }>();
  // Both gauges are scraped together: compute the figures once per scrape.
  const figuresNow = (): Map<string, { entries: number; bytes: number }> => {
    const t = options.now();
    if (t - lastCollect >= 100) {
      lastCollect = t;
      latest = perRoute();
    }
    return latest;
  };
  getOrCreateGauge(options.registry, {
    name: metricNames.responseCacheEntries,
    help: 'Cached responses held in this replica\'s memory tier, by configured route name',
    labelNames: ['route'],
    collect() {
      for (const [route, figures] of figuresNow()) this.set({ route }, figures.entries);
    },
  });
  getOrCreateGauge(options.registry, {
    name: metricNames.responseCacheBytes,
    help: 'Bytes of cached responses held in this replica\'s memory tier, by configured route name',
    labelNames: ['route'],
    collect() {
      for (const [route, figures] of figuresNow()) this.set({ route }, figures.bytes);
    },
  });

  return {
    counters: (route) => bound.get(route.name)!,
    track(key, route, bytes, storedAt) {
      index.set(key, { route: route.name, bytes, storedAt });
      if (index.size > options.maxEntries * 2) prune();
    },
    routes() {
      const now = options.now();
      const out: Record<string, Record<string, number | null>> = {};
      for (const [name, figures] of perRoute()) {
        const tally = tallies.get(name)!;
        const served = tally.hit + tally.stale;
        const lookups = served + tally.miss;
        out[name] = {
          entries: figures.entries,
          bytes: figures.bytes,
          hits: tally.hit,
          stale: tally.stale,
          misses: tally.miss,
          bypassed: tally.bypass,
          hit_ratio: lookups === 0 ? null : Math.round((served / lookups) * 1000) / 1000,
          oldest_entry_age_seconds: figures.oldest === undefined ? null : Math.max(0, Math.round((now - figures.oldest) / 1000)),
        };
      }
      return out;
    },
  };
}
