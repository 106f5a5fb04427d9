import { createHash } from 'node:crypto';
import type { CachedRouteSpec } from './cached-routes.js';

/**
 * Keys of cached responses: `authctx:v1:resp:<route name>:<partition hash>:<request hash>`.
 *
 * Both hashes are SHA-256 over a JSON array, so no value (a region named `a:b`, a query
 * value with a newline) can forge a delimiter or make two partitions share a key. The partition
 * hash is its own segment so that one partition can be purged by prefix, every query variant
 * included. `v1` changes whenever the stored shape changes.
 */
export const responseKeyPrefix = 'authctx:v1:resp:';

/**
 * The values of the route's vary fields in `context`, or `undefined` when one is missing or not
 * a string / list of strings: such a request bypasses the cache rather than join a shared
 * "absent" partition. Lists keep their order (the backend may depend on it).
 */
export function partitionValues(route: CachedRouteSpec, context: Readonly<Record<string, unknown>>): Array<string | string[]> | undefined {
  const values: Array<string | string[]> = [];
  for (const field of route.vary) {
    const value = context[field.startsWith('extra.') ? field.slice(6) : field];
    if (typeof value === 'string') values.push(value);
    else if (Array.isArray(value) && value.every((item) => typeof item === 'string')) values.push(value as string[]);
    else return undefined;
  }
  return values;
}

/**
 * Partition values given by an admin purge (`{ "region": "JKT", "regions": "JKT,BDG" }`): every
 * vary field of the route, and nothing else; list fields as comma-separated text.
 */
export function adminPartitionValues(route: CachedRouteSpec, partition: Readonly<Record<string, string>>): Array<string | string[]> | string {
  const given = Object.keys(partition);
  const unknown = given.filter((field) => !route.vary.includes(field));
  const missing = route.vary.filter((field) => partition[field] === undefined);
  if (unknown.length > 0 || missing.length > 0) {
    return `route "${route.name}" is partitioned by ${route.vary.length > 0 ? route.vary.join(', ') : 'nothing (vary=none)'}; the partition must name exactly those fields`;
  }
  return route.vary.map((field) => (isListField(field) ? partition[field]!.split(',').map((v) => v.trim()) : partition[field]!));
}

function isListField(field: string): boolean {
  return field === 'regions' || field === 'slots' || field === 'zones';
}

/**
 * Memo of `digest`, a pure function: every hit on a cached route hashes the same few
 * partitions and paths, and a SHA-256 call costs more than the map lookup. Bounded; it holds
 * no state that could change an answer, so it is shared by every cache instance.
 */
const digestMemo = new Map<string, string>();
const maxDigestMemo = 10_000;

function digest(value: unknown): string {
  const text = JSON.stringify(value);
  let hashed = digestMemo.get(text);
  if (hashed === undefined) {
    hashed = createHash('sha256').update(text).digest('base64url');
    if (digestMemo.size >= maxDigestMemo) digestMemo.clear();
    digestMemo.set(text, hashed);
  }
  return hashed;
}

export function routeKeyPrefix(keyPrefix: string, route: CachedRouteSpec): string {
  return `${keyPrefix}${route.name}:`;
}

export function partitionKeyPrefix(keyPrefix: string, route: CachedRouteSpec, partition: ReadonlyArray<string | string[]>): string {
  return `${routeKeyPrefix(keyPrefix, route)}${digest(partition)}:`;
}

/**
 * The query values that belong in the key, or `undefined` when the request carries a parameter
 * the route does not name (the request bypasses the cache).
 */
export function keyedQuery(route: CachedRouteSpec, query: string): string[][] | undefined {
  if (query === '') return route.query.map(() => []);
  const params = new URLSearchParams(query);
  for (const name of params.keys()) if (!route.query.includes(name)) return undefined;
  return route.query.map((name) => params.getAll(name));
}

export function responseKey(
  keyPrefix: string,
  route: CachedRouteSpec,
  partition: ReadonlyArray<string | string[]>,
  path: string,
  query: readonly string[][],
): string {
  // The path matters for prefix routes; GET is the only method class stored (HEAD reads it).
  return `${partitionKeyPrefix(keyPrefix, route, partition)}${digest(['GET', path, query])}`;
}
