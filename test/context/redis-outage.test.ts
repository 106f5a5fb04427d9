import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { startApp, type RunningApp } from '../support/app.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { createSeededDatabase, type TestDatabase } from '../support/postgres.js';
import { generatedEmail } from '../../scripts/seed.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { signToken } from '../support/tokens.js';

const commandTimeoutMs = 50;
/** Generated employee i is inactive when i % 17 === 0 (scripts/seed.ts). */
const generatedEmailFor = (i: number) => generatedEmail(i % 17 === 0 ? i + 100 : i);
/** Source calls here take a few ms; the bound is the command timeout plus a generous source allowance. */
const boundMs = commandTimeoutMs + 500;

let db: TestDatabase;
let origin: Origin;
let redis: TestRedisServer;
let proxy: RunningApp;

beforeAll(async () => {
  db = await createSeededDatabase('redis_outage', { employees: 200 });
  origin = await startOrigin();
  redis = await startRedisServer();
  proxy = await startApp({
    AUTHCTX_DATABASE_URL: db.url,
    AUTHCTX_UPSTREAM_URL: origin.url,
    REDIS_URL: redis.url,
    AUTHCTX_REDIS_COMMAND_TIMEOUT: `${commandTimeoutMs}ms`,
  });
});

afterAll(async () => {
  await proxy?.stop();
  await origin?.close();
  await redis?.stop();
  await db?.drop();
});

async function timedGet(email: string): Promise<{ status: number; ms: number }> {
  const token = await signToken({ email });
  const start = performance.now();
  const res = await fetch(`${proxy.proxyUrl}/api/x`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - start };
}

describe('Redis outage', () => {
  it('keeps answering from memory and the source while Redis is paused, then killed', async () => {
    expect((await timedGet(generatedEmailFor(1))).status).toBe(200);

    redis.pause(); // SIGSTOP: commands hang until the client's timeout
    try {
      for (let i = 2; i <= 11; i++) {
        const { status, ms } = await timedGet(generatedEmailFor(i));
        expect(status).toBe(200);
        expect(ms).toBeLessThan(boundMs);
      }
    } finally {
      redis.resume();
    }

    await redis.kill();
    for (let i = 12; i <= 21; i++) {
      const { status, ms } = await timedGet(generatedEmailFor(i));
      expect(status).toBe(200);
      expect(ms).toBeLessThan(boundMs);
    }
    // Users cached before the outage are still served from memory.
    expect((await timedGet(generatedEmailFor(1))).status).toBe(200);
    const metrics = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/authctx_cache_requests_total\{tier="redis",result="error"\} [1-9]/);
  });
});
