/**
 * The whole demo in one process: PGlite (+ the project's migrations and a seed of a
 * few hundred employees), an echo backend, and authctx itself, built by `buildApp`
 * from a config that `loadConfig` reads from config/demo.yaml plus a few environment
 * values — the same code path as `npm start`, with the `postgres` source, the memory
 * cache and zones from a file. Used by demo/demo.ts (the CLI) and test/e2e/demo.test.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { buildApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { drain, listen, type Listening } from '../src/lifecycle.js';
import { namedUsers, seedRegions } from '../scripts/seed.js';
import { startDemoBackend, type DemoBackend } from './backend.js';
import { startDemoDatabase, type DemoDatabase } from './database.js';
import { runDemoLoad, type DemoLoadOptions, type DemoLoadResult } from './load.js';
import { packageRoot } from './paths.js';
import { choosePort, type PortChoice } from './ports.js';
import { buildScenarios, type DemoToken, type Scenario } from './scenarios.js';
import { demoJwtSecret, seededUserId, signDemoToken } from './tokens.js';

export interface DemoPorts {
  proxy: number;
  admin: number;
  backend: number;
  database: number;
}

/** Ports tried first; a taken one moves to the next free port above it. */
export const defaultDemoPorts: DemoPorts = { proxy: 8080, admin: 9090, backend: 8000, database: 5433 };

/** Bearer token of the demo's admin mutations; as public as the demo JWT secret. */
export const demoAdminToken = 'authctx-demo-admin-token';

export interface DemoStackOptions {
  /** Per-listener ports, or 0 for OS-chosen ports everywhere (tests). Default `defaultDemoPorts`. */
  ports?: Partial<DemoPorts> | 0;
  /** authctx's logger (pino). */
  logger: Logger;
  /** Progress lines while starting ("database: applying 001_schema.sql", …). */
  print?: (line: string) => void;
  /** Generated employees besides the named users. Default 300. */
  employees?: number;
}

export interface DemoUrls {
  proxy: string;
  admin: string;
  backend: string;
  database: string;
}

export interface DemoStack {
  readonly urls: DemoUrls;
  /** Ports that were taken and replaced, for a note in the printout. */
  readonly movedPorts: Array<{ listener: keyof DemoPorts } & PortChoice>;
  readonly tokens: DemoToken[];
  readonly scenarios: Scenario[];
  readonly app: App;
  readonly backend: DemoBackend;
  readonly database: DemoDatabase;
  /** Active seeded employees the load spreads its tokens over. */
  readonly loadUsers: number;
  /** A load run through the proxy (autocannon), with tokens spread over the seeded users. */
  runLoad(options?: Partial<Omit<DemoLoadOptions, 'proxyUrl' | 'adminUrl' | 'tokens'>>): Promise<DemoLoadResult>;
  /** Stops authctx (drain), the backend and the database, in that order. Idempotent. */
  stop(): Promise<void>;
}

const host = '127.0.0.1';

/** The zones of some regions as authctx reports them: the union, sorted. */
function zonesOf(zonesFile: string, regions: readonly string[]): string[] {
  const byRegion = JSON.parse(readFileSync(zonesFile, 'utf8')) as Record<string, string[]>;
  return [...new Set(regions.flatMap((r) => byRegion[r] ?? []))].sort();
}

