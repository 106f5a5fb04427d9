import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { AuthctxError } from '../../src/errors.js';
import type { BigQueryZoneSourceOptions } from '../../src/zones/bigquery-zone-source.js';
import { loopbackZoneSource, startBigQueryServer, type BigQueryServer } from '../support/bigquery-server.js';
import { runZoneSourceContract } from './zone-source-contract.js';

const sourceFor = loopbackZoneSource;

runZoneSourceContract('bigquery', async (rows) => {
  const server = await startBigQueryServer();
  server.setRows(rows);
  return {
    source: sourceFor(server),
    cleanup: async () => {
      expect(server.unexpected).toEqual([]);
      await server.close();
    },
  };
});

describe('bigquery zone source', () => {
  let server: BigQueryServer;
  beforeEach(async () => {
    server = await startBigQueryServer();
  });
  afterEach(async () => {
    await server.close();
  });
  const load = (extra: Partial<BigQueryZoneSourceOptions> = {}) =>
    sourceFor(server, extra).load({ signal: new AbortController().signal });

  test('decodes rows into region → zones with one jobs.query and no stray requests', async () => {
    server.setRows([
      ['JKT', 'JKT-01'],
      ['JKT', 'JKT-02'],
      ['BDG', 'BDG-01'],
    ]);
    const zones = await load();
    expect(Object.fromEntries(zones)).toEqual({ JKT: ['JKT-01', 'JKT-02'], BDG: ['BDG-01'] });
    expect(server.queryCount).toBe(1);
    expect(server.queries[0]?.query).toBe('SELECT region_code, zone_code FROM `reference.zones`');
    expect(server.unexpected).toEqual([]);
  });

  test('sends a configured query with named parameters and location', async () => {
    server.setRows([['DPS', 'DPS-01']]);
    await load({
      query: 'SELECT region_code, zone_code FROM `ref.zones` WHERE active = @active AND country = @country',
      params: { active: true, country: 'ID' },
      location: 'asia-southeast2',
    });
    const body = server.queries[0] ?? {};
    expect(body.location).toBe('asia-southeast2');
    expect(body.parameterMode).toBe('named');
    expect(body.queryParameters).toEqual([
      { name: 'active', parameterType: { type: 'BOOL' }, parameterValue: { value: true } },
      { name: 'country', parameterType: { type: 'STRING' }, parameterValue: { value: 'ID' } },
    ]);
  });

  test('follows pageToken across pages until the last one', async () => {
    const rows: [string, string][] = [];
    for (let i = 1; i <= 7; i += 1) rows.push([`R${i % 3}`, `Z-${String(i).padStart(2, '0')}`]);
    server.setRows(rows);
    const zones = await load({ pageSize: 2 });
    expect([...zones.values()].flat().sort()).toEqual(rows.map(([, z]) => z).sort());
    expect(server.queryCount).toBe(1);
    expect(server.resultsCount).toBe(3); // page 1 came with jobs.query; pages 2–4 by token
  });

  test('polls getQueryResults while jobComplete is false, then reads the rows', async () => {
    server.setRows([['MDN', 'MDN-01']]);
    server.setIncompletePolls(3);
    const zones = await load();
    expect(Object.fromEntries(zones)).toEqual({ MDN: ['MDN-01'] });
    expect(server.queryCount).toBe(1);
    expect(server.resultsCount).toBe(3);
  });

  test('turns a Google error body into AUTHCTX_ERR_ZONES_UNAVAILABLE carrying the message', async () => {
    server.failWith(403);
    const error = await load().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthctxError);
    expect((error as AuthctxError).code).toBe('AUTHCTX_ERR_ZONES_UNAVAILABLE');
    expect((error as AuthctxError).message).toContain('The request failed.');
  });

  test('gives up when the signal aborts while a page request hangs, and cancels the job', async () => {
    server.setRows([
      ['JKT', 'JKT-01'],
      ['JKT', 'JKT-02'],
    ]);
    server.hang('results'); // page 1 arrives with jobs.query; the request for page 2 hangs
    const controller = new AbortController();
    const polled = server.nextRequest('results');
    const pending = sourceFor(server, { pageSize: 1 }).load({ signal: controller.signal });
    await polled;
    controller.abort(new AuthctxError('AUTHCTX_ERR_ZONES_TIMEOUT'));
    await expect(pending).rejects.toMatchObject({ code: 'AUTHCTX_ERR_ZONES_TIMEOUT' });
    await expect.poll(() => server.cancelCount).toBe(1);
  });

  test('refuses a dataset name that is not an identifier', () => {
    expect(() => sourceFor(server, { dataset: 'x`; DROP TABLE y; --' })).toThrow(/dataset name/);
  });
});
