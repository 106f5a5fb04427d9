import type { ZoneMap } from './zone-source.js';

/** Longest region or zone code accepted (characters). Longer codes are rejected rows. */
export const maxZoneCodeLength = 128;

// Codes end up in `X-User-Zones` (comma-separated) and `X-User-Region`: printable ASCII only,
// no comma (the list separator), no leading/trailing space, and never CR, LF or NUL
// (header injection; DESIGN.md "Values never contain CR, LF or NUL").
const codePattern = /^[!-+\--~](?:[ -+\--~]*[!-+\--~])?$/;

/** True when `value` may be used as a region or zone code. */
export function isValidZoneCode(value: unknown): value is string {
  return typeof value === 'string' && value.length <= maxZoneCodeLength && codePattern.test(value);
}

/** A zone map built from rows, with the number of rows that were rejected. */
export interface BuiltZoneMap {
  zones: ZoneMap;
  /** Rows seen, valid or not. */
  rows: number;
  /** Rows skipped because a code was missing, too long, or held a forbidden character. */
  rejected: number;
}

/**
 * Collects `(region_code, zone_code)` rows into a `ZoneMap`.
 *
 * Policy (shared by every adapter): a bad row is skipped and counted rather than failing the
 * whole load, because one dirty row in a reference table should not freeze every replica on an
 * old copy. Codes are trimmed first. The result's zone lists are sorted, de-duplicated and frozen.
 */
export function createZoneMapBuilder(): {
  add(region: unknown, zone: unknown): void;
  build(): BuiltZoneMap;
} {
  const byRegion = new Map<string, Set<string>>();
  let rows = 0;
  let rejected = 0;
  return {
    add(region, zone) {
      rows += 1;
      const r = typeof region === 'string' ? region.trim() : region;
      const z = typeof zone === 'string' ? zone.trim() : zone;
      if (!isValidZoneCode(r) || !isValidZoneCode(z)) {
        rejected += 1;
        return;
      }
      let set = byRegion.get(r);
      if (set === undefined) {
        set = new Set();
        byRegion.set(r, set);
      }
      set.add(z);
    },
    build() {
      const zones = new Map<string, readonly string[]>();
      for (const [region, set] of byRegion) {
        zones.set(region, Object.freeze([...set].sort()));
      }
      return { zones, rows, rejected };
    },
  };
}

/** Plain-object form of a `ZoneMap`, as stored in Redis and read from JSON files. */
export function zoneMapToObject(zones: ZoneMap): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  for (const [region, list] of zones) out[region] = list;
  return out;
}

/**
 * Reads `{ "JKT": ["JKT-01", …], … }` into a builder. Returns false when the value does not have
 * that shape at all (the caller decides how to report it); bad individual codes are rejected rows.
 */
export function addZoneObject(builder: ReturnType<typeof createZoneMapBuilder>, value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const [region, list] of Object.entries(value)) {
    if (!Array.isArray(list)) return false;
    for (const zone of list as unknown[]) builder.add(region, zone);
  }
  return true;
}
