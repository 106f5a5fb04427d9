/** The machine a report was made on: cores, CPU model, memory, kernel, tool versions. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

function firstLine(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) return 'not installed';
  return `${result.stdout}${result.stderr}`.trim().split('\n')[0] ?? '';
}

export function describeMachine(): Record<string, string> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return {
    cores: `${firstLine('nproc', [])} (nproc)`,
    cpu: model,
    memory: `${(totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    kernel: release(),
    node: process.version,
    nginx: firstLine('nginx', ['-v']),
    wrk: firstLine('wrk', ['--version']),
    postgres: firstLine('/usr/lib/postgresql/15/bin/postgres', ['--version']),
    redis: firstLine('redis-server', ['--version']),
    'load average at start (1/5/15 min)': loadAverage(),
  };
}

/** The 1/5/15-minute load averages: a busy shared machine shows here, not in the figures' labels. */
export function loadAverage(): string {
  return loadavg()
    .map((v) => v.toFixed(2))
    .join(' / ');
}
