import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AuthctxError } from '../errors.js';
import { getOrCreateGauge } from '../metrics/get-or-create.js';
import { metricNames } from '../metrics/names.js';
import type { ContextSource } from './context-source.js';

/** What a breaker guards; the `dependency` label of `authctx_circuit_state` (a closed set). */
export type CircuitDependency = 'source' | 'redis';

/** `authctx_circuit_state` values: closed 0, half-open 1, open 2. */
export type CircuitState = 'closed' | 'half-open' | 'open';
const stateValue: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

export interface CircuitBreakerOptions {
  dependency: CircuitDependency;
  /** Consecutive failures that open the circuit. Default 5 (`AUTHCTX_CIRCUIT_FAILURES`). */
  failureThreshold?: number;
  /** How long an open circuit refuses calls before one probe is let through, ms. Default 2 000 (`AUTHCTX_CIRCUIT_COOLDOWN`). */
  coolDownMs?: number;
  /** Clock, ms (any monotonic or epoch clock; only differences are used). */
  now: () => number;
  registry?: Registry;
  logger?: Logger;
}

/**
 * The gate a caller asks before each call, then tells how it went. Structural on purpose:
 * the redis store takes the same three methods without importing this module.
 */
export interface CircuitGate {
  /** True when a call may go out now (closed, or the single half-open probe). */
  allowRequest(): boolean;
  onSuccess(): void;
  onFailure(): void;
}

export interface CircuitBreaker extends CircuitGate {
  readonly state: CircuitState;
  /** The call ended for a reason that says nothing about the dependency (the caller gave up). */
  onIgnored(): void;
}

/**
 * Closed → (N consecutive failures) → open: calls refused at once for `coolDownMs` → half-open:
 * exactly one probe goes out; its success closes the circuit, its failure opens it again.
 * A dependency that hangs then costs its timeout once per cool-down, not once per request.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const threshold = options.failureThreshold ?? 5;
  const coolDownMs = options.coolDownMs ?? 2_000;
  const { now, logger } = options;
  const gauge = options.registry
    ? getOrCreateGauge(options.registry, {
        name: metricNames.circuitState,
        help: 'Circuit breaker state by dependency: 0 closed, 1 half-open, 2 open',
        labelNames: ['dependency'] as const,
      }).labels({ dependency: options.dependency })
    : undefined;
  let state: CircuitState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let probing = false;
  gauge?.set(0);

  function enter(next: CircuitState): void {
    if (next === state) return;
    state = next;
    gauge?.set(stateValue[next]);
    if (next === 'open') logger?.warn({ dependency: options.dependency, coolDownMs }, 'circuit open: calls refused until a probe succeeds');
    else if (next === 'closed') logger?.info({ dependency: options.dependency }, 'circuit closed');
  }

  return {
    get state() {
      return state;
    },
    allowRequest() {
      if (state === 'closed') return true;
      if (state === 'open') {
        if (now() - openedAt < coolDownMs) return false;
        enter('half-open');
      }
      if (probing) return false;
      probing = true;
      return true;
    },
    onSuccess() {
      failures = 0;
      probing = false;
      enter('closed');
    },
    onIgnored() {
      probing = false;
    },
    onFailure() {
      probing = false;
      failures++;
      if (state === 'half-open' || failures >= threshold) {
        openedAt = now();
        enter('open');
      }
    },
  };
}

/**
 * The source behind a breaker. An open circuit is `AUTHCTX_ERR_CONTEXT_UNAVAILABLE` at once,
 * which the resolver turns into stale-if-error or 503 like any other source failure. A `null`
 * reply (unknown user) is a success; a caller's own abort counts neither way.
 */
export function withCircuitBreaker(source: ContextSource, breaker: CircuitBreaker): ContextSource {
  return {
    kind: source.kind,
    async getUserContext(email, callOptions) {
      if (!breaker.allowRequest()) {
        throw new AuthctxError('AUTHCTX_ERR_CONTEXT_UNAVAILABLE', 'the auth context source is failing: circuit open');
      }
      try {
        const context = await source.getUserContext(email, callOptions);
        breaker.onSuccess();
        return context;
      } catch (error) {
        if (callOptions?.signal?.aborted) breaker.onIgnored();
        else breaker.onFailure();
        throw error;
      }
    },
    close: () => source.close(),
  };
}
