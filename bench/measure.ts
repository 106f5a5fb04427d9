/**
 * One measured run of one scenario: start what is under test, warm it up, then read
 * the proxy's CPU time, the origin's counters and Postgres' statement counters around
 * the load, and stop it again (each run starts fresh, so peak RSS is per run).
 */
import type { LoadJob, LoadResult } from './load/load-job.js';
import { runLoad } from './load/run-load.js';
import { cpuMicros, peakRssBytes } from './proc-stats.js';
import type { BenchPostgres } from './postgres-cluster.js';
import type { Target } from './processes-under-test.js';
import type { Scenario, ScenarioEnvironment } from './scenarios.js';

export interface RunRecord {
  scenario: string;
  round: number;
  generator: LoadResult['generator'];
  connections: number;
  requests: number;
  durationSec: number;
  requestsPerSec: number;
  latencyMs: LoadResult['latencyMs'];
  errors: number;
  non2xx: number;
  /** Status code → responses (autocannon only). */
  statusCodes: Record<string, number>;
  /** CPU (user+system) of the process(es) under test per response, microseconds. */
  cpuMicrosPerRequest: number;
  /** The origin's CPU per response (context for the proxy's figure). */
  originCpuMicrosPerRequest: number;
  peakRssBytes: number;
  /** get_user_context() calls per response, counted by Postgres. */
  sourceCallsPerRequest: number;
  /** Every statement Postgres ran per response. */
  dbStatementsPerRequest: number;
  /** Share of the requests reaching the origin that carried X-User-Role. */
  originSawRoleShare: number | undefined;
  /** Share of responses that reached the origin (cached routes answer without it). */
  originRequestsPerResponse: number;
  /** authctx's own cache counters over the run (authctx_cache_requests_total), when it is the target. */
  cache?: Record<string, number>;
}

export interface MeasureOptions {
  env: ScenarioEnvironment;
  db: BenchPostgres;
  warmupSec: number;
  durationSec: number;
  connections: number;
  generator: 'autocannon' | 'wrk';
  label: string;
}

interface OriginStats {
  requests: number;
  withUserId: number;
  withRole: number;
}

async function originStats(originUrl: string): Promise<OriginStats> {
  const response = await fetch(`${originUrl}/__bench/stats`);
  return (await response.json()) as OriginStats;
}

/** Sums of authctx_cache_requests_total by `tier:result`, from the admin /metrics. */
export async function scrapeCacheCounters(adminUrl: string | undefined): Promise<Record<string, number> | undefined> {
  if (!adminUrl) return undefined;
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('authctx_cache_requests_total{') && !line.startsWith('authctx_context_source_requests_total{')) continue;
    const tier = /tier="([^"]+)"/.exec(line)?.[1] ?? 'source';
    const result = /(?:result|outcome)="([^"]+)"/.exec(line)?.[1] ?? '?';
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    out[`${tier}:${result}`] = (out[`${tier}:${result}`] ?? 0) + value;
  }
  return out;
}

function diff(after: Record<string, number> | undefined, before: Record<string, number> | undefined): Record<string, number> | undefined {
  if (!after) return undefined;
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before?.[key] ?? 0);
    if (delta !== 0) out[key] = delta;
  }
  return out;
}

/** Loads `target` once (warm-up excluded) and returns the figures. */
export async function measureTarget(scenario: Scenario, target: Target, round: number, options: MeasureOptions): Promise<RunRecord> {
  const { env, db } = options;
  const plan = scenario.plan(env, round);
  const generator = plan.tokens.mode === 'fixed' ? options.generator : 'autocannon';
  const job: LoadJob = { url: target.url, path: plan.path, connections: options.connections, durationSec: options.durationSec, tokens: plan.tokens };
  if (options.warmupSec > 0) {
    await runLoad({ ...job, durationSec: options.warmupSec }, { workDir: env.workDir, label: `${options.label}-warmup`, generator });
  }
  const pids = target.pids();
  const originPid = [env.originPid];
  const cacheBefore = await scrapeCacheCounters(target.adminUrl);
  const originBefore = await originStats(env.originUrl);
  await db.resetCounters();
  const cpuBefore = cpuMicros(pids);
  const originCpuBefore = cpuMicros(originPid);
  const result = await runLoad(job, { workDir: env.workDir, label: options.label, generator });
  const cpuAfter = cpuMicros(pids);
  const originCpuAfter = cpuMicros(originPid);
  const [sourceCalls, statements, originAfter, cacheAfter] = await Promise.all([
    db.sourceCalls(),
    db.statements(),
    originStats(env.originUrl),
    scrapeCacheCounters(target.adminUrl),
  ]);
  const responses = Math.max(1, result.requests);
  const originRequests = originAfter.requests - originBefore.requests;
  const cache = diff(cacheAfter, cacheBefore);
  return {
    scenario: scenario.name,
    round,
    generator: result.generator,
    connections: options.connections,
    requests: result.requests,
    durationSec: result.durationSec,
    requestsPerSec: result.requestsPerSec,
    latencyMs: result.latencyMs,
    errors: result.errors,
    non2xx: result.non2xx,
    statusCodes: result.statusCodes,
    cpuMicrosPerRequest: (cpuAfter - cpuBefore) / responses,
    originCpuMicrosPerRequest: (originCpuAfter - originCpuBefore) / responses,
    peakRssBytes: peakRssBytes(pids),
    sourceCallsPerRequest: sourceCalls / responses,
    dbStatementsPerRequest: statements / responses,
    originSawRoleShare: originRequests > 0 ? (originAfter.withRole - originBefore.withRole) / originRequests : undefined,
    originRequestsPerResponse: originRequests / responses,
    ...(cache ? { cache } : {}),
  };
}

/** Starts the scenario, measures one run, stops it. */
export async function measureScenario(scenario: Scenario, round: number, options: MeasureOptions): Promise<RunRecord> {
  const target = await scenario.start(options.env);
  try {
    return await measureTarget(scenario, target, round, options);
  } finally {
    await target.stop();
  }
}
