import { performance } from 'node:perf_hooks';
import { expect } from 'vitest';
import { signToken } from '../../support/tokens.js';

/** One sample of a metric on `/metrics`, or undefined when it is absent. */
export async function metricValue(adminUrl: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries((match[2] ?? '').split(',').filter(Boolean).map((pair) => {
      const [key, value] = pair.split('=');
      return [key, value?.replace(/^"|"$/g, '')];
    }));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/**
 * Polls `check` until it returns true, at most `timeoutMs`. Only for conditions no event
 * announces (another process' state, a metric); a failure says what was awaited.
 */
export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 3_000, everyMs = 20): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await check()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export interface Timed {
  status: number;
  ms: number;
  headers: Headers;
  body: string;
}

const tokens = new Map<string, Promise<string>>();

/** GET through the proxy as `email`, timing the whole exchange (headers and body). */
export async function timedGet(proxyUrl: string, email: string, path = '/api/x'): Promise<Timed> {
  let token = tokens.get(email);
  if (!token) {
    token = signToken({ email, sub: `sub-${email}` });
    tokens.set(email, token);
  }
  const authorization = `Bearer ${await token}`;
  const start = performance.now();
  const res = await fetch(`${proxyUrl}${path}`, { headers: { authorization } });
  const body = await res.text();
  return { status: res.status, ms: performance.now() - start, headers: res.headers, body };
}

/** Asserts the status and that the exchange took less than `boundMs`. */
export function expectWithin(result: Timed, status: number, boundMs: number, label = ''): void {
  expect(result.status, `${label} status (${result.body.slice(0, 200)})`).toBe(status);
  expect(result.ms, `${label} took ${Math.round(result.ms)} ms`).toBeLessThan(boundMs);
}

type ResourceCounts = Record<string, number>;

const watched = ['TCPSocketWrap', 'TCPServerWrap', 'Timeout'];

/** Counts of the resources that keep a process alive: sockets, servers and ref'd timers. */
export function activeResources(): ResourceCounts {
  const counts: ResourceCounts = {};
  for (const kind of process.getActiveResourcesInfo()) if (watched.includes(kind)) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/**
 * Waits (bounded) until no more sockets, servers or ref'd timers are alive than before the app
 * started: a stopped app must leave nothing behind that would keep a process from exiting.
 */
export async function expectNoLeakedResources(before: ResourceCounts, timeoutMs = 3_000): Promise<void> {
  const excess = (): string[] => {
    const now = activeResources();
    return watched.filter((kind) => (now[kind] ?? 0) > (before[kind] ?? 0)).map((kind) => `${kind}: ${before[kind] ?? 0} → ${now[kind]}`);
  };
  await waitUntil(`no leaked resources (${excess().join(', ')})`, () => excess().length === 0, timeoutMs).catch((error: Error) => {
    throw new Error(`${error.message}; still: ${excess().join(', ')}`);
  });
}

/**
 * `fn` run at most once; later calls get the first call's promise. Fault suites close their
 * support servers inside a "closes cleanly" test and again in afterAll.
 */
export function onceAsync(fn: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= fn());
}
