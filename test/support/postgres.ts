import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runMigrations } from '../../src/cli/migrate.js';
import { seedSql, type SeedOptions } from '../../scripts/seed.js';

/** The shared test server (trust auth); each test file makes its own database on it. */
export const adminDatabaseUrl = 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Runs one statement on the database (a short-lived connection). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /** Drops the database (terminating its connections). Idempotent. */
  drop(): Promise<void>;
}

function databaseUrl(name: string): string {
  const url = new URL(adminDatabaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty, uniquely named database. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `authctx_${label.replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
  await withClient(adminDatabaseUrl, (client) => client.query(`create database "${name}"`));
  const url = databaseUrl(name);
  let dropped = false;
  return {
    name,
    url,
    query: (sql, params) => withClient(url, (client) => client.query(sql, params)),
    async drop() {
      if (dropped) return;
      dropped = true;
      await withClient(adminDatabaseUrl, (client) => client.query(`drop database if exists "${name}" with (force)`));
    },
  };
}

/** A fresh database with every migration applied and the deterministic seed loaded. */
export async function createSeededDatabase(label: string, seed: SeedOptions = {}): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  try {
    await runMigrations({ databaseUrl: db.url });
    await db.query(seedSql(seed));
    return db;
  } catch (error) {
    await db.drop();
    throw error;
  }
}
