/**
 * `npm run bench [-- --quick]`: the benchmark (issue 8). Starts a private Postgres
 * (seeded) and Redis, one origin, then runs every scenario round by round in a rotating
 * order, then the special runs, and writes bench/results/<date>.{json,md,svg}
 * (a quick run writes to bench/results/quick/, which git ignores).
 *
 * Options: --quick, --rounds N, --duration S, --warmup S, --connections N,
 * --only name,name, --skip-special, --wrk (wrk for the fixed-token scenarios),
 * --profile (CPU profile of the hot path), --profile-cached (and of the cached-route
 * path), --zone-delay MS, --out DIR, --keep (keep the work dir: logs, generated nginx
 * configs, profiles).
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { abortAll, freePort, loadCore, pinning, startProcess, waitForPort, type Started } from './child-process.js';
import { wrkInstalled } from './load/wrk.js';
import { describeMachine, loadAverage } from './machine.js';
import { measureScenario, type MeasureOptions, type RunRecord } from './measure.js';
import { startBenchPostgres, type BenchPostgres } from './postgres-cluster.js';
import { serverScript, startAuthctx } from './processes-under-test.js';
import { profileHotPath } from './profile.js';
import { startBenchRedis, type BenchRedis } from './redis.js';
import { renderChart } from './report/svg-chart.js';
import { renderMarkdown } from './report/markdown.js';
import { checkTargets, summarize, type BenchReport, type Skipped } from './report/summary.js';
import { cachedRouteSpec, leaderboardPath, scenarios, type ScenarioEnvironment } from './scenarios.js';
import { runConcurrency, runHalfCapacity, runMemory, runReplicas } from './special-runs.js';
import { signBenchToken } from './tokens.js';
import { activeUsers, employeesNeeded } from './users.js';

interface Options {
  quick: boolean;
  rounds: number;
  durationSec: number;
  warmupSec: number;
  connections: number;
  only: string[] | undefined;
  special: boolean;
  wrk: boolean;
  profile: boolean;
  /** Profile the cached-route path too (with --profile). */
  profileCached: boolean;
  zoneDelayMs: number;
  out: string | undefined;
  /** Keep the work dir (logs, nginx configs, profiles). */
  keep: boolean;
}

const repoRoot = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const options: Options = {
    quick,
    rounds: quick ? 1 : 3,
    durationSec: quick ? 2 : 10,
    warmupSec: quick ? 1 : 2,
    connections: 100,
    only: undefined,
    special: true,
    wrk: false,
    profile: false,
    profileCached: false,
    zoneDelayMs: 150,
    out: undefined,
    keep: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--quick') continue;
    else if (arg === '--rounds') options.rounds = Number(value());
    else if (arg === '--duration') options.durationSec = Number(value());
    else if (arg === '--warmup') options.warmupSec = Number(value());
    else if (arg === '--connections') options.connections = Number(value());
    else if (arg === '--only') options.only = value().split(',');
    else if (arg === '--skip-special') options.special = false;
    else if (arg === '--wrk') options.wrk = true;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--profile-cached') options.profile = options.profileCached = true;
    else if (arg === '--zone-delay') options.zoneDelayMs = Number(value());
    else if (arg === '--out') options.out = value();
    else if (arg === '--keep') options.keep = true;
    else throw new Error(`unknown option ${arg}`);
  }
  return options;
}

const print = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (v: number, digits = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : 'n/a');

function progressLine(index: number, total: number, r: RunRecord): string {
  const failures = r.errors + r.non2xx;
  const codes = Object.entries(r.statusCodes).filter(([code]) => !code.startsWith('2'));
  const detail = failures > 0 ? ` ERRORS ${failures}${codes.length > 0 ? ` (${codes.map(([c, k]) => `${c}×${k}`).join(', ')})` : ''}` : '';
  return `[${index}/${total}] ${r.scenario} round ${r.round + 1}: ${fmt(r.requestsPerSec)} req/s p50 ${fmt(r.latencyMs.p50, 2)} ms p99 ${fmt(r.latencyMs.p99, 2)} ms cpu ${fmt(r.cpuMicrosPerRequest, 1)} µs/req source ${fmt(r.sourceCallsPerRequest, 3)}/req${detail}`;
}

