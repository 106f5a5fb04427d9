import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createCircuitBreaker, withCircuitBreaker } from '../../src/context/circuit-breaker.js';
import type { ContextSource, UserContext } from '../../src/context/context-source.js';
import { AuthctxError } from '../../src/errors.js';
import { reconnectDelayMs } from '../../src/invalidation/backoff.js';
import { createSubscriptionHealth } from '../../src/invalidation/subscription-health.js';

function setup(threshold = 3, coolDownMs = 1_000) {
  let t = 0;
  const registry = new Registry();
  const breaker = createCircuitBreaker({ dependency: 'source', failureThreshold: threshold, coolDownMs, now: () => t, registry });
  const gauge = async () => (await registry.getSingleMetricAsString('authctx_circuit_state')).match(/dependency="source"} (\d)/)?.[1];
  return { breaker, gauge, advance: (ms: number) => (t += ms) };
}

describe('circuit breaker', () => {
  it('opens after N consecutive failures, not after N failures interleaved with successes', async () => {
    const { breaker, gauge } = setup(3);
    breaker.onFailure();
    breaker.onFailure();
    breaker.onSuccess();
    breaker.onFailure();
    breaker.onFailure();
    expect(breaker.state).toBe('closed');
    breaker.onFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.allowRequest()).toBe(false);
    expect(await gauge()).toBe('2');
  });

  it('lets exactly one probe through after the cool-down; its success closes, its failure reopens', async () => {
    const { breaker, gauge, advance } = setup(1, 1_000);
    breaker.onFailure();
    advance(999);
    expect(breaker.allowRequest()).toBe(false);
    advance(1);
    expect(breaker.allowRequest()).toBe(true);
    expect(breaker.state).toBe('half-open');
    expect(await gauge()).toBe('1');
    expect(breaker.allowRequest()).toBe(false); // one probe at a time
    breaker.onFailure();
    expect(breaker.state).toBe('open');
    advance(1_000);
    expect(breaker.allowRequest()).toBe(true);
    breaker.onSuccess();
    expect(breaker.state).toBe('closed');
    expect(await gauge()).toBe('0');
    expect(breaker.allowRequest()).toBe(true);
  });

  it('refuses source calls at once while open, and counts an unknown user (null) as a success', async () => {
    const { breaker, advance } = setup(2, 500);
    let calls = 0;
    let fail = true;
    const source: ContextSource = {
      kind: 'postgres',
      async getUserContext() {
        calls++;
        if (fail) throw new AuthctxError('AUTHCTX_ERR_CONTEXT_TIMEOUT');
        return null as UserContext | null;
      },
      close: async () => undefined,
    };
    const guarded = withCircuitBreaker(source, breaker);
    await expect(guarded.getUserContext('a@example.com')).rejects.toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_TIMEOUT' });
    await expect(guarded.getUserContext('a@example.com')).rejects.toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_TIMEOUT' });
    await expect(guarded.getUserContext('a@example.com')).rejects.toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_UNAVAILABLE' });
    expect(calls).toBe(2);
    fail = false;
    advance(500);
    await expect(guarded.getUserContext('a@example.com')).resolves.toBeNull();
    expect(breaker.state).toBe('closed');
  });
});

describe('invalidation subscription health', () => {
  it('trusts entries until their TTL while every channel is up, only for the grace while one is down', () => {
    const recovered: string[] = [];
    const health = createSubscriptionHealth({ graceMs: 5_000, onRecovered: (channel) => recovered.push(channel) });
    health.track('redis');
    health.track('postgres');
    expect(health.maxEntryAgeMs()).toBe(5_000); // nothing subscribed yet
    health.up('redis');
    health.up('postgres');
    expect(health.maxEntryAgeMs()).toBe(Number.POSITIVE_INFINITY);
    expect(recovered).toEqual([]); // a first subscription is not a recovery
    health.down('postgres');
    expect(health.maxEntryAgeMs()).toBe(5_000);
    health.up('postgres');
    expect(health.maxEntryAgeMs()).toBe(Number.POSITIVE_INFINITY);
    expect(recovered).toEqual(['postgres']);
  });
});

describe('reconnect backoff', () => {
  it('doubles from the minimum, stays under the cap, and never goes below half the step', () => {
    const bounds = { minMs: 100, maxMs: 5_000 };
    expect(reconnectDelayMs(0, { ...bounds, random: () => 0 })).toBe(50);
    expect(reconnectDelayMs(0, { ...bounds, random: () => 1 })).toBe(100);
    expect(reconnectDelayMs(3, { ...bounds, random: () => 1 })).toBe(800);
    expect(reconnectDelayMs(50, { ...bounds, random: () => 1 })).toBe(5_000);
    expect(reconnectDelayMs(50, { ...bounds, random: () => 0 })).toBe(2_500);
  });
});
