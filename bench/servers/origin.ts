/**
 * The benchmark's origin, the same for every scenario: a small JSON answer per request.
 * It counts the requests that arrived without `X-User-Role`/`X-User-Id`
 * (`GET /__bench/stats`), so a proxy that stops injecting context shows up in the
 * report instead of as a fast run; `ORIGIN_REQUIRE_HEADER=x-user-role` makes such a
 * request a 500.
 * `GET /api/leaderboard` spends `ORIGIN_SLOW_MS` (default 20) of CPU, like the seeds'
 * leaderboard query, for the cached-route scenario.
 *
 *   PORT=8000 node dist/bench/servers/origin.js
 */
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8000);
const requireHeader = process.env.ORIGIN_REQUIRE_HEADER?.toLowerCase() || undefined;
const slowMs = Number(process.env.ORIGIN_SLOW_MS ?? 20);

function spin(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) x = (x * 31 + 7) % 1_000_003;
  return x;
}

const stats = { requests: 0, withUserId: 0, withRole: 0 };

const server = createServer((req, res) => {
  if (req.url === '/__bench/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  stats.requests++;
  if (req.headers['x-user-id'] !== undefined) stats.withUserId++;
  if (req.headers['x-user-role'] !== undefined && req.headers['x-user-role'] !== '') stats.withRole++;
  if (requireHeader !== undefined && req.headers[requireHeader] === undefined) {
    res.writeHead(500, { 'content-type': 'application/json' }).end(`{"error":"missing ${requireHeader}"}`);
    return;
  }
  let body: string;
  if (req.url?.startsWith('/api/leaderboard')) {
    body = JSON.stringify({ region: req.headers['x-user-region'] ?? null, score: spin(slowMs) });
  } else {
    body = JSON.stringify({ ok: true, user: req.headers['x-user-id'] ?? null, role: req.headers['x-user-role'] ?? null });
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
