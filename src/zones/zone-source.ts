/**
 * The `ZoneSource` port: reference data mapping region codes to zone codes
 * (DESIGN.md: rows of `(region_code, zone_code)`). Adapters: `bigquery`, `file`.
 * Sources are only ever called from the background refresh, never on the request path.
 */
export type ZoneSourceKind = 'bigquery' | 'file';

/** region code → zone codes (sorted, de-duplicated). */
export type ZoneMap = ReadonlyMap<string, readonly string[]>;

export interface ZoneSource {
  readonly kind: ZoneSourceKind;
  /** Loads the whole table. Rejects on failure; honours `signal` (job timeout, shutdown). */
  load(options: { signal: AbortSignal }): Promise<ZoneMap>;
  close(): Promise<void>;
}
