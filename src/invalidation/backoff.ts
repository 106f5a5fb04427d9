/**
 * Reconnect delay for attempt `attempt` (0-based): exponential from `minMs`, capped at `maxMs`,
 * with "equal jitter" (half fixed, half random) so a fleet that lost its database at the same
 * moment does not reconnect in lock-step, yet no attempt comes sooner than half the step.
 */
export function reconnectDelayMs(attempt: number, options: { minMs: number; maxMs: number; random: () => number }): number {
  const step = Math.min(options.maxMs, options.minMs * 2 ** Math.min(attempt, 30));
  return step / 2 + (step / 2) * options.random();
}
