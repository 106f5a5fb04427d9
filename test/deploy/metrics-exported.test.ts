import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../support/stack.js';
import { signToken } from '../support/tokens.js';
import { namedUsers } from '../../scripts/seed.js';
import { baseMetricName, collectMetricRefs } from './metric-refs.js';

let stack: TestStack;
let exposition: string;

beforeAll(async () => {
  stack = await startTestStack({
    label: 'metrics_exported',
    employees: 20,
    redis: true,
    env: { AUTHCTX_ZONES_SOURCE: 'file', AUTHCTX_ZONES_FILE: fileURLToPath(new URL('../../config/zones.example.json', import.meta.url)) },
  });
  // Traffic that touches every part: a miss, a hit, an unknown user, a zone refresh, an invalidation.
  for (const email of [namedUsers.rina, namedUsers.rina, 'nobody@example.com']) await (await stack.get(email)).arrayBuffer();
  await stack.admin('/api/admin/zones/refresh');
  await stack.admin(`/api/admin/cache/invalidate/${namedUsers.rina}`);
  exposition = await stack.metrics();
});

afterAll(async () => {
  await stack?.close();
});

/** Sample names in a Prometheus text exposition (version 0.0.4). */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    names.add(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]);
  }
  return names;
}

describe('metrics', () => {
  it('exports every metric the dashboard and the alerts query', async () => {
    const refs = await collectMetricRefs();
    const exported = exportedNames(exposition);
    const missing = [...refs.all].filter((name) => !exported.has(name) && !exported.has(baseMetricName(name)));
    expect(missing).toEqual([]);
  });

  it('serves a valid Prometheus text exposition with only authctx_ names', () => {
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)( -?\d+)?$/;
    const typed = new Set<string>();
    for (const line of exposition.split('\n')) {
      if (line === '') continue;
      const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (type) {
        typed.add(type[1]!);
        continue;
      }
      if (line.startsWith('# HELP ')) continue;
      expect(line, 'sample line').toMatch(sample);
      expect(line.startsWith('authctx_'), line).toBe(true);
    }
    expect(typed.size).toBeGreaterThan(20);
  });

  it('labels no series with an email, a token or a path', async () => {
    const token = await signToken({ email: namedUsers.sari });
    for (const line of exposition.split('\n')) {
      if (line.startsWith('#')) continue;
      expect(line).not.toMatch(/@|Bearer|\/api\//);
      expect(line).not.toContain(token.slice(0, 20));
    }
  });
});
