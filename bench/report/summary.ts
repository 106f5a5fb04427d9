/** Medians over rounds, ratios against the baselines, and the targets checked. */
import type { RunRecord } from '../measure.js';
import type { HalfCapacityResult, MemoryResult, ReplicasResult } from '../special-runs.js';

export interface ScenarioSummary {
  scenario: string;
  group: string;
  description: string;
  runs: number;
  generator: string;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  errors: number;
  non2xx: number;
  cpuMicrosPerRequest: number;
  originCpuMicrosPerRequest: number;
  peakRssBytes: number;
  sourceCallsPerRequest: number;
  dbStatementsPerRequest: number;
  originSawRoleShare: number | undefined;
  originRequestsPerResponse: number;
  /** authctx's cache/source counters summed over the rounds (tier:result → count). */
  cache: Record<string, number> | undefined;
  /** requests/s ÷ direct's. */
  throughputVsDirect: number | undefined;
  /** CPU/request ÷ nginx auth_request's. */
  cpuVsNginxAuth: number | undefined;
  /** requests/s ÷ nginx auth_request's. */
  throughputVsNginxAuth: number | undefined;
  /** CPU/request ÷ plain http-proxy's. */
  cpuVsHttpProxy: number | undefined;
}

export interface Skipped {
  scenario: string;
  reason: string;
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | undefined;
}

export interface BenchReport {
  startedAt: string;
  mode: 'quick' | 'full';
  machine: Record<string, string>;
  settings: Record<string, string | number | boolean>;
  runs: RunRecord[];
  summaries: ScenarioSummary[];
  skipped: Skipped[];
  halfCapacity?: HalfCapacityResult;
  concurrency?: RunRecord;
  memory?: MemoryResult;
  /** The same memory run with the verified-token cache off: the context entry alone. */
  memoryContextOnly?: MemoryResult;
  replicas?: ReplicasResult;
  targets: TargetCheck[];
  profile?: string[];
  /** The same for the cached-route path (--profile-cached). */
  profileCached?: string[];
}

export function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (finite.length === 0) return Number.NaN;
  const mid = finite.length >> 1;
  return finite.length % 2 === 1 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2;
}

function sumCounters(list: (Record<string, number> | undefined)[]): Record<string, number> | undefined {
  if (list.every((c) => c === undefined)) return undefined;
  const out: Record<string, number> = {};
  for (const counters of list) for (const [key, value] of Object.entries(counters ?? {})) out[key] = (out[key] ?? 0) + value;
  return out;
}

export function summarize(runs: RunRecord[], meta: Map<string, { group: string; description: string }>): ScenarioSummary[] {
  const names = [...new Set(runs.map((r) => r.scenario))];
  const base = names.map((name) => {
    const mine = runs.filter((r) => r.scenario === name);
    const m = (pick: (r: RunRecord) => number) => median(mine.map(pick));
    const role = mine.map((r) => r.originSawRoleShare).filter((v): v is number => v !== undefined);
    return {
      scenario: name,
      group: meta.get(name)?.group ?? '',
      description: meta.get(name)?.description ?? '',
      runs: mine.length,
      generator: [...new Set(mine.map((r) => r.generator))].join('+'),
      requestsPerSec: m((r) => r.requestsPerSec),
      p50Ms: m((r) => r.latencyMs.p50),
      p99Ms: m((r) => r.latencyMs.p99),
      p999Ms: m((r) => r.latencyMs.p999),
      errors: mine.reduce((s, r) => s + r.errors, 0),
      non2xx: mine.reduce((s, r) => s + r.non2xx, 0),
      cpuMicrosPerRequest: m((r) => r.cpuMicrosPerRequest),
      originCpuMicrosPerRequest: m((r) => r.originCpuMicrosPerRequest),
      peakRssBytes: m((r) => r.peakRssBytes),
      sourceCallsPerRequest: m((r) => r.sourceCallsPerRequest),
      dbStatementsPerRequest: m((r) => r.dbStatementsPerRequest),
      originSawRoleShare: role.length > 0 ? median(role) : undefined,
      originRequestsPerResponse: m((r) => r.originRequestsPerResponse),
      cache: sumCounters(mine.map((r) => r.cache)),
    };
  });
  const find = (name: string) => base.find((s) => s.scenario === name);
  const direct = find('direct');
  const nginxAuth = find('nginx-auth-request');
  const httpProxy = find('http-proxy');
  const ratio = (a: number, b: number | undefined) => (b !== undefined && b > 0 && Number.isFinite(a) ? a / b : undefined);
  return base.map((s) => ({
    ...s,
    throughputVsDirect: ratio(s.requestsPerSec, direct?.requestsPerSec),
    cpuVsNginxAuth: ratio(s.cpuMicrosPerRequest, nginxAuth?.cpuMicrosPerRequest),
    throughputVsNginxAuth: ratio(s.requestsPerSec, nginxAuth?.requestsPerSec),
    cpuVsHttpProxy: ratio(s.cpuMicrosPerRequest, httpProxy?.cpuMicrosPerRequest),
  }));
}

