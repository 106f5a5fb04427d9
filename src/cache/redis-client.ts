import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { getOrCreateGauge } from '../metrics/get-or-create.js';
import { metricNames } from '../metrics/names.js';
import { createWarnLimiter } from './warn-limiter.js';

/** What a client is for; the `client` label of `authctx_redis_connected` (a closed set). */
export type RedisClientName = 'cache' | 'subscriber' | 'publisher' | 'zones';

export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  /**
   * `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS),
   * `redis+sentinel://[user:pass@]host:port,host:port/mastername[/db]` (also `sentinel://`,
   * `rediss+sentinel://`), or `redis+cluster://[user:pass@]host:port,host:port` (also `rediss+cluster://`).
   */
  url: string;
  /** A command without a reply after this long fails (and the store treats it as a miss). Default 50 ms. */
  commandTimeoutMs?: number;
  /** Give up on one connection attempt after this long. Default 1000 ms. */
  connectTimeoutMs?: number;
  /** Reconnect backoff doubles from 50 ms up to this cap, and never stops. Default 2000 ms. */
  maxReconnectDelayMs?: number;
  /** Connection errors go here at warn, at most one line per 10 s per kind. */
  logger?: Logger;
  /** Registry for `authctx_redis_connected{client}`; none → no metric. */
  registry?: Registry;
  /** Label and `CLIENT SETNAME` suffix. Default `cache`. */
  name?: RedisClientName;
  /** Pipeline commands issued in one tick into one write (ioredis auto-pipelining). Default false. */
  autoPipelining?: boolean;
}

/** A parsed Redis URL: which client to build and with what. */
export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | {
      kind: 'sentinel';
      sentinels: Array<{ host: string; port: number }>;
      masterName: string;
      username?: string;
      password?: string;
      db?: number;
      tls: boolean;
    }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }>; username?: string; password?: string; tls: boolean };

const multiHostUrl = /^(rediss?)\+(sentinel|cluster):\/\/(?:([^@/]*)@)?([^/]+)(?:\/(.*))?$/;

/** Parses the URL forms `createRedisClient` accepts; throws a `TypeError` naming the problem. */
export function parseRedisUrl(url: string): RedisTarget {
  const normalized = url.startsWith('sentinel://') ? `redis+${url}` : url;
  if (/^rediss?:\/\//.test(normalized)) {
    // Validates early; ioredis parses the rest (auth, db, TLS for rediss).
    new URL(normalized);
    return { kind: 'standalone', url: normalized };
  }
  const match = multiHostUrl.exec(normalized);
  if (!match) throw new TypeError(`unsupported Redis URL scheme in ${redactUrl(url)}`);
  const [, scheme, kind, auth, hostList = '', path = ''] = match;
  const defaultPort = kind === 'sentinel' ? 26379 : 6379;
  const hosts = hostList.split(',').map((entry) => parseHostPort(entry, defaultPort, url));
  const credentials = parseAuth(auth);
  const tls = scheme === 'rediss';
  if (kind === 'cluster') return { kind: 'cluster', nodes: hosts, ...credentials, tls };
  const [masterName, db] = path.split('/').map(decodeURIComponent);
  if (!masterName) throw new TypeError(`a sentinel URL needs the master name as its path: ${redactUrl(url)}`);
  const target: RedisTarget = { kind: 'sentinel', sentinels: hosts, masterName, ...credentials, tls };
  if (db !== undefined && db !== '') {
    if (!/^\d+$/.test(db)) throw new TypeError(`bad database number in ${redactUrl(url)}`);
    target.db = Number(db);
  }
  return target;
}

/**
 * A fail-fast ioredis client: no offline queue (a command while disconnected fails at once),
 * a command timeout in tens of milliseconds, no per-command retries, and reconnection that
 * never gives up but waits at most `maxReconnectDelayMs` between attempts. A sidecar lives as
 * long as its pod; Redis coming back minutes later must be picked up without a restart.
 */
