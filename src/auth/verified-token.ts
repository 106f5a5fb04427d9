/**
 * What a verified Supabase access token tells authctx: only the claims authctx uses, so a
 * verified-token cache entry stays small (the bench's memory run counts bytes per user).
 */
export interface VerifiedToken {
  /** `sub`: the Supabase user id. */
  readonly sub: string;
  /** `email` claim as sent (not yet normalized); undefined when the token has none. */
  readonly email: string | undefined;
  /** `role` claim (Supabase: `authenticated`). */
  readonly role: string;
  /** `exp` in epoch milliseconds. */
  readonly expiresAtMs: number;
}
