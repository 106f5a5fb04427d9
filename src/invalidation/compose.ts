import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createRedisClient, type RedisClient } from '../cache/redis-client.js';
import type { Config } from '../config/schema.js';
import type { ContextResolver } from '../context/resolver.js';
import { getOrCreateCounter } from '../metrics/get-or-create.js';
import { metricNames } from '../metrics/names.js';
import { createPostgresListener, type PostgresListener } from './postgres-listener.js';
import { createRedisFanOut, type RedisFanOut } from './redis-fan-out.js';
import { createSubscriptionHealth, type SubscriptionHealth } from './subscription-health.js';

/** Where an invalidation came from; the `origin` label of `authctx_invalidations_total`. */
export type InvalidationOrigin = 'admin' | 'pubsub' | 'postgres';

export interface InvalidationPart {
  readonly health: SubscriptionHealth;
  readonly fanOut: RedisFanOut | undefined;
  readonly listener: PostgresListener | undefined;
  /** The resolver's `onInvalidate`: an invalidation made on this replica, told to the others. */
  onInvalidate(email: string): void;
  /** The resolver's `maxEntryAgeMs`. */
  maxEntryAgeMs(): number;
  /** Tells the other replicas that every context was cleared (admin clear). */
  publishClear(): Promise<void>;
  /** Connects the receivers to the resolver; call once, before `start`. */
  bind(resolver: ContextResolver): void;
  start(): void;
  close(): Promise<void>;
}

export interface InvalidationDeps {
  registry: Registry;
  logger: Logger;
  /** The cache client, reused to publish. Unset → no fan-out. */
  redis: RedisClient | undefined;
  /** Heartbeat periods (tests shorten them). Defaults: Redis 1 000 ms, Postgres 10 000 ms. */
  redisHeartbeatMs?: number;
  postgresHeartbeatMs?: number;
}

/**
 * Redis pub/sub fan-out (with `REDIS_URL`) and the Postgres LISTEN listener (with
 * `AUTHCTX_DATABASE_URL` and `AUTHCTX_DATABASE_LISTEN`), both feeding one resolver.
 * - admin/API invalidate on this replica → resolver deletes L1 + L2 → publish
 * - pub/sub message from another replica → drop L1 only (the sender deleted L2)
 * - NOTIFY from a trigger → every replica gets it → each deletes L1 + L2, publishes nothing
 */
export function composeInvalidation(config: Config, deps: InvalidationDeps): InvalidationPart {
  const { registry, logger } = deps;
  const received = getOrCreateCounter(registry, {
    name: metricNames.invalidationsReceived,
    help: 'Context invalidations by origin: this replica\'s admin API, another replica (pub/sub), or a database trigger',
    labelNames: ['origin'] as const,
  });
  let resolver: ContextResolver | undefined;
  const health = createSubscriptionHealth({
    graceMs: config.invalidationGrace,
    registry,
    logger: logger.child({ part: 'invalidation' }),
    onRecovered: () => resolver?.clearLocal(),
  });

  const subscriber = config.redisUrl && deps.redis
    ? createRedisClient({ url: config.redisUrl, name: 'subscriber', commandTimeoutMs: 500, logger, registry })
    : undefined;
  const fanOut = subscriber && deps.redis
    ? createRedisFanOut({
        subscriber,
        publisher: deps.redis,
        instanceId: randomUUID(),
        health,
        logger: logger.child({ part: 'invalidation', channel: 'redis' }),
        ...(deps.redisHeartbeatMs ? { heartbeatMs: deps.redisHeartbeatMs } : {}),
        onInvalidate(email) {
          received.inc({ origin: 'pubsub' });
          resolver?.invalidateLocal(email);
        },
        onClear() {
          received.inc({ origin: 'pubsub' });
          resolver?.clearLocal();
        },
      })
    : undefined;

  const listener = config.databaseUrl && config.databaseListen
    ? createPostgresListener({
        connectionString: config.databaseUrl,
        channel: config.notifyChannel,
        health,
        logger: logger.child({ part: 'invalidation', channel: 'postgres' }),
        ...(deps.postgresHeartbeatMs ? { heartbeatMs: deps.postgresHeartbeatMs } : {}),
        onNotify(email) {
          received.inc({ origin: 'postgres' });
          // Every replica hears the NOTIFY itself: no fan-out, but each drops L2 too, so a
          // replica that wrote the old value back just before hearing it cannot keep it there.
          resolver?.invalidate(email, { fanOut: false }).catch((error: unknown) => logger.warn({ err: error }, 'invalidation from postgres failed'));
        },
      })
    : undefined;

  return {
    health,
    fanOut,
    listener,
    onInvalidate(email) {
      received.inc({ origin: 'admin' });
      void fanOut?.publish(email);
    },
    maxEntryAgeMs: () => health.maxEntryAgeMs(),
    publishClear: async () => fanOut?.publishClear(),
    bind(next) {
      resolver = next;
    },
    start() {
      fanOut?.start();
      listener?.start();
    },
    async close() {
      await Promise.all([fanOut?.close(), listener?.close()]);
    },
  };
}
