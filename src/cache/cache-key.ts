/**
 * Cache keys for auth contexts: `authctx:v1:ctx:<normalized email>` (DESIGN.md, "Semantics").
 * The `v1` segment changes whenever the cached JSON shape changes, so a rolling deploy never
 * reads an entry written in another shape.
 */

/** Every context key starts with this; `clear(contextKeyPrefix)` drops all cached contexts. */
export const contextKeyPrefix = 'authctx:v1:ctx:';

/** RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle brackets. */
const maxEmailLength = 254;
/** RFC 5321 §4.5.3.1.1. */
const maxLocalPartLength = 64;

// C0 controls, DEL, C1 controls, and Unicode whitespace/separators/format characters
// (zero-width space, bidi overrides, BOM): none belongs in an address, and several would
// let two addresses look alike in logs or forge a header value downstream.
const forbidden = /[\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u3000\ufeff]/u;

/**
 * Trims and lower-cases an email address; `null` when it is not a plausible address.
 *
 * Only ASCII `A`–`Z` are folded. Full Unicode case folding would merge distinct
 * addresses (U+212A KELVIN SIGN lower-cases to `k`, so `\u212Aate@x` would share
 * `kate@x`'s cache entry); a non-ASCII address keeps its own key instead.
 */
export function normalizeEmail(raw: string): string | null {
  if (typeof raw !== 'string') return null;
  const trimmed = raw.trim();
  if (trimmed.length === 0 || trimmed.length > maxEmailLength) return null;
  if (forbidden.test(trimmed)) return null;
  const at = trimmed.indexOf('@');
  if (at <= 0 || at !== trimmed.lastIndexOf('@') || at === trimmed.length - 1) return null;
  if (at > maxLocalPartLength) return null;
  const domain = trimmed.slice(at + 1);
  if (domain.startsWith('.') || domain.endsWith('.') || domain.includes('..')) return null;
  return asciiLowerCase(trimmed);
}

/** The cache key of a context, or `null` when the email is not valid. */
export function contextKey(email: string): string | null {
  const normalized = normalizeEmail(email);
  return normalized === null ? null : contextKeyPrefix + normalized;
}

function asciiLowerCase(value: string): string {
  return value.replace(/[A-Z]+/g, (upper) => upper.toLowerCase());
}