/** What produced no figures: a scenario with a run without any 2xx response, or a special run without numbers. */
function missingFigures(report: BenchReport, scenarioNames: string[], specials: boolean): string[] {
  const missing = scenarioNames.filter((name) => {
    const mine = report.runs.filter((r) => r.scenario === name);
    return mine.length === 0 || mine.some((r) => r.requests - r.non2xx <= 0 || !Number.isFinite(r.cpuMicrosPerRequest));
  });
  if (specials) {
    if (!report.halfCapacity || report.halfCapacity.runs.some((r) => r.requests - r.non2xx <= 0)) missing.push('half-capacity');
    if (!report.concurrency || report.concurrency.requests - report.concurrency.non2xx <= 0) missing.push('concurrency');
    if (!report.memory || !Number.isFinite(report.memory.heapBytesPerUser)) missing.push('memory');
    if (!report.replicas || report.replicas.requests <= 0) missing.push('replicas');
  }
  return missing;
}

/** Whether this build caches routes: two identical requests, does the origin see both? */
async function probeCachedRoutes(env: ScenarioEnvironment): Promise<boolean> {
  let target;
  try {
    target = await startAuthctx(env, { name: 'probe-cached-routes', env: { AUTHCTX_CACHED_ROUTES: cachedRouteSpec } });
  } catch {
    // A build that rejects the option cannot cache routes; its log says why.
    return false;
  }
  try {
    const token = signBenchToken(env.users.hot[0]!);
    const count = async () => ((await (await fetch(`${env.originUrl}/__bench/stats`)).json()) as { requests: number }).requests;
    const before = await count();
    for (let i = 0; i < 3; i++) await (await fetch(`${target.url}${leaderboardPath}`, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer();
    return (await count()) - before < 3;
  } finally {
    await target.stop();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const workDir = mkdtempSync(join(tmpdir(), 'authctx-bench-'));
  // nginx workers run as `nobody` when the harness is root: they must traverse to their cache dir.
  chmodSync(workDir, 0o711);
  const logDir = join(workDir, 'logs');
  mkdirSync(logDir);
  print(`authctx bench (${options.quick ? 'quick' : 'full'}): work dir ${workDir}${pinning ? '' : ' — WARNING: not pinned (taskset missing or one core)'}`);

  const memoryUsers = options.quick ? 3_000 : 100_000;
  const mixedCount = 10_000;
  const churnCount = options.quick ? 2_000 : 20_000;
  const allActive = Math.max(memoryUsers, mixedCount + churnCount);
  const users = {
    hot: activeUsers(1, options.connections),
    mixed: activeUsers(1, mixedCount),
    churn: activeUsers(employeesNeeded(1, mixedCount) + 1, churnCount),
    all: activeUsers(1, allActive),
  };

  const processes: Started[] = [];
  let db: BenchPostgres | undefined;
  let redis: BenchRedis | undefined;
  let ok = false;
  try {
    db = await startBenchPostgres({ logDir, employees: employeesNeeded(1, allActive), print });
    redis = await startBenchRedis(logDir);
    const originPort = await freePort();
    const origin = startProcess({ name: 'origin', command: process.execPath, args: [serverScript('origin')], core: loadCore, env: { ...process.env, PORT: String(originPort) }, logDir });
    processes.push(origin);
    await waitForPort(origin, originPort);

    const env: ScenarioEnvironment = {
      logDir,
      workDir,
      originUrl: `http://127.0.0.1:${originPort}`,
      originPort,
      originPid: origin.pid,
      databaseUrl: db.url,
      users,
      redisUrl: redis.url,
      rounds: options.rounds,
      cachedRoutes: false,
      zoneDelayMs: options.zoneDelayMs,
    };
    env.cachedRoutes = await probeCachedRoutes(env);

    const skipped: Skipped[] = [];
    const selected = scenarios.filter((s) => {
      if (options.only && !options.only.includes(s.name)) return false;
      const reason = s.skipReason?.(env);
      if (reason) {
        skipped.push({ scenario: s.name, reason });
        print(`skip ${s.name}: ${reason}`);
        return false;
      }
      return true;
    });
    const measure: MeasureOptions = { env, db, warmupSec: options.warmupSec, durationSec: options.durationSec, connections: options.connections, generator: options.wrk && wrkInstalled ? 'wrk' : 'autocannon', label: '' };

    const runs: RunRecord[] = [];
    const total = selected.length * options.rounds;
    for (let round = 0; round < options.rounds; round++) {
      // Rotate the order each round so that no scenario always runs first (or after the same one).
      const order = selected.map((_, i) => selected[(i + round * Math.max(1, Math.floor(selected.length / options.rounds))) % selected.length]!);
      for (const scenario of order) {
        const record = await measureScenario(scenario, round, { ...measure, label: `${scenario.name}-r${round}` });
        runs.push(record);
        print(progressLine(runs.length, total, record));
      }
    }

    const meta = new Map(scenarios.map((s) => [s.name, { group: s.group, description: s.description }]));
    const summaries = summarize(runs, meta);
    const report: Omit<BenchReport, 'targets'> & { targets?: BenchReport['targets'] } = {
      startedAt: startedAt.toISOString(),
      mode: options.quick ? 'quick' : 'full',
      machine: describeMachine(),
      settings: { rounds: options.rounds, durationSec: options.durationSec, warmupSec: options.warmupSec, connections: options.connections, pinning, zoneDelayMs: options.zoneDelayMs, wrk: wrkInstalled, cachedRoutes: env.cachedRoutes },
      runs,
      summaries,
      skipped,
    };

    const hasMemory = selected.some((s) => s.name === 'authctx-memory');
    if (options.special && hasMemory) {
      const memoryRps = summaries.find((s) => s.scenario === 'authctx-memory')!.requestsPerSec;
      const halfNames = ['direct', 'authctx-memory', ...(!options.quick && selected.some((s) => s.name === 'nginx-auth-request') ? ['nginx-auth-request'] : [])];
      report.halfCapacity = await runHalfCapacity({ ...measure, label: 'half' }, memoryRps, halfNames);
      print(`half capacity (${fmt(report.halfCapacity.ratePerSec)} req/s): ${report.halfCapacity.runs.map((r) => `${r.scenario} p50 ${fmt(r.latencyMs.p50, 3)} ms`).join(', ')}; added p50 ${fmt(report.halfCapacity.addedP50Ms, 3)} ms`);
      const connections = options.quick ? 1_000 : 10_000;
      report.concurrency = await runConcurrency({ ...measure, durationSec: options.quick ? 2 : 10, warmupSec: 1 }, connections);
      print(`concurrency: ${fmt(connections)} connections, ${fmt(report.concurrency.requestsPerSec)} req/s, p99 ${fmt(report.concurrency.latencyMs.p99, 2)} ms, ${report.concurrency.errors} errors, ${report.concurrency.non2xx} non-2xx`);
      report.memory = await runMemory(measure, users.all.slice(0, memoryUsers));
      if (!options.quick) {
        report.memoryContextOnly = await runMemory(measure, users.all.slice(0, memoryUsers), false);
        print(`memory (token cache off): ${fmt(report.memoryContextOnly.heapBytesPerUser)} B heap/user`);
      }
      print(`memory: ${fmt(report.memory.users)} users, ${fmt(report.memory.heapBytesPerUser)} B heap/user, ${fmt(report.memory.rssBytesPerUser)} B RSS/user, ${fmt(report.memory.sourceCalls)} source calls`);
      report.replicas = await runReplicas(measure, users.mixed.slice(0, options.quick ? 1_000 : 5_000));
      print(`replicas: ${fmt(report.replicas.sourceCallsPerUser, 3)} source calls/user (${fmt(report.replicas.sourceCalls)} for ${fmt(report.replicas.users)} users), ${report.replicas.errors} errors`);
    }
    if (options.profile) {
      report.profile = await profileHotPath(env, users.hot, options.durationSec);
      print(report.profile.slice(0, 15).join('\n'));
      if (options.profileCached && env.cachedRoutes) {
        report.profileCached = await profileHotPath(env, users.hot, options.durationSec, 'cached');
        print(report.profileCached.slice(0, 15).join('\n'));
      }
    }
    report.machine['load average at end (1/5/15 min)'] = loadAverage();
    const full: BenchReport = { ...report, targets: checkTargets(report) };

    const outDir = options.out ?? join(repoRoot, 'bench', 'results', ...(options.quick ? ['quick'] : []));
    mkdirSync(outDir, { recursive: true });
    const stamp = startedAt.toISOString().slice(0, 16).replace(':', '');
    const chartFile = `${stamp}.svg`;
    writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify(full, null, 2)}\n`);
    writeFileSync(join(outDir, chartFile), renderChart(full.summaries, `authctx benchmark (${full.mode}), ${full.startedAt}`));
    writeFileSync(join(outDir, `${stamp}.md`), renderMarkdown(full, chartFile));
    for (const t of full.targets) print(`target: ${t.target}: ${t.measured} → ${t.met === undefined ? 'not measured' : t.met ? 'met' : 'NOT met'}`);
    print(`report: ${join(outDir, `${stamp}.md`)}`);
    const missing = missingFigures(full, selected.map((s) => s.name), options.special && hasMemory);
    if (missing.length > 0) {
      print(`FAILED: no figures for ${missing.join(', ')}`);
      process.exitCode = 1;
    }
    ok = (process.exitCode === undefined || process.exitCode === 0) && !options.keep;
  } finally {
    for (const p of [...processes].reverse()) await p.stop();
    await redis?.stop();
    await db?.stop();
    if (ok) rmSync(workDir, { recursive: true, force: true });
    else print(`logs kept in ${logDir}`);
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}: stopping every process it started\n`);
    abortAll();
    process.exit(130);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
