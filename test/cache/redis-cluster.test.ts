import { once } from 'node:events';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, isRedisReady, type RedisClient } from '../../src/cache/redis-client.js';
import { createRedisStore } from '../../src/cache/redis-store.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-server.js';

describe('redis store on a Redis Cluster', () => {
  let cluster: TestRedisCluster;
  let client: RedisClient;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = createRedisClient({ url: cluster.url, commandTimeoutMs: 1_000 });
    if (!isRedisReady(client)) await once(client, 'ready');
  });
  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('builds a Cluster client from a redis+cluster:// URL', () => {
    expect(client).toBeInstanceOf(Cluster);
  });

  it('gets, sets with TTL, and clears a prefix across every master', async () => {
    const store = createRedisStore<number>({ client, statsPrefix: 'authctx:test:c:' });
    // Enough keys that every master holds some (slots spread by CRC16 of the key).
    for (let i = 0; i < 60; i++) await store.set(`authctx:test:c:${i}`, i, 60_000);
    await store.set('authctx:test:other', -1, 60_000);
    expect(await store.get('authctx:test:c:7')).toBe(7);
    expect(await store.getWithTtl('authctx:test:c:8')).toMatchObject({ value: 8 });
    expect((await store.stats()).tiers[0]).toMatchObject({ tier: 'redis', entries: 60, connected: true });
    expect(await store.clear('authctx:test:c:')).toBe(60);
    expect(await store.get('authctx:test:c:7')).toBeUndefined();
    expect(await store.get('authctx:test:other')).toBe(-1);
  });
});
