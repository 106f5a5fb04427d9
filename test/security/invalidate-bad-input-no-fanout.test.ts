import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidationChannel } from '../../src/invalidation/redis-fan-out.js';
import { startTestStack, type TestStack } from '../support/stack.js';
import { namedUsers } from '../../scripts/seed.js';

let stack: TestStack;
let listener: Redis;

beforeAll(async () => {
  stack = await startTestStack({ label: 'invalidate_fanout', employees: 5, redis: true });
  listener = new Redis(stack.redis!.url);
  await listener.subscribe(invalidationChannel);
});

afterAll(async () => {
  listener?.disconnect();
  await stack?.close();
});

describe('admin invalidate with bad input', () => {
  it('answers 400 and publishes nothing; a valid invalidate is the first message on the channel', async () => {
    const messages: string[] = [];
    listener.on('message', (_channel: string, text: string) => messages.push(text));
    for (const bad of ['a@b@c', '*', 'x'.repeat(10_000), '@example.com', 'rina@', 'ri na@example.com']) {
      const res = await stack.admin(`/api/admin/cache/invalidate/${encodeURIComponent(bad)}`);
      expect(res.status, bad.slice(0, 12)).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('AUTHCTX_ERR_ADMIN_BAD_EMAIL');
    }
    // Pub/sub keeps order per connection: the valid message arriving first proves that none of
    // the bad ones was ever published.
    const arrived = once(listener, 'message');
    expect((await stack.admin(`/api/admin/cache/invalidate/${namedUsers.rina}`)).status).toBe(200);
    await arrived;
    expect(messages).toHaveLength(1);
    expect(JSON.parse(messages[0]!)).toMatchObject({ email: 'rina@example.com' });
  });
});
