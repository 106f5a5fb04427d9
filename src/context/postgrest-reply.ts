/** What a failed PostgREST exchange (as supabase-js reports it) means for a context source. */

/** PostgREST could not find the function (PGRST202), or Postgres says it does not exist (42883). */
const missingFunctionCodes = new Set(['PGRST202', '42883']);

export interface PostgrestFailure {
  message: string;
  code?: string | null;
  details?: string | null;
  hint?: string | null;
}

export class PostgrestReplyError extends Error {
  /** HTTP status; 0 when no answer arrived (network error, abort). */
  readonly status: number;
  readonly code: string;

  constructor(failure: PostgrestFailure, status: number, what: string) {
    const code = failure.code ?? '';
    super(`${what}: ${status === 0 ? 'no answer' : `HTTP ${status}`}${code ? ` ${code}` : ''}: ${failure.message}`);
    this.name = 'PostgrestReplyError';
    this.status = status;
    this.code = code;
  }

  get functionMissing(): boolean {
    return missingFunctionCodes.has(this.code);
  }

  /** A 2xx status with an error means the body was not JSON. */
  get malformedBody(): boolean {
    return this.status >= 200 && this.status < 300;
  }
}

/** Returns `data`, or throws a `PostgrestReplyError` for a supabase-js `{ error, status }` result. */
export function unwrapReply<T>(
  result: { data: T | null; error: PostgrestFailure | null; status: number },
  what: string,
): T | null {
  if (result.error) throw new PostgrestReplyError(result.error, result.status, what);
  return result.data;
}
