import { once } from 'node:events';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, isRedisReady, type RedisClient } from '../../src/cache/redis-client.js';
import { createJsonCodec, createRedisStore } from '../../src/cache/redis-store.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { advanceRedisTtls, readyClient, removeKeysUnder, sharedRedisUrl, ttlOrUndefined } from './redis-harness.js';
import { runCacheStoreContract, testPrefix } from './store-contract.js';

let client: Redis;
beforeAll(async () => {
  client = (await readyClient()) as Redis;
});
afterAll(async () => {
  await client.quit();
});

runCacheStoreContract('redis', async () => {
  const prefix = testPrefix();
  const store = createRedisStore<unknown>({ client, statsPrefix: prefix });
  return {
    store,
    prefix,
    advance: (ms) => advanceRedisTtls(client, prefix, ms),
    ttlOf: (key) => ttlOrUndefined(client, key),
    cleanup: () => removeKeysUnder(client, prefix),
  };
});

function errorCount(text: string): number {
  const match = /authctx_cache_requests_total\{tier="redis",result="error"\} (\d+)/.exec(text);
  return match ? Number(match[1]) : 0;
}

describe('redis store on the shared server', () => {
  it('writes with PX so the TTL is set in Redis itself', async () => {
    const prefix = testPrefix();
    const store = createRedisStore<string>({ client });
    await store.set(`${prefix}k`, 'v', 30_000);
    const ttl = await client.pttl(`${prefix}k`);
    expect(ttl).toBeGreaterThan(29_000);
    expect(ttl).toBeLessThanOrEqual(30_000);
    await removeKeysUnder(client, prefix);
  });

  it('returns the remaining TTL with a value', async () => {
    const prefix = testPrefix();
    const store = createRedisStore<string>({ client });
    await client.set(`${prefix}k`, '"v"', 'PX', 5_000);
    const got = await store.getWithTtl(`${prefix}k`);
    expect(got?.value).toBe('v');
    expect(got?.ttlMs).toBeGreaterThan(4_000);
    expect(got?.ttlMs).toBeLessThanOrEqual(5_000);
    await client.set(`${prefix}forever`, '"w"');
    expect(await store.getWithTtl(`${prefix}forever`)).toEqual({ value: 'w', ttlMs: null });
    expect(await store.getWithTtl(`${prefix}absent`)).toBeUndefined();
    await removeKeysUnder(client, prefix);
  });

  it('treats garbage under a key as a miss, counts an error and deletes it', async () => {
    const prefix = testPrefix();
    const registry = new Registry();
    const store = createRedisStore<unknown>({ client, registry });
    await client.set(`${prefix}bad`, '{not json', 'PX', 60_000);
    expect(await store.get(`${prefix}bad`)).toBeUndefined();
    expect(errorCount(await registry.metrics())).toBe(1);
    // The delete is fire-and-forget; a PING after it on the same connection orders the check.
    await client.ping();
    expect(await client.exists(`${prefix}bad`)).toBe(0);
  });

  it('treats a value that fails the codec check as a miss and deletes it', async () => {
    const prefix = testPrefix();
    const isContext = (v: unknown): v is { user_id: string } =>
      typeof v === 'object' && v !== null && typeof (v as { user_id?: unknown }).user_id === 'string';
    const store = createRedisStore({ client, codec: createJsonCodec(isContext) });
    await client.set(`${prefix}old-shape`, '{"uid":1}', 'PX', 60_000);
    await client.set(`${prefix}good`, '{"user_id":"u1"}', 'PX', 60_000);
    expect(await store.getWithTtl(`${prefix}old-shape`)).toBeUndefined();
    expect(await store.get(`${prefix}good`)).toEqual({ user_id: 'u1' });
    await client.ping();
    expect(await client.exists(`${prefix}old-shape`)).toBe(0);
    await removeKeysUnder(client, prefix);
  });

  it('clears more keys than one SCAN page holds', async () => {
    const prefix = testPrefix();
    const store = createRedisStore<number>({ client });
    const pipeline = client.pipeline();
    for (let i = 0; i < 1_234; i++) pipeline.set(`${prefix}${i}`, String(i), 'PX', 60_000);
    await pipeline.exec();
    expect(await store.clear(prefix)).toBe(1_234);
    expect(await client.exists(`${prefix}7`)).toBe(0);
  });

  it('does not quit a client it does not own', async () => {
    const store = createRedisStore({ client });
    await store.close();
    expect(isRedisReady(client)).toBe(true);
  });
});

