/** The Markdown report: machine, method, per-scenario medians, seeds comparison, special runs, targets. */
import type { BenchReport, ScenarioSummary } from './summary.js';

const n = (v: number | undefined, digits = 0) =>
  v === undefined || !Number.isFinite(v) ? 'n/a' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ratio = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(2)}×`);
const mb = (bytes: number) => n(bytes / 1024 / 1024, 1);

function scenarioTable(rows: ScenarioSummary[]): string[] {
  const out = [
    '| scenario | req/s | p50 ms | p99 ms | p99.9 ms | errors | CPU µs/req (proxy) | origin CPU µs/req | peak RSS MB | source calls/req | DB statements/req | req/s vs direct | CPU vs nginx auth | CPU vs http-proxy |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const s of rows) {
    out.push(
      `| ${s.scenario} | ${n(s.requestsPerSec)} | ${n(s.p50Ms, 2)} | ${n(s.p99Ms, 2)} | ${n(s.p999Ms, 2)} | ${n(s.errors + s.non2xx)} | **${n(s.cpuMicrosPerRequest, 1)}** | ${n(s.originCpuMicrosPerRequest, 1)} | ${mb(s.peakRssBytes)} | ${n(s.sourceCallsPerRequest, 3)} | ${n(s.dbStatementsPerRequest, 2)} | ${ratio(s.throughputVsDirect)} | ${ratio(s.cpuVsNginxAuth)} | ${ratio(s.cpuVsHttpProxy)} |`,
    );
  }
  return out;
}

function seedsTable(report: BenchReport): string[] {
  const s = (name: string) => report.summaries.find((x) => x.scenario === name);
  const legacy = s('legacy');
  const memory = s('authctx-memory');
  const redis = s('authctx-redis');
  const cold = s('authctx-cold');
  const mixed = s('authctx-mixed');
  const zoneDelay = report.settings.zoneDelayMs;
  return [
    '| | seeds: before | seeds: after | ours: `legacy` (measured) | ours: authctx (measured) |',
    '|---|---|---|---|---|',
    `| DB calls per request | 4–5 | 0.1 (cached) | ${n(legacy?.dbStatementsPerRequest, 2)} | mixed ${n(mixed?.sourceCallsPerRequest, 4)}, hot ${n(memory?.sourceCallsPerRequest, 4)}, cold ${n(cold?.sourceCallsPerRequest, 2)} |`,
    `| login (auth) latency | 500 ms | 50 ms cached, 100 ms miss | p50 ${n(legacy?.p50Ms, 1)} ms | p50 ${n(memory?.p50Ms, 2)} ms hot, ${n(cold?.p50Ms, 2)} ms miss |`,
    `| requests/s | 50–100 | 200–500 memory, 1,000–2,000 Redis | ${n(legacy?.requestsPerSec)} | ${n(memory?.requestsPerSec)} memory, ${n(redis?.requestsPerSec)} Redis, ${n(mixed?.requestsPerSec)} mixed |`,
    `| BigQuery in the auth path | yes, 100–300 ms | no (cached) | yes, simulated ${zoneDelay} ms | no (background index) |`,
  ];
}

export function renderMarkdown(report: BenchReport, chartFile: string): string {
  const lines: string[] = [];
  lines.push(`# authctx benchmark — ${report.mode} run, ${report.startedAt}`, '');
  lines.push('## Machine', '');
  for (const [key, value] of Object.entries(report.machine)) lines.push(`- ${key}: ${value}`);
  lines.push('', '## Method', '');
  lines.push(
    `- Every scenario loads the same origin (Node, one JSON answer) on loopback, ${report.settings.rounds} round(s) in an interleaved order (the order rotates each round), ${report.settings.durationSec} s each after a ${report.settings.warmupSec} s warm-up, ${report.settings.connections} keep-alive connections; medians over rounds.`,
    `- The process under test is pinned to core 0 (${report.settings.pinning ? 'taskset' : 'NOT pinned: taskset missing or one core'}); the origin, the load generator, Postgres and Redis share core 1. The headline figure is the CPU time (utime+stime from /proc/<pid>/stat) of the process under test per response: far less sensitive than requests/s to what else runs on the machine, though not immune (an unsaturated Node server spreads its per-wake-up costs over fewer requests). For \`direct\` it is the origin's own CPU. Compare figures within one run.`,
    '- Latency is measured by the load generator per 2xx response (microsecond resolution). Source calls and DB statements are counted by Postgres (pg_stat_statements in a private cluster).',
    '- Peers run no auth (`http-proxy`, `@fastify/http-proxy`, `undici-dispatch`, `nginx-proxy`) except `nginx-auth-request`, whose CPU includes its Node auth service.',
    '',
  );
  lines.push('## Scenarios (medians)', '', `![chart](${chartFile})`, '');
  lines.push(...scenarioTable(report.summaries), '');
  lines.push('What each scenario is:', '');
  for (const s of report.summaries) {
    const role = s.originSawRoleShare !== undefined && s.group !== 'baseline' ? ` (origin saw X-User-Role on ${n(s.originSawRoleShare * 100, 1)}% of requests)` : '';
    const cache = s.cache && Object.keys(s.cache).length > 0 ? `; authctx counters: ${Object.entries(s.cache).map(([k, v]) => `\`${k}\` ${n(v)}`).join(', ')}` : '';
    lines.push(`- \`${s.scenario}\`: ${s.description}${role}${cache}`);
  }
  if (report.skipped.length > 0) {
    lines.push('', 'Skipped here:', '');
    for (const s of report.skipped) lines.push(`- \`${s.scenario}\`: ${s.reason}`);
  }
  lines.push('', '## Against the seeds', '', ...seedsTable(report), '');
  if (report.halfCapacity) {
    const h = report.halfCapacity;
    lines.push('## Latency at half of authctx\'s capacity', '', `Fixed rate ${n(h.ratePerSec)} req/s (half of authctx-memory's median), 50 connections.`, '');
    lines.push('| scenario | req/s | p50 ms | p99 ms | p99.9 ms | CPU µs/req |', '|---|---:|---:|---:|---:|---:|');
    for (const r of h.runs) lines.push(`| ${r.scenario} | ${n(r.requestsPerSec)} | ${n(r.latencyMs.p50, 3)} | ${n(r.latencyMs.p99, 3)} | ${n(r.latencyMs.p999, 3)} | ${n(r.cpuMicrosPerRequest, 1)} |`);
    lines.push('', `Added p50 of authctx over direct: **${n(h.addedP50Ms, 3)} ms**.`, '');
  }
  if (report.concurrency) {
    const c = report.concurrency;
    lines.push('## Held connections', '', `${n(c.connections)} keep-alive connections through authctx (hot users, ${c.generator}), ${n(c.durationSec, 1)} s: ${n(c.requestsPerSec)} req/s, p99 ${n(c.latencyMs.p99, 2)} ms, **${n(c.errors)} errors, ${n(c.non2xx)} non-2xx**, CPU ${n(c.cpuMicrosPerRequest, 1)} µs/req, peak RSS ${mb(c.peakRssBytes)} MB.`, '');
  }
  if (report.memory) {
    const m = report.memory;
    lines.push(
      '## Memory per cached user',
      '',
      `${n(m.users)} distinct users through one authctx (memory only, caches sized to hold all): heap ${mb(m.heapUsedBeforeBytes)} → ${mb(m.heapUsedAfterBytes)} MB, RSS ${mb(m.rssBeforeBytes)} → ${mb(m.rssAfterBytes)} MB${m.gc ? ' (after a forced GC)' : ''}: **${n(m.heapBytesPerUser)} B heap** and ${n(m.rssBytesPerUser)} B RSS per user (context entry + verified-token entry). Source calls: ${n(m.sourceCalls)}.`,
      '',
    );
    const c = report.memoryContextOnly;
    if (c) lines.push(`With the verified-token cache off (context entries only): **${n(c.heapBytesPerUser)} B heap** and ${n(c.rssBytesPerUser)} B RSS per user, so the verified-token entry costs about ${n(m.heapBytesPerUser - c.heapBytesPerUser)} B.`, '');
    if (m.cacheEntries) lines.push(`Entries reported by authctx: ${Object.entries(m.cacheEntries).map(([k, v]) => `\`${k}\` ${n(v)}`).join(', ')}.`, '');
  }
  if (report.replicas) {
    const r = report.replicas;
    lines.push('## Two replicas sharing Redis', '', `Each replica gets every one of ${n(r.users)} users once, the two walking the list from opposite ends at the same time: ${n(r.requests)} requests, ${n(r.sourceCalls)} source calls = **${n(r.sourceCallsPerUser, 3)} per user** per TTL, ${n(r.errors)} errors. Cache counters of both replicas: ${Object.entries(r.cache).map(([k, v]) => `\`${k}\` ${n(v)}`).join(', ')}.`, '');
  }
  lines.push('## Targets', '', '| target | measured | met |', '|---|---|---|');
  for (const t of report.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met === undefined ? 'not measured' : t.met ? 'yes' : '**no**'} |`);
  if (report.profile && report.profile.length > 0) lines.push('', '## CPU profile of the hot path (self time, top frames)', '', '```', ...report.profile, '```');
  if (report.profileCached && report.profileCached.length > 0) lines.push('', '## CPU profile of the cached-route path', '', '```', ...report.profileCached, '```');
  lines.push('');
  return lines.join('\n');
}
