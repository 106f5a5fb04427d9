import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pino } from 'pino';
import { createAdminApp } from '../../src/admin/admin-app.js';
import { createReadiness } from '../../src/admin/readiness.js';
import { contextKey, normalizeEmail } from '../../src/cache/cache-key.js';
import { createMetricsRegistry } from '../../src/metrics/registry.js';
import { createTokenIdentityResolver } from '../../src/proxy/identity.js';
import { startApp, type RunningApp } from '../support/app.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { rawRequest } from '../support/raw-http.js';
import { signToken } from '../support/tokens.js';

/**
 * Issue 6 item 5: what authctx answers on which port, who may mutate its caches, and
 * what may appear in cache keys and metric labels.
 */
const adminToken = 'admin-token-for-boundary-tests-0123456789';
let origin: Origin;
let proxy: RunningApp;
let token: string;

beforeAll(async () => {
  origin = await startOrigin();
  proxy = await startApp({ AUTHCTX_UPSTREAM_URL: origin.url, AUTHCTX_ADMIN_TOKEN: adminToken }, { resolver: createTokenIdentityResolver() });
  token = await signToken({ email: 'secret.person@example.com', sub: 'sub-do-not-label' });
});

afterAll(async () => {
  await proxy.stop();
  await origin.close();
});

const adminPaths = [
  ['GET', '/metrics'],
  ['GET', '/readyz'],
  ['GET', '/livez'],
  ['GET', '/api/admin/cache/stats'],
  ['POST', '/api/admin/cache/clear'],
  ['POST', '/api/admin/cache/invalidate/rina@example.com'],
  ['POST', '/api/admin/cache/purge'],
  ['POST', '/api/admin/zones/refresh'],
] as const;

