import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { AuthctxError } from '../../src/errors.js';
import { createBigQueryZoneSource } from '../../src/zones/bigquery-zone-source.js';
import { createZoneIndex, type ZoneIndex, type ZoneIndexOptions } from '../../src/zones/zone-index.js';
import { createLoopbackAuthClient, startBigQueryServer, type BigQueryServer } from '../support/bigquery-server.js';
import { createManualTimers } from './manual-timers.js';

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;
const sample: [string, string][] = [
  ['JKT', 'JKT-01'],
  ['JKT', 'JKT-02'],
  ['BDG', 'BDG-01'],
  ['BDG', 'BDG-02'],
  ['SBY', 'SBY-01'],
];

let server: BigQueryServer;
let index: ZoneIndex | undefined;
let registry: Registry;
let clockMs: number;

beforeEach(async () => {
  server = await startBigQueryServer();
  server.setRows(sample);
  registry = new Registry();
  clockMs = Date.UTC(2025, 0, 1);
});
afterEach(async () => {
  await index?.close();
  index = undefined;
  expect(server.unexpected).toEqual([]);
  await server.close();
});

function makeIndex(extra: Partial<ZoneIndexOptions> = {}): ZoneIndex {
  const jobTimeoutMs = extra.jobTimeoutMs ?? 5_000;
  index = createZoneIndex({
    source: createBigQueryZoneSource({
      projectId: server.projectId,
      apiEndpoint: server.url,
      authClient: createLoopbackAuthClient(),
      dataset: 'reference',
      jobTimeoutMs,
      maxRetries: 0,
    }),
    refreshIntervalMs: dayMs,
    jobTimeoutMs,
    registry,
    logger: pino({ level: 'silent' }),
    now: () => clockMs,
    random: () => 0.5,
    ...extra,
  });
  return index;
}

async function metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const json = await registry.getSingleMetric(name)?.get();
  return json?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
}

