import { pino, type Logger, type DestinationStream } from 'pino';

/** Secrets never reach a log line: the headers and keys that carry them are redacted by path. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.apikey',
  'req.headers.cookie',
  'headers.authorization',
  'headers.apikey',
  'headers.cookie',
  'authorization',
  'apikey',
  'cookie',
  'token',
  'adminToken',
  'jwtSecret',
  'supabaseServiceRoleKey',
];

export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      name: 'authctx',
      level: options.level,
      redact: { paths: redactPaths, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
