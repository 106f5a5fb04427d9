import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { readInboundHeaders } from '../../src/proxy/hop-headers.js';
import { encodeHeaderValue, identityHeaderNames, identityHeaderPairs, isIdentityHeader } from '../../src/proxy/identity-headers.js';

/**
 * Issue 6 item 6: property-based checks of the header strip (client → backend) and the
 * identity injection, against oracles written independently of the code under test.
 */
const hopByHop = ['connection', 'proxy-connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'expect', 'http2-settings'];
const forwardedNames = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded'];
const canonical = (name: string) => name.toLowerCase().replaceAll('_', '-');
const identityOracle = new Set<string>(identityHeaderNames);

/** A header name in a random spelling: any case per letter, `_` or `-` per separator. */
const respelled = (name: string) =>
  fc.array(fc.boolean(), { minLength: name.length * 2, maxLength: name.length * 2 }).map((flips) =>
    [...name].map((c, i) => (c === '-' ? (flips[i] ? '_' : '-') : flips[i + name.length] ? c.toUpperCase() : c)).join(''),
  );

const tokenName = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,24}$/);
const pool = [...identityHeaderNames, ...hopByHop, ...forwardedNames, 'authorization', 'host', 'x-request-id', 'x-user', 'x-user-ids', 'x-userid', 'cookie', 'x-custom'];
const headerName = fc.oneof({ arbitrary: fc.constantFrom(...pool).chain(respelled), weight: 3 }, { arbitrary: tokenName, weight: 2 });
const headerValue = fc.stringMatching(/^[\x20-\x7e\t]{0,40}$/);
const connectionValue = fc.array(fc.oneof(headerName, fc.constantFrom('close', 'keep-alive', 'upgrade', ' ')), { maxLength: 5 }).map((names) => names.join(', '));
const header = fc.oneof({ arbitrary: fc.tuple(headerName, headerValue), weight: 5 }, { arbitrary: fc.tuple(fc.constant('Connection'), connectionValue), weight: 1 });
const rawHeaders = fc.array(header, { maxLength: 30 }).map((pairs) => pairs.flat());

describe('readInboundHeaders (property)', () => {
  it('never forwards an identity, hop-by-hop or Connection-nominated header, and keeps every other one in order', () => {
    fc.assert(
      fc.property(rawHeaders, fc.boolean(), (raw, trustForwarded) => {
        const result = readInboundHeaders(raw, trustForwarded);
        const nominated = new Set<string>();
        for (let i = 0; i < raw.length; i += 2) {
          if (raw[i]!.toLowerCase() !== 'connection') continue;
          // `close` and `keep-alive` are connection options, not field names (RFC 9112 §9.6).
          for (const t of raw[i + 1]!.split(',')) if (!['close', 'keep-alive'].includes(t.trim().toLowerCase())) nominated.add(t.trim().toLowerCase());
        }
        const expected: string[] = [];
        let authorizations = 0;
        for (let i = 0; i < raw.length; i += 2) {
          const name = raw[i]!;
          const lower = name.toLowerCase();
          if (lower === 'authorization') authorizations++;
          if (identityOracle.has(canonical(name)) || hopByHop.includes(lower)) continue;
          if (nominated.has(lower) || nominated.has(canonical(name))) continue;
          if (forwardedNames.includes(lower) && (!trustForwarded || lower !== 'forwarded')) continue;
          expected.push(name, raw[i + 1]!);
        }
        expect(result.forward).toEqual(expected);
        expect(result.authorizationCount).toBe(authorizations);
        for (let i = 0; i < result.forward.length; i += 2) expect(isIdentityHeader(result.forward[i]!)).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('recognises every spelling of every identity name, and no other name', () => {
    fc.assert(
      fc.property(fc.constantFrom(...identityHeaderNames).chain(respelled), (name) => {
        expect(isIdentityHeader(name)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(tokenName, (name) => {
        expect(isIdentityHeader(name)).toBe(identityOracle.has(canonical(name)));
      }),
      { numRuns: 5000 },
    );
  });
});

describe('identity header values (property)', () => {
  // Whole code points and bare UTF-16 code units, so lone surrogates (legal in JSON) occur too.
  const anyText = fc
    .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 3 }), fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u))), { maxLength: 12 })
    .map((parts) => parts.join(''));
  const hasControl = (s: string) => /[\u0000-\u001f\u007f]/.test(s);
  const isWellFormed = (s: string) => !/\p{Cs}/u.test(s);

  it('either refuses a value or emits printable ASCII that decodes back to it', () => {
    fc.assert(
      fc.property(anyText, (value) => {
        const encoded = encodeHeaderValue(value);
        if (encoded === undefined) {
          expect(hasControl(value) || !isWellFormed(value)).toBe(true);
          return;
        }
        expect(encoded).toMatch(/^[\x20-\x7e]*$/);
        expect(/^[\x20-\x7e]*$/.test(value) ? encoded : decodeURIComponent(encoded)).toBe(value);
      }),
      { numRuns: 5000 },
    );
  });

  it('never builds a header list with an extra or broken header, whatever the data holds', () => {
    const values = fc.record(Object.fromEntries(identityHeaderNames.map((n) => [n, anyText])) as Record<(typeof identityHeaderNames)[number], fc.Arbitrary<string>>, { requiredKeys: [] });
    fc.assert(
      fc.property(values, (input) => {
        const pairs = identityHeaderPairs(input);
        const all = Object.values(input) as string[];
        if (pairs === undefined) {
          expect(all.some((v) => hasControl(v) || !isWellFormed(v))).toBe(true);
          return;
        }
        expect(pairs.length).toBe(all.length * 2);
        for (let i = 0; i < pairs.length; i += 2) {
          expect(identityOracle.has(pairs[i]!)).toBe(true);
          expect(pairs[i + 1]).toMatch(/^[\x20-\x7e]*$/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
