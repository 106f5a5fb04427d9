/**
 * The demo backend: stands in for the application behind authctx and answers every
 * request with what it received, so one can see the identity headers authctx injected
 * (and that a client's own X-User-* headers never get through).
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';

export interface DemoBackend {
  readonly url: string;
  readonly port: number;
  /** Requests answered so far (the auth-context route must not add to it). */
  readonly hits: number;
  stop(): Promise<void>;
}

/** What the backend answers: the request line and every `x-user-*` / `x-auth-*` header. */
export interface EchoReply {
  backend: 'authctx-demo';
  method: string;
  path: string;
  identity: Record<string, string>;
}

export async function startDemoBackend(options: { port: number; host?: string }): Promise<DemoBackend> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    const identity: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if ((name.startsWith('x-user-') || name.startsWith('x-auth-')) && value !== undefined) {
        identity[name] = Array.isArray(value) ? value.join(', ') : value;
      }
    }
    const reply: EchoReply = { backend: 'authctx-demo', method: req.method ?? 'GET', path: req.url ?? '/', identity };
    // Drain any request body before answering so keep-alive connections stay usable.
    req.resume();
    req.once('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(reply, null, 2)}\n`);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(options.port, options.host ?? '127.0.0.1');
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error as Error))]);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    get hits() {
      return hits;
    },
    async stop() {
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}
