/**
 * A local server speaking the part of BigQuery's REST protocol (v2) that
 * @google-cloud/bigquery uses for `bigquery.query()`, so the real client runs unmodified:
 *
 *   POST /bigquery/v2/projects/{project}/queries                 jobs.query
 *   GET  /bigquery/v2/projects/{project}/queries/{jobId}         jobs.getQueryResults
 *   POST /bigquery/v2/projects/{project}/jobs/{jobId}/cancel     jobs.cancel
 *
 * Results are paged by `maxResults` / `pageToken`, the first `incompletePolls` answers of a job say
 * `jobComplete: false`, and errors use Google's body `{ error: { code, message, errors, status } }`.
 * Any other request is answered 404 and recorded in `unexpected`, so a test can assert none came.
 */
import { createBigQueryZoneSource, type BigQueryZoneSourceOptions } from '../../src/zones/bigquery-zone-source.js';
import type { ZoneSource } from '../../src/zones/zone-source.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Client } from 'google-auth-library';

export const testAccessToken = 'loopback-test-token';

/** An auth client that signs requests with a fixed bearer token and never calls a Google host. */
export function createLoopbackAuthClient(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: testAccessToken, token_type: 'Bearer' });
  return client;
}

/** The real BigQuery zone source pointed at a local server, with the loopback auth client. */
export function loopbackZoneSource(server: BigQueryServer, extra: Partial<BigQueryZoneSourceOptions> = {}): ZoneSource {
  return createBigQueryZoneSource({
    projectId: server.projectId,
    apiEndpoint: server.url,
    authClient: createLoopbackAuthClient(),
    dataset: 'reference',
    jobTimeoutMs: 5_000,
    maxRetries: 0,
    ...extra,
  });
}

export interface BigQueryServerOptions {
  /** Project id the client must use. Default `test-project`. */
  projectId?: string;
  /**
   * Checks the bearer token instead of expecting `testAccessToken`: e.g. verifies the
   * self-signed JWT a service-account key file produces (the real credential path).
   */
  verifyBearer?: (token: string) => Promise<boolean>;
}

interface JobState {
  id: string;
  pollsLeft: number;
  rows: readonly (readonly [string | null, string | null])[];
}

const statusNames: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};
const reasons: Record<number, string> = {
  400: 'invalidQuery',
  401: 'authError',
  403: 'accessDenied',
  404: 'notFound',
  429: 'rateLimitExceeded',
  500: 'backendError',
  503: 'backendError',
};

export interface BigQueryServer {
  readonly url: string;
  readonly projectId: string;
  /** jobs.query calls received. */
  readonly queryCount: number;
  /** getQueryResults calls received. */
  readonly resultsCount: number;
  /** jobs.cancel calls received. */
  readonly cancelCount: number;
  /** Bodies of the jobs.query calls, in order. */
  readonly queries: readonly Record<string, unknown>[];
  /** Requests that did not match the protocol (wrong path, project, method or token). */
  readonly unexpected: readonly string[];
  setRows(rows: readonly (readonly [string | null, string | null])[]): void;
  /** Answer the first `n` polls of each new job with `jobComplete: false`. */
  setIncompletePolls(n: number): void;
  /** Page size used when the client sends no `maxResults`. */
  setDefaultPageSize(n: number): void;
  /** Answer every request with this HTTP status and a Google error body until `recover()`. */
  failWith(status: number): void;
  /**
   * Never answer jobs.query and getQueryResults (`'all'`, default) or only getQueryResults
   * (`'results'`: the job starts, then its polls hang) until `recover()`; held requests are then failed 503.
   */
  hang(scope?: 'all' | 'results'): void;
  recover(): void;
  /** Resolves when the next request of the given kind arrives. */
  nextRequest(kind: 'query' | 'results'): Promise<void>;
  close(): Promise<void>;
}

