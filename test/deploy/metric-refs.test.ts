import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { metricNames } from '../../src/metrics/names.js';
import {
  baseMetricName,
  collectMetricRefs,
  dashboardExpressions,
  metricNamesInPromql,
  prometheusRuleExpressions,
} from './metric-refs.js';

describe('metricNamesInPromql', () => {
  it('finds metrics and skips functions, aggregations, label lists, matchers and ranges', () => {
    const expr =
      'histogram_quantile(0.99, sum by (le, status_class) (rate(authctx_proxy_request_duration_seconds_bucket{pod=~"$pod", route="x{y}"}[$__rate_interval])))';
    expect([...metricNamesInPromql(expr)]).toEqual(['authctx_proxy_request_duration_seconds_bucket']);
  });

  it('finds both sides of binary operators and skips keywords and numbers', () => {
    const expr =
      'time() - max by (pod) (a_timestamp_seconds offset 5m) > 2 * 3600 and on (pod) b_total unless ignoring (x) group_left (y) c == bool 1e3';
    expect([...metricNamesInPromql(expr)].sort()).toEqual(['a_timestamp_seconds', 'b_total', 'c']);
  });

  it('reads only the metric out of Grafana label_values()', () => {
    expect([...metricNamesInPromql('label_values(authctx_proxy_requests_total{namespace=~"$namespace"}, pod)')]).toEqual([
      'authctx_proxy_requests_total',
    ]);
  });
});

describe('expression extraction', () => {
  it('walks nested dashboard panels and query variables', () => {
    const dashboard = {
      panels: [{ type: 'row', panels: [{ targets: [{ expr: 'rate(x_total[1m])' }] }] }, { targets: [{ expr: 'y' }] }],
      templating: { list: [{ type: 'query', query: { query: 'label_values(z, pod)' } }, { type: 'datasource', query: 'prometheus' }] },
    };
    expect(dashboardExpressions(dashboard)).toEqual(['rate(x_total[1m])', 'y', 'label_values(z, pod)']);
  });

  it('reads expressions from the PrometheusRule template despite Helm actions', () => {
    const template = [
      '{{- if .Values.on }}',
      'spec:',
      '  groups:',
      '    - rules:',
      '        - alert: A',
      '          expr: |',
      '            rate(m_total{ {{- $m }}}[5m]) > {{ $rule.max }}',
      '          annotations:',
      "            description: {{`{{ $labels.pod }}`}} is bad",
      '{{- end }}',
    ].join('\n');
    const exprs = prometheusRuleExpressions(template);
    expect(exprs).toHaveLength(1);
    expect([...metricNamesInPromql(exprs[0] ?? '')]).toEqual(['m_total']);
  });
});

describe('the chart dashboard and alerts', () => {
  it('query only metrics that authctx defines (names.ts plus prefixed prom-client defaults)', async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'authctx_' });
    const defaults = (await registry.getMetricsAsJSON()).map((metric) => metric.name);
    const known = new Set<string>([...Object.values(metricNames), ...defaults]);

    const refs = await collectMetricRefs();
    expect(refs.dashboard.size).toBeGreaterThan(10);
    expect(refs.alerts.size).toBeGreaterThanOrEqual(4);
    const unknown = [...refs.all].filter((name) => !known.has(baseMetricName(name)));
    expect(unknown).toEqual([]);
  });

  it('alerts cover hit ratio, source errors, stale serving, zones age and Redis', async () => {
    const refs = await collectMetricRefs();
    for (const name of [
      metricNames.cacheRequests,
      metricNames.sourceRequests,
      metricNames.staleServed,
      metricNames.zonesLastSuccess,
      metricNames.redisUp,
    ]) {
      expect(refs.alerts).toContain(name);
    }
  });
});
