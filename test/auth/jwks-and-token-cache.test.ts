import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTokenIdentityResolver } from '../../src/proxy/identity.js';
import { startApp, type RunningApp } from '../support/app.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { makeKeyPairs, signToken, startJwksServer, type JwksServer, type KeyPairSet } from '../support/tokens.js';

/** Time is a hand-moved clock: the JWKS cooldown, max age and token expiry all read it. */
function clock(): { now: () => number; advance(ms: number): void } {
  let t = Date.now();
  return { now: () => t, advance: (ms) => void (t += ms) };
}

let keys: KeyPairSet;
let origin: Origin;
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  keys = await makeKeyPairs();
  origin = await startOrigin();
  cleanups.push(() => origin.close());
  return async () => {
    for (const c of cleanups.reverse()) await c();
  };
});

const running: RunningApp[] = [];
afterEach(async () => {
  while (running.length) await running.pop()!.stop();
});

async function start(jwks: JwksServer, now: () => number, env: Record<string, string> = {}): Promise<RunningApp> {
  const app = await startApp({ AUTHCTX_UPSTREAM_URL: origin.url, AUTHCTX_JWKS_URL: jwks.url, AUTHCTX_JWKS_COOLDOWN: '30s', AUTHCTX_JWKS_MAX_AGE: '10m', ...env }, { now, resolver: createTokenIdentityResolver() });
  running.push(app);
  return app;
}

async function get(app: RunningApp, token: string): Promise<number> {
  return (await fetch(`${app.proxyUrl}/api/x`, { headers: { authorization: `Bearer ${token}` } })).status;
}

async function counter(app: RunningApp, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${app.adminUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('JWKS', () => {
  it('verifies HS256 and JWKS tokens side by side', async () => {
    const jwks = await startJwksServer([keys.es256.publicJwk, keys.rs256.publicJwk]);
    cleanups.push(() => jwks.close());
    const app = await start(jwks, clock().now);
    expect(await get(app, await signToken({ alg: 'HS256' }))).toBe(200);
    expect(await get(app, await signToken({ alg: 'ES256', kid: 'es-1', keys }))).toBe(200);
    expect(await get(app, await signToken({ alg: 'RS256', kid: 'rs-1', keys }))).toBe(200);
  });

  it('answers an unknown kid with 401 and refetches the JWKS at most once per cooldown', async () => {
    const jwks = await startJwksServer([keys.es256.publicJwk]);
    cleanups.push(() => jwks.close());
    const time = clock();
    const app = await start(jwks, time.now);
    expect(await get(app, await signToken({ alg: 'ES256', kid: 'es-1', keys }))).toBe(200); // waits for the warm-up fetch
    expect(jwks.fetches).toBe(1);
    const unknown = await signToken({ alg: 'RS256', kid: 'rs-1', keys });
    for (let i = 0; i < 5; i++) expect(await get(app, unknown)).toBe(401);
    expect(jwks.fetches).toBe(1); // inside the cooldown since the warm-up
    time.advance(31_000);
    for (let i = 0; i < 5; i++) expect(await get(app, unknown)).toBe(401);
    expect(jwks.fetches).toBe(2);
    // A rotation: the new key is published, the next cooldown lets the token in.
    jwks.setKeys([keys.es256.publicJwk, keys.rs256.publicJwk]);
    expect(await get(app, unknown)).toBe(401);
    time.advance(31_000);
    expect(await get(app, unknown)).toBe(200);
    expect(jwks.fetches).toBe(3);
  });

  it('keeps the last good keys when the JWKS server goes down', async () => {
    const jwks = await startJwksServer([keys.es256.publicJwk]);
    cleanups.push(() => jwks.close());
    const time = clock();
    const app = await start(jwks, time.now);
    expect(await get(app, await signToken({ alg: 'ES256', kid: 'es-1', keys, sub: 'a' }))).toBe(200);
    jwks.up = false;
    time.advance(11 * 60_000); // past max age: a background refetch fails
    expect(await get(app, await signToken({ alg: 'ES256', kid: 'es-1', keys, sub: 'b', expiresInSec: 7200 }))).toBe(200);
    await expect.poll(() => jwks.fetches).toBe(2);
    expect(await counter(app, 'authctx_jwks_fetches_total', 'outcome="error"')).toBe(1);
    // After the failed refetch, new (uncached) tokens still verify with the kept keys.
    expect(await get(app, await signToken({ alg: 'ES256', kid: 'es-1', keys, sub: 'c', expiresInSec: 7200 }))).toBe(200);
    time.advance(31_000);
    expect(await get(app, await signToken({ alg: 'ES256', kid: 'unknown', keys, sub: 'd', expiresInSec: 7200 }))).toBe(401);
    expect(await get(app, await signToken({ alg: 'ES256', kid: 'es-1', keys, sub: 'e', expiresInSec: 7200 }))).toBe(200);
  });
});

describe('verified-token cache', () => {
  it('does not verify the same token twice', async () => {
    const jwks = await startJwksServer([keys.es256.publicJwk]);
    cleanups.push(() => jwks.close());
    const app = await start(jwks, clock().now);
    const token = await signToken({ alg: 'ES256', kid: 'es-1', keys, sub: 'cached-user' });
    expect(await get(app, token)).toBe(200);
    const valid = await counter(app, 'authctx_jwt_verifications_total', 'result="valid"');
    const cached = await counter(app, 'authctx_jwt_verifications_total', 'result="cached"');
    expect(await get(app, token)).toBe(200);
    expect(await get(app, token)).toBe(200);
    expect(await counter(app, 'authctx_jwt_verifications_total', 'result="valid"')).toBe(valid);
    expect(await counter(app, 'authctx_jwt_verifications_total', 'result="cached"')).toBe(cached + 2);
  });

  it('stops accepting a cached token once it has expired', async () => {
    const jwks = await startJwksServer([keys.es256.publicJwk]);
    cleanups.push(() => jwks.close());
    const time = clock();
    const app = await start(jwks, time.now, { AUTHCTX_JWT_CLOCK_TOLERANCE: '0s' });
    const token = await signToken({ expiresInSec: 60 });
    expect(await get(app, token)).toBe(200);
    expect(await get(app, token)).toBe(200);
    expect(await counter(app, 'authctx_jwt_verifications_total', 'result="cached"')).toBe(1);
    time.advance(61_000);
    expect(await get(app, token)).toBe(401);
    expect(await counter(app, 'authctx_jwt_verifications_total', 'result="expired"')).toBe(1);
  });
});