describe('redis store when Redis fails', () => {
  const commandTimeoutMs = 50;
  const marginMs = 100;
  let server: TestRedisServer;
  let faulty: RedisClient;
  let registry: Registry;

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterEach(() => {
    faulty?.disconnect();
  });
  afterAll(async () => {
    await server.stop();
  });

  async function connect(): Promise<RedisClient> {
    registry = new Registry();
    faulty = createRedisClient({ url: server.url, commandTimeoutMs, maxReconnectDelayMs: 100, registry });
    if (!isRedisReady(faulty)) await once(faulty, 'ready');
    return faulty;
  }

  async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const start = performance.now();
    const value = await fn();
    return { value, ms: performance.now() - start };
  }

  it('misses within the command timeout, and sets without throwing, when the server is killed', async () => {
    const store = createRedisStore<string>({ client: await connect(), registry });
    await store.set('authctx:test:k', 'v', 60_000);
    expect(await store.get('authctx:test:k')).toBe('v');
    const closed = once(faulty, 'close');
    await server.kill('SIGKILL');
    await closed;
    const get = await timed(() => store.get('authctx:test:k'));
    expect(get.value).toBeUndefined();
    expect(get.ms).toBeLessThan(commandTimeoutMs + marginMs);
    const withTtl = await timed(() => store.getWithTtl('authctx:test:k'));
    expect(withTtl.value).toBeUndefined();
    expect(withTtl.ms).toBeLessThan(commandTimeoutMs + marginMs);
    await expect(store.set('authctx:test:k', 'w', 60_000)).resolves.toBeUndefined();
    await expect(store.delete('authctx:test:k')).resolves.toBeUndefined();
    await expect(store.clear('authctx:test:')).resolves.toBe(0);
    expect(errorCount(await registry.metrics())).toBe(5);
    expect(await registry.metrics()).toContain('authctx_redis_connected{client="cache"} 0');
    expect((await store.stats()).tiers[0]).toEqual({ tier: 'redis', entries: 0, connected: false });

    await server.restart();
    if (!isRedisReady(faulty)) await once(faulty, 'ready');
    expect(await registry.metrics()).toContain('authctx_redis_connected{client="cache"} 1');
    await store.set('authctx:test:k', 'back', 60_000);
    expect(await store.get('authctx:test:k')).toBe('back');
  });

  it('misses within the command timeout when the server hangs (SIGSTOP)', async () => {
    const store = createRedisStore<string>({ client: await connect(), registry });
    await store.set('authctx:test:h', 'v', 60_000);
    server.pause();
    try {
      const get = await timed(() => store.get('authctx:test:h'));
      expect(get.value).toBeUndefined();
      expect(get.ms).toBeGreaterThanOrEqual(commandTimeoutMs - 5);
      expect(get.ms).toBeLessThan(commandTimeoutMs + marginMs);
      const withTtl = await timed(() => store.getWithTtl('authctx:test:h'));
      expect(withTtl.value).toBeUndefined();
      expect(withTtl.ms).toBeLessThan(commandTimeoutMs + marginMs);
      const set = await timed(() => store.set('authctx:test:h', 'w', 60_000));
      expect(set.ms).toBeLessThan(commandTimeoutMs + marginMs);
      expect(errorCount(await registry.metrics())).toBe(3);
    } finally {
      server.resume();
    }
    expect(await store.get('authctx:test:h')).toBeDefined();
  });

  it('never rejects under 200 concurrent lookups against a dead server', async () => {
    const store = createRedisStore<string>({ client: await connect(), registry });
    await server.kill('SIGKILL');
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => store.get(`authctx:test:${i}`)));
    expect(results.every((r) => r.status === 'fulfilled' && r.value === undefined)).toBe(true);
    await server.restart();
  });
});

describe('redis client URLs', () => {
  it('connects with a plain redis:// URL', async () => {
    const c = await readyClient({ url: sharedRedisUrl });
    expect(await c.ping()).toBe('PONG');
    c.disconnect();
  });
});
