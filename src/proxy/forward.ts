import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Transform, type TransformCallback } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { AuthctxError, type ErrorCode } from '../errors.js';
import { outboundResponseHeaders } from './hop-headers.js';

export interface UpstreamOptions {
  /** Backend origin, e.g. `http://127.0.0.1:8000`. A path prefix in the URL is prepended to every request. */
  url: string;
  /** Keep-alive pool size. */
  connections: number;
  /** Wait for response headers (then 504). */
  headersTimeoutMs: number;
  /** Idle time between response body chunks. */
  bodyTimeoutMs: number;
  connectTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  headers: string[];
  /** Largest body forwarded; a bigger chunked body is cut off with 413. */
  maxBodyBytes: number;
  /** Called once when the exchange is over: the status sent (0 if the client went away). */
  onDone: (status: number, upstreamError: ErrorCode | undefined) => void;
  /** Sends an authctx error when nothing has been written yet. */
  sendError: (res: ServerResponse, error: AuthctxError) => void;
  /** Time to the backend's response headers, or to its failure (seconds). */
  onUpstream?: ((seconds: number, outcome: 'response' | 'error') => void) | undefined;
  /** Sees the response while it streams to the client (the response cache captures with it). */
  tap?: ResponseTap | undefined;
}

/** An observer of one forwarded response; it never alters what the client receives. */
export interface ResponseTap {
  /** The backend's status and headers (after they were written); return false to see nothing more. */
  start(status: number, headers: Record<string, string | string[] | undefined>): boolean;
  data(chunk: Buffer): void;
  /** The whole body reached the client. */
  end(): void;
  /** The exchange failed or the client went away: what was seen is incomplete. */
  abort(): void;
}

export interface Upstream {
  forward(request: ForwardRequest): void;
  close(): Promise<void>;
  readonly pool: Pool;
  readonly basePath: string;
}

/**
 * Forwards over an undici Pool with a raw dispatch handler: measured here as the cheapest
 * way to proxy from Node (≈ 62 µs CPU/request vs ≈ 97 for http-proxy). Bodies stream
 * both ways with backpressure; nothing is buffered.
 */
export function createUpstream(options: UpstreamOptions): Upstream {
  const url = new URL(options.url);
  const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  const pool = new Pool(url.origin, {
    connections: options.connections,
    pipelining: 1,
    headersTimeout: options.headersTimeoutMs,
    bodyTimeout: options.bodyTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    connect: { timeout: options.connectTimeoutMs },
  });
  return {
    pool,
    basePath,
    forward(request) {
      const { req } = request;
      const body = hasBody(req) ? limitBody(req, request.maxBodyBytes) : null;
      const handler = new ForwardHandler(request);
      pool.dispatch(
        {
          origin: url.origin,
          path: basePath + request.path,
          method: request.method as Dispatcher.HttpMethod,
          headers: request.headers,
          body,
        },
        handler,
      );
    },
    async close() {
      await pool.close();
    },
  };
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return length !== '0';
  return req.headers['transfer-encoding'] !== undefined;
}

class BodyTooLarge extends Error {
  constructor() {
    super('request body too large');
  }
}

/** Counts a chunked body on its way through; a declared Content-Length is checked before dispatch. */
function limitBody(req: IncomingMessage, maxBytes: number): IncomingMessage | Transform {
  if (req.headers['content-length'] !== undefined) return req;
  let seen = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > maxBytes) callback(new BodyTooLarge());
      else callback(null, chunk);
    },
  });
  req.on('error', (error) => limiter.destroy(error));
  return req.pipe(limiter);
}

/** Maps an undici error to authctx's status contract: timeouts → 504, the rest → 502. */
export function upstreamErrorCode(error: unknown): ErrorCode {
  const code = (error as { code?: string }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return 'AUTHCTX_ERR_PROXY_UPSTREAM_TIMEOUT';
  }
  return 'AUTHCTX_ERR_PROXY_UPSTREAM_UNREACHABLE';
}

class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly #request: ForwardRequest;
  #tap: ResponseTap | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  #status = 0;
  #done = false;
  readonly #startMs = performance.now();

  constructor(request: ForwardRequest) {
    this.#request = request;
    this.#tap = request.tap;
    request.res.once('close', () => {
      // The client went away (or we finished): release the upstream socket either way.
      if (!this.#done) this.#controller?.abort(new Error('client closed the connection'));
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#request.res.destroyed) controller.abort(new Error('client closed the connection'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>, statusMessage?: string): void {
    if (statusCode < 200) return; // 1xx informational: Node answers Expect itself
    const { res } = this.#request;
    this.#status = statusCode;
    this.#request.onUpstream?.((performance.now() - this.#startMs) / 1000, 'response');
    res.writeHead(statusCode, statusMessage, outboundResponseHeaders(headers));
    res.on('drain', () => controller.resume());
    if (this.#tap && !this.#tap.start(statusCode, headers)) this.#tap = undefined;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#tap?.data(chunk);
    if (!this.#request.res.write(chunk)) controller.pause();
  }

  onResponseEnd(): void {
    this.#done = true;
    this.#request.res.end();
    this.#tap?.end();
    this.#request.onDone(this.#status, undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#tap?.abort();
    const { res, req } = this.#request;
    if (res.destroyed) {
      this.#request.onDone(0, undefined);
      return;
    }
    if (res.headersSent) {
      // Mid-body failure: the status line is gone, so the only honest signal is a cut connection.
      res.destroy(error);
      this.#request.onDone(this.#status, upstreamErrorCode(error));
      return;
    }
    const tooLarge = error instanceof BodyTooLarge || error.cause instanceof BodyTooLarge;
    if (!tooLarge) this.#request.onUpstream?.((performance.now() - this.#startMs) / 1000, 'error');
    const code = tooLarge ? 'AUTHCTX_ERR_PROXY_BODY_TOO_LARGE' : upstreamErrorCode(error);
    if (tooLarge) res.setHeader('connection', 'close');
    this.#request.sendError(res, new AuthctxError(code));
    if (tooLarge) req.resume();
    this.#request.onDone(res.statusCode, tooLarge ? undefined : code);
  }
}
