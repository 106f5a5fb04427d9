import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createZoneIndex, type ZoneIndex, type ZoneIndexOptions } from '../../src/zones/zone-index.js';
import { loopbackZoneSource, startBigQueryServer, type BigQueryServer } from '../support/bigquery-server.js';

const dayMs = 24 * 3_600_000;
const sample: [string, string][] = [
  ['JKT', 'JKT-01'],
  ['JKT', 'JKT-02'],
  ['DPS', 'DPS-01'],
];

let server: BigQueryServer;
let redis: Redis;
let prefix: string;
const indexes: ZoneIndex[] = [];
const clients: Redis[] = [];

beforeEach(async () => {
  server = await startBigQueryServer();
  server.setRows(sample);
  redis = new Redis({ host: '127.0.0.1', port: 6379, maxRetriesPerRequest: 1 });
  prefix = `authctx-test:${randomUUID()}:zones`;
});
afterEach(async () => {
  await Promise.all(indexes.splice(0).map((i) => i.close()));
  await redis.del(`${prefix}:data`, `${prefix}:lock`);
  await Promise.all([redis, ...clients.splice(0)].map((c) => c.quit().catch(() => c.disconnect())));
  expect(server.unexpected).toEqual([]);
  await server.close();
});

function replica(extra: Partial<ZoneIndexOptions> = {}): ZoneIndex {
  const index = createZoneIndex({
    source: loopbackZoneSource(server),
    refreshIntervalMs: dayMs,
    jobTimeoutMs: 5_000,
    redis,
    keyPrefix: prefix,
    registry: new Registry(),
    logger: pino({ level: 'silent' }),
    ...extra,
  });
  indexes.push(index);
  return index;
}

describe('zone index shared through redis', () => {
  test('two replicas starting together run one BigQuery query and serve the same table', async () => {
    server.setIncompletePolls(3); // keep the lock holder busy for a few round trips
    const a = replica();
    const b = replica();
    a.start();
    b.start();
    await expect.poll(() => a.isLoaded() && b.isLoaded()).toBe(true);
    expect(server.queryCount).toBe(1);
    expect(b.zonesFor(['JKT', 'DPS'])).toEqual(a.zonesFor(['JKT', 'DPS']));
    expect(a.zonesFor(['DPS'])).toEqual(['DPS-01']);
    expect(a.stats().loadedAt).toBe(b.stats().loadedAt);
    expect(await redis.exists(`${prefix}:lock`)).toBe(0);
  });

  test('concurrent refreshes on two replicas: one loads, the other takes its copy', async () => {
    server.setIncompletePolls(2);
    const outcomes = await Promise.all([replica().refresh({ force: false }), replica().refresh({ force: false })]);
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['shared', 'success']);
    expect(server.queryCount).toBe(1);
  });

  test('a starting replica takes a fresh copy from redis instead of querying', async () => {
    await replica().refresh();
    const late = replica();
    await expect(late.refresh({ force: false })).resolves.toMatchObject({ outcome: 'shared', regions: 2 });
    expect(server.queryCount).toBe(1);
    expect(late.zonesFor(['JKT'])).toEqual(['JKT-01', 'JKT-02']);
  });

  test('a copy older than the sharing age is served at once but reloaded from the source', async () => {
    const oldLoadedAt = Date.now() - 2 * dayMs;
    await redis.set(
      `${prefix}:data`,
      JSON.stringify({ loadedAt: oldLoadedAt, source: 'bigquery', zones: { MDN: ['MDN-01'] } }),
    );
    server.hang();
    const arrived = server.nextRequest('query');
    const zones = replica();
    const pending = zones.refresh({ force: false });
    await arrived;
    expect(zones.zonesFor(['MDN'])).toEqual(['MDN-01']); // stale copy beats an empty index
    server.recover(); // the held query is answered 503: that refresh fails, the stale copy stays
    await expect(pending).rejects.toMatchObject({ code: 'AUTHCTX_ERR_ZONES_UNAVAILABLE' });
    expect(zones.zonesFor(['MDN'])).toEqual(['MDN-01']);
    await zones.refresh({ force: false });
    expect(zones.zonesFor(['JKT'])).toEqual(['JKT-01', 'JKT-02']);
    const stored = JSON.parse((await redis.get(`${prefix}:data`)) ?? '{}') as { loadedAt: number };
    expect(stored.loadedAt).toBeGreaterThan(oldLoadedAt);
  });

  test('an explicit refresh queries the source even when a fresh shared copy exists', async () => {
    const zones = replica();
    await zones.refresh();
    await expect(zones.refresh()).resolves.toMatchObject({ outcome: 'success' });
    expect(server.queryCount).toBe(2);
  });

  test('a malformed shared copy is ignored, never served', async () => {
    await redis.set(`${prefix}:data`, JSON.stringify({ loadedAt: Date.now(), source: 'x', zones: { JKT: ['a\r\nb'] } }));
    const zones = replica();
    await expect(zones.refresh({ force: false })).resolves.toMatchObject({ outcome: 'success' });
    expect(zones.zonesFor(['JKT'])).toEqual(['JKT-01', 'JKT-02']);
  });

  test('redis unreachable: each replica loads on its own and nothing fails', async () => {
    const down = new Redis({
      host: '127.0.0.1',
      port: 1, // nothing listens here
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    down.on('error', () => undefined);
    clients.push(down);
    const zones = replica({ redis: down });
    await expect(zones.refresh({ force: false })).resolves.toMatchObject({ outcome: 'success' });
    expect(zones.zonesFor(['DPS'])).toEqual(['DPS-01']);
  });

  test('a waiting replica gives up (skipped) when the lock holder fails, and retries later', async () => {
    server.failWith(503);
    await redis.set(`${prefix}:lock`, 'another-replica', 'PX', 200);
    const zones = replica({ sharedWaitMs: 5_000 });
    await expect(zones.refresh({ force: false })).resolves.toMatchObject({ outcome: 'skipped', loadedAt: null });
    expect(server.queryCount).toBe(0);
    expect(zones.stats().nextRefreshAt).not.toBeNull();
  });
});
