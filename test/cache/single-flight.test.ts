import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createSingleFlight } from '../../src/cache/single-flight.js';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function coalescedCount(registry: Registry): Promise<number> {
  const metric = await registry.getSingleMetric('authctx_singleflight_coalesced_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('single-flight', () => {
  it('runs one call for 500 concurrent callers of one key and counts 499 coalesced', async () => {
    const registry = new Registry();
    const flight = createSingleFlight<string, string>({ registry });
    const gate = deferred<string>();
    let calls = 0;
    const waiters = Array.from({ length: 500 }, () =>
      flight.do('k', () => {
        calls++;
        return gate.promise;
      }),
    );
    gate.resolve('ctx');
    expect(await Promise.all(waiters)).toEqual(Array(500).fill('ctx'));
    expect(calls).toBe(1);
    expect(await coalescedCount(registry)).toBe(499);
  });

  it('keeps different keys apart', async () => {
    const flight = createSingleFlight<string, string>();
    const results = await Promise.all(['a', 'b', 'a'].map((k) => flight.do(k, async () => `v-${k}`)));
    expect(results).toEqual(['v-a', 'v-b', 'v-a']);
  });

  it('hands a rejection to every waiter, then runs the call again next time', async () => {
    const flight = createSingleFlight<string, string>();
    const gate = deferred<string>();
    let calls = 0;
    const fn = (): Promise<string> => {
      calls++;
      return gate.promise;
    };
    const waiters = Array.from({ length: 10 }, () => flight.do('k', fn));
    gate.reject(new Error('source down'));
    const settled = await Promise.allSettled(waiters);
    expect(settled.every((s) => s.status === 'rejected' && (s.reason as Error).message === 'source down')).toBe(true);
    expect(calls).toBe(1);
    expect(flight.size).toBe(0);
    expect(await flight.do('k', async () => 'recovered')).toBe('recovered');
  });

  it('turns a synchronous throw into a rejection shared by the waiters', async () => {
    const flight = createSingleFlight<string, string>();
    const first = flight.do('k', () => {
      throw new Error('sync');
    });
    await expect(first).rejects.toThrow('sync');
    expect(flight.size).toBe(0);
  });

  it('does not remember a result once the call settled', async () => {
    const flight = createSingleFlight<string, number>();
    let n = 0;
    expect(await flight.do('k', async () => ++n)).toBe(1);
    expect(await flight.do('k', async () => ++n)).toBe(2);
  });

  it('calls through without coalescing once maxKeys calls are in flight', async () => {
    const flight = createSingleFlight<string, string>({ maxKeys: 2 });
    const gate = deferred<string>();
    let calls = 0;
    const fn = (): Promise<string> => {
      calls++;
      return gate.promise;
    };
    const inFlight = [flight.do('a', fn), flight.do('b', fn), flight.do('c', fn), flight.do('c', fn)];
    expect(flight.size).toBe(2);
    expect(calls).toBe(4);
    gate.resolve('v');
    await Promise.all(inFlight);
    expect(flight.size).toBe(0);
  });
});
