import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Redis } from 'ioredis';
import { startApp, type RunningApp } from '../support/app.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { createSeededDatabase, type TestDatabase } from '../support/postgres.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { signToken } from '../support/tokens.js';
import { generatedEmail, seedRegions } from '../../scripts/seed.js';

const adminToken = 'test-admin-token';
const cachedRoutes = [
  'GET /api/leaderboard ttl=5m vary=region query=period name=leaderboard',
  'GET /api/feed ttl=2s swr=1m vary=region name=feed',
  'GET /api/short ttl=5m vary=region',
  'GET /api/cookie ttl=5m vary=region',
  'GET /api/private ttl=5m vary=region',
  'GET /api/error ttl=5m vary=region',
  'GET /api/big ttl=5m vary=region max-size=1kb',
].join('; ');

let db: TestDatabase;
let origin: Origin;
let redis: TestRedisServer;
let replicaA: RunningApp;
let replicaB: RunningApp;
let clock = Date.now();
let version = 0;
/** While set, /api/feed answers only once it resolves (a slow refresh). */
let feedGate: Promise<void> | undefined;

/** Active generated employees whose region is `seedRegions[regionIndex]` (employee i is in region i % n). */
function usersInRegion(regionIndex: number, count: number): string[] {
  const emails: string[] = [];
  for (let i = regionIndex || seedRegions.length; emails.length < count; i += seedRegions.length) {
    if (i % 17 !== 0) emails.push(generatedEmail(i));
  }
  return emails;
}
const bdg = usersInRegion(1, 100);
const sby = usersInRegion(2, 3);

function originHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://origin');
  const region = String(req.headers['x-user-region'] ?? '');
  const userId = String(req.headers['x-user-id'] ?? '');
  version++;
  const body = JSON.stringify({ region, period: url.searchParams.get('period'), version });
  // A careless backend: it echoes the caller's identity in a response header.
  const send = (status: number, headers: Record<string, string> = {}, text = body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-user-id': userId, ...headers });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
  switch (url.pathname) {
    case '/api/leaderboard':
      return send(200, { 'cache-control': 'public, max-age=600' });
    case '/api/short':
      return send(200, { 'cache-control': 'max-age=1' });
    case '/api/cookie':
      return send(200, { 'set-cookie': 'session=abc; HttpOnly' });
    case '/api/private':
      return send(200, { 'cache-control': 'private, max-age=600' });
    case '/api/error':
      return send(503);
    case '/api/big': {
      // Chunked, no Content-Length: the limit is found while streaming.
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (let i = 0; i < 4; i++) res.write('x'.repeat(512));
      res.end();
      return;
    }
    case '/api/feed':
      if (feedGate) void feedGate.then(() => send(200));
      else send(200);
      return;
    default:
      send(404);
  }
}

beforeAll(async () => {
  db = await createSeededDatabase('response_cache', { employees: 900 });
  origin = await startOrigin();
  origin.handle(originHandler);
  redis = await startRedisServer();
  const env = {
    AUTHCTX_DATABASE_URL: db.url,
    AUTHCTX_UPSTREAM_URL: origin.url,
    AUTHCTX_ADMIN_TOKEN: adminToken,
    REDIS_URL: redis.url,
    AUTHCTX_REDIS_COMMAND_TIMEOUT: '500ms',
    AUTHCTX_CACHED_ROUTES: cachedRoutes,
  };
  replicaA = await startApp(env, { now: () => clock });
  replicaB = await startApp(env, { now: () => clock });
});

afterAll(async () => {
  await replicaA?.stop();
  await replicaB?.stop();
  await origin?.close();
  await redis?.stop();
  await db?.drop();
});

beforeEach(async () => {
  feedGate = undefined;
  expect((await admin(replicaA, '/api/admin/cache/clear')).status).toBe(200);
  expect((await admin(replicaB, '/api/admin/cache/clear?tier=memory')).status).toBe(200);
  origin.received.length = 0;
});

