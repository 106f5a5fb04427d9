import type { Logger } from 'pino';
import type { RedisClient } from '../cache/redis-client.js';

/**
 * Fleet-wide purge of cached responses over Redis pub/sub. The replica that purges deletes the
 * shared (Redis) entries itself and publishes the key prefix; every other replica drops that
 * prefix from its memory tier. Best effort by nature: a replica that is disconnected at that
 * moment keeps its memory entries until their TTL (bounded by the route's ttl + swr).
 */
export interface PurgeChannelOptions {
  /** A connection of its own: a subscribed connection can run no other command. */
  subscriber: RedisClient;
  /** Publishes; the cache client may be shared. */
  publisher: RedisClient;
  /** Default `authctx:v1:resp-purge`. */
  channel?: string;
  /** This replica's id: its own messages are ignored (it has purged already). */
  replicaId: string;
  /** Called with the key prefix another replica purged. */
  onPurge: (prefix: string) => void;
  logger: Logger;
}

export interface PurgeChannel {
  /** Tells the other replicas; false when Redis did not take the message. */
  publish(prefix: string): Promise<boolean>;
  /** True while the subscription is active. */
  readonly subscribed: boolean;
  close(): Promise<void>;
}

export const defaultPurgeChannel = 'authctx:v1:resp-purge';

export function createPurgeChannel(options: PurgeChannelOptions): PurgeChannel {
  const channel = options.channel ?? defaultPurgeChannel;
  const { subscriber, publisher, logger } = options;
  let subscribed = false;
  let closed = false;

  function subscribe(): void {
    // No offline queue: subscribe on every `ready` (a repeated SUBSCRIBE is harmless).
    subscriber.subscribe(channel).then(
      () => {
        subscribed = !closed;
      },
      (error: unknown) => logger.warn({ err: error }, 'response cache purge channel: subscribe failed'),
    );
  }
  subscriber.on('ready', subscribe);
  for (const event of ['close', 'end'] as const) {
    subscriber.on(event, () => {
      subscribed = false;
    });
  }
  if (subscriber.status === 'ready') subscribe();

  subscriber.on('message', (from: string, text: string) => {
    if (from !== channel) return;
    let message: { replica?: unknown; prefix?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch (error) {
      logger.warn({ err: error }, 'response cache purge channel: unreadable message ignored');
      return;
    }
    if (message.replica === options.replicaId || typeof message.prefix !== 'string' || message.prefix === '') return;
    options.onPurge(message.prefix);
  });

  return {
    async publish(prefix) {
      try {
        await publisher.publish(channel, JSON.stringify({ replica: options.replicaId, prefix }));
        return true;
      } catch (error) {
        logger.warn({ err: error }, 'response cache purge could not be published; other replicas keep their memory entries until TTL');
        return false;
      }
    },
    get subscribed() {
      return subscribed;
    },
    async close() {
      closed = true;
      subscribed = false;
      subscriber.disconnect();
    },
  };
}
