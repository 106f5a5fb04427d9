import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { createMemoryStore } from '../../src/cache/memory-store.js';
import { createPostgresSource } from '../../src/context/postgres-source.js';
import { createContextResolver, type CachedContext, type ZoneLookup } from '../../src/context/resolver.js';
import { AuthctxError } from '../../src/errors.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { identityHeaderPairs } from '../../src/proxy/identity-headers.js';
import { createTokenIdentityResolver, type IdentityResolver } from '../../src/proxy/identity.js';
import { createZoneMapBuilder } from '../../src/zones/zone-rows.js';
import { startApp, type RunningApp } from '../support/app.js';
import { headerValues, startOrigin, type Origin, type RecordedRequest } from '../support/origin.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { signToken, testIssuer, testSecret } from '../support/tokens.js';

/**
 * Issue 6 item 4: values that come from data (Postgres rows, zone tables, token claims)
 * never produce a broken or extra header. The rule (src/proxy/identity-headers.ts):
 * printable ASCII is sent as is, other text is percent-encoded UTF-8, and a value with a
 * control character (CR, LF, NUL, any C0, DEL) or a lone surrogate is refused: the
 * request gets 503 AUTHCTX_ERR_CONTEXT_MALFORMED and the backend is not called.
 */
let origin: Origin;

beforeAll(async () => {
  origin = await startOrigin();
});

afterAll(async () => {
  await origin.close();
});

/** Every header name the origin saw, lower-cased, in order. */
const names = (seen: RecordedRequest) => seen.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());

async function call(app: RunningApp, email: string, path = '/api/things'): Promise<{ status: number; body: string; seen: RecordedRequest | undefined }> {
  const before = origin.received.length;
  const res = await fetch(`${app.proxyUrl}${path}`, { headers: { authorization: `Bearer ${await signToken({ email, sub: 'user-1' })}` } });
  return { status: res.status, body: await res.text(), seen: origin.received.length > before ? origin.received.at(-1) : undefined };
}

describe('through the header-encoding functions', () => {
  const hostile: Record<string, Record<string, string>> = {
    'crlf@example.com': { 'x-user-role': 'admin\r\nX-User-Role: superadmin' },
    'lf@example.com': { 'x-user-region': 'JKT\nX-Evil: 1' },
    'cr@example.com': { 'x-user-scope': 'all\r' },
    'nul@example.com': { 'x-user-zones': 'JKT-01\u0000' },
    'del@example.com': { 'x-user-role': 'a\u007fb' },
  };
  const resolver: IdentityResolver = {
    resolve(token) {
      const values = hostile[token.email!] ?? { 'x-user-role': 'área manager', 'x-user-region': 'Zürich', 'x-user-zones': '東京-01,JKT-02' };
      const headerPairs = identityHeaderPairs({ 'x-user-id': token.sub, 'x-user-email': token.email, ...values });
      if (!headerPairs) throw new AuthctxError('AUTHCTX_ERR_CONTEXT_MALFORMED');
      return { headerPairs, context: { email: token.email }, stale: false };
    },
  };
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp({ AUTHCTX_UPSTREAM_URL: origin.url }, { resolver });
  });
  afterAll(async () => {
    await app.stop();
  });

  it.each(Object.keys(hostile))('refuses a control character from data (%s) with 503, backend not called', async (email) => {
    const { status, body, seen } = await call(app, email);
    expect(status).toBe(503);
    expect(JSON.parse(body).code).toBe('AUTHCTX_ERR_CONTEXT_MALFORMED');
    expect(seen).toBeUndefined();
  });

  it('percent-encodes non-ASCII values and adds no header', async () => {
    const { status, seen } = await call(app, 'ünï@example.com');
    expect(status).toBe(200);
    expect(headerValues(seen!, 'x-user-role')).toEqual(['%C3%A1rea%20manager']);
    expect(headerValues(seen!, 'x-user-region')).toEqual(['Z%C3%BCrich']);
    expect(headerValues(seen!, 'x-user-zones')).toEqual(['%E6%9D%B1%E4%BA%AC-01%2CJKT-02']);
    expect(headerValues(seen!, 'x-user-email')).toEqual(['%C3%BCn%C3%AF%40example.com']);
    expect(names(seen!).filter((n) => n.startsWith('x-user-'))).toEqual(['x-user-id', 'x-user-email', 'x-user-role', 'x-user-region', 'x-user-zones']);
  });
});

