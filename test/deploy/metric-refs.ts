import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/**
 * Finds the metric names that the Grafana dashboard and the PrometheusRule query, so that a
 * test can hold them against what a running authctx exports. Names come back exactly as
 * written (a histogram's `_bucket`, `_sum`, `_count` included): they are what a scrape of
 * /metrics shows.
 */

export const dashboardPath = fileURLToPath(new URL('../../helm/authctx/dashboards/authctx.json', import.meta.url));
export const prometheusRulePath = fileURLToPath(
  new URL('../../helm/authctx/templates/prometheusrule.yaml', import.meta.url),
);

// Words that look like identifiers in PromQL but are not metric names.
const keywords = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset',
  'atan2', 'inf', 'nan', 'start', 'end',
]);
// Followed by a parenthesised list of label names, not an expression.
const labelListKeywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/** Metric names referenced by one PromQL expression (Grafana `$variables` allowed). */
export function metricNamesInPromql(expr: string): Set<string> {
  let text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // string literals
    .replace(/\{[^{}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\$\{?[A-Za-z_]\w*(?::\w+)?\}?/g, ' ') // Grafana variables
    .replace(/#[^\n]*/g, ' '); // comments
  // Grafana's label_values(metric, label): only the first argument is a metric.
  text = text.replace(/\blabel_values\s*\(\s*([A-Za-z_:][\w:]*)?\s*(?:,\s*[A-Za-z_]\w*\s*)?\)/g, ' $1 ');

  const names = new Set<string>();
  const token = /[A-Za-z_:][\w:]*|\d+(?:\.\d+)?(?:e[+-]?\d+)?[a-z]*|[()]|[^\sA-Za-z_:()\d]+/gi;
  const tokens: string[] = text.match(token) ?? [];
  for (let i = 0; i < tokens.length; i++) {
    const word = tokens[i] ?? '';
    if (!/^[A-Za-z_:]/.test(word)) continue;
    const lower = word.toLowerCase();
    if (labelListKeywords.has(lower) && tokens[i + 1] === '(') {
      const close = tokens.indexOf(')', i + 2);
      i = close === -1 ? tokens.length : close;
      continue;
    }
    if (keywords.has(lower)) continue;
    const next = tokens[i + 1]?.toLowerCase();
    if (next === '(' || next === 'by' || next === 'without') continue; // a function or aggregation
    names.add(word);
  }
  return names;
}

/** Every PromQL expression in a Grafana dashboard: panel targets and query variables. */
export function dashboardExpressions(dashboard: unknown): string[] {
  const found: string[] = [];
  const visit = (node: unknown, key: string | undefined): void => {
    if (Array.isArray(node)) {
      for (const item of node) visit(item, key);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (typeof record.expr === 'string') found.push(record.expr);
    if (key === 'list' && record.type === 'query') {
      const query = record.query;
      if (typeof query === 'string') found.push(query);
      else if (query && typeof query === 'object' && typeof (query as { query?: unknown }).query === 'string') {
        found.push((query as { query: string }).query);
      }
    }
    for (const [childKey, child] of Object.entries(record)) {
      if (childKey !== 'query') visit(child, childKey);
    }
  };
  visit(dashboard, undefined);
  return found;
}

/**
 * Every `expr` in a PrometheusRule, rendered or still a Helm template: template actions are
 * blanked first (they only ever fill in label matchers and thresholds there).
 */
export function prometheusRuleExpressions(text: string): string[] {
  const plain = text
    .replace(/\{\{`[\s\S]*?`\}\}/g, '') // escaped alert-template text
    .replace(/\{\{-?[\s\S]*?-?\}\}/g, '');
  const found: string[] = [];
  for (const doc of parseAllDocuments(plain)) {
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) {
        for (const item of node) visit(item);
        return;
      }
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
        if (key === 'expr' && typeof value === 'string') found.push(value);
        else visit(value);
      }
    };
    visit(doc.toJS());
  }
  return found;
}

export interface MetricRefs {
  dashboard: Set<string>;
  alerts: Set<string>;
  all: Set<string>;
}

/** Metric names used by the chart's dashboard and PrometheusRule template. */
export async function collectMetricRefs(
  paths: { dashboard?: string; prometheusRule?: string } = {},
): Promise<MetricRefs> {
  const dashboardJson: unknown = JSON.parse(await readFile(paths.dashboard ?? dashboardPath, 'utf8'));
  const ruleText = await readFile(paths.prometheusRule ?? prometheusRulePath, 'utf8');
  const union = (exprs: string[]): Set<string> => new Set(exprs.flatMap((e) => [...metricNamesInPromql(e)]));
  const dashboard = union(dashboardExpressions(dashboardJson));
  const alerts = union(prometheusRuleExpressions(ruleText));
  return { dashboard, alerts, all: new Set([...dashboard, ...alerts]) };
}

/** `authctx_x_seconds_bucket` → `authctx_x_seconds`: the name a histogram is registered under. */
export function baseMetricName(name: string): string {
  return name.replace(/_(bucket|sum|count)$/, '');
}
