import { abortReason } from './abortable.js';

export interface TimerHandle {
  cancel(): void;
}
/** Schedules `fn` after `delayMs`; the default uses an unref'd `setTimeout`. */
export type SetTimer = (fn: () => void, delayMs: number) => TimerHandle;

/** Longest delay `setTimeout` honours (a larger one fires at once). */
export const maxTimerMs = 2 ** 31 - 1;

/** Unref'd, so a pending refresh never keeps the process alive. */
export const defaultSetTimer: SetTimer = (fn, delayMs) => {
  const timer = setTimeout(fn, Math.min(maxTimerMs, delayMs));
  timer.unref();
  return { cancel: () => clearTimeout(timer) };
};

/** Resolves after `delayMs`, or rejects with the signal's reason as soon as it aborts. */
export function pause(setTimer: SetTimer, delayMs: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      handle.cancel();
      reject(abortReason(signal));
    };
    const handle = setTimer(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Delay before retry number `failures` (1-based): exponential from `baseMs`, capped at `maxMs`,
 * with "equal jitter" (AWS Architecture Blog, "Exponential Backoff and Jitter"): half fixed, half
 * random, so replicas that failed together do not retry together.
 */
export function backoffDelayMs(failures: number, baseMs: number, maxMs: number, random: () => number): number {
  const capMs = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures, 1) - 1, 30));
  return capMs / 2 + (random() * capMs) / 2;
}
