/**
 * The `supabase` context source: `get_user_context(p_email)` through supabase-js `rpc()`
 * with the service-role key, over a keep-alive pool with bounded connection retries.
 * While the function is not installed (PostgREST PGRST202 / Postgres 42883) it assembles
 * the same context from the legacy per-table queries, warning once and counting each use.
 */
import { createClient, type SupabaseClient, type SupabaseClientOptions } from '@supabase/supabase-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AuthctxError } from '../errors.js';
import type { ContextSource, UserContext } from './context-source.js';
import { assertFunctionName, defaultFunctionName } from './function-name.js';
import { fetchLegacyContext } from './legacy-fallback.js';
import { createPooledFetch } from './pooled-fetch.js';
import { PostgrestReplyError, unwrapReply } from './postgrest-reply.js';
import { createSourceLookup } from './source-call.js';
import { createSourceMetrics } from './source-metrics.js';
import { parseUserContext } from './validate-context.js';

export interface SupabaseSourceOptions {
  /** Project URL (`SUPABASE_URL`); supabase-js appends `/rest/v1`. */
  url: string;
  /** Service-role key (`SUPABASE_SERVICE_ROLE_KEY`); only service_role may execute the function. */
  serviceRoleKey: string;
  /** SQL function in schema `public` (`AUTHCTX_RPC_FUNCTION`). Default `get_user_context`. */
  functionName?: string;
  /** Bound on one lookup, retries and fallback queries included. Default 2 000 ms. */
  timeoutMs?: number;
  /** Keep-alive sockets to PostgREST. Default 20 (the seeds' `DB_MAX_CONNECTIONS`). */
  maxConnections?: number;
  /**
   * Longest wait for a pooled connection, connecting included (the seeds' `DB_POOL_TIMEOUT=30`):
   * the socket connect timeout. A request queued behind busy sockets is bounded by `timeoutMs`.
   * Default 30 000 ms.
   */
  poolTimeoutMs?: number;
  /** An idle keep-alive socket is closed after this long. Default 10 000 ms. */
  idleTimeoutMs?: number;
  /** Extra attempts when the connection fails (refused, reset). Default 2. */
  retries?: number;
  /** First retry backoff, doubling per retry. Default 50 ms. */
  retryBackoffMs?: number;
  /** Use the legacy per-table queries while the function is missing. Default true. */
  legacyFallback?: boolean;
  /**
   * After the function was found missing, go straight to the legacy queries for this long
   * before asking PostgREST again (so running the migration takes effect without a restart).
   * Default 60 000 ms.
   */
  rpcRecheckMs?: number;
  registry: Registry;
  logger: Logger;
  /** Clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

type RealtimeTransport = NonNullable<NonNullable<SupabaseClientOptions<'public'>['realtime']>['transport']>;

/**
 * authctx never opens a Realtime socket, but supabase-js builds its Realtime client eagerly
 * and, on Node 20 (no global WebSocket), refuses to start without a transport class.
 */
class RealtimeNotUsed {
  constructor() {
    throw new Error('authctx does not use Supabase Realtime');
  }
}

export function createSupabaseSource(options: SupabaseSourceOptions): ContextSource {
  const functionName = assertFunctionName(options.functionName ?? defaultFunctionName);
  if (!options.url) throw new TypeError('url (SUPABASE_URL) is required for the supabase context source');
  if (!options.serviceRoleKey) {
    throw new TypeError('serviceRoleKey (SUPABASE_SERVICE_ROLE_KEY) is required for the supabase context source');
  }
  const timeoutMs = options.timeoutMs ?? 2_000;
  const now = options.now ?? Date.now;
  const rpcRecheckMs = options.rpcRecheckMs ?? 60_000;
  const legacyFallback = options.legacyFallback ?? true;
  const logger = options.logger;
  const metrics = createSourceMetrics(options.registry, 'supabase');
  const pooled = createPooledFetch({
    maxConnections: options.maxConnections ?? 20,
    idleTimeoutMs: options.idleTimeoutMs ?? 10_000,
    connectTimeoutMs: Math.min(options.poolTimeoutMs ?? 30_000, timeoutMs),
    retries: options.retries ?? 2,
    retryBackoffMs: options.retryBackoffMs ?? 50,
    onRetry: (attempt, error) => logger.debug({ attempt, err: error }, 'context source: connection failed, retrying'),
  });
  const client: SupabaseClient = createClient(options.url, options.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    global: { fetch: pooled.fetch },
    realtime: { transport: RealtimeNotUsed as unknown as RealtimeTransport },
  });

  let missingSinceMs: number | undefined;
  let warnedMissing = false;

  function noteMissing(): void {
    missingSinceMs = now();
    if (warnedMissing) return;
    warnedMissing = true;
    logger.warn(
      { functionName },
      `context source: public.${functionName}(p_email) is not installed; serving contexts from the legacy per-table queries (slower) until it is: run the migrations (npm run migrate)`,
    );
  }

  async function viaRpc(email: string, signal: AbortSignal): Promise<UserContext | null> {
    const reply = unwrapReply(
      await client.rpc(functionName, { p_email: email }).abortSignal(signal),
      `rpc ${functionName}`,
    );
    return reply === null ? null : parseUserContext(reply, email);
  }

  async function viaLegacy(email: string, signal: AbortSignal): Promise<UserContext | null> {
    const context = await fetchLegacyContext(client, email, { signal, nowMs: now() });
    metrics.legacyFallback();
    return context;
  }

  async function lookup(email: string, signal: AbortSignal): Promise<UserContext | null> {
    if (legacyFallback && missingSinceMs !== undefined && now() - missingSinceMs < rpcRecheckMs) {
      return viaLegacy(email, signal);
    }
    try {
      const context = await viaRpc(email, signal);
      missingSinceMs = undefined;
      return context;
    } catch (error) {
      if (!(error instanceof PostgrestReplyError) || !error.functionMissing || !legacyFallback) throw error;
      noteMissing();
      return viaLegacy(email, signal);
    }
  }

  let closed = false;
  return {
    kind: 'supabase',
    getUserContext: createSourceLookup({ isClosed: () => closed, metrics, timeoutMs, classify: classifySupabaseError, lookup }),
    async close() {
      closed = true;
      await pooled.close();
    },
  };
}

/** Maps a failure that is not a timeout or an abort to the error the port promises. */
function classifySupabaseError(error: unknown): AuthctxError {
  if (error instanceof AuthctxError) return error;
  if (error instanceof PostgrestReplyError) {
    if (error.malformedBody) {
      return new AuthctxError('AUTHCTX_ERR_CONTEXT_MALFORMED', `the auth context source returned a malformed reply: ${error.message}`, { cause: error });
    }
    const hint = error.functionMissing ? ' (run the migrations: npm run migrate)' : '';
    return new AuthctxError('AUTHCTX_ERR_CONTEXT_UNAVAILABLE', `the auth context source failed: ${error.message}${hint}`, { cause: error });
  }
  return new AuthctxError('AUTHCTX_ERR_CONTEXT_UNAVAILABLE', `the auth context source failed: ${String(error)}`, { cause: error });
}
