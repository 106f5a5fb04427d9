import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import type { Registry } from 'prom-client';
import { AuthctxError } from '../errors.js';
import { getOrCreateCounter, getOrCreateGauge } from '../metrics/get-or-create.js';
import { metricNames } from '../metrics/names.js';
import type { JwksProvider } from './jwks-provider.js';
import { TokenCache } from './token-cache.js';
import type { VerifiedToken } from './verified-token.js';

export interface JwtVerifierOptions {
  /** Legacy Supabase HS256 secret; HS256 tokens are refused when unset. */
  hsSecret?: string | undefined;
  /** Asymmetric keys (ES256, RS256); such tokens are refused when unset. */
  jwks?: JwksProvider | undefined;
  /** Expected `iss`; not checked when unset. */
  issuer?: string | undefined;
  /** Expected `aud`. */
  audience: string;
  /** Accepted values of the `role` claim (Supabase user tokens: `authenticated`). */
  roles: readonly string[];
  /** Skew allowed on exp/nbf/iat. */
  clockToleranceMs: number;
  /** Largest token accepted, in characters. Default 8192. */
  maxTokenLength?: number;
  cache: TokenCache;
  registry: Registry;
  now: () => number;
}

export interface JwtVerifier {
  /** Verified claims, synchronously when the token is cached; throws/rejects `AuthctxError` (401). */
  verify(token: string): VerifiedToken | Promise<VerifiedToken>;
  readonly cache: TokenCache;
}

/** Algorithms are pinned per key type (RFC 8725 §3.1): HS256 only with the secret, ES256/RS256 only with the JWKS. */
const asymmetricAlgorithms = ['ES256', 'RS256'];
const tokenShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const secret = options.hsSecret ? new TextEncoder().encode(options.hsSecret) : undefined;
  const maxTokenLength = options.maxTokenLength ?? 8192;
  const roles = new Set(options.roles);
  const outcomes = getOrCreateCounter(options.registry, {
    name: metricNames.jwtVerifications,
    help: 'JWT verifications by result',
    labelNames: ['result'] as const,
  });
  const cachedOutcome = outcomes.labels({ result: 'cached' });
  const cacheEntries = getOrCreateGauge(options.registry, {
    name: metricNames.jwtCacheEntries,
    help: 'Verified tokens cached',
    collect() {
      this.set(options.cache.size);
    },
  });
  void cacheEntries;

  const baseOptions = (): JWTVerifyOptions => ({
    audience: options.audience,
    ...(options.issuer ? { issuer: options.issuer } : {}),
    clockTolerance: Math.ceil(options.clockToleranceMs / 1000),
    requiredClaims: ['exp', 'sub'],
    currentDate: new Date(options.now()),
  });

  async function verifySlow(token: string, key: string): Promise<VerifiedToken> {
    if (token.length > maxTokenLength || !tokenShape.test(token)) throw invalid('malformed token');
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw invalid('malformed token header');
    }
    let payload: JWTPayload;
    try {
      if (alg === 'HS256' && secret) {
        ({ payload } = await jwtVerify(token, secret, { ...baseOptions(), algorithms: ['HS256'] }));
      } else if (alg !== undefined && asymmetricAlgorithms.includes(alg) && options.jwks) {
        ({ payload } = await jwtVerify(token, options.jwks.getKey, { ...baseOptions(), algorithms: asymmetricAlgorithms }));
      } else {
        throw invalid(`algorithm ${JSON.stringify(alg ?? null).slice(0, 20)} is not accepted`);
      }
    } catch (error) {
      if (error instanceof AuthctxError) throw error;
      if (error instanceof joseErrors.JWTExpired) {
        outcomes.inc({ result: 'expired' });
        throw new AuthctxError('AUTHCTX_ERR_AUTH_EXPIRED_TOKEN');
      }
      throw invalid(describeJoseError(error));
    }
    const verified = toVerifiedToken(payload);
    outcomes.inc({ result: 'valid' });
    options.cache.set(key, verified);
    return verified;
  }

  function toVerifiedToken(payload: JWTPayload): VerifiedToken {
    const role = payload.role;
    if (typeof role !== 'string' || !roles.has(role)) throw invalid('token role is not accepted');
    if (typeof payload.sub !== 'string' || payload.sub === '') throw invalid('token has no subject');
    const email = typeof payload.email === 'string' && payload.email !== '' ? payload.email : undefined;
    return Object.freeze({ sub: payload.sub, email, role, expiresAtMs: (payload.exp ?? 0) * 1000 });
  }

  function invalid(reason: string): AuthctxError {
    outcomes.inc({ result: 'invalid' });
    return new AuthctxError('AUTHCTX_ERR_AUTH_INVALID_TOKEN', `the bearer token is invalid: ${reason}`);
  }

  return {
    cache: options.cache,
    verify(token) {
      const key = TokenCache.keyOf(token);
      const hit = options.cache.get(key);
      if (hit) {
        cachedOutcome.inc();
        return hit;
      }
      return verifySlow(token, key);
    },
  };
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `claim "${error.claim}" ${error.reason === 'check_failed' ? 'check failed' : error.reason}`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'signature verification failed';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'no matching key';
  if (error instanceof joseErrors.JOSEError) return error.code;
  return 'verification failed';
}

/**
 * The token from `Authorization: Bearer <token>` (RFC 6750 §2.1), or undefined.
 * Scheme is case-insensitive; exactly one space-separated token.
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined || authorization.length < 8) return undefined;
  if (!/^bearer /i.test(authorization)) return undefined;
  const token = authorization.slice(7).trim();
  return token === '' || token.includes(' ') ? undefined : token;
}