export async function startDemoStack(options: DemoStackOptions): Promise<DemoStack> {
  const print = options.print ?? (() => undefined);
  const wanted: DemoPorts = options.ports === 0 ? { proxy: 0, admin: 0, backend: 0, database: 0 } : { ...defaultDemoPorts, ...options.ports };
  const chosen = {} as Record<keyof DemoPorts, PortChoice>;
  for (const listener of Object.keys(wanted) as Array<keyof DemoPorts>) chosen[listener] = await choosePort(wanted[listener], host);
  const movedPorts = (Object.keys(chosen) as Array<keyof DemoPorts>)
    .filter((listener) => chosen[listener].port !== chosen[listener].wanted)
    .map((listener) => ({ listener, ...chosen[listener] }));

  const root = packageRoot();
  const zonesFile = join(root, 'config', 'zones.example.json');
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        options.logger.warn({ err: error }, 'demo: error while stopping');
      }
    }
  };

  try {
    print(`database: starting PGlite on ${host}:${chosen.database.port || '(any port)'}`);
    const database = await startDemoDatabase({
      port: chosen.database.port,
      host,
      employees: options.employees ?? 300,
      print: (line) => print(`database: ${line}`),
    });
    cleanups.push(() => database.stop());
    print(`database: seeded ${database.employees} employees in ${seedRegions.length} regions`);

    const backend = await startDemoBackend({ port: chosen.backend.port, host });
    cleanups.push(() => backend.stop());

    const config = loadConfig({
      env: {
        AUTHCTX_CONFIG: join(root, 'config', 'demo.yaml'),
        AUTHCTX_LISTEN: `${host}:${chosen.proxy.port}`,
        AUTHCTX_ADMIN_LISTEN: `${host}:${chosen.admin.port}`,
        AUTHCTX_UPSTREAM_URL: backend.url,
        AUTHCTX_DATABASE_URL: database.url,
        AUTHCTX_ZONES_FILE: zonesFile,
        AUTHCTX_JWT_SECRET: demoJwtSecret,
        AUTHCTX_ADMIN_TOKEN: demoAdminToken,
      },
      readFile: (path) => readFileSync(path, 'utf8'),
    });
    const app = buildApp(config, { logger: options.logger });
    let addresses: Listening;
    try {
      addresses = await listen(app);
    } catch (error) {
      await app.close();
      throw error;
    }
    cleanups.push(async () => {
      await drain(app, config.shutdownGrace);
    });

    const urls: DemoUrls = {
      proxy: `http://${host}:${addresses.proxy.port}`,
      admin: `http://${host}:${addresses.admin.port}`,
      backend: backend.url,
      database: database.url,
    };

    const token = async (env: string, key: string, email: string, about: string, secret?: string): Promise<DemoToken> => {
      const sub = seededUserId(key);
      return { env, sub, email, about, token: await signDemoToken({ sub, email, ...(secret ? { secret } : {}) }) };
    };
    const rina = await token('RINA_TOKEN', 'rina', namedUsers.rina, 'area_manager in JKT, also sees BDG');
    const admin = await token('ADMIN_TOKEN', 'admin', namedUsers.admin, 'admin, scope all');
    const agent = await token('SARI_TOKEN', 'sari', namedUsers.sari, 'agent with one slot in SBY');
    const unknown = await token('UNKNOWN_TOKEN', 'nobody', 'nobody@example.com', 'valid token, no such employee');
    const forged = await token('FORGED_TOKEN', 'rina', namedUsers.rina, 'rina, signed with the wrong secret', 'not-the-demo-secret-0000000000000000000000000');
    const tokens = [rina, admin, agent, unknown, forged];
    const scenarios = buildScenarios({
      proxyUrl: urls.proxy,
      adminUrl: urls.admin,
      adminToken: demoAdminToken,
      rina,
      admin,
      agent,
      unknown,
      forged,
      rinaZones: zonesOf(zonesFile, ['JKT', 'BDG']).join(','),
      agentZones: zonesOf(zonesFile, ['SBY']).join(','),
      adminZones: zonesOf(zonesFile, seedRegions.map(([code]) => code)),
    });

    // Generated employee i is inactive when i % 17 == 0 (scripts/seed.ts): leave those out of the load.
    const generated = options.employees ?? 300;
    const loadKeys: Array<{ key: string; email: string }> = [rina, admin, agent].map((t) => ({ key: t.email.split('@')[0] ?? '', email: t.email }));
    for (let i = 1; i <= generated; i++) {
      if (i % 17 !== 0) loadKeys.push({ key: `employee-${i}`, email: `emp${String(i).padStart(6, '0')}@example.com` });
    }
    let loadTokens: string[] | undefined;

    let stopped: Promise<void> | undefined;
    return {
      urls,
      movedPorts,
      tokens,
      scenarios,
      app,
      backend,
      database,
      loadUsers: loadKeys.length,
      async runLoad(loadOptions = {}) {
        loadTokens ??= await Promise.all(loadKeys.map(({ key, email }) => signDemoToken({ sub: seededUserId(key), email })));
        return runDemoLoad({ ...loadOptions, proxyUrl: urls.proxy, adminUrl: urls.admin, tokens: loadTokens });
      },
      stop() {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
