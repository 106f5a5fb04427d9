import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { normalizeEmail } from '../cache/cache-key.js';
import { AuthctxError } from '../errors.js';
import type { Readiness } from './readiness.js';

/** What the admin API can do; each part of the app contributes its piece in app.ts. */
export interface AdminActions {
  /**
   * Clears every cache (contexts in all tiers, verified tokens, cached responses), or with
   * `tier: 'memory'` only this replica's memory (what a restart would do; Redis keeps its entries).
   */
  clearCaches(options: { tier: 'all' | 'memory' }): Promise<Record<string, number>>;
  /** Drops one user's context everywhere (all tiers, all replicas). */
  invalidate(email: string): Promise<Record<string, unknown>>;
  /** Purges cached responses of a route (optionally one partition), fleet-wide. */
  purge?: ((input: { route: string; partition?: Record<string, string> }) => Promise<Record<string, unknown>>) | undefined;
  /** Refreshes zone reference data now. */
  refreshZones?: (() => Promise<Record<string, unknown>>) | undefined;
}

export interface AdminAppOptions {
  registry: Registry;
  logger: Logger;
  readiness: Readiness;
  /** Bearer token for mutations; unset → every mutation is refused (403). */
  adminToken: string | undefined;
  /** Sections of `GET /api/admin/cache/stats`, computed on demand. */
  stats: Record<string, () => unknown>;
  actions: AdminActions;
}

const maxEmailParamLength = 320;

/** The admin listener (own port, like oauth2-proxy's --metrics-address): probes, metrics, cache admin. */
export function createAdminApp(options: AdminAppOptions) {
  const app = Fastify({
    loggerInstance: options.logger.child({ listener: 'admin' }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // Long params reach the handler, which answers 400 (not fastify's 414) per DESIGN.
    routerOptions: { maxParamLength: 16 * 1024 },
    return503OnClosing: false,
  });
  const tokenDigest = options.adminToken ? digest(options.adminToken) : undefined;

  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    if (error instanceof AuthctxError) return sendError(reply, error);
    if (error.statusCode && error.statusCode < 500) {
      return sendError(reply, new AuthctxError('AUTHCTX_ERR_ADMIN_BAD_REQUEST', error.message));
    }
    options.logger.error({ err: error }, 'admin request failed');
    return sendError(reply, new AuthctxError('AUTHCTX_ERR_ADMIN_UNAVAILABLE'));
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, new AuthctxError('AUTHCTX_ERR_ADMIN_NOT_FOUND')));

  /** Mutations: constant-time comparison of SHA-256 digests, so length does not leak either. */
  const requireToken = async (request: FastifyRequest) => {
    if (!tokenDigest) throw new AuthctxError('AUTHCTX_ERR_ADMIN_DISABLED');
    const header = request.headers.authorization;
    const token = typeof header === 'string' && /^bearer /i.test(header) ? header.slice(7).trim() : '';
    if (token === '' || !timingSafeEqual(digest(token), tokenDigest)) throw new AuthctxError('AUTHCTX_ERR_ADMIN_UNAUTHORIZED');
  };

  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/livez', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const report = options.readiness.report();
    return reply.code(report.ready ? 200 : 503).header('cache-control', 'no-store').send(report);
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await options.registry.metrics();
    return reply.header('content-type', options.registry.contentType).send(text);
  });

  app.get('/api/admin/cache/stats', async () => {
    const out: Record<string, unknown> = {};
    for (const [name, section] of Object.entries(options.stats)) out[name] = await section();
    return out;
  });
  app.post<{ Querystring: { tier?: string } }>('/api/admin/cache/clear', { preHandler: requireToken }, async (request) => {
    const tier = request.query.tier ?? 'all';
    if (tier !== 'all' && tier !== 'memory') throw new AuthctxError('AUTHCTX_ERR_ADMIN_BAD_REQUEST', 'tier must be "all" or "memory"');
    return { cleared: await options.actions.clearCaches({ tier }) };
  });
  app.post<{ Params: { email: string } }>('/api/admin/cache/invalidate/:email', { preHandler: requireToken }, async (request) => {
    const raw = request.params.email;
    const email = raw.length <= maxEmailParamLength ? normalizeEmail(raw) : null;
    if (email === null) throw new AuthctxError('AUTHCTX_ERR_ADMIN_BAD_EMAIL');
    return { email, ...(await options.actions.invalidate(email)) };
  });
  app.post<{ Body: unknown }>('/api/admin/cache/purge', { preHandler: requireToken }, async (request) => {
    if (!options.actions.purge) throw new AuthctxError('AUTHCTX_ERR_ADMIN_NOT_FOUND', 'no cached routes are configured');
    const body = request.body as { route?: unknown; partition?: unknown } | undefined;
    if (!body || typeof body.route !== 'string' || (body.partition !== undefined && !isStringRecord(body.partition))) {
      throw new AuthctxError('AUTHCTX_ERR_ADMIN_BAD_REQUEST', 'expected JSON { "route": string, "partition"?: { field: value } }');
    }
    return options.actions.purge({ route: body.route, ...(body.partition ? { partition: body.partition as Record<string, string> } : {}) });
  });
  app.post('/api/admin/zones/refresh', { preHandler: requireToken }, async () => {
    if (!options.actions.refreshZones) throw new AuthctxError('AUTHCTX_ERR_ADMIN_NOT_FOUND', 'no zone source is configured');
    return options.actions.refreshZones();
  });
  return app;
}

function sendError(reply: FastifyReply, error: AuthctxError): FastifyReply {
  if (error.status === 401) reply.header('www-authenticate', 'Bearer realm="authctx-admin"');
  return reply.code(error.status).header('cache-control', 'no-store').send(error.toBody());
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function isStringRecord(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}
export type AdminApp = ReturnType<typeof createAdminApp>;
