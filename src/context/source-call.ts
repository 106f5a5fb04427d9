/**
 * One context-source call with what every adapter needs around it: a deadline, the caller's
 * abort signal, an error the port promises, and the metrics.
 */
import { AuthctxError } from '../errors.js';
import { normalizeEmail } from '../cache/cache-key.js';
import type { ContextSourceCallOptions, UserContext } from './context-source.js';
import type { SourceMetrics, SourceOutcome } from './source-metrics.js';

export interface SourceCall {
  metrics: SourceMetrics;
  timeoutMs: number;
  /** The caller's signal: its abort rejects the call with its reason. */
  signal: AbortSignal | undefined;
  /** The email could not be normalized: counted as not found. */
  invalidEmail: boolean;
  call: (signal: AbortSignal) => Promise<UserContext | null>;
  /** Maps any other failure to an `AuthctxError`. */
  classify: (error: unknown) => AuthctxError;
}

function outcomeOf(error: AuthctxError): SourceOutcome {
  if (error.code === 'AUTHCTX_ERR_CONTEXT_TIMEOUT') return 'timeout';
  if (error.code === 'AUTHCTX_ERR_CONTEXT_MALFORMED') return 'malformed';
  return 'error';
}

export async function runSourceCall(options: SourceCall): Promise<UserContext | null> {
  const started = performance.now();
  const elapsed = (): number => (performance.now() - started) / 1000;
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new AuthctxError('AUTHCTX_ERR_CONTEXT_TIMEOUT', `the auth context source did not answer within ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  const signal = options.signal ? AbortSignal.any([deadline.signal, options.signal]) : deadline.signal;
  // Whatever the adapter's client does with an abort (throw, or report an error object),
  // the call settles as soon as the signal fires.
  const aborted = new Promise<never>((_resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  // The race below observes this rejection; this keeps it from counting as unhandled when
  // the call settles first and the signal fires later.
  aborted.catch(() => undefined);
  try {
    const context = await Promise.race([options.call(signal), aborted]);
    options.metrics.observe(options.invalidEmail || context === null ? 'not_found' : 'found', elapsed());
    return context;
  } catch (error) {
    if (options.signal?.aborted && !deadline.signal.aborted) {
      options.metrics.observe('error', elapsed());
      throw options.signal.reason;
    }
    const mapped = deadline.signal.aborted
      ? (deadline.signal.reason as AuthctxError)
      : options.classify(error);
    options.metrics.observe(outcomeOf(mapped), elapsed());
    throw mapped;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `getUserContext` as both adapters implement it: refused once closed, the email normalized
 * (an invalid one is simply not found), and the adapter's own lookup run by `runSourceCall`.
 */
export function createSourceLookup(options: {
  isClosed: () => boolean;
  metrics: SourceMetrics;
  timeoutMs: number;
  classify: (error: unknown) => AuthctxError;
  lookup: (email: string, signal: AbortSignal) => Promise<UserContext | null>;
}): (rawEmail: string, callOptions?: ContextSourceCallOptions) => Promise<UserContext | null> {
  return async (rawEmail, callOptions) => {
    if (options.isClosed()) throw new AuthctxError('AUTHCTX_ERR_CONTEXT_UNAVAILABLE', 'the context source is closed');
    const email = normalizeEmail(rawEmail);
    return runSourceCall({
      metrics: options.metrics,
      timeoutMs: options.timeoutMs,
      signal: callOptions?.signal,
      invalidEmail: email === null,
      call: (signal) => (email === null ? Promise.resolve(null) : options.lookup(email, signal)),
      classify: options.classify,
    });
  };
}
