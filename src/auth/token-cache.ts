import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { VerifiedToken } from './verified-token.js';

export interface TokenCacheOptions {
  /** Bound on cached tokens; 0 disables the cache. */
  maxEntries: number;
  /** Cap on how long one verification is reused; never beyond the token's `exp`. */
  ttlCapMs: number;
  now: () => number;
}

/**
 * Verified-token cache: repeat requests with the same token skip the signature check
 * (HS256 ≈ 40 µs, ES256 ≈ 150 µs against ≈ 2 µs for this lookup). Keyed by a SHA-256 of
 * the whole token, so a token that differs in any byte never hits another's entry.
 */
export class TokenCache {
  readonly #lru: LRUCache<string, VerifiedToken> | undefined;
  readonly #ttlCapMs: number;
  readonly #now: () => number;

  constructor(options: TokenCacheOptions) {
    // lru-cache keeps each entry's TTL in typed arrays: no wrapper object per token.
    // `perf` is the injected clock, read on every check (ttlResolution 0), so tests can move it.
    this.#lru =
      options.maxEntries > 0
        ? new LRUCache<string, VerifiedToken>({ max: options.maxEntries, ttlAutopurge: false, allowStale: false, perf: { now: options.now }, ttlResolution: 0 })
        : undefined;
    this.#ttlCapMs = options.ttlCapMs;
    this.#now = options.now;
  }

  static keyOf(token: string): string {
    return hash('sha256', token, 'base64url');
  }

  get(key: string): VerifiedToken | undefined {
    return this.#lru?.get(key);
  }

  set(key: string, token: VerifiedToken): void {
    if (!this.#lru) return;
    const ttlMs = Math.min(token.expiresAtMs - this.#now(), this.#ttlCapMs);
    if (ttlMs > 0) this.#lru.set(key, token, { ttl: ttlMs });
  }

  get size(): number {
    return this.#lru?.size ?? 0;
  }

  clear(): void {
    this.#lru?.clear();
  }
}
