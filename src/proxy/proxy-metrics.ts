import type { Registry } from 'prom-client';
import { getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram } from '../metrics/get-or-create.js';
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
  const requests = getOrCreateCounter(registry, {
    name: metricNames.proxyRequests,
    help: 'Requests handled on the proxy port, by route kind and status class',
    labelNames: ['route', 'status_class'] as const,
  });
  const duration = getOrCreateHistogram(registry, {
    name: metricNames.proxyDuration,
    help: 'Time from request start to response end on the proxy port',
    labelNames: ['route', 'status_class'] as const,
    buckets: latencyBucketsSeconds,
  });
  const upstreamErrors = getOrCreateCounter(registry, {
    name: metricNames.upstreamErrors,
    help: 'Backend failures by kind',
    labelNames: ['kind'] as const,
  });
  // Zero series exist from the start, so dashboards and alerts see 0 rather than nothing.
  for (const kind of ['timeout', 'unreachable']) upstreamErrors.labels({ kind }).inc(0);
  // Pre-bound children: label lookup costs more than the increment itself on the hot path.
  const bound = new Map<string, { count: { inc(): void }; time: { observe(v: number): void } }>();
  for (const route of routeKinds) {
    for (const statusClass of [...statusClasses, 'aborted']) {
      const labels = { route, status_class: statusClass };
      bound.set(`${route}:${statusClass}`, { count: requests.labels(labels), time: duration.labels(labels) });
    }
  }
  const upstream = getOrCreateHistogram(registry, {
    name: metricNames.upstreamDuration,
    help: 'Time from dispatch to the backend until its response headers (or failure)',
    labelNames: ['outcome'] as const,
    buckets: latencyBucketsSeconds,
  });
  const upstreamResponse = upstream.labels({ outcome: 'response' });
  const upstreamError = upstream.labels({ outcome: 'error' });
  const metrics: ProxyMetrics = {
    inFlight: 0,
    recordUpstream(seconds, outcome) {
      (outcome === 'response' ? upstreamResponse : upstreamError).observe(seconds);
    },
    record(route, status, startMs, upstreamError) {
      const statusClass = status === 0 ? 'aborted' : statusClasses[Math.floor(status / 100) - 1] ?? '5xx';
      const child = bound.get(`${route}:${statusClass}`)!;
      child.count.inc();
      child.time.observe((now() - startMs) / 1000);
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
