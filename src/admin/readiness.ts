/** One input to `/readyz`: a name, whether it blocks readiness, and detail for humans. */
export interface ReadinessCheck {
  name: string;
  check(): { ready: boolean; detail?: Record<string, unknown> };
}

export interface Readiness {
  /** Set at SIGTERM: `/readyz` answers 503 from then on while in-flight requests finish. */
  shuttingDown: boolean;
  add(check: ReadinessCheck): void;
  report(): { ready: boolean; status: 'ready' | 'not_ready' | 'shutting_down'; checks: Record<string, unknown> };
}

export function createReadiness(): Readiness {
  const checks: ReadinessCheck[] = [];
  return {
    shuttingDown: false,
    add(check) {
      checks.push(check);
    },
    report() {
      const results: Record<string, unknown> = {};
      let ready = true;
      for (const c of checks) {
        const result = c.check();
        results[c.name] = { ready: result.ready, ...result.detail };
        ready &&= result.ready;
      }
      if (this.shuttingDown) return { ready: false, status: 'shutting_down', checks: results };
      return { ready, status: ready ? 'ready' : 'not_ready', checks: results };
    },
  };
}
