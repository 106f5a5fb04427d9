import { randomUUID } from 'node:crypto';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { bearerToken, type JwtVerifier } from '../auth/jwt-verifier.js';
import { AuthctxError, type ErrorCode } from '../errors.js';
import type { ResponseCache } from '../response-cache/response-cache.js';
import type { ResponseTap, Upstream } from './forward.js';
import { readInboundHeaders, type InboundHeaders } from './hop-headers.js';
import type { Identity, IdentityResolver } from './identity.js';
import type { ProxyMetrics, RouteKind } from './proxy-metrics.js';
import { canonicalPath, hasDotSegment, type RouteMatcher } from './route-match.js';
import type { WebSocketProxy } from './websocket.js';

export interface ProxyHandlerOptions {
  verifier: JwtVerifier;
  resolver: IdentityResolver;
  upstream: Upstream;
  websocket?: WebSocketProxy | undefined;
  publicRoutes: RouteMatcher;
  contextRoutes: RouteMatcher;
  maxBodyBytes: number;
  trustForwardedHeaders: boolean;
  metrics: ProxyMetrics;
  logger: Logger;
  accessLog: boolean;
  /** Monotonic milliseconds (performance.now) for durations. */
  now: () => number;
  isShuttingDown: () => boolean;
  /** Overload guard: a code to refuse with at once, or undefined to admit the request. */
  admit?: (() => ErrorCode | undefined) | undefined;
  /** Cached routes (AUTHCTX_CACHED_ROUTES); unset → no lookup at all on the request path. */
  responseCache?: ResponseCache | undefined;
}

export interface ProxyHandler {
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
}

/** A request that passed the checks every route shares. */
interface Admitted {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  canonical: string | undefined;
  query: string;
  inbound: InboundHeaders;
  requestId: string;
  startMs: number;
  /** Set for websocket upgrades: the raw socket and its first bytes. */
  upgrade: { socket: Socket; head: Buffer } | undefined;
}

const requestIdPattern = /^[\x21-\x7e]{1,128}$/;
const jsonHeaders = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

