import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private `redis-server` for tests that stop, pause or kill Redis (the shared one must stay up). */
export interface TestRedisServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** SIGTERM (after SIGCONT if paused), wait for exit, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Sends `signal` and waits for the process to exit (SIGKILL: a crash, no shutdown). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: the socket stays open, nothing answers (a hung server). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** Starts it again on the same port (after `kill`, or kills it first). */
  restart(): Promise<void>;
}

export interface TestRedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--requirepass', 'x']`. */
  args?: string[];
  /** Binary; default /usr/bin/redis-server. */
  binary?: string;
  /** Give up waiting for "Ready to accept connections" after this long. Default 10 000 ms. */
  startTimeoutMs?: number;
}

/** Starts `redis-server` on a free loopback port in a fresh temp dir, resolving once it accepts connections. */
export async function startRedisServer(options: TestRedisServerOptions = {}): Promise<TestRedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'authctx-redis-'));
  const binary = options.binary ?? '/usr/bin/redis-server';
  let port = 0;
  let child: ChildProcess | undefined;
  let paused = false;
  let removed = false;

  async function launch(fixedPort?: number): Promise<void> {
    // A free port can be taken between probing and binding: retry a few times on a fresh one.
    for (let attempt = 0; ; attempt++) {
      const candidate = fixedPort ?? (await freePort());
      try {
        child = await spawnReady(
          binary,
          ['--port', String(candidate), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--logfile', '', ...(options.args ?? [])],
          'Ready to accept connections',
          options.startTimeoutMs ?? 10_000,
        );
        port = candidate;
        paused = false;
        return;
      } catch (error) {
        if (attempt >= 4 || !String(error).includes('in use')) throw error;
        if (fixedPort !== undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  async function kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = once(running, 'exit');
    if (paused && signal !== 'SIGKILL') running.kill('SIGCONT');
    running.kill(signal);
    await exited;
    paused = false;
  }

  await launch();
  return {
    get url() {
      return `redis://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get pid() {
      return child?.pid;
    },
    kill,
    pause() {
      child?.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      child?.kill('SIGCONT');
      paused = false;
    },
    async restart() {
      await kill('SIGKILL');
      await launch(port);
    },
    async stop() {
      await kill('SIGTERM');
      if (!removed) {
        removed = true;
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

async function spawnReady(binary: string, argv: string[], readyLine: string, timeoutMs: number): Promise<ChildProcess> {
  const child = spawn(binary, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  return new Promise<ChildProcess>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`redis-server not ready after ${timeoutMs} ms:\n${log}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString('utf8');
      if (log.includes(readyLine)) {
        cleanup();
        // Keep draining the pipes so that a chatty server never blocks on a full one.
        child.stdout?.resume();
        child.stderr?.resume();
        resolve(child);
      }
    };
    const onExit = (): void => fail(new Error(`redis-server exited before it was ready (${log.includes('Address already in use') ? 'port in use' : 'see log'}):\n${log}`));
    function cleanup(): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onExit);
    }
    function fail(error: Error): void {
      cleanup();
      child.kill('SIGKILL');
      reject(error);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onExit);
  });
}

/** A Redis Sentinel (`redis-server --sentinel`) watching one master, for `redis+sentinel://` tests. */
export interface TestRedisSentinel {
  readonly port: number;
  /** `redis+sentinel://127.0.0.1:<port>/<masterName>` */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRedisSentinel(options: {
  masterPort: number;
  masterName?: string;
  binary?: string;
}): Promise<TestRedisSentinel> {
  const masterName = options.masterName ?? 'authctx-test';
  const dir = await mkdtemp(join(tmpdir(), 'authctx-sentinel-'));
  const port = await freePort();
  const configFile = join(dir, 'sentinel.conf');
  // Sentinel rewrites its config file, so it must live in a writable place of its own.
  await writeFile(configFile, `port ${port}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor ${masterName} 127.0.0.1 ${options.masterPort} 1\n`);
  const child = await spawnReady(options.binary ?? '/usr/bin/redis-server', [configFile, '--sentinel', '--logfile', ''], '+monitor master', 10_000);
  return {
    port,
    url: `redis+sentinel://127.0.0.1:${port}/${masterName}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A Redis Cluster of `masters` nodes (no replicas), all slots assigned, state ok. */
export interface TestRedisCluster {
  readonly nodes: TestRedisServer[];
  /** `redis+cluster://127.0.0.1:<p1>,127.0.0.1:<p2>,…` */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startRedisCluster(options: { masters?: number } = {}): Promise<TestRedisCluster> {
  const count = options.masters ?? 3;
  const nodes = await Promise.all(
    Array.from({ length: count }, () => startRedisServer({ args: ['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000'] })),
  );
  const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
  await run('/usr/bin/redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes']);
  // `cluster create` returns once slots are assigned; every node must agree before clients connect.
  for (const node of nodes) {
    for (let attempt = 0; ; attempt++) {
      const info = await run('/usr/bin/redis-cli', ['-p', String(node.port), 'cluster', 'info']);
      if (info.includes('cluster_state:ok')) break;
      if (attempt > 200) throw new Error(`cluster node ${node.port} not ok:\n${info}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  return {
    nodes,
    url: `redis+cluster://${addresses.join(',')}`,
    async stop() {
      await Promise.all(nodes.map((node) => node.stop()));
    },
  };
}

function run(binary: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${binary} ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}
