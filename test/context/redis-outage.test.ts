import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { startTestStack, type TestStack } from '../support/stack.js';
import { generatedEmail } from '../../scripts/seed.js';

const commandTimeoutMs = 50;
/** Source calls here take a few ms; the bound is the command timeout plus a generous source allowance. */
const boundMs = commandTimeoutMs + 500;
/** Generated employee i is inactive when i % 17 === 0 (scripts/seed.ts). */
const activeEmail = (i: number) => generatedEmail(i % 17 === 0 ? i + 100 : i);

let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ label: 'redis_outage', employees: 200, redis: true, env: { AUTHCTX_REDIS_COMMAND_TIMEOUT: `${commandTimeoutMs}ms` } });
});

afterAll(async () => {
  await stack?.close();
});

async function timedGet(email: string): Promise<{ status: number; ms: number }> {
  const start = performance.now();
  const res = await stack.get(email);
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - start };
}

describe('Redis outage', () => {
  it('keeps answering from memory and the source while Redis is paused, then killed', async () => {
    expect((await timedGet(activeEmail(1))).status).toBe(200);
    const redis = stack.redis!;
    redis.pause(); // SIGSTOP: commands hang until the client's timeout
    try {
      for (let i = 2; i <= 11; i++) {
        const { status, ms } = await timedGet(activeEmail(i));
        expect(status).toBe(200);
        expect(ms).toBeLessThan(boundMs);
      }
    } finally {
      redis.resume();
    }
    await redis.kill();
    for (let i = 12; i <= 21; i++) {
      const { status, ms } = await timedGet(activeEmail(i));
      expect(status).toBe(200);
      expect(ms).toBeLessThan(boundMs);
    }
    // Users cached before the outage are still served from memory.
    expect((await timedGet(activeEmail(1))).status).toBe(200);
    expect(await stack.metrics()).toMatch(/authctx_cache_requests_total\{tier="redis",result="error"\} [1-9]/);
  });
});
