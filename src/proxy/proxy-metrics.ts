import type { Registry } from 'prom-client';
import { BoundHistogram } from '../metrics/bound-histogram.js';
import { getOrCreateCounter, getOrCreateGauge } from '../metrics/get-or-create.js';
import { latencyBucketsSeconds, metricNames } from '../metrics/names.js';
import type { ErrorCode } from '../errors.js';

/** How a request was handled; a closed union, used as a metric label. */
export type RouteKind = 'proxied' | 'public' | 'context' | 'cached' | 'rejected';

const statusClasses = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const routeKinds: readonly RouteKind[] = ['proxied', 'public', 'context', 'cached', 'rejected'];

export interface ProxyMetrics {
  /** Records one finished request; `startMs` from `performance.now()`. */
  record(route: RouteKind, status: number, startMs: number, upstreamError: ErrorCode | undefined): void;
  /** Records the backend's time to response headers (or to failure). */
  recordUpstream(seconds: number, outcome: 'response' | 'error'): void;
  inFlight: number;
}

export function createProxyMetrics(registry: Registry, now: () => number): ProxyMetrics {
  const duration = new BoundHistogram({
    registry,
    name: metricNames.proxyDuration,
    help: 'Time from request start to response end on the proxy port',
    buckets: latencyBucketsSeconds,
  });
  // One series per (route kind, status class), bound up front: a request is an array index.
  const classes = [...statusClasses, 'aborted'] as const;
  const series = routeKinds.flatMap((route) => classes.map((statusClass) => duration.bind({ route, status_class: statusClass })));
  duration.exportCountAs(registry, metricNames.proxyRequests, 'Requests handled on the proxy port, by route kind and status class');
  const routeIndex = Object.fromEntries(routeKinds.map((route, i) => [route, i * classes.length])) as Record<RouteKind, number>;

  const upstream = new BoundHistogram({
    registry,
    name: metricNames.upstreamDuration,
    help: 'Time from dispatch to the backend until its response headers (or failure)',
    buckets: latencyBucketsSeconds,
  });
  const upstreamResponse = upstream.bind({ outcome: 'response' });
  const upstreamError = upstream.bind({ outcome: 'error' });
  const upstreamErrors = getOrCreateCounter(registry, {
    name: metricNames.upstreamErrors,
    help: 'Backend failures by kind',
    labelNames: ['kind'] as const,
  });
  // Zero series exist from the start, so dashboards and alerts see 0 rather than nothing.
  for (const kind of ['timeout', 'unreachable']) upstreamErrors.labels({ kind }).inc(0);

  const metrics: ProxyMetrics = {
    inFlight: 0,
    recordUpstream(seconds, outcome) {
      (outcome === 'response' ? upstreamResponse : upstreamError).observe(seconds);
    },
    record(route, status, startMs, upstreamError) {
      // status 0: the client went away before the response ended ("aborted", the last class).
      const classIndex = status === 0 ? classes.length - 1 : Math.min(Math.max(Math.floor(status / 100) - 1, 0), 4);
      series[routeIndex[route] + classIndex]!.observe((now() - startMs) / 1000);
      if (upstreamError) upstreamErrors.inc({ kind: upstreamError === 'AUTHCTX_ERR_PROXY_UPSTREAM_TIMEOUT' ? 'timeout' : 'unreachable' });
    },
  };
  getOrCreateGauge(registry, {
    name: metricNames.proxyInFlight,
    help: 'Requests in flight on the proxy port',
    collect() {
      this.set(metrics.inFlight);
    },
  });
  return metrics;
}
