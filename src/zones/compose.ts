import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Redis } from 'ioredis';
import type { Config } from '../config/schema.js';
import type { ReadinessCheck } from '../admin/readiness.js';
import { createBigQueryZoneSource } from './bigquery-zone-source.js';
import { createFileZoneSource } from './file-zone-source.js';
import { createZoneIndex, type ZoneIndex } from './zone-index.js';
import type { ZoneSource } from './zone-source.js';

export interface ZonesPart {
  index: ZoneIndex;
  readiness: ReadinessCheck;
  close(): Promise<void>;
}

/** The zone index over the configured source, or undefined for `AUTHCTX_ZONES_SOURCE=none`. */
export function composeZones(config: Config, deps: { registry: Registry; logger: Logger; now: () => number; redis: Redis | undefined }): ZonesPart | undefined {
  if (config.zonesSource === 'none') return undefined;
  const logger = deps.logger.child({ part: 'zones' });
  const source: ZoneSource =
    config.zonesSource === 'file'
      ? createFileZoneSource({ path: config.zonesFile!, logger })
      : createBigQueryZoneSource({
          ...(config.bigqueryProject ? { projectId: config.bigqueryProject } : {}),
          ...(config.bigqueryLocation ? { location: config.bigqueryLocation } : {}),
          ...(config.bigqueryKeyFile ? { keyFilename: config.bigqueryKeyFile } : {}),
          ...(config.bigqueryQuery ? { query: config.bigqueryQuery } : {}),
          ...(config.bigqueryDataset ? { dataset: config.bigqueryDataset } : {}),
          ...(config.bigqueryApiEndpoint ? { apiEndpoint: config.bigqueryApiEndpoint } : {}),
          jobTimeoutMs: config.zonesJobTimeout,
          // The index retries with its own backoff; client-side retry timers would outlive
          // an aborted load and hold a stopping process open.
          maxRetries: 0,
          logger,
        });
  const index = createZoneIndex({
    source,
    refreshIntervalMs: config.zonesRefresh,
    jobTimeoutMs: config.zonesJobTimeout,
    redis: deps.redis,
    registry: deps.registry,
    logger,
    now: deps.now,
  });
  return {
    index,
    readiness: {
      name: 'zones',
      check() {
        const stats = index.stats();
        const loaded = index.isLoaded();
        return {
          ready: config.zonesReadiness === 'immediate' || loaded,
          detail: { mode: config.zonesReadiness, loaded, source: stats.source, regions: stats.regions, age_ms: stats.ageMs, last_error: stats.lastError },
        };
      },
    },
    async close() {
      await index.close();
      await source.close();
    },
  };
}
