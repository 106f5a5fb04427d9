import { parseDurationMs, parseSizeBytes } from './duration.js';

/** Either a parsed value or a sentence saying what is wrong with the text. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; problem: string };

export type Parser<T> = (text: string) => ParseResult<T>;

const ok = <T>(value: T): ParseResult<T> => ({ ok: true, value });
const bad = (problem: string): ParseResult<never> => ({ ok: false, problem });

export const stringType: Parser<string> = (text) => (text.length > 0 ? ok(text) : bad('must not be empty'));

export const durationType: Parser<number> = (text) => {
  const ms = parseDurationMs(text);
  return ms === undefined ? bad(`"${text}" is not a duration (use e.g. 250ms, 30s, 15m, 24h)`) : ok(ms);
};

export const sizeType: Parser<number> = (text) => {
  const bytes = parseSizeBytes(text);
  return bytes === undefined ? bad(`"${text}" is not a size (use e.g. 16kb, 10mb)`) : ok(bytes);
};

export function intType(min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> {
  return (text) => {
    const n = Number(text);
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) return bad(`"${text}" is not a whole number`);
    if (n < min || n > max) return bad(`${n} is out of range ${min}..${max}`);
    return ok(n);
  };
}

export function numberType(min: number, max: number): Parser<number> {
  return (text) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) return bad(`"${text}" is not a number`);
    if (n < min || n > max) return bad(`${n} is out of range ${min}..${max}`);
    return ok(n);
  };
}

export const boolType: Parser<boolean> = (text) => {
  const t = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return ok(true);
  if (['false', '0', 'no', 'off'].includes(t)) return ok(false);
  return bad(`"${text}" is not a boolean (true/false)`);
};

export function enumType<const T extends string>(values: readonly T[]): Parser<T> {
  return (text) =>
    (values as readonly string[]).includes(text) ? ok(text as T) : bad(`"${text}" is not one of ${values.join(', ')}`);
}

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port`, `[::1]:port` or `:port` (all interfaces). */
export const hostPortType: Parser<HostPort> = (text) => {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) return bad(`"${text}" is not host:port (e.g. 0.0.0.0:8080)`);
  return ok({ host: match[1] ?? (match[2] || '0.0.0.0'), port });
};

export function urlType(protocols: readonly string[]): Parser<string> {
  return (text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return bad(`"${redactUrl(text)}" is not a URL`);
    }
    if (!protocols.includes(url.protocol)) return bad(`URL scheme must be one of ${protocols.join(', ')}`);
    return ok(text.replace(/\/+$/, ''));
  };
}

/** A SQL identifier that is safe to splice into `select public.<name>(...)`. */
export const sqlIdentifierType: Parser<string> = (text) =>
  /^[a-z_][a-z0-9_]{0,62}$/.test(text) ? ok(text) : bad(`"${text}" is not a plain lower-case SQL identifier`);

/** Hides user:password in a URL for logs and error messages. */
export function redactUrl(text: string): string {
  return text.replace(/\/\/([^/@\s]*)@/, (_m, auth: string) => (auth.includes(':') ? '//***:***@' : '//***@'));
}
