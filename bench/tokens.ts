/**
 * Supabase-shaped HS256 access tokens for the seeded employees, signed with
 * node:crypto (synchronous, a few microseconds each: the load generator signs up to
 * 100k of them). The proxies verify them with jose, as in production.
 */
import { createHash, createHmac } from 'node:crypto';

export const benchSecret = 'authctx-bench-hs256-secret-0123456789abcdef';
export const benchIssuer = 'http://127.0.0.1:54321/auth/v1';

function b64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

/** The seed's id for an email (scripts/seed.ts: md5('authctx-seed-employee-' || i)::uuid), or any stable uuid. */
function uuidFor(email: string): string {
  const hex = createHash('md5').update(`authctx-bench-${email}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const header = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

/** A token for `email`, valid for `ttlSec` (default 2 h: longer than any run). */
export function signBenchToken(email: string, options: { secret?: string; ttlSec?: number; nowSec?: number } = {}): string {
  const nowSec = options.nowSec ?? Math.floor(Date.now() / 1000);
  const payload = b64url(
    JSON.stringify({
      sub: uuidFor(email),
      email,
      role: 'authenticated',
      aud: 'authenticated',
      iss: benchIssuer,
      iat: nowSec,
      exp: nowSec + (options.ttlSec ?? 7200),
    }),
  );
  const signature = createHmac('sha256', options.secret ?? benchSecret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}
