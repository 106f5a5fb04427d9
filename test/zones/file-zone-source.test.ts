import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AuthctxError } from '../../src/errors.js';
import { createFileZoneSource } from '../../src/zones/file-zone-source.js';
import { runZoneSourceContract } from './zone-source-contract.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authctx-zones-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let seq = 0;
async function file(name: string, text: string): Promise<string> {
  seq += 1;
  const path = join(dir, `${seq}-${name}`);
  await writeFile(path, text);
  return path;
}
const load = (path: string) => createFileZoneSource({ path }).load({ signal: new AbortController().signal });

runZoneSourceContract('file (csv)', async (rows) => {
  const csv = ['region_code,zone_code', ...rows.map(([r, z]) => `"${r.replaceAll('"', '""')}","${z.replaceAll('"', '""')}"`)];
  return { source: createFileZoneSource({ path: await file('zones.csv', csv.join('\n')) }), cleanup: async () => {} };
});

runZoneSourceContract('file (json)', async (rows) => {
  const obj: Record<string, string[]> = {};
  for (const [r, z] of rows) (obj[r] ??= []).push(z);
  return { source: createFileZoneSource({ path: await file('zones.json', JSON.stringify(obj)) }), cleanup: async () => {} };
});

describe('file zone source', () => {
  test('reads the example CSV and JSON files to the same table', async () => {
    const csv = await load(new URL('../../config/zones.example.csv', import.meta.url).pathname);
    const json = await load(new URL('../../config/zones.example.json', import.meta.url).pathname);
    expect(Object.fromEntries(csv)).toEqual(Object.fromEntries(json));
    expect([...csv.keys()].sort()).toEqual(['BDG', 'DPS', 'JKT', 'MDN', 'MKS', 'SBY', 'SMG']);
    expect(csv.get('JKT')).toContain('JKT-01');
  });

  test('accepts CRLF line ends, a BOM, reordered columns and blank lines in CSV', async () => {
    const path = await file('zones.csv', '\uFEFFzone_code,region_code\r\nJKT-01,JKT\r\n\r\nBDG-01,BDG\r\n');
    expect(Object.fromEntries(await load(path))).toEqual({ JKT: ['JKT-01'], BDG: ['BDG-01'] });
  });

  test('detects JSON by content when the extension says neither', async () => {
    const path = await file('zones.txt', ' {"DPS": ["DPS-01"]}');
    expect(Object.fromEntries(await load(path))).toEqual({ DPS: ['DPS-01'] });
  });

  test.each([
    ['a CSV without the header line', 'zones.csv', 'JKT,JKT-01\n', /header region_code,zone_code/],
    ['invalid JSON', 'zones.json', '{"JKT": [', /not valid JSON/],
    ['JSON of the wrong shape', 'zones.json', '{"JKT": "JKT-01"}', /JSON object of region code/],
    ['a JSON array', 'zones.json', '[["JKT","JKT-01"]]', /JSON object of region code/],
  ])('refuses %s with a clear error', async (_name, fileName, text, message) => {
    const error = await load(await file(fileName, text)).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(AuthctxError);
    expect((error as AuthctxError).code).toBe('AUTHCTX_ERR_ZONES_MALFORMED');
    expect((error as AuthctxError).message).toMatch(message);
  });

  test('reports a missing file as the source being unavailable', async () => {
    await expect(load(join(dir, 'missing.csv'))).rejects.toMatchObject({ code: 'AUTHCTX_ERR_ZONES_UNAVAILABLE' });
  });
});