export function createRedisClient(options: RedisClientOptions): RedisClient {
  const name = options.name ?? 'cache';
  const maxDelayMs = options.maxReconnectDelayMs ?? 2000;
  const retryStrategy = (times: number): number => Math.min(50 * 2 ** Math.min(times, 16), maxDelayMs);
  const common = {
    commandTimeout: options.commandTimeoutMs ?? 50,
    connectTimeout: options.connectTimeoutMs ?? 1000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    lazyConnect: false,
    connectionName: `authctx-${name}`,
    // ioredis arms a ref'd timer of this length on disconnect() and only clears it on the
    // socket's 'close', which never comes again for a socket that already failed (Redis down):
    // the default 2 s would hold the process that long after a clean shutdown.
    disconnectTimeout: 200,
    enableAutoPipelining: options.autoPipelining ?? false,
  } satisfies RedisOptions;

  const target = parseRedisUrl(options.url);
  let client: RedisClient;
  if (target.kind === 'standalone') {
    client = new Redis(target.url, { ...common, retryStrategy });
  } else if (target.kind === 'sentinel') {
    client = new Redis({
      ...common,
      retryStrategy,
      sentinelRetryStrategy: retryStrategy,
      sentinels: target.sentinels,
      name: target.masterName,
      username: target.username,
      password: target.password,
      sentinelUsername: target.username,
      sentinelPassword: target.password,
      db: target.db ?? 0,
      ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    });
  } else {
    const { enableOfflineQueue, ...perNode } = common;
    const clusterOptions: ClusterOptions = {
      enableOfflineQueue,
      clusterRetryStrategy: retryStrategy,
      slotsRefreshTimeout: Math.max(common.connectTimeout, 1000),
      redisOptions: {
        ...perNode,
        username: target.username,
        password: target.password,
        ...(target.tls ? { tls: {} } : {}),
      },
    };
    client = new Cluster(target.nodes, clusterOptions);
  }
  observe(client, name, options);
  return client;
}

/** Whether commands can be sent now (otherwise they fail at once: there is no offline queue). */
export function isRedisReady(client: RedisClient): boolean {
  return client.status === 'ready';
}

function observe(client: RedisClient, name: RedisClientName, options: RedisClientOptions): void {
  const gauge = options.registry
    ? getOrCreateGauge(options.registry, {
        name: metricNames.redisUp,
        help: 'Whether a Redis client is connected and ready (1) or not (0), by client',
        labelNames: ['client'],
      }).labels({ client: name })
    : undefined;
  gauge?.set(0);
  const limiter = createWarnLimiter(options.logger?.child({ redisClient: name }));
  const target = redactUrl(options.url);
  client.on('ready', () => {
    gauge?.set(1);
    options.logger?.info({ redisClient: name, target }, 'redis connected');
  });
  for (const event of ['close', 'end', 'reconnecting'] as const) client.on(event, () => gauge?.set(0));
  // Without an 'error' listener ioredis would print every connection error itself.
  client.on('error', (error: unknown) => limiter.warn('connection', error, `redis ${name} connection error`));
  if (client instanceof Cluster) client.on('node error', (error: unknown) => limiter.warn('node', error, `redis ${name} cluster node error`));
}

function parseHostPort(entry: string, defaultPort: number, url: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry.trim());
  if (!match?.[1]) throw new TypeError(`bad host:port "${entry}" in ${redactUrl(url)}`);
  const host = match[1].replace(/^\[|\]$/g, '');
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (!(port > 0 && port < 65536)) throw new TypeError(`bad port in ${redactUrl(url)}`);
  return { host, port };
}

function parseAuth(auth: string | undefined): { username?: string; password?: string } {
  if (!auth) return {};
  const colon = auth.indexOf(':');
  if (colon < 0) return { username: decodeURIComponent(auth) };
  const username = decodeURIComponent(auth.slice(0, colon));
  const password = decodeURIComponent(auth.slice(colon + 1));
  return { ...(username ? { username } : {}), password };
}

/** The URL without its password, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_whole, auth: string) => `//${auth.includes(':') ? `${auth.slice(0, auth.indexOf(':'))}:***` : auth}@`);
}
