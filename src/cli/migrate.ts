/**
 * `authctx migrate`: applies migrations/NNN_*.sql, in order, to a Postgres database.
 * Each file runs in its own transaction and is recorded in `public.authctx_migrations`
 * with its checksum; a recorded file is skipped unless its content changed (the files
 * are idempotent, so re-applying an edited one is safe). `migrations/legacy/` is not
 * applied: it documents the queries authctx replaces.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Logger } from 'pino';

export interface RunMigrationsOptions {
  /** Postgres URL (`AUTHCTX_DATABASE_URL`). */
  databaseUrl: string;
  /** Directory holding the `NNN_name.sql` files. Default: the package's `migrations/`. */
  dir?: string;
  /** Receives structured progress (info per file). */
  logger?: Logger;
  /** Receives plain progress lines, e.g. `(line) => process.stdout.write(line + '\n')`. */
  print?: (line: string) => void;
  /** Gives up connecting after this long. Default 10 000 ms. */
  connectTimeoutMs?: number;
}

export interface RunMigrationsResult {
  /** File names applied in this run, in order. */
  applied: string[];
  /** File names already applied with the same content. */
  skipped: string[];
}

const migrationFile = /^\d{3}_[a-z0-9_]+\.sql$/;
/** Serializes concurrent `migrate` runs (two replicas starting at once). */
const advisoryLockKey = 0x61757468; // 'auth'

/** The `migrations/` directory next to this package, from src/cli (tests) or dist/src/cli (build). */
export function defaultMigrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'migrations');
    if (existsSync(join(candidate, '001_schema.sql'))) return candidate;
    dir = dirname(dir);
  }
  throw new Error('cannot find the migrations/ directory; pass dir');
}

/** The migration files in `dir`, in apply order. */
export async function listMigrations(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((name) => migrationFile.test(name)).sort();
}

export async function runMigrations(options: RunMigrationsOptions): Promise<RunMigrationsResult> {
  const dir = options.dir ?? defaultMigrationsDir();
  const say = (line: string): void => {
    options.print?.(line);
    options.logger?.info(line);
  };
  const files = await listMigrations(dir);
  if (files.length === 0) throw new Error(`no migration files (NNN_name.sql) in ${dir}`);

  const client = new pg.Client({
    connectionString: options.databaseUrl,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    application_name: 'authctx-migrate',
  });
  await client.connect();
  const result: RunMigrationsResult = { applied: [], skipped: [] };
  try {
    await client.query('select pg_advisory_lock($1)', [advisoryLockKey]);
    await client.query(`create table if not exists public.authctx_migrations (
      name text primary key,
      checksum text not null,
      applied_at timestamptz not null default now()
    )`);
    const { rows } = await client.query<{ name: string; checksum: string }>(
      'select name, checksum from public.authctx_migrations',
    );
    const recorded = new Map(rows.map((row) => [row.name, row.checksum]));

    for (const name of files) {
      const sql = await readFile(join(dir, name), 'utf8');
      const checksum = createHash('sha256').update(sql).digest('hex');
      if (recorded.get(name) === checksum) {
        result.skipped.push(name);
        say(`migrate: ${name} already applied`);
        continue;
      }
      say(`migrate: applying ${name}`);
      try {
        await client.query('begin');
        await client.query(sql);
        await client.query(
          `insert into public.authctx_migrations (name, checksum) values ($1, $2)
           on conflict (name) do update set checksum = excluded.checksum, applied_at = now()`,
          [name, checksum],
        );
        await client.query('commit');
      } catch (error) {
        await client.query('rollback').catch((rollbackError: unknown) => {
          options.logger?.warn({ err: rollbackError }, 'migrate: rollback failed');
        });
        throw new Error(`migration ${name} failed: ${(error as Error).message}`, { cause: error });
      }
      result.applied.push(name);
    }
    say(`migrate: done (${result.applied.length} applied, ${result.skipped.length} up to date)`);
    return result;
  } finally {
    await client.end();
  }
}
