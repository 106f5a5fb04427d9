/**
 * The benchmark harness' own arithmetic and generated files: CI runs the harness itself
 * (`npm run bench -- --quick`), these guard the parts whose mistakes would not fail a
 * run but would print wrong figures.
 */
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { nginxConfig } from '../../bench/nginx.js';
import { cpuMicros, peakRssBytes, processTree } from '../../bench/proc-stats.js';
import { topFrames } from '../../bench/profile.js';
import { renderChart } from '../../bench/report/svg-chart.js';
import { checkTargets, median, summarize, type BenchReport } from '../../bench/report/summary.js';
import type { RunRecord } from '../../bench/measure.js';
import { benchIssuer, benchSecret, signBenchToken } from '../../bench/tokens.js';
import { activeUsers, createRandom, createZipf, employeesNeeded } from '../../bench/users.js';

function run(scenario: string, round: number, requestsPerSec: number, cpuMicrosPerRequest: number): RunRecord {
  return {
    scenario,
    round,
    generator: 'autocannon',
    connections: 100,
    requests: requestsPerSec * 10,
    durationSec: 10,
    requestsPerSec,
    latencyMs: { p50: 1, p99: 2, p999: 3, mean: 1 },
    errors: 0,
    non2xx: 0,
    statusCodes: { '200': requestsPerSec * 10 },
    cpuMicrosPerRequest,
    originCpuMicrosPerRequest: 20,
    peakRssBytes: 50e6,
    sourceCallsPerRequest: 0,
    dbStatementsPerRequest: 0,
    originSawRoleShare: 1,
    originRequestsPerResponse: 1,
  };
}

describe('bench summary', () => {
  it('takes the median over rounds, ignoring runs without a figure', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 5])).toBe(5);
    expect(median([])).toBeNaN();
  });

  it('reports ratios against direct, nginx auth_request and http-proxy from the same run', () => {
    const runs = [
      run('direct', 0, 20_000, 20),
      run('nginx-auth-request', 0, 10_000, 40),
      run('http-proxy', 0, 5_000, 100),
      run('authctx-memory', 0, 8_000, 50),
      run('authctx-memory', 1, 9_000, 70),
      run('authctx-memory', 2, 7_000, 60),
    ];
    const summaries = summarize(runs, new Map());
    const memory = summaries.find((s) => s.scenario === 'authctx-memory')!;
    expect(memory.runs).toBe(3);
    expect(memory.requestsPerSec).toBe(8_000);
    expect(memory.cpuMicrosPerRequest).toBe(60);
    expect(memory.throughputVsDirect).toBeCloseTo(0.4);
    expect(memory.cpuVsNginxAuth).toBeCloseTo(1.5);
    expect(memory.cpuVsHttpProxy).toBeCloseTo(0.6);

    const report = { startedAt: '', mode: 'quick', machine: {}, settings: {}, runs, summaries, skipped: [] } satisfies Omit<BenchReport, 'targets'>;
    const targets = checkTargets(report);
    expect(targets.find((t) => t.target.includes('http-proxy'))?.met).toBe(true);
    expect(targets.find((t) => t.target.includes('nginx'))?.met).toBe(true);
    expect(targets.find((t) => t.target.includes('10,000'))?.met).toBeUndefined();
  });

  it('draws one bar per scenario and panel in the SVG chart', () => {
    const svg = renderChart(summarize([run('direct', 0, 100, 20), run('authctx-memory', 0, 50, 40)], new Map()), 'a <title>');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('a &lt;title&gt;');
    expect(svg.match(/<rect /g)).toHaveLength(1 + 2 * 3);
  });
});

describe('bench users and tokens', () => {
  it('skips the employees the seed makes inactive (every 17th)', () => {
    const users = activeUsers(1, 20);
    expect(users).toHaveLength(20);
    expect(users).not.toContain('emp000017@example.com');
    expect(employeesNeeded(1, 16)).toBe(16);
    expect(employeesNeeded(1, 17)).toBe(18);
  });

  it('draws Zipf ranks in range, the first rank most often', () => {
    const zipf = createZipf(1000, 1, createRandom(42));
    const counts = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      const rank = zipf();
      expect(rank).toBeGreaterThanOrEqual(0);
      expect(rank).toBeLessThan(1000);
      counts.set(rank, (counts.get(rank) ?? 0) + 1);
    }
    expect(counts.get(0)!).toBeGreaterThan(counts.get(1)!);
    expect(counts.get(1)!).toBeGreaterThan(counts.get(99) ?? 0);
  });

  it('signs tokens that jose accepts with the Supabase claims', async () => {
    const token = signBenchToken('emp000001@example.com');
    const { payload } = await jwtVerify(token, new TextEncoder().encode(benchSecret), { issuer: benchIssuer, audience: 'authenticated' });
    expect(payload).toMatchObject({ email: 'emp000001@example.com', role: 'authenticated' });
  });
});

describe('bench process figures', () => {
  it('reads this process\' CPU time and peak RSS from /proc', () => {
    const before = cpuMicros([process.pid]);
    const end = performance.now() + 50;
    while (performance.now() < end) Math.sqrt(Math.random());
    expect(cpuMicros([process.pid])).toBeGreaterThan(before);
    expect(peakRssBytes([process.pid])).toBeGreaterThan(1e6);
    expect(processTree(process.pid)[0]).toBe(process.pid);
    expect(cpuMicros([2 ** 22 + 7])).toBe(0);
  });

  it('configures nginx auth_request with the answers cached per token', () => {
    const conf = nginxConfig({ dir: '/tmp/x', port: 1, originPort: 2, authPort: 3 });
    expect(conf).toContain('auth_request /_auth;');
    expect(conf).toContain('proxy_cache_key $http_authorization;');
    expect(conf).toContain('proxy_set_header X-User-Role $ctx_role;');
    expect(nginxConfig({ dir: '/tmp/x', port: 1, originPort: 2 })).not.toContain('auth_request');
  });

  it('ranks profile frames by self time without the idle samples', () => {
    const lines = topFrames({
      nodes: [
        { id: 1, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
        { id: 2, callFrame: { functionName: 'forward', url: 'file:///repo/dist/src/proxy/forward.js', lineNumber: 9 } },
        { id: 3, callFrame: { functionName: 'writev', url: '', lineNumber: -1 } },
      ],
      samples: [1, 1, 1, 2, 3, 3, 3],
    });
    expect(lines[0]).toContain('busy samples: 4 of 7');
    expect(lines[2]).toMatch(/75\.0%\s+writev/);
    expect(lines[3]).toMatch(/25\.0%\s+forward\s+dist\/src\/proxy\/forward\.js:10/);
  });
});
