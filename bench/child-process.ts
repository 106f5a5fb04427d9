/**
 * The processes a benchmark run starts: each pinned to a core with `taskset` (when
 * present), its output kept in a log file, stopped by its own pid only.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

/** The core for the process under test, and the one for everything else. */
export const proxyCore = 0;
export const loadCore = 1;

const hasTaskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
const cores = Number(spawnSync('nproc', [], { encoding: 'utf8' }).stdout.trim()) || 1;

/** Whether processes are actually pinned (taskset present and at least two cores). */
export const pinning = hasTaskset && cores >= 2;

/** Every child still running, so an interrupted run can end them (by pid) instead of orphaning them. */
const running = new Set<ChildProcess>();

/** Ends every child this process started and that still runs: SIGQUIT to Postgres (immediate shutdown), SIGKILL to the rest. */
export function abortAll(): void {
  for (const child of running) child.kill(child.spawnargs.some((arg) => arg.endsWith('/postgres')) ? 'SIGQUIT' : 'SIGKILL');
  running.clear();
}

export interface Started {
  name: string;
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Last lines of the log, for error messages. */
  logTail(lines?: number): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  /** Core to pin to; undefined = not pinned. */
  core?: number;
  env?: NodeJS.ProcessEnv;
  logDir: string;
  /** Extra stdio entries after stdout/stderr (e.g. 'ipc'). */
  ipc?: boolean;
  uid?: number;
  gid?: number;
  cwd?: string;
}

export function startProcess(options: StartOptions): Started {
  const logFile = join(options.logDir, `${options.name}.log`);
  const fd = openSync(logFile, 'a');
  const pinned = pinning && options.core !== undefined;
  const command = pinned ? 'taskset' : options.command;
  const args = pinned ? ['-c', String(options.core), options.command, ...options.args] : options.args;
  const spawnOptions: SpawnOptions = {
    env: options.env ?? process.env,
    stdio: options.ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  };
  const child = spawn(command, args, spawnOptions);
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${options.name} (${options.command})`);
  let exited = false;
  running.add(child);
  child.once('exit', () => {
    exited = true;
    running.delete(child);
  });
  const logTail = (lines = 20): string => readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  return {
    name: options.name,
    pid: child.pid,
    child,
    logFile,
    logTail,
    async stop(graceMs = 5_000) {
      if (exited || child.exitCode !== null || child.signalCode !== null) return;
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await gone;
      clearTimeout(timer);
    },
  };
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once `port` accepts connections; rejects if `started` exits first or after `timeoutMs`. */
export async function waitForPort(started: Started, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null || started.child.signalCode !== null) {
      throw new Error(`${started.name} exited (${started.child.exitCode ?? started.child.signalCode}) before listening:\n${started.logTail()}`);
    }
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  throw new Error(`${started.name} did not listen on ${port} within ${timeoutMs} ms:\n${started.logTail()}`);
}

/** Stops every process, newest first, ignoring those already gone. */
export async function stopAll(processes: readonly Started[]): Promise<void> {
  for (const started of [...processes].reverse()) await started.stop();
}
