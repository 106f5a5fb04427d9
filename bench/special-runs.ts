/**
 * The runs beside the scenario rounds: latency at half of authctx's capacity,
 * 10,000 held connections, memory per cached user, and two replicas sharing Redis.
 */
import { once } from 'node:events';
import type { Started } from './child-process.js';
import { runLoad } from './load/run-load.js';
import { wrkInstalled } from './load/wrk.js';
import { measureScenario, scrapeCacheCounters, type MeasureOptions, type RunRecord } from './measure.js';
import { cpuMicros, peakRssBytes } from './proc-stats.js';
import { startAuthctx } from './processes-under-test.js';
import { startBenchRedis } from './redis.js';
import { dataPath, scenarios, type Scenario } from './scenarios.js';

function scenario(name: string): Scenario {
  const found = scenarios.find((s) => s.name === name);
  if (!found) throw new Error(`no scenario ${name}`);
  return found;
}

export interface HalfCapacityResult {
  ratePerSec: number;
  runs: RunRecord[];
  /** authctx-memory p50 minus direct p50 at the same rate, ms. */
  addedP50Ms: number;
}

/** direct, authctx-memory (and nginx auth_request) at a fixed rate: half of authctx's measured capacity. */
export async function runHalfCapacity(options: MeasureOptions, capacityPerSec: number, names: string[]): Promise<HalfCapacityResult> {
  const ratePerSec = Math.max(100, Math.round(capacityPerSec / 2));
  const runs: RunRecord[] = [];
  for (const name of names) {
    const s = scenario(name);
    const target = await s.start(options.env);
    try {
      runs.push(await measureTargetAtRate(s, target, options, ratePerSec));
    } finally {
      await target.stop();
    }
  }
  const p50 = (name: string) => runs.find((r) => r.scenario === name)?.latencyMs.p50 ?? Number.NaN;
  return { ratePerSec, runs, addedP50Ms: p50('authctx-memory') - p50('direct') };
}

async function measureTargetAtRate(s: Scenario, target: Awaited<ReturnType<Scenario['start']>>, options: MeasureOptions, ratePerSec: number): Promise<RunRecord> {
  const plan = s.plan(options.env, 0);
  await runLoad({ url: target.url, path: plan.path, connections: 50, durationSec: options.warmupSec || 1, tokens: plan.tokens }, { workDir: options.env.workDir, label: `half-${s.name}-warmup`, generator: 'autocannon' });
  const pids = target.pids();
  const cpuBefore = cpuMicros(pids);
  const result = await runLoad(
    { url: target.url, path: plan.path, connections: 50, durationSec: options.durationSec, overallRate: ratePerSec, tokens: plan.tokens },
    { workDir: options.env.workDir, label: `half-${s.name}`, generator: 'autocannon' },
  );
  const cpu = cpuMicros(pids) - cpuBefore;
  return {
    scenario: s.name,
    round: 0,
    generator: result.generator,
    connections: 50,
    requests: result.requests,
    durationSec: result.durationSec,
    requestsPerSec: result.requestsPerSec,
    latencyMs: result.latencyMs,
    errors: result.errors,
    non2xx: result.non2xx,
    statusCodes: result.statusCodes,
    cpuMicrosPerRequest: cpu / Math.max(1, result.requests),
    originCpuMicrosPerRequest: Number.NaN,
    peakRssBytes: peakRssBytes(pids),
    sourceCallsPerRequest: Number.NaN,
    dbStatementsPerRequest: Number.NaN,
    originSawRoleShare: undefined,
    originRequestsPerResponse: Number.NaN,
  };
}

/** Many keep-alive connections held through authctx (hot users), errors counted. */
export async function runConcurrency(options: MeasureOptions, connections: number): Promise<RunRecord> {
  return measureScenario(scenario('authctx-memory'), 0, {
    ...options,
    connections,
    generator: wrkInstalled ? 'wrk' : 'autocannon',
    label: `concurrency-${connections}`,
  });
}

export interface MemoryResult {
  users: number;
  heapUsedBeforeBytes: number;
  heapUsedAfterBytes: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  heapBytesPerUser: number;
  rssBytesPerUser: number;
  /** Whether the heap figures are after a forced GC. */
  gc: boolean;
  sourceCalls: number;
  cacheEntries: Record<string, number> | undefined;
}

interface ProbeReply {
  memory: NodeJS.MemoryUsage;
  gc: boolean;
}

async function probe(child: Started): Promise<ProbeReply> {
  const reply = once(child.child, 'message') as Promise<[ProbeReply]>;
  child.child.send('memory');
  const [message] = await reply;
  return message;
}

