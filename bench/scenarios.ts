/**
 * The scenarios: what is started, and which users the load generator sends. Every
 * scenario loads the same origin path with the same request (an Authorization header
 * included even where nothing reads it), so the proxies differ only in what they do.
 */
import type { TokenPlan } from './load/load-job.js';
import { startAuthctx, startNginxTarget, startServer, type Environment, type Target } from './processes-under-test.js';
import { nginxBinary } from './nginx.js';

export interface BenchUsers {
  /** One per connection: the hot path. */
  hot: string[];
  /** The mixed scenario's population (Zipf over it). */
  mixed: string[];
  /** Never-seen users for the mixed scenario's churn, split between rounds. */
  churn: string[];
  /** Every active seeded user: the cold scenario cycles through them. */
  all: string[];
}

export interface ScenarioEnvironment extends Environment {
  originPid: number;
  users: BenchUsers;
  redisUrl: string;
  rounds: number;
  /** Whether this build caches routes (AUTHCTX_CACHED_ROUTES), found by a probe. */
  cachedRoutes: boolean;
  /** The legacy backend's simulated BigQuery delay, ms. */
  zoneDelayMs: number;
}

export interface Scenario {
  name: string;
  group: 'baseline' | 'authctx' | 'peer';
  description: string;
  /** Why the scenario cannot run here, if it cannot. */
  skipReason?(env: ScenarioEnvironment): string | undefined;
  start(env: ScenarioEnvironment): Promise<Target>;
  plan(env: ScenarioEnvironment, round: number): { path: string; tokens: TokenPlan };
  /** The origin must see X-User-Role on (nearly) every request. */
  injectsContext: boolean;
}

export const dataPath = '/api/data';
export const leaderboardPath = '/api/leaderboard';
export const cachedRouteSpec = `GET ${leaderboardPath} ttl=5m vary=region`;

/**
 * Redis shares the load generator's core, which the generator saturates by design: at the
 * default 50 ms command timeout a scheduling stall there opens authctx's Redis circuit and
 * turns the L2 scenarios into cold ones. The bench allows 500 ms (see bench/README.md).
 */
export const redisEnv = (env: ScenarioEnvironment): Record<string, string> => ({ REDIS_URL: env.redisUrl, AUTHCTX_REDIS_COMMAND_TIMEOUT: '500ms' });

const hot = (env: ScenarioEnvironment): { path: string; tokens: TokenPlan } => ({ path: dataPath, tokens: { mode: 'fixed', users: env.users.hot } });
const noNginx = (): string | undefined => (nginxBinary ? undefined : 'nginx is not installed (apt-get install nginx-light)');

