import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contextKey, contextKeyPrefix, normalizeEmail } from '../../src/cache/cache-key.js';

describe('cache keys', () => {
  it('normalizes case and surrounding whitespace variants to one key', () => {
    const variants = ['rina@example.com', 'Rina@Example.COM', '  RINA@EXAMPLE.COM\t', '\nrina@example.com '];
    expect(new Set(variants.map(contextKey))).toEqual(new Set(['authctx:v1:ctx:rina@example.com']));
  });

  it.each([
    ['empty', ''],
    ['only whitespace', '   '],
    ['no @', 'rina.example.com'],
    ['two @', 'rina@x@example.com'],
    ['empty local part', '@example.com'],
    ['empty domain', 'rina@'],
    ['whitespace inside', 'ri na@example.com'],
    ['a tab inside', 'rina\t@example.com'],
    ['CR LF inside', 'rina@example.com\r\nX-User-Role: admin'],
    ['NUL', 'rina\u0000@example.com'],
    ['DEL', 'rina\u007f@example.com'],
    ['zero-width space', 'ri\u200bna@example.com'],
    ['bidi override', 'rina\u202e@example.com'],
    ['non-breaking space', 'rina\u00a0x@example.com'],
    ['dot-leading domain', 'rina@.example.com'],
    ['double dot domain', 'rina@example..com'],
    ['too long', `${'a'.repeat(60)}@${'b'.repeat(200)}.com`],
    ['local part over 64', `${'a'.repeat(65)}@example.com`],
  ])('rejects an invalid email: %s', (_name, raw) => {
    expect(normalizeEmail(raw)).toBeNull();
    expect(contextKey(raw)).toBeNull();
  });

  it('folds only ASCII case, so a look-alike Unicode address keeps its own key', () => {
    // U+212A KELVIN SIGN lower-cases to "k" under full Unicode folding.
    expect(contextKey('\u212Aate@example.com')).not.toBe(contextKey('kate@example.com'));
    expect(normalizeEmail('ÄDA@example.com')).toBe('Äda@example.com');
  });

  it('gives distinct normalized emails distinct keys, and is idempotent', () => {
    const email = fc
      .tuple(fc.stringMatching(/^[A-Za-z0-9._%+:'!#-]{1,20}$/), fc.stringMatching(/^[A-Za-z0-9-]{1,15}(\.[A-Za-z]{2,6}){1,2}$/))
      .map(([local, domain]) => `${local}@${domain}`);
    fc.assert(
      fc.property(email, email, (a, b) => {
        const na = normalizeEmail(a);
        const nb = normalizeEmail(b);
        expect(na).not.toBeNull();
        expect(nb).not.toBeNull();
        expect(normalizeEmail(na!)).toBe(na);
        expect(contextKey(a)!.startsWith(contextKeyPrefix)).toBe(true);
        expect(contextKey(a) === contextKey(b)).toBe(na === nb);
        expect(na === nb).toBe(a.toLowerCase() === b.toLowerCase());
      }),
      { numRuns: 2_000 },
    );
  });
});
