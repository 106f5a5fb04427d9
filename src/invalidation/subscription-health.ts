import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { getOrCreateGauge } from '../metrics/get-or-create.js';
import { metricNames } from '../metrics/names.js';

/** Where invalidations arrive from; the `channel` label of `authctx_invalidation_subscribed`. */
export type InvalidationChannel = 'redis' | 'postgres';

export interface SubscriptionHealthOptions {
  /** Age past which a cached context is not trusted while a channel is down, ms (`AUTHCTX_INVALIDATION_GRACE`). */
  graceMs: number;
  registry?: Registry;
  logger?: Logger;
  /**
   * Called when a channel is subscribed again after having been lost: whatever was published
   * in between is gone, so what L1 holds from before must be re-read (e.g. `resolver.clearLocal`).
   * Not called for a channel's first subscription.
   */
  onRecovered?: (channel: InvalidationChannel) => void;
}

/**
 * Which invalidation channels this replica is subscribed to, and what that means for cached
 * entries: while every tracked channel is up, an entry is trusted until its TTL; while one is
 * down, only for `graceMs` after the source answered (DESIGN.md: L1 entries also expire on an
 * invalidation; a replica that may have missed one must not serve beyond a bounded window).
 */
export interface SubscriptionHealth {
  /** Registers a channel this replica relies on; it counts as down until `up()`. */
  track(channel: InvalidationChannel): void;
  up(channel: InvalidationChannel): void;
  down(channel: InvalidationChannel): void;
  isUp(channel: InvalidationChannel): boolean;
  /** Infinity while every tracked channel is up, else `graceMs`. O(1): read on every request. */
  maxEntryAgeMs(): number;
}

export function createSubscriptionHealth(options: SubscriptionHealthOptions): SubscriptionHealth {
  const gauge = options.registry
    ? getOrCreateGauge(options.registry, {
        name: metricNames.invalidationSubscribed,
        help: 'Whether this replica receives invalidations on a channel (1) or not (0); while 0, cached contexts are trusted only for AUTHCTX_INVALIDATION_GRACE',
        labelNames: ['channel'] as const,
      })
    : undefined;
  const state = new Map<InvalidationChannel, { up: boolean; everUp: boolean }>();
  let downCount = 0;
  let maxAgeMs = Number.POSITIVE_INFINITY;

  function update(): void {
    downCount = 0;
    for (const entry of state.values()) if (!entry.up) downCount++;
    maxAgeMs = downCount === 0 ? Number.POSITIVE_INFINITY : options.graceMs;
  }

  return {
    track(channel) {
      if (state.has(channel)) return;
      state.set(channel, { up: false, everUp: false });
      gauge?.labels({ channel }).set(0);
      update();
    },
    up(channel) {
      const entry = state.get(channel);
      if (!entry || entry.up) return;
      const recovered = entry.everUp;
      entry.up = true;
      entry.everUp = true;
      gauge?.labels({ channel }).set(1);
      update();
      if (recovered) {
        options.logger?.info({ channel }, 'invalidation channel subscribed again: memory tier dropped');
        options.onRecovered?.(channel);
      }
    },
    down(channel) {
      const entry = state.get(channel);
      if (!entry?.up) return;
      entry.up = false;
      gauge?.labels({ channel }).set(0);
      update();
      options.logger?.warn({ channel, graceMs: options.graceMs }, 'invalidation channel lost: cached contexts now trusted only for the grace period');
    },
    isUp: (channel) => state.get(channel)?.up ?? false,
    maxEntryAgeMs: () => maxAgeMs,
  };
}
