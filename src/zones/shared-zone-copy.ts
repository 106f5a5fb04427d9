import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { addZoneObject, createZoneMapBuilder, zoneMapToObject } from './zone-rows.js';
import type { ZoneMap } from './zone-source.js';

/** The zone table as replicas share it in Redis under `<prefix>:data`. */
export interface SharedZoneCopy {
  /** When the data was loaded from the source, epoch ms. */
  loadedAt: number;
  /** Source kind that produced it (`bigquery` or `file`). */
  source: string;
  zones: ZoneMap;
}

export interface SharedZoneStoreOptions {
  redis: Redis;
  /** Key prefix; keys are `<prefix>:data` and `<prefix>:lock`. */
  keyPrefix: string;
  /** Bound on every Redis command issued here, ms (on top of the client's own settings). */
  commandTimeoutMs: number;
  /** How long the shared copy is kept in Redis, ms. */
  dataTtlMs: number;
  logger: Logger;
}

/** Redis operations behind zone sharing. Every method rejects on a Redis error or timeout. */
export interface SharedZoneStore {
  read(): Promise<SharedZoneCopy | undefined>;
  write(copy: SharedZoneCopy): Promise<void>;
  /** Tries to take the refresh lock for `ttlMs`; resolves a release function, or undefined if held. */
  tryLock(ttlMs: number): Promise<(() => Promise<void>) | undefined>;
  isLocked(): Promise<boolean>;
}

// Compare-and-delete: only the holder's token releases the lock (a lock that expired and was
// taken by another replica must not be deleted by the first one).
const releaseScript = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

export function createSharedZoneStore(options: SharedZoneStoreOptions): SharedZoneStore {
  const { redis, commandTimeoutMs, dataTtlMs } = options;
  const dataKey = `${options.keyPrefix}:data`;
  const lockKey = `${options.keyPrefix}:lock`;

  const bounded = <T>(promise: Promise<T>): Promise<T> => withTimeout(promise, commandTimeoutMs);

  return {
    async read() {
      const text = await bounded(redis.get(dataKey));
      if (text === null) return undefined;
      const copy = parseCopy(text);
      if (copy === undefined) options.logger.warn({ key: dataKey }, 'zones: ignoring a malformed shared copy in redis');
      return copy;
    },
    async write(copy) {
      const text = JSON.stringify({ loadedAt: copy.loadedAt, source: copy.source, zones: zoneMapToObject(copy.zones) });
      await bounded(redis.set(dataKey, text, 'PX', dataTtlMs));
    },
    async tryLock(ttlMs) {
      const token = randomUUID();
      const ok = await bounded(redis.set(lockKey, token, 'PX', Math.max(1, Math.round(ttlMs)), 'NX'));
      if (ok !== 'OK') return undefined;
      return async () => {
        await bounded(redis.eval(releaseScript, 1, lockKey, token));
      };
    },
    async isLocked() {
      return (await bounded(redis.exists(lockKey))) === 1;
    },
  };
}

/** A malformed or foreign value under the data key is treated as absent, never trusted. */
function parseCopy(text: string): SharedZoneCopy | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { loadedAt, source, zones } = value as Record<string, unknown>;
  if (typeof loadedAt !== 'number' || !Number.isFinite(loadedAt) || typeof source !== 'string') return undefined;
  const builder = createZoneMapBuilder();
  if (!addZoneObject(builder, zones)) return undefined;
  const built = builder.build();
  // Written by a replica that validated every code: any rejection means it is not ours.
  if (built.rejected > 0 || built.zones.size === 0) return undefined;
  return { loadedAt, source, zones: built.zones };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis command timed out after ${timeoutMs}ms`)), timeoutMs);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
