/**
 * A private, throw-away PostgreSQL cluster for the benchmark (Debian's binaries, a
 * temp dir, a free loopback port, fsync off), with pg_stat_statements preloaded: it
 * counts every statement the moment it finishes, so "source calls per request" is
 * read on the Postgres side without the seconds of lag of the cumulative statistics.
 * The shared server on :5432 and its databases are never touched.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { runMigrations } from '../src/cli/migrate.js';
import { seedSql } from '../scripts/seed.js';
import { freePort, loadCore, startProcess, waitForPort, type Started } from './child-process.js';

export const benchDatabase = 'authctx_bench';

export interface BenchPostgres {
  readonly url: string;
  /** Zeroes the statement counters. */
  resetCounters(): Promise<void>;
  /** Calls of `select … get_user_context(…)` since the last reset. */
  sourceCalls(): Promise<number>;
  /** Every statement run in the bench database since the last reset (our own counter queries excluded). */
  statements(): Promise<number>;
  stop(): Promise<void>;
}

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions[0] === undefined) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
  return join(root, versions[0], 'bin');
}

/** initdb refuses to run as root: run the cluster as the `postgres` system user then. */
function clusterUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

export interface StartPostgresOptions {
  logDir: string;
  /** Generated employees to seed (scripts/seed.ts). */
  employees: number;
  print: (line: string) => void;
}

export async function startBenchPostgres(options: StartPostgresOptions): Promise<BenchPostgres> {
  const bin = postgresBinDir();
  const user = clusterUser();
  const dir = mkdtempSync(join(tmpdir(), 'authctx-bench-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  execFileSync(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync'], {
    stdio: 'ignore',
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  const port = await freePort();
  let server: Started | undefined;
  try {
    server = startProcess({
      name: 'postgres',
      command: join(bin, 'postgres'),
      args: [
        '-D', data, '-p', String(port), '-k', dir,
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'shared_preload_libraries=pg_stat_statements',
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
        '-c', 'max_connections=500', '-c', 'shared_buffers=128MB',
      ],
      core: loadCore,
      logDir: options.logDir,
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    await waitForPort(server, port, 30_000);
    const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const url = `postgres://postgres@127.0.0.1:${port}/${benchDatabase}`;
    await withClient(adminUrl, async (client) => {
      // The postmaster accepts connections a moment before it accepts logins.
      await client.query(`create database ${benchDatabase}`);
    });
    await withClient(url, (client) => client.query('create extension if not exists pg_stat_statements'));
    await runMigrations({ databaseUrl: url });
    const seedStart = Date.now();
    await withClient(url, (client) => client.query(seedSql({ employees: options.employees })));
    options.print(`postgres: private cluster on :${port}, ${options.employees.toLocaleString('en-US')} employees seeded in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`);

    const counters = new pg.Pool({ connectionString: url, max: 1 });
    counters.on('error', () => undefined);
    const count = async (where: string): Promise<number> => {
      const { rows } = await counters.query<{ n: string }>(
        `select coalesce(sum(calls), 0)::text as n from pg_stat_statements
         where dbid = (select oid from pg_database where datname = current_database())
           and query not like '%pg_stat_statements%' ${where}`,
      );
      return Number(rows[0]?.n ?? 0);
    };
    const started = server;
    return {
      url,
      resetCounters: async () => void (await counters.query('select pg_stat_statements_reset()')),
      sourceCalls: () => count(`and query like '%get_user_context%'`),
      statements: () => count(''),
      async stop() {
        await counters.end();
        started.child.kill('SIGINT'); // fast shutdown
        await started.stop(10_000);
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
    } catch (error) {
      // "the database system is starting up" right after the port opens.
      if (attempt < 50 && String(error).includes('starting up')) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      throw error;
    }
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }
}
