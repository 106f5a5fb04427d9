/**
 * The `ContextSource` port: where an auth context comes from when no cache has it.
 * Adapters: `supabase-rpc` (supabase-js `rpc()`, with legacy per-table fallback) and
 * `postgres` (`pg` pool calling the same SQL function). Both run one contract suite.
 */

/**
 * The auth context of one user, exactly DESIGN.md's "Data shapes": what
 * `get_user_context(p_email)` returns. Extra keys are allowed; they reach the
 * auth-context route's JSON but never the headers.
 */
export interface UserContext {
  user_id: string;
  email: string;
  role: string;
  /** Primary region code. */
  region: string;
  /** Every region in the user's scope; zones are looked up for all of them. */
  regions: string[];
  scope: string;
  slots: string[];
  [extra: string]: unknown;
}

export type ContextSourceKind = 'supabase' | 'postgres';

export interface ContextSourceCallOptions {
  /** Aborts the call (the resolver's timeout or shutdown). */
  signal?: AbortSignal;
}

export interface ContextSource {
  readonly kind: ContextSourceKind;
  /**
   * The context for a normalized (trimmed, lower-cased) email, or `null` when the
   * user is unknown or inactive. Rejects when the source fails, times out, or
   * replies with something that is not a context for this email: a malformed or
   * mismatched reply is an error, never a context.
   */
  getUserContext(email: string, options?: ContextSourceCallOptions): Promise<UserContext | null>;
  /** Releases pools and sockets. Idempotent. */
  close(): Promise<void>;
}
