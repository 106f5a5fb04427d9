import { parseDurationMs, parseSizeBytes } from '../config/duration.js';
import type { ParseResult } from '../config/option-types.js';
import { canonicalPath } from '../proxy/route-match.js';

/**
 * Cached routes (`AUTHCTX_CACHED_ROUTES`, or `cachedRoutes` in the YAML file as a string or a
 * list): entries separated by `;` (or newlines), each
 *
 *   `GET PATH ttl=DURATION vary=FIELD,… [query=PARAM,…] [swr=DURATION] [max-size=SIZE] [name=NAME]`
 *
 * e.g. `GET /api/leaderboard ttl=5m vary=region,scope query=period swr=30s`.
 *
 * - Only `GET` (a `HEAD` is answered from the `GET` entry). PATH is exact, or a prefix when it
 *   ends in `/*`; matching runs on the canonical path, as for the other route lists.
 * - `vary` is required: the context fields that partition the cache. Known fields are
 *   `role, region, regions, scope, slots, zones, email, user_id, sub`; an extra key of the
 *   source's reply is named `extra.<key>`. `email`, `user_id` or `sub` make the cache per user.
 *   `vary=none` shares one entry among every authenticated user (say it explicitly: a
 *   forgotten `vary` would otherwise leak one partition's data to another). Unknown names are
 *   refused at startup: a typo must never silently merge partitions.
 * - `query`: request query parameters that are part of the key. A request carrying any other
 *   query parameter bypasses the cache (forwarded, not stored), so `?debug=1` cannot poison it.
 * - `swr` (default 0): how long past its TTL an entry may still be served while one refresh runs.
 * - `max-size` (default 1mb): a larger response body is passed through uncached.
 * - `name` (default derived from the path, `/api/leaderboard` → `api-leaderboard`): the metric
 *   label and the route id for `POST /api/admin/cache/purge`.
 */
export interface CachedRouteSpec {
  name: string;
  method: 'GET';
  /** Exact path, or the prefix (ending in `/`) when `prefix`. */
  path: string;
  prefix: boolean;
  /** Longest time a response is fresh; the backend's `max-age`/`s-maxage` may only shorten it. */
  ttlMs: number;
  /** Context fields that partition the cache, in configured order; empty for `vary=none`. */
  vary: readonly string[];
  /** Query parameters that are part of the key, in configured order. */
  query: readonly string[];
  /** Stale-while-revalidate window past the TTL. */
  swrMs: number;
  /** Largest body stored. */
  maxSizeBytes: number;
}

/** Context fields a route may vary on (besides `extra.<key>`). */
export const varyFields = ['role', 'region', 'regions', 'scope', 'slots', 'zones', 'email', 'user_id', 'sub'] as const;

export const defaultMaxSizeBytes = 1024 ** 2;

