/**
 * Shortens a TTL by a random amount up to `fraction` of it, so that entries a fleet of
 * replicas wrote at the same moment (a deploy, a cache clear) do not all expire together.
 * Never extends beyond `ttlMs`: the configured TTL is the promise made to operators.
 *
 * @param ttlMs the configured TTL in milliseconds (> 0)
 * @param fraction the largest share of `ttlMs` to take off, clamped to [0, 1]; default 0.1
 * @param random a source of numbers in [0, 1); default `Math.random`
 * @returns an integer TTL in `[max(1, ttlMs × (1 − fraction)), ttlMs]` milliseconds
 */
export function jitterTtl(ttlMs: number, fraction = 0.1, random: () => number = Math.random): number {
  if (!(ttlMs > 0)) return ttlMs;
  const share = Math.min(Math.max(fraction, 0), 1);
  const cut = Math.floor(ttlMs * share * Math.min(Math.max(random(), 0), 1));
  return Math.max(1, Math.min(ttlMs, Math.floor(ttlMs) - cut));
}
