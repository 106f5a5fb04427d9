/** What a load generator is asked to do, and what it reports (shared by autocannon and wrk). */

export interface TokenPlan {
  /**
   * fixed: one user per connection (autocannon `setupClient`), the hot path;
   * cycle: every request the next user of the list (each connection starts elsewhere);
   * zipf: every request a Zipf-distributed user, or with `churnFraction` a never-seen one.
   */
  mode: 'fixed' | 'cycle' | 'zipf';
  users: string[];
  /** zipf: users drawn in order for the churn share. */
  churnUsers?: string[];
  /** zipf: share of requests from a churn user (0.01 = 1%). */
  churnFraction?: number;
  /** zipf: exponent s (P(k) ∝ 1/k^s). Default 1. */
  zipfExponent?: number;
  /** Seed of the PRNG and offset of cycle mode (so rounds differ but runs repeat). */
  seed?: number;
}

export interface LoadJob {
  url: string;
  path: string;
  connections: number;
  /** Run length, seconds (ignored when `amount` is set). */
  durationSec: number;
  /** Stop after this many responses instead. */
  amount?: number;
  /** Requests per second over all connections (latency at a fixed load). */
  overallRate?: number;
  tokens?: TokenPlan;
  /** Per-request timeout, seconds. Default 10. */
  timeoutSec?: number;
}

export interface LoadResult {
  generator: 'autocannon' | 'wrk';
  requests: number;
  durationSec: number;
  requestsPerSec: number;
  /** Latency of 2xx responses, milliseconds. */
  latencyMs: { p50: number; p99: number; p999: number; mean: number };
  /** Connection errors and timeouts. */
  errors: number;
  /** Responses that were not 2xx. */
  non2xx: number;
  /** Status code → count, for the log when something fails. */
  statusCodes: Record<string, number>;
}

/** Percentile of a sorted array (nearest rank). */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
