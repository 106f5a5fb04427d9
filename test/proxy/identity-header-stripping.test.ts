import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenIdentityResolver } from '../../src/proxy/identity.js';
import { startApp, type RunningApp } from '../support/app.js';
import { startOrigin, type Origin, type RecordedRequest } from '../support/origin.js';
import { rawRequest } from '../support/raw-http.js';
import { signToken } from '../support/tokens.js';

let origin: Origin;
let proxy: RunningApp;
let token: string;

beforeAll(async () => {
  origin = await startOrigin();
  proxy = await startApp({ AUTHCTX_UPSTREAM_URL: origin.url }, { resolver: createTokenIdentityResolver() });
  token = await signToken({ sub: 'real-user', email: 'real@example.com' });
});

afterAll(async () => {
  await proxy.stop();
  await origin.close();
});

/** Identity header values the origin saw under any spelling of `name`. */
function seenAs(record: RecordedRequest, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < record.rawHeaders.length; i += 2) {
    if (record.rawHeaders[i]!.toLowerCase().replaceAll('_', '-') === name) out.push(record.rawHeaders[i + 1]!);
  }
  return out;
}

async function sendWith(lines: string[]): Promise<RecordedRequest> {
  const before = origin.received.length;
  const res = await rawRequest(proxy.proxyPort, `GET /api/x HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n${lines.join('\r\n')}\r\nconnection: close\r\n\r\n`);
  expect(res.status).toBe(200);
  expect(origin.received.length).toBe(before + 1);
  return origin.received.at(-1)!;
}

describe('client-supplied identity headers', () => {
  it.each([
    ['X-User-Id', ['X-User-Id: spoofed']],
    ['x-user-id', ['x-user-id: spoofed']],
    ['X_User_Id', ['X_User_Id: spoofed']],
    ['duplicated', ['X-User-Id: spoofed', 'x-user-id: spoofed-again', 'X_USER_ID: third']],
  ])('never reach the origin when sent as %s', async (_label, lines) => {
    const seen = await sendWith(lines);
    expect(seenAs(seen, 'x-user-id')).toEqual(['real-user']);
  });

  it('never reach the origin when nominated in Connection', async () => {
    const seen = await sendWith(['Connection: x-user-role', 'X-User-Role: admin']);
    expect(seenAs(seen, 'x-user-role')).toEqual([]);
    expect(seenAs(seen, 'x-user-id')).toEqual(['real-user']);
  });
});
