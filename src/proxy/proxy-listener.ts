import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { errorResponse, type ErrorCode } from '../errors.js';
import type { ProxyHandler } from './proxy-server.js';

export interface ProxyListenerOptions {
  /** Largest request header block (then 431). */
  maxHeaderBytes: number;
  /** Whole-request receive limit; 0 = none (long uploads). */
  requestTimeoutMs: number;
  headersTimeoutMs: number;
}

/**
 * The proxy's node:http server (not fastify: on the proxy port every microsecond of
 * routing and reply machinery is paid per request). Requests Node's parser refuses and
 * CONNECT tunnels get authctx's JSON errors on the raw socket.
 */
export function createProxyListener(handler: ProxyHandler, options: ProxyListenerOptions): Server {
  const server = createServer(
    {
      maxHeaderSize: options.maxHeaderBytes,
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.headersTimeoutMs,
      // Longer than the usual 60 s idle timeout of a load balancer in front, so the proxy is
      // never the side that closes a connection the balancer is about to reuse.
      keepAliveTimeout: 65_000,
    },
    handler.handleRequest,
  );
  server.on('upgrade', handler.handleUpgrade);
  // authctx is a reverse proxy: CONNECT tunnels are refused, not silently dropped.
  server.on('connect', (_req, socket: Socket) => endWithError(socket, 'AUTHCTX_ERR_PROXY_BAD_REQUEST', 'Bad Request', 'CONNECT is not supported'));
  server.on('clientError', (error: Error & { code?: string }, socket: Socket) => {
    // Requests Node's parser refuses (RFC 9112 framing: CL+TE, bad chunking, oversize headers).
    if (!socket.writable || error.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    if (error.code === 'HPE_HEADER_OVERFLOW') endWithError(socket, 'AUTHCTX_ERR_PROXY_HEADERS_TOO_LARGE', 'Request Header Fields Too Large');
    else endWithError(socket, 'AUTHCTX_ERR_PROXY_BAD_REQUEST', 'Bad Request');
  });
  return server;
}

function endWithError(socket: Socket, code: ErrorCode, reason: string, message?: string): void {
  const { status, body } = errorResponse(code, message);
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
