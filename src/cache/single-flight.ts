import type { Registry } from 'prom-client';
import { getOrCreateCounter } from '../metrics/get-or-create.js';
import { metricNames } from '../metrics/names.js';

export interface SingleFlightOptions {
  /** Registry for `authctx_singleflight_coalesced_total`; none → no metric. */
  registry?: Registry;
  /**
   * Most keys with a call in flight at once (default 10 000). Beyond it a caller runs its own
   * call without coalescing: the map stays bounded and nobody waits in a queue.
   */
  maxKeys?: number;
}

export interface SingleFlight<K, V> {
  /**
   * Runs `fn` unless a call for `key` is already in flight, in which case it shares that
   * call's outcome (value or rejection). Nothing is remembered once the call settles.
   */
  do(key: K, fn: () => Promise<V>): Promise<V>;
  /** Keys with a call in flight. */
  readonly size: number;
}

/** One in-flight call per key (Go's `singleflight.Group`), per process. */
export function createSingleFlight<K, V>(options: SingleFlightOptions = {}): SingleFlight<K, V> {
  const maxKeys = options.maxKeys ?? 10_000;
  const inFlight = new Map<K, Promise<V>>();
  const coalesced = options.registry
    ? getOrCreateCounter(options.registry, {
        name: metricNames.singleflightCoalesced,
        help: 'Callers that joined a context lookup already in flight instead of starting their own',
      })
    : undefined;

  return {
    do(key, fn) {
      const running = inFlight.get(key);
      if (running !== undefined) {
        coalesced?.inc();
        return running;
      }
      if (inFlight.size >= maxKeys) return fn();
      const call = invoke(fn).finally(() => inFlight.delete(key));
      inFlight.set(key, call);
      return call;
    },
    get size() {
      return inFlight.size;
    },
  };
}

/** Turns a synchronous throw into a rejection, so every waiter sees the same outcome. */
function invoke<V>(fn: () => Promise<V>): Promise<V> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error);
  }
}
