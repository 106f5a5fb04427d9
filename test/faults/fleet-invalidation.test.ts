import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namedUsers } from '../../scripts/seed.js';
import { startApp, type RunningApp } from '../support/app.js';
import { headerValues, startOrigin, type Origin } from '../support/origin.js';
import { createSeededDatabase, type TestDatabase } from '../support/postgres.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { activeResources, expectNoLeakedResources, metricValue, timedGet, waitUntil, onceAsync } from './support/fault-helpers.js';

const adminToken = 'test-admin-token';
/** The bound: every replica drops its copy within a second. */
const propagationMs = 1_000;

let db: TestDatabase;
let origin: Origin;
let redis: TestRedisServer;
let replicas: RunningApp[] = [];
let before: ReturnType<typeof activeResources>;

beforeAll(async () => {
  db = await createSeededDatabase('fleet_invalidation', { employees: 10 });
  before = activeResources();
  origin = await startOrigin();
  redis = await startRedisServer();
  const env = {
    AUTHCTX_DATABASE_URL: db.url,
    AUTHCTX_UPSTREAM_URL: origin.url,
    REDIS_URL: redis.url,
    AUTHCTX_ADMIN_TOKEN: adminToken,
  };
  replicas = await Promise.all([startApp(env), startApp(env)]);
  for (const replica of replicas) {
    await waitUntil('both invalidation channels subscribed', async () =>
      (await metricValue(replica.adminUrl, 'authctx_invalidation_subscribed', { channel: 'redis' })) === 1 &&
      (await metricValue(replica.adminUrl, 'authctx_invalidation_subscribed', { channel: 'postgres' })) === 1,
    );
  }
});

const closeSupport = onceAsync(async () => {
  await origin?.close();
  await redis?.stop();
});

afterAll(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()));
  await closeSupport();
  await db?.drop();
});

/** The X-User-Role the backend receives for `email` through `replica`. */
async function roleVia(replica: RunningApp, email: string): Promise<string | undefined> {
  const result = await timedGet(replica.proxyUrl, email);
  expect(result.status).toBe(200);
  return headerValues(origin.received.at(-1)!, 'x-user-role')[0];
}

async function setRole(email: string, role: string, options: { triggers: boolean }): Promise<void> {
  if (options.triggers) {
    await db.query('update public.employees set role = $1 where email_normalized = $2', [role, email]);
    return;
  }
  // session_replication_role = replica skips ordinary triggers: a change nobody is told about.
  // (Several statements in one simple query share the connection; the values are test constants.)
  const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;
  await db.query(`set session_replication_role = replica; update public.employees set role = ${literal(role)} where email_normalized = ${literal(email)}`);
}

async function expectEveryReplicaSees(email: string, role: string): Promise<void> {
  for (const [i, replica] of replicas.entries()) {
    const ms = await waitUntil(`replica ${i} serves role ${role}`, async () => (await roleVia(replica, email)) === role, propagationMs, 10);
    expect(ms).toBeLessThan(propagationMs);
  }
}

describe('fleet-wide invalidation', () => {
  it('an admin invalidate on one replica reaches the other within a second (Redis pub/sub)', async () => {
    const email = namedUsers.rina;
    const [a, b] = replicas as [RunningApp, RunningApp];
    expect(await roleVia(a, email)).toBe('area_manager');
    expect(await roleVia(b, email)).toBe('area_manager');
    await setRole(email, 'regional_manager', { triggers: false });
    // Nobody was told: both keep serving what they cached.
    expect(await roleVia(b, email)).toBe('area_manager');

    const res = await fetch(`${a.adminUrl}/api/admin/cache/invalidate/${encodeURIComponent(email)}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(200);
    await expectEveryReplicaSees(email, 'regional_manager');
    expect(await metricValue(b.adminUrl, 'authctx_invalidations_total', { origin: 'pubsub' })).toBeGreaterThanOrEqual(1);
    expect(await metricValue(a.adminUrl, 'authctx_invalidations_total', { origin: 'admin' })).toBe(1);
  });

  it('a role change in Postgres changes the next requests on every replica, with no admin call', async () => {
    const email = namedUsers.sari;
    for (const replica of replicas) await roleVia(replica, email);
    await setRole(email, 'auditor', { triggers: true });
    await expectEveryReplicaSees(email, 'auditor');
    for (const replica of replicas) {
      expect(await metricValue(replica.adminUrl, 'authctx_invalidations_total', { origin: 'postgres' })).toBeGreaterThanOrEqual(1);
    }
  });

  it('LISTEN resumes after the listening connections are terminated', async () => {
    const email = namedUsers.dewi;
    for (const replica of replicas) await roleVia(replica, email);
    const listeners = async () =>
      (await db.query<{ pid: number }>("select pid from pg_stat_activity where application_name = 'authctx-listener' and datname = current_database()")).rows.map((r) => r.pid);
    const old = await listeners();
    expect(old).toHaveLength(2);
    await db.query('select pg_terminate_backend(pid) from pg_stat_activity where pid = any($1)', [old]);
    await waitUntil('both replicas listen again on new connections', async () => {
      const now = await listeners();
      return now.length === 2 && now.every((pid) => !old.includes(pid));
    });
    for (const replica of replicas) {
      await waitUntil('postgres channel reported subscribed', async () => (await metricValue(replica.adminUrl, 'authctx_invalidation_subscribed', { channel: 'postgres' })) === 1);
    }
    await setRole(email, 'manager', { triggers: true });
    await expectEveryReplicaSees(email, 'manager');
  });

  it('a replica whose subscription is killed resubscribes and still receives invalidations', async () => {
    const email = namedUsers.joko;
    const [a, b] = replicas as [RunningApp, RunningApp];
    for (const replica of replicas) await roleVia(replica, email);
    const client = new Redis(redis.url);
    try {
      // Drops the subscriber connections of both replicas (Redis itself stays up).
      expect(Number(await client.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).toBeGreaterThanOrEqual(2);
      await waitUntil('resubscribed', async () => Number((await client.pubsub('NUMSUB', 'authctx:v1:invalidate'))[1]) === 2);
    } finally {
      client.disconnect();
    }
    for (const replica of replicas) {
      await waitUntil('redis channel reported subscribed', async () => (await metricValue(replica.adminUrl, 'authctx_invalidation_subscribed', { channel: 'redis' })) === 1);
    }
    await setRole(email, 'area_manager', { triggers: false });
    const res = await fetch(`${b.adminUrl}/api/admin/cache/invalidate/${encodeURIComponent(email)}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(200);
    expect(await roleVia(a, email)).toBe('area_manager');
    await expectEveryReplicaSees(email, 'area_manager');
  });

  it('an admin clear on one replica empties the memory of the other too', async () => {
    const email = namedUsers.admin;
    const [a, b] = replicas as [RunningApp, RunningApp];
    const role = await roleVia(b, email);
    await setRole(email, 'auditor', { triggers: false });
    expect(await roleVia(b, email)).toBe(role);
    const res = await fetch(`${a.adminUrl}/api/admin/cache/clear`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(200);
    await expectEveryReplicaSees(email, 'auditor');
  });

  it('closes both replicas cleanly: no sockets or timers left behind', async () => {
    const stopped = await Promise.all(replicas.map((replica) => replica.stop()));
    expect(stopped).toEqual([true, true]);
    await closeSupport();
    await expectNoLeakedResources(before);
  });
});
