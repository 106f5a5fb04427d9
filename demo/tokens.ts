/**
 * Demo tokens: Supabase-shaped access tokens signed with a fixed, public, demo-only
 * HS256 secret. Anyone can mint these; never configure this secret anywhere real.
 */
import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';

export const demoJwtSecret = 'authctx-demo-secret-do-not-use-in-production-0000';
export const demoJwtIssuer = 'authctx-demo';
/** Demo tokens are valid this long from the demo's start. */
export const demoTokenLifetimeSec = 24 * 60 * 60;

/** The employee id scripts/seed.ts gives a named user (`md5('authctx-seed-<key>')::uuid`). */
export function seededUserId(key: string): string {
  const hex = createHash('md5').update(`authctx-seed-${key}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface DemoTokenInput {
  sub: string;
  email: string;
  /** Default: the demo secret. A different one makes a forged token. */
  secret?: string;
  /** Default: now (epoch ms). */
  nowMs?: number;
}

export async function signDemoToken(input: DemoTokenInput): Promise<string> {
  const nowSec = Math.floor((input.nowMs ?? Date.now()) / 1000);
  return new SignJWT({ email: input.email, role: 'authenticated' })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(input.sub)
    .setIssuer(demoJwtIssuer)
    .setAudience('authenticated')
    .setIssuedAt(nowSec)
    .setExpirationTime(nowSec + demoTokenLifetimeSec)
    .sign(new TextEncoder().encode(input.secret ?? demoJwtSecret));
}
