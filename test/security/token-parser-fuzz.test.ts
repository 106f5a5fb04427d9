import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pino } from 'pino';
import { createJwksProvider } from '../../src/auth/jwks-provider.js';
import { bearerToken, createJwtVerifier, type JwtVerifier } from '../../src/auth/jwt-verifier.js';
import { TokenCache } from '../../src/auth/token-cache.js';
import { AuthctxError } from '../../src/errors.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { b64url, makeKeyPairs, signToken, testIssuer, testSecret, type KeyPairSet } from '../support/tokens.js';

/**
 * Issue 6 item 6: the token parser and verifier against arbitrary input. Whatever arrives,
 * the outcome is a verified token or an `AuthctxError` with status 401: never another
 * exception, never a hang, never a fetch.
 */
let keys: KeyPairSet;
let verifier: JwtVerifier;
let fetches = 0;
let valid: string;

beforeAll(async () => {
  keys = await makeKeyPairs();
  const registry = createMetricsRegistry({ defaultMetrics: false });
  const now = Date.now;
  const jwks = createJwksProvider({
    url: 'http://127.0.0.1:9/jwks.json',
    timeoutMs: 100,
    cooldownMs: 60_000,
    maxAgeMs: 600_000,
    registry,
    logger: pino({ level: 'silent' }),
    now,
    // Serves the real keys; counts how often the verifier asks.
    fetch: async () => {
      fetches++;
      return new Response(JSON.stringify({ keys: [keys.es256.publicJwk, keys.rs256.publicJwk] }));
    },
  });
  expect(await jwks.warm()).toBe(true);
  verifier = createJwtVerifier({
    hsSecret: testSecret,
    jwks,
    issuer: testIssuer,
    audience: 'authenticated',
    roles: ['authenticated'],
    clockToleranceMs: 5_000,
    // No cache: every input goes through the parser.
    cache: new TokenCache({ maxEntries: 0, ttlCapMs: 0, now }),
    registry,
    now,
  });
  valid = await signToken({ alg: 'ES256', kid: 'es-1', keys });
});

async function outcome(token: string): Promise<'valid' | 401> {
  try {
    await verifier.verify(token);
    return 'valid';
  } catch (error) {
    expect(error).toBeInstanceOf(AuthctxError);
    expect((error as AuthctxError).status).toBe(401);
    return 401;
  }
}

const segment = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{0,60}$/),
  fc.jsonValue().map((v) => b64url(JSON.stringify(v))),
  fc.record({ alg: fc.constantFrom('none', 'HS256', 'ES256', 'RS256', 'PS256', 'HS512', 'EdDSA', ''), kid: fc.option(fc.string()), jku: fc.option(fc.webUrl()), crit: fc.option(fc.array(fc.string())) }).map((h) => b64url(h)),
  fc.string({ maxLength: 40 }),
);

describe('bearerToken (property)', () => {
  it('returns one space-free, non-empty token or nothing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string().map((s) => `Bearer ${s}`), fc.string().map((s) => `bEaReR  ${s} `)), (header) => {
        const token = bearerToken(header);
        if (token === undefined) return;
        expect(token).not.toBe('');
        expect(token).not.toMatch(/ /);
        expect(header.toLowerCase().startsWith('bearer ')).toBe(true);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('verifier (property)', () => {
  it('refuses arbitrary strings and arbitrary three-part tokens with 401, without fetching', async () => {
    const before = fetches;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 200 }), fc.tuple(segment, segment, segment).map((parts) => parts.join('.'))), async (token) => {
        expect(await outcome(token)).toBe(401);
      }),
      { numRuns: 2000 },
    );
    expect(fetches).toBe(before);
  });

  it('refuses every single-character change to a valid token unless it decodes to the same bytes', async () => {
    expect(await outcome(valid)).toBe('valid');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: valid.length - 1 }), fc.constantFrom(...alphabet), async (at, c) => {
        const mutated = valid.slice(0, at) + c + valid.slice(at + 1);
        if (mutated === valid) return;
        const result = await outcome(mutated);
        if (result === 'valid') {
          // base64url's last character carries spare bits: only such a re-spelling may pass.
          const bytes = (t: string) => t.split('.').map((p) => Buffer.from(p, 'base64url').toString('hex'));
          expect(bytes(mutated)).toEqual(bytes(valid));
        }
      }),
      { numRuns: 1500 },
    );
  });
});
