import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadConfig } from '../../src/config/load.js';
import { createCachedRouteMatcher, parseCachedRoutes, type CachedRouteSpec } from '../../src/response-cache/cached-routes.js';
import { adminPartitionValues, keyedQuery, partitionValues, responseKey } from '../../src/response-cache/response-key.js';
import { storability } from '../../src/response-cache/stored-response.js';
import { testEnv } from '../support/app.js';

function parse(text: string): CachedRouteSpec[] {
  const result = parseCachedRoutes(text);
  if (!result.ok) throw new Error(result.problem);
  return result.value;
}

describe('cached route specs', () => {
  it('parses the documented form with defaults', () => {
    const [route] = parse('GET /api/leaderboard ttl=5m vary=region,scope');
    expect(route).toEqual({
      name: 'api-leaderboard', method: 'GET', path: '/api/leaderboard', prefix: false, ttlMs: 300_000,
      vary: ['region', 'scope'], query: [], swrMs: 0, maxSizeBytes: 1024 ** 2,
    });
    const [full] = parse('GET /api/reports/* ttl=1h vary=extra.tenant,email query=page,size swr=30s max-size=256kb name=reports');
    expect(full).toMatchObject({ name: 'reports', path: '/api/reports/', prefix: true, query: ['page', 'size'], swrMs: 30_000, maxSizeBytes: 262_144 });
  });

  it('refuses every malformed entry at once, with the entry named', () => {
    const result = parseCachedRoutes([
      'POST /api/x ttl=1m vary=region',
      'GET /api/a vary=region',
      'GET /api/b ttl=1m',
      'GET /api/c ttl=1m vary=regoin',
      'GET /api/../d ttl=1m vary=region',
      'GET /api/e ttl=1m vary=region colour=red',
      'GET /api/f ttl=1m vary=none,region',
    ].join(';'));
    expect(result.ok).toBe(false);
    const problem = result.ok ? '' : result.problem;
    for (const entry of ['POST /api/x', '/api/a', '/api/b', 'regoin', '/api/../d', 'colour=red', '/api/f']) expect(problem).toContain(entry);
  });

  it('refuses two routes with one name', () => {
    expect(parseCachedRoutes('GET /a/b ttl=1m vary=none; GET /a-b ttl=1m vary=none').ok).toBe(false);
  });

  it('stops startup on a bad AUTHCTX_CACHED_ROUTES', () => {
    expect(() => loadConfig({ env: testEnv({ AUTHCTX_CACHED_ROUTES: 'GET /x ttl=1m' }) })).toThrow(/AUTHCTX_CACHED_ROUTES/);
    const config = loadConfig({ env: testEnv({ AUTHCTX_CACHED_ROUTES: 'GET /x ttl=1m vary=none' }) });
    expect(config.cachedRoutes?.[0]?.name).toBe('x');
  });

  it('matches GET and HEAD only, exact paths and the longest prefix', () => {
    const matcher = createCachedRouteMatcher(parse('GET /a ttl=1m vary=none; GET /r/* ttl=1m vary=none; GET /r/deep/* ttl=1m vary=none name=deep'));
    expect(matcher.match('GET', '/a')?.name).toBe('a');
    expect(matcher.match('HEAD', '/a')?.name).toBe('a');
    expect(matcher.match('POST', '/a')).toBeUndefined();
    expect(matcher.match('GET', '/a/b')).toBeUndefined();
    expect(matcher.match('GET', '/r/x')?.name).toBe('r');
    expect(matcher.match('GET', '/r/deep/x')?.name).toBe('deep');
  });
});

describe('response keys', () => {
  const [route] = parse('GET /api/board ttl=1m vary=region,regions query=p');

  it('bypasses a context without a vary field rather than sharing an "absent" partition', () => {
    expect(partitionValues(route!, { region: 'JKT' })).toBeUndefined();
    expect(partitionValues(route!, { region: 'JKT', regions: ['JKT', 'BDG'] })).toEqual(['JKT', ['JKT', 'BDG']]);
  });

  it('never gives two different partitions or queries one key', () => {
    const values = fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }));
    fc.assert(
      fc.property(values, values, values, values, (a, b, c, d) => {
        fc.pre(JSON.stringify([a, b]) !== JSON.stringify([c, d]));
        const one = responseKey('p:', route!, [a, b], '/api/board', []);
        const two = responseKey('p:', route!, [c, d], '/api/board', []);
        expect(one).not.toBe(two);
      }),
    );
    // Delimiters inside values cannot shift the split between fields.
    expect(responseKey('p:', route!, ['a:b', ['c']], '/x', [])).not.toBe(responseKey('p:', route!, ['a', [':b', 'c']], '/x', []));
    expect(keyedQuery(route!, 'p=1&p=2')).toEqual([['1', '2']]);
    expect(keyedQuery(route!, 'p=1&q=2')).toBeUndefined();
  });

  it('computes the same partition from an admin purge as from a context', () => {
    const admin = adminPartitionValues(route!, { region: 'JKT', regions: 'JKT,BDG' });
    expect(admin).toEqual(partitionValues(route!, { region: 'JKT', regions: ['JKT', 'BDG'] }));
    expect(typeof adminPartitionValues(route!, { region: 'JKT' })).toBe('string');
  });
});

describe('storability', () => {
  it('stores 2xx only, and lets max-age shorten but never lengthen the TTL', () => {
    expect(storability(200, {}, 60_000)).toMatchObject({ store: true, ttlMs: 60_000 });
    expect(storability(200, { 'cache-control': 'public, max-age=10' }, 60_000)).toMatchObject({ store: true, ttlMs: 10_000 });
    expect(storability(200, { 'cache-control': 'max-age=3600' }, 60_000)).toMatchObject({ store: true, ttlMs: 60_000 });
    expect(storability(200, { 'cache-control': 'max-age=600, s-maxage=5' }, 60_000)).toMatchObject({ store: true, ttlMs: 5_000 });
    for (const [status, headers] of [
      [500, {}],
      [206, {}],
      [302, {}],
      [200, { 'set-cookie': 'a=b' }],
      [200, { 'cache-control': 'private' }],
      [200, { 'cache-control': 'no-store' }],
      [200, { 'cache-control': 'no-cache' }],
      [200, { 'cache-control': 'max-age=0' }],
      [200, { vary: '*' }],
    ] as const) {
      expect(storability(status, headers, 60_000).store, `${status} ${JSON.stringify(headers)}`).toBe(false);
    }
  });
});
