import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenIdentityResolver } from '../../src/proxy/identity.js';
import { startApp, type RunningApp } from '../support/app.js';
import { headerValues, startOrigin, type Origin } from '../support/origin.js';
import { rawRequest } from '../support/raw-http.js';
import { signToken } from '../support/tokens.js';

/**
 * Issue 6 item 3: request shapes that desynchronize a proxy from its backend (RFC 9112
 * §6.3 framing), pick another target, or dodge the route rules. Every ambiguous request
 * is refused before the origin is contacted.
 */
let origin: Origin;
let proxy: RunningApp;
let token: string;

beforeAll(async () => {
  origin = await startOrigin();
  proxy = await startApp({
    AUTHCTX_UPSTREAM_URL: origin.url,
    AUTHCTX_PUBLIC_ROUTES: '/health, /public/*',
    AUTHCTX_MAX_BODY_SIZE: '64kb',
    AUTHCTX_MAX_HEADER_SIZE: '8kb',
  }, { resolver: createTokenIdentityResolver() });
  token = await signToken({});
});

afterAll(async () => {
  await proxy.stop();
  await origin.close();
});

async function raw(head: string, body = '', withToken = true): Promise<{ status: number; body: string; reached: number }> {
  const before = origin.received.length;
  const auth = withToken ? `authorization: Bearer ${token}\r\n` : '';
  const [requestLine, ...rest] = head.split('\r\n');
  const text = `${requestLine}\r\n${auth}${rest.join('\r\n')}\r\n\r\n${body}`;
  const res = await rawRequest(proxy.proxyPort, text);
  return { status: res.status, body: res.body, reached: origin.received.length - before };
}

/** Writes `text` and returns every byte received until the server closes the connection. */
function exchange(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxy.proxyPort, '127.0.0.1');
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('close', () => resolve(data));
    socket.on('error', reject);
    socket.write(text);
  });
}

describe('message framing', () => {
  it('refuses Content-Length together with Transfer-Encoding', async () => {
    const res = await raw('POST /api/x HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\nconnection: close', '0\r\n\r\nGET /api/smuggled HTTP/1.1\r\nhost: x\r\n\r\n');
    expect(res.status).toBe(400);
    expect(res.reached).toBe(0);
  });

  it('refuses a duplicate Content-Length, equal or not', async () => {
    for (const lengths of [['3', '5'], ['3', '3'], ['3, 5']]) {
      const head = `POST /api/x HTTP/1.1\r\nhost: x\r\n${lengths.map((l) => `content-length: ${l}`).join('\r\n')}\r\nconnection: close`;
      const res = await raw(head, 'abcde');
      expect(res.status, lengths.join('|')).toBe(400);
      expect(res.reached).toBe(0);
    }
  });

  it('refuses a Transfer-Encoding that is not exactly chunked', async () => {
    for (const te of ['chunkedx', 'xchunked', 'chunked, identity', 'identity', ' chunked\t,']) {
      const res = await raw(`POST /api/x HTTP/1.1\r\nhost: x\r\ntransfer-encoding: ${te}\r\nconnection: close`, '0\r\n\r\n');
      expect(res.status, te).toBe(400);
      expect(res.reached).toBe(0);
    }
  });

  it('refuses a bare LF or a space before the colon', async () => {
    for (const head of ['GET /api/x HTTP/1.1\r\nhost: x\r\nx-a: 1\nx-b: 2\r\nconnection: close', 'GET /api/x HTTP/1.1\r\nhost: x\r\nx-user-id : spoof\r\nconnection: close']) {
      const res = await raw(head);
      expect(res.status).toBe(400);
      expect(res.reached).toBe(0);
    }
  });

  it('forwards a second pipelined request only as a request of its own, with its own identity check', async () => {
    // The first request is complete; the second has no token and must be refused on its own.
    const before = origin.received.length;
    const text =
      `POST /api/x HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-length: 4\r\n\r\nabcd` +
      `GET /api/second HTTP/1.1\r\nhost: x\r\nx-user-id: spoof\r\nconnection: close\r\n\r\n`;
    const responses = await exchange(text);
    expect(responses.match(/HTTP\/1\.1 \d{3}/g), responses).toEqual(['HTTP/1.1 200', 'HTTP/1.1 401']);
    expect(origin.received.length - before).toBe(1);
    expect(origin.received.at(-1)!.bodyBytes).toBe(4);
  });
});

