/**
 * The demo's database: PGlite (Postgres compiled to WebAssembly, in this process)
 * served over the Postgres wire protocol by pglite-socket, so that authctx's own
 * `pg` pool and `runMigrations` talk to it exactly as they would to a real server.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { runMigrations } from '../src/cli/migrate.js';
import { seedSql } from '../scripts/seed.js';

export interface DemoDatabaseOptions {
  /** Port of the wire-protocol server; 0 lets the OS pick. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * Concurrent client connections pglite-socket accepts (it multiplexes them onto the one
   * PGlite session, one query at a time). Must cover authctx's pool plus the migration client.
   * Default 8.
   */
  maxConnections?: number;
  /** Generated employees besides the named users (scripts/seed.ts). Default 300. */
  employees?: number;
  /** Progress lines ("applying 001_schema.sql", …). */
  print?: (line: string) => void;
}

export interface DemoDatabase {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly port: number;
  /** Number of employees in the seeded data, active or not. */
  readonly employees: number;
  stop(): Promise<void>;
}

export async function startDemoDatabase(options: DemoDatabaseOptions): Promise<DemoDatabase> {
  const host = options.host ?? '127.0.0.1';
  const print = options.print ?? (() => undefined);
  const db = await PGlite.create();
  const server = new PGLiteSocketServer({ db, host, port: options.port, maxConnections: options.maxConnections ?? 8 });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  const port = Number(server.getServerConn().split(':').at(-1));
  const url = `postgres://postgres@${host}:${port}/postgres`;
  const stop = async (): Promise<void> => {
    await server.stop();
    await db.close();
  };
  try {
    // The project's own migrations, through the same code as `authctx migrate`.
    await runMigrations({ databaseUrl: url, print: (line) => print(line) });
    const client = new pg.Client({ connectionString: url, application_name: 'authctx-demo-seed' });
    await client.connect();
    try {
      await client.query(seedSql({ employees: options.employees ?? 300 }));
      const { rows } = await client.query<{ n: string }>('select count(*) as n from public.employees');
      return { url, port, employees: Number(rows[0]?.n ?? 0), stop };
    } finally {
      await client.end();
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