const knownVary = new Set<string>(varyFields);
const extraPattern = /^extra\.[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const namePattern = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const paramPattern = /^[A-Za-z0-9_.~\-[\]]{1,64}$/;
const pathPattern = /^\/[A-Za-z0-9\-._~!$&'()+,=:@/%]*$/;
const maxTtlMs = 7 * 86_400_000;

export function parseCachedRoutes(text: string): ParseResult<CachedRouteSpec[]> {
  const routes: CachedRouteSpec[] = [];
  const problems: string[] = [];
  for (const raw of text.split(/[;\n]/)) {
    const entry = raw.trim();
    if (entry === '') continue;
    const result = parseEntry(entry);
    if (result.ok) routes.push(result.value);
    else problems.push(`"${entry}": ${result.problem}`);
  }
  const seen = new Set<string>();
  for (const route of routes) {
    if (seen.has(route.name)) problems.push(`two cached routes are named "${route.name}": give one a name=`);
    seen.add(route.name);
  }
  return problems.length > 0 ? { ok: false, problem: problems.join('; ') } : { ok: true, value: routes };
}

function parseEntry(entry: string): ParseResult<CachedRouteSpec> {
  const [method, rawPath, ...options] = entry.split(/\s+/);
  if (method !== 'GET') return bad('only GET routes are cached (HEAD is answered from the GET entry); expected "GET PATH ttl=… vary=…"');
  let path = rawPath ?? '';
  const prefix = path.endsWith('/*');
  if (prefix) path = path.slice(0, -1);
  if (!pathPattern.test(path) || path.includes('*') || canonicalPath(path) === undefined) {
    return bad('path must start with "/", may end in "/*", and have no "..", "//" or wildcards inside');
  }
  const values = new Map<string, string>();
  for (const option of options) {
    const eq = option.indexOf('=');
    const key = eq === -1 ? option : option.slice(0, eq);
    if (!['ttl', 'vary', 'query', 'swr', 'max-size', 'name'].includes(key) || eq === -1) {
      return bad(`unknown option "${option}" (expected ttl=, vary=, query=, swr=, max-size=, name=)`);
    }
    if (values.has(key)) return bad(`${key}= given twice`);
    values.set(key, option.slice(eq + 1));
  }

  const ttlText = values.get('ttl');
  const ttlMs = ttlText === undefined ? undefined : parseDurationMs(ttlText);
  if (ttlMs === undefined || ttlMs <= 0 || ttlMs > maxTtlMs) return bad('ttl= is required: a duration from 1ms to 7d (e.g. 5m)');
  const swrText = values.get('swr');
  const swrMs = swrText === undefined ? 0 : parseDurationMs(swrText);
  if (swrMs === undefined || swrMs > maxTtlMs) return bad(`swr="${swrText}" is not a duration up to 7d`);
  const sizeText = values.get('max-size');
  const maxSizeBytes = sizeText === undefined ? defaultMaxSizeBytes : parseSizeBytes(sizeText);
  if (maxSizeBytes === undefined || maxSizeBytes <= 0) return bad(`max-size="${sizeText}" is not a size (e.g. 256kb, 2mb)`);

  const varyText = values.get('vary');
  if (varyText === undefined || varyText === '') {
    return bad(`vary= is required: context fields (${varyFields.join(', ')}, extra.<key>) or "none" to share one entry among all users`);
  }
  const vary = varyText === 'none' ? [] : varyText.split(',');
  for (const field of vary) {
    if (!knownVary.has(field) && !extraPattern.test(field)) {
      return bad(`vary field "${field}" is not one of ${varyFields.join(', ')}, extra.<key>, or "none" alone`);
    }
  }
  if (new Set(vary).size !== vary.length) return bad('vary= names a field twice');
  const query = values.get('query')?.split(',') ?? [];
  for (const param of query) if (!paramPattern.test(param)) return bad(`query parameter "${param}" is not a plain name`);

  const name = values.get('name') ?? nameFromPath(path);
  if (!namePattern.test(name)) return bad(`name "${name}" must be 1-63 of a-z, 0-9, "_" and "-" (set name= explicitly)`);
  return { ok: true, value: { name, method: 'GET', path, prefix, ttlMs, vary, query, swrMs, maxSizeBytes } };
}

/** `/api/leaderboard` → `api-leaderboard`; `/api/reports/*` → `api-reports`. */
export function nameFromPath(path: string): string {
  const name = path.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return name === '' ? 'root' : name;
}

function bad(problem: string): ParseResult<never> {
  return { ok: false, problem };
}

export interface CachedRouteMatcher {
  readonly routes: readonly CachedRouteSpec[];
  /** The route for a GET or HEAD request on a canonical path, else `undefined`. */
  match(method: string, path: string): CachedRouteSpec | undefined;
  byName(name: string): CachedRouteSpec | undefined;
}

export function createCachedRouteMatcher(routes: readonly CachedRouteSpec[]): CachedRouteMatcher {
  const exact = new Map<string, CachedRouteSpec>();
  const prefixes: CachedRouteSpec[] = [];
  for (const route of routes) {
    if (route.prefix) prefixes.push(route);
    else if (!exact.has(route.path)) exact.set(route.path, route);
  }
  // Longest prefix first: `/api/reports/daily/*` wins over `/api/reports/*`.
  prefixes.sort((a, b) => b.path.length - a.path.length);
  const names = new Map(routes.map((route) => [route.name, route]));
  return {
    routes,
    match(method, path) {
      if (method !== 'GET' && method !== 'HEAD') return undefined;
      const route = exact.get(path);
      if (route) return route;
      for (const candidate of prefixes) if (path.startsWith(candidate.path)) return candidate;
      return undefined;
    },
    byName: (name) => names.get(name),
  };
}
