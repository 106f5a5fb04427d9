import { once } from 'node:events';
import { Cluster, Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRedisClient, isRedisReady, parseRedisUrl, redactUrl } from '../../src/cache/redis-client.js';
import { startRedisSentinel, startRedisServer } from '../support/redis-server.js';
import { sharedRedisUrl } from './redis-harness.js';

describe('redis URLs', () => {
  it('passes redis:// and rediss:// through to ioredis', () => {
    expect(parseRedisUrl('redis://:pw@127.0.0.1:6379/2')).toEqual({ kind: 'standalone', url: 'redis://:pw@127.0.0.1:6379/2' });
    expect(parseRedisUrl('rediss://cache.internal:6380')).toEqual({ kind: 'standalone', url: 'rediss://cache.internal:6380' });
  });

  it('reads sentinel URLs: hosts, master name, credentials, database', () => {
    expect(parseRedisUrl('redis+sentinel://u:p%40ss@s1:26379,s2,[::1]:26380/mymaster/3')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
        { host: '::1', port: 26380 },
      ],
      masterName: 'mymaster',
      username: 'u',
      password: 'p@ss',
      db: 3,
      tls: false,
    });
    expect(parseRedisUrl('sentinel://s1:5000/m')).toMatchObject({ kind: 'sentinel', masterName: 'm', sentinels: [{ host: 's1', port: 5000 }] });
  });

  it('reads cluster URLs', () => {
    expect(parseRedisUrl('rediss+cluster://:secret@n1:7000,n2:7001,n3')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 },
        { host: 'n3', port: 6379 },
      ],
      password: 'secret',
      tls: true,
    });
  });

  it.each(['http://x:6379', 'redis+sentinel://s1:26379', 'redis+cluster://n1:99999', 'redis+sentinel://s1/m/x', 'not a url'])(
    'refuses %s',
    (url) => {
      expect(() => parseRedisUrl(url)).toThrow(TypeError);
    },
  );

  it('keeps passwords out of log text', () => {
    expect(redactUrl('redis://user:hunter2@h:6379')).toBe('redis://user:***@h:6379');
    expect(redactUrl('redis+cluster://:hunter2@a,b')).toBe('redis+cluster://:***@a,b');
  });
});

describe('redis client', () => {
  it('builds a Cluster for cluster URLs without connecting anywhere yet useful', () => {
    const cluster = createRedisClient({ url: 'redis+cluster://127.0.0.1:1', maxReconnectDelayMs: 100 });
    expect(cluster).toBeInstanceOf(Cluster);
    expect(isRedisReady(cluster)).toBe(false);
    cluster.disconnect();
  });

  it('fails a command at once while disconnected instead of queueing it', async () => {
    const client = createRedisClient({ url: 'redis://127.0.0.1:1', commandTimeoutMs: 50, maxReconnectDelayMs: 100 });
    const start = performance.now();
    await expect(client.get('k')).rejects.toThrow();
    expect(performance.now() - start).toBeLessThan(50);
    client.disconnect();
  });

  it('reports its connection in authctx_redis_connected', async () => {
    const registry = new Registry();
    const client = createRedisClient({ url: sharedRedisUrl, registry, name: 'cache' });
    expect(client).toBeInstanceOf(Redis);
    if (!isRedisReady(client)) await once(client, 'ready');
    expect(await registry.metrics()).toContain('authctx_redis_connected{client="cache"} 1');
    expect(await (client as Redis).client('GETNAME')).toBe('authctx-cache');
    client.disconnect();
    await once(client, 'end');
    expect(await registry.metrics()).toContain('authctx_redis_connected{client="cache"} 0');
  });
});

describe('redis client through Sentinel', () => {
  it('finds the master through a redis+sentinel:// URL and talks to it', async () => {
    const master = await startRedisServer();
    const sentinel = await startRedisSentinel({ masterPort: master.port, masterName: 'authctx-test' });
    const client = createRedisClient({ url: sentinel.url, commandTimeoutMs: 1_000 });
    try {
      if (!isRedisReady(client)) await once(client, 'ready');
      await client.set('authctx:test:sentinel', 'yes');
      const direct = new Redis(master.url);
      expect(await direct.get('authctx:test:sentinel')).toBe('yes');
      direct.disconnect();
    } finally {
      client.disconnect();
      await sentinel.stop();
      await master.stop();
    }
  });
});
