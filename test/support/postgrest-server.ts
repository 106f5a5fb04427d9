/**
 * A local server speaking PostgREST's wire protocol as supabase-js uses it, backed by the
 * real Postgres (PostgREST cannot run here; DESIGN.md "Test environment"):
 *
 * - `POST /rest/v1/rpc/<fn>` with a JSON object of named arguments runs the real SQL function
 *   `public.<fn>(name => value, …)` as `service_role` and answers its value as JSON (a scalar
 *   jsonb result is the JSON value itself, `null` for SQL null); an unknown function is
 *   404 `PGRST202`, as PostgREST says when the function is not in its schema cache.
 * - `GET /rest/v1/<table>?select=…&col=op.value…` for the context tables, with the filters
 *   `eq neq gt gte lt lte is in`, `or=(…)` (one level), `order`, `limit`, `offset`, and
 *   `Accept: application/vnd.pgrst.object+json` (`.single()`), translated into parameterized
 *   SQL over whitelisted tables and columns, run as `service_role` (so grants and RLS apply).
 *
 * Requests need `apikey: <serviceRoleKey>` (and, when sent, `Authorization: Bearer <same>`).
 * Tests can count calls and connections, delay answers, rewrite RPC results, or make the
 * next request fail.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';

export interface PostgrestServer {
  /** Base URL, the `SUPABASE_URL` for supabase-js (it appends `/rest/v1`). */
  readonly url: string;
  readonly rpcCalls: number;
  readonly tableCalls: number;
  /** TCP connections accepted so far (keep-alive reuse keeps this low). */
  readonly connections: number;
  /** Waits this long before handling each request. Default 0. */
  delayMs: number;
  /** Applied to every RPC result before it is sent (e.g. to swap the email). */
  rewriteRpc: ((value: unknown) => unknown) | undefined;
  /** The next request (any route) gets this status and body instead of its answer. */
  failNext(status: number, body: unknown): void;
  resetCounters(): void;
  close(): Promise<void>;
}

export interface PostgrestServerOptions {
  databaseUrl: string;
  serviceRoleKey: string;
  /** Role the requests run as. Default `service_role`. */
  role?: string;
}

const tables: Record<string, readonly string[]> = {
  regions: ['code', 'name'],
  employees: ['id', 'email', 'email_normalized', 'role', 'region_code', 'active', 'created_at'],
  slots: ['code', 'region_code', 'name'],
  assignments: ['id', 'employee_id', 'scope', 'region_code', 'slot_code', 'valid_from', 'valid_to'],
};

const comparisons: Record<string, string> = { eq: '=', neq: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };
const isValues: Record<string, string> = { null: 'null', true: 'true', false: 'false', unknown: 'unknown' };

class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: { code: string; details: string | null; hint: string | null; message: string },
  ) {
    super(body.message);
  }
}

function badRequest(code: string, message: string, details: string | null = null): RequestError {
  return new RequestError(400, { code, details, hint: null, message });
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Splits on commas outside double quotes and parentheses (PostgREST's list syntax). */
function splitList(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const ch of text) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '(') depth++;
    else if (!quoted && ch === ')') depth--;
    if (ch === ',' && !quoted && depth === 0) {
      items.push(current);
      current = '';
    } else current += ch;
  }
  items.push(current);
  return items;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

