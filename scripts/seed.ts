/**
 * A deterministic data set for the context tables (migrations/001_schema.sql): used by
 * the tests, the demo (PGlite) and the benchmark. The same options always give the
 * same SQL and, once applied, the same contexts.
 *
 *   node dist/scripts/seed.js --employees 10000 [--reset] | psql "$AUTHCTX_DATABASE_URL"
 */
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';

export interface SeedOptions {
  /** Generated employees besides the named users. Default 300. Scales to 100k+ (one set-based insert). */
  employees?: number;
  /** Truncate the context tables first. Default false. */
  reset?: boolean;
}

export const seedRegions = [
  ['JKT', 'Jakarta'],
  ['BDG', 'Bandung'],
  ['SBY', 'Surabaya'],
  ['MDN', 'Medan'],
  ['SMG', 'Semarang'],
  ['DPS', 'Denpasar'],
  ['MKS', 'Makassar'],
  ['PLB', 'Palembang'],
] as const;

/**
 * Named users with known contexts (assignments valid since 2024-01-01 unless noted):
 * - rina: area_manager in JKT; regions JKT and BDG, slot JKT-AM-01; an expired (2024) SBY
 *   assignment and a future (2999) MDN one, neither of which counts.
 * - budi: inactive supervisor → null.
 * - admin: scope `all`.
 * - sari: agent with one slot (SBY-AG-02).
 * - dewi: stored as `'  Dewi@Example.com '`; slots in BDG and JKT.
 * - joko: agent without any assignment → scope `none`.
 */
export const namedUsers = {
  rina: 'rina@example.com',
  budi: 'budi@example.com',
  admin: 'admin@example.com',
  sari: 'sari@example.com',
  dewi: 'dewi@example.com',
  joko: 'joko@example.com',
} as const;

