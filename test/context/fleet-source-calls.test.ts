import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../support/app.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { signToken } from '../support/tokens.js';
import { generatedEmail } from '../../scripts/seed.js';
import { metricValue, waitUntil } from '../faults/support/fault-helpers.js';

let stack: TestStack;
let second: RunningApp;

beforeAll(async () => {
  // A loaded CI machine must not turn a slow Redis write into a second source call: this test
  // is about the lease, so Redis commands get a generous timeout.
  const env = { AUTHCTX_REDIS_COMMAND_TIMEOUT: '2s' };
  stack = await startTestStack({ label: 'fleet_source_calls', employees: 60, source: 'supabase', redis: true, env });
  // A second replica on the same Redis and the same source.
  second = await startApp({
    AUTHCTX_SOURCE: 'supabase',
    SUPABASE_URL: stack.postgrest!.url,
    SUPABASE_SERVICE_ROLE_KEY: 'test-service-role-key',
    AUTHCTX_DATABASE_URL: undefined,
    AUTHCTX_UPSTREAM_URL: stack.origin.url,
    REDIS_URL: stack.redis!.url,
    ...env,
  });
  // Until a replica's Redis connection is up it cannot coordinate (a lease it cannot ask for
  // is taken as granted): start once both are connected.
  for (const replica of [stack.proxy, second]) {
    await waitUntil('the replica is connected to Redis', async () => (await metricValue(replica.adminUrl, 'authctx_redis_connected', { client: 'cache' })) === 1);
  }
});

afterAll(async () => {
  await second?.stop();
  await stack?.close();
});

describe('source calls across replicas', () => {
  it('makes one source call per user when two replicas on one Redis miss at the same moment', async () => {
    // The source answers slowly, so both replicas miss while the first call is still running.
    stack.postgrest!.delayMs = 100;
    stack.postgrest!.resetCounters();
    const emails = Array.from({ length: 10 }, (_, i) => generatedEmail(i + 1)).filter((_, i) => (i + 1) % 17 !== 0);
    const requests = [];
    for (const email of emails) {
      const token = await signToken({ email });
      for (const replica of [stack.proxy, second, stack.proxy, second]) {
        requests.push(fetch(`${replica.proxyUrl}/api/x`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => {
          await r.arrayBuffer();
          return r.status;
        }));
      }
    }
    expect(new Set(await Promise.all(requests))).toEqual(new Set([200]));
    expect(stack.postgrest!.rpcCalls).toBe(emails.length);
  });
});
