import type { SetTimer } from '../../src/zones/zone-index.js';

export interface ManualTimer {
  readonly delayMs: number;
  fire(): void;
}

/** A `SetTimer` whose timers only run when a test fires them: periodic refresh without sleeping. */
export function createManualTimers(): { setTimer: SetTimer; pending(): ManualTimer[] } {
  const timers = new Set<ManualTimer & { fn: () => void }>();
  return {
    setTimer(fn, delayMs) {
      const timer = {
        fn,
        delayMs,
        fire() {
          if (!timers.delete(timer)) throw new Error('timer already fired or cancelled');
          fn();
        },
      };
      timers.add(timer);
      return { cancel: () => void timers.delete(timer) };
    },
    pending() {
      return [...timers];
    },
  };
}
