import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPublicKey, type JsonWebKeyInput } from 'node:crypto';
import { createTokenIdentityResolver } from '../../src/proxy/identity.js';
import { startApp, type RunningApp } from '../support/app.js';
import { headerValues, startOrigin, type Origin } from '../support/origin.js';
import { b64url, makeKeyPairs, signToken, startJwksServer, type JwksServer, type KeyPairSet } from '../support/tokens.js';

let origin: Origin;
let keys: KeyPairSet;
let jwks: JwksServer;
let proxy: RunningApp;

beforeAll(async () => {
  keys = await makeKeyPairs();
  origin = await startOrigin();
  jwks = await startJwksServer([keys.es256.publicJwk, keys.rs256.publicJwk]);
  // HS256 secret (testEnv) and a JWKS at once: both kinds of token verify.
  proxy = await startApp({ AUTHCTX_UPSTREAM_URL: origin.url, AUTHCTX_JWKS_URL: jwks.url }, { resolver: createTokenIdentityResolver() });
});

afterAll(async () => {
  await proxy.stop();
  await Promise.all([origin.close(), jwks.close()]);
});

async function status(token: string): Promise<{ status: number; code: string | undefined }> {
  const res = await fetch(`${proxy.proxyUrl}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await res.json()) as { code?: string };
  return { status: res.status, code: body.code };
}

describe('token verification', () => {
  it.each(['HS256', 'ES256', 'RS256'] as const)('accepts a valid %s token and injects its subject', async (alg) => {
    const before = origin.received.length;
    const token = await signToken({ alg, kid: alg === 'ES256' ? 'es-1' : alg === 'RS256' ? 'rs-1' : undefined, keys, sub: `sub-${alg}` });
    expect((await status(token)).status).toBe(200);
    expect(headerValues(origin.received[before]!, 'x-user-id')).toEqual([`sub-${alg}`]);
  });

  it('refuses an expired token with AUTHCTX_ERR_AUTH_EXPIRED_TOKEN', async () => {
    expect(await status(await signToken({ expiresInSec: -60 }))).toEqual({ status: 401, code: 'AUTHCTX_ERR_AUTH_EXPIRED_TOKEN' });
    expect(await status(await signToken({ alg: 'ES256', kid: 'es-1', keys, expiresInSec: -60 }))).toEqual({ status: 401, code: 'AUTHCTX_ERR_AUTH_EXPIRED_TOKEN' });
  });

  it('refuses the wrong audience and the wrong issuer', async () => {
    expect(await status(await signToken({ audience: 'anon' }))).toEqual({ status: 401, code: 'AUTHCTX_ERR_AUTH_INVALID_TOKEN' });
    expect(await status(await signToken({ issuer: 'https://other.supabase.co/auth/v1' }))).toEqual({ status: 401, code: 'AUTHCTX_ERR_AUTH_INVALID_TOKEN' });
    expect(await status(await signToken({ alg: 'RS256', kid: 'rs-1', keys, audience: 'x' }))).toEqual({ status: 401, code: 'AUTHCTX_ERR_AUTH_INVALID_TOKEN' });
  });

  it('refuses alg "none"', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'x', role: 'authenticated', aud: 'authenticated', exp: Math.floor(Date.now() / 1000) + 60 })}.`;
    expect((await status(token)).status).toBe(401);
  });

  it('refuses HS256 signed with the JWKS public key', async () => {
    const pem = createPublicKey({ key: keys.rs256.publicJwk as JsonWebKeyInput['key'], format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
    expect(await status(await signToken({ secret: pem, kid: 'rs-1' }))).toEqual({ status: 401, code: 'AUTHCTX_ERR_AUTH_INVALID_TOKEN' });
  });

  it('refuses a tampered payload or signature', async () => {
    const [h, p, s] = (await signToken({ alg: 'ES256', kid: 'es-1', keys })).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    expect((await status(`${h}.${b64url({ ...claims, sub: 'someone-else' })}.${s}`)).status).toBe(401);
    const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
    expect((await status(`${h}.${p}.${flipped}`)).status).toBe(401);
  });

  it('refuses an ES256 header on a token signed with the RS256 key (algorithm pinned per key)', async () => {
    expect((await status(await signToken({ alg: 'ES256', kid: 'rs-1', keys }))).status).toBe(401);
  });
});
