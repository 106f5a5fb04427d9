import { createLocalJWKSet, errors as joseErrors, type JSONWebKeySet, type JWSHeaderParameters, type FlattenedJWSInput } from 'jose';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { getOrCreateCounter } from '../metrics/get-or-create.js';
import { metricNames } from '../metrics/names.js';

type KeyResolver = ReturnType<typeof createLocalJWKSet>;
type ResolvedKey = Awaited<ReturnType<KeyResolver>>;

export interface JwksProviderOptions {
  url: string;
  /** Fetch timeout. */
  timeoutMs: number;
  /** Minimum time between two fetches (an unknown `kid` cannot trigger more). */
  cooldownMs: number;
  /** After this age the set is refetched in the background; the last good set stays in use. */
  maxAgeMs: number;
  /** Largest JWKS document accepted. Default 256 KiB. */
  maxBytes?: number;
  fetch?: typeof fetch;
  registry: Registry;
  logger: Logger;
  now: () => number;
}

export interface JwksProvider {
  /** The verification key for a token header, fetching the set when needed. */
  getKey(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<ResolvedKey>;
  /** Fetches now (startup warm-up); resolves false instead of rejecting. */
  warm(): Promise<boolean>;
  readonly loadedAtMs: number | undefined;
}

/**
 * A JWKS cache that, unlike jose's remote set, keeps the last good keys when a refetch
 * fails: an identity provider's brief outage must not turn every request into a 401.
 * Never follows `jku`/`x5u` from a token: the URL is configuration only.
 */
export function createJwksProvider(options: JwksProviderOptions): JwksProvider {
  const fetchImpl = options.fetch ?? fetch;
  const maxBytes = options.maxBytes ?? 256 * 1024;
  const fetches = getOrCreateCounter(options.registry, {
    name: metricNames.jwksFetches,
    help: 'JWKS fetches by outcome',
    labelNames: ['outcome'] as const,
  });
  let resolver: KeyResolver | undefined;
  let loadedAtMs: number | undefined;
  let lastAttemptMs = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;

  async function fetchOnce(): Promise<void> {
    lastAttemptMs = options.now();
    try {
      const response = await fetchImpl(options.url, {
        signal: AbortSignal.timeout(options.timeoutMs),
        headers: { accept: 'application/json' },
        redirect: 'error',
      });
      if (!response.ok) throw new Error(`JWKS fetch answered ${response.status}`);
      const text = await response.text();
      if (text.length > maxBytes) throw new Error(`JWKS document larger than ${maxBytes} bytes`);
      const jwks = JSON.parse(text) as JSONWebKeySet;
      if (!Array.isArray(jwks.keys)) throw new Error('JWKS document has no "keys" array');
      resolver = createLocalJWKSet(jwks);
      loadedAtMs = options.now();
      fetches.inc({ outcome: 'success' });
    } catch (error) {
      fetches.inc({ outcome: 'error' });
      options.logger.warn({ err: error, keptLastGood: resolver !== undefined }, 'JWKS fetch failed');
      throw error;
    }
  }

  function refresh(): Promise<void> {
    inFlight ??= fetchOnce().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  const coolingDown = () => options.now() - lastAttemptMs < options.cooldownMs;

  return {
    get loadedAtMs() {
      return loadedAtMs;
    },
    async warm() {
      try {
        await refresh();
        return true;
      } catch {
        return false; // already logged and counted in fetchOnce
      }
    },
    async getKey(header, token) {
      if (!resolver) {
        if (coolingDown() && !inFlight) throw new joseErrors.JWKSNoMatchingKey();
        await refresh();
      } else if (loadedAtMs !== undefined && options.now() - loadedAtMs > options.maxAgeMs && !coolingDown()) {
        refresh().catch(() => undefined); // background: the last good set answers meanwhile
      }
      try {
        return await resolver!(header, token);
      } catch (error) {
        // A key rotation: refetch once per cooldown, then try again with the new set.
        if (!(error instanceof joseErrors.JWKSNoMatchingKey) || coolingDown()) throw error;
        await refresh();
        return resolver!(header, token);
      }
    },
  };
}
