import type { ParseResult } from '../config/option-types.js';

/**
 * Route lists (`AUTHCTX_CONTEXT_ROUTES`, `AUTHCTX_PUBLIC_ROUTES`): entries separated by
 * `,` or `;`, each `[METHOD ]PATH`. PATH is exact, or a prefix when it ends in `/*`
 * (`/static/*` matches `/static/a.css`, not `/static`). No METHOD means any method;
 * `GET` also matches `HEAD`. Matching runs on the canonical path only (see
 * `canonicalPath`): a path with `//`, dot segments or encoded slashes never matches a
 * route, so it can never turn a protected request into a public one.
 */
export interface RouteSpec {
  method: string | undefined;
  path: string;
  prefix: boolean;
}

export interface RouteMatcher {
  readonly routes: readonly RouteSpec[];
  matches(method: string, path: string): boolean;
}

const methodPattern = /^[A-Z]{3,10}$/;
const pathPattern = /^\/[A-Za-z0-9\-._~!$&'()+,;=:@/%]*$/;

export function parseRouteList(text: string): ParseResult<RouteSpec[]> {
  const routes: RouteSpec[] = [];
  const problems: string[] = [];
  for (const raw of text.split(/[,;\n]/)) {
    const entry = raw.trim();
    if (entry === '') continue;
    const parts = entry.split(/\s+/);
    const [first, second, ...rest] = parts;
    const method = parts.length >= 2 ? first : undefined;
    let path = (parts.length >= 2 ? second : first) ?? '';
    if (rest.length > 0 || (method !== undefined && !methodPattern.test(method))) {
      problems.push(`"${entry}" is not "[METHOD ]PATH"`);
      continue;
    }
    const prefix = path.endsWith('/*');
    if (prefix) path = path.slice(0, -1);
    if (!pathPattern.test(path) || path.includes('*') || canonicalPath(path) === undefined) {
      problems.push(`"${entry}": path must start with "/", may end in "/*", and have no "..", "//" or wildcards inside`);
      continue;
    }
    routes.push({ method, path, prefix });
  }
  return problems.length > 0 ? { ok: false, problem: problems.join('; ') } : { ok: true, value: routes };
}

export function createRouteMatcher(routes: readonly RouteSpec[]): RouteMatcher {
  const exact = new Map<string, Array<string | undefined>>();
  const prefixes: RouteSpec[] = [];
  for (const route of routes) {
    if (route.prefix) prefixes.push(route);
    else exact.set(route.path, [...(exact.get(route.path) ?? []), route.method]);
  }
  const methodMatches = (want: string | undefined, method: string) =>
    want === undefined || want === method || (want === 'GET' && method === 'HEAD');
  return {
    routes,
    matches(method, path) {
      const methods = exact.get(path);
      if (methods?.some((m) => methodMatches(m, method))) return true;
      for (const route of prefixes) {
        if (path.startsWith(route.path) && methodMatches(route.method, method)) return true;
      }
      return false;
    },
  };
}

/**
 * The path of an origin-form request target when it is canonical, else `undefined`:
 * one leading `/`, no empty (`//`) or dot segments, no encoded `/`, `\` or `.`, no
 * backslash. RFC 3986 §6 leaves such forms to each server; a backend may normalize them
 * differently from us, so they must never match a route that skips authentication.
 */
export function canonicalPath(path: string): string | undefined {
  if (path.charCodeAt(0) !== 47 /* / */) return undefined;
  if (path.includes('//') || path.includes('\\')) return undefined;
  if (path.includes('%') && /%(2f|5c|2e)/i.test(path)) return undefined;
  if (path.includes('/.')) {
    for (const segment of path.split('/')) if (segment === '.' || segment === '..') return undefined;
  }
  return path;
}

/** True when the target contains a dot segment, raw or percent-encoded (`/../`, `/%2E%2E/`). */
export function hasDotSegment(path: string): boolean {
  if (!path.includes('.') && !path.includes('%')) return false;
  for (const segment of path.split('/')) {
    const decoded = segment.includes('%') ? segment.replace(/%2e/gi, '.') : segment;
    if (decoded === '.' || decoded === '..') return true;
  }
  return false;
}
