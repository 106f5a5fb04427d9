/**
 * `npm run demo` end to end: starts the demo stack (PGlite + migrations + seed, echo
 * backend, authctx with the postgres source and the memory cache), then runs every
 * `curl` line the demo prints — parsed back into a request and sent with fetch — and
 * checks each answer against what the printout promises. Needs no system Postgres or Redis.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCli } from '../support/cli.js';
import { startDemoStack } from '../../demo/stack.js';
import type { DemoRequest, DemoToken, Scenario } from '../../demo/scenarios.js';

const stack = await startDemoStack({ ports: 0, logger: pino({ level: 'silent' }) });
afterAll(() => stack.stop());

/** Splits a shell line into words: "double", 'single' and bare; stops at a pipe. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\|)|(\S+)/g)) {
    if (match[3]) break;
    words.push(match[1] ?? match[2] ?? match[4] ?? '');
  }
  return words;
}

/** The request a printed curl line makes once the exported token variables are set. */
function requestFromCurl(curl: string, tokens: readonly DemoToken[]): DemoRequest {
  const env = new Map(tokens.map((t) => [t.env, t.token]));
  const words = shellWords(curl);
  expect(words.slice(0, 2)).toEqual(['curl', '-si']);
  const request: DemoRequest = { method: 'GET', url: '', headers: {} };
  for (let i = 2; i < words.length; i++) {
    const word = words[i] ?? '';
    if (word === '-X') request.method = words[++i] as DemoRequest['method'];
    else if (word === '-H') {
      const header = (words[++i] ?? '').replace(/\$(\w+)/g, (_, name: string) => env.get(name) ?? `$${name}`);
      const colon = header.indexOf(':');
      request.headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
    } else request.url = word;
  }
  return request;
}

function expectSubset(actual: unknown, expected: unknown, path = 'body'): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    expect(actual, path).toBeTypeOf('object');
    const entries = Object.entries(expected as Record<string, unknown>);
    if (entries.length === 0) expect(actual, `${path} is empty`).toEqual({});
    for (const [key, value] of entries) expectSubset((actual as Record<string, unknown>)[key], value, `${path}.${key}`);
  } else {
    expect(actual, path).toEqual(expected);
  }
}

async function run(scenario: Scenario): Promise<void> {
  const request = requestFromCurl(scenario.curl, stack.tokens);
  expect(request).toEqual(scenario.request);
  const hitsBefore = stack.backend.hits;
  const response = await fetch(request.url, { method: request.method, headers: request.headers });
  const text = await response.text();
  expect(response.status, `${scenario.name}: ${text}`).toBe(scenario.expect.status);
  if (scenario.expect.status >= 400) expect(JSON.parse(text)).toMatchObject({ code: expect.stringMatching(/^AUTHCTX_ERR_/) });
  if (scenario.expect.json) expectSubset(JSON.parse(text), scenario.expect.json);
  for (const needle of scenario.expect.contains ?? []) expect(text).toContain(needle);
  if (scenario.expect.backendUntouched) expect(stack.backend.hits, 'the backend was called').toBe(hitsBefore);
}

/** The scenarios the demo prints, in order. */
const scenarioNames = [
  'forwarded request',
  'spoofed identity header',
  'another role and region',
  'auth-context route',
  'unknown user',
  'forged token',
  'public route',
  'cache stats',
  'invalidate one user',
  'metrics',
];

describe('npm run demo', () => {
  it('prints tokens for three seeded users of different roles and regions, an unknown user and a forged token', () => {
    expect(stack.tokens.map((t) => t.env)).toEqual(['RINA_TOKEN', 'ADMIN_TOKEN', 'SARI_TOKEN', 'UNKNOWN_TOKEN', 'FORGED_TOKEN']);
    expect(stack.database.employees).toBeGreaterThanOrEqual(300);
    expect(stack.scenarios.map((s) => s.name)).toEqual(scenarioNames);
  });

  for (const [index, name] of scenarioNames.entries()) {
    it(`answers the printed curl line ${index + 1} (${name}) as the printout says`, async () => {
      const scenario = stack.scenarios.find((s) => s.name === name);
      expect(scenario).toBeDefined();
      await run(scenario!);
    });
  }

  it('reloads an invalidated user from the database on the next request', async () => {
    const forwarded = stack.scenarios.find((s) => s.name === 'forwarded request')!;
    const sourceCalls = async () => {
      const text = await (await fetch(`${stack.urls.admin}/metrics`)).text();
      return [...text.matchAll(/^authctx_context_source_requests_total\{[^}]*\} (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    await run(forwarded);
    const cached = await sourceCalls();
    await run(forwarded);
    expect(await sourceCalls(), 'a cached user costs no source call').toBe(cached);
    await run(stack.scenarios.find((s) => s.name === 'invalidate one user')!);
    await run(forwarded);
    expect(await sourceCalls()).toBe(cached + 1);
  });

  it('measures a load: no failures, one source call per user, then every context from the cache', { timeout: 60_000 }, async () => {
    // Round robin over the users: the first loadUsers requests name each user once.
    const first = await stack.runLoad({ amount: stack.loadUsers * 3, connections: 8 });
    expect(first.failures).toBe(0);
    expect(first.requests).toBe(stack.loadUsers * 3);
    expect(first.requestsPerSec).toBeGreaterThan(0);
    expect(first.p99Ms).toBeGreaterThanOrEqual(first.p50Ms);
    // rina, admin and sari were loaded by the scenarios above; everyone else costs one call.
    expect(first.sourceCalls).toBe(stack.loadUsers - 3);
    expect(first.sourceCallsPerRequest).toBeCloseTo(first.sourceCalls / first.requests, 10);

    const second = await stack.runLoad({ amount: stack.loadUsers * 2, connections: 8 });
    expect(second.failures).toBe(0);
    expect(second.sourceCalls).toBe(0);
    expect(second.hitRatio).toBe(1);
  });
});

describe('node dist/demo/demo.js', () => {
  it('stops the whole process tree with exit code 0 on Ctrl-C (SIGINT)', { timeout: 60_000 }, async () => {
    const root = join(import.meta.dirname, '..', '..');
    buildCli();
    const child = spawn(process.execPath, [join(root, 'dist', 'demo', 'demo.js'), '--port', '0', '--json'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const lines = createInterface({ input: child.stdout });
      let ready: { urls: { proxy: string; admin: string } } | undefined;
      for await (const line of lines) {
        if (line.startsWith('{')) {
          ready = JSON.parse(line) as typeof ready;
          break;
        }
      }
      expect(ready, `no ready line; stderr:\n${stderr}`).toBeDefined();
      expect((await fetch(`${ready!.urls.admin}/readyz`)).status).toBe(200);

      child.kill('SIGINT');
      const [code, signal] = await exited;
      expect({ code, signal, stderr: stderr.split('\n').filter((l) => /error/i.test(l)) }).toEqual({ code: 0, signal: null, stderr: [] });
      await expect(fetch(`${ready!.urls.proxy}/health`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
