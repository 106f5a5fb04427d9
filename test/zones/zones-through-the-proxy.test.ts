import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { importSPKI, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headerValues } from '../support/origin.js';
import { startBigQueryServer, type BigQueryServer } from '../support/bigquery-server.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { namedUsers } from '../../scripts/seed.js';
import { waitUntil } from '../faults/support/fault-helpers.js';

/**
 * Zones end to end through the app's own configuration: a service-account key file (the
 * standard Google way), the real @google-cloud/bigquery client, a local BigQuery server.
 * The key file names another universe, so it yields self-signed JWTs: no token exchange and
 * no Google host is involved; the server verifies each one with the key's public half.
 */
let dir: string;
let bigquery: BigQueryServer;
let stack: TestStack;
const jobTimeoutMs = 1_000;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authctx-gcp-'));
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(dir, 'key.json');
  await writeFile(
    keyFile,
    JSON.stringify({
      type: 'service_account',
      project_id: 'test-project',
      private_key_id: 'key-1',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      client_email: 'authctx@test-project.iam.gserviceaccount.com',
      client_id: '1',
      token_uri: 'http://127.0.0.1:9/token',
      // A universe other than googleapis.com makes google-auth-library sign a self-signed JWT
      // for every request instead of exchanging it at oauth2.googleapis.com: no Google host.
      universe_domain: 'loopback.test',
    }),
  );
  const verificationKey = await importSPKI(publicKey.export({ type: 'spki', format: 'pem' }) as string, 'RS256');
  bigquery = await startBigQueryServer({
    verifyBearer: async (token) => {
      try {
        const { payload } = await jwtVerify(token, verificationKey);
        return payload.iss === 'authctx@test-project.iam.gserviceaccount.com';
      } catch {
        return false;
      }
    },
  });
  bigquery.setRows([
    ['JKT', 'JKT-01'],
    ['JKT', 'JKT-02'],
    ['BDG', 'BDG-07'],
  ]);
  stack = await startTestStack({
    label: 'zones_proxy',
    employees: 5,
    env: {
      AUTHCTX_ZONES_SOURCE: 'bigquery',
      AUTHCTX_BIGQUERY_KEY_FILE: keyFile,
      AUTHCTX_BIGQUERY_DATASET: 'analytics',
      AUTHCTX_BIGQUERY_LOCATION: 'asia-southeast2',
      AUTHCTX_BIGQUERY_API_ENDPOINT: bigquery.url,
      AUTHCTX_ZONES_JOB_TIMEOUT: `${jobTimeoutMs}ms`,
      AUTHCTX_ZONES_READINESS: 'loaded',
    },
  });
});

afterAll(async () => {
  await stack?.close();
  await bigquery?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function readyz(): Promise<{ status: number; body: { checks: { zones: { loaded: boolean; mode: string; regions: number } } } }> {
  const res = await fetch(`${stack.proxy.adminUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as never };
}

describe('zones through the proxy', () => {
  it('loads zones in the background with key-file credentials and injects X-User-Zones', async () => {
    // Readiness waits for the first load in `loaded` mode; poll it as a Kubernetes probe would.
    await waitUntil('/readyz turns 200 once zones are loaded', async () => (await readyz()).status === 200, 5_000);
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.checks.zones).toMatchObject({ loaded: true, mode: 'loaded', regions: 2 });
    expect(bigquery.unexpected).toEqual([]);
    expect(bigquery.queries[0]).toMatchObject({ query: 'SELECT region_code, zone_code FROM `analytics.zones`' });

    const before = stack.origin.received.length;
    expect((await stack.get(namedUsers.rina)).status).toBe(200);
    // rina's regions are JKT and BDG: zones of both, merged.
    expect(headerValues(stack.origin.received[before]!, 'x-user-zones')).toEqual(['BDG-07,JKT-01,JKT-02']);
    const context = (await (await stack.get(namedUsers.rina, '/api/auth/context')).json()) as { zones: string[] };
    expect(context.zones).toEqual(['BDG-07', 'JKT-01', 'JKT-02']);
  });

  it('answers requests at once while a refresh hangs, and keeps the last good zones when it times out', async () => {
    bigquery.hang();
    const queried = bigquery.nextRequest('query');
    const refresh = stack.admin('/api/admin/zones/refresh');
    await queried;
    try {
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const res = await stack.get(namedUsers.rina);
        expect(res.status).toBe(200);
        expect(performance.now() - started).toBeLessThan(jobTimeoutMs / 2);
        expect(headerValues(stack.origin.received.at(-1)!, 'x-user-zones')).toEqual(['BDG-07,JKT-01,JKT-02']);
      }
      const refreshed = await refresh;
      expect(refreshed.status).toBe(503);
      expect(((await refreshed.json()) as { code: string }).code).toMatch(/^AUTHCTX_ERR_ZONES_/);
    } finally {
      bigquery.recover();
    }
    expect((await readyz()).body.checks.zones).toMatchObject({ loaded: true, regions: 2 });
    expect((await stack.get(namedUsers.rina)).status).toBe(200);
    expect(headerValues(stack.origin.received.at(-1)!, 'x-user-zones')).toEqual(['BDG-07,JKT-01,JKT-02']);
  });
});
