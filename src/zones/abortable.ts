import { AuthctxError } from '../errors.js';

/**
 * Settles like `promise`, but rejects as soon as `signal` aborts. The underlying call is not
 * cancelled by this (it stays bounded by its own timeout); the caller just stops waiting for it.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The caller has given up: keep a late rejection of `promise` from going unhandled.
    promise.catch(noteIgnored);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** The abort reason as an `AuthctxError` (timeouts and shutdown carry one already). */
export function abortReason(signal: AbortSignal): AuthctxError {
  const reason: unknown = signal.reason;
  if (reason instanceof AuthctxError) return reason;
  return new AuthctxError('AUTHCTX_ERR_ZONES_UNAVAILABLE', 'the zone load was aborted', { cause: reason });
}

function noteIgnored(_err: unknown): void {
  // Deliberately dropped: the operation was abandoned and its outcome already reported.
}
