/**
 * What the demo prints under "try it": each scenario is one HTTP request, shown as a
 * `curl` line and checked, with `fetch`, by test/e2e/demo.test.ts. The curl line is
 * generated from the same request so the two cannot drift apart.
 */

export interface DemoRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
}

export interface ScenarioExpectation {
  status: number;
  /** Every key here must equal (deeply) the same key of the JSON body. */
  json?: Record<string, unknown>;
  /** Substrings the body must contain (text answers such as /metrics). */
  contains?: string[];
  /** True when the request must not reach the demo backend. */
  backendUntouched?: boolean;
}

export interface Scenario {
  name: string;
  /** One line on why the answer is what it is. */
  note: string;
  request: DemoRequest;
  /** The request as a shell line; tokens appear as `$NAME` (exported beforehand). */
  curl: string;
  expect: ScenarioExpectation;
}

/** A token the demo prints as `export NAME=…`. */
export interface DemoToken {
  /** Shell variable name, e.g. RINA_TOKEN. */
  env: string;
  /** The token's `sub` (X-User-Id). */
  sub: string;
  email: string;
  /** Who this is, e.g. "area_manager in JKT, also sees BDG". */
  about: string;
  token: string;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `curl` for a request; header values holding a known token use its shell variable. */
export function toCurl(request: DemoRequest, tokens: readonly DemoToken[], extra = ''): string {
  const parts = ['curl -si'];
  if (request.method !== 'GET') parts.push(`-X ${request.method}`);
  for (const [name, value] of Object.entries(request.headers)) {
    const token = tokens.find((t) => value.includes(t.token));
    parts.push(token ? `-H "${name}: ${value.replace(token.token, `$${token.env}`)}"` : `-H ${shellQuote(`${name}: ${value}`)}`);
  }
  parts.push(request.url);
  return parts.join(' ') + extra;
}

export interface ScenarioInput {
  proxyUrl: string;
  adminUrl: string;
  adminToken: string;
  rina: DemoToken;
  admin: DemoToken;
  agent: DemoToken;
  unknown: DemoToken;
  forged: DemoToken;
  /** Zones of every region in rina's scope, as X-User-Zones carries them. */
  rinaZones: string;
  /** Zones of the agent's regions. */
  agentZones: string;
  /** Zones of every region (the admin's scope is `all`). */
  adminZones: string[];
}

export function buildScenarios(input: ScenarioInput): Scenario[] {
  const tokens = [input.rina, input.admin, input.agent, input.unknown, input.forged];
  const bearer = (t: DemoToken) => ({ authorization: `Bearer ${t.token}` });
  const make = (name: string, note: string, request: DemoRequest, expect: ScenarioExpectation, extra?: string): Scenario => ({
    name,
    note,
    request,
    curl: toCurl(request, tokens, extra),
    expect,
  });
  const proxy = (path: string) => `${input.proxyUrl}${path}`;
  return [
    make(
      'forwarded request',
      `${input.rina.email} (${input.rina.about}): the backend receives the X-User-* headers`,
      { method: 'GET', url: proxy('/api/orders'), headers: bearer(input.rina) },
      {
        status: 200,
        json: {
          path: '/api/orders',
          identity: {
            'x-user-id': input.rina.sub,
            'x-user-email': 'rina@example.com',
            'x-user-role': 'area_manager',
            'x-user-region': 'JKT',
            'x-user-scope': 'region',
            'x-user-zones': input.rinaZones,
          },
        },
      },
    ),
    make(
      'spoofed identity header',
      'a client-supplied X-User-Role is stripped; the backend still sees area_manager',
      { method: 'GET', url: proxy('/api/orders'), headers: { ...bearer(input.rina), 'x-user-role': 'admin' } },
      { status: 200, json: { identity: { 'x-user-role': 'area_manager' } } },
    ),
    make(
      'another role and region',
      `${input.agent.email} (${input.agent.about})`,
      { method: 'GET', url: proxy('/api/orders'), headers: bearer(input.agent) },
      {
        status: 200,
        json: {
          identity: {
            'x-user-id': input.agent.sub,
            'x-user-email': input.agent.email,
            'x-user-role': 'agent',
            'x-user-region': 'SBY',
            'x-user-scope': 'slot',
            'x-user-zones': input.agentZones,
          },
        },
      },
    ),
    make(
      'auth-context route',
      `answered by authctx from its cache; the backend is not called (${input.admin.email}, ${input.admin.about})`,
      { method: 'GET', url: proxy('/api/auth/context'), headers: bearer(input.admin) },
      {
        status: 200,
        json: { user_id: input.admin.sub, email: 'admin@example.com', role: 'admin', scope: 'all', region: 'JKT', zones: input.adminZones },
        backendUntouched: true,
      },
    ),
    make(
      'unknown user',
      `${input.unknown.email} has a valid token but is not an active employee → 403`,
      { method: 'GET', url: proxy('/api/orders'), headers: bearer(input.unknown) },
      { status: 403, json: { code: 'AUTHCTX_ERR_CONTEXT_FORBIDDEN' }, backendUntouched: true },
    ),
    make(
      'forged token',
      'signed with another secret → 401, the backend is not called',
      { method: 'GET', url: proxy('/api/orders'), headers: bearer(input.forged) },
      { status: 401, json: { code: 'AUTHCTX_ERR_AUTH_INVALID_TOKEN' }, backendUntouched: true },
    ),
    make(
      'public route',
      '/health needs no token (still stripped of identity headers)',
      { method: 'GET', url: proxy('/health'), headers: {} },
      { status: 200, json: { path: '/health', identity: {} } },
    ),
    make(
      'cache stats',
      'the admin listener: entries and hit counts',
      { method: 'GET', url: `${input.adminUrl}/api/admin/cache/stats`, headers: {} },
      { status: 200, json: { user_context_cache: { source: 'postgres' }, zone_cache: { source: 'file' } } },
    ),
    make(
      'invalidate one user',
      'admin mutation with the demo admin token: the next request reloads rina from the database',
      { method: 'POST', url: `${input.adminUrl}/api/admin/cache/invalidate/rina@example.com`, headers: { authorization: `Bearer ${input.adminToken}` } },
      { status: 200, json: { email: 'rina@example.com', invalidated: true } },
    ),
    make(
      'metrics',
      'Prometheus metrics: cache hits and misses, source calls, latencies',
      { method: 'GET', url: `${input.adminUrl}/metrics`, headers: {} },
      { status: 200, contains: ['authctx_cache_requests_total', 'authctx_context_source_requests_total'] },
      ' | grep -E "^authctx_(cache_requests|context_source_requests)_total"',
    ),
  ];
}
