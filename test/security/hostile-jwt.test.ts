import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicKey, type JsonWebKeyInput } from 'node:crypto';
import { SignJWT, generateKeyPair, exportJWK, type JWTPayload } from 'jose';
import { createTokenIdentityResolver } from '../../src/proxy/identity.js';
import { startApp, type RunningApp } from '../support/app.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { rawRequest } from '../support/raw-http.js';
import { b64url, makeKeyPairs, signToken, startJwksServer, testIssuer, testSecret, type JwksServer, type KeyPairSet } from '../support/tokens.js';

/**
 * Issue 6 item 1: hostile tokens are refused with 401 (or 400/431 for a malformed
 * request), fast, without reaching the origin and without any outbound fetch: not to a
 * `jku`/`x5u` URL named in the token, and not to the JWKS beyond its warm-up.
 */
let origin: Origin;
let keys: KeyPairSet;
let jwks: JwksServer;
/** Stands at the URL a hostile token names in `jku`/`x5u`; must never be contacted. */
let trap: JwksServer;
let proxy: RunningApp;
let jwksOnly: RunningApp;
const frozenNow = Date.now();
const nowSec = Math.floor(frozenNow / 1000);

beforeAll(async () => {
  keys = await makeKeyPairs();
  origin = await startOrigin();
  jwks = await startJwksServer([keys.es256.publicJwk, keys.rs256.publicJwk]);
  trap = await startJwksServer([]);
  // A frozen clock keeps the JWKS cooldown closed for the whole file: any fetch after the
  // warm-up would be a fetch a token caused.
  const env = { AUTHCTX_UPSTREAM_URL: origin.url, AUTHCTX_JWKS_URL: jwks.url };
  proxy = await startApp(env, { now: () => frozenNow, resolver: createTokenIdentityResolver() });
  jwksOnly = await startApp({ ...env, AUTHCTX_JWT_SECRET: undefined }, { now: () => frozenNow, resolver: createTokenIdentityResolver() });
  // Both apps warm the JWKS at start; a valid request waits for that fetch to finish.
  for (const app of [proxy, jwksOnly]) {
    const res = await get(app, await signToken({ alg: 'ES256', kid: 'es-1', keys }));
    expect(res.status).toBe(200);
  }
  expect(jwks.fetches).toBe(2);
});

afterAll(async () => {
  await proxy.stop();
  await jwksOnly.stop();
  await Promise.all([origin.close(), jwks.close(), trap.close()]);
});

function get(app: RunningApp, token: string): Promise<Response> {
  return fetch(`${app.proxyUrl}/api/things`, { headers: { authorization: `Bearer ${token}` } });
}

/** A Supabase-shaped payload with exactly the given changes (`undefined` removes a claim). */
function claims(changes: Record<string, unknown> = {}): JWTPayload {
  const base: Record<string, unknown> = {
    sub: 'user-1',
    email: 'rina@example.com',
    role: 'authenticated',
    iss: testIssuer,
    aud: 'authenticated',
    iat: nowSec,
    exp: nowSec + 3600,
    ...changes,
  };
  for (const key of Object.keys(base)) if (base[key] === undefined) delete base[key];
  return base as JWTPayload;
}

function signHs(payload: JWTPayload, header: Record<string, unknown> = {}, secret: string | Uint8Array = testSecret): Promise<string> {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  return new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(key);
}

function signEs(payload: JWTPayload, header: Record<string, unknown>): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'JWT', ...header }).sign(keys.es256.privateKey);
}

async function expectRefused(app: RunningApp, token: string, statuses: number[] = [401]): Promise<void> {
  const before = origin.received.length;
  const started = performance.now();
  const res = await get(app, token);
  expect(statuses, `status ${res.status} for ${token.slice(0, 80)}`).toContain(res.status);
  if (res.status === 401) expect(((await res.json()) as { code: string }).code).toMatch(/^AUTHCTX_ERR_AUTH_/);
  expect(performance.now() - started).toBeLessThan(1000);
  expect(origin.received.length).toBe(before);
}

