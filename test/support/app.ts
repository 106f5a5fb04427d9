import { pino } from 'pino';
import { buildApp, type App, type AppDeps } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { drain, listen } from '../../src/lifecycle.js';
import { testIssuer, testSecret } from './tokens.js';

export interface RunningApp {
  app: App;
  /** e.g. http://127.0.0.1:PORT */
  proxyUrl: string;
  adminUrl: string;
  proxyPort: number;
  adminPort: number;
  stop(graceMs?: number): Promise<boolean>;
}

/** Test defaults: loopback on port 0, HS256 test secret, the postgres source (overridden as needed). */
export function testEnv(overrides: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    AUTHCTX_LISTEN: '127.0.0.1:0',
    AUTHCTX_ADMIN_LISTEN: '127.0.0.1:0',
    AUTHCTX_JWT_SECRET: testSecret,
    AUTHCTX_JWT_ISSUER: testIssuer,
    AUTHCTX_SOURCE: 'postgres',
    AUTHCTX_DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
    AUTHCTX_LOG_LEVEL: 'silent',
    ...overrides,
  };
}

export async function startApp(env: Record<string, string | undefined>, deps: Partial<AppDeps> = {}): Promise<RunningApp> {
  const config = loadConfig({ env: testEnv(env) });
  const logger = deps.logger ?? pino({ level: config.logLevel });
  const app = buildApp(config, { ...deps, logger });
  const addresses = await listen(app);
  let stopped: Promise<boolean> | undefined;
  return {
    app,
    proxyUrl: `http://127.0.0.1:${addresses.proxy.port}`,
    adminUrl: `http://127.0.0.1:${addresses.admin.port}`,
    proxyPort: addresses.proxy.port,
    adminPort: addresses.admin.port,
    stop(graceMs = 1000) {
      stopped ??= drain(app, graceMs);
      return stopped;
    },
  };
}
