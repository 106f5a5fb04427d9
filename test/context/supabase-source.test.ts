import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { namedUsers, seededEmails } from '../../scripts/seed.js';
import type { ContextSource } from '../../src/context/context-source.js';
import { createSupabaseSource, type SupabaseSourceOptions } from '../../src/context/supabase-source.js';
import { metricNames } from '../../src/metrics/names.js';
import { createSeededDatabase, type TestDatabase } from '../support/postgres.js';
import { startPostgrestServer, type PostgrestServer } from '../support/postgrest-server.js';
import { contextSourceContract, type ContextSourceHarness } from './source-contract.js';

const serviceRoleKey = 'test-service-role-key';
const seed = { employees: 120 };
let db: TestDatabase;
let postgrest: PostgrestServer;

beforeAll(async () => {
  db = await createSeededDatabase('sbsource', seed);
  postgrest = await startPostgrestServer({ databaseUrl: db.url, serviceRoleKey });
});
afterAll(async () => {
  await postgrest?.close();
  await db?.drop();
});

function captureLogger(): { logger: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}

async function counterValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value ?? 0;
}

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('supabase context source', () => {
  const open: ContextSource[] = [];
  const make = (options: Partial<SupabaseSourceOptions> = {}): ContextSource => {
    const source = createSupabaseSource({
      url: postgrest.url,
      serviceRoleKey,
      registry: new Registry(),
      logger: pino({ level: 'silent' }),
      retryBackoffMs: 5,
      ...options,
    });
    open.push(source);
    return source;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((source) => source.close()));
    postgrest.delayMs = 0;
    postgrest.rewriteRpc = undefined;
  });

  const harness = (): ContextSourceHarness => ({
    db,
    createSource(options = {}) {
      const registry = new Registry();
      const source = createSupabaseSource({ url: postgrest.url, serviceRoleKey, registry, logger: pino({ level: 'silent' }), ...options });
      return { source, registry };
    },
  });
  contextSourceContract(harness);

  it('calls the RPC once per lookup over PostgREST', async () => {
    const source = make();
    postgrest.resetCounters();
    await source.getUserContext(namedUsers.rina);
    expect(postgrest.rpcCalls).toBe(1);
    expect(postgrest.tableCalls).toBe(0);
  });

  it('rejects a reply whose email was swapped in transit', async () => {
    const source = make();
    postgrest.rewriteRpc = (value) => ({ ...(value as object), email: 'budi@example.com' });
    await expect(source.getUserContext(namedUsers.rina)).rejects.toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_MALFORMED' });
  });

  it('rejects a reply that is not JSON', async () => {
    const source = make();
    postgrest.failNext(200, '<html>gateway</html>');
    await expect(source.getUserContext(namedUsers.rina)).rejects.toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_MALFORMED' });
  });

  it('reports PostgREST errors as unavailable', async () => {
    const source = make();
    postgrest.failNext(500, { code: 'XX000', details: null, hint: null, message: 'boom' });
    await expect(source.getUserContext(namedUsers.rina)).rejects.toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_UNAVAILABLE' });
    const wrongKey = make({ serviceRoleKey: 'not-the-key' });
    await expect(wrongKey.getUserContext(namedUsers.rina)).rejects.toMatchObject({
      code: 'AUTHCTX_ERR_CONTEXT_UNAVAILABLE',
      message: expect.stringContaining('401'),
    });
  });

  it('falls back to the legacy queries while the RPC is missing, with the same JSON for every seeded user', async () => {
    const { logger, lines } = captureLogger();
    const registry = new Registry();
    const source = make({ functionName: 'get_user_context_not_installed', registry, logger, timeoutMs: 5_000 });
    postgrest.resetCounters();
    const emails = [...seededEmails(seed), 'nobody@example.com', ' Rina@Example.com '];
    for (const email of emails) {
      const { rows } = await db.query<{ context: unknown }>('select public.get_user_context($1) as context', [email]);
      expect(await source.getUserContext(email), email).toEqual(rows[0]?.context ?? null);
    }
    // Asked once, then served from the legacy queries until the recheck period passes.
    expect(postgrest.rpcCalls).toBe(1);
    expect(postgrest.tableCalls).toBeGreaterThanOrEqual(emails.length);
    const warnings = lines.filter((line) => line.level === 40 && line.msg.includes('not installed'));
    expect(warnings).toHaveLength(1);
    expect(await counterValue(registry, metricNames.sourceLegacyFallback, { source: 'supabase' })).toBe(emails.length);
  });

  it('issues the four legacy queries for one found user', async () => {
    const source = make({ functionName: 'get_user_context_not_installed' });
    await source.getUserContext('sari@example.com');
    postgrest.resetCounters();
    await source.getUserContext('rina@example.com');
    expect(postgrest.rpcCalls).toBe(0);
    expect(postgrest.tableCalls).toBe(4);
  });

  it('asks for the RPC again once the recheck period has passed', async () => {
    let nowMs = 1_700_000_000_000;
    const source = make({ functionName: 'get_user_context_not_installed', rpcRecheckMs: 60_000, now: () => nowMs });
    postgrest.resetCounters();
    await source.getUserContext(namedUsers.rina);
    await source.getUserContext(namedUsers.rina);
    expect(postgrest.rpcCalls).toBe(1);
    nowMs += 60_000;
    await source.getUserContext(namedUsers.rina);
    expect(postgrest.rpcCalls).toBe(2);
  });

  it('reports a missing RPC as unavailable when the fallback is off', async () => {
    const source = make({ functionName: 'get_user_context_not_installed', legacyFallback: false });
    await expect(source.getUserContext(namedUsers.rina)).rejects.toMatchObject({
      code: 'AUTHCTX_ERR_CONTEXT_UNAVAILABLE',
      message: expect.stringContaining('npm run migrate'),
    });
  });

  it('keeps at most maxConnections sockets open to PostgREST and reuses them', async () => {
    const source = make({ maxConnections: 3 });
    postgrest.resetCounters();
    postgrest.delayMs = 20;
    const emails = seededEmails(seed).slice(0, 30);
    await Promise.all(emails.map((email) => source.getUserContext(email)));
    await source.getUserContext(namedUsers.rina);
    expect(postgrest.rpcCalls).toBe(31);
    expect(postgrest.connections).toBeLessThanOrEqual(3);
  });

  it('retries a failed connection a bounded number of times, then reports unavailable', async () => {
    let accepted = 0;
    const resetting: Server = createServer((socket) => {
      accepted++;
      socket.destroy();
    });
    resetting.listen(0, '127.0.0.1');
    await once(resetting, 'listening');
    const { port } = resetting.address() as AddressInfo;
    try {
      const { logger, lines } = captureLogger();
      const source = make({ url: `http://127.0.0.1:${port}`, retries: 2, logger });
      await expect(source.getUserContext(namedUsers.rina)).rejects.toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_UNAVAILABLE' });
      expect(accepted).toBe(3);
      expect(lines.filter((line) => line.msg.includes('retrying'))).toHaveLength(2);
    } finally {
      await new Promise((resolve) => resetting.close(resolve));
    }
  });

  it('reports unavailable promptly when nothing listens', async () => {
    const source = make({ url: `http://127.0.0.1:${await freePort()}`, retries: 2 });
    const started = performance.now();
    await expect(source.getUserContext(namedUsers.rina)).rejects.toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_UNAVAILABLE' });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('requires its URL and service-role key', () => {
    expect(() => make({ serviceRoleKey: '' })).toThrow(/SUPABASE_SERVICE_ROLE_KEY/);
    expect(() => make({ url: '' })).toThrow(/SUPABASE_URL/);
  });
});
