/**
 * Every error code authctx raises, with the HTTP status it maps to.
 * Error bodies on the wire are always JSON `{ code, message }` (DESIGN.md, "Status codes").
 * Add new codes here, never inline elsewhere: tests and docs read this table.
 */
export const errorCatalog = {
  // auth/: the client's token
  AUTHCTX_ERR_AUTH_MISSING_TOKEN: { status: 401, message: 'a bearer token is required' },
  AUTHCTX_ERR_AUTH_INVALID_TOKEN: { status: 401, message: 'the bearer token is invalid' },
  AUTHCTX_ERR_AUTH_EXPIRED_TOKEN: { status: 401, message: 'the bearer token has expired' },
  AUTHCTX_ERR_AUTH_MULTIPLE_TOKENS: { status: 400, message: 'more than one Authorization header' },
  // context/: who the token belongs to
  AUTHCTX_ERR_CONTEXT_FORBIDDEN: { status: 403, message: 'no active employee for this token' },
  AUTHCTX_ERR_CONTEXT_UNAVAILABLE: { status: 503, message: 'the auth context source is unavailable' },
  AUTHCTX_ERR_CONTEXT_MALFORMED: { status: 503, message: 'the auth context source returned a malformed reply' },
  AUTHCTX_ERR_CONTEXT_TIMEOUT: { status: 503, message: 'the auth context source did not answer in time' },
  // proxy/: the request and the backend
  AUTHCTX_ERR_PROXY_UPSTREAM_UNREACHABLE: { status: 502, message: 'the backend is unreachable' },
  AUTHCTX_ERR_PROXY_UPSTREAM_TIMEOUT: { status: 504, message: 'the backend did not answer in time' },
  AUTHCTX_ERR_PROXY_BAD_REQUEST: { status: 400, message: 'the request is malformed' },
  AUTHCTX_ERR_PROXY_BODY_TOO_LARGE: { status: 413, message: 'the request body is too large' },
  AUTHCTX_ERR_PROXY_HEADERS_TOO_LARGE: { status: 431, message: 'the request headers are too large' },
  AUTHCTX_ERR_PROXY_OVERLOADED: { status: 503, message: 'authctx is overloaded, retry later' },
  AUTHCTX_ERR_PROXY_SHUTTING_DOWN: { status: 503, message: 'authctx is shutting down' },
  AUTHCTX_ERR_PROXY_NOT_FOUND: { status: 404, message: 'not found' },
  // zones/: reference data (never on the request path; surfaces in logs, stats and the admin refresh route)
  AUTHCTX_ERR_ZONES_UNAVAILABLE: { status: 503, message: 'the zone source is unavailable' },
  AUTHCTX_ERR_ZONES_TIMEOUT: { status: 503, message: 'the zone source did not answer within the job timeout' },
  AUTHCTX_ERR_ZONES_MALFORMED: { status: 503, message: 'the zone source returned malformed data' },
  // admin/
  AUTHCTX_ERR_ADMIN_UNAUTHORIZED: { status: 401, message: 'an admin bearer token is required' },
  AUTHCTX_ERR_ADMIN_DISABLED: { status: 403, message: 'admin mutations are disabled: AUTHCTX_ADMIN_TOKEN is not set' },
  AUTHCTX_ERR_ADMIN_BAD_EMAIL: { status: 400, message: 'not a valid email address' },
  AUTHCTX_ERR_ADMIN_BAD_REQUEST: { status: 400, message: 'the admin request is malformed' },
  AUTHCTX_ERR_ADMIN_NOT_FOUND: { status: 404, message: 'not found' },
  AUTHCTX_ERR_ADMIN_UNAVAILABLE: { status: 503, message: 'the operation cannot run now' },
  // config/: startup only (no HTTP status is ever sent for these)
  AUTHCTX_ERR_CONFIG_INVALID: { status: 500, message: 'the configuration is invalid' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** An error that knows how it looks on the wire. */
export class AuthctxError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? errorCatalog[code].message, options);
    this.name = 'AuthctxError';
    this.code = code;
    this.status = errorCatalog[code].status;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

/** Status and serialized JSON body for a code: the one way an error reaches a client. */
export function errorResponse(code: ErrorCode, message?: string): { status: number; body: string } {
  const { status, message: fallback } = errorCatalog[code];
  return { status, body: JSON.stringify({ code, message: message ?? fallback }) };
}
