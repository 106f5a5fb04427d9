/**
 * The contract every `ContextSource` adapter runs (STYLE.md: one suite per port), against a
 * fresh database with the migrations and the deterministic seed applied.
 */
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { namedUsers, rinaContext } from '../../scripts/seed.js';
import type { ContextSource } from '../../src/context/context-source.js';
import { AuthctxError } from '../../src/errors.js';
import { metricNames } from '../../src/metrics/names.js';
import type { TestDatabase } from '../support/postgres.js';

export interface SourceUnderTest {
  source: ContextSource;
  registry: Registry;
}

export interface ContextSourceHarness {
  /** The seeded database the source reads. */
  db: TestDatabase;
  createSource(options?: { functionName?: string; timeoutMs?: number }): SourceUnderTest;
}

/** SQL functions with get_user_context's signature that misbehave in one way each. */
const misbehavingFunctions = `
create or replace function public.authctx_test_other_email(p_email text) returns jsonb
language sql stable as $$
  select public.get_user_context(p_email) || jsonb_build_object('email', 'someone.else@example.com')
$$;
create or replace function public.authctx_test_wrong_shape(p_email text) returns jsonb
language sql stable as $$
  select jsonb_build_object('user_id', 1, 'email', p_email, 'regions', 'JKT')
$$;
create or replace function public.authctx_test_array(p_email text) returns jsonb
language sql stable as $$ select '[]'::jsonb $$;
create or replace function public.authctx_test_header_injection(p_email text) returns jsonb
language sql stable as $$
  select public.get_user_context(p_email) || jsonb_build_object('role', e'admin\\r\\nX-User-Role: admin')
$$;
create or replace function public.authctx_test_slow(p_email text) returns jsonb
language sql volatile as $$
  select pg_sleep(1.5);
  select public.get_user_context(p_email)
$$;
grant execute on function public.authctx_test_other_email(text), public.authctx_test_wrong_shape(text),
  public.authctx_test_array(text), public.authctx_test_header_injection(text), public.authctx_test_slow(text)
  to service_role;
`;

async function counterValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

export function contextSourceContract(getHarness: () => ContextSourceHarness): void {
  const open: ContextSource[] = [];
  const make = (options?: { functionName?: string; timeoutMs?: number }): SourceUnderTest => {
    const made = getHarness().createSource(options);
    open.push(made.source);
    return made;
  };
  let rinaId = '';

  beforeAll(async () => {
    const { db } = getHarness();
    await db.query(misbehavingFunctions);
    const { rows } = await db.query<{ id: string }>("select id::text from public.employees where email_normalized = 'rina@example.com'");
    rinaId = rows[0]?.id ?? '';
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((source) => source.close()));
  });
  afterAll(async () => {
    await getHarness().db.query(`delete from public.employees where email_normalized like 'contract-%'`);
  });

  it('returns the context of an active employee in the documented shape', async () => {
    const { source, registry } = make();
    const context = await source.getUserContext(namedUsers.rina);
    expect(context).toEqual(rinaContext);
    expect(rinaContext.user_id).toBe(rinaId);
    expect(await counterValue(registry, metricNames.sourceRequests, { outcome: 'found' })).toBe(1);
  });

  it('returns null for an unknown email', async () => {
    const { source, registry } = make();
    expect(await source.getUserContext('nobody@example.com')).toBeNull();
    expect(await counterValue(registry, metricNames.sourceRequests, { outcome: 'not_found' })).toBe(1);
  });

  it('returns null for an inactive employee', async () => {
    const { source } = make();
    expect(await source.getUserContext(namedUsers.budi)).toBeNull();
  });

  it('finds an employee whatever the case and surrounding spaces, stored or asked', async () => {
    const { source } = make();
    const asked = await source.getUserContext('  RINA@Example.COM ');
    expect(asked?.email).toBe('rina@example.com');
    expect(asked?.user_id).toBe(rinaId);
    // Stored as '  Dewi@Example.com '.
    const stored = await source.getUserContext(namedUsers.dewi);
    expect(stored).toMatchObject({ email: 'dewi@example.com', scope: 'slot', regions: ['BDG', 'JKT'], slots: ['BDG-SV-01', 'JKT-AG-05'] });
  });

  it('counts only assignments valid now', async () => {
    const { source } = make();
    // rina's expired SBY and future MDN assignments are not in her context.
    const rina = await source.getUserContext(namedUsers.rina);
    expect(rina?.regions).toEqual(['JKT', 'BDG']);
    const { db } = getHarness();
    await db.query(`
      insert into public.employees (email, role, region_code) values ('contract-expiry@example.com', 'agent', 'SMG');
      insert into public.assignments (employee_id, scope, region_code, valid_from, valid_to)
      select id, 'region', 'PLB', now() - interval '2 days', now() - interval '1 second'
      from public.employees where email_normalized = 'contract-expiry@example.com';`);
    expect(await source.getUserContext('contract-expiry@example.com')).toMatchObject({ scope: 'none', regions: ['SMG'], slots: [] });
    await db.query(`
      insert into public.assignments (employee_id, scope, region_code, valid_from, valid_to)
      select id, 'region', 'PLB', now() - interval '1 second', now() + interval '1 day'
      from public.employees where email_normalized = 'contract-expiry@example.com';`);
    expect(await source.getUserContext('contract-expiry@example.com')).toMatchObject({ scope: 'region', regions: ['SMG', 'PLB'] });
  });

  it('rejects a reply that carries another email', async () => {
    const { source, registry } = make({ functionName: 'authctx_test_other_email' });
    const error = await source.getUserContext(namedUsers.rina).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthctxError);
    expect((error as AuthctxError).code).toBe('AUTHCTX_ERR_CONTEXT_MALFORMED');
    expect(await counterValue(registry, metricNames.sourceRequests, { outcome: 'malformed' })).toBe(1);
  });

  it('rejects replies of the wrong shape', async () => {
    for (const functionName of ['authctx_test_wrong_shape', 'authctx_test_array', 'authctx_test_header_injection']) {
      const { source } = make({ functionName });
      await expect(source.getUserContext(namedUsers.rina), functionName).rejects.toMatchObject({
        code: 'AUTHCTX_ERR_CONTEXT_MALFORMED',
      });
    }
  });

  it('rejects within its timeout when the source is slow', async () => {
    const { source, registry } = make({ functionName: 'authctx_test_slow', timeoutMs: 150 });
    const started = performance.now();
    await expect(source.getUserContext(namedUsers.rina)).rejects.toMatchObject({ code: 'AUTHCTX_ERR_CONTEXT_TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await counterValue(registry, metricNames.sourceRequests, { outcome: 'timeout' })).toBe(1);
  });

  it('rejects with the caller\'s reason when the caller aborts', async () => {
    const { source } = make({ functionName: 'authctx_test_slow', timeoutMs: 5_000 });
    const controller = new AbortController();
    const pending = source.getUserContext(namedUsers.rina, { signal: controller.signal });
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('refuses a function name that is not a plain identifier', () => {
    expect(() => make({ functionName: 'get_user_context(); drop table public.employees; --' })).toThrow(TypeError);
  });
}
