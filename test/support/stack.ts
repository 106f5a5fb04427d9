import type { AppDeps } from '../../src/app.js';
import { startApp, type RunningApp } from './app.js';
import { startOrigin, type Origin } from './origin.js';
import { createSeededDatabase, type TestDatabase } from './postgres.js';
import { startPostgrestServer, type PostgrestServer } from './postgrest-server.js';
import { startRedisServer, type TestRedisServer } from './redis-server.js';
import { signToken } from './tokens.js';

export const stackAdminToken = 'test-admin-token';
const serviceRoleKey = 'test-service-role-key';

export interface TestStackOptions {
  /** Names the test database. */
  label: string;
  /** Generated employees on top of the named users (scripts/seed.ts). Default 50. */
  employees?: number;
  /** `postgres` (pg pool) or `supabase` (supabase-js through the local PostgREST server). Default postgres. */
  source?: 'postgres' | 'supabase';
  /** Start a private redis-server and set REDIS_URL. Default false. */
  redis?: boolean;
  env?: Record<string, string | undefined>;
  deps?: Partial<AppDeps>;
}

/** A seeded database, a recording origin, optionally Redis and PostgREST, and authctx in front. */
export interface TestStack {
  db: TestDatabase;
  origin: Origin;
  redis: TestRedisServer | undefined;
  postgrest: PostgrestServer | undefined;
  proxy: RunningApp;
  /** GET through the proxy as the user with this email (a fresh HS256 token, `sub` = `sub-<email>`). */
  get(email: string, path?: string): Promise<Response>;
  /** POST to an admin mutation with the admin token. */
  admin(path: string): Promise<Response>;
  /** The /metrics text. */
  metrics(): Promise<string>;
  close(): Promise<void>;
}

export async function startTestStack(options: TestStackOptions): Promise<TestStack> {
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
  };
  try {
    const db = await createSeededDatabase(options.label, { employees: options.employees ?? 50 });
    closers.push(() => db.drop());
    const origin = await startOrigin();
    closers.push(() => origin.close());
    const redis = options.redis ? await startRedisServer() : undefined;
    if (redis) closers.push(() => redis.stop());
    const postgrest = options.source === 'supabase' ? await startPostgrestServer({ databaseUrl: db.url, serviceRoleKey }) : undefined;
    if (postgrest) closers.push(() => postgrest.close());
    const proxy = await startApp(
      {
        AUTHCTX_UPSTREAM_URL: origin.url,
        AUTHCTX_ADMIN_TOKEN: stackAdminToken,
        ...(postgrest
          ? { AUTHCTX_SOURCE: 'supabase', SUPABASE_URL: postgrest.url, SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey, AUTHCTX_DATABASE_URL: undefined }
          : { AUTHCTX_DATABASE_URL: db.url }),
        ...(redis ? { REDIS_URL: redis.url } : {}),
        ...options.env,
      },
      options.deps,
    );
    closers.push(() => proxy.stop());
    return {
      db,
      origin,
      redis,
      postgrest,
      proxy,
      async get(email, path = '/api/x') {
        const token = await signToken({ email, sub: `sub-${email}` });
        return fetch(`${proxy.proxyUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      },
      admin: (path) => fetch(`${proxy.adminUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${stackAdminToken}` } }),
      metrics: async () => (await fetch(`${proxy.adminUrl}/metrics`)).text(),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
