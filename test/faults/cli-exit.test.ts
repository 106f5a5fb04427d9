import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namedUsers } from '../../scripts/seed.js';
import { buildCli, cliPath } from '../support/cli.js';
import { startOrigin, type Origin } from '../support/origin.js';
import { createSeededDatabase, type TestDatabase } from '../support/postgres.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import { testIssuer, testSecret } from '../support/tokens.js';
import { metricValue, timedGet, waitUntil } from './support/fault-helpers.js';

const root = new URL('../..', import.meta.url).pathname;
/** SIGTERM to exit with Redis down: the drain plus closing pools (ms), with CI slack; a leftover 2 s timer fails it. */
const exitBoundMs = 1_500;

/** The CLI as shipped (`node dist/src/main.js start`), rebuilt first when dist/ is stale. */
function builtMain(): string {
  buildCli();
  return cliPath;
}


let db: TestDatabase;
let origin: Origin;
let redis: TestRedisServer;
let child: ChildProcess | undefined;

beforeAll(async () => {
  db = await createSeededDatabase('cli_exit', { employees: 5 });
  origin = await startOrigin();
  redis = await startRedisServer();
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await origin?.close();
  await redis?.stop();
  await db?.drop();
});

describe('the CLI under broken dependencies', () => {
  it('serves with Redis killed, then exits 0 on SIGTERM with nothing left running', async () => {
    const main = builtMain();
    child = spawn(process.execPath, [main, 'start'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        METADATA_SERVER_DETECTION: 'none',
        AUTHCTX_LISTEN: '127.0.0.1:0',
        AUTHCTX_ADMIN_LISTEN: '127.0.0.1:0',
        AUTHCTX_JWT_SECRET: testSecret,
        AUTHCTX_JWT_ISSUER: testIssuer,
        AUTHCTX_SOURCE: 'postgres',
        AUTHCTX_DATABASE_URL: db.url,
        AUTHCTX_UPSTREAM_URL: origin.url,
        REDIS_URL: redis.url,
        AUTHCTX_MAX_IN_FLIGHT: '1000',
        AUTHCTX_MAX_EVENT_LOOP_DELAY: '2s',
        AUTHCTX_SHUTDOWN_GRACE: '2s',
        AUTHCTX_LOG_LEVEL: 'info',
      },
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = once(child, 'exit');

    await waitUntil('the CLI is listening', () => output.includes('authctx is listening') || child!.exitCode !== null, 10_000);
    const line = JSON.parse(output.split('\n').find((l) => l.includes('authctx is listening'))!) as { proxy: string; admin: string };
    const proxyUrl = `http://${line.proxy}`;
    const adminUrl = `http://${line.admin}`;

    expect((await timedGet(proxyUrl, namedUsers.rina)).status).toBe(200);
    await redis.kill();
    const result = await timedGet(proxyUrl, namedUsers.sari);
    expect(result.status).toBe(200);
    expect(result.ms).toBeLessThan(1_000);
    await waitUntil('the lost subscription is reported', async () => (await metricValue(adminUrl, 'authctx_invalidation_subscribed', { channel: 'redis' })) === 0);
    expect(await metricValue(adminUrl, 'authctx_invalidation_subscribed', { channel: 'redis' })).toBe(0);
    expect(await metricValue(adminUrl, 'authctx_invalidation_subscribed', { channel: 'postgres' })).toBe(1);

    const start = performance.now();
    child.kill('SIGTERM');
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    expect({ code, signal }, output.slice(-2_000)).toEqual({ code: 0, signal: null });
    // Exiting on its own means no socket, server or timer was left holding the event loop.
    expect(performance.now() - start, output.slice(-3000)).toBeLessThan(exitBoundMs);
  });
});
