#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/load.js';
import { describeConfig } from './config/redact.js';
import type { Config } from './config/schema.js';
import { drain, listen } from './lifecycle.js';
import { createLogger } from './logger.js';

/**
 * The process entry point and the only module that touches `process`: reads the
 * environment, listens, handles signals. Verbs: start (default), check-config, migrate.
 */
const usage = `usage: authctx [start | check-config | migrate | --help | --version]

  start          run the proxy (default)
  check-config   print the effective configuration, secrets redacted; exit 1 if invalid
  migrate        apply migrations/ to AUTHCTX_DATABASE_URL

Configuration comes from environment variables and an optional YAML file named by
AUTHCTX_CONFIG; see README.md and config/authctx.example.yaml.`;

function readConfig(purpose: 'serve' | 'migrate' = 'serve'): Config {
  return loadConfig({ env: process.env, readFile: (path) => readFileSync(path, 'utf8'), purpose });
}

function fail(error: unknown): never {
  if (error instanceof ConfigError) process.stderr.write(`authctx: ${error.message}\n`);
  else process.stderr.write(`authctx: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(error instanceof ConfigError ? 2 : 1);
}

async function start(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ level: config.logLevel });
  const app = buildApp(config, { logger });
  const addresses = await listen(app);
  logger.info(
    { proxy: `${addresses.proxy.address}:${addresses.proxy.port}`, admin: `${addresses.admin.address}:${addresses.admin.port}`, upstream: config.upstreamUrl },
    'authctx is listening',
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGrace }, 'draining: readiness is now 503');
    drain(app, config.shutdownGrace).then(
      (inTime) => {
        logger.info({ inTime }, 'stopped');
        process.exitCode = 0;
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error during shutdown');
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

function checkConfig(): void {
  const config = readConfig();
  const rows = describeConfig(config);
  const width = Math.max(...rows.map((r) => r.env.length));
  process.stdout.write(`authctx: configuration is valid\n${rows.map((r) => `${r.env.padEnd(width)}  ${r.value}`).join('\n')}\n`);
}

async function migrate(): Promise<void> {
  const config = readConfig('migrate');
  if (!config.databaseUrl) throw new ConfigError(['AUTHCTX_DATABASE_URL: required by "authctx migrate"']);
  const logger = createLogger({ level: config.logLevel });
  const { runMigrations } = await import('./cli/migrate.js');
  const result = await runMigrations({ databaseUrl: config.databaseUrl, logger, print: (line: string) => process.stdout.write(`${line}\n`) });
  process.stdout.write(`authctx: ${result.applied.length} migration(s) applied\n`);
}

async function main(argv: readonly string[]): Promise<void> {
  const verb = argv[0] ?? 'start';
  switch (verb) {
    case 'start':
      return start();
    case 'check-config':
      return checkConfig();
    case 'migrate':
      return migrate();
    case '--version':
    case '-v': {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`authctx ${pkg.version}\n`);
      return;
    }
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${usage}\n`);
      return;
    default:
      process.stderr.write(`authctx: unknown command "${verb}"\n${usage}\n`);
      process.exit(64);
  }
}

main(process.argv.slice(2)).catch(fail);
