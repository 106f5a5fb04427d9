import type { Logger } from 'pino';
import { normalizeEmail } from '../cache/cache-key.js';
import { isRedisReady, type RedisClient } from '../cache/redis-client.js';
import { createWarnLimiter } from '../cache/warn-limiter.js';
import type { SubscriptionHealth } from './subscription-health.js';

/** The pub/sub channel; the version segment changes with the message shape. */
export const invalidationChannel = 'authctx:v1:invalidate';

/** On the wire: JSON. `email` drops one user's context; `all` drops every context. */
interface Message {
  from: string;
  email?: string;
  all?: true;
}

const maxMessageBytes = 1024;
const publishRetryDelaysMs = [50, 250, 1_000];

export interface RedisFanOutOptions {
  /** A dedicated connection (`createRedisClient({ name: 'subscriber' })`): a subscribed connection can run nothing else. */
  subscriber: RedisClient;
  /** Any connection; the cache client will do. */
  publisher: RedisClient;
  /** This replica's id: its own messages are ignored (it has already dropped what they name). */
  instanceId: string;
  /** Another replica invalidated this (normalized) email: drop it from L1. */
  onInvalidate: (email: string) => void;
  /** Another replica cleared every context: drop L1. */
  onClear: () => void;
  /** Receives `up('redis')` / `down('redis')`. */
  health?: SubscriptionHealth | undefined;
  /**
   * PING on the subscribed connection this often, ms. A paused Redis keeps its sockets open and
   * delivers nothing; without the ping the subscription would look healthy. Default 1 000.
   */
  heartbeatMs?: number;
  channel?: string;
  logger: Logger;
}

export interface RedisFanOut {
  /** Subscribes (and keeps resubscribing after reconnects) and starts the heartbeat. */
  start(): void;
  /** Tells the other replicas; retried a few times, never rejects (a failure is logged). */
  publish(email: string): Promise<void>;
  publishClear(): Promise<void>;
  readonly subscribed: boolean;
  close(): Promise<void>;
}

/**
 * Fleet-wide invalidation over Redis pub/sub. The invalidating replica deletes the Redis entry
 * before it publishes, so a receiver only drops its L1 copy and the next read finds the fresh
 * value in Redis or the source.
 */
export function createRedisFanOut(options: RedisFanOutOptions): RedisFanOut {
  const { subscriber, publisher, logger } = options;
  const channel = options.channel ?? invalidationChannel;
  const heartbeatMs = options.heartbeatMs ?? 1_000;
  const limiter = createWarnLimiter(logger);
  let subscribed = false;
  let closed = false;
  let heartbeat: NodeJS.Timeout | undefined;
  /** Pending publish retries: close() ends them at once. */
  const retryWaits = new Set<() => void>();
  options.health?.track('redis');

  function setSubscribed(value: boolean): void {
    subscribed = value;
    if (value) options.health?.up('redis');
    else options.health?.down('redis');
  }

  function subscribe(): void {
    if (closed || !isRedisReady(subscriber)) return;
    subscriber.subscribe(channel).then(
      () => {
        if (!closed && isRedisReady(subscriber)) setSubscribed(true);
      },
      (error: unknown) => limiter.warn('subscribe', error, 'redis invalidation subscribe failed; retried on the next heartbeat'),
    );
  }

  function onMessage(from: string, text: string): void {
    if (from !== channel || text.length > maxMessageBytes) return;
    let message: Message;
    try {
      message = JSON.parse(text) as Message;
    } catch (error) {
      limiter.warn('message', error, 'unreadable invalidation message ignored');
      return;
    }
    if (typeof message !== 'object' || message === null || message.from === options.instanceId) return;
    if (message.all === true) {
      options.onClear();
      return;
    }
    const email = typeof message.email === 'string' ? normalizeEmail(message.email) : null;
    if (email !== null) options.onInvalidate(email);
  }

  function beat(): void {
    if (!subscribed) {
      subscribe();
      return;
    }
    subscriber.ping().catch((error: unknown) => {
      if (closed || !subscribed) return;
      limiter.warn('heartbeat', error, 'redis invalidation subscription unresponsive: reconnecting');
      setSubscribed(false);
      // Drop the hung socket; ioredis reconnects (with its backoff) and 'ready' resubscribes.
      subscriber.disconnect(true);
    });
  }

  async function send(message: Message): Promise<void> {
    const text = JSON.stringify(message);
    for (let attempt = 0; ; attempt++) {
      try {
        await publisher.publish(channel, text);
        return;
      } catch (error) {
        const delayMs = publishRetryDelaysMs[attempt];
        if (closed || delayMs === undefined) {
          limiter.warn('publish', error, 'redis invalidation publish failed; other replicas drop their copy within AUTHCTX_INVALIDATION_GRACE only if they lost the subscription too');
          return;
        }
        await new Promise<void>((resolve) => {
          const done = (): void => {
            clearTimeout(timer);
            retryWaits.delete(done);
            resolve();
          };
          const timer = setTimeout(done, delayMs);
          timer.unref();
          retryWaits.add(done);
        });
        if (closed) return;
      }
    }
  }

  const onReady = (): void => subscribe();
  const onLost = (): void => setSubscribed(false);

  return {
    start() {
      subscriber.on('message', onMessage);
      subscriber.on('ready', onReady);
      subscriber.on('close', onLost);
      subscriber.on('end', onLost);
      subscribe();
      heartbeat = setInterval(beat, heartbeatMs);
      heartbeat.unref();
    },
    publish(email) {
      return send({ from: options.instanceId, email });
    },
    publishClear() {
      return send({ from: options.instanceId, all: true });
    },
    get subscribed() {
      return subscribed;
    },
    async close() {
      closed = true;
      clearInterval(heartbeat);
      for (const done of [...retryWaits]) done();
      subscriber.off('message', onMessage);
      subscriber.off('ready', onReady);
      subscriber.off('close', onLost);
      subscriber.off('end', onLost);
      subscriber.disconnect();
    },
  };
}
