/**
 * The `postgres` context source: the same SQL function over a direct `pg` pool
 * (`AUTHCTX_DATABASE_URL`), for deployments that reach Postgres without PostgREST.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AuthctxError } from '../errors.js';
import type { ContextSource, UserContext } from './context-source.js';
import { assertFunctionName, defaultFunctionName } from './function-name.js';
import { createSourceLookup } from './source-call.js';
import { createSourceMetrics } from './source-metrics.js';
import { parseUserContext } from './validate-context.js';

export interface PostgresSourceOptions {
  /** Postgres URL (`AUTHCTX_DATABASE_URL`). */
  connectionString: string;
  /** SQL function in schema `public` (`AUTHCTX_RPC_FUNCTION`). Default `get_user_context`. */
  functionName?: string;
  /** Bound on one lookup: connecting, waiting for a pooled client, and the statement. Default 2 000 ms. */
  timeoutMs?: number;
  /** Pool size. Default 20 (the seeds' `DB_MAX_CONNECTIONS`). */
  maxConnections?: number;
  /**
   * Longest wait for a pooled connection, connecting included (the seeds' `DB_POOL_TIMEOUT=30`);
   * `timeoutMs` bounds the whole call, so the effective wait is the smaller. Default 30 000 ms.
   */
  poolTimeoutMs?: number;
  /** An idle pooled connection is closed after this long. Default 30 000 ms. */
  idleTimeoutMs?: number;
  registry: Registry;
  logger: Logger;
}

/** pg's own timeout messages (client side) and Postgres' query_canceled (statement_timeout). */
function isTimeout(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  if (e.code === '57014') return true;
  const message = e.message ?? '';
  return /Query read timeout|timeout exceeded when trying to connect|connection timeout/i.test(message);
}

export function createPostgresSource(options: PostgresSourceOptions): ContextSource {
  const functionName = assertFunctionName(options.functionName ?? defaultFunctionName);
  if (!options.connectionString) throw new TypeError('connectionString (AUTHCTX_DATABASE_URL) is required for the postgres context source');
  const timeoutMs = options.timeoutMs ?? 2_000;
  const logger = options.logger;
  const metrics = createSourceMetrics(options.registry, 'postgres');
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 20,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    // pg-pool applies this to waiting for a free client as well as to connecting; past the
    // call's deadline a queued acquire would only run a query nobody waits for.
    connectionTimeoutMillis: Math.min(options.poolTimeoutMs ?? 30_000, timeoutMs),
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
    keepAlive: true,
    application_name: 'authctx',
  });
  // An idle client whose server went away emits here; without a listener it would crash the process.
  pool.on('error', (error) => logger.warn({ err: error }, 'context source: idle Postgres connection failed'));
  // The name is a checked identifier, quoted anyway; the email is a parameter.
  const sql = `select public."${functionName}"(p_email => $1::text) as context`;
  let warnedMissing = false;

  async function lookup(email: string): Promise<UserContext | null> {
    const result = await pool.query<{ context: unknown }>(sql, [email]);
    const reply = result.rows[0]?.context ?? null;
    return reply === null ? null : parseUserContext(reply, email);
  }

  function classify(error: unknown): AuthctxError {
    if (error instanceof AuthctxError) return error;
    if (isTimeout(error)) {
      return new AuthctxError('AUTHCTX_ERR_CONTEXT_TIMEOUT', `the auth context source did not answer within ${timeoutMs} ms`, { cause: error });
    }
    const e = error as { code?: string; message?: string };
    if (e.code === '42883') {
      if (!warnedMissing) {
        warnedMissing = true;
        logger.error({ functionName }, `context source: public.${functionName}(p_email) does not exist: run the migrations (npm run migrate)`);
      }
      return new AuthctxError('AUTHCTX_ERR_CONTEXT_UNAVAILABLE', `public.${functionName}(p_email) does not exist: run the migrations (npm run migrate)`, { cause: error });
    }
    return new AuthctxError('AUTHCTX_ERR_CONTEXT_UNAVAILABLE', `the auth context source failed: ${e.message ?? String(error)}`, { cause: error });
  }

  let closed: Promise<void> | undefined;
  return {
    kind: 'postgres',
    // pg cannot cancel a pooled query on abort; query_timeout and statement_timeout bound it.
    getUserContext: createSourceLookup({ isClosed: () => closed !== undefined, metrics, timeoutMs, classify, lookup: (email) => lookup(email) }),
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}