describe('zone index', () => {
  test('start returns at once and the background load fills the index', async () => {
    const zones = makeIndex();
    zones.start();
    expect(zones.isLoaded()).toBe(false);
    expect(zones.zonesFor(['JKT'])).toEqual([]);
    await expect.poll(() => zones.isLoaded()).toBe(true);
    expect(zones.zonesFor(['JKT'])).toEqual(['JKT-01', 'JKT-02']);
    expect(zones.zonesFor(['SBY', 'JKT', 'SBY'])).toEqual(['JKT-01', 'JKT-02', 'SBY-01']);
    expect(zones.stats()).toMatchObject({ source: 'bigquery', regions: 3, loadedAt: clockMs, ageMs: 0, lastError: null });
    expect(await metric('authctx_zones_regions')).toBe(3);
    expect(await metric('authctx_zones_last_success_timestamp_seconds')).toBe(clockMs / 1000);
    expect(await metric('authctx_zones_refresh_total', { outcome: 'success' })).toBe(1);
    expect(server.queryCount).toBe(1);
  });

  test('an unknown region or no region gets no zones, not an error', async () => {
    const zones = makeIndex();
    await zones.refresh();
    expect(zones.zonesFor(['XXX'])).toEqual([]);
    expect(zones.zonesFor([])).toEqual([]);
    expect(zones.zonesFor(['XXX', 'BDG'])).toEqual(['BDG-01', 'BDG-02']);
  });

  test('BigQuery down at start: the index stays empty, then a backoff retry fills it', async () => {
    const timers = createManualTimers();
    const zones = makeIndex({ setTimer: timers.setTimer });
    server.failWith(503);
    await expect(zones.refresh({ force: false })).rejects.toMatchObject({ code: 'AUTHCTX_ERR_ZONES_UNAVAILABLE' });
    expect(zones.isLoaded()).toBe(false);
    expect(zones.zonesFor(['JKT'])).toEqual([]);
    expect(zones.stats().lastError).toContain('Backend error');
    expect(await metric('authctx_zones_refresh_total', { outcome: 'error' })).toBe(1);

    const [retry] = timers.pending();
    expect(retry?.delayMs).toBe(750); // first backoff step: 1s cap, jitter between 0.5 and 1
    server.recover();
    retry?.fire();
    await expect.poll(() => zones.isLoaded()).toBe(true);
    expect(zones.zonesFor(['JKT'])).toEqual(['JKT-01', 'JKT-02']);
    expect(zones.stats().lastError).toBeNull();
  });

  test('failed refreshes back off exponentially up to the cap', async () => {
    const timers = createManualTimers();
    const zones = makeIndex({ setTimer: timers.setTimer, random: () => 1, refreshIntervalMs: 10_000 });
    server.failWith(500);
    const delays: number[] = [];
    await zones.refresh().catch((err: unknown) => err);
    for (let i = 0; i < 6; i += 1) {
      const [retry] = timers.pending();
      delays.push(retry?.delayMs ?? -1);
      const failed = server.nextRequest('query');
      retry?.fire();
      await failed;
      await expect.poll(() => zones.stats().refreshing).toBe(false);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  test('a successful load schedules the next refresh one interval later, which picks up new rows', async () => {
    const timers = createManualTimers();
    const zones = makeIndex({ setTimer: timers.setTimer, random: () => 0 });
    await zones.refresh();
    const [next] = timers.pending();
    expect(next?.delayMs).toBe(dayMs);
    expect(zones.stats().nextRefreshAt).toBe(clockMs + dayMs);

    server.setRows([...sample, ['JKT', 'JKT-03']]);
    clockMs += dayMs;
    next?.fire();
    await expect.poll(() => zones.zonesFor(['JKT'])).toEqual(['JKT-01', 'JKT-02', 'JKT-03']);
    expect(zones.zonesFor(['JKT', 'BDG'])).toContain('JKT-03');
    expect(server.queryCount).toBe(2);
    expect(zones.stats().loadedAt).toBe(clockMs);
  });

  test('BigQuery hangs: the refresh fails at the job timeout and the last good copy is kept', async () => {
    const zones = makeIndex({ jobTimeoutMs: 300 });
    await zones.refresh();
    const loadedAt = zones.stats().loadedAt;
    server.hang();
    const startedMs = performance.now();
    const error = await zones.refresh().catch((err: unknown) => err);
    expect(performance.now() - startedMs).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(AuthctxError);
    expect((error as AuthctxError).code).toBe('AUTHCTX_ERR_ZONES_TIMEOUT');
    expect(zones.zonesFor(['JKT'])).toEqual(['JKT-01', 'JKT-02']);
    expect(zones.stats()).toMatchObject({ loadedAt, refreshing: false, lastError: expect.stringContaining('300ms') });
    expect(await metric('authctx_zones_refresh_total', { outcome: 'error' })).toBe(1);
    expect(await metric('authctx_zones_refresh_total', { outcome: 'success' })).toBe(1);
  });

  test('zone lookups answer at once from the last copy while a refresh hangs', async () => {
    const timers = createManualTimers();
    const zones = makeIndex({ setTimer: timers.setTimer });
    await zones.refresh();
    server.hang();
    const arrived = server.nextRequest('query');
    const pending = zones.refresh();
    await arrived;
    expect(zones.stats().refreshing).toBe(true);
    // Synchronous by type; the loop shows no lookup waits on the hung refresh (10k lookups ≈ milliseconds).
    const startedMs = performance.now();
    let total = 0;
    for (let i = 0; i < 10_000; i += 1) total += zones.zonesFor(i % 2 === 0 ? ['JKT'] : ['JKT', 'BDG']).length;
    expect(performance.now() - startedMs).toBeLessThan(1_000);
    expect(total).toBe(5_000 * 2 + 5_000 * 4);
    expect(zones.zonesFor(['JKT', 'BDG'])).toEqual(['BDG-01', 'BDG-02', 'JKT-01', 'JKT-02']);
    // The job timeout is a timer like any other: fire it to end the hung refresh.
    const timeout = timers.pending().find((t) => t.delayMs === 5_000);
    timeout?.fire();
    await expect(pending).rejects.toMatchObject({ code: 'AUTHCTX_ERR_ZONES_TIMEOUT' });
  });

  test('concurrent refresh calls share one BigQuery query', async () => {
    const zones = makeIndex();
    server.setIncompletePolls(2);
    const calls = [zones.refresh(), zones.refresh(), zones.refresh({ force: false })];
    expect(calls[1]).toBe(calls[0]);
    const outcomes = await Promise.all(calls);
    expect(outcomes.map((o) => o.outcome)).toEqual(['success', 'success', 'success']);
    expect(server.queryCount).toBe(1);
  });

  test('close aborts a hung refresh, clears every timer and refuses later refreshes', async () => {
    const timers = createManualTimers();
    const zones = makeIndex({ setTimer: timers.setTimer });
    server.hang();
    const arrived = server.nextRequest('query');
    const pending = zones.refresh();
    await arrived;
    await zones.close();
    await expect(pending).rejects.toBeInstanceOf(AuthctxError);
    expect(timers.pending()).toEqual([]);
    await expect(zones.refresh()).rejects.toMatchObject({ code: 'AUTHCTX_ERR_ZONES_UNAVAILABLE' });
  });
});