export async function startPostgrestServer(options: PostgrestServerOptions): Promise<PostgrestServer> {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10 });
  pool.on('error', () => {
    // An idle client lost its connection (a test dropped the database): the pool replaces it.
  });
  const role = options.role ?? 'service_role';
  let rpcCalls = 0;
  let tableCalls = 0;
  let connections = 0;
  let nextFailure: { status: number; body: unknown } | undefined;

  /** Runs `sql` in a transaction as the API role, like PostgREST does per request. */
  async function asRole<R extends pg.QueryResultRow>(sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await client.query(`set local role ${quoteIdent(role)}`);
      const result = await client.query<R>(sql, params);
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback');
      throw error;
    } finally {
      client.release();
    }
  }

  function fromPostgres(error: unknown): RequestError {
    const e = error as { code?: string; message?: string; detail?: string; hint?: string };
    const status = e.code === '42501' ? 403 : e.code === '42883' || e.code === '42P01' ? 404 : e.code === '57014' ? 500 : 400;
    return new RequestError(status, {
      code: e.code ?? 'XX000',
      details: e.detail ?? null,
      hint: e.hint ?? null,
      message: e.message ?? String(error),
    });
  }

  async function rpc(fn: string, body: string, res: ServerResponse): Promise<void> {
    rpcCalls++;
    let args: unknown;
    try {
      args = body === '' ? {} : JSON.parse(body);
    } catch {
      throw badRequest('PGRST102', 'Empty or invalid json');
    }
    if (args === null || typeof args !== 'object' || Array.isArray(args)) throw badRequest('PGRST102', 'Empty or invalid json');
    const names = Object.keys(args).sort();
    const found = await pool.query(
      `select 1 from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'public' and p.proname = $1 and p.pronargs = $2
         and coalesce((select array_agg(a order by a) from unnest(p.proargnames[1:p.pronargs]) a), '{}') = $3::text[]`,
      [fn, names.length, names],
    );
    if (found.rowCount === 0) {
      throw new RequestError(404, {
        code: 'PGRST202',
        details: `Searched for the function public.${fn} with parameter${names.length === 1 ? '' : 's'} ${names.join(', ')} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
        hint: null,
        message: `Could not find the function public.${fn}(${names.join(', ')}) in the schema cache`,
      });
    }
    const values = names.map((name) => {
      const value = (args as Record<string, unknown>)[name];
      return value === null || typeof value === 'string' ? value : JSON.stringify(value);
    });
    const call = `public.${quoteIdent(fn)}(${names.map((name, i) => `${quoteIdent(name)} => $${i + 1}`).join(', ')})`;
    let result: pg.QueryResult<{ value: unknown }>;
    try {
      result = await asRole<{ value: unknown }>(`select to_jsonb(${call}) as value`, values);
    } catch (error) {
      throw fromPostgres(error);
    }
    const value = result.rows[0]?.value ?? null;
    send(res, 200, JSON.stringify(server.rewriteRpc ? server.rewriteRpc(value) : value));
  }

  function condition(column: string, expression: string, params: unknown[], columns: readonly string[]): string {
    if (!columns.includes(column)) throw badRequest('42703', `column ${column} does not exist`);
    const dot = expression.indexOf('.');
    if (dot < 0) throw badRequest('PGRST100', `failed to parse filter (${expression})`);
    const op = expression.slice(0, dot);
    const operand = expression.slice(dot + 1);
    const col = quoteIdent(column);
    if (op in comparisons) {
      params.push(unquote(operand));
      return `${col} ${comparisons[op]} $${params.length}`;
    }
    if (op === 'is') {
      const literal = isValues[operand.toLowerCase()];
      if (!literal) throw badRequest('PGRST100', `failed to parse filter (is.${operand})`);
      return `${col} is ${literal}`;
    }
    if (op === 'in') {
      if (!operand.startsWith('(') || !operand.endsWith(')')) throw badRequest('PGRST100', `failed to parse filter (in.${operand})`);
      const inner = operand.slice(1, -1);
      const items = inner === '' ? [] : splitList(inner).map(unquote);
      if (items.length === 0) return 'false';
      const placeholders = items.map((item) => {
        params.push(item);
        return `$${params.length}`;
      });
      return `${col} in (${placeholders.join(', ')})`;
    }
    throw badRequest('PGRST100', `unsupported operator ${op}`);
  }

  async function table(name: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    tableCalls++;
    const columns = tables[name];
    if (!columns) {
      throw new RequestError(404, {
        code: 'PGRST205',
        details: null,
        hint: null,
        message: `Could not find the table 'public.${name}' in the schema cache`,
      });
    }
    const params: unknown[] = [];
    const where: string[] = [];
    let select = '*';
    let order = '';
    let limit = '';
    for (const [key, value] of url.searchParams) {
      if (key === 'select') {
        const wanted = value.split(',').map((c) => c.trim());
        if (wanted.length === 1 && wanted[0] === '*') continue;
        for (const c of wanted) if (!columns.includes(c)) throw badRequest('42703', `column ${name}.${c} does not exist`);
        select = wanted.map(quoteIdent).join(', ');
      } else if (key === 'or') {
        if (!value.startsWith('(') || !value.endsWith(')')) throw badRequest('PGRST100', 'failed to parse logic tree');
        const parts = splitList(value.slice(1, -1)).map((part) => {
          const dot = part.indexOf('.');
          return condition(part.slice(0, dot), part.slice(dot + 1), params, columns);
        });
        where.push(`(${parts.join(' or ')})`);
      } else if (key === 'order') {
        order = ` order by ${value
          .split(',')
          .map((term) => {
            const [col = '', dir = 'asc'] = term.split('.');
            if (!columns.includes(col) || !['asc', 'desc'].includes(dir)) throw badRequest('PGRST100', `bad order ${term}`);
            return `${quoteIdent(col)} ${dir}`;
          })
          .join(', ')}`;
      } else if (key === 'limit' || key === 'offset') {
        if (!/^\d+$/.test(value)) throw badRequest('PGRST100', `bad ${key}`);
        limit += ` ${key} ${value}`;
      } else {
        where.push(condition(key, value, params, columns));
      }
    }
    const sql = `select coalesce(json_agg(t), '[]'::json) as rows from (select ${select} from public.${quoteIdent(name)}${
      where.length ? ` where ${where.join(' and ')}` : ''
    }${order}${limit}) t`;
    let rows: unknown[];
    try {
      rows = (await asRole<{ rows: unknown[] }>(sql, params)).rows[0]?.rows ?? [];
    } catch (error) {
      throw fromPostgres(error);
    }
    if ((req.headers.accept ?? '').startsWith('application/vnd.pgrst.object+json')) {
      if (rows.length !== 1) {
        throw new RequestError(406, {
          code: 'PGRST116',
          details: `The result contains ${rows.length} rows`,
          hint: null,
          message: 'Cannot coerce the result to a single JSON object',
        });
      }
      send(res, 200, rows[0]);
      return;
    }
    send(res, 200, rows, { 'content-range': rows.length ? `0-${rows.length - 1}/*` : '*/*' });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (server.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, server.delayMs));
    if (nextFailure) {
      const failure = nextFailure;
      nextFailure = undefined;
      if (req.url?.startsWith('/rest/v1/rpc/')) rpcCalls++;
      else tableCalls++;
      send(res, failure.status, failure.body);
      return;
    }
    const authorization = req.headers.authorization;
    if (req.headers.apikey !== options.serviceRoleKey || (authorization !== undefined && authorization !== `Bearer ${options.serviceRoleKey}`)) {
      send(res, 401, { code: 'PGRST301', details: null, hint: null, message: 'No suitable key or wrong key type' });
      return;
    }
    const profile = req.headers['content-profile'] ?? req.headers['accept-profile'];
    if (profile !== undefined && profile !== 'public') {
      send(res, 406, { code: 'PGRST106', details: null, hint: 'Only the following schemas are exposed: public', message: 'Invalid schema' });
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const rpcMatch = /^\/rest\/v1\/rpc\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(url.pathname);
    const tableMatch = /^\/rest\/v1\/([A-Za-z_][A-Za-z0-9_]*)$/.exec(url.pathname);
    try {
      if (req.method === 'POST' && rpcMatch?.[1]) await rpc(rpcMatch[1], body, res);
      else if (req.method === 'GET' && tableMatch?.[1]) await table(tableMatch[1], url, req, res);
      else send(res, 404, { code: 'PGRST000', details: null, hint: null, message: `no route ${req.method} ${url.pathname}` });
    } catch (error) {
      if (error instanceof RequestError) send(res, error.status, error.body);
      else send(res, 500, { code: 'XX000', details: null, hint: null, message: String(error) });
    }
  }

  const http = createServer((req, res) => {
    res.on('error', (error) => {
      // The client went away (it timed out): nothing to answer.
      void error;
    });
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { code: 'XX000', details: null, hint: null, message: String(error) });
    });
  });
  http.on('connection', () => {
    connections++;
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;

  const server: PostgrestServer = {
    url: `http://127.0.0.1:${port}`,
    get rpcCalls() {
      return rpcCalls;
    },
    get tableCalls() {
      return tableCalls;
    },
    get connections() {
      return connections;
    },
    delayMs: 0,
    rewriteRpc: undefined,
    failNext(status, body) {
      nextFailure = { status, body };
    },
    resetCounters() {
      rpcCalls = 0;
      tableCalls = 0;
      connections = 0;
    },
    async close() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await pool.end();
    },
  };
  return server;
}
