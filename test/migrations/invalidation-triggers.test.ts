import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSeededDatabase, type TestDatabase } from '../support/postgres.js';

let db: TestDatabase;
let listener: pg.Client;
const received: string[] = [];

beforeAll(async () => {
  db = await createSeededDatabase('triggers', { employees: 20 });
  listener = new pg.Client({ connectionString: db.url });
  await listener.connect();
  listener.on('notification', (message) => {
    if (message.channel === 'authctx_invalidate' && message.payload !== undefined) received.push(message.payload);
  });
  await listener.query('listen authctx_invalidate');
});
afterAll(async () => {
  await listener?.end();
  await db?.drop();
});

/** Runs `sql`, then a marker notification; resolves with the payloads that arrived before the marker. */
async function notificationsOf(sql: string): Promise<string[]> {
  received.length = 0;
  await db.query(sql);
  await db.query("select pg_notify('authctx_invalidate', '--marker--')");
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (received.includes('--marker--')) {
        listener.off('notification', check);
        resolve();
      }
    };
    listener.on('notification', check);
    check();
  });
  return received.filter((p) => p !== '--marker--').sort();
}

describe('invalidation triggers', () => {
  it('notify the normalized email when an employee changes', async () => {
    expect(await notificationsOf("update public.employees set role = 'supervisor' where email_normalized = 'sari@example.com'")).toEqual([
      'sari@example.com',
    ]);
    expect(await notificationsOf("update public.employees set active = false where email_normalized = 'dewi@example.com'")).toEqual([
      'dewi@example.com',
    ]);
  });

  it('notify both the old and the new email when an email changes', async () => {
    expect(
      await notificationsOf("update public.employees set email = ' Joko.W@Example.com' where email_normalized = 'joko@example.com'"),
    ).toEqual(['joko.w@example.com', 'joko@example.com']);
  });

  it('notify the employee whose assignments change', async () => {
    expect(
      await notificationsOf(`insert into public.assignments (employee_id, scope, region_code)
        select id, 'region', 'MKS' from public.employees where email_normalized = 'rina@example.com'`),
    ).toEqual(['rina@example.com']);
    expect(
      await notificationsOf(`delete from public.assignments where region_code = 'MKS'
        and employee_id = (select id from public.employees where email_normalized = 'rina@example.com')`),
    ).toEqual(['rina@example.com']);
  });

  it('notify everyone assigned to a slot that moves region', async () => {
    const payloads = await notificationsOf("update public.slots set region_code = 'SMG' where code = 'SBY-AG-02'");
    expect(payloads).toContain('sari@example.com');
    const { rows } = await db.query<{ email: string }>(
      `select distinct e.email_normalized as email from public.assignments a
       join public.employees e on e.id = a.employee_id where a.slot_code = 'SBY-AG-02'`,
    );
    expect(payloads).toEqual(rows.map((r) => r.email).sort());
  });

  it('notify every all-scope employee when a region is added', async () => {
    const payloads = await notificationsOf("insert into public.regions (code, name) values ('BTM', 'Batam')");
    expect(payloads).toContain('admin@example.com');
    expect(payloads).not.toContain('rina@example.com');
  });

  it('notify nobody for a write that rolls back', async () => {
    expect(
      await notificationsOf(`do $$ begin
        update public.employees set role = 'admin' where email_normalized = 'rina@example.com';
        raise exception 'abort';
      exception when others then null; end $$`),
    ).toEqual([]);
  });
});
