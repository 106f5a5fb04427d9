/**
 * The `fetch` handed to supabase-js: a keep-alive undici pool of bounded size, and bounded
 * retries with exponential backoff when the connection itself fails (refused, reset,
 * socket closed). The RPC and the legacy queries only read, so resending is safe.
 */
import { Agent, fetch as undiciFetch } from 'undici';

export interface PooledFetchOptions {
  /** Sockets per origin. Default 20 (the seeds' `DB_MAX_CONNECTIONS`). */
  maxConnections?: number;
  /** An idle keep-alive socket is closed after this long. Default 10 000 ms. */
  idleTimeoutMs?: number;
  /** Gives up establishing a socket after this long. Default 5 000 ms. */
  connectTimeoutMs?: number;
  /** Extra attempts after a connection error. Default 2. */
  retries?: number;
  /** First backoff; doubles per retry. Default 50 ms. */
  retryBackoffMs?: number;
  /** Called before each retry (for logs). */
  onRetry?: (attempt: number, error: unknown) => void;
}

export interface PooledFetch {
  readonly fetch: typeof globalThis.fetch;
  close(): Promise<void>;
}

const connectionErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTCONN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** True when `error` (or its cause chain, or an AggregateError member) is a failed connection. */
export function isConnectionError(error: unknown, depth = 0): boolean {
  if (depth > 4 || error === null || typeof error !== 'object') return false;
  const e = error as { code?: unknown; cause?: unknown; errors?: unknown; name?: unknown };
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return false;
  if (typeof e.code === 'string' && connectionErrorCodes.has(e.code)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isConnectionError(inner, depth + 1))) return true;
  return isConnectionError(e.cause, depth + 1);
}

function sleep(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function createPooledFetch(options: PooledFetchOptions = {}): PooledFetch {
  const idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  const agent = new Agent({
    connections: options.maxConnections ?? 20,
    keepAliveTimeout: idleTimeoutMs,
    keepAliveMaxTimeout: idleTimeoutMs,
    connect: { timeout: options.connectTimeoutMs ?? 5_000 },
  });
  const retries = options.retries ?? 2;
  const backoffMs = options.retryBackoffMs ?? 50;

  const pooledFetch = async (input: unknown, init?: RequestInit): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await undiciFetch(input as Parameters<typeof undiciFetch>[0], {
          ...(init as Parameters<typeof undiciFetch>[1]),
          dispatcher: agent,
        });
        return response as unknown as Response;
      } catch (error) {
        if (attempt >= retries || !isConnectionError(error) || init?.signal?.aborted) throw error;
        options.onRetry?.(attempt + 1, error);
        await sleep(backoffMs * 2 ** attempt, init?.signal);
      }
    }
  };

  let closed: Promise<void> | undefined;
  return {
    fetch: pooledFetch as typeof globalThis.fetch,
    close() {
      closed ??= agent.close();
      return closed;
    },
  };
}
