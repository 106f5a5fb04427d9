import {
  Counter,
  Gauge,
  Histogram,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
  type Registry,
} from 'prom-client';

/**
 * Get-or-create for metrics on a registry the app owns: two parts (or two stores of one kind)
 * may declare the same metric, and prom-client refuses a second registration of one name.
 * The `registers` option is always `[registry]`; any given in `config` is ignored.
 */
export function getOrCreateCounter<T extends string>(
  registry: Registry,
  config: Omit<CounterConfiguration<T>, 'registers'>,
): Counter<T> {
  const existing = registry.getSingleMetric(config.name);
  if (existing instanceof Counter) return existing as Counter<T>;
  if (existing) throw new TypeError(`metric ${config.name} is registered with another type`);
  return new Counter<T>({ ...config, registers: [registry] });
}

export function getOrCreateGauge<T extends string>(
  registry: Registry,
  config: Omit<GaugeConfiguration<T>, 'registers'>,
): Gauge<T> {
  const existing = registry.getSingleMetric(config.name);
  if (existing instanceof Gauge) return existing as Gauge<T>;
  if (existing) throw new TypeError(`metric ${config.name} is registered with another type`);
  return new Gauge<T>({ ...config, registers: [registry] });
}

export function getOrCreateHistogram<T extends string>(
  registry: Registry,
  config: Omit<HistogramConfiguration<T>, 'registers'>,
): Histogram<T> {
  const existing = registry.getSingleMetric(config.name);
  if (existing instanceof Histogram) return existing as Histogram<T>;
  if (existing) throw new TypeError(`metric ${config.name} is registered with another type`);
  return new Histogram<T>({ ...config, registers: [registry] });
}
