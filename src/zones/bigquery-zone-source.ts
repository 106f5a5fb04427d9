import { BigQuery, type BigQueryOptions, type Job, type Query } from '@google-cloud/bigquery';
import type { Logger } from 'pino';
import { AuthctxError } from '../errors.js';
import { abortable, abortReason } from './abortable.js';
import { createZoneMapBuilder } from './zone-rows.js';
import type { ZoneMap, ZoneSource } from './zone-source.js';

export interface BigQueryZoneSourceOptions {
  /** GCP project that runs the query. Default: the credentials' project (ADC). */
  projectId?: string;
  /** Dataset location, e.g. `asia-southeast2`. Default: BigQuery's default (US / the dataset's). */
  location?: string;
  /**
   * Service-account key file. Default: the standard Google lookup — `GOOGLE_APPLICATION_CREDENTIALS`,
   * then gcloud ADC, then the metadata server (GKE Workload Identity).
   */
  keyFilename?: string;
  /** Inline service-account credentials, as an alternative to `keyFilename`. */
  credentials?: BigQueryOptions['credentials'];
  /** A ready auth client (google-auth-library `AuthClient`); tests pass one that never leaves loopback. */
  authClient?: BigQueryOptions['authClient'];
  /**
   * Standard SQL returning `region_code` and `zone_code` (STRING) columns; may use `@name`
   * parameters bound from `params`. Default `SELECT region_code, zone_code FROM \`<dataset>.zones\``.
   */
  query?: string;
  /** Dataset (`dataset` or `project.dataset`) for the default query; required when `query` is unset. */
  dataset?: string;
  /** Named query parameters for `query`. Default none. */
  params?: Record<string, string | number | boolean>;
  /** API root, e.g. `http://127.0.0.1:9050` for an emulator. Default `https://bigquery.googleapis.com`. */
  apiEndpoint?: string;
  /**
   * Per-HTTP-request timeout, ms; the caller's signal bounds the whole load (ZoneIndex aborts it at
   * its job timeout, and the job is then cancelled, best effort).
   */
  jobTimeoutMs: number;
  /** Rows per page. Default 10000. */
  pageSize?: number;
  /** Largest result accepted, rows; more → `AUTHCTX_ERR_ZONES_MALFORMED`. Default 1,000,000. */
  maxRows?: number;
  /** Client-level retries of failed HTTP calls (the index retries too). Default 2. */
  maxRetries?: number;
  /** Warns about rejected rows and failed cancels. Optional. */
  logger?: Logger;
}

const datasetPattern = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)?$/;

/** The default query for a dataset: the table `<dataset>.zones`. */
export function defaultZoneQuery(dataset: string): string {
  return `SELECT region_code, zone_code FROM \`${dataset}.zones\``;
}

/** A `ZoneSource` that runs one parameterised query through the official BigQuery client. */
export function createBigQueryZoneSource(options: BigQueryZoneSourceOptions): ZoneSource {
  const { jobTimeoutMs, logger } = options;
  const pageSize = options.pageSize ?? 10_000;
  const maxRows = options.maxRows ?? 1_000_000;
  const maxRetries = options.maxRetries ?? 2;
  const sql = resolveQuery(options);

  const client = new BigQuery({
    projectId: options.projectId,
    location: options.location,
    keyFilename: options.keyFilename,
    credentials: options.credentials,
    authClient: options.authClient,
    apiEndpoint: options.apiEndpoint,
    // `maxRetries: 0` is ignored by @google-cloud/common (falsy → its default of 3): go through retryOptions.
    retryOptions: { autoRetry: maxRetries > 0, maxRetries },
    // @google-cloud/common applies `timeout` to every HTTP request (default 60 s).
    timeout: jobTimeoutMs,
  } as BigQueryOptions);

  async function run(signal: AbortSignal): Promise<ZoneMap> {
    const query: Query = { query: sql };
    if (options.location !== undefined) query.location = options.location;
    if (options.params !== undefined) query.params = options.params;

    const builder = createZoneMapBuilder();
    let job: Job | undefined;
    const addRows = (rows: unknown[]): void => {
      for (const row of rows) {
        const r = row as { region_code?: unknown; zone_code?: unknown };
        builder.add(r.region_code, r.zone_code);
      }
    };
    const onAbort = (): void => {
      // Stop the server-side job too, so an abandoned query does not keep running. Best effort: the
      // job is only known once jobs.query has answered (a hang in the first poll cannot be cancelled).
      job?.cancel().catch((err: unknown) => logger?.warn({ err }, 'bigquery: cancelling the zone query failed'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      // jobs.query, then jobs.getQueryResults while `jobComplete` is false or a `pageToken` remains.
      // `maxResults` goes in the options (not the query) so that every getQueryResults page honours it.
      let [rows, next] = (await abortable(client.query(query, { autoPaginate: false, maxResults: pageSize }), signal)) as unknown as [
        unknown[],
        (Record<string, unknown> & { job?: Job }) | null,
      ];
      job = next?.job;
      let seen = rows.length;
      addRows(rows);
      while (next) {
        if (seen > maxRows) {
          throw new AuthctxError('AUTHCTX_ERR_ZONES_MALFORMED', `the zone query returned more than ${maxRows} rows`);
        }
        const current: Job | undefined = next.job ?? job;
        if (current === undefined) break;
        job = current;
        [rows, next] = (await abortable(current.getQueryResults(next), signal)) as unknown as [
          unknown[],
          (Record<string, unknown> & { job?: Job }) | null,
        ];
        seen += rows.length;
        addRows(rows);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    const built = builder.build();
    if (built.rejected > 0) {
      logger?.warn({ rejected: built.rejected, rows: built.rows }, 'bigquery: rejected zone rows with invalid codes');
    }
    if (built.zones.size === 0) {
      // An empty or all-invalid result is almost always a wrong query or table: keep the last good copy.
      throw new AuthctxError(
        'AUTHCTX_ERR_ZONES_MALFORMED',
        built.rows === 0
          ? 'the zone query returned no rows'
          : 'the zone query returned no valid (region_code, zone_code) rows',
      );
    }
    return built.zones;
  }

  return {
    kind: 'bigquery',
    async load({ signal }) {
      if (signal.aborted) throw abortReason(signal);
      try {
        return await run(signal);
      } catch (err) {
        if (err instanceof AuthctxError) throw err;
        if (signal.aborted) throw abortReason(signal);
        throw new AuthctxError('AUTHCTX_ERR_ZONES_UNAVAILABLE', `bigquery: ${describe(err)}`, { cause: err });
      }
    },
    async close() {
      // The client holds no resources beyond pooled sockets, which are unref'd by the agent.
    },
  };
}

function resolveQuery(options: BigQueryZoneSourceOptions): string {
  if (options.query !== undefined && options.query.trim() !== '') return options.query;
  if (options.dataset === undefined || !datasetPattern.test(options.dataset)) {
    throw new AuthctxError(
      'AUTHCTX_ERR_CONFIG_INVALID',
      'the bigquery zone source needs a query, or a dataset name (letters, digits, _ and -, optionally project.dataset)',
    );
  }
  return defaultZoneQuery(options.dataset);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
