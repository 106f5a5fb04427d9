/**
 * The auth service behind nginx `auth_request` (the classic way to do authctx's job):
 * verifies the JWT, reads the context with get_user_context() and answers 200 with
 * the X-User-* headers, 401 or 403. nginx caches its answers keyed on the token.
 *
 *   PORT=… DATABASE_URL=… AUTHCTX_JWT_SECRET=… node dist/bench/servers/auth-service.js
 */
import { createServer } from 'node:http';
import { jwtVerify } from 'jose';
import pg from 'pg';

const port = Number(process.env.PORT ?? 8001);
const secret = new TextEncoder().encode(process.env.AUTHCTX_JWT_SECRET ?? '');
const issuer = process.env.AUTHCTX_JWT_ISSUER;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
pool.on('error', (error) => process.stderr.write(`auth-service: idle connection failed: ${error.message}\n`));

interface Context {
  user_id: string;
  email: string;
  role: string;
  region: string;
  scope: string;
}

const server = createServer((req, res) => {
  const auth = req.headers.authorization ?? '';
  const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
  jwtVerify(token, secret, { algorithms: ['HS256'], audience: 'authenticated', ...(issuer ? { issuer } : {}) })
    .then(
      async ({ payload }) => {
        const { rows } = await pool.query<{ context: Context | null }>('select public.get_user_context($1::text) as context', [String(payload.email ?? '')]);
        const context = rows[0]?.context;
        if (!context) {
          res.writeHead(403).end();
          return;
        }
        res
          .writeHead(200, {
            'x-user-id': String(payload.sub ?? context.user_id),
            'x-user-email': context.email,
            'x-user-role': context.role,
            'x-user-region': context.region,
            'x-user-scope': context.scope,
            'content-length': 0,
          })
          .end();
      },
      () => {
        res.writeHead(401).end();
      },
    )
    .catch((error: unknown) => {
      process.stderr.write(`auth-service: ${String(error)}\n`);
      if (!res.headersSent) res.writeHead(503).end();
    });
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void pool.end().then(() => process.exit(0)));
});
