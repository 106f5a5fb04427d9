/**
 * The "before" of the seeds: a backend that builds the auth context itself on every
 * request — verify the token, then the per-table queries of
 * migrations/legacy/legacy_queries.sql one round trip each (employee, assignments,
 * slots, regions), then the zone lookup that went to BigQuery, simulated by a delay
 * (`LEGACY_ZONE_DELAY_MS`, default 150: the seeds' "+100-300ms").
 *
 *   PORT=8000 DATABASE_URL=postgres://… AUTHCTX_JWT_SECRET=… node dist/bench/servers/legacy-backend.js
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jwtVerify } from 'jose';
import pg from 'pg';

const port = Number(process.env.PORT ?? 8000);
const zoneDelayMs = Number(process.env.LEGACY_ZONE_DELAY_MS ?? 150);
const secret = new TextEncoder().encode(process.env.AUTHCTX_JWT_SECRET ?? '');
const issuer = process.env.AUTHCTX_JWT_ISSUER;

function legacyQueries(): Map<string, string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6 && !existsSync(join(dir, 'migrations', 'legacy', 'legacy_queries.sql')); i++) dir = dirname(dir);
  const text = readFileSync(join(dir, 'migrations', 'legacy', 'legacy_queries.sql'), 'utf8');
  const queries = new Map<string, string>();
  for (const part of text.split(/^-- query: /m).slice(1)) {
    const name = part.slice(0, part.indexOf('\n')).trim();
    const sql = part
      .split('\n')
      .slice(1)
      .filter((line) => !line.startsWith('--'))
      .join('\n')
      .trim()
      .replace(/;$/, '');
    queries.set(name, sql);
  }
  return queries;
}

const queries = legacyQueries();
const sql = (name: string): string => {
  const text = queries.get(name);
  if (text === undefined) throw new Error(`legacy_queries.sql has no query "${name}"`);
  return text;
};
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DB_MAX_CONNECTIONS ?? 20) });
pool.on('error', (error) => process.stderr.write(`legacy-backend: idle connection failed: ${error.message}\n`));

interface Employee {
  id: string;
  email_normalized: string;
  role: string;
  region_code: string;
  active: boolean;
}

async function buildContext(email: string): Promise<Record<string, unknown> | null> {
  const now = new Date();
  const employee = (await pool.query<Employee>(sql('employee'), [email.trim().toLowerCase()])).rows[0];
  if (!employee || !employee.active) return null;
  const assignments = (await pool.query<{ scope: string; region_code: string | null; slot_code: string | null }>(sql('assignments'), [employee.id, now])).rows;
  const slotCodes = assignments.flatMap((a) => (a.slot_code ? [a.slot_code] : []));
  const slots = (await pool.query<{ code: string; region_code: string }>(sql('slots'), [slotCodes])).rows;
  const scope = assignments.some((a) => a.scope === 'all') ? 'all' : assignments.some((a) => a.scope === 'region') ? 'region' : assignments.length > 0 ? 'slot' : 'none';
  const inScope = new Set([employee.region_code, ...assignments.flatMap((a) => (a.region_code ? [a.region_code] : [])), ...slots.map((s) => s.region_code)]);
  const regions = (await pool.query<{ code: string }>(sql('regions'), [scope === 'all' ? null : [...inScope]])).rows.map((r) => r.code);
  // The zone lookup the seeds ran against BigQuery inside the auth flow.
  await new Promise((resolve) => setTimeout(resolve, zoneDelayMs));
  return { user_id: employee.id, email: employee.email_normalized, role: employee.role, region: employee.region_code, regions, scope, slots: slotCodes.sort() };
}

const server = createServer((req, res) => {
  const auth = req.headers.authorization ?? '';
  const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
  const reply = (status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  };
  jwtVerify(token, secret, { algorithms: ['HS256'], audience: 'authenticated', ...(issuer ? { issuer } : {}) })
    .then(({ payload }) => buildContext(String(payload.email ?? '')))
    .then(
      (context) => (context ? reply(200, { ok: true, context }) : reply(403, { code: 'forbidden' })),
      (error: unknown) => reply((error as { code?: string }).code?.startsWith('ERR_J') ? 401 : 500, { code: 'error', message: String(error) }),
    );
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void pool.end().then(() => process.exit(0)));
});
