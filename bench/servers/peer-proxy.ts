/**
 * Plain reverse proxies on the same origin, as reference points for the proxy cost
 * alone (no auth): `http-proxy` with a keep-alive agent, `@fastify/http-proxy`
 * (undici underneath), and `undici-dispatch`: the least a Node proxy can do — node:http
 * server, undici Pool.dispatch, headers passed through untouched — the floor that
 * Node's own HTTP stack sets for authctx.
 *
 *   PORT=… UPSTREAM_URL=… node dist/bench/servers/peer-proxy.js http-proxy|fastify|undici-dispatch
 */
import { Agent, createServer } from 'node:http';
import fastifyHttpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';
import httpProxy from 'http-proxy';
import { Pool, type Dispatcher } from 'undici';

const port = Number(process.env.PORT ?? 8002);
const upstream = process.env.UPSTREAM_URL ?? 'http://127.0.0.1:8000';
const kind = process.argv[2];

async function main(): Promise<() => Promise<void>> {
  if (kind === 'http-proxy') {
    const agent = new Agent({ keepAlive: true, maxSockets: 256 });
    const proxy = httpProxy.createProxyServer({ target: upstream, agent });
    proxy.on('error', (_error, _req, res) => {
      if ('writeHead' in res && !res.headersSent) res.writeHead(502).end();
    });
    const server = createServer((req, res) => proxy.web(req, res));
    server.keepAliveTimeout = 65_000;
    server.listen(port, '127.0.0.1');
    return async () => {
      server.closeAllConnections();
      server.close();
    };
  }
  if (kind === 'fastify') {
    const app = Fastify({ logger: false, keepAliveTimeout: 65_000 });
    await app.register(fastifyHttpProxy, { upstream });
    await app.listen({ port, host: '127.0.0.1' });
    return () => app.close();
  }
  if (kind === 'undici-dispatch') {
    const pool = new Pool(upstream, { connections: 256, pipelining: 1 });
    const server = createServer((req, res) => {
      pool.dispatch(
        { path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers: req.rawHeaders, body: null },
        {
          onRequestStart() {},
          onResponseStart(_controller, status, headers) {
            res.writeHead(status, headers as Record<string, string>);
          },
          onResponseData(_controller, chunk) {
            res.write(chunk);
          },
          onResponseEnd() {
            res.end();
          },
          onResponseError() {
            if (!res.headersSent) res.writeHead(502);
            res.end();
          },
        },
      );
    });
    server.keepAliveTimeout = 65_000;
    server.listen(port, '127.0.0.1');
    return async () => {
      server.closeAllConnections();
      server.close();
      await pool.close();
    };
  }
  throw new Error(`usage: peer-proxy http-proxy|fastify|undici-dispatch (got ${kind})`);
}

main().then(
  (close) => process.once('SIGTERM', () => void close().then(() => process.exit(0))),
  (error: unknown) => {
    process.stderr.write(`peer-proxy: ${String(error)}\n`);
    process.exit(1);
  },
);