export function createProxyHandler(options: ProxyHandlerOptions): ProxyHandler {
  const { metrics, logger } = options;

  function finish(request: Admitted, route: RouteKind, status: number, upstreamError: ErrorCode | undefined): void {
    metrics.inFlight--;
    metrics.record(route, status, request.startMs, upstreamError);
    if (options.accessLog) {
      logger.info({ reqId: request.requestId, method: request.method, path: request.path, status, route, ms: Math.round(options.now() - request.startMs) }, 'request');
    }
  }

  function sendError(res: ServerResponse, error: AuthctxError, requestId?: string): void {
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const body = JSON.stringify(error.toBody());
    const headers: Record<string, string> = { ...jsonHeaders, 'content-length': String(Buffer.byteLength(body)) };
    if (requestId) headers['x-request-id'] = requestId;
    if (error.status === 401) headers['www-authenticate'] = 'Bearer realm="authctx", error="invalid_token"';
    if (error.code === 'AUTHCTX_ERR_PROXY_OVERLOADED' || error.code === 'AUTHCTX_ERR_CONTEXT_UNAVAILABLE') headers['retry-after'] = '1';
    res.writeHead(error.status, headers);
    res.end(body);
  }

  function reject(request: Admitted, error: AuthctxError, route: RouteKind = 'rejected'): void {
    sendError(request.res, error, request.requestId);
    finish(request, route, error.status, undefined);
  }

  function forwardedHeaders(request: Admitted, extra: readonly string[]): string[] {
    const { inbound, req } = request;
    const headers = inbound.forward;
    const peer = req.socket.remoteAddress ?? '';
    const proto = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
    headers.push(
      'x-forwarded-for', inbound.xForwardedFor ? `${inbound.xForwardedFor}, ${peer}` : peer,
      'x-forwarded-proto', inbound.xForwardedProto ?? proto,
    );
    const host = inbound.xForwardedHost ?? inbound.host;
    if (host !== undefined) headers.push('x-forwarded-host', host);
    if (inbound.requestId === undefined) headers.push('x-request-id', request.requestId);
    for (let i = 0; i < extra.length; i++) headers.push(extra[i]!);
    return headers;
  }

  function forward(request: Admitted, route: RouteKind, extra: readonly string[], tap?: ResponseTap): void {
    if (request.upgrade) {
      forwardUpgrade(request, route, extra);
      return;
    }
    options.upstream.forward({
      req: request.req,
      res: request.res,
      method: request.method,
      path: request.query === '' ? request.path : `${request.path}?${request.query}`,
      headers: forwardedHeaders(request, extra),
      maxBodyBytes: options.maxBodyBytes,
      sendError: (res, error) => sendError(res, error, request.requestId),
      onUpstream: metrics.recordUpstream,
      onDone: (status, upstreamError) => finish(request, route, status, upstreamError),
      tap,
    });
  }

  function answerContext(request: Admitted, identity: Identity): void {
    const body = JSON.stringify(identity.context);
    const headers: Record<string, string> = { ...jsonHeaders, 'content-length': String(Buffer.byteLength(body)), 'x-request-id': request.requestId };
    if (identity.stale) headers['x-auth-context-stale'] = '1';
    request.res.writeHead(200, headers);
    request.res.end(request.method === 'HEAD' ? undefined : body);
    finish(request, 'context', 200, undefined);
  }

  function withIdentity(request: Admitted, identity: Identity): void {
    if (request.canonical !== undefined && options.contextRoutes.matches(request.method, request.canonical)) {
      answerContext(request, identity);
      return;
    }
    const cache = options.responseCache;
    const cached = cache && request.upgrade === undefined && request.canonical !== undefined ? cache.match(request.method, request.canonical) : undefined;
    if (cached) {
      cache!.serve({
        route: cached,
        method: request.method,
        path: request.canonical!,
        query: request.query,
        context: identity.context,
        req: request.req,
        res: request.res,
        requestId: request.requestId,
        forward: (tap) => forward(request, 'cached', identity.headerPairs, tap),
        upstreamHeaders: () => forwardedHeaders(request, identity.headerPairs),
        done: (status) => finish(request, 'cached', status, undefined),
      });
      return;
    }
    forward(request, 'proxied', identity.headerPairs);
  }

  function failed(request: Admitted, error: unknown): void {
    if (error instanceof AuthctxError) {
      reject(request, error);
      return;
    }
    logger.error({ err: error, reqId: request.requestId }, 'unexpected error while resolving identity');
    reject(request, new AuthctxError('AUTHCTX_ERR_CONTEXT_UNAVAILABLE'));
  }

  /**
   * Runs a step that answers synchronously when served from memory (no promise, no
   * microtask on the hot path) or asynchronously otherwise; failures go to `failed`.
   */
  function step<T>(request: Admitted, produce: () => T | Promise<T>, next: (value: T) => void): void {
    let value: T | Promise<T>;
    try {
      value = produce();
    } catch (error) {
      failed(request, error);
      return;
    }
    if (value instanceof Promise) value.then(next, (error: unknown) => failed(request, error));
    else next(value);
  }

  function admit(req: IncomingMessage, res: ServerResponse, upgrade: Admitted['upgrade']): Admitted {
    const startMs = options.now();
    const target = req.url ?? '';
    const q = target.indexOf('?');
    const path = q === -1 ? target : target.slice(0, q);
    const inbound = readInboundHeaders(req.rawHeaders, options.trustForwardedHeaders);
    const requestId = inbound.requestId !== undefined && requestIdPattern.test(inbound.requestId) ? inbound.requestId : randomUUID();
    metrics.inFlight++;
    return { req, res, method: req.method ?? 'GET', path, canonical: canonicalPath(path), query: q === -1 ? '' : target.slice(q + 1), inbound, requestId, startMs, upgrade };
  }

  function forwardUpgrade(request: Admitted, route: RouteKind, extra: readonly string[]): void {
    const ws = options.websocket;
    if (!ws || !/^websocket$/i.test(String(request.req.headers.upgrade ?? ''))) {
      reject(request, new AuthctxError('AUTHCTX_ERR_PROXY_BAD_REQUEST', 'only websocket upgrades are proxied'));
      return;
    }
    const headers = forwardedHeaders(request, extra);
    ws.proxy(request.req, request.upgrade!.socket, request.upgrade!.head, headers, (status) => finish(request, route, status, undefined));
  }

  function precheck(request: Admitted): AuthctxError | undefined {
    // Origin-form only (RFC 9112 §3.2.1): authctx is not a forward proxy, and `*` or an
    // absolute URL would let the client pick what the backend sees as the target.
    if (request.path.charCodeAt(0) !== 47 || hasDotSegment(request.path)) {
      return new AuthctxError('AUTHCTX_ERR_PROXY_BAD_REQUEST', 'the request target must be an absolute path without dot segments');
    }
    if (request.inbound.authorizationCount > 1) return new AuthctxError('AUTHCTX_ERR_AUTH_MULTIPLE_TOKENS');
    const overloaded = options.admit?.();
    if (overloaded) return new AuthctxError(overloaded);
    const length = request.req.headers['content-length'];
    if (length !== undefined && Number(length) > options.maxBodyBytes) {
      request.res.setHeader('connection', 'close');
      return new AuthctxError('AUTHCTX_ERR_PROXY_BODY_TOO_LARGE');
    }
    return undefined;
  }

  function authenticate(request: Admitted): void {
    const token = bearerToken(request.inbound.authorization);
    if (token === undefined) {
      reject(request, new AuthctxError('AUTHCTX_ERR_AUTH_MISSING_TOKEN'));
      return;
    }
    step(request, () => options.verifier.verify(token), (verified) =>
      step(request, () => options.resolver.resolve(verified), (identity) => withIdentity(request, identity)),
    );
  }

  function handle(request: Admitted): void {
    if (options.isShuttingDown()) request.res.setHeader('connection', 'close');
    const problem = precheck(request);
    if (problem) {
      reject(request, problem);
      return;
    }
    if (request.canonical !== undefined && options.publicRoutes.matches(request.method, request.canonical)) {
      forward(request, 'public', []);
      return;
    }
    authenticate(request);
  }

  return {
    handleRequest(req, res) {
      handle(admit(req, res, undefined));
    },
    handleUpgrade(req, socket, head) {
      // A response object on the raw socket lets refusals (401, 403, …) share the normal path.
      const res = new ServerResponse(req);
      res.assignSocket(socket);
      res.shouldKeepAlive = false;
      res.once('finish', () => socket.end());
      handle(admit(req, res, { socket, head }));
    },
  };
}
