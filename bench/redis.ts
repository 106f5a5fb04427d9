/** A private redis-server for the benchmark's L2 (the shared one on :6379 is left alone). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, loadCore, startProcess, waitForPort } from './child-process.js';

export interface BenchRedis {
  url: string;
  stop(): Promise<void>;
}

export async function startBenchRedis(logDir: string, name = 'redis'): Promise<BenchRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'authctx-bench-redis-'));
  const port = await freePort();
  const started = startProcess({
    name,
    command: 'redis-server',
    args: ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxclients', '10000'],
    core: loadCore,
    logDir,
  });
  await waitForPort(started, port);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await started.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