describe('the proxy port', () => {
  it.each(adminPaths)('does not answer %s %s without a token: 401, origin untouched', async (method, path) => {
    const before = origin.received.length;
    const res = await fetch(`${proxy.proxyUrl}${path}`, { method, headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toMatch(/^AUTHCTX_ERR_AUTH_/);
    expect(origin.received.length).toBe(before);
  });

  it.each(adminPaths)('forwards %s %s to the backend with a user token, never answering it itself', async (method, path) => {
    const before = origin.received.length;
    const res = await fetch(`${proxy.proxyUrl}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { url: string }).url).toBe(path);
    expect(origin.received.length).toBe(before + 1);
  });

  it('forwards the public /health to the backend rather than answering it', async () => {
    const before = origin.received.length;
    const res = await fetch(`${proxy.proxyUrl}/health`);
    expect(((await res.json()) as { url: string }).url).toBe('/health');
    expect(origin.received.length).toBe(before + 1);
  });
});

describe('admin mutations', () => {
  const mutations = adminPaths.filter(([method]) => method === 'POST');

  it.each(mutations)('%s %s refuses a missing or wrong token with 401', async (method, path) => {
    for (const authorization of [undefined, 'Bearer wrong', `Bearer ${adminToken}x`, `Basic ${adminToken}`, `Bearer ${token}`]) {
      const res = await fetch(`${proxy.adminUrl}${path}`, { method, headers: authorization ? { authorization } : {} });
      expect(res.status, authorization).toBe(401);
    }
  });

  it('are refused (403) when no admin token is configured, whatever is sent', async () => {
    const bare = await startApp({ AUTHCTX_UPSTREAM_URL: origin.url }, { resolver: createTokenIdentityResolver() });
    try {
      for (const authorization of [undefined, 'Bearer ', 'Bearer undefined', 'Bearer null']) {
        const res = await fetch(`${bare.adminUrl}/api/admin/cache/clear`, { method: 'POST', headers: authorization ? { authorization } : {} });
        expect(res.status).toBe(403);
      }
    } finally {
      await bare.stop();
    }
  });

  const badEmails = ['a@b@c', '*', 'x'.repeat(10 * 1024), `${'x'.repeat(10 * 1024)}@example.com`, 'rina@example.com%0d%0aX-Evil:1', '%00@x.y', 'a@', '@b', 'a b@c.d', '*@example.com%0Ax', 'rina%40example.com%2F..'];

  it('invalidate answers 400 to addresses that are not one plausible email, before any fan-out', async () => {
    const invalidated: string[] = [];
    const admin = createAdminApp({
      registry: createMetricsRegistry({ defaultMetrics: false }),
      logger: pino({ level: 'silent' }),
      readiness: createReadiness(),
      adminToken,
      stats: {},
      actions: {
        async clearCaches() {
          return {};
        },
        async invalidate(email) {
          invalidated.push(email);
          return { invalidated: true };
        },
      },
    });
    try {
      for (const email of badEmails) {
        const res = await admin.inject({ method: 'POST', url: `/api/admin/cache/invalidate/${email}`, headers: { authorization: `Bearer ${adminToken}` } });
        expect(res.statusCode, email.slice(0, 40)).toBe(400);
      }
      expect(invalidated).toEqual([]);
      const ok = await admin.inject({ method: 'POST', url: '/api/admin/cache/invalidate/Rina@Example.com', headers: { authorization: `Bearer ${adminToken}` } });
      expect(ok.statusCode).toBe(200);
      expect(invalidated).toEqual(['rina@example.com']);
    } finally {
      await admin.close();
    }
  });

  it('invalidate answers 400 on the running app too', async () => {
    for (const email of ['a@b@c', '*', 'x'.repeat(10 * 1024)]) {
      const res = await fetch(`${proxy.adminUrl}/api/admin/cache/invalidate/${encodeURIComponent(email)}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
      expect(res.status, email.slice(0, 20)).toBe(400);
    }
  });
});

describe('context cache keys', () => {
  it('give two different users two different keys, whatever characters the addresses hold', () => {
    const local = fc.stringMatching(/^[A-Za-z0-9._%+:*?[\]{}|\\'"-]{1,20}$/);
    const domain = fc.stringMatching(/^[A-Za-z0-9-]{1,10}\.[A-Za-z]{2,4}$/);
    const email = fc.tuple(local, domain).map(([l, d]) => `${l}@${d}`);
    fc.assert(
      fc.property(email, email, (a, b) => {
        const ka = contextKey(a);
        const kb = contextKey(b);
        if (ka === null || kb === null) return;
        // Same key exactly when the addresses are the same user (equal after trim + ASCII lower-case).
        expect(ka === kb).toBe(a.trim().toLowerCase() === b.trim().toLowerCase());
      }),
      { numRuns: 2000 },
    );
  });

  it('map case variants of one address to one key and keep look-alikes apart', () => {
    expect(contextKey(' Rina@Example.COM ')).toBe(contextKey('rina@example.com'));
    expect(contextKey('\u212Aate@example.com')).not.toBe(contextKey('kate@example.com')); // KELVIN SIGN
    expect(contextKey('rina@example.com\u200b')).toBeNull();
    expect(contextKey('rina@example.com:extra')).not.toBe(contextKey('rina@example.com'));
    expect(normalizeEmail('a@b@c')).toBeNull();
  });
});

describe('metrics', () => {
  it('never carry a user, email, token or path as a label value', async () => {
    const spoofEmail = 'label.probe@example.com';
    const paths = ['/api/secret-path-probe', '/api/auth/context', '/health', '/nowhere-probe/%2e%2e/x'];
    for (const path of paths) {
      await fetch(`${proxy.proxyUrl}${path}`, { headers: { authorization: `Bearer ${token}`, 'x-user-email': spoofEmail } });
      await fetch(`${proxy.proxyUrl}${path}`, { headers: { authorization: 'Bearer not.a.token' } });
    }
    await rawRequest(proxy.proxyPort, `GET /raw-path-probe HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\nconnection: close\r\n\r\n`);
    await fetch(`${proxy.adminUrl}/api/admin/cache/invalidate/${spoofEmail}`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
    const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text();
    const labelValues = [...text.matchAll(/^[a-z_:][a-z0-9_:]*\{([^}]*)\}/gm)].flatMap((m) => [...m[1]!.matchAll(/[a-z_]+="((?:[^"\\]|\\.)*)"/g)].map((v) => v[1]!));
    expect(labelValues.length).toBeGreaterThan(10);
    expect(text).toContain('authctx_proxy_requests_total{route="proxied",status_class="2xx"}');
    for (const value of labelValues) {
      expect(value).not.toMatch(/@|\/|eyJ|probe|sub-do-not-label|secret/);
      expect(value.length).toBeLessThan(64);
    }
    for (const needle of [spoofEmail, 'secret.person', token.slice(0, 20), 'sub-do-not-label', 'secret-path-probe', 'raw-path-probe', adminToken]) {
      expect(text).not.toContain(needle);
    }
  });
});
