import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { createTokenIdentityResolver } from '../../src/proxy/identity.js';
import { startApp, type RunningApp } from '../support/app.js';
import { signToken } from '../support/tokens.js';

let origin: Server;
let upgrades: IncomingMessage[];
let proxy: RunningApp;
let token: string;

beforeAll(async () => {
  upgrades = [];
  origin = createServer((_req, res) => res.end('not a websocket'));
  const wss = new WebSocketServer({ server: origin });
  wss.on('connection', (socket, req) => {
    upgrades.push(req);
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  origin.listen(0, '127.0.0.1');
  await once(origin, 'listening');
  const { port } = origin.address() as AddressInfo;
  proxy = await startApp({ AUTHCTX_UPSTREAM_URL: `http://127.0.0.1:${port}` }, { resolver: createTokenIdentityResolver() });
  token = await signToken({ sub: 'ws-user' });
});

afterAll(async () => {
  await proxy.stop();
  origin.closeAllConnections();
  origin.close();
});

function open(headers: Record<string, string>): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${proxy.proxyPort}/ws`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`status ${res.statusCode}`)));
  });
}

describe('websocket', () => {
  it('echoes text and binary messages through the proxy with the identity injected', async () => {
    const ws = await open({ authorization: `Bearer ${token}`, 'x-user-id': 'spoofed', X_User_Role: 'admin' });
    try {
      ws.send('hello');
      const [text] = (await once(ws, 'message')) as [Buffer];
      expect(text.toString()).toBe('hello');
      const payload = Buffer.from([0, 1, 2, 255, 254]);
      ws.send(payload);
      const [binary, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
      expect(isBinary).toBe(true);
      expect(Buffer.compare(binary, payload)).toBe(0);
      const req = upgrades.at(-1)!;
      expect(req.headers['x-user-id']).toBe('ws-user');
      expect(req.headers['x-user-role']).toBeUndefined();
      expect(req.headers['x_user_role']).toBeUndefined();
      expect(req.headers.authorization).toBe(`Bearer ${token}`);
    } finally {
      ws.close();
    }
  });

  it('refuses an upgrade without a token with 401, before the origin sees it', async () => {
    const before = upgrades.length;
    await expect(open({})).rejects.toThrow('status 401');
    expect(upgrades.length).toBe(before);
  });
});
