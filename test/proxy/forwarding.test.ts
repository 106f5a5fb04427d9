import { request } from 'node:http';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../support/app.js';
import { headerValues, startOrigin, type Origin } from '../support/origin.js';
import { createTokenIdentityResolver } from '../../src/proxy/identity.js';
import { rawRequest } from '../support/raw-http.js';
import { signToken } from '../support/tokens.js';

let origin: Origin;
let proxy: RunningApp;
let token: string;

beforeAll(async () => {
  origin = await startOrigin();
  // The proxy alone: identity from the token, no context source.
  proxy = await startApp({ AUTHCTX_UPSTREAM_URL: origin.url, AUTHCTX_PUBLIC_ROUTES: '/health, GET /public/*' }, { resolver: createTokenIdentityResolver() });
  token = await signToken({ sub: 'user-1', email: 'Rina@Example.com' });
});

afterAll(async () => {
  await proxy.stop();
  await origin.close();
});

const auth = () => ({ authorization: `Bearer ${token}` });

describe('forwarding', () => {
  it('forwards an authenticated request with identity from the token and X-Forwarded-*', async () => {
    const before = origin.received.length;
    const res = await fetch(`${proxy.proxyUrl}/api/things?x=1&y=2`, { headers: { ...auth(), 'x-custom': 'kept' } });
    expect(res.status).toBe(200);
    const seen = origin.received[before]!;
    expect(seen.url).toBe('/api/things?x=1&y=2');
    expect(headerValues(seen, 'x-user-id')).toEqual(['user-1']);
    expect(headerValues(seen, 'x-user-email')).toEqual(['Rina@Example.com']);
    expect(headerValues(seen, 'x-custom')).toEqual(['kept']);
    expect(headerValues(seen, 'x-forwarded-for')).toEqual(['127.0.0.1']);
    expect(headerValues(seen, 'x-forwarded-proto')).toEqual(['http']);
    expect(headerValues(seen, 'x-forwarded-host')).toEqual([`127.0.0.1:${proxy.proxyPort}`]);
    expect(headerValues(seen, 'x-request-id')).toHaveLength(1);
  });

  it('answers 401 with a JSON body and never contacts the origin without a token', async () => {
    const before = origin.received.length;
    const res = await fetch(`${proxy.proxyUrl}/api/things`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await res.json()).toEqual({ code: 'AUTHCTX_ERR_AUTH_MISSING_TOKEN', message: expect.any(String) });
    expect(origin.received.length).toBe(before);
  });

  it('forwards public routes without a token but still strips identity headers', async () => {
    const before = origin.received.length;
    const res = await fetch(`${proxy.proxyUrl}/public/logo.png`, { headers: { 'x-user-id': 'spoofed', x_user_role: 'admin' } });
    expect(res.status).toBe(200);
    const seen = origin.received[before]!;
    expect(headerValues(seen, 'x-user-id')).toEqual([]);
    expect(headerValues(seen, 'x_user_role')).toEqual([]);
    const health = await fetch(`${proxy.proxyUrl}/health`);
    expect(health.status).toBe(200);
  });

  it('does not treat a non-canonical path as a public route', async () => {
    const before = origin.received.length;
    // fetch() would normalize these targets before sending: write them raw.
    for (const target of ['/public/%2e%2e/api/secret', '/public/../api/secret', '/public/./x']) {
      const res = await rawRequest(proxy.proxyPort, `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      expect(res.status, target).toBe(400);
    }
    for (const target of ['/public%2Fx', '/public//x', '//public/x']) {
      const res = await rawRequest(proxy.proxyPort, `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      expect(res.status, target).toBe(401);
    }
    expect(origin.received.length).toBe(before);
  });

  it('answers the auth-context route itself, without calling the origin', async () => {
    const before = origin.received.length;
    const res = await fetch(`${proxy.proxyUrl}/api/auth/context`, { headers: auth() });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ user_id: 'user-1', email: 'Rina@Example.com' });
    expect(origin.received.length).toBe(before);
  });

  it('streams a 20 MB upload and a 20 MB download intact', async () => {
    const size = 20 * 1024 * 1024;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) payload.writeUInt32BE(i, i);
    const expectedDigest = createHash('sha256').update(payload).digest('hex');
    origin.handle((req, res) => {
      if (req.method === 'PUT') {
        const hash = createHash('sha256');
        let bytes = 0;
        req.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          bytes += chunk.length;
        });
        req.on('end', () => res.end(JSON.stringify({ bytes, digest: hash.digest('hex') })));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let offset = 0;
      const pump = () => {
        while (offset < size) {
          const chunk = payload.subarray(offset, offset + 65536);
          offset += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    try {
      const up = await fetch(`${proxy.proxyUrl}/upload`, { method: 'PUT', headers: auth(), body: payload });
      expect(await up.json()).toEqual({ bytes: size, digest: expectedDigest });
      // Chunked upload (no Content-Length) streams too.
      const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${proxy.proxyUrl}/upload`, { method: 'PUT', headers: auth() }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        for (let i = 0; i < size; i += 1 << 20) req.write(payload.subarray(i, i + (1 << 20)));
        req.end();
      });
      expect(JSON.parse(chunked.body)).toEqual({ bytes: size, digest: expectedDigest });
      const down = await fetch(`${proxy.proxyUrl}/download`, { headers: auth() });
      const got = Buffer.from(await down.arrayBuffer());
      expect(got.length).toBe(size);
      expect(createHash('sha256').update(got).digest('hex')).toBe(expectedDigest);
    } finally {
      origin.handle(undefined as never);
    }
  });

  it('removes hop-by-hop response headers from the backend', async () => {
    origin.handle((_req, res) => {
      res.writeHead(200, { connection: 'keep-alive, x-internal', 'x-internal': 'secret', 'keep-alive': 'timeout=5', 'x-ok': '1' });
      res.end('ok');
    });
    try {
      const res = await fetch(`${proxy.proxyUrl}/hop`, { headers: auth() });
      expect(res.headers.get('x-internal')).toBeNull();
      expect(res.headers.get('keep-alive')).not.toBe('timeout=5');
      expect(res.headers.get('x-ok')).toBe('1');
    } finally {
      origin.handle(undefined as never);
    }
  });
});
