/**
 * The SQL function name comes from configuration (`AUTHCTX_RPC_FUNCTION`) and ends up in
 * a URL path (PostgREST) and in SQL text (pg): accept plain lower-case identifiers only.
 */
const safeIdentifier = /^[a-z_][a-z0-9_]{0,62}$/;

/** Returns `name`, or throws a `TypeError` naming the rule when it is not a safe identifier. */
export function assertFunctionName(name: string): string {
  if (!safeIdentifier.test(name)) {
    throw new TypeError(`function name ${JSON.stringify(name)} must match ${safeIdentifier.source}`);
  }
  return name;
}

export const defaultFunctionName = 'get_user_context';
