import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, runCli } from '../support/cli.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

let db: TestDatabase;

beforeAll(async () => {
  buildCli();
  db = await createTestDatabase('migrate_cli');
});

afterAll(async () => {
  await db?.drop();
});

describe('authctx migrate', () => {
  it('needs only AUTHCTX_DATABASE_URL, applies every migration once, and is harmless to re-run', async () => {
    const first = await runCli(['migrate'], { AUTHCTX_DATABASE_URL: db.url }, 60_000);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/3 migration\(s\) applied/);
    const fn = await db.query<{ security_definer: boolean }>(
      "select prosecdef as security_definer from pg_proc where proname = 'get_user_context'",
    );
    expect(fn.rows).toEqual([{ security_definer: true }]);

    const again = await runCli(['migrate'], { AUTHCTX_DATABASE_URL: db.url }, 60_000);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 migration\(s\) applied/);
  });

  it('says what is missing without AUTHCTX_DATABASE_URL', async () => {
    const result = await runCli(['migrate'], {});
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('AUTHCTX_DATABASE_URL');
  });
});
