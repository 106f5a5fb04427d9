import type { IncomingHttpHeaders } from 'node:http';
import type { CacheCodec } from '../cache/redis-store.js';
import { isIdentityHeader } from '../proxy/identity-headers.js';

/** A backend response kept for replay. Times are epoch ms from the cache's clock. */
export interface StoredResponse {
  status: number;
  /** Replayable headers only (see `storableHeaders`), lower-case names. */
  headers: Record<string, string | string[]>;
  body: Buffer;
  storedAt: number;
  /** Served as HIT until then. */
  freshUntil: number;
  /** Served as STALE (with one refresh) until then. */
  staleUntil: number;
  /** Request header values the backend named in `Vary`, as seen when stored (lower-case names). */
  vary: Record<string, string>;
}

type RawHeaders = Record<string, string | string[] | undefined>;

/**
 * Headers never stored nor replayed: identity (another user's, by construction), cookies,
 * hop-by-hop (RFC 9110 §7.6.1; the forward path already dropped them), and those the replay
 * sets itself (`date`, `age`, `content-length`, `x-cache`, `x-request-id`).
 */
const unstorable = new Set([
  'set-cookie',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'date',
  'age',
  'content-length',
  'x-cache',
  'x-request-id',
]);

export function storableHeaders(headers: RawHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    const lower = name.toLowerCase();
    if (value === undefined || unstorable.has(lower) || isIdentityHeader(lower) || lower.startsWith('x-user-')) continue;
    out[lower] = value;
  }
  return out;
}

/** What a backend response allows (RFC 9111 §3 for a shared cache, plus authctx's stricter rules). */
export type Storability = { store: true; ttlMs: number; varyHeaders: string[] } | { store: false; reason: string };

/**
 * Stores only 2xx (not 206), without `Set-Cookie`, without `Cache-Control: private`,
 * `no-store` or `no-cache`, without `Vary: *`. `s-maxage`, else `max-age`, may shorten the
 * route TTL, never lengthen it; `0` means "do not store".
 */
export function storability(status: number, headers: RawHeaders, routeTtlMs: number): Storability {
  if (status < 200 || status > 299 || status === 206) return { store: false, reason: 'status' };
  if (headers['set-cookie'] !== undefined) return { store: false, reason: 'set-cookie' };
  const cacheControl = joined(headers['cache-control']).toLowerCase();
  let ttlMs = routeTtlMs;
  if (cacheControl !== '') {
    const directives = parseCacheControl(cacheControl);
    if (directives.has('private') || directives.has('no-store') || directives.has('no-cache')) return { store: false, reason: 'cache-control' };
    const maxAge = directives.get('s-maxage') ?? directives.get('max-age');
    if (maxAge !== undefined) {
      const seconds = Number(maxAge);
      if (!/^\d+$/.test(maxAge)) return { store: false, reason: 'cache-control' };
      ttlMs = Math.min(ttlMs, seconds * 1000);
    }
  }
  if (ttlMs <= 0) return { store: false, reason: 'cache-control' };
  const varyHeaders = joined(headers.vary).split(',').map((v) => v.trim().toLowerCase()).filter(Boolean);
  if (varyHeaders.includes('*')) return { store: false, reason: 'vary' };
  return { store: true, ttlMs, varyHeaders };
}

function parseCacheControl(text: string): Map<string, string | undefined> {
  const directives = new Map<string, string | undefined>();
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim();
    if (name === '') continue;
    directives.set(name, eq === -1 ? undefined : part.slice(eq + 1).trim().replace(/^"|"$/g, ''));
  }
  return directives;
}

function joined(value: string | string[] | undefined): string {
  return value === undefined ? '' : Array.isArray(value) ? value.join(',') : value;
}

/** The request's values for the headers the backend varies on. */
export function varyValues(names: readonly string[], request: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) out[name] = joined(request[name]);
  return out;
}

/** True when `request` would have been given the same stored response (RFC 9111 §4.1). */
export function varyMatches(stored: StoredResponse, request: IncomingHttpHeaders): boolean {
  for (const name in stored.vary) if (joined(request[name]) !== stored.vary[name]) return false;
  return true;
}

/** Bytes an entry holds in memory, roughly: the body plus its headers. */
export function storedSize(entry: StoredResponse): number {
  let size = entry.body.length + 64;
  for (const name in entry.headers) size += name.length + joined(entry.headers[name]).length;
  return size;
}

/** Redis form: JSON with the body in base64; anything else read back is refused (a miss). */
export const storedResponseCodec: CacheCodec<StoredResponse> = {
  encode: (entry) => JSON.stringify({ ...entry, body: entry.body.toString('base64') }),
  decode(text) {
    const raw = JSON.parse(text) as Record<string, unknown>;
    const ok =
      typeof raw === 'object' && raw !== null &&
      Number.isInteger(raw.status) && typeof raw.body === 'string' &&
      typeof raw.storedAt === 'number' && typeof raw.freshUntil === 'number' && typeof raw.staleUntil === 'number' &&
      isHeaderRecord(raw.headers) && isHeaderRecord(raw.vary);
    if (!ok) throw new TypeError('cached response has an unexpected shape');
    return { ...(raw as unknown as StoredResponse), body: Buffer.from(raw.body as string, 'base64') };
  },
};

function isHeaderRecord(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === 'string' || (Array.isArray(v) && v.every((s) => typeof s === 'string')));
}
