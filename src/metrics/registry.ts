import { Registry, collectDefaultMetrics } from 'prom-client';

/** The app's own registry (never prom-client's global one), with Node's default metrics under `authctx_`. */
export function createMetricsRegistry(options: { defaultMetrics: boolean }): Registry {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'authctx_' });
  return registry;
}