/** `users` distinct users cached in one authctx (memory only): heap and RSS per entry. */
export async function runMemory(options: MeasureOptions, users: string[], tokenCache = true): Promise<MemoryResult> {
  const { env, db } = options;
  const capacity = String(users.length + 10_000);
  const target = await startAuthctx(env, {
    name: tokenCache ? 'authctx-memory-run' : 'authctx-memory-run-no-token-cache',
    memoryProbe: true,
    env: { AUTHCTX_CACHE_MAX_ENTRIES: capacity, AUTHCTX_TOKEN_CACHE_MAX_ENTRIES: tokenCache ? capacity : '0' },
  });
  try {
    const child = target.authctx!;
    // Warm the code paths (and JIT) on a few users first, so the baseline holds them.
    await runLoad({ url: target.url, path: dataPath, connections: 50, durationSec: 1, tokens: { mode: 'fixed', users: env.users.hot } }, { workDir: env.workDir, label: 'memory-warmup', generator: 'autocannon' });
    const before = await probe(child);
    await db.resetCounters();
    const load = await runLoad(
      { url: target.url, path: dataPath, connections: 100, durationSec: 600, amount: users.length, tokens: { mode: 'cycle', users, seed: 0 } },
      { workDir: env.workDir, label: 'memory-fill', generator: 'autocannon' },
    );
    if (load.errors + load.non2xx > 0) throw new Error(`memory run: ${load.errors} errors, ${load.non2xx} non-2xx while filling the cache`);
    const after = await probe(child);
    const sourceCalls = await db.sourceCalls();
    const cacheEntries = await scrapeGauge(target.adminUrl, ['authctx_cache_entries', 'authctx_jwt_cache_entries']);
    return {
      users: users.length,
      heapUsedBeforeBytes: before.memory.heapUsed,
      heapUsedAfterBytes: after.memory.heapUsed,
      rssBeforeBytes: before.memory.rss,
      rssAfterBytes: after.memory.rss,
      heapBytesPerUser: (after.memory.heapUsed - before.memory.heapUsed) / users.length,
      rssBytesPerUser: (after.memory.rss - before.memory.rss) / users.length,
      gc: after.gc,
      sourceCalls,
      cacheEntries,
    };
  } finally {
    await target.stop();
  }
}

async function scrapeGauge(adminUrl: string | undefined, names: string[]): Promise<Record<string, number> | undefined> {
  if (!adminUrl) return undefined;
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const name = names.find((n) => line.startsWith(`${n} `) || line.startsWith(`${n}{`));
    if (name) out[line.slice(0, line.lastIndexOf(' '))] = Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

export interface ReplicasResult {
  users: number;
  requests: number;
  sourceCalls: number;
  sourceCallsPerUser: number;
  errors: number;
  /** Both replicas' cache and source counters over the run (tier:result). */
  cache: Record<string, number>;
}

/**
 * Two authctx replicas sharing a fresh Redis. Each sends every user exactly once, the
 * two walking the list from opposite ends at the same time, so most users reach the
 * second replica after the first has cached them (an L2 hit) and the users in the
 * middle reach both at about the same moment (the race single-flight cannot cover
 * across processes). Ideal: 1 source call per user.
 */
export async function runReplicas(options: MeasureOptions, users: string[]): Promise<ReplicasResult> {
  const { env, db } = options;
  const redis = await startBenchRedis(env.logDir, 'redis-replicas');
  const replicas = [];
  try {
    for (const name of ['authctx-replica-a', 'authctx-replica-b']) replicas.push(await startAuthctx(env, { name, env: { REDIS_URL: redis.url, AUTHCTX_REDIS_COMMAND_TIMEOUT: '500ms' } }));
    await db.resetCounters();
    const before = await Promise.all(replicas.map((r) => scrapeCacheCounters(r.adminUrl)));
    const reversed = [...users].reverse();
    const results = await Promise.all(
      replicas.map((replica, i) =>
        runLoad(
          { url: replica.url, path: dataPath, connections: 50, durationSec: 600, amount: users.length, tokens: { mode: 'cycle', users: i === 0 ? users : reversed, seed: 0 } },
          { workDir: env.workDir, label: `replica-${i}`, generator: 'autocannon' },
        ),
      ),
    );
    const sourceCalls = await db.sourceCalls();
    const after = await Promise.all(replicas.map((r) => scrapeCacheCounters(r.adminUrl)));
    const cache: Record<string, number> = {};
    after.forEach((counters, i) => {
      for (const [key, value] of Object.entries(counters ?? {})) cache[key] = (cache[key] ?? 0) + value - (before[i]?.[key] ?? 0);
    });
    return {
      cache,
      users: users.length,
      requests: results.reduce((sum, r) => sum + r.requests, 0),
      sourceCalls,
      sourceCallsPerUser: sourceCalls / users.length,
      errors: results.reduce((sum, r) => sum + r.errors + r.non2xx, 0),
    };
  } finally {
    for (const replica of replicas) await replica.stop();
    await redis.stop();
  }
}

