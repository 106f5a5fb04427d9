/** The demo's printout: plain text, one idea per line, nothing that needs a wide terminal. */
import type { DemoLoadResult } from './load.js';
import type { DemoStack } from './stack.js';
import { demoTokenLifetimeSec } from './tokens.js';

export function describeStack(stack: DemoStack): string {
  const lines = [
    '',
    'authctx demo is running',
    '',
    `  proxy     ${stack.urls.proxy}    authctx: verifies the token, injects X-User-*, forwards`,
    `  admin     ${stack.urls.admin}    /metrics, /readyz, /api/admin/cache/*`,
    `  backend   ${stack.urls.backend}    demo backend: echoes the X-User-* headers it receives`,
    `  database  ${stack.urls.database}    PGlite, ${stack.database.employees} seeded employees`,
  ];
  for (const moved of stack.movedPorts) {
    lines.push(`  note: port ${moved.wanted} (${moved.listener}) was taken; using ${moved.port}`);
  }
  lines.push('', `Tokens (HS256 with the public demo secret, valid ${demoTokenLifetimeSec / 3600} h). Paste into your shell:`, '');
  for (const token of stack.tokens) {
    lines.push(`  # ${token.email}: ${token.about}`, `  export ${token.env}=${token.token}`);
  }
  lines.push('', 'Then try:', '');
  stack.scenarios.forEach((scenario, i) => {
    lines.push(`  # ${i + 1}. ${scenario.name}: ${scenario.note} (expect ${scenario.expect.status})`, `  ${scenario.curl}`, '');
  });
  lines.push('Load test: npm run demo -- --load      Stop: Ctrl-C', '');
  return lines.join('\n');
}

/** One progress line, `[#####-----]  5/10 s   41,234 requests`. */
export function progressLine(elapsedSec: number, durationSec: number, requests: number): string {
  const width = 30;
  const done = Math.max(0, Math.min(width, Math.round((elapsedSec / durationSec) * width)));
  return `  [${'#'.repeat(done)}${'-'.repeat(width - done)}] ${elapsedSec.toFixed(0).padStart(2)}/${durationSec} s  ${requests.toLocaleString('en-US').padStart(9)} requests`;
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

export function describeLoad(result: DemoLoadResult): string {
  const hitPct = Number.isFinite(result.hitRatio) ? `${(result.hitRatio * 100).toFixed(2)} %` : 'n/a';
  return [
    '',
    `Load: ${result.durationSec.toFixed(1)} s, ${result.connections} connections, tokens of ${result.users} seeded users, GET through authctx`,
    '',
    `  requests            ${result.requests.toLocaleString('en-US')} (${result.failures.toLocaleString('en-US')} failed)`,
    `  requests/s          ${Math.round(result.requestsPerSec).toLocaleString('en-US')}`,
    `  latency p50 / p99   ${fixed(result.p50Ms, 1)} ms / ${fixed(result.p99Ms, 1)} ms   (token check + context + forward)`,
    `  cache hit ratio     ${hitPct}   (authctx_cache_requests_total, memory tier)`,
    `  source calls        ${result.sourceCalls.toLocaleString('en-US')}   (authctx_context_source_requests_total)`,
    `  DB calls / request  ${fixed(result.sourceCallsPerRequest, 4)}   (the seeds: 4-5 without a cache, 0.1 with one)`,
    '',
    "Each user's first request loads the context with one get_user_context() call; the later",
    'ones are memory hits until the TTL (15 m) ends.',
    '',
  ].join('\n');
}