export const scenarios: Scenario[] = [
  {
    name: 'direct',
    group: 'baseline',
    description: 'client → origin, no proxy: the ceiling (CPU is the origin\'s)',
    start: async (env) => ({ url: env.originUrl, pids: () => [env.originPid], stop: async () => undefined }),
    plan: hot,
    injectsContext: false,
  },
  {
    name: 'legacy',
    group: 'baseline',
    description: 'the seeds\' backend: token check, 4 queries on Postgres and a simulated BigQuery zone lookup per request',
    start: (env) => startServer(env, 'legacy', 'legacy-backend', [], { LEGACY_ZONE_DELAY_MS: String(env.zoneDelayMs) }),
    plan: hot,
    injectsContext: false,
  },
  {
    name: 'authctx-memory',
    group: 'authctx',
    description: 'hot users: verified-token cache and L1 (memory) hits',
    start: (env) => startAuthctx(env, { name: 'authctx-memory' }),
    plan: hot,
    injectsContext: true,
  },
  {
    name: 'authctx-redis',
    group: 'authctx',
    description: 'L1 bounded to 1 entry: nearly every context read is an L2 (Redis) hit',
    start: (env) => startAuthctx(env, { name: 'authctx-redis', env: { ...redisEnv(env), AUTHCTX_CACHE_MAX_ENTRIES: '1' } }),
    plan: hot,
    injectsContext: true,
  },
  {
    name: 'authctx-cold',
    group: 'authctx',
    description: 'every request a user not in cache (caches far smaller than the population, no Redis): a source call each time',
    start: (env) =>
      startAuthctx(env, { name: 'authctx-cold', env: { AUTHCTX_CACHE_MAX_ENTRIES: '100', AUTHCTX_TOKEN_CACHE_MAX_ENTRIES: '100' } }),
    plan: (env, round) => ({ path: dataPath, tokens: { mode: 'cycle', users: env.users.all, seed: 7919 * (round + 1) } }),
    injectsContext: true,
  },
  {
    name: 'authctx-mixed',
    group: 'authctx',
    description: 'Zipf (s=1) over 10k users, 1% never-seen users; L1 + Redis',
    start: (env) => startAuthctx(env, { name: 'authctx-mixed', env: redisEnv(env) }),
    plan: (env, round) => {
      const share = Math.floor(env.users.churn.length / env.rounds);
      return {
        path: dataPath,
        tokens: { mode: 'zipf', users: env.users.mixed, churnUsers: env.users.churn.slice(round * share, (round + 1) * share), churnFraction: 0.01, seed: round + 1 },
      };
    },
    injectsContext: true,
  },
  {
    name: 'authctx-cached-route',
    group: 'authctx',
    description: `a slow backend route (20 ms of CPU) cached by authctx: ${cachedRouteSpec}`,
    skipReason: (env) => (env.cachedRoutes ? undefined : 'this build does not cache routes yet (AUTHCTX_CACHED_ROUTES probe: the origin saw every request)'),
    start: (env) => startAuthctx(env, { name: 'authctx-cached-route', env: { AUTHCTX_CACHED_ROUTES: cachedRouteSpec } }),
    plan: (env) => ({ path: leaderboardPath, tokens: { mode: 'fixed', users: env.users.hot } }),
    injectsContext: false,
  },
  {
    name: 'direct-leaderboard',
    group: 'baseline',
    description: 'client → origin on the slow route (20 ms of CPU per request): the backend\'s own time beside authctx-cached-route',
    skipReason: (env) => (env.cachedRoutes ? undefined : 'runs with authctx-cached-route only'),
    start: async (env) => ({ url: env.originUrl, pids: () => [env.originPid], stop: async () => undefined }),
    plan: (env) => ({ path: leaderboardPath, tokens: { mode: 'fixed', users: env.users.hot } }),
    injectsContext: false,
  },
  {
    name: 'http-proxy',
    group: 'peer',
    description: 'plain `http-proxy` (keep-alive agent), no auth',
    start: (env) => startServer(env, 'http-proxy', 'peer-proxy', ['http-proxy']),
    plan: hot,
    injectsContext: false,
  },
  {
    name: 'fastify-http-proxy',
    group: 'peer',
    description: 'plain `@fastify/http-proxy` (undici), no auth',
    start: (env) => startServer(env, 'fastify-http-proxy', 'peer-proxy', ['fastify']),
    plan: hot,
    injectsContext: false,
  },
  {
    name: 'undici-dispatch',
    group: 'peer',
    description: 'the floor for a Node proxy: node:http server + undici `Pool.dispatch`, headers passed through, no auth',
    start: (env) => startServer(env, 'undici-dispatch', 'peer-proxy', ['undici-dispatch']),
    plan: hot,
    injectsContext: false,
  },
  {
    name: 'nginx-proxy',
    group: 'peer',
    description: 'nginx as a plain reverse proxy (1 worker, upstream keep-alive)',
    skipReason: noNginx,
    start: (env) => startNginxTarget(env, 'nginx-proxy', false),
    plan: hot,
    injectsContext: false,
  },
  {
    name: 'nginx-auth-request',
    group: 'peer',
    description: 'nginx `auth_request` → Node auth service (jose + get_user_context), answers in `proxy_cache` keyed on the token',
    skipReason: noNginx,
    start: (env) => startNginxTarget(env, 'nginx-auth-request', true),
    plan: hot,
    injectsContext: true,
  },
];
