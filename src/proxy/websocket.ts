import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import type { Logger } from 'pino';

export interface WebSocketProxy {
  /**
   * Proxies an authenticated upgrade. `headers` are the flat pairs to send (identity
   * headers injected, client spellings already stripped); `onDone` gets 101 once the
   * tunnel closes, or 502 when the backend could not be reached.
   */
  proxy(req: IncomingMessage, socket: Socket, head: Buffer, headers: readonly string[], onDone: (status: number) => void): void;
  close(): void;
}

/**
 * Websocket upgrades go through http-proxy-3 (the maintained http-proxy fork): the hot
 * path is undici, but undici does not tunnel upgrades from a Node server socket.
 */
export function createWebSocketProxy(options: { target: string; timeoutMs: number; logger: Logger }): WebSocketProxy {
  const server = createProxyServer({ target: options.target, ws: true, xfwd: false, proxyTimeout: options.timeoutMs });
  server.on('error', (error, _req, socketOrRes) => {
    options.logger.warn({ err: error }, 'websocket proxy error');
    const socket = socketOrRes as unknown as Socket | undefined;
    if (socket && 'destroy' in socket) socket.destroy();
  });
  return {
    proxy(req, socket, head, headers, onDone) {
      // http-proxy-3 builds the outgoing upgrade from req.headers: replace them wholesale.
      const outgoing: Record<string, string | string[]> = {};
      for (let i = 0; i < headers.length; i += 2) {
        const name = headers[i]!.toLowerCase();
        const value = headers[i + 1]!;
        const prior = outgoing[name];
        outgoing[name] = prior === undefined ? value : Array.isArray(prior) ? [...prior, value] : [prior, value];
      }
      // Hop-by-hop fields were stripped; an upgrade needs these two back (RFC 9110 §7.8).
      outgoing.connection = 'Upgrade';
      outgoing.upgrade = 'websocket';
      req.headers = outgoing as IncomingMessage['headers'];
      let done = false;
      const finish = (status: number) => {
        if (done) return;
        done = true;
        onDone(status);
      };
      socket.once('close', () => finish(101));
      server.ws(req, socket, head, undefined, (error: Error) => {
        options.logger.warn({ err: error }, 'websocket upgrade to the backend failed');
        if (socket.writable) socket.end('HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        finish(502);
      });
    },
    close() {
      server.close();
    },
  };
}