export async function startBigQueryServer(options: BigQueryServerOptions = {}): Promise<BigQueryServer> {
  const projectId = options.projectId ?? 'test-project';
  let rows: readonly (readonly [string | null, string | null])[] = [];
  let incompletePolls = 0;
  let defaultPageSize = 100_000;
  let failure: number | undefined;
  let hanging: 'all' | 'results' | undefined;
  const held: ServerResponse[] = [];
  const jobs = new Map<string, JobState>();
  const queries: Record<string, unknown>[] = [];
  const unexpected: string[] = [];
  const waiters: { kind: 'query' | 'results'; resolve: () => void }[] = [];
  let queryCount = 0;
  let resultsCount = 0;
  let cancelCount = 0;
  let jobSeq = 0;

  const base = `/bigquery/v2/projects/${projectId}`;

  function notify(kind: 'query' | 'results'): void {
    for (let i = waiters.length - 1; i >= 0; i -= 1) {
      const w = waiters[i];
      if (w?.kind === kind) {
        waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  function send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  function sendError(res: ServerResponse, status: number, message: string): void {
    const reason = reasons[status] ?? 'backendError';
    send(res, status, {
      error: { code: status, message, errors: [{ domain: 'global', reason, message }], status: statusNames[status] ?? 'UNKNOWN' },
    });
  }

  function page(job: JobState, pageToken: string | null, maxResults: number): Record<string, unknown> {
    const start = pageToken === null ? 0 : Number(pageToken);
    const slice = job.rows.slice(start, start + maxResults);
    const end = start + slice.length;
    const body: Record<string, unknown> = {
      kind: 'bigquery#getQueryResultsResponse',
      jobReference: { projectId, jobId: job.id, location: 'US' },
      jobComplete: true,
      schema: {
        fields: [
          { name: 'region_code', type: 'STRING', mode: 'NULLABLE' },
          { name: 'zone_code', type: 'STRING', mode: 'NULLABLE' },
        ],
      },
      totalRows: String(job.rows.length),
      rows: slice.map(([r, z]) => ({ f: [{ v: r }, { v: z }] })),
      cacheHit: false,
    };
    if (end < job.rows.length) body.pageToken = String(end);
    return body;
  }

  function incomplete(job: JobState): Record<string, unknown> {
    return {
      kind: 'bigquery#getQueryResultsResponse',
      jobReference: { projectId, jobId: job.id, location: 'US' },
      jobComplete: false,
    };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const describe = `${req.method} ${url.pathname}`;

    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const authorized = options.verifyBearer ? bearer !== undefined && (await options.verifyBearer(bearer)) : bearer === testAccessToken;
    if (!authorized) {
      unexpected.push(`${describe} (authorization: ${req.headers.authorization ?? 'none'})`);
      sendError(res, 401, 'Request is missing required authentication credential.');
      return;
    }

    const queryRoute = req.method === 'POST' && url.pathname === `${base}/queries`;
    const resultsMatch = req.method === 'GET' ? new RegExp(`^${base}/queries/([^/]+)$`).exec(url.pathname) : null;
    const cancelMatch = req.method === 'POST' ? new RegExp(`^${base}/jobs/([^/]+)/cancel$`).exec(url.pathname) : null;

    if (cancelMatch) {
      cancelCount += 1;
      send(res, 200, { kind: 'bigquery#jobCancelResponse', job: { jobReference: { projectId, jobId: cancelMatch[1] } } });
      return;
    }
    if (!queryRoute && !resultsMatch) {
      unexpected.push(describe);
      sendError(res, 404, `Not found: ${describe}`);
      return;
    }
    if (queryRoute) {
      queryCount += 1;
      queries.push(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>);
      notify('query');
    } else {
      resultsCount += 1;
      notify('results');
    }
    if (hanging === 'all' || (hanging === 'results' && !queryRoute)) {
      held.push(res);
      return;
    }
    if (failure !== undefined) {
      sendError(res, failure, failure >= 500 ? 'Backend error. Job aborted.' : 'The request failed.');
      return;
    }

    if (queryRoute) {
      const body = queries[queries.length - 1] ?? {};
      jobSeq += 1;
      const job: JobState = { id: `job_${jobSeq}`, pollsLeft: incompletePolls, rows };
      jobs.set(job.id, job);
      const maxResults = typeof body.maxResults === 'number' ? body.maxResults : defaultPageSize;
      if (job.pollsLeft > 0) {
        job.pollsLeft -= 1;
        send(res, 200, { ...incomplete(job), kind: 'bigquery#queryResponse' });
        return;
      }
      send(res, 200, { ...page(job, null, maxResults), kind: 'bigquery#queryResponse' });
      return;
    }

    const job = jobs.get(resultsMatch?.[1] ?? '');
    if (job === undefined) {
      sendError(res, 404, `Not found: Job ${projectId}:${resultsMatch?.[1] ?? ''}`);
      return;
    }
    if (job.pollsLeft > 0) {
      job.pollsLeft -= 1;
      send(res, 200, incomplete(job));
      return;
    }
    const maxParam = url.searchParams.get('maxResults');
    const maxResults = maxParam === null ? defaultPageSize : Number(maxParam);
    send(res, 200, page(job, url.searchParams.get('pageToken'), maxResults));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      unexpected.push(`handler error: ${String(err)}`);
      if (!res.headersSent) sendError(res, 500, 'test server error');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  function releaseHeld(): void {
    for (const res of held.splice(0)) {
      if (!res.writableEnded) sendError(res, 503, 'Service unavailable.');
    }
  }

  return {
    url: `http://127.0.0.1:${port}`,
    projectId,
    get queryCount() {
      return queryCount;
    },
    get resultsCount() {
      return resultsCount;
    },
    get cancelCount() {
      return cancelCount;
    },
    queries,
    unexpected,
    setRows(next) {
      rows = [...next];
    },
    setIncompletePolls(n) {
      incompletePolls = n;
    },
    setDefaultPageSize(n) {
      defaultPageSize = n;
    },
    failWith(status) {
      failure = status;
    },
    hang(scope = 'all') {
      hanging = scope;
    },
    recover() {
      failure = undefined;
      hanging = undefined;
      releaseHeld();
    },
    nextRequest(kind) {
      return new Promise<void>((resolve) => waiters.push({ kind, resolve }));
    },
    async close() {
      hanging = undefined;
      releaseHeld();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}
