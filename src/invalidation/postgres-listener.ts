import pg from 'pg';
import type { Logger } from 'pino';
import { normalizeEmail } from '../cache/cache-key.js';
import { createWarnLimiter } from '../cache/warn-limiter.js';
import { reconnectDelayMs } from './backoff.js';
import type { SubscriptionHealth } from './subscription-health.js';

export interface PostgresListenerOptions {
  /** `AUTHCTX_DATABASE_URL`. */
  connectionString: string;
  /** The channel the migration's triggers notify (`AUTHCTX_NOTIFY_CHANNEL`); a checked SQL identifier. */
  channel: string;
  /** A trigger named this (normalized) email: its context changed. */
  onNotify: (email: string) => void;
  /** Receives `up('postgres')` / `down('postgres')`. */
  health?: SubscriptionHealth | undefined;
  /** First reconnect delay, ms; doubles per failed attempt. Default 100. */
  minBackoffMs?: number;
  /** Cap on the reconnect delay, ms. Default 5 000. */
  maxBackoffMs?: number;
  /** Bound on connecting and on the heartbeat query, ms. Default 5 000. */
  timeoutMs?: number;
  /**
   * `SELECT 1` on the listening connection this often, ms: a server that hangs or a network that
   * drops packets would otherwise look like a quiet channel until TCP keepalive notices. Default 10 000.
   */
  heartbeatMs?: number;
  random?: () => number;
  logger: Logger;
}

export interface PostgresListener {
  start(): void;
  readonly listening: boolean;
  /** The listening connection's backend pid (tests terminate it), or undefined while down. */
  readonly backendPid: number | undefined;
  close(): Promise<void>;
}

/**
 * LISTEN on one channel over a dedicated `pg.Client`, reconnecting with capped exponential
 * backoff and jitter. Notifications sent while it is down are lost (Postgres does not queue
 * them for absent listeners): the subscription health shortens what the caches trust meanwhile
 * and drops the memory tier once it is back.
 */
export function createPostgresListener(options: PostgresListenerOptions): PostgresListener {
  const { logger } = options;
  const minBackoffMs = options.minBackoffMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const random = options.random ?? Math.random;
  const limiter = createWarnLimiter(logger);
  // The identifier was validated by the config parser; quoted all the same.
  const listenSql = `LISTEN "${options.channel.replace(/"/g, '""')}"`;
  let client: pg.Client | undefined;
  let listening = false;
  let backendPid: number | undefined;
  let closed = false;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  options.health?.track('postgres');

  function onNotification(message: pg.Notification): void {
    if (message.channel !== options.channel || message.payload === undefined) return;
    const email = normalizeEmail(message.payload);
    if (email !== null) options.onNotify(email);
  }

  /** Tears one connection down (once) and schedules the next attempt. */
  function lost(lostClient: pg.Client, error: unknown): void {
    if (client !== lostClient) return;
    client = undefined;
    backendPid = undefined;
    if (listening) {
      listening = false;
      options.health?.down('postgres');
    }
    lostClient.removeAllListeners('notification');
    // An 'error' after this point must not reach the process as unhandled.
    lostClient.on('error', () => undefined);
    lostClient.end().catch((endError: unknown) => logger.debug({ err: endError }, 'postgres listener: end after failure'));
    if (closed) return;
    const delayMs = reconnectDelayMs(attempt++, { minMs: minBackoffMs, maxMs: maxBackoffMs, random });
    limiter.warn('lost', error, `postgres invalidation listener down; reconnecting in ${Math.round(delayMs)} ms`);
    reconnectTimer = setTimeout(connect, delayMs);
    reconnectTimer.unref();
  }

  function connect(): void {
    reconnectTimer = undefined;
    if (closed) return;
    const next = new pg.Client({
      connectionString: options.connectionString,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      keepAlive: true,
      application_name: 'authctx-listener',
    });
    client = next;
    next.on('notification', onNotification);
    next.on('error', (error) => lost(next, error));
    next.on('end', () => lost(next, new Error('connection ended')));
    next
      .connect()
      .then(() => next.query<{ pid: number }>('select pg_backend_pid() as pid'))
      .then(async (result) => {
        await next.query(listenSql);
        if (client !== next || closed) return;
        backendPid = result.rows[0]?.pid;
        attempt = 0;
        listening = true;
        options.health?.up('postgres');
        logger.info({ channel: options.channel }, 'postgres invalidation listener subscribed');
      })
      .catch((error: unknown) => lost(next, error));
  }

  function beat(): void {
    const current = client;
    if (!current || !listening) return;
    current.query('select 1').catch((error: unknown) => lost(current, error));
  }

  return {
    start() {
      if (closed || client || reconnectTimer) return;
      connect();
      heartbeat = setInterval(beat, heartbeatMs);
      heartbeat.unref();
    },
    get listening() {
      return listening;
    },
    get backendPid() {
      return backendPid;
    },
    async close() {
      closed = true;
      clearTimeout(reconnectTimer);
      clearInterval(heartbeat);
      const current = client;
      client = undefined;
      listening = false;
      if (!current) return;
      current.removeAllListeners('notification');
      current.removeAllListeners('end');
      current.on('error', () => undefined);
      await current.end().catch((error: unknown) => logger.debug({ err: error }, 'postgres listener: end on close'));
    },
  };
}
