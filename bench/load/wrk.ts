/**
 * wrk (Debian package) for the highest-rate runs: it costs about half autocannon's CPU
 * per request, so it saturates later. A Lua script rotates the hot users' tokens
 * request by request and prints the summary as JSON.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCore, pinning, startProcess } from '../child-process.js';
import { signBenchToken } from '../tokens.js';
import type { LoadJob, LoadResult } from './load-job.js';

export const wrkInstalled = spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;

const script = `
local tokens = {}
local index = 0
function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = "Bearer " .. line end
  index = tonumber(args[2]) or 0
end
function request()
  index = index % #tokens + 1
  return wrk.format("GET", wrk.path, { ["Authorization"] = tokens[index] })
end
function done(summary, latency, requests)
  io.write(string.format(
    '\\nWRKJSON {"requests":%d,"durationUs":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p99":%d,"p999":%d,"mean":%f}\\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.mean))
end
`;

interface WrkSummary {
  requests: number;
  durationUs: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p99: number;
  p999: number;
  mean: number;
}

/** Runs wrk on the load core; `job.tokens` must be `fixed` (its users are rotated per request). */
export async function runWrk(job: LoadJob, workDir: string, label: string): Promise<LoadResult> {
  if (job.amount !== undefined || job.overallRate !== undefined) throw new Error('wrk runs are by duration only');
  const scriptFile = join(workDir, 'wrk.lua');
  writeFileSync(scriptFile, script);
  const tokensFile = join(workDir, `${label}.tokens`);
  writeFileSync(tokensFile, `${(job.tokens?.users ?? ['nobody@example.com']).map((email) => signBenchToken(email)).join('\n')}\n`);
  const started = startProcess({
    name: `wrk-${label}`,
    command: 'wrk',
    args: [
      '-t1',
      `-c${job.connections}`,
      `-d${job.durationSec}s`,
      `--timeout`,
      `${job.timeoutSec ?? 10}s`,
      '-s',
      scriptFile,
      `${job.url}${job.path}`,
      '--',
      tokensFile,
      String(job.tokens?.seed ?? 0),
    ],
    core: pinning ? loadCore : undefined,
    logDir: workDir,
  });
  const [code] = (await new Promise<[number | null]>((resolve) => started.child.once('exit', (c) => resolve([c]))));
  const log = started.logTail(40);
  const line = log.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (code !== 0 || !line) throw new Error(`wrk failed (exit ${code}):\n${log}`);
  const summary = JSON.parse(line.slice('WRKJSON '.length)) as WrkSummary;
  const durationSec = summary.durationUs / 1e6;
  return {
    generator: 'wrk',
    requests: summary.requests,
    durationSec,
    requestsPerSec: durationSec > 0 ? summary.requests / durationSec : 0,
    latencyMs: { p50: summary.p50 / 1000, p99: summary.p99 / 1000, p999: summary.p999 / 1000, mean: summary.mean / 1000 },
    errors: summary.connect + summary.read + summary.write + summary.timeout,
    non2xx: summary.status,
    statusCodes: {},
  };
}
