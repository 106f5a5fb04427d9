import type { VerifiedToken } from '../auth/verified-token.js';
import { identityHeaderPairs } from './identity-headers.js';
import { AuthctxError } from '../errors.js';

/**
 * Who a request comes from, ready to inject. This is the seam between the proxy and the
 * auth context: the proxy knows nothing of caches or sources, only of an `IdentityResolver`.
 */
export interface Identity {
  /** Flat `[name, value, …]` identity headers, already encoded (see identity-headers.ts). */
  readonly headerPairs: readonly string[];
  /** The auth-context route's JSON object (context fields, zones, extras). */
  readonly context: Readonly<Record<string, unknown>>;
  /** True when stale context was served (source down, within AUTHCTX_STALE_IF_ERROR). */
  readonly stale: boolean;
}

export interface IdentityResolver {
  /**
   * The identity for a verified token; synchronous when answered from memory.
   * Throws/rejects `AuthctxError`: 403 (no active employee), 503 (source down, nothing stale).
   */
  resolve(token: VerifiedToken): Identity | Promise<Identity>;
}

/**
 * Identity from the token alone (`X-User-Id` = sub, `X-User-Email` = email): the
 * resolver when no context source is wired.
 */
export function createTokenIdentityResolver(): IdentityResolver {
  return {
    resolve(token) {
      const headerPairs = identityHeaderPairs({ 'x-user-id': token.sub, 'x-user-email': token.email });
      if (!headerPairs) throw new AuthctxError('AUTHCTX_ERR_AUTH_INVALID_TOKEN', 'the bearer token carries an unusable claim value');
      return { headerPairs, context: { user_id: token.sub, email: token.email ?? null }, stale: false };
    },
  };
}
