import {
  boolType,
  durationType,
  enumType,
  hostPortType,
  intType,
  numberType,
  sizeType,
  sqlIdentifierType,
  stringType,
  urlType,
  type Parser,
} from './option-types.js';
import { parseRouteList } from '../proxy/route-match.js';
import { parseCachedRoutes } from '../response-cache/cached-routes.js';

/**
 * One option: its environment name, YAML key (the schema key), parser and default.
 * `default: undefined` means "unset" (the option is optional). `secret` values are
 * redacted by `authctx check-config`; `urlSecret` redacts only the URL's credentials.
 */
export interface OptionSpec<T> {
  env: string;
  /** Other environment names honoured for compatibility (lower precedence than `env`). */
  envAliases?: readonly string[];
  parse: Parser<T>;
  default: T | undefined;
  secret?: 'value' | 'url';
  doc: string;
}

const option = <T, D extends T | undefined>(spec: OptionSpec<T> & { default: D }): OptionSpec<T> & { default: D } => spec;

const httpUrl = urlType(['http:', 'https:']);

/**
 * Every option authctx reads, with its default (DESIGN.md "The interface contract").
 * The YAML file named by `AUTHCTX_CONFIG` uses these keys; environment variables
 * override the file.
 */
export const configSchema = {
  listen: option({ env: 'AUTHCTX_LISTEN', parse: hostPortType, default: { host: '0.0.0.0', port: 8080 }, doc: 'proxy listener host:port' }),
  adminListen: option({ env: 'AUTHCTX_ADMIN_LISTEN', parse: hostPortType, default: { host: '0.0.0.0', port: 9090 }, doc: 'admin listener host:port (/metrics, probes, admin API)' }),
  adminToken: option({ env: 'AUTHCTX_ADMIN_TOKEN', parse: stringType, default: undefined, secret: 'value', doc: 'bearer token for admin mutations; unset → mutations refused' }),
  upstreamUrl: option({ env: 'AUTHCTX_UPSTREAM_URL', parse: httpUrl, default: 'http://127.0.0.1:8000', doc: 'the backend' }),
  upstreamTimeout: option({ env: 'AUTHCTX_UPSTREAM_TIMEOUT', parse: durationType, default: 30_000, doc: 'time to wait for the backend response headers (then 504)' }),
  upstreamConnectTimeout: option({ env: 'AUTHCTX_UPSTREAM_CONNECT_TIMEOUT', parse: durationType, default: 5_000, doc: 'time to connect to the backend (then 504)' }),
  upstreamBodyTimeout: option({ env: 'AUTHCTX_UPSTREAM_BODY_TIMEOUT', parse: durationType, default: 300_000, doc: 'idle time allowed between two chunks of the backend response body' }),
  upstreamConnections: option({ env: 'AUTHCTX_UPSTREAM_CONNECTIONS', parse: intType(1, 65_536), default: 256, doc: 'keep-alive connection pool size to the backend' }),
  upstreamKeepAliveTimeout: option({ env: 'AUTHCTX_UPSTREAM_KEEPALIVE_TIMEOUT', parse: durationType, default: 4_000, doc: 'idle keep-alive time for backend connections (keep below the backend\'s own)' }),
  maxBodySize: option({ env: 'AUTHCTX_MAX_BODY_SIZE', parse: sizeType, default: 100 * 1024 ** 2, doc: 'largest request body forwarded (then 413)' }),
  maxHeaderSize: option({ env: 'AUTHCTX_MAX_HEADER_SIZE', parse: sizeType, default: 16 * 1024, doc: 'largest request header block (then 431)' }),
  requestTimeout: option({ env: 'AUTHCTX_REQUEST_TIMEOUT', parse: durationType, default: 0, doc: 'time to receive a whole client request; 0 = no limit (long uploads)' }),
  headersTimeout: option({ env: 'AUTHCTX_HEADERS_TIMEOUT', parse: durationType, default: 30_000, doc: 'time to receive the client request headers' }),
  trustForwardedHeaders: option({ env: 'AUTHCTX_TRUST_FORWARDED_HEADERS', parse: boolType, default: false, doc: 'keep the client\'s X-Forwarded-* (behind a trusted ingress) instead of replacing them' }),
  shutdownGrace: option({ env: 'AUTHCTX_SHUTDOWN_GRACE', parse: durationType, default: 25_000, doc: 'how long in-flight requests may run after SIGTERM' }),
  logLevel: option({ env: 'AUTHCTX_LOG_LEVEL', parse: enumType(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']), default: 'info', doc: 'pino log level' }),
  accessLog: option({ env: 'AUTHCTX_ACCESS_LOG', parse: boolType, default: false, doc: 'log one line per proxied request' }),

  supabaseUrl: option({ env: 'SUPABASE_URL', parse: httpUrl, default: undefined, doc: 'project URL (RPC base, JWKS, issuer)' }),
  supabaseServiceRoleKey: option({ env: 'SUPABASE_SERVICE_ROLE_KEY', parse: stringType, default: undefined, secret: 'value', doc: 'service-role key for the RPC' }),

  jwtSecret: option({ env: 'AUTHCTX_JWT_SECRET', parse: stringType, default: undefined, secret: 'value', doc: 'legacy HS256 secret' }),
  jwksUrl: option({ env: 'AUTHCTX_JWKS_URL', parse: httpUrl, default: undefined, doc: 'JWKS URL; default $SUPABASE_URL/auth/v1/.well-known/jwks.json' }),
  jwtIssuer: option({ env: 'AUTHCTX_JWT_ISSUER', parse: stringType, default: undefined, doc: 'expected iss; default $SUPABASE_URL/auth/v1' }),
  jwtAudience: option({ env: 'AUTHCTX_JWT_AUDIENCE', parse: stringType, default: 'authenticated', doc: 'expected aud' }),
  jwtRoles: option({ env: 'AUTHCTX_JWT_ROLES', parse: stringType, default: 'authenticated', doc: 'comma-separated accepted values of the token\'s role claim' }),
  jwtClockTolerance: option({ env: 'AUTHCTX_JWT_CLOCK_TOLERANCE', parse: durationType, default: 5_000, doc: 'clock skew allowed on exp/nbf/iat' }),
  jwksCooldown: option({ env: 'AUTHCTX_JWKS_COOLDOWN', parse: durationType, default: 30_000, doc: 'minimum time between two JWKS fetches' }),
  jwksMaxAge: option({ env: 'AUTHCTX_JWKS_MAX_AGE', parse: durationType, default: 600_000, doc: 'JWKS refetched in the background after this age; the last good copy is kept on failure' }),
  jwksTimeout: option({ env: 'AUTHCTX_JWKS_TIMEOUT', parse: durationType, default: 5_000, doc: 'JWKS fetch timeout' }),
  tokenCacheMaxEntries: option({ env: 'AUTHCTX_TOKEN_CACHE_MAX_ENTRIES', parse: intType(0, 10_000_000), default: 100_000, doc: 'verified-token cache bound (0 disables it)' }),
  tokenCacheTtl: option({ env: 'AUTHCTX_TOKEN_CACHE_TTL', parse: durationType, default: 300_000, doc: 'cap on how long a verified token is cached (never past its exp)' }),

  source: option({ env: 'AUTHCTX_SOURCE', parse: enumType(['supabase', 'postgres']), default: 'supabase', doc: 'where auth contexts come from' }),
  databaseUrl: option({ env: 'AUTHCTX_DATABASE_URL', parse: urlType(['postgres:', 'postgresql:']), default: undefined, secret: 'url', doc: 'Postgres URL (postgres source, LISTEN/NOTIFY, migrate)' }),
  rpcFunction: option({ env: 'AUTHCTX_RPC_FUNCTION', parse: sqlIdentifierType, default: 'get_user_context', doc: 'the SQL function' }),
  sourceTimeout: option({ env: 'AUTHCTX_SOURCE_TIMEOUT', parse: durationType, default: 2_000, doc: 'per-call timeout of the context source' }),
  sourceMaxConnections: option({ env: 'AUTHCTX_SOURCE_MAX_CONNECTIONS', envAliases: ['DB_MAX_CONNECTIONS'], parse: intType(1, 1_000), default: 20, doc: 'connection pool size to the source' }),
  sourcePoolTimeout: option({ env: 'AUTHCTX_SOURCE_POOL_TIMEOUT', envAliases: ['DB_POOL_TIMEOUT'], parse: durationOrSeconds(), default: 30_000, doc: 'wait for a free pooled connection (DB_POOL_TIMEOUT is seconds)' }),
  sourceRetries: option({ env: 'AUTHCTX_SOURCE_RETRIES', parse: intType(0, 5), default: 2, doc: 'retries on connection errors, with backoff' }),
  notifyChannel: option({ env: 'AUTHCTX_NOTIFY_CHANNEL', parse: sqlIdentifierType, default: 'authctx_invalidate', doc: 'Postgres channel to LISTEN on; the shipped triggers notify authctx_invalidate, so change it only together with your own triggers' }),
  databaseListen: option({ env: 'AUTHCTX_DATABASE_LISTEN', parse: boolType, default: true, doc: 'LISTEN for invalidations when AUTHCTX_DATABASE_URL is set' }),
  invalidationGrace: option({ env: 'AUTHCTX_INVALIDATION_GRACE', parse: durationType, default: 5_000, doc: 'while the Redis invalidation subscription or the Postgres LISTEN is down, cached contexts older than this are re-read (bounds how long a missed invalidation can live)' }),
  circuitFailures: option({ env: 'AUTHCTX_CIRCUIT_FAILURES', parse: intType(1, 1_000), default: 5, doc: 'consecutive failures of the context source (or of Redis) that open its circuit breaker' }),
  circuitCooldown: option({ env: 'AUTHCTX_CIRCUIT_COOLDOWN', parse: durationType, default: 2_000, doc: 'how long an open circuit refuses calls before one probe is let through' }),

  redisUrl: option({ env: 'REDIS_URL', parse: urlType(['redis:', 'rediss:', 'redis+sentinel:', 'sentinel:', 'redis+cluster:']), default: undefined, secret: 'url', doc: 'Redis (L2 + invalidation fan-out); unset → memory only' }),
  redisCommandTimeout: option({ env: 'AUTHCTX_REDIS_COMMAND_TIMEOUT', parse: durationType, default: 50, doc: 'a Redis command slower than this is a miss' }),
  cacheTtl: option({ env: 'AUTHCTX_CACHE_TTL', parse: durationType, default: 900_000, doc: 'context TTL (absolute)' }),
  cacheMaxEntries: option({ env: 'AUTHCTX_CACHE_MAX_ENTRIES', parse: intType(1, 100_000_000), default: 100_000, doc: 'L1 (memory) bound' }),
  cacheTtlJitter: option({ env: 'AUTHCTX_CACHE_TTL_JITTER', parse: numberType(0, 0.5), default: 0.1, doc: 'fraction by which TTLs are randomly shortened so a fleet\'s entries do not expire together' }),
  negativeTtl: option({ env: 'AUTHCTX_NEGATIVE_TTL', parse: durationType, default: 30_000, doc: 'unknown-user TTL' }),
  staleIfError: option({ env: 'AUTHCTX_STALE_IF_ERROR', parse: durationType, default: 3_600_000, doc: 'how long stale context may serve while the source fails' }),

  zonesSource: option({ env: 'AUTHCTX_ZONES_SOURCE', parse: enumType(['bigquery', 'file', 'none']), default: 'none', doc: 'zone reference data source' }),
  zonesRefresh: option({ env: 'AUTHCTX_ZONES_REFRESH', parse: durationType, default: 86_400_000, doc: 'zone refresh period' }),
  zonesFile: option({ env: 'AUTHCTX_ZONES_FILE', parse: stringType, default: undefined, doc: 'CSV (region_code,zone_code) or JSON file for the file source' }),
  zonesReadiness: option({ env: 'AUTHCTX_ZONES_READINESS', parse: enumType(['immediate', 'loaded']), default: 'immediate', doc: 'ready at once, or only once zones are loaded' }),
  zonesJobTimeout: option({ env: 'AUTHCTX_ZONES_JOB_TIMEOUT', parse: durationType, default: 60_000, doc: 'bound on one zone load (BigQuery job)' }),
  bigqueryProject: option({ env: 'AUTHCTX_BIGQUERY_PROJECT', parse: stringType, default: undefined, doc: 'GCP project (else from credentials / ADC)' }),
  bigqueryDataset: option({ env: 'AUTHCTX_BIGQUERY_DATASET', parse: stringType, default: undefined, doc: 'dataset holding the zones table (default query)' }),
  bigqueryQuery: option({ env: 'AUTHCTX_BIGQUERY_QUERY', parse: stringType, default: undefined, doc: 'query returning region_code, zone_code' }),
  bigqueryLocation: option({ env: 'AUTHCTX_BIGQUERY_LOCATION', parse: stringType, default: undefined, doc: 'BigQuery location (e.g. US, asia-southeast2)' }),
  bigqueryKeyFile: option({ env: 'AUTHCTX_BIGQUERY_KEY_FILE', parse: stringType, default: undefined, doc: 'service-account key file (else GOOGLE_APPLICATION_CREDENTIALS / ADC)' }),
  bigqueryApiEndpoint: option({ env: 'AUTHCTX_BIGQUERY_API_ENDPOINT', parse: httpUrl, default: undefined, doc: 'BigQuery API endpoint override (emulators, tests)' }),

  contextRoutes: option({ env: 'AUTHCTX_CONTEXT_ROUTES', parse: parseRouteList, default: [{ method: 'GET', path: '/api/auth/context', prefix: false }], doc: 'routes answered by authctx itself' }),
  publicRoutes: option({ env: 'AUTHCTX_PUBLIC_ROUTES', parse: parseRouteList, default: [{ method: undefined, path: '/health', prefix: false }], doc: 'routes forwarded without auth' }),
  cachedRoutes: option({ env: 'AUTHCTX_CACHED_ROUTES', parse: parseCachedRoutes, default: undefined, doc: 'backend responses cached per context partition: ";"-separated "GET PATH ttl=DURATION vary=FIELD,… [query=PARAM,…] [swr=DURATION] [max-size=SIZE] [name=NAME]"' }),
  responseCacheMaxEntries: option({ env: 'AUTHCTX_RESPONSE_CACHE_MAX_ENTRIES', parse: intType(1, 10_000_000), default: 10_000, doc: 'cached responses held in memory (per replica)' }),
  responseCacheMaxBytes: option({ env: 'AUTHCTX_RESPONSE_CACHE_MAX_BYTES', parse: sizeType, default: 64 * 1024 ** 2, doc: 'bytes of cached responses held in memory (per replica)' }),

  maxInFlight: option({ env: 'AUTHCTX_MAX_IN_FLIGHT', parse: intType(0, 1_000_000), default: 0, doc: 'in-flight requests above which new ones get 503 + Retry-After (0 = no limit)' }),
  maxEventLoopDelay: option({ env: 'AUTHCTX_MAX_EVENT_LOOP_DELAY', parse: durationType, default: 0, doc: 'event-loop delay above which new requests get 503 + Retry-After (0 = off)' }),
} as const;

function durationOrSeconds(): Parser<number> {
  // DB_POOL_TIMEOUT from the seeds is a bare number of seconds.
  return (text) => (/^\d+$/.test(text.trim()) && text.trim() !== '0' ? { ok: true, value: Number(text) * 1000 } : durationType(text));
}

export type ConfigSchema = typeof configSchema;
export type OptionName = keyof ConfigSchema;
type ValueOf<S> = S extends OptionSpec<infer T> & { default: infer D } ? (undefined extends D ? T | undefined : T) : never;

/** The effective, frozen configuration. Optional options are `undefined` when unset. */
export type Config = { readonly [K in OptionName]: ValueOf<ConfigSchema[K]> };
