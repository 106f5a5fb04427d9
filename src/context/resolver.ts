import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { VerifiedToken } from '../auth/verified-token.js';
import { contextKey, contextKeyPrefix, normalizeEmail } from '../cache/cache-key.js';
import type { CacheStore } from '../cache/cache-store.js';
import type { MemoryStore } from '../cache/memory-store.js';
import { createSingleFlight } from '../cache/single-flight.js';
import { jitterTtl } from '../cache/ttl-jitter.js';
import { AuthctxError } from '../errors.js';
import { getOrCreateCounter } from '../metrics/get-or-create.js';
import { metricNames } from '../metrics/names.js';
import { identityHeaderPairs } from '../proxy/identity-headers.js';
import type { Identity, IdentityResolver } from '../proxy/identity.js';
import type { ContextSource, UserContext } from './context-source.js';
import type { SourceLease } from './source-lease.js';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A cached lookup result, as stored in every tier (JSON in Redis under
 * `authctx:v1:ctx:<email>`; bump the version segment when this shape changes).
 * `v: null` is a negative entry (unknown or inactive user).
 */
export interface CachedContext {
  v: UserContext | null;
  /** When the source answered, epoch ms. */
  at: number;
  /** Fresh until, epoch ms (absolute TTL). Kept physically longer for stale-if-error. */
  exp: number;
}

/** Zone lookups for the resolver; never waits on I/O (ZoneIndex.zonesFor). */
export interface ZoneLookup {
  zonesFor(regions: readonly string[]): readonly string[];
}

export interface ContextResolverOptions {
  source: ContextSource;
  /** Tiered (memory + Redis) or memory-only store of `CachedContext`. */
  store: CacheStore<CachedContext>;
  /** The store's memory tier, read synchronously on the hot path. */
  l1: MemoryStore<CachedContext>;
  /** The shared tier below L1 (Redis), read after an L1 miss; unset when memory is the only tier. */
  l2Get?: ((key: string) => Promise<CachedContext | undefined>) | undefined;
  /**
   * Cross-replica lease (with Redis): a replica that does not get it waits up to
   * `leaseWaitMs` for the holder's entry to appear in L2 before calling the source itself.
   */
  lease?: SourceLease | undefined;
  /** Longest wait for another replica's source call; default 0 (no waiting). */
  leaseWaitMs?: number;
  zones?: ZoneLookup | undefined;
  /** Context TTL (AUTHCTX_CACHE_TTL). */
  ttlMs: number;
  /** Unknown-user TTL (AUTHCTX_NEGATIVE_TTL). */
  negativeTtlMs: number;
  /** How long an expired entry may serve while the source fails (AUTHCTX_STALE_IF_ERROR). */
  staleIfErrorMs: number;
  /** Fraction by which TTLs are randomly shortened (AUTHCTX_CACHE_TTL_JITTER). */
  ttlJitter: number;
  /**
   * Refresh-ahead: a hit on an entry with less than this fraction of its TTL left
   * starts one background refresh, so steady traffic never waits on the source. 0 = off.
   */
  refreshAheadFraction?: number;
  /** Called after a local invalidation (fan-out to other replicas). */
  onInvalidate?: ((email: string) => void) | undefined;
  /**
   * The age (now − `at`, ms) past which a cached context is treated as expired in every tier.
   * Infinity while every invalidation channel is subscribed; `AUTHCTX_INVALIDATION_GRACE` while
   * one is down, so an invalidation this replica may have missed lives at most that long.
   * Read on every request: keep it O(1). Default: always Infinity.
   */
  maxEntryAgeMs?: (() => number) | undefined;
  registry: Registry;
  logger: Logger;
  now: () => number;
  random?: () => number;
}

export interface ContextResolver extends IdentityResolver {
  /** Drops one user's context in every tier of this replica (and fans out via `onInvalidate`). */
  invalidate(email: string, options?: { fanOut?: boolean }): Promise<boolean>;
  /** Drops L1 entries only (an invalidation that arrived from another replica or from Postgres). */
  invalidateLocal(email: string): void;
  /** Clears every context in every tier; returns how many entries were removed. */
  clear(): Promise<number>;
  /** Clears this replica's memory tier only; returns how many entries were removed. */
  clearLocal(): number;
}

interface Memo {
  sub: string;
  zones: readonly string[] | undefined;
  identity: Identity;
}

const maxInvalidationMarks = 10_000;
const maxRefreshesAhead = 64;

/**
 * Resolution order (DESIGN.md step 4): L1 memory → L2 Redis → source, one source call
 * per key in flight (single-flight), negative entries for unknown users, stale-if-error.
 */
