/** A hand-written SVG: per scenario, a bar for requests/s, one for p99 and one for CPU µs/request. */
import type { ScenarioSummary } from './summary.js';

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Panel {
  title: string;
  value: (s: ScenarioSummary) => number;
  format: (v: number) => string;
  color: string;
}

const panels: Panel[] = [
  { title: 'requests/s (higher is better)', value: (s) => s.requestsPerSec, format: (v) => Math.round(v).toLocaleString('en-US'), color: '#3b7dd8' },
  { title: 'p99 latency, ms (lower is better)', value: (s) => s.p99Ms, format: (v) => v.toFixed(2), color: '#d8843b' },
  { title: 'CPU µs/request of the proxy (lower is better)', value: (s) => s.cpuMicrosPerRequest, format: (v) => v.toFixed(1), color: '#4a9b5f' },
];

export function renderChart(summaries: ScenarioSummary[], title: string): string {
  const labelWidth = 170;
  const panelWidth = 260;
  const gap = 30;
  const rowHeight = 22;
  const top = 56;
  const width = labelWidth + panels.length * (panelWidth + gap);
  const height = top + summaries.length * rowHeight + 20;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];
  summaries.forEach((s, i) => {
    const y = top + i * rowHeight;
    parts.push(`<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escape(s.scenario)}</text>`);
  });
  panels.forEach((panel, p) => {
    const x0 = labelWidth + p * (panelWidth + gap);
    const values = summaries.map((s) => panel.value(s));
    const max = Math.max(1e-9, ...values.filter((v) => Number.isFinite(v)));
    parts.push(`<text x="${x0}" y="${top - 10}" font-weight="bold">${escape(panel.title)}</text>`);
    values.forEach((v, i) => {
      const y = top + i * rowHeight;
      const barMax = panelWidth - 70;
      const w = Number.isFinite(v) ? Math.max(1, (v / max) * barMax) : 0;
      parts.push(`<rect x="${x0}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" fill="${panel.color}"/>`);
      parts.push(`<text x="${(x0 + w + 4).toFixed(1)}" y="${y + 15}">${Number.isFinite(v) ? escape(panel.format(v)) : 'n/a'}</text>`);
    });
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
