import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jitterTtl } from '../../src/cache/ttl-jitter.js';

describe('jitterTtl', () => {
  it('only ever shortens a TTL, by at most the fraction', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 * 24 * 3_600_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (ttlMs, fraction, r) => {
          const jittered = jitterTtl(ttlMs, fraction, () => r);
          expect(Number.isInteger(jittered)).toBe(true);
          expect(jittered).toBeLessThanOrEqual(ttlMs);
          expect(jittered).toBeGreaterThanOrEqual(Math.max(1, Math.floor(ttlMs * (1 - fraction))));
        },
      ),
    );
  });

  it('spreads a fleet of TTLs over the last tenth by default', () => {
    const ttls = new Set(Array.from({ length: 200 }, () => jitterTtl(900_000)));
    expect(ttls.size).toBeGreaterThan(50);
    for (const ttl of ttls) expect(ttl).toBeGreaterThanOrEqual(810_000);
  });

  it('leaves the TTL alone with a zero fraction or a zero draw', () => {
    expect(jitterTtl(1_000, 0)).toBe(1_000);
    expect(jitterTtl(1_000, 0.1, () => 0)).toBe(1_000);
    expect(jitterTtl(1_000, 0.1, () => 0.999)).toBe(901);
  });
});