describe('through the real context resolver and a Postgres source', () => {
  let db: TestDatabase;
  let app: RunningApp;
  const base = { user_id: 'u-1', role: 'area_manager', region: 'JKT', regions: ['JKT'], scope: 'region', slots: [] as string[] };
  const rows: Record<string, Record<string, unknown>> = {
    'crlf@example.com': { role: 'admin\r\nX-User-Role: superadmin' },
    'lf@example.com': { region: 'JKT\nX-Evil: 1', regions: ['JKT\nX-Evil: 1'] },
    'tab@example.com': { scope: 'all\tregions' },
    'del@example.com': { role: 'a\u007fb' },
    'zone-crlf@example.com': { region: 'ZCR', regions: ['ZCR'] },
    'utf8@example.com': { role: 'área manager', region: 'Zürich', regions: ['Zürich'], scope: 'région', slots: ['スロット'] },
    'ünï@example.com': {},
  };
  const zones: ZoneLookup = {
    zonesFor(regions) {
      if (regions.includes('ZCR')) return ['ZCR-01\r\nX-Evil: 1'];
      return regions.includes('Zürich') ? ['ZH-01', 'Zürich-Süd'] : ['JKT-01'];
    },
  };

  beforeAll(async () => {
    db = await createTestDatabase('security_values');
    await db.query('create table people (email text primary key, ctx jsonb not null)');
    await db.query("create function public.get_user_context(p_email text) returns jsonb language sql stable as $$ select ctx from people where email = p_email $$");
    for (const [email, row] of Object.entries(rows)) await db.query('insert into people values ($1, $2::jsonb)', [email, JSON.stringify({ ...base, email, ...row })]);
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const logger = pino({ level: 'silent' });
    const l1 = createMemoryStore<CachedContext>({ maxEntries: 100 });
    const resolver = createContextResolver({
      source: createPostgresSource({ connectionString: db.url, registry, logger, maxConnections: 2 }),
      store: l1,
      l1,
      zones,
      ttlMs: 60_000,
      negativeTtlMs: 1_000,
      staleIfErrorMs: 0,
      ttlJitter: 0,
      registry,
      logger,
      now: Date.now,
    });
    app = await startApp({ AUTHCTX_UPSTREAM_URL: origin.url, AUTHCTX_DATABASE_URL: db.url }, { resolver });
  });

  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it.each(['crlf@example.com', 'lf@example.com', 'tab@example.com', 'del@example.com', 'zone-crlf@example.com'])(
    'refuses a row or zone holding a control character (%s): 503 malformed, backend not called',
    async (email) => {
      for (const path of ['/api/things', '/api/auth/context']) {
        const { status, body, seen } = await call(app, email, path);
        expect(status, path).toBe(503);
        expect(JSON.parse(body).code).toBe('AUTHCTX_ERR_CONTEXT_MALFORMED');
        expect(seen).toBeUndefined();
      }
    },
  );

  it('percent-encodes non-ASCII row values and zones; the context route keeps them as JSON text', async () => {
    const { status, seen } = await call(app, 'utf8@example.com');
    expect(status).toBe(200);
    expect(headerValues(seen!, 'x-user-role')).toEqual(['%C3%A1rea%20manager']);
    expect(headerValues(seen!, 'x-user-region')).toEqual(['Z%C3%BCrich']);
    expect(headerValues(seen!, 'x-user-scope')).toEqual(['r%C3%A9gion']);
    expect(headerValues(seen!, 'x-user-zones')).toEqual(['ZH-01%2CZ%C3%BCrich-S%C3%BCd']);
    expect(names(seen!).filter((n) => n.startsWith('x-user-'))).toEqual(['x-user-id', 'x-user-email', 'x-user-role', 'x-user-region', 'x-user-scope', 'x-user-zones']);
    const context = await call(app, 'utf8@example.com', '/api/auth/context');
    expect(JSON.parse(context.body)).toMatchObject({ role: 'área manager', region: 'Zürich', slots: ['スロット'] });
  });

  it('percent-encodes a non-ASCII email', async () => {
    const { status, seen } = await call(app, 'ünï@example.com');
    expect(status).toBe(200);
    expect(headerValues(seen!, 'x-user-email')).toEqual(['%C3%BCn%C3%AF%40example.com']);
  });
});

describe('values from zone tables', () => {
  it('skips zone rows whose codes hold control or non-ASCII characters', () => {
    const builder = createZoneMapBuilder();
    builder.add('JKT', 'JKT-01');
    for (const [region, zone] of [['JKT', 'JKT-02\r\nX-Evil: 1'], ['JKT', 'JKT\u0000'], ['B\nDG', 'BDG-01'], ['JKT', 'Zürich'], ['JKT', 'A,B']]) builder.add(region, zone);
    const built = builder.build();
    expect(built.rejected).toBe(5);
    expect([...built.zones]).toEqual([["JKT", ["JKT-01"]]]);
  });
});

describe('values from token claims', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp({ AUTHCTX_UPSTREAM_URL: origin.url }, { resolver: createTokenIdentityResolver() });
  });
  afterAll(async () => {
    await app.stop();
  });

  it('refuses a signed token whose sub or email holds CR/LF, NUL or a lone surrogate, without calling the backend', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const claims of [{ sub: 'u\r\nX-Evil: 1' }, { sub: 'u\u0000' }, { email: 'a@b.c\nX-Evil: 1' }, { sub: 'u\ud800' }]) {
      const token = await new SignJWT({ sub: 'u', email: 'a@b.c', role: 'authenticated', ...claims })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(testIssuer)
        .setAudience('authenticated')
        .setExpirationTime(now + 600)
        .sign(new TextEncoder().encode(testSecret));
      const before = origin.received.length;
      const res = await fetch(`${app.proxyUrl}/api/things`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, JSON.stringify(claims)).toBe(401);
      expect(origin.received.length).toBe(before);
    }
  });
});
