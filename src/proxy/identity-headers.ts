/**
 * The identity-header contract (DESIGN.md "Headers injected"): the names authctx
 * injects, and the rules that keep a client from ever supplying them.
 */
export const identityHeaderNames = [
  'x-user-id',
  'x-user-email',
  'x-user-role',
  'x-user-region',
  'x-user-scope',
  'x-user-zones',
  'x-auth-context-stale',
] as const;

export type IdentityHeaderName = (typeof identityHeaderNames)[number];

const identitySet = new Set<string>(identityHeaderNames);

/**
 * True for every spelling of an injected name: any case, and `_` for `-`, because
 * WSGI/ASGI backends (FastAPI, Django) map both to the same variable
 * (oauth2-proxy CVE-2025-64484).
 */
export function isIdentityHeader(name: string): boolean {
  if (name.length < 9 || name.length > 20) return false;
  const lower = name.toLowerCase();
  return identitySet.has(lower.includes('_') ? lower.replaceAll('_', '-') : lower);
}

/**
 * A header value safe to emit, or `undefined` when the value must be refused.
 * Printable ASCII passes as is. Control characters (CR, LF, NUL, any C0 or DEL) are
 * refused: they would split or break the header block (undici CVE-2022-31150).
 * Non-ASCII text is percent-encoded as UTF-8 (RFC 3986 §2.1), since HTTP/1.1 field
 * values are bytes and Node would otherwise write them as Latin-1. Text that is not
 * well-formed UTF-16 (a lone surrogate) is refused.
 */
export function encodeHeaderValue(value: string): string | undefined {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  if (/[\x00-\x1f\x7f]/.test(value)) return undefined;
  // A lone UTF-16 surrogate (possible in a JWT claim: JSON allows "\ud800") has no UTF-8
  // form; encodeURIComponent would throw. Refuse it like a control character.
  if (/\p{Cs}/u.test(value)) return undefined;
  return encodeURIComponent(value);
}

/** Flat `[name, value, name, value, …]` pairs for the identity headers, or undefined if a value must be refused. */
export function identityHeaderPairs(values: Partial<Record<IdentityHeaderName, string>>): string[] | undefined {
  const pairs: string[] = [];
  for (const name of identityHeaderNames) {
    const raw = values[name];
    if (raw === undefined) continue;
    const encoded = encodeHeaderValue(raw);
    if (encoded === undefined) return undefined;
    pairs.push(name, encoded);
  }
  return pairs;
}