describe('request targets', () => {
  it('refuses absolute-form and asterisk-form targets', async () => {
    for (const target of ['http://evil.example/api/x', 'https://evil.example/', 'evil.example:80', '*']) {
      const res = await raw(`GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close`);
      expect([400, 404], target).toContain(res.status);
      expect(res.reached).toBe(0);
    }
    // CONNECT: refused with 400; nothing is tunnelled.
    const before = origin.received.length;
    const reply = await exchange(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nhost: 127.0.0.1:${origin.port}\r\nauthorization: Bearer ${token}\r\n\r\nGET / HTTP/1.1\r\nhost: x\r\n\r\n`);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toContain('AUTHCTX_ERR_PROXY_BAD_REQUEST');
    expect(origin.received.length).toBe(before);
  });

  it('refuses dot segments, raw or percent-encoded', async () => {
    for (const target of ['/%2E%2E/api/x', '/public/%2e%2e/api/x', '/public/../api/x', '/public/.%2E/api/x', '/api/./x', '/public/%2E/x']) {
      for (const withToken of [false, true]) {
        const res = await raw(`GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close`, '', withToken);
        expect(res.status, target).toBe(400);
        expect(res.reached).toBe(0);
      }
    }
  });

  it('never treats //host, encoded slashes or backslashes as a public route', async () => {
    for (const target of ['//evil/x', '//public/x', '/public%2Fx', '/public%2fx/..', '/public%5cx', '/public\\x', '/%2Fpublic/x']) {
      const res = await raw(`GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: close`, '', false);
      expect([400, 401], target).toContain(res.status);
      expect(res.reached).toBe(0);
    }
  });

  it('forwards //evil/x as a path on the configured backend, never to another host', async () => {
    const res = await raw('GET //evil/x HTTP/1.1\r\nhost: x\r\nconnection: close');
    expect(res.status).toBe(200);
    expect(res.reached).toBe(1);
    const seen = origin.received.at(-1)!;
    expect(seen.url).toBe('//evil/x');
    // The client's Host is passed on (as a reverse proxy does); the connection went to the origin above.
    expect(headerValues(seen, 'host')).toEqual(['x']);
  });

  it('forwards an encoded slash undecoded, so the backend sees what authctx checked', async () => {
    const res = await raw('GET /api/a%2Fb?q=%2F HTTP/1.1\r\nhost: x\r\nconnection: close');
    expect(res.status).toBe(200);
    expect(origin.received.at(-1)!.url).toBe('/api/a%2Fb?q=%2F');
  });
});

describe('limits', () => {
  it('answers 431 to a header block over the limit, without contacting the origin', async () => {
    const res = await raw(`GET /api/x HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(10 * 1024)}\r\nconnection: close`);
    expect(res.status).toBe(431);
    expect(res.reached).toBe(0);
    const many = Array.from({ length: 400 }, (_, i) => `x-h${i}: ${'b'.repeat(20)}`).join('\r\n');
    const res2 = await raw(`GET /public/x HTTP/1.1\r\nhost: x\r\n${many}\r\nconnection: close`, '', false);
    expect(res2.status).toBe(431);
    expect(res2.reached).toBe(0);
  });

  it('answers 413 to a declared body over the limit, without contacting the origin', async () => {
    for (const withToken of [true, false]) {
      const target = withToken ? '/api/upload' : '/public/upload';
      const res = await raw(`POST ${target} HTTP/1.1\r\nhost: x\r\ncontent-length: ${64 * 1024 + 1}\r\nconnection: close`, 'x'.repeat(1024), withToken);
      expect(res.status).toBe(413);
      expect(res.body).toContain('AUTHCTX_ERR_PROXY_BODY_TOO_LARGE');
      expect(res.reached).toBe(0);
    }
  });

  it('answers 413 to a chunked body that grows over the limit, and the origin never gets it whole', async () => {
    const chunk = 'y'.repeat(16 * 1024);
    const chunks = Array.from({ length: 6 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
    const bodies: number[] = [];
    origin.handle((req, res) => {
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        bodies.push(bytes);
        res.end('ok');
      });
      req.on('error', () => bodies.push(-1));
    });
    try {
      const res = await raw('POST /api/upload HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close', `${chunks}0\r\n\r\n`);
      expect(res.status).toBe(413);
      expect(bodies.every((b) => b < 96 * 1024)).toBe(true);
    } finally {
      origin.handle(undefined as never);
    }
  });
});
