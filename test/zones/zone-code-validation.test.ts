import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { createZoneMapBuilder, isValidZoneCode } from '../../src/zones/zone-rows.js';

describe('zone code validation (codes reach X-User-Zones)', () => {
  test.each(['JKT-01', 'A', 'zone 7', 'R_1.2/3', '~!'])('accepts %j', (code) => {
    expect(isValidZoneCode(code)).toBe(true);
  });

  test.each(['', ' JKT', 'JKT ', 'a,b', 'a\rb', 'a\nb', 'a\u0000b', 'a\tb', 'zoné', 'x'.repeat(129), 42, null])(
    'rejects %j',
    (code) => {
      expect(isValidZoneCode(code)).toBe(false);
    },
  );

  test('no accepted code can split a header or the comma-separated zone list', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (code) => {
        if (isValidZoneCode(code)) expect(code).not.toMatch(/[\r\n\u0000,]|[^\x20-\x7e]/);
      }),
    );
  });

  test('the builder trims codes, counts rejected rows and freezes sorted lists', () => {
    const builder = createZoneMapBuilder();
    builder.add(' JKT ', 'JKT-02 ');
    builder.add('JKT', 'JKT-01');
    builder.add('JKT', 'JKT-01');
    builder.add('JKT', 'bad\nzone');
    builder.add(undefined, 'JKT-09');
    const built = builder.build();
    expect(built).toMatchObject({ rows: 5, rejected: 2 });
    expect(built.zones.get('JKT')).toEqual(['JKT-01', 'JKT-02']);
    expect(Object.isFrozen(built.zones.get('JKT'))).toBe(true);
  });
});
