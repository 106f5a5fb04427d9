import { monitorEventLoopDelay, performance, type ELDHistogram } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { ErrorCode } from '../errors.js';
import { getOrCreateCounter } from '../metrics/get-or-create.js';
import { metricNames } from '../metrics/names.js';

/** Why a request was refused; the `reason` label of `authctx_overload_rejections_total`. */
export type OverloadReason = 'in_flight' | 'event_loop';

export interface OverloadGuardOptions {
  /** Requests in flight (this one included) above which new ones are refused; 0 = no limit (`AUTHCTX_MAX_IN_FLIGHT`). */
  maxInFlight: number;
  /**
   * Event-loop delay above which new requests are refused, ms; 0 = off (`AUTHCTX_MAX_EVENT_LOOP_DELAY`).
   * Compared with the longest stall seen in the last sample window, so the refusals end one
   * window after the loop recovers.
   */
  maxEventLoopDelayMs: number;
  /** The live in-flight count (`ProxyMetrics.inFlight`). */
  inFlight: () => number;
  /** How often the event-loop delay is read, ms. Default 250. */
  sampleIntervalMs?: number;
  /** Resolution of the delay histogram, ms. Default 10. */
  resolutionMs?: number;
  registry: Registry;
}

export interface OverloadGuard {
  /** The `admit` hook of the proxy handler: a code to refuse with (503 + Retry-After), or undefined. */
  admit(): ErrorCode | undefined;
  /** The last sampled event-loop delay, ms (0 while the check is off). */
  readonly eventLoopDelayMs: number;
  start(): void;
  close(): void;
}

/**
 * Load shedding (after fastify's under-pressure): refuse at once rather than queue when too many
 * requests are in flight or the event loop lags. The per-request cost is two comparisons; the
 * delay histogram is read on an unref'd timer, never on the request path.
 */
export function createOverloadGuard(options: OverloadGuardOptions): OverloadGuard {
  const { maxInFlight, maxEventLoopDelayMs } = options;
  const sampleIntervalMs = options.sampleIntervalMs ?? 250;
  const resolutionMs = options.resolutionMs ?? 10;
  const rejections = getOrCreateCounter(options.registry, {
    name: metricNames.overloadRejections,
    help: 'Requests refused with 503 because authctx was overloaded, by reason',
    labelNames: ['reason'] as const,
  });
  const byInFlight = rejections.labels({ reason: 'in_flight' });
  const byEventLoop = rejections.labels({ reason: 'event_loop' });
  let histogram: ELDHistogram | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delayMs = 0;
  let lastSampleAt = 0;

  function sample(): void {
    if (!histogram) return;
    const at = performance.now();
    // How late this very tick ran: a stall that just ended shows here at once, even when the
    // histogram's own timer has not recorded it yet (timers of one phase run in any order).
    const lateMs = at - lastSampleAt - sampleIntervalMs;
    lastSampleAt = at;
    // The longest stall in the last window, not the mean: one 600 ms block among 25 idle ticks
    // averages to ~25 ms, yet every request that arrived during it waited 600 ms.
    const maxMs = histogram.max / 1e6 - resolutionMs;
    delayMs = Math.max(0, lateMs, Number.isFinite(maxMs) ? maxMs : 0);
    histogram.reset();
  }

  return {
    admit() {
      if (maxInFlight > 0 && options.inFlight() > maxInFlight) {
        byInFlight.inc();
        return 'AUTHCTX_ERR_PROXY_OVERLOADED';
      }
      if (maxEventLoopDelayMs > 0 && delayMs > maxEventLoopDelayMs) {
        byEventLoop.inc();
        return 'AUTHCTX_ERR_PROXY_OVERLOADED';
      }
      return undefined;
    },
    get eventLoopDelayMs() {
      return delayMs;
    },
    start() {
      if (maxEventLoopDelayMs <= 0 || histogram) return;
      histogram = monitorEventLoopDelay({ resolution: resolutionMs });
      histogram.enable();
      lastSampleAt = performance.now();
      timer = setInterval(sample, sampleIntervalMs);
      timer.unref();
    },
    close() {
      clearInterval(timer);
      histogram?.disable();
      histogram = undefined;
      delayMs = 0;
    },
  };
}
