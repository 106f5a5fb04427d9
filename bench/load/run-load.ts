/** Runs one load job in a child process on the load core and returns its figures. */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCore, startProcess } from '../child-process.js';
import type { LoadJob, LoadResult } from './load-job.js';
import { runWrk } from './wrk.js';

const workerScript = join(dirname(fileURLToPath(import.meta.url)), 'autocannon-worker.js');

export async function runLoad(job: LoadJob, options: { workDir: string; label: string; generator: 'autocannon' | 'wrk' }): Promise<LoadResult> {
  if (options.generator === 'wrk') return runWrk(job, options.workDir, options.label);
  const jobFile = join(options.workDir, `${options.label}.job.json`);
  const resultFile = join(options.workDir, `${options.label}.result.json`);
  writeFileSync(jobFile, JSON.stringify(job));
  const started = startProcess({
    name: `autocannon-${options.label}`,
    command: process.execPath,
    args: ['--max-old-space-size=2048', workerScript, jobFile, resultFile],
    core: loadCore,
    logDir: options.workDir,
  });
  const code = await new Promise<number | null>((resolve) => started.child.once('exit', resolve));
  if (code !== 0) throw new Error(`load generator failed (exit ${code}):\n${started.logTail()}`);
  return JSON.parse(readFileSync(resultFile, 'utf8')) as LoadResult;
}
