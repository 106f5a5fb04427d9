import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher, Pool } from 'undici';
import type { ResponseTap } from '../proxy/forward.js';
import type { CachedRouteSpec } from './cached-routes.js';
import { storability, storableHeaders, varyValues, type StoredResponse } from './stored-response.js';

type RawHeaders = Record<string, string | string[] | undefined>;

function entryFrom(
  route: CachedRouteSpec,
  status: number,
  headers: RawHeaders,
  body: Buffer,
  ttlMs: number,
  vary: Record<string, string>,
  now: number,
): StoredResponse {
  return { status, headers: storableHeaders(headers), body, storedAt: now, freshUntil: now + ttlMs, staleUntil: now + ttlMs + route.swrMs, vary };
}

function declaredTooLarge(headers: RawHeaders, maxBytes: number): boolean {
  const length = headers['content-length'];
  return typeof length === 'string' && Number(length) > maxBytes;
}

export interface CaptureOptions {
  route: CachedRouteSpec;
  /** Epoch ms. */
  now: () => number;
  /** The request's headers, for the values of the backend's `Vary` fields. */
  requestHeaders: IncomingHttpHeaders;
  /** Called exactly once: the entry to store, or `undefined` (not storable, too large, failed). */
  onSettle: (entry: StoredResponse | undefined) => void;
}

/**
 * A tap on a forwarded response that keeps a copy of the body while it streams to the client.
 * It settles as early as it knows the answer: at the headers when the response may not be
 * stored (so coalesced requests stop waiting), past `max-size` (the rest passes through
 * uncached), at the end of the body, or when the exchange fails.
 */
export function createCapture(options: CaptureOptions): ResponseTap {
  const { route } = options;
  let chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  let status = 0;
  let headers: RawHeaders = {};
  let ttlMs = 0;
  let vary: Record<string, string> = {};

  function settle(entry: StoredResponse | undefined): void {
    if (settled) return;
    settled = true;
    chunks = [];
    options.onSettle(entry);
  }

  return {
    start(statusCode, responseHeaders) {
      const verdict = storability(statusCode, responseHeaders, route.ttlMs);
      if (!verdict.store || declaredTooLarge(responseHeaders, route.maxSizeBytes)) {
        settle(undefined);
        return false;
      }
      status = statusCode;
      headers = responseHeaders;
      ttlMs = verdict.ttlMs;
      vary = varyValues(verdict.varyHeaders, options.requestHeaders);
      return true;
    },
    data(chunk) {
      if (settled) return;
      size += chunk.length;
      if (size > route.maxSizeBytes) settle(undefined);
      else chunks.push(chunk);
    },
    end() {
      if (settled) return;
      settle(entryFrom(route, status, headers, Buffer.concat(chunks, size), ttlMs, vary, options.now()));
    },
    abort() {
      settle(undefined);
    },
  };
}

/** Conditional and range headers would turn the refresh into a 304/206, which is not stored. */
const notForRefresh = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range']);

export interface RefreshRequest {
  pool: Pool;
  /** Backend path with query, base path included. */
  path: string;
  /** The headers the proxy would forward for the triggering request (identity included). */
  headers: readonly string[];
  requestHeaders: IncomingHttpHeaders;
  route: CachedRouteSpec;
  timeoutMs: number;
  now: () => number;
}

/**
 * A background GET for stale-while-revalidate: the response is read (up to `max-size`) and
 * returned for storing, never streamed to a client. `undefined` when it may not be stored.
 * Rejects on a backend failure.
 */
export async function fetchForCache(request: RefreshRequest): Promise<StoredResponse | undefined> {
  const headers: string[] = [];
  for (let i = 0; i < request.headers.length; i += 2) {
    const name = request.headers[i]!;
    if (!notForRefresh.has(name.toLowerCase())) headers.push(name, request.headers[i + 1]!);
  }
  const { route } = request;
  const response = await request.pool.request({
    path: request.path,
    method: 'GET' as Dispatcher.HttpMethod,
    headers,
    headersTimeout: request.timeoutMs,
    bodyTimeout: request.timeoutMs,
  });
  const responseHeaders = response.headers as RawHeaders;
  const verdict = storability(response.statusCode, responseHeaders, route.ttlMs);
  if (!verdict.store || declaredTooLarge(responseHeaders, route.maxSizeBytes)) {
    await response.body.dump();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > route.maxSizeBytes) {
      response.body.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  const vary = varyValues(verdict.varyHeaders, request.requestHeaders);
  return entryFrom(route, response.statusCode, responseHeaders, Buffer.concat(chunks, size), verdict.ttlMs, vary, request.now());
}
