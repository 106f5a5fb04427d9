import { Counter, Histogram, Registry } from 'prom-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundHistogram } from '../../src/metrics/bound-histogram.js';
import { latencyBucketsSeconds } from '../../src/metrics/names.js';

const labelSets = [
  { route: 'proxied', status_class: '2xx' },
  { route: 'proxied', status_class: '5xx' },
  { route: 'public', status_class: '2xx' },
];

describe('BoundHistogram', () => {
  it('exports exactly what a prom-client histogram and counter export for the same observations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.double({ min: 0, max: 20, noNaN: true })), { maxLength: 200 }), async (observations) => {
        const reference = new Registry();
        const refHistogram = new Histogram({ name: 'x_seconds', help: 'h', labelNames: ['route', 'status_class'], buckets: latencyBucketsSeconds, registers: [reference] });
        const refCounter = new Counter({ name: 'x_total', help: 'c', labelNames: ['route', 'status_class'], registers: [reference] });
        const bound = new Registry();
        const histogram = new BoundHistogram({ registry: bound, name: 'x_seconds', help: 'h', buckets: latencyBucketsSeconds });
        const series = labelSets.map((labels) => histogram.bind(labels));
        histogram.exportCountAs(bound, 'x_total', 'c');
        for (const labels of labelSets) {
          refHistogram.zero(labels);
          refCounter.labels(labels).inc(0);
        }
        for (const [i, value] of observations) {
          refHistogram.labels(labelSets[i]!).observe(value);
          refCounter.labels(labelSets[i]!).inc();
          series[i]!.observe(value);
        }
        expect(await bound.metrics()).toBe(await reference.metrics());
      }),
      { numRuns: 50 },
    );
  });
});
