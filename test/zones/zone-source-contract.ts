/**
 * The `ZoneSource` contract: every adapter runs this suite with a `setup` that makes the adapter
 * serve the given `(region_code, zone_code)` rows.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { AuthctxError } from '../../src/errors.js';
import type { ZoneSource } from '../../src/zones/zone-source.js';

export type ZoneRows = readonly (readonly [string, string])[];
export interface ZoneSourceFixture {
  source: ZoneSource;
  cleanup(): Promise<void>;
}

export function runZoneSourceContract(name: string, setup: (rows: ZoneRows) => Promise<ZoneSourceFixture>): void {
  describe(`ZoneSource contract: ${name}`, () => {
    let fixture: ZoneSourceFixture | undefined;
    afterEach(async () => {
      await fixture?.source.close();
      await fixture?.cleanup();
      fixture = undefined;
    });
    const load = (source: ZoneSource) => source.load({ signal: new AbortController().signal });

    test('groups rows by region with sorted, de-duplicated zones', async () => {
      fixture = await setup([
        ['JKT', 'JKT-02'],
        ['BDG', 'BDG-01'],
        ['JKT', 'JKT-01'],
        ['JKT', 'JKT-02'],
      ]);
      const zones = await load(fixture.source);
      expect([...zones.entries()].sort()).toEqual([
        ['BDG', ['BDG-01']],
        ['JKT', ['JKT-01', 'JKT-02']],
      ]);
    });

    test('skips rows whose codes could corrupt a header and keeps the rest', async () => {
      fixture = await setup([
        ['JKT', 'JKT-01'],
        ['JKT', 'JKT-\r\nX-Evil: 1'],
        ['JKT', 'a,b'],
        ['BAD\u0000', 'Z-1'],
        ['SBY', ''],
        ['SBY', 'x'.repeat(129)],
        ['MDN', 'MDN-01'],
      ]);
      const zones = await load(fixture.source);
      expect(Object.fromEntries(zones)).toEqual({ JKT: ['JKT-01'], MDN: ['MDN-01'] });
    });

    test('rejects a table with no valid rows as malformed', async () => {
      fixture = await setup([['JKT', 'bad\nzone']]);
      const error = await load(fixture.source).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(AuthctxError);
      expect((error as AuthctxError).code).toBe('AUTHCTX_ERR_ZONES_MALFORMED');
    });

    test('rejects at once when the signal is already aborted', async () => {
      fixture = await setup([['JKT', 'JKT-01']]);
      const controller = new AbortController();
      controller.abort(new AuthctxError('AUTHCTX_ERR_ZONES_TIMEOUT'));
      await expect(fixture.source.load({ signal: controller.signal })).rejects.toMatchObject({
        code: expect.stringMatching(/^AUTHCTX_ERR_ZONES_/),
      });
    });
  });
}
