import type { JWTPayload } from 'jose';

/** What a verified Supabase access token tells authctx. */
export interface VerifiedToken {
  /** `sub`: the Supabase user id. */
  readonly sub: string;
  /** `email` claim as sent (not yet normalized); undefined when the token has none. */
  readonly email: string | undefined;
  /** `role` claim (Supabase: `authenticated`). */
  readonly role: string;
  /** `exp` in epoch milliseconds. */
  readonly expiresAtMs: number;
  readonly claims: Readonly<JWTPayload>;
}
