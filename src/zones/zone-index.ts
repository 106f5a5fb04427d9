import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AuthctxError } from '../errors.js';
import { getOrCreateCounter, getOrCreateGauge, getOrCreateHistogram } from '../metrics/get-or-create.js';
import { metricNames } from '../metrics/names.js';
import { abortable, abortReason } from './abortable.js';
import { backoffDelayMs, defaultSetTimer, maxTimerMs, pause, type SetTimer, type TimerHandle } from './refresh-timing.js';
import { createSharedZoneStore, type SharedZoneCopy, type SharedZoneStore } from './shared-zone-copy.js';
import type { ZoneMap, ZoneSource, ZoneSourceKind } from './zone-source.js';

export type { SetTimer, TimerHandle } from './refresh-timing.js';

export interface ZoneIndexOptions {
  source: ZoneSource;
  /** Period between successful refreshes, ms (`AUTHCTX_ZONES_REFRESH`, default 24h in the schema). */
  refreshIntervalMs: number;
  /** Bound on one source load (every BigQuery call of it), ms. The Redis lock lives twice as long. */
  jobTimeoutMs: number;
  /** Shares the loaded table and a refresh lock between replicas. Unset → each replica loads on its own. */
  redis?: Redis | undefined;
  /** Redis key prefix. Default `authctx:v1:zones` (keys `<prefix>:data`, `<prefix>:lock`). */
  keyPrefix?: string;
  /** A shared copy younger than this is taken instead of querying the source, ms. Default `refreshIntervalMs`. */
  maxAgeForSharedCopyMs?: number;
  /** Bound on each Redis command issued by the index, ms. Default 1000. */
  redisCommandTimeoutMs?: number;
  /** How long a replica waits for another replica holding the lock, ms. Default `2 × jobTimeoutMs`. */
  sharedWaitMs?: number;
  /** First retry delay after a failed refresh, ms; doubles up to `min(refreshIntervalMs, 5m)`. Default 1000. */
  retryBaseMs?: number;
  registry: Registry;
  logger: Logger;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Timer factory (tests drive periodic refresh through it). Default unref'd `setTimeout`. */
  setTimer?: SetTimer;
  /** Random source in [0, 1) for jitter. Default `Math.random`. */
  random?: () => number;
}

/** `success`: loaded from the source; `shared`: taken from another replica's copy in Redis; `skipped`: nothing new (another replica holds the lock and produced nothing in time). */
export interface RefreshOutcome {
  outcome: 'success' | 'shared' | 'skipped';
  regions: number;
  /** Load time of the data now served, epoch ms; null when nothing is loaded yet. */
  loadedAt: number | null;
}

export interface ZoneIndexStats {
  source: ZoneSourceKind;
  /** Regions with at least one zone. */
  regions: number;
  /** When the data served was loaded from the source (by this or another replica), epoch ms. */
  loadedAt: number | null;
  ageMs: number | null;
  /** Message of the last failed refresh; null after a success. */
  lastError: string | null;
  refreshing: boolean;
  /** True when replicas share the table through Redis. */
  shared: boolean;
  nextRefreshAt: number | null;
}

export interface ZoneIndex {
  /** Starts the first load in the background and returns at once. Idempotent. */
  start(): void;
  /** Zones of all `regions`, merged, de-duplicated and sorted; [] for unknown regions. Never waits on I/O. */
  zonesFor(regions: readonly string[]): readonly string[];
  /**
   * Refreshes now (single-flight: a call while one runs joins it). Rejects with an
   * `AUTHCTX_ERR_ZONES_*` error when the load fails; the last good copy is kept either way.
   * `force` (default true) queries the source even if a fresh shared copy exists.
   */
  refresh(options?: { force?: boolean }): Promise<RefreshOutcome>;
  isLoaded(): boolean;
  stats(): ZoneIndexStats;
  /** Cancels timers, aborts a refresh in flight and waits for it to settle. Does not close the source. */
  close(): Promise<void>;
}