describe('hostile tokens', () => {
  it('refuses alg "none", with and without a signature', async () => {
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims())}`;
    await expectRefused(proxy, `${unsigned}.`);
    await expectRefused(proxy, `${unsigned}.AAAA`);
    await expectRefused(proxy, `${b64url({ alg: 'None' })}.${b64url(claims())}.x`);
  });

  it('refuses an HS256 token with an empty or foreign signature', async () => {
    const good = await signHs(claims());
    const [h, p] = good.split('.');
    await expectRefused(proxy, `${h}.${p}.`);
    const other = await signHs(claims(), {}, 'another-secret-another-secret-0000');
    await expectRefused(proxy, `${h}.${p}.${other.split('.')[2]}`);
  });

  it('refuses a token whose payload was changed after signing', async () => {
    const good = await signHs(claims());
    const [h, , s] = good.split('.');
    await expectRefused(proxy, `${h}.${b64url(claims({ sub: 'admin' }))}.${s}`);
  });

  it('refuses HS256 signed with a JWKS public key (algorithm confusion)', async () => {
    const rsaPem = createPublicKey({ key: keys.rs256.publicJwk as JsonWebKeyInput['key'], format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    for (const secret of [rsaPem, JSON.stringify(keys.rs256.publicJwk), JSON.stringify(keys.es256.publicJwk), keys.rs256.publicJwk.n!]) {
      await expectRefused(proxy, await signHs(claims(), { kid: 'rs-1' }, secret));
      await expectRefused(jwksOnly, await signHs(claims(), { kid: 'rs-1' }, secret));
    }
  });

  it('refuses HS256 entirely when only a JWKS is configured, even with the right secret', async () => {
    await expectRefused(jwksOnly, await signHs(claims()));
  });

  it('refuses a kid with path characters, a 10 KB kid and an unknown kid', async () => {
    for (const kid of ['../../../../etc/passwd', '..\\..\\keys', '/dev/zero', 'es-1/../rs-1', 'es-1\u0000', 'x'.repeat(10 * 1024), 'no-such-key']) {
      await expectRefused(proxy, await signEs(claims(), { kid }), [401, 431]);
    }
  });

  it('never fetches keys from a jku, x5u or embedded jwk named in the token', async () => {
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const attackerJwk = { ...(await exportJWK(attacker.publicKey)), kid: 'evil' };
    trap.setKeys([attackerJwk]);
    const headers = [
      { jku: trap.url, kid: 'evil' },
      { x5u: trap.url, kid: 'evil' },
      { jwk: attackerJwk },
      { jku: trap.url, kid: 'es-1' },
    ];
    for (const header of headers) {
      const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', ...header }).sign(attacker.privateKey);
      await expectRefused(proxy, token);
      await expectRefused(jwksOnly, token);
    }
    expect(trap.fetches).toBe(0);
  });

  it('refuses expired, not-yet-valid and exp-less tokens', async () => {
    await expectRefused(proxy, await signHs(claims({ exp: nowSec - 60 })));
    await expectRefused(proxy, await signHs(claims({ nbf: nowSec + 600 })));
    await expectRefused(proxy, await signHs(claims({ exp: undefined })));
    await expectRefused(proxy, await signHs(claims({ exp: 'tomorrow' })));
    await expectRefused(proxy, await signHs(claims({ sub: undefined })));
  });

  it('refuses the wrong issuer, audience or role', async () => {
    await expectRefused(proxy, await signHs(claims({ iss: 'https://evil.example/auth/v1' })));
    await expectRefused(proxy, await signHs(claims({ iss: undefined })));
    await expectRefused(proxy, await signHs(claims({ aud: 'service_role' })));
    await expectRefused(proxy, await signHs(claims({ aud: undefined })));
    await expectRefused(proxy, await signHs(claims({ role: 'service_role' })));
    await expectRefused(proxy, await signHs(claims({ role: 'anon' })));
    await expectRefused(proxy, await signHs(claims({ role: undefined })));
    await expectRefused(proxy, await signEs(claims({ aud: 'other' }), { kid: 'es-1' }));
  });

  it('refuses bad base64, bad JSON and wrong segment counts', async () => {
    for (const token of ['abc!.def.ghi', 'a.b', 'a.b.c.d', `${b64url('{not json')}.${b64url(claims())}.sig`, `${b64url(claims())}`, '...', 'eyJ.eyJ.eyJ', '%41.%42.%43']) {
      await expectRefused(proxy, token);
    }
  });

  it('refuses a 9 KB token with 401 and a 1 MB token with 431, without reading it as a token', async () => {
    await expectRefused(proxy, await signHs(claims({ pad: 'x'.repeat(6 * 1024) })));
    const huge = `${b64url({ alg: 'HS256' })}.${'A'.repeat(1024 * 1024)}.sig`;
    const before = origin.received.length;
    const res = await rawRequest(proxy.proxyPort, `GET /api/things HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${huge}\r\nconnection: close\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(origin.received.length).toBe(before);
  });

  it('answers two Authorization headers with 400, even when both hold a valid token', async () => {
    const token = await signHs(claims());
    const before = origin.received.length;
    const res = await rawRequest(
      proxy.proxyPort,
      `GET /api/things HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\nAuthorization: Bearer ${token}\r\nconnection: close\r\n\r\n`,
    );
    expect(res.status).toBe(400);
    expect(res.body).toContain('AUTHCTX_ERR_AUTH_MULTIPLE_TOKENS');
    expect(origin.received.length).toBe(before);
  });

  it('refuses other schemes and a token split by spaces', async () => {
    const token = await signHs(claims());
    for (const authorization of [`Basic ${token}`, `Bearer ${token} extra`, `Bearer`, `Bearer  `, token, `Token ${token}`]) {
      const before = origin.received.length;
      const res = await fetch(`${proxy.proxyUrl}/api/things`, { headers: { authorization } });
      expect(res.status, authorization.slice(0, 20)).toBe(401);
      expect(origin.received.length).toBe(before);
    }
  });

  it('made no outbound fetch for any of the hostile tokens and still serves a valid one', async () => {
    expect(jwks.fetches).toBe(2);
    expect(trap.fetches).toBe(0);
    expect((await get(proxy, await signToken({ sub: 'after-the-storm' }))).status).toBe(200);
    expect((await get(jwksOnly, await signToken({ alg: 'RS256', kid: 'rs-1', keys, sub: 'after' }))).status).toBe(200);
  });
});
