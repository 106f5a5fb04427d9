import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import type { App } from './app.js';

export interface Listening {
  proxy: AddressInfo;
  admin: AddressInfo;
}

/** Opens both listeners (proxy and admin) on the configured addresses, then starts background work. */
export async function listen(app: App): Promise<Listening> {
  const { listen: proxyAt, adminListen: adminAt } = app.config;
  app.proxyServer.listen(proxyAt.port, proxyAt.host);
  await Promise.race([once(app.proxyServer, 'listening'), once(app.proxyServer, 'error').then(([error]) => Promise.reject(error as Error))]);
  try {
    await app.admin.listen({ port: adminAt.port, host: adminAt.host });
  } catch (error) {
    app.proxyServer.close();
    throw error;
  }
  app.start();
  return { proxy: app.proxyServer.address() as AddressInfo, admin: app.admin.server.address() as AddressInfo };
}

/**
 * Graceful stop (SIGTERM): readiness turns 503, the proxy stops accepting, idle
 * keep-alive connections close, in-flight requests finish (responses carry
 * `Connection: close`), and whatever is left after `graceMs` is cut. The admin listener
 * closes last so `/readyz` reports the drain. Resolves true when everything finished in time.
 */
export async function drain(app: App, graceMs: number): Promise<boolean> {
  app.readiness.shuttingDown = true;
  const server = app.proxyServer;
  const closed = server.listening ? once(server, 'close') : Promise.resolve();
  server.close();
  server.closeIdleConnections();
  // Connections that finish their last request become idle after close(): sweep them.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    closed.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    }),
  ]);
  clearInterval(sweep);
  clearTimeout(timer);
  if (!inTime) {
    server.closeAllConnections();
    app.logger.warn({ graceMs, inFlight: app.metrics.inFlight }, 'grace period over: cut the remaining connections');
  }
  await app.close();
  await app.admin.close();
  return inTime;
}
