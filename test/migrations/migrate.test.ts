import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedSql } from '../../scripts/seed.js';
import { defaultMigrationsDir, listMigrations, runMigrations } from '../../src/cli/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('migrate');
});
afterAll(async () => {
  await db?.drop();
});

describe('migrations', () => {
  it('applies every file once and records it; a second run applies nothing and keeps the data', async () => {
    const lines: string[] = [];
    const first = await runMigrations({ databaseUrl: db.url, print: (line) => lines.push(line) });
    expect(first.applied).toEqual(['001_schema.sql', '002_get_user_context.sql', '003_invalidation_triggers.sql']);
    expect(lines).toContain('migrate: applying 001_schema.sql');
    await db.query(seedSql({ employees: 20 }));
    const before = await db.query("select public.get_user_context('rina@example.com') as c");

    const second = await runMigrations({ databaseUrl: db.url });
    expect(second).toEqual({ applied: [], skipped: first.applied });
    const { rows } = await db.query<{ name: string }>('select name from public.authctx_migrations order by name');
    expect(rows.map((r) => r.name)).toEqual(first.applied);
    const after = await db.query("select public.get_user_context('rina@example.com') as c");
    expect(after.rows[0]).toEqual(before.rows[0]);
    expect(before.rows[0]?.c).toMatchObject({ email: 'rina@example.com', regions: ['JKT', 'BDG'] });
  });

  it('can be run again by hand, file by file, as in the Supabase SQL editor', async () => {
    const dir = defaultMigrationsDir();
    const before = await db.query('select count(*)::int as n from public.employees');
    for (const name of await listMigrations(dir)) {
      await db.query(await readFile(join(dir, name), 'utf8'));
    }
    const after = await db.query('select count(*)::int as n from public.employees');
    expect(after.rows[0]).toEqual(before.rows[0]);
  });

  it('does not apply the legacy queries file', async () => {
    expect(await listMigrations(defaultMigrationsDir())).not.toContain('legacy_queries.sql');
  });

  it('rolls a failing file back and names it', async () => {
    const broken = await createTestDatabase('migrate_broken');
    try {
      const { mkdtemp, writeFile } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const dir = await mkdtemp(join(tmpdir(), 'authctx-migrations-'));
      await writeFile(join(dir, '001_ok.sql'), 'create table public.t1 (id int);');
      await writeFile(join(dir, '002_bad.sql'), 'create table public.t2 (id int); select no_such_function();');
      await expect(runMigrations({ databaseUrl: broken.url, dir })).rejects.toThrow(/002_bad\.sql/);
      const { rows } = await broken.query("select to_regclass('public.t1') as t1, to_regclass('public.t2') as t2");
      expect(rows[0]).toEqual({ t1: 't1', t2: null });
    } finally {
      await broken.drop();
    }
  });

  it('makes get_user_context stable, security definer, with an empty search_path, executable by service_role only', async () => {
    const { rows } = await db.query<{
      prosecdef: boolean;
      provolatile: string;
      proconfig: string[] | null;
      public_can: boolean;
      service_can: boolean;
    }>(`select p.prosecdef, p.provolatile, p.proconfig,
              has_function_privilege('public', p.oid, 'execute') as public_can,
              has_function_privilege('service_role', p.oid, 'execute') as service_can
       from pg_proc p where p.oid = 'public.get_user_context(text)'::regprocedure`);
    expect(rows[0]).toEqual({
      prosecdef: true,
      provolatile: 's',
      proconfig: ['search_path=""'],
      public_can: false,
      service_can: true,
    });
    // A role that was granted nothing cannot call it either.
    const role = `authctx_nobody_${db.name.slice(-8)}`;
    await db.query(`create role ${role} nologin`);
    try {
      const { rows: nobody } = await db.query(`select has_function_privilege('${role}', 'public.get_user_context(text)', 'execute') as can`);
      expect(nobody[0]).toEqual({ can: false });
    } finally {
      await db.query(`drop role ${role}`);
    }
  });

  it('is one SQL statement', async () => {
    const { rows } = await db.query<{ prolang: string; prosrc: string }>(
      `select l.lanname as prolang, p.prosrc from pg_proc p join pg_language l on l.oid = p.prolang
       where p.oid = 'public.get_user_context(text)'::regprocedure`,
    );
    expect(rows[0]?.prolang).toBe('sql');
    expect(rows[0]?.prosrc.trim().replace(/;\s*$/, '')).not.toContain(';');
  });

  it('indexes the normalized email uniquely', async () => {
    await expect(
      db.query("insert into public.employees (email, role, region_code) values (' RINA@example.com', 'agent', 'JKT')"),
    ).rejects.toMatchObject({ code: '23505' });
    const { rows } = await db.query<{ indexdef: string }>(
      "select indexdef from pg_indexes where schemaname = 'public' and indexname = 'employees_email_normalized_key'",
    );
    expect(rows[0]?.indexdef).toMatch(/^CREATE UNIQUE INDEX .* \(email_normalized\)$/);
  });
});
