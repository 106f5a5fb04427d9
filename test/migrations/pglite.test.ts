import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namedUsers, rinaContext, seedSql } from '../../scripts/seed.js';
import { defaultMigrationsDir, listMigrations } from '../../src/cli/migrate.js';

// The demo runs on PGlite: the migrations and the seed must run there unchanged.
let db: PGlite;

beforeAll(async () => {
  db = new PGlite();
  const dir = defaultMigrationsDir();
  for (const name of await listMigrations(dir)) await db.exec(await readFile(join(dir, name), 'utf8'));
  await db.exec(seedSql({ employees: 50 }));
});
afterAll(async () => {
  await db?.close();
});

describe('migrations on PGlite', () => {
  it('serve the same contexts as on PostgreSQL', async () => {
    const { rows } = await db.query<{ context: unknown; id: string }>(
      `select public.get_user_context($1) as context,
              (select id::text from public.employees where email_normalized = $1) as id`,
      [namedUsers.rina],
    );
    expect(rows[0]?.context).toEqual(rinaContext);
    expect(rows[0]?.id).toBe(rinaContext.user_id);
    const inactive = await db.query<{ context: unknown }>('select public.get_user_context($1) as context', [namedUsers.budi]);
    expect(inactive.rows[0]?.context).toBeNull();
  });

  it('notify on writes', async () => {
    const payloads: string[] = [];
    let markerSeen: () => void = () => undefined;
    const marker = new Promise<void>((resolve) => (markerSeen = resolve));
    const unsubscribe = await db.listen('authctx_invalidate', (payload) => {
      payloads.push(payload);
      if (payload === '--marker--') markerSeen();
    });
    await db.exec("update public.employees set role = 'admin' where email_normalized = 'sari@example.com'");
    await db.exec("select pg_notify('authctx_invalidate', '--marker--')");
    await marker;
    await unsubscribe();
    expect(payloads).toContain('sari@example.com');
  });
});
