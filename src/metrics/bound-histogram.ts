import type { Registry } from 'prom-client';

/** One label set of a `BoundHistogram`; observing is a bucket scan and three additions. */
export interface BoundSeries {
  observe(value: number): void;
}

interface Series {
  labels: Record<string, string>;
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

type MetricValue = { value: number; labels: Record<string, string | number>; metricName?: string };

/**
 * A histogram whose label sets are bound once, up front. prom-client's labelled children
 * validate and hash their labels on every observation (≈ 0.7 µs, measured here), which the
 * proxy would pay on every request; here an observation touches one preallocated series.
 * It registers itself on the app's registry like any prom-client metric, and can also
 * export each series' count as a counter (`<x>_total`), so one observation feeds both.
 */
export class BoundHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #upperBounds: readonly number[];
  readonly #series: Series[] = [];

  constructor(options: { registry: Registry; name: string; help: string; buckets: readonly number[] }) {
    this.name = options.name;
    this.help = options.help;
    this.#upperBounds = [...options.buckets].sort((a, b) => a - b);
    options.registry.registerMetric(this as never);
  }

  /** A series for one label set; call at startup, not per observation. */
  bind(labels: Record<string, string>): BoundSeries {
    const series: Series = { labels, buckets: new Float64Array(this.#upperBounds.length + 1), sum: 0, count: 0 };
    this.#series.push(series);
    const bounds = this.#upperBounds;
    return {
      observe(value) {
        let i = 0;
        while (i < bounds.length && value > bounds[i]!) i++;
        series.buckets[i]!++;
        series.sum += value;
        series.count++;
      },
    };
  }

  /** Exports every series' observation count as a counter named `name`. */
  exportCountAs(registry: Registry, name: string, help: string): void {
    const series = this.#series;
    registry.registerMetric({
      name,
      help,
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({ name, help, type: 'counter', aggregator: 'sum', values: series.map((s) => ({ value: s.count, labels: s.labels })) }),
      reset() {},
    } as never);
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    for (const s of this.#series) {
      let cumulative = 0;
      this.#upperBounds.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        values.push({ value: cumulative, labels: { le, ...s.labels }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: s.count, labels: { le: '+Inf', ...s.labels }, metricName: `${this.name}_bucket` });
      values.push({ value: s.sum, labels: s.labels, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: s.labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    for (const s of this.#series) {
      s.buckets.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
