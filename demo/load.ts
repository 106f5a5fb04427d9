/**
 * `npm run demo -- --load`: a timed autocannon run through authctx, with tokens spread
 * over the seeded users, then the numbers the seeds promise, measured live: requests/s,
 * p50/p99, the context cache's hit ratio and how many source (database) calls the run
 * cost, read from authctx's own /metrics before and after.
 */
import { createRequire } from 'node:module';

/** The part of autocannon's result the demo reads (autocannon ships no types). */
interface AutocannonResult {
  latency: { p50: number; p99: number; average: number };
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
type Autocannon = (options: Record<string, unknown>) => PromiseLike<AutocannonResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export interface DemoLoadOptions {
  proxyUrl: string;
  adminUrl: string;
  /** Bearer tokens, one per user; autocannon cycles through them on every connection. */
  tokens: readonly string[];
  /** Length of the run in seconds. Default 10. */
  durationSec?: number;
  /** Stop after this many requests instead of after `durationSec` (tests). */
  amount?: number;
  /** Concurrent connections. Default 20. */
  connections?: number;
  /** Path requested through the proxy. Default `/api/orders`. */
  path?: string;
  /** Called about once a second with the seconds elapsed and the requests authctx answered so far. */
  onProgress?: (elapsedSec: number, durationSec: number, requests: number) => void;
}

export interface DemoLoadResult {
  /** Measured length of the run, seconds. */
  durationSec: number;
  connections: number;
  users: number;
  requests: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers other than 2xx, plus connection errors and timeouts. */
  failures: number;
  /** Context cache (memory tier) hits / lookups during the run; NaN without lookups. */
  hitRatio: number;
  /** Context source (database) calls during the run. */
  sourceCalls: number;
  /** sourceCalls / requests. */
  sourceCallsPerRequest: number;
}

/** A Prometheus sample line: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] ?? ''] = pair[2] ?? '';
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}

function sum(samples: readonly Sample[], name: string, where: Record<string, string | readonly string[]> = {}): number {
  let total = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    const matches = Object.entries(where).every(([k, v]) => (typeof v === 'string' ? s.labels[k] === v : v.includes(s.labels[k] ?? '')));
    if (matches) total += s.value;
  }
  return total;
}

interface Counters {
  cacheHits: number;
  cacheLookups: number;
  sourceCalls: number;
  proxied: number;
}

async function readCounters(adminUrl: string): Promise<Counters> {
  const response = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET ${adminUrl}/metrics answered ${response.status}`);
  const samples = parsePrometheusText(await response.text());
  return {
    cacheHits: sum(samples, 'authctx_cache_requests_total', { tier: 'memory', result: 'hit' }),
    cacheLookups: sum(samples, 'authctx_cache_requests_total', { tier: 'memory' }),
    sourceCalls: sum(samples, 'authctx_context_source_requests_total'),
    proxied: sum(samples, 'authctx_proxy_requests_total'),
  };
}

export async function runDemoLoad(options: DemoLoadOptions): Promise<DemoLoadResult> {
  if (options.tokens.length === 0) throw new Error('runDemoLoad needs at least one token');
  const durationSec = options.durationSec ?? 10;
  const connections = options.connections ?? 20;
  const path = options.path ?? '/api/orders';
  const before = await readCounters(options.adminUrl);

  let progress: NodeJS.Timeout | undefined;
  if (options.onProgress) {
    const started = Date.now();
    const report = options.onProgress;
    progress = setInterval(() => {
      readCounters(options.adminUrl).then(
        (now) => report(Math.min(durationSec, (Date.now() - started) / 1000), durationSec, now.proxied - before.proxied),
        // A missed progress tick is harmless: the final numbers are read after the run.
        () => undefined,
      );
    }, 1_000);
  }
  // Round robin over the users across all connections: consecutive requests come from
  // different users, as in production, rather than every connection replaying the same list.
  const headers = options.tokens.map((token) => ({ authorization: `Bearer ${token}` }));
  let next = 0;
  const nextUser = (request: Record<string, unknown>) => ({ ...request, headers: headers[next++ % headers.length] });
  let result: AutocannonResult;
  try {
    result = await autocannon({
      url: options.proxyUrl,
      ...(options.amount ? { amount: options.amount } : { duration: durationSec }),
      connections,
      requests: [{ method: 'GET', path, setupRequest: nextUser }],
    });
  } finally {
    clearInterval(progress);
  }
  const after = await readCounters(options.adminUrl);

  const requests = result['2xx'] + result.non2xx;
  const lookups = after.cacheLookups - before.cacheLookups;
  const sourceCalls = after.sourceCalls - before.sourceCalls;
  return {
    durationSec: result.duration,
    connections,
    users: options.tokens.length,
    requests,
    requestsPerSec: result.duration > 0 ? requests / result.duration : 0,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    failures: result.non2xx + result.errors + result.timeouts,
    hitRatio: lookups > 0 ? (after.cacheHits - before.cacheHits) / lookups : Number.NaN,
    sourceCalls,
    sourceCallsPerRequest: requests > 0 ? sourceCalls / requests : 0,
  };
}