/** The id the seed gives a named user (`md5('authctx-seed-<name>')::uuid`, as the SQL computes it). */
export function namedUserId(name: keyof typeof namedUsers): string {
  const hex = createHash('md5').update(`authctx-seed-${name}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The context `get_user_context('rina@example.com')` returns on the seeded data (DESIGN.md's example). */
export const rinaContext = {
  user_id: namedUserId('rina'),
  email: 'rina@example.com',
  role: 'area_manager',
  region: 'JKT',
  regions: ['JKT', 'BDG'],
  scope: 'region',
  slots: ['JKT-AM-01'],
};

const slotKinds = [
  ['AM', 2],
  ['SV', 5],
  ['AG', 20],
] as const;

const regionArray = `array[${seedRegions.map(([code]) => `'${code}'`).join(',')}]`;
const regionCount = seedRegions.length;

/** The normalized email of generated employee `i` (1-based); every 13th is stored mixed-case. */
export function generatedEmail(i: number): string {
  return `emp${String(i).padStart(6, '0')}@example.com`;
}

/** Every seeded email, normalized, active or not (the named users first). */
export function seededEmails(options: SeedOptions = {}): string[] {
  const count = employeeCount(options);
  const emails: string[] = Object.values(namedUsers);
  for (let i = 1; i <= count; i++) emails.push(generatedEmail(i));
  return emails;
}

function employeeCount(options: SeedOptions): number {
  const count = options.employees ?? 300;
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`employees must be a non-negative integer, got ${count}`);
  return count;
}

/** Plain SQL (one transaction) that seeds the context tables. */
export function seedSql(options: SeedOptions = {}): string {
  const count = employeeCount(options);
  const id = (key: string): string => `md5('authctx-seed-${key}')::uuid`;
  const since = `'2024-01-01T00:00:00Z'::timestamptz`;
  const lines: string[] = ['begin;', toggleInvalidationTriggers('disable')];
  if (options.reset) {
    lines.push('truncate public.assignments, public.employees, public.slots, public.regions cascade;');
  }
  lines.push(
    `insert into public.regions (code, name) values ${seedRegions.map(([c, n]) => `('${c}', '${n}')`).join(', ')}
  on conflict do nothing;`,
    `insert into public.slots (code, region_code, name)
select r.code || '-' || k.kind || '-' || lpad(n::text, 2, '0'), r.code, k.kind || ' ' || n
from public.regions r
cross join (values ${slotKinds.map(([kind, n]) => `('${kind}', ${n})`).join(', ')}) as k(kind, n_max)
cross join lateral generate_series(1, k.n_max) as n
where r.code = any (${regionArray})
on conflict do nothing;`,
    // Named users.
    `insert into public.employees (id, email, role, region_code, active) values
  (${id('rina')}, 'rina@example.com', 'area_manager', 'JKT', true),
  (${id('budi')}, 'budi@example.com', 'supervisor', 'BDG', false),
  (${id('admin')}, 'admin@example.com', 'admin', 'JKT', true),
  (${id('sari')}, 'sari@example.com', 'agent', 'SBY', true),
  (${id('dewi')}, '  Dewi@Example.com ', 'supervisor', 'BDG', true),
  (${id('joko')}, 'joko@example.com', 'agent', 'MDN', true)
on conflict do nothing;`,
    `insert into public.assignments (employee_id, scope, region_code, slot_code, valid_from, valid_to) values
  (${id('rina')}, 'region', 'JKT', null, ${since}, null),
  (${id('rina')}, 'region', 'BDG', null, ${since}, null),
  (${id('rina')}, 'slot', null, 'JKT-AM-01', ${since}, null),
  (${id('rina')}, 'region', 'SBY', null, ${since}, '2024-06-30T00:00:00Z'),
  (${id('rina')}, 'region', 'MDN', null, '2999-01-01T00:00:00Z', null),
  (${id('budi')}, 'region', 'BDG', null, ${since}, null),
  (${id('admin')}, 'all', null, null, ${since}, null),
  (${id('sari')}, 'slot', null, 'SBY-AG-02', ${since}, null),
  (${id('dewi')}, 'slot', null, 'BDG-SV-01', ${since}, null),
  (${id('dewi')}, 'slot', null, 'JKT-AG-05', ${since}, null);`,
  );
  if (count > 0) {
    // Generated employees: role, region, activity and assignments are pure functions of i.
    lines.push(
      `insert into public.employees (id, email, role, region_code, active)
select md5('authctx-seed-employee-' || i)::uuid,
  case when i % 13 = 0 then 'Emp' || lpad(i::text, 6, '0') || '@Example.COM'
       else 'emp' || lpad(i::text, 6, '0') || '@example.com' end,
  case when i % 100 = 0 then 'admin' when i % 10 = 0 then 'area_manager'
       when i % 4 = 0 then 'supervisor' else 'agent' end,
  (${regionArray})[1 + i % ${regionCount}],
  i % 17 <> 0
from generate_series(1, ${count}) as i
on conflict do nothing;`,
      `insert into public.assignments (employee_id, scope, region_code, slot_code, valid_from, valid_to)
select md5('authctx-seed-employee-' || g.i)::uuid, a.scope, a.region_code, a.slot_code, a.valid_from, a.valid_to
from (
  select i,
    case when i % 100 = 0 then 'admin' when i % 10 = 0 then 'area_manager'
         when i % 4 = 0 then 'supervisor' else 'agent' end as role,
    (${regionArray})[1 + i % ${regionCount}] as r0,
    (${regionArray})[1 + (i + 1) % ${regionCount}] as r1,
    (${regionArray})[1 + (i + 3) % ${regionCount}] as r3,
    lpad((1 + i % 20)::text, 2, '0') as ag,
    lpad((1 + i % 5)::text, 2, '0') as sv
  from generate_series(1, ${count}) as i
) as g
cross join lateral (
  select 'all', null, null, ${since}, null::timestamptz where g.role = 'admin'
  union all select 'region', g.r0, null, ${since}, null where g.role = 'area_manager'
  union all select 'region', g.r1, null, ${since}, null where g.role = 'area_manager'
  union all select 'slot', null, g.r0 || '-AM-01', ${since}, null where g.role = 'area_manager'
  union all select 'slot', null, g.r0 || '-SV-' || g.sv, ${since}, null where g.role = 'supervisor'
  union all select 'slot', null, g.r0 || '-AG-' || g.ag, ${since}, null where g.role = 'supervisor'
  union all select 'slot', null, g.r0 || '-AG-' || g.ag, ${since}, null where g.role = 'agent' and g.i % 23 <> 0
  union all select 'slot', null, g.r1 || '-AG-' || g.ag, ${since}, null where g.role = 'agent' and g.i % 9 = 0
  union all select 'region', g.r3, null, ${since}, '2024-06-30T00:00:00Z' where g.i % 7 = 0
  union all select 'all', null, null, '2999-01-01T00:00:00Z', null where g.i % 11 = 0
) as a(scope, region_code, slot_code, valid_from, valid_to);`,
    );
  }
  lines.push(
    toggleInvalidationTriggers('enable'),
    'analyze public.regions, public.employees, public.slots, public.assignments;',
    'commit;',
  );
  return `${lines.join('\n')}\n`;
}

/**
 * A bulk seed concerns no cached context, and one NOTIFY per inserted row would
 * triple its time: switch migration 003's triggers off inside the seed's transaction.
 */
function toggleInvalidationTriggers(action: 'enable' | 'disable'): string {
  return `do $$
declare
  t text;
begin
  foreach t in array array['regions', 'employees', 'slots', 'assignments'] loop
    if exists (select 1 from pg_catalog.pg_trigger
               where tgname = 'authctx_invalidate' and tgrelid = ('public.' || t)::regclass) then
      execute format('alter table public.%I ${action} trigger authctx_invalidate', t);
    end if;
  end loop;
end
$$;`;
}

function parseArgs(argv: string[]): SeedOptions {
  const options: SeedOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--reset') options.reset = true;
    else if (arg === '--employees') options.employees = Number(argv[++i]);
    else throw new Error(`unknown argument ${arg}; usage: seed [--employees N] [--reset]`);
  }
  return options;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(seedSql(parseArgs(process.argv.slice(2))));
}
