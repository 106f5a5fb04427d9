import type { Registry } from 'prom-client';
import { getOrCreateCounter, getOrCreateHistogram } from '../metrics/get-or-create.js';
import { latencyBucketsSeconds, metricNames } from '../metrics/names.js';
import type { ContextSourceKind } from './context-source.js';

export type SourceOutcome = 'found' | 'not_found' | 'error' | 'timeout' | 'malformed';

export interface SourceMetrics {
  /** Counts one call and its duration. */
  observe(outcome: SourceOutcome, durationSeconds: number): void;
  /** Counts one context served by the legacy per-table queries. */
  legacyFallback(): void;
}

/** The context-source metrics for one adapter; several adapters may share a registry. */
export function createSourceMetrics(registry: Registry, source: ContextSourceKind): SourceMetrics {
  const requests = getOrCreateCounter<'source' | 'outcome'>(registry, {
    name: metricNames.sourceRequests,
    help: 'Context source calls by outcome',
    labelNames: ['source', 'outcome'],
  });
  const duration = getOrCreateHistogram<'source'>(registry, {
    name: metricNames.sourceDuration,
    help: 'Context source call duration in seconds',
    labelNames: ['source'],
    buckets: latencyBucketsSeconds,
  });
  const fallback = getOrCreateCounter<'source'>(registry, {
    name: metricNames.sourceLegacyFallback,
    help: 'Contexts assembled from the legacy per-table queries because get_user_context() is not installed',
    labelNames: ['source'],
  });
  return {
    observe(outcome, durationSeconds) {
      requests.inc({ source, outcome });
      duration.observe({ source }, durationSeconds);
    },
    legacyFallback() {
      fallback.inc({ source });
    },
  };
}