interface Loaded {
  zones: ZoneMap;
  loadedAt: number;
}

const maxBackoffMs = 5 * 60_000;
const maxMemoEntries = 10_000;
const empty: readonly string[] = Object.freeze([]);

export function createZoneIndex(options: ZoneIndexOptions): ZoneIndex {
  const { source, refreshIntervalMs, jobTimeoutMs, logger } = options;
  const now = options.now ?? Date.now;
  const setTimer = options.setTimer ?? defaultSetTimer;
  const random = options.random ?? Math.random;
  const maxAgeForSharedCopyMs = options.maxAgeForSharedCopyMs ?? refreshIntervalMs;
  const sharedWaitMs = options.sharedWaitMs ?? jobTimeoutMs * 2;
  const retryBaseMs = options.retryBaseMs ?? 1000;
  const retryMaxMs = Math.max(retryBaseMs, Math.min(refreshIntervalMs, maxBackoffMs));
  const store: SharedZoneStore | undefined = options.redis
    ? createSharedZoneStore({
        redis: options.redis,
        keyPrefix: options.keyPrefix ?? 'authctx:v1:zones',
        commandTimeoutMs: options.redisCommandTimeoutMs ?? 1000,
        dataTtlMs: Math.max(refreshIntervalMs * 3, 3_600_000),
        logger,
      })
    : undefined;

  const regionsGauge = getOrCreateGauge(options.registry, {
    name: metricNames.zonesRegions,
    help: 'Regions with at least one zone in the in-memory zone index',
  });
  const lastSuccessGauge = getOrCreateGauge(options.registry, {
    name: metricNames.zonesLastSuccess,
    help: 'Load time of the zone data served (from the source, by this or another replica), unix seconds',
  });
  const refreshCounter = getOrCreateCounter<'outcome'>(options.registry, {
    name: metricNames.zonesRefresh,
    help: 'Zone refreshes by outcome: success (source), shared (copy from another replica), skipped, error',
    labelNames: ['outcome'],
  });
  const refreshDuration = getOrCreateHistogram(options.registry, {
    name: metricNames.zonesRefreshDuration,
    help: 'Time taken by a zone refresh, including waiting for another replica, seconds',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  });

  const lifecycle = new AbortController();
  let data: Loaded | undefined;
  let memo = new Map<string, readonly string[]>();
  let inFlight: Promise<RefreshOutcome> | undefined;
  let timer: TimerHandle | undefined;
  let nextRefreshAt: number | null = null;
  let lastError: string | null = null;
  let failures = 0;
  let started = false;

  function install(loaded: Loaded): void {
    data = loaded;
    memo = new Map();
    regionsGauge.set(loaded.zones.size);
    lastSuccessGauge.set(loaded.loadedAt / 1000);
  }

  function isFresh(copy: SharedZoneCopy): boolean {
    return now() - copy.loadedAt < maxAgeForSharedCopyMs;
  }

  function outcome(kind: RefreshOutcome['outcome']): RefreshOutcome {
    return { outcome: kind, regions: data?.zones.size ?? 0, loadedAt: data?.loadedAt ?? null };
  }

  /** One bounded source load: the job timeout and shutdown both abort it. */
  async function loadFromSource(): Promise<Loaded> {
    const controller = new AbortController();
    const onClose = (): void => controller.abort(lifecycle.signal.reason);
    lifecycle.signal.addEventListener('abort', onClose, { once: true });
    const deadline = setTimer(() => {
      controller.abort(
        new AuthctxError('AUTHCTX_ERR_ZONES_TIMEOUT', `the ${source.kind} zone load did not finish within ${jobTimeoutMs}ms`),
      );
    }, jobTimeoutMs);
    try {
      if (lifecycle.signal.aborted) throw abortReason(lifecycle.signal);
      // Raced here as well, so that a source ignoring its signal still cannot outlive the timeout.
      const zones = await abortable(source.load({ signal: controller.signal }), controller.signal);
      return { zones, loadedAt: now() };
    } finally {
      deadline.cancel();
      lifecycle.signal.removeEventListener('abort', onClose);
    }
  }

  async function loadAlone(): Promise<RefreshOutcome> {
    install(await loadFromSource());
    return outcome('success');
  }

  /** Refresh through Redis: take a fresh shared copy, or take the lock and load, or wait for the holder. */
  async function refreshShared(shared: SharedZoneStore, force: boolean): Promise<RefreshOutcome> {
    let copy: SharedZoneCopy | undefined;
    try {
      copy = await shared.read();
    } catch (err) {
      logger.warn({ err }, 'zones: redis unavailable, loading from the source without sharing');
      return loadAlone();
    }
    if (copy !== undefined && (data === undefined || copy.loadedAt > data.loadedAt)) {
      // Even a stale copy beats an empty index while this replica's own load runs or fails.
      install({ zones: copy.zones, loadedAt: copy.loadedAt });
    }
    if (!force && copy !== undefined && data !== undefined && now() - data.loadedAt < maxAgeForSharedCopyMs) {
      return outcome('shared');
    }
    const seenLoadedAt = copy?.loadedAt ?? Number.NEGATIVE_INFINITY;

    let release: (() => Promise<void>) | undefined;
    try {
      release = await shared.tryLock(jobTimeoutMs * 2);
    } catch (err) {
      logger.warn({ err }, 'zones: redis lock unavailable, loading from the source without sharing');
      return loadAlone();
    }
    if (release !== undefined) {
      const releaseLock = release;
      try {
        if (!force) {
          // Another replica may have finished between our read and our lock.
          const again = await shared.read().catch((err: unknown) => {
            logger.warn({ err }, 'zones: redis read failed after taking the lock, loading from the source');
            return undefined;
          });
          if (again !== undefined && again.loadedAt > seenLoadedAt && isFresh(again)) {
            install({ zones: again.zones, loadedAt: again.loadedAt });
            return outcome('shared');
          }
        }
        const loaded = await loadFromSource();
        install(loaded);
        await shared
          .write({ loadedAt: loaded.loadedAt, source: source.kind, zones: loaded.zones })
          .catch((err: unknown) => logger.warn({ err }, 'zones: could not share the loaded table through redis'));
        return outcome('success');
      } finally {
        await releaseLock().catch((err: unknown) => logger.warn({ err }, 'zones: could not release the redis lock'));
      }
    }

    // Another replica holds the lock: wait (bounded) for its copy instead of querying too.
    let waitedMs = 0;
    let delayMs = Math.min(100, sharedWaitMs);
    while (waitedMs < sharedWaitMs) {
      await pause(setTimer, delayMs, lifecycle.signal);
      waitedMs += delayMs;
      delayMs = Math.min(delayMs * 2, 2000, Math.max(1, sharedWaitMs - waitedMs));
      let latest: SharedZoneCopy | undefined;
      let locked: boolean;
      try {
        latest = await shared.read();
        locked = latest !== undefined && latest.loadedAt > seenLoadedAt ? false : await shared.isLocked();
      } catch (err) {
        logger.warn({ err }, 'zones: redis failed while waiting for another replica, loading from the source');
        return loadAlone();
      }
      if (latest !== undefined && latest.loadedAt > seenLoadedAt) {
        install({ zones: latest.zones, loadedAt: latest.loadedAt });
        return outcome('shared');
      }
      if (!locked) break; // the holder gave up without a new copy: retry later with backoff
    }
    return outcome('skipped');
  }

  function schedule(delayMs: number): void {
    timer?.cancel();
    timer = undefined;
    nextRefreshAt = null;
    if (lifecycle.signal.aborted) return;
    const ms = Math.min(maxTimerMs, Math.max(0, Math.round(delayMs)));
    nextRefreshAt = now() + ms;
    timer = setTimer(() => {
      timer = undefined;
      nextRefreshAt = null;
      run(false).catch(alreadyLogged);
    }, ms);
  }

  function backoffMs(): number {
    return backoffDelayMs(failures, retryBaseMs, retryMaxMs, random);
  }

  function nextAfterSuccessMs(): number {
    const dueMs = (data?.loadedAt ?? now()) + refreshIntervalMs - now();
    // Jitter so that replicas wake one after another and the first one's copy serves the rest.
    return Math.max(retryBaseMs, dueMs) + random() * Math.min(refreshIntervalMs * 0.02, 30_000);
  }

  async function execute(force: boolean): Promise<RefreshOutcome> {
    const startedAt = now();
    try {
      const result = store ? await refreshShared(store, force) : await loadAlone();
      refreshCounter.inc({ outcome: result.outcome });
      if (result.outcome === 'skipped') {
        failures += 1;
        schedule(backoffMs());
      } else {
        failures = 0;
        lastError = null;
        schedule(nextAfterSuccessMs());
      }
      logger.info({ outcome: result.outcome, regions: result.regions, loadedAt: result.loadedAt }, 'zones: refreshed');
      return result;
    } catch (err) {
      const error =
        err instanceof AuthctxError
          ? err
          : new AuthctxError('AUTHCTX_ERR_ZONES_UNAVAILABLE', `zone refresh failed: ${String(err)}`, { cause: err });
      if (lifecycle.signal.aborted) throw error;
      refreshCounter.inc({ outcome: 'error' });
      failures += 1;
      lastError = error.message;
      schedule(backoffMs());
      logger.warn(
        { code: error.code, err: error.message, failures, kept: data !== undefined, nextRefreshAt },
        'zones: refresh failed, keeping the last good copy',
      );
      throw error;
    } finally {
      refreshDuration.observe(Math.max(0, now() - startedAt) / 1000);
    }
  }

  function run(force: boolean): Promise<RefreshOutcome> {
    if (lifecycle.signal.aborted) {
      return Promise.reject(new AuthctxError('AUTHCTX_ERR_ZONES_UNAVAILABLE', 'the zone index is closed'));
    }
    if (inFlight !== undefined) return inFlight;
    const current = execute(force).finally(() => {
      if (inFlight === current) inFlight = undefined;
    });
    inFlight = current;
    return current;
  }

  return {
    start() {
      if (started || lifecycle.signal.aborted) return;
      started = true;
      run(false).catch(alreadyLogged);
    },
    zonesFor(regions) {
      if (data === undefined || regions.length === 0) return empty;
      if (regions.length === 1) return data.zones.get(regions[0] ?? '') ?? empty;
      const key = regions.join(',');
      const cached = memo.get(key);
      if (cached !== undefined) return cached;
      const merged = new Set<string>();
      for (const region of regions) {
        for (const zone of data.zones.get(region) ?? empty) merged.add(zone);
      }
      const result = merged.size === 0 ? empty : Object.freeze([...merged].sort());
      if (memo.size >= maxMemoEntries) memo.clear();
      memo.set(key, result);
      return result;
    },
    refresh(opts) {
      return run(opts?.force ?? true);
    },
    isLoaded() {
      return data !== undefined;
    },
    stats() {
      return {
        source: source.kind,
        regions: data?.zones.size ?? 0,
        loadedAt: data?.loadedAt ?? null,
        ageMs: data === undefined ? null : Math.max(0, now() - data.loadedAt),
        lastError,
        refreshing: inFlight !== undefined,
        shared: store !== undefined,
        nextRefreshAt,
      };
    },
    async close() {
      timer?.cancel();
      timer = undefined;
      nextRefreshAt = null;
      if (!lifecycle.signal.aborted) {
        lifecycle.abort(new AuthctxError('AUTHCTX_ERR_ZONES_UNAVAILABLE', 'the zone index is closing'));
      }
      if (inFlight !== undefined) await Promise.allSettled([inFlight]);
    },
  };
}

function alreadyLogged(_err: unknown): void {
  // execute() logged the failure and scheduled the retry; nothing else to do for a background run.
}
