import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createTokenIdentityResolver } from '../../src/proxy/identity.js';
import { startApp } from '../support/app.js';
import { signToken } from '../support/tokens.js';

let token: string;
let silent: Server;

beforeAll(async () => {
  token = await signToken({});
  // Accepts connections and requests, never answers.
  silent = createServer(() => undefined);
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
});

afterAll(() => {
  silent.closeAllConnections();
  silent.close();
});

/** A port that refuses connections: bound once, then released. */
async function refusedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

async function upstreamErrors(adminUrl: string, kind: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  return Number(/authctx_upstream_errors_total\{kind="(\w+)"\} (\d+)/.exec(text.split('\n').find((l) => l.includes(`kind="${kind}"`)) ?? '')?.[2] ?? 0);
}

describe('backend failures', () => {
  it('answers 502 with a JSON body when the backend refuses the connection', async () => {
    const app = await startApp({ AUTHCTX_UPSTREAM_URL: `http://127.0.0.1:${await refusedPort()}` }, { resolver: createTokenIdentityResolver() });
    try {
      const res = await fetch(`${app.proxyUrl}/api/x`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({ code: 'AUTHCTX_ERR_PROXY_UPSTREAM_UNREACHABLE', message: expect.any(String) });
      expect(await upstreamErrors(app.adminUrl, 'unreachable')).toBe(1);
    } finally {
      await app.stop();
    }
  });

  it('answers 504 when the backend does not answer within AUTHCTX_UPSTREAM_TIMEOUT', async () => {
    const { port } = silent.address() as AddressInfo;
    const app = await startApp({ AUTHCTX_UPSTREAM_URL: `http://127.0.0.1:${port}`, AUTHCTX_UPSTREAM_TIMEOUT: '200ms' }, { resolver: createTokenIdentityResolver() });
    try {
      const started = performance.now();
      const res = await fetch(`${app.proxyUrl}/api/x`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(504);
      expect(await res.json()).toEqual({ code: 'AUTHCTX_ERR_PROXY_UPSTREAM_TIMEOUT', message: expect.any(String) });
      expect(performance.now() - started).toBeLessThan(3000);
      expect(await upstreamErrors(app.adminUrl, 'timeout')).toBe(1);
    } finally {
      await app.stop(100);
    }
  });
});
