/**
 * Starting the processes under test: authctx itself (the real CLI, `dist/src/main.js
 * start`, configured by environment as in production), the legacy backend, the peer
 * proxies and nginx. Each is pinned to the proxy core; the origin, Postgres, Redis and
 * the load generator share the other one.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, proxyCore, startProcess, waitForPort, type Started } from './child-process.js';
import { startNginx } from './nginx.js';
import { processTree } from './proc-stats.js';
import { benchIssuer, benchSecret } from './tokens.js';

/** dist/ (this file is dist/bench/processes-under-test.js). */
const distDir = dirname(dirname(fileURLToPath(import.meta.url)));
export const authctxMain = join(distDir, 'src', 'main.js');
export const serverScript = (name: string): string => join(distDir, 'bench', 'servers', `${name}.js`);

/** What a scenario run measures: the URL to load and the processes whose CPU and RSS count. */
export interface Target {
  url: string;
  /** authctx's admin listener (metrics), when the target is authctx. */
  adminUrl?: string;
  /** The processes of the thing under test (nginx: master and workers, plus its auth service). */
  pids(): number[];
  /** The authctx child, for IPC (memory probe). */
  authctx?: Started;
  stop(): Promise<void>;
}

export interface Environment {
  logDir: string;
  workDir: string;
  originUrl: string;
  originPort: number;
  databaseUrl: string;
}

function targetOf(started: Started[], url: string, extra: Partial<Target> = {}): Target {
  return {
    url,
    pids: () => started.map((s) => s.pid),
    async stop() {
      for (const s of [...started].reverse()) await s.stop();
    },
    ...extra,
  };
}

export interface AuthctxStart {
  name: string;
  /** Extra environment (cache sizes, REDIS_URL, cached routes). */
  env?: Record<string, string>;
  /** Node flags before the script (e.g. --cpu-prof). */
  nodeArgs?: string[];
  /** Open an IPC channel and preload the memory probe. */
  memoryProbe?: boolean;
  core?: number;
}

/** authctx with the postgres source on the bench database, configured by environment only. */
export async function startAuthctx(environment: Environment, options: AuthctxStart): Promise<Target> {
  const port = await freePort();
  const adminPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    METADATA_SERVER_DETECTION: 'none',
    AUTHCTX_LISTEN: `127.0.0.1:${port}`,
    AUTHCTX_ADMIN_LISTEN: `127.0.0.1:${adminPort}`,
    AUTHCTX_UPSTREAM_URL: environment.originUrl,
    AUTHCTX_JWT_SECRET: benchSecret,
    AUTHCTX_JWT_ISSUER: benchIssuer,
    AUTHCTX_SOURCE: 'postgres',
    AUTHCTX_DATABASE_URL: environment.databaseUrl,
    AUTHCTX_LOG_LEVEL: 'warn',
    ...options.env,
  };
  const probe = options.memoryProbe ? ['--expose-gc', '--import', serverScript('memory-probe')] : [];
  const started = startProcess({
    name: options.name,
    command: process.execPath,
    args: [...(options.nodeArgs ?? []), ...probe, authctxMain, 'start'],
    core: options.core ?? proxyCore,
    env,
    logDir: environment.logDir,
    ipc: options.memoryProbe === true,
    cwd: environment.workDir,
  });
  try {
    await waitForPort(started, port);
    await waitForPort(started, adminPort);
  } catch (error) {
    await started.stop();
    throw error;
  }
  return targetOf([started], `http://127.0.0.1:${port}`, { adminUrl: `http://127.0.0.1:${adminPort}`, authctx: started });
}

/** A Node server script from dist/bench/servers on the proxy core. */
export async function startServer(environment: Environment, name: string, script: string, args: string[] = [], env: Record<string, string> = {}): Promise<Target> {
  const port = await freePort();
  const started = startProcess({
    name,
    command: process.execPath,
    args: [serverScript(script), ...args],
    core: proxyCore,
    env: {
      ...process.env,
      PORT: String(port),
      UPSTREAM_URL: environment.originUrl,
      DATABASE_URL: environment.databaseUrl,
      AUTHCTX_JWT_SECRET: benchSecret,
      AUTHCTX_JWT_ISSUER: benchIssuer,
      ...env,
    },
    logDir: environment.logDir,
  });
  try {
    await waitForPort(started, port);
  } catch (error) {
    await started.stop();
    throw error;
  }
  return targetOf([started], `http://127.0.0.1:${port}`);
}

/** nginx as a plain proxy, or with auth_request to the auth service (both on the proxy core). */
export async function startNginxTarget(environment: Environment, name: string, withAuth: boolean): Promise<Target> {
  const authTarget = withAuth ? await startServer(environment, `${name}-auth-service`, 'auth-service') : undefined;
  try {
    const port = await freePort();
    const dir = join(environment.workDir, `${name}-${port}`);
    mkdirSync(dir, { recursive: true });
    const authPort = authTarget ? Number(new URL(authTarget.url).port) : undefined;
    const nginx = await startNginx({ dir, port, originPort: environment.originPort, ...(authPort !== undefined ? { authPort } : {}), logDir: environment.logDir, name });
    return {
      url: `http://127.0.0.1:${port}`,
      // The master, its worker, and the auth service: all of it is "the proxy" here.
      pids: () => [...processTree(nginx.pid), ...(authTarget?.pids() ?? [])],
      async stop() {
        await nginx.stop();
        await authTarget?.stop();
      },
    };
  } catch (error) {
    await authTarget?.stop();
    throw error;
  }
}
