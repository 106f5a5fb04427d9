import type { Logger } from 'pino';

export interface WarnLimiter {
  /**
   * Logs `msg` at warn unless a line with the same `kind` went out less than `intervalMs`
   * ago; the next line that does go out says how many were suppressed in between.
   */
  warn(kind: string, error: unknown, msg: string): void;
}

/**
 * At most one warn line per kind per interval: a Redis outage fails every command, and one log
 * line per request would turn an outage of the optional tier into a logging storm.
 */
export function createWarnLimiter(
  logger: Logger | undefined,
  { intervalMs = 10_000, now = Date.now }: { intervalMs?: number; now?: () => number } = {},
): WarnLimiter {
  const lastAt = new Map<string, number>();
  const suppressed = new Map<string, number>();
  return {
    warn(kind, error, msg) {
      if (!logger) return;
      const at = now();
      const last = lastAt.get(kind);
      if (last !== undefined && at - last < intervalMs) {
        suppressed.set(kind, (suppressed.get(kind) ?? 0) + 1);
        return;
      }
      lastAt.set(kind, at);
      const skipped = suppressed.get(kind) ?? 0;
      suppressed.delete(kind);
      logger.warn({ err: error, kind, suppressed: skipped }, msg);
    },
  };
}