const fmt = (v: number | undefined, digits = 2) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(digits));

/** The goals, each with the figure measured in this run. */
export function checkTargets(report: Omit<BenchReport, 'targets'>): TargetCheck[] {
  const s = (name: string) => report.summaries.find((x) => x.scenario === name);
  const memory = s('authctx-memory');
  const checks: TargetCheck[] = [];
  const vsHttp = memory?.cpuVsHttpProxy;
  checks.push({ target: 'authctx-memory CPU/request ≤ 0.6 × plain http-proxy', measured: `${fmt(vsHttp)}× (${fmt(memory?.cpuMicrosPerRequest, 1)} vs ${fmt(s('http-proxy')?.cpuMicrosPerRequest, 1)} µs)`, met: vsHttp === undefined ? undefined : vsHttp <= 0.6 });
  const vsNginx = memory?.cpuVsNginxAuth;
  checks.push({ target: 'authctx-memory CPU/request ≤ 1.5 × nginx auth_request + proxy_cache', measured: `${fmt(vsNginx)}× (${fmt(memory?.cpuMicrosPerRequest, 1)} vs ${fmt(s('nginx-auth-request')?.cpuMicrosPerRequest, 1)} µs)`, met: vsNginx === undefined ? undefined : vsNginx <= 1.5 });
  const added = report.halfCapacity?.addedP50Ms;
  checks.push({ target: 'added p50 over direct ≤ 0.5 ms at half of authctx capacity', measured: added === undefined ? 'not run' : `${fmt(added, 3)} ms at ${report.halfCapacity!.ratePerSec} req/s`, met: added === undefined || !Number.isFinite(added) ? undefined : added <= 0.5 });
  const perUser = report.replicas?.sourceCallsPerUser;
  checks.push({ target: '≤ 1 source call per user per TTL across two replicas sharing Redis', measured: perUser === undefined ? 'not run' : `${fmt(perUser, 3)} calls/user (${report.replicas!.sourceCalls} for ${report.replicas!.users} users)`, met: perUser === undefined ? undefined : perUser <= 1 });
  const conc = report.concurrency;
  checks.push({ target: '10,000 connections with zero errors', measured: conc === undefined ? 'not run' : `${conc.connections.toLocaleString('en-US')} connections: ${conc.errors} errors, ${conc.non2xx} non-2xx`, met: conc === undefined ? undefined : conc.connections >= 10_000 && conc.errors + conc.non2xx === 0 });
  const heap = report.memory?.heapBytesPerUser;
  checks.push({ target: '≤ 1 KB heap per cached user', measured: heap === undefined ? 'not run' : `${fmt(heap, 0)} B/user over ${report.memory!.users.toLocaleString('en-US')} users`, met: heap === undefined ? undefined : heap <= 1024 });
  return checks;
}
