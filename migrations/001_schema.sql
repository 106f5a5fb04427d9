-- authctx 001: the tables behind the auth context.
--
-- Runs unchanged in the Supabase SQL editor, with psql on plain PostgreSQL 15+,
-- and on PGlite. Idempotent: re-running it changes nothing.
--
--   regions      region codes (JKT, BDG, ...)
--   employees    one row per person who may sign in: email, role, primary region, active flag
--   slots        work slots, each in one region
--   assignments  what an employee may see: scope 'all' | 'region' | 'slot', valid in [valid_from, valid_to)

-- Supabase already has these roles; plain PostgreSQL and PGlite do not.
do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin;
  end if;
end
$$;

create table if not exists public.regions (
  code text primary key check (code <> '' and code = upper(code)),
  name text not null default ''
);

create table if not exists public.employees (
  id uuid primary key default gen_random_uuid(),
  email text not null check (position('@' in email) > 1),
  -- Lookups always compare the normalized form; the generated column lets the legacy
  -- per-table queries (PostgREST `email_normalized=eq.…`) use the same unique index.
  email_normalized text generated always as (lower(btrim(email))) stored,
  role text not null check (role <> ''),
  region_code text not null references public.regions (code) on update cascade,
  active boolean not null default true,
  created_at timestamptz not null default now()
);

create unique index if not exists employees_email_normalized_key
  on public.employees (email_normalized);

create table if not exists public.slots (
  code text primary key check (code <> ''),
  region_code text not null references public.regions (code) on update cascade,
  name text not null default ''
);

create index if not exists slots_region_code_idx on public.slots (region_code);

create table if not exists public.assignments (
  id bigint generated always as identity primary key,
  employee_id uuid not null references public.employees (id) on delete cascade,
  scope text not null check (scope in ('all', 'region', 'slot')),
  region_code text references public.regions (code) on update cascade on delete cascade,
  slot_code text references public.slots (code) on update cascade on delete cascade,
  valid_from timestamptz not null default now(),
  valid_to timestamptz,
  check (valid_to is null or valid_to > valid_from),
  check (
    (scope = 'all' and region_code is null and slot_code is null)
    or (scope = 'region' and region_code is not null and slot_code is null)
    or (scope = 'slot' and slot_code is not null and region_code is null)
  )
);

-- The lookup reads every assignment of one employee, then filters on validity.
create index if not exists assignments_employee_validity_idx
  on public.assignments (employee_id, valid_from, valid_to);
create index if not exists assignments_slot_code_idx
  on public.assignments (slot_code) where slot_code is not null;
create index if not exists assignments_all_scope_idx
  on public.assignments (employee_id) where scope = 'all';

-- Supabase exposes every table in `public` through PostgREST: without row level
-- security the anon key could list every employee. No policy for anon/authenticated
-- means they see nothing; service_role (authctx's legacy fallback) may read.
alter table public.regions enable row level security;
alter table public.employees enable row level security;
alter table public.slots enable row level security;
alter table public.assignments enable row level security;

drop policy if exists authctx_service_read on public.regions;
create policy authctx_service_read on public.regions for select to service_role using (true);
drop policy if exists authctx_service_read on public.employees;
create policy authctx_service_read on public.employees for select to service_role using (true);
drop policy if exists authctx_service_read on public.slots;
create policy authctx_service_read on public.slots for select to service_role using (true);
drop policy if exists authctx_service_read on public.assignments;
create policy authctx_service_read on public.assignments for select to service_role using (true);

grant select on public.regions, public.employees, public.slots, public.assignments to service_role;

do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      execute format(
        'revoke all on public.regions, public.employees, public.slots, public.assignments from %I', r);
    end if;
  end loop;
end
$$;
