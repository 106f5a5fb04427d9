import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namedUsers } from '../../scripts/seed.js';
import { startApp, type RunningApp } from '../support/app.js';
import { headerValues, startOrigin, type Origin } from '../support/origin.js';
import { createSeededDatabase, type TestDatabase } from '../support/postgres.js';
import { expectWithin, metricValue, timedGet } from './support/fault-helpers.js';

let db: TestDatabase;
let origin: Origin;
let proxy: RunningApp;

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  db = await createSeededDatabase('zones_faults', { employees: 5 });
  origin = await startOrigin();
  // BigQuery is unreachable: nothing listens on its endpoint (and there are no credentials).
  proxy = await startApp({
    AUTHCTX_DATABASE_URL: db.url,
    AUTHCTX_DATABASE_LISTEN: 'false',
    AUTHCTX_UPSTREAM_URL: origin.url,
    AUTHCTX_ZONES_SOURCE: 'bigquery',
    AUTHCTX_BIGQUERY_PROJECT: 'test-project',
    AUTHCTX_BIGQUERY_DATASET: 'zones',
    AUTHCTX_BIGQUERY_API_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
  });
});

afterAll(async () => {
  await proxy?.stop();
  await origin?.close();
  await db?.drop();
});

describe('BigQuery down', () => {
  it('keeps serving requests at once, with empty zones, and stays ready', async () => {
    const result = await timedGet(proxy.proxyUrl, namedUsers.rina);
    expectWithin(result, 200, 1_000);
    const seen = origin.received.at(-1)!;
    expect(headerValues(seen, 'x-user-role')).toEqual(['area_manager']);
    expect(headerValues(seen, 'x-user-zones')).toEqual(['']);
    expect((await fetch(`${proxy.adminUrl}/readyz`)).status).toBe(200);
    expect(await metricValue(proxy.adminUrl, 'authctx_zones_regions')).toBe(0);
  });
});
