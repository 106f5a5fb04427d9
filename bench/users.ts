/**
 * Which seeded employees a scenario sends requests for, and in what order: the seed
 * (scripts/seed.ts) makes employee i inactive when i % 17 = 0, so the pools skip those.
 */
import { generatedEmail } from '../scripts/seed.js';

/** `count` active generated employees starting at index `from` (1-based), in order. */
export function activeUsers(from: number, count: number): string[] {
  const out: string[] = [];
  for (let i = from; out.length < count; i++) if (i % 17 !== 0) out.push(generatedEmail(i));
  return out;
}

/** How many seeded employees are needed so that `activeCount` active ones exist after `from`. */
export function employeesNeeded(from: number, activeCount: number): number {
  let i = from;
  for (let found = 0; found < activeCount; i++) if (i % 17 !== 0) found++;
  return i - 1;
}

/** A seeded PRNG (mulberry32): the same run picks the same users. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Samples ranks 0..n-1 with P(rank k) ∝ 1/(k+1)^exponent (binary search on the CDF). */
export function createZipf(n: number, exponent: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1) ** exponent;
    cdf[k] = sum;
  }
  return () => {
    const target = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
