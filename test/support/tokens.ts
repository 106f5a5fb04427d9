import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload, type CryptoKey } from 'jose';

export const testSecret = 'test-hs256-secret-with-enough-entropy-0123456789';
export const testIssuer = 'http://127.0.0.1:54321/auth/v1';

export interface TokenOptions {
  alg?: 'HS256' | 'ES256' | 'RS256';
  kid?: string;
  secret?: string;
  expiresInSec?: number;
  claims?: JWTPayload;
  issuer?: string | null;
  audience?: string | null;
  header?: Record<string, unknown>;
  key?: CryptoKey;
}

export interface KeyPairSet {
  es256: { privateKey: CryptoKey; publicJwk: JWK };
  rs256: { privateKey: CryptoKey; publicJwk: JWK };
}

export async function makeKeyPairs(): Promise<KeyPairSet> {
  const es = await generateKeyPair('ES256', { extractable: true });
  const rs = await generateKeyPair('RS256', { extractable: true });
  return {
    es256: { privateKey: es.privateKey, publicJwk: { ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' } },
    rs256: { privateKey: rs.privateKey, publicJwk: { ...(await exportJWK(rs.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' } },
  };
}

/** A Supabase-shaped access token. */
export async function signToken(options: TokenOptions & { sub?: string; email?: string; keys?: KeyPairSet }): Promise<string> {
  const alg = options.alg ?? 'HS256';
  const nowSec = Math.floor(Date.now() / 1000);
  const claims: JWTPayload = {
    sub: options.sub ?? '8c0e6f3a-0000-4000-8000-000000000001',
    email: options.email ?? 'rina@example.com',
    role: 'authenticated',
    ...options.claims,
  };
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg, typ: 'JWT', ...(options.kid ? { kid: options.kid } : {}), ...options.header })
    .setIssuedAt(nowSec)
    .setExpirationTime(nowSec + (options.expiresInSec ?? 3600));
  if (options.issuer !== null) jwt = jwt.setIssuer(options.issuer ?? testIssuer);
  if (options.audience !== null) jwt = jwt.setAudience(options.audience ?? 'authenticated');
  if (alg === 'HS256') return jwt.sign(new TextEncoder().encode(options.secret ?? testSecret));
  const key = options.key ?? (alg === 'ES256' ? options.keys!.es256.privateKey : options.keys!.rs256.privateKey);
  return jwt.sign(key);
}

export interface JwksServer {
  url: string;
  server: Server;
  fetches: number;
  /** When false the server answers 503 (identity provider down). */
  up: boolean;
  setKeys(keys: JWK[]): void;
  close(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  let current = keys;
  const state = {
    fetches: 0,
    up: true,
  };
  const server = createServer((_req, res) => {
    state.fetches++;
    if (!state.up) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: current }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/auth/v1/.well-known/jwks.json`,
    server,
    setKeys(next: JWK[]) {
      current = next;
    },
    async close() {
      server.closeAllConnections();
      server.close();
    },
  });
}

/** base64url of a JSON object, for hand-built hostile tokens. */
export function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}
