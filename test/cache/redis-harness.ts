import { once } from 'node:events';
import type { Redis } from 'ioredis';
import { createRedisClient, isRedisReady, type RedisClient, type RedisClientOptions } from '../../src/cache/redis-client.js';

/** The shared Redis every non-destructive test uses (DESIGN.md, "Test environment"). */
export const sharedRedisUrl = 'redis://127.0.0.1:6379';

/** A client that is ready to take commands (there is no offline queue to hide the wait). */
export async function readyClient(options: Partial<RedisClientOptions> = {}): Promise<RedisClient> {
  // Generous timeout on the shared server: these tests are about semantics, not speed.
  const client = createRedisClient({ url: sharedRedisUrl, commandTimeoutMs: 2_000, ...options });
  if (!isRedisReady(client)) await once(client, 'ready');
  return client;
}

export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, page] = await client.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`, 'COUNT', 500);
    keys.push(...page);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Moves Redis's clock forward for the keys under `prefix` only: each TTL is pulled in by `ms`. */
export async function advanceRedisTtls(client: Redis, prefix: string, ms: number): Promise<void> {
  for (const key of await keysUnder(client, prefix)) {
    const ttl = await client.pttl(key);
    if (ttl < 0) continue;
    if (ttl - ms <= 0) await client.del(key);
    else await client.pexpire(key, ttl - ms);
  }
}

export async function removeKeysUnder(client: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix);
  if (keys.length > 0) await client.del(...keys);
}

export async function ttlOrUndefined(client: Redis, key: string): Promise<number | undefined> {
  const ttl = await client.pttl(key);
  return ttl >= 0 ? ttl : undefined;
}
