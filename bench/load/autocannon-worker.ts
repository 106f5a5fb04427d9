/**
 * The autocannon load generator, run as its own process (pinned to the load core so
 * its CPU never lands on the proxy's): `node autocannon-worker.js <job.json> <result.json>`.
 *
 * Latency is taken from the per-response event in microseconds: autocannon's own
 * histogram records whole milliseconds, too coarse for a sub-millisecond proxy.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { signBenchToken } from '../tokens.js';
import { createRandom, createZipf } from '../users.js';
import { percentile, type LoadJob, type LoadResult, type TokenPlan } from './load-job.js';

interface AutocannonClient {
  setHeaders(headers: Record<string, string>): void;
}
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTimeMs: number) => void): void;
  on(event: 'done', listener: (result: AutocannonResult) => void): void;
  on(event: 'error', listener: (error: Error) => void): void;
}
type Autocannon = (options: Record<string, unknown>) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** Picks the token for the next request; lazily signed and kept, so a user's token stays the same. */
function createTokenPicker(plan: TokenPlan): { forConnection(index: number): string; next(): string } {
  const tokens = new Map<string, string>();
  const token = (email: string): string => {
    let value = tokens.get(email);
    if (value === undefined) {
      value = signBenchToken(email);
      tokens.set(email, value);
    }
    return value;
  };
  const users = plan.users;
  if (users.length === 0) throw new Error('token plan without users');
  let cursor = (plan.seed ?? 0) % users.length;
  let churnCursor = 0;
  const random = createRandom(plan.seed ?? 1);
  const zipf = plan.mode === 'zipf' ? createZipf(users.length, plan.zipfExponent ?? 1, random) : undefined;
  return {
    forConnection: (index) => token(users[index % users.length]!),
    next() {
      if (plan.mode === 'cycle') {
        const email = users[cursor]!;
        cursor = (cursor + 1) % users.length;
        // Cycle mode sends each user once per lap: signing on the fly keeps no 100k map.
        return signBenchToken(email);
      }
      const churn = plan.churnUsers ?? [];
      if (churn.length > 0 && random() < (plan.churnFraction ?? 0)) {
        const email = churn[churnCursor % churn.length]!;
        churnCursor++;
        return signBenchToken(email);
      }
      return token(users[zipf!()]!);
    },
  };
}

async function run(job: LoadJob): Promise<LoadResult> {
  const latencies: number[] = [];
  const picker = job.tokens ? createTokenPicker(job.tokens) : undefined;
  let connectionIndex = 0;
  const perRequest = job.tokens !== undefined && job.tokens.mode !== 'fixed';
  const options: Record<string, unknown> = {
    url: `${job.url}${job.path}`,
    connections: job.connections,
    pipelining: 1,
    timeout: job.timeoutSec ?? 10,
    ...(job.amount !== undefined ? { amount: job.amount } : { duration: job.durationSec }),
    ...(job.overallRate !== undefined ? { overallRate: job.overallRate } : {}),
  };
  if (picker && !perRequest) {
    options.setupClient = (client: AutocannonClient) => {
      client.setHeaders({ authorization: `Bearer ${picker.forConnection(connectionIndex++)}` });
    };
  }
  if (picker && perRequest) {
    options.requests = [
      {
        method: 'GET',
        path: job.path,
        setupRequest: (request: AutocannonRequest) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${picker.next()}` } }),
      },
    ];
  }
  const instance = autocannon(options);
  instance.on('response', (_client, statusCode, _bytes, responseTimeMs) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTimeMs);
  });
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    instance.on('done', resolve);
    instance.on('error', reject);
  });
  const statusCodes: Record<string, number> = {};
  let responses = 0;
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) {
    statusCodes[code] = count;
    responses += count;
  }
  const sorted = Float64Array.from(latencies).sort();
  const mean = latencies.length === 0 ? 0 : latencies.reduce((a, b) => a + b, 0) / latencies.length;
  return {
    generator: 'autocannon',
    requests: responses,
    durationSec: result.duration,
    requestsPerSec: result.duration > 0 ? responses / result.duration : 0,
    latencyMs: { p50: percentile(sorted, 50), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9), mean },
    // autocannon counts a timeout in `errors` too.
    errors: result.errors,
    non2xx: result.non2xx,
    statusCodes,
  };
}

const [jobFile, resultFile] = process.argv.slice(2);
if (!jobFile || !resultFile) {
  process.stderr.write('usage: autocannon-worker <job.json> <result.json>\n');
  process.exit(64);
}
const job = JSON.parse(readFileSync(jobFile, 'utf8')) as LoadJob;
run(job).then(
  (result) => writeFileSync(resultFile, JSON.stringify(result)),
  (error: unknown) => {
    process.stderr.write(`autocannon-worker: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
