import { isIdentityHeader } from './identity-headers.js';

/**
 * RFC 9110 §7.6.1: a proxy removes hop-by-hop fields and those named in `Connection`.
 * `expect` is answered by Node itself; `proxy-*` belong to the hop to us.
 */
const hopByHop = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  'expect',
  'http2-settings',
]);

const forwardedHeaders = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']);

export interface InboundHeaders {
  /** Flat `[name, value, …]` pairs to forward: hop-by-hop, identity and nominated headers removed. */
  forward: string[];
  /** The single Authorization value; undefined when absent. */
  authorization: string | undefined;
  /** How many Authorization fields the client sent (more than one → 400). */
  authorizationCount: number;
  host: string | undefined;
  xForwardedFor: string | undefined;
  xForwardedProto: string | undefined;
  xForwardedHost: string | undefined;
  requestId: string | undefined;
}

/**
 * One pass over Node's `rawHeaders` (which keeps duplicates and original spelling,
 * unlike `req.headers`): builds the forwarded header list and pulls out what the proxy
 * needs. `trustForwarded` keeps the client's X-Forwarded-* values (trusted ingress).
 */
export function readInboundHeaders(rawHeaders: readonly string[], trustForwarded: boolean): InboundHeaders {
  const forward: string[] = [];
  let nominated: Set<string> | undefined;
  const result: InboundHeaders = {
    forward,
    authorization: undefined,
    authorizationCount: 0,
    host: undefined,
    xForwardedFor: undefined,
    xForwardedProto: undefined,
    xForwardedHost: undefined,
    requestId: undefined,
  };
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (hopByHop.has(lower)) {
      if (lower === 'connection') nominated = addConnectionTokens(nominated, value);
      continue;
    }
    if (isIdentityHeader(lower)) continue;
    switch (lower) {
      case 'authorization':
        result.authorizationCount++;
        result.authorization = value;
        break;
      case 'host':
        result.host = value;
        break;
      case 'x-request-id':
        result.requestId = value;
        break;
    }
    if (forwardedHeaders.has(lower)) {
      if (!trustForwarded) continue;
      if (lower === 'x-forwarded-for') result.xForwardedFor = joinValue(result.xForwardedFor, value);
      else if (lower === 'x-forwarded-proto') result.xForwardedProto ??= value;
      else if (lower === 'x-forwarded-host') result.xForwardedHost ??= value;
      else forward.push(name, value);
      continue;
    }
    forward.push(name, value);
  }
  if (nominated) removeNominated(forward, nominated);
  return result;
}

function addConnectionTokens(set: Set<string> | undefined, value: string): Set<string> | undefined {
  // Nearly every client sends just one of these: skip the split.
  if (value.length <= 10) {
    const lower = value.toLowerCase();
    if (lower === 'keep-alive' || lower === 'close') return set;
  }
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive') continue;
    (set ??= new Set()).add(name);
  }
  return set;
}

function removeNominated(pairs: string[], nominated: Set<string>): void {
  let write = 0;
  for (let read = 0; read < pairs.length; read += 2) {
    const name = pairs[read]!.toLowerCase();
    if (nominated.has(name) || nominated.has(name.replaceAll('_', '-'))) continue;
    pairs[write++] = pairs[read]!;
    pairs[write++] = pairs[read + 1]!;
  }
  pairs.length = write;
}

function joinValue(existing: string | undefined, value: string): string {
  return existing === undefined ? value : `${existing}, ${value}`;
}

/** Response headers from the backend minus hop-by-hop ones (RFC 9110 §7.6.1), as an object for `writeHead`. */
export function outboundResponseHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  let nominated: Set<string> | undefined;
  const connection = headers.connection;
  if (connection !== undefined) nominated = addConnectionTokens(undefined, Array.isArray(connection) ? connection.join(',') : connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || hopByHop.has(name) || nominated?.has(name)) continue;
    out[name] = value;
  }
  return out;
}
