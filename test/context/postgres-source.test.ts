import { createServer } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresSource } from '../../src/context/postgres-source.js';
import { createSeededDatabase, type TestDatabase } from '../support/postgres.js';
import { contextSourceContract, type ContextSourceHarness } from './source-contract.js';

const logger = pino({ level: 'silent' });
let db: TestDatabase;

beforeAll(async () => {
  db = await createSeededDatabase('pgsource', { employees: 50 });
});
afterAll(async () => {
  await db?.drop();
});

describe('postgres context source', () => {
  const harness = (): ContextSourceHarness => ({
    db,
    createSource(options = {}) {
      const registry = new Registry();
      const source = createPostgresSource({ connectionString: db.url, registry, logger, maxConnections: 4, ...options });
      return { source, registry };
    },
  });
  contextSourceContract(harness);

  it('says to run the migrations when the function does not exist', async () => {
    const source = createPostgresSource({ connectionString: db.url, functionName: 'not_installed', registry: new Registry(), logger });
    try {
      await expect(source.getUserContext('rina@example.com')).rejects.toMatchObject({
        code: 'AUTHCTX_ERR_CONTEXT_UNAVAILABLE',
        message: expect.stringContaining('npm run migrate'),
      });
    } finally {
      await source.close();
    }
  });

  it('fails fast with unavailable when Postgres refuses connections', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const source = createPostgresSource({ connectionString: `postgres://postgres@127.0.0.1:${port}/test`, registry: new Registry(), logger });
    try {
      const started = performance.now();
      await expect(source.getUserContext('rina@example.com')).rejects.toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_UNAVAILABLE' });
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      await source.close();
    }
  });

  it('gives up waiting for a pooled connection after poolTimeoutMs', async () => {
    const source = createPostgresSource({
      connectionString: db.url,
      functionName: 'authctx_test_slow',
      maxConnections: 1,
      poolTimeoutMs: 100,
      timeoutMs: 5_000,
      registry: new Registry(),
      logger,
    });
    try {
      const holding = source.getUserContext('rina@example.com');
      const started = performance.now();
      await expect(source.getUserContext('sari@example.com')).rejects.toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_TIMEOUT' });
      expect(performance.now() - started).toBeLessThan(1_000);
      await expect(holding).resolves.toMatchObject({ email: 'rina@example.com' });
    } finally {
      await source.close();
    }
  });

  it('shares its metrics with another adapter on the same registry', () => {
    const registry = new Registry();
    const a = createPostgresSource({ connectionString: db.url, registry, logger });
    const b = createPostgresSource({ connectionString: db.url, registry, logger });
    expect(registry.getMetricsAsArray().map((m) => m.name)).toContain('authctx_context_source_requests_total');
    return Promise.all([a.close(), b.close()]);
  });
});