export function createContextResolver(options: ContextResolverOptions): ContextResolver {
  const { source, store, l1, logger, now } = options;
  const random = options.random ?? Math.random;
  const refreshAheadFraction = options.refreshAheadFraction ?? 0;
  const maxEntryAgeMs = options.maxEntryAgeMs ?? (() => Number.POSITIVE_INFINITY);
  const usable = (entry: CachedContext, t: number): boolean => entry.exp > t && t - entry.at <= maxEntryAgeMs();
  const flights = createSingleFlight<string, CachedContext & { stale: boolean }>({ registry: options.registry });
  const staleServed = getOrCreateCounter(options.registry, { name: metricNames.staleServed, help: 'Requests answered with stale context while the source failed' });
  const leaseOutcome = getOrCreateCounter(options.registry, {
    name: metricNames.sourceLease,
    help: 'Cold misses that found another replica\'s entry (shared) or waited for it in vain and called the source (fetched)',
    labelNames: ['outcome'] as const,
  });
  const refreshAhead = getOrCreateCounter(options.registry, {
    name: metricNames.refreshAhead,
    help: 'Background refreshes of entries near expiry, by outcome',
    labelNames: ['outcome'] as const,
  });
  // Verified tokens are reused from the token cache: normalize each one's email once.
  const emails = new WeakMap<VerifiedToken, string | null>();
  function emailOf(token: VerifiedToken): string | null {
    let email = emails.get(token);
    if (email === undefined) {
      email = token.email === undefined ? null : normalizeEmail(token.email);
      emails.set(token, email);
    }
    return email;
  }
  // Identity (encoded headers + JSON) is built once per cached entry, not per request.
  const memos = new WeakMap<CachedContext, Memo>();
  // Invalidation marks: a source reply that started before an invalidation of its key is
  // returned to its waiters but never stored (it may predate the change that caused it).
  const invalidatedAt = new Map<string, number>();
  let clearedAt = Number.NEGATIVE_INFINITY;
  const refreshing = new Set<string>();
  let refreshAheadPausedUntil = 0;

  function markInvalidated(key: string): void {
    invalidatedAt.delete(key);
    invalidatedAt.set(key, now());
    if (invalidatedAt.size > maxInvalidationMarks) invalidatedAt.delete(invalidatedAt.keys().next().value!);
  }

  /** The source, with stale-if-error: an entry expired less than `staleIfErrorMs` ago serves while it fails. */
  async function fetchFromSource(email: string, key: string, previous: CachedContext | undefined): Promise<CachedContext & { stale: boolean }> {
    const startedAt = now();
    try {
      return { ...(await loadFromSource(email, key, startedAt)), stale: false };
    } catch (error) {
      if (previous?.v && startedAt - previous.exp < options.staleIfErrorMs) {
        staleServed.inc();
        logger.warn({ err: error }, 'context source failed: serving stale context');
        // The slow path took it out of L1 to reach L2: put it back, or the next request (with
        // Redis down too) would find nothing to serve and fail closed.
        const keepMs = previous.exp + options.staleIfErrorMs - now();
        if (keepMs > 0 && l1.remainingTtlMs(key) === undefined) l1.put(key, previous, keepMs);
        return { ...previous, stale: true };
      }
      if (error instanceof AuthctxError && error.status === 503) throw error;
      logger.warn({ err: error }, 'context source failed and no stale context is usable');
      throw new AuthctxError('AUTHCTX_ERR_CONTEXT_UNAVAILABLE', undefined, { cause: error });
    }
  }

  /** One source call; stores the answer unless the key was invalidated while it ran. Rejects when the source fails. */
  async function loadFromSource(email: string, key: string, startedAt: number): Promise<CachedContext> {
    const value = await source.getUserContext(email);
    const at = now();
    const ttlMs = jitterTtl(value ? options.ttlMs : options.negativeTtlMs, options.ttlJitter, random);
    const entry: CachedContext = { v: value, at, exp: at + ttlMs };
    const mark = invalidatedAt.get(key);
    if ((mark === undefined || mark < startedAt) && clearedAt < startedAt) {
      // Positive entries outlive their TTL physically so stale-if-error has something to serve.
      const physicalTtlMs = value ? ttlMs + options.staleIfErrorMs : ttlMs;
      await store.set(key, entry, physicalTtlMs);
    }
    return entry;
  }

  /**
   * After an L1 miss: L2 (another replica may have refreshed the entry), then the source;
   * one flight per key. An expired L1 entry is kept aside for stale-if-error.
   */
  function resolveSlow(email: string, key: string, expired: CachedContext | undefined): Promise<CachedContext & { stale: boolean }> {
    return flights.do(key, async () => {
      const cached = options.l2Get ? await options.l2Get(key) : undefined;
      if (cached && usable(cached, now())) return { ...cached, stale: false };
      const lease = options.lease;
      if (lease && options.l2Get) {
        const { shared, holding } = await takeLeaseOrShare(key, lease, options.l2Get);
        if (shared) return { ...shared, stale: false };
        try {
          return await fetchFromSource(email, key, newest(cached, expired));
        } finally {
          if (holding) lease.release(key);
        }
      }
      return fetchFromSource(email, key, newest(cached, expired));
    });
  }

  /**
   * Takes the cross-replica lease (then returns undefined: this replica calls the source) or
   * waits for the holder's entry in L2, polling with doubling pauses (5 ms, 10 ms, …). After
   * every successful take, L2 is read once more (one more round trip per cold miss): a
   * holder stores its entry before it releases, so an entry that landed between our last
   * read and the take is used, not fetched again. Gives up waiting after `leaseWaitMs` and
   * calls the source anyway.
   */
  async function takeLeaseOrShare(
    key: string,
    lease: SourceLease,
    l2Get: (key: string) => Promise<CachedContext | undefined>,
  ): Promise<{ shared?: CachedContext; holding: boolean }> {
    const usableFromL2 = async () => {
      const entry = await l2Get(key);
      return entry && usable(entry, now()) ? entry : undefined;
    };
    const deadline = now() + (options.leaseWaitMs ?? 0);
    for (let pauseMs = 5; ; pauseMs *= 2) {
      const state = await lease.acquire(key);
      if (state === 'unavailable') return { holding: false };
      if (state === 'taken') {
        const landed = await usableFromL2();
        if (!landed) return { holding: true };
        lease.release(key);
        leaseOutcome.inc({ outcome: 'shared' });
        return { shared: landed, holding: false };
      }
      if (now() >= deadline) {
        leaseOutcome.inc({ outcome: 'fetched' });
        return { holding: false };
      }
      await sleep(Math.min(pauseMs, Math.max(1, deadline - now())));
      const entry = await usableFromL2();
      if (entry) {
        leaseOutcome.inc({ outcome: 'shared' });
        return { shared: entry, holding: false };
      }
    }
  }

  function toIdentity(token: VerifiedToken, entry: CachedContext, stale: boolean): Identity {
    const context = entry.v;
    if (!context) throw new AuthctxError('AUTHCTX_ERR_CONTEXT_FORBIDDEN');
    const zones = options.zones?.zonesFor(context.regions.length > 0 ? context.regions : [context.region]);
    if (!stale) {
      const memo = memos.get(entry);
      if (memo && memo.sub === token.sub && memo.zones === zones) return memo.identity;
    }
    const headerPairs = identityHeaderPairs({
      'x-user-id': token.sub,
      'x-user-email': context.email,
      'x-user-role': context.role,
      'x-user-region': context.region,
      'x-user-scope': context.scope,
      ...(zones ? { 'x-user-zones': zones.join(',') } : {}),
      ...(stale ? { 'x-auth-context-stale': '1' } : {}),
    });
    if (!headerPairs) {
      logger.warn({ field: 'context' }, 'context holds a value that cannot be sent as a header: refused');
      throw new AuthctxError('AUTHCTX_ERR_CONTEXT_MALFORMED', 'the auth context holds a value that cannot be sent as a header');
    }
    const identity: Identity = {
      headerPairs,
      context: { ...context, sub: token.sub, zones: zones ?? [], ...(stale ? { stale: true } : {}) },
      stale,
    };
    if (!stale) memos.set(entry, { sub: token.sub, zones, identity });
    return identity;
  }

  function maybeRefreshAhead(email: string, key: string, entry: CachedContext, t: number): void {
    if (refreshAheadFraction <= 0 || !entry.v || t < refreshAheadPausedUntil) return;
    if (entry.exp - t > (entry.exp - entry.at) * refreshAheadFraction) return;
    if (refreshing.has(key) || refreshing.size >= maxRefreshesAhead) return;
    refreshing.add(key);
    const failed = (error: unknown) => {
      // A failing source sees one refresh-ahead attempt per second, not one per request; the
      // entry keeps serving until it expires (nothing stale was served, so nothing is counted as such).
      refreshAheadPausedUntil = now() + 1_000;
      refreshAhead.inc({ outcome: 'error' });
      logger.debug({ err: error }, 'refresh-ahead failed');
    };
    loadFromSource(email, key, now())
      .then(() => refreshAhead.inc({ outcome: 'success' }), failed)
      .finally(() => refreshing.delete(key));
  }

  return {
    resolve(token) {
      const email = emailOf(token);
      if (email === null) throw new AuthctxError('AUTHCTX_ERR_CONTEXT_FORBIDDEN', 'the token carries no usable email');
      const key = contextKeyPrefix + email;
      const hot = l1.peek(key);
      const t = now();
      if (hot && usable(hot, t)) {
        maybeRefreshAhead(email, key, hot, t);
        return toIdentity(token, hot, false);
      }
      return resolveSlow(email, key, hot).then((entry) => toIdentity(token, entry, entry.stale));
    },
    async invalidate(email, invalidateOptions) {
      const key = contextKey(email);
      if (key === null) return false;
      markInvalidated(key);
      await store.delete(key);
      if (invalidateOptions?.fanOut !== false) options.onInvalidate?.(normalizeEmail(email)!);
      return true;
    },
    invalidateLocal(email) {
      const key = contextKey(email);
      if (key === null) return;
      markInvalidated(key);
      void l1.delete(key);
    },
    clearLocal() {
      const entries = l1.entries();
      void l1.clear(contextKeyPrefix);
      return entries;
    },
    async clear() {
      invalidatedAt.clear();
      clearedAt = now();
      return store.clear(contextKeyPrefix);
    },
  };
}

function newest(a: CachedContext | undefined, b: CachedContext | undefined): CachedContext | undefined {
  if (!a) return b;
  if (!b) return a;
  return a.at >= b.at ? a : b;
}