async function admin(app: RunningApp, path: string, body?: unknown): Promise<Response> {
  return fetch(`${app.adminUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}

async function get(email: string, path: string, app = replicaA, method = 'GET'): Promise<{ status: number; headers: Headers; body: string }> {
  const token = await signToken({ email, sub: `sub-${email}` });
  const res = await fetch(`${app.proxyUrl}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

function originCalls(path: string): number {
  return origin.received.filter((r) => new URL(r.url, 'http://o').pathname === path).length;
}

async function routeStats(app: RunningApp): Promise<Record<string, any>> {
  const stats = (await (await fetch(`${app.adminUrl}/api/admin/cache/stats`)).json()) as Record<string, any>;
  return stats.response_cache;
}

describe('cached routes', () => {
  it('answers 100 users of one region with one backend call', async () => {
    const responses = await Promise.all(bdg.map((email) => get(email, '/api/leaderboard?period=week')));
    expect(responses.map((r) => r.status)).toEqual(bdg.map(() => 200));
    expect(originCalls('/api/leaderboard')).toBe(1);
    expect(new Set(responses.map((r) => r.body)).size).toBe(1);
    expect(JSON.parse(responses[0]!.body)).toMatchObject({ region: 'BDG', period: 'week' });
    const verdicts = responses.map((r) => r.headers.get('x-cache'));
    expect(verdicts.filter((v) => v === 'MISS')).toHaveLength(1);
    expect(verdicts.filter((v) => v === 'HIT')).toHaveLength(99);
  });

  it('gives a user of another region their own backend call and body', async () => {
    const first = await get(bdg[0]!, '/api/leaderboard?period=week');
    const other = await get(sby[0]!, '/api/leaderboard?period=week');
    expect(originCalls('/api/leaderboard')).toBe(2);
    expect(other.headers.get('x-cache')).toBe('MISS');
    expect(JSON.parse(other.body)).toMatchObject({ region: 'SBY' });
    expect(other.body).not.toBe(first.body);
    // Each partition is then served from its own entry.
    expect(JSON.parse((await get(sby[1]!, '/api/leaderboard?period=week')).body)).toMatchObject({ region: 'SBY' });
    expect(JSON.parse((await get(bdg[1]!, '/api/leaderboard?period=week')).body)).toMatchObject({ region: 'BDG' });
    expect(originCalls('/api/leaderboard')).toBe(2);
  });

  it('never replays the identity of the user whose request filled the entry', async () => {
    const filler = await get(bdg[0]!, '/api/leaderboard?period=day');
    // The filler's own response is the backend's, echo included.
    expect(filler.headers.get('x-user-id')).toBe(`sub-${bdg[0]}`);
    const other = await get(bdg[1]!, '/api/leaderboard?period=day');
    expect(other.headers.get('x-cache')).toBe('HIT');
    expect([...other.headers.keys()].filter((name) => name.startsWith('x-user-'))).toEqual([]);
    // Nor does the shared tier hold it.
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('authctx:v1:resp:*');
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        const stored = (await client.get(key)) ?? '';
        expect(stored).not.toContain(bdg[0]!);
        expect(stored).not.toContain(`sub-${bdg[0]}`);
      }
    } finally {
      client.disconnect();
    }
  });

  it('keys named query parameters and bypasses requests with other ones', async () => {
    await get(bdg[0]!, '/api/leaderboard?period=week');
    const month = await get(bdg[0]!, '/api/leaderboard?period=month');
    expect(JSON.parse(month.body)).toMatchObject({ period: 'month' });
    expect(originCalls('/api/leaderboard')).toBe(2);
    const odd = await get(bdg[0]!, '/api/leaderboard?period=week&debug=1');
    const odd2 = await get(bdg[0]!, '/api/leaderboard?period=week&debug=1');
    expect([odd.headers.get('x-cache'), odd2.headers.get('x-cache')]).toEqual(['MISS', 'MISS']);
    expect(originCalls('/api/leaderboard')).toBe(4);
  });

  it.each([
    ['/api/cookie', 'Set-Cookie'],
    ['/api/private', 'Cache-Control: private'],
    ['/api/error', '5xx'],
  ])('never stores %s (%s)', async (path) => {
    const first = await get(bdg[0]!, path);
    const second = await get(bdg[1]!, path);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(second.headers.get('x-cache')).toBe('MISS');
    expect(originCalls(path)).toBe(2);
  });

  it('passes an oversized body through whole and does not store it', async () => {
    const first = await get(bdg[0]!, '/api/big');
    expect(first.body).toHaveLength(2048);
    const second = await get(bdg[0]!, '/api/big');
    expect(second.body).toHaveLength(2048);
    expect(second.headers.get('x-cache')).toBe('MISS');
    expect(originCalls('/api/big')).toBe(2);
  });

  it('lets the backend max-age shorten the TTL', async () => {
    await get(bdg[0]!, '/api/short');
    expect((await get(bdg[0]!, '/api/short')).headers.get('x-cache')).toBe('HIT');
    clock += 1_500;
    expect((await get(bdg[0]!, '/api/short')).headers.get('x-cache')).toBe('MISS');
    expect(originCalls('/api/short')).toBe(2);
  });

  it('serves stale while exactly one refresh runs, then the refreshed body', async () => {
    const first = await get(bdg[0]!, '/api/feed');
    expect(first.headers.get('x-cache')).toBe('MISS');
    clock += 3_000;
    let release!: () => void;
    feedGate = new Promise((resolve) => (release = resolve));
    const stale = await Promise.all(bdg.slice(0, 20).map((email) => get(email, '/api/feed')));
    expect(stale.map((r) => r.headers.get('x-cache'))).toEqual(stale.map(() => 'STALE'));
    expect(stale.map((r) => r.body)).toEqual(stale.map(() => first.body));
    expect(Number(stale[0]!.headers.get('age'))).toBeGreaterThanOrEqual(3);
    await vi.waitFor(() => expect(originCalls('/api/feed')).toBe(2));
    release();
    await vi.waitFor(async () => {
      const next = await get(bdg[1]!, '/api/feed');
      expect(next.headers.get('x-cache')).toBe('HIT');
      expect(next.body).not.toBe(first.body);
    });
    expect(originCalls('/api/feed')).toBe(2);
  });

  it('answers HEAD from the GET entry, and forwards a HEAD miss without storing it', async () => {
    const cold = await get(bdg[0]!, '/api/leaderboard?period=year', replicaA, 'HEAD');
    expect(cold.headers.get('x-cache')).toBe('MISS');
    expect(origin.received.map((r) => r.method)).toEqual(['HEAD']);
    const full = await get(bdg[0]!, '/api/leaderboard?period=year');
    expect(full.headers.get('x-cache')).toBe('MISS');
    const head = await get(bdg[1]!, '/api/leaderboard?period=year', replicaA, 'HEAD');
    expect(head.headers.get('x-cache')).toBe('HIT');
    expect(head.body).toBe('');
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(full.body)));
    expect(origin.received.map((r) => r.method)).toEqual(['HEAD', 'GET']);
  });

  it('purged on one replica, is gone on the other', async () => {
    await vi.waitFor(async () => expect((await routeStats(replicaB)).fleet_purge).toBe('subscribed'));
    await get(bdg[0]!, '/api/leaderboard?period=week', replicaA);
    await get(sby[0]!, '/api/leaderboard?period=week', replicaA);
    // Replica B reads the shared tier into its memory.
    expect((await get(bdg[1]!, '/api/leaderboard?period=week', replicaB)).headers.get('x-cache')).toBe('HIT');
    expect((await get(sby[1]!, '/api/leaderboard?period=week', replicaB)).headers.get('x-cache')).toBe('HIT');
    expect((await routeStats(replicaB)).routes.leaderboard.entries).toBe(2);
    expect(originCalls('/api/leaderboard')).toBe(2);

    const res = await admin(replicaA, '/api/admin/cache/purge', { route: 'leaderboard', partition: { region: 'BDG' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ route: 'leaderboard', purged: 1, replicas_notified: true });
    await vi.waitFor(async () => expect((await routeStats(replicaB)).routes.leaderboard.entries).toBe(1));

    expect((await get(bdg[1]!, '/api/leaderboard?period=week', replicaB)).headers.get('x-cache')).toBe('MISS');
    expect((await get(sby[1]!, '/api/leaderboard?period=week', replicaB)).headers.get('x-cache')).toBe('HIT');
    expect(originCalls('/api/leaderboard')).toBe(3);

    expect((await admin(replicaA, '/api/admin/cache/purge', { route: 'leaderboard' })).status).toBe(200);
    await vi.waitFor(async () => expect((await routeStats(replicaB)).routes.leaderboard.entries).toBe(0));
    expect((await get(sby[1]!, '/api/leaderboard?period=week', replicaB)).headers.get('x-cache')).toBe('MISS');
  });

  it('refuses a purge of an unknown route or with the wrong partition fields', async () => {
    expect((await admin(replicaA, '/api/admin/cache/purge', { route: 'nope' })).status).toBe(404);
    const wrong = await admin(replicaA, '/api/admin/cache/purge', { route: 'leaderboard', partition: { scope: 'region' } });
    expect(wrong.status).toBe(400);
  });

  it('reports entries, bytes, hit ratio and oldest age per route, and clears', async () => {
    await get(bdg[0]!, '/api/leaderboard?period=week');
    clock += 2_000;
    await get(bdg[1]!, '/api/leaderboard?period=week');
    await get(bdg[2]!, '/api/leaderboard?period=week');
    const leaderboard = (await routeStats(replicaA)).routes.leaderboard;
    expect(leaderboard.entries).toBe(1);
    expect(leaderboard.bytes).toBeGreaterThan(0);
    expect(leaderboard.hit_ratio).toBeGreaterThan(0);
    expect(leaderboard.oldest_entry_age_seconds).toBe(2);
    const metrics = await (await fetch(`${replicaA.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/authctx_response_cache_requests_total\{route="leaderboard",result="hit"\} [1-9]/);
    expect(metrics).toMatch(/authctx_response_cache_entries\{route="leaderboard"\} 1/);
    expect(metrics).toMatch(/authctx_proxy_requests_total\{route="cached",status_class="2xx"\} [1-9]/);

    const cleared = await admin(replicaA, '/api/admin/cache/clear');
    expect(((await cleared.json()) as { cleared: { responses: number } }).cleared.responses).toBeGreaterThanOrEqual(1);
    expect((await routeStats(replicaA)).routes.leaderboard.entries).toBe(0);
    expect((await get(bdg[0]!, '/api/leaderboard?period=week')).headers.get('x-cache')).toBe('MISS');
  });
});
