-- authctx 002: get_user_context(p_email) — the whole auth context in one round trip.
--
-- Returns null for an unknown or inactive employee, else (DESIGN.md "Data shapes"):
--   { "user_id", "email", "role", "region", "regions", "scope", "slots" }
-- where, counting only assignments valid now (valid_from <= now() < valid_to):
--   scope    the widest assigned scope: 'all' > 'region' > 'slot'; 'none' without any
--   regions  the primary region first, then (sorted) every region in scope:
--            all regions for 'all', assigned regions, and the regions of assigned slots
--   slots    the assigned slot codes, sorted
--   email    the normalized (trimmed, lower-cased) email
-- Sorting uses the "C" collation so that every client (and authctx's legacy
-- fallback) orders codes the same way regardless of the database locale.
--
-- One statement, stable, security definer with an empty search_path (every name is
-- schema-qualified), executable by service_role only.

create or replace function public.get_user_context(p_email text)
returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  with emp as (
    select e.id, e.email_normalized, e.role, e.region_code
    from public.employees e
    where e.email_normalized = pg_catalog.lower(pg_catalog.btrim(p_email))
      and e.active
  ),
  asg as (
    select a.scope, a.region_code, a.slot_code, s.region_code as slot_region_code
    from public.assignments a
    join emp on a.employee_id = emp.id
    left join public.slots s on s.code = a.slot_code
    where a.valid_from <= pg_catalog.now()
      and (a.valid_to is null or a.valid_to > pg_catalog.now())
  ),
  widest as (
    select coalesce(
      (select case max(case asg.scope when 'all' then 3 when 'region' then 2 else 1 end)
                when 3 then 'all' when 2 then 'region' when 1 then 'slot' end
       from asg),
      'none') as scope
  ),
  scoped_regions as (
    select emp.region_code as code from emp
    union
    select r.code from public.regions r, widest where widest.scope = 'all'
    union
    select asg.region_code from asg where asg.region_code is not null
    union
    select asg.slot_region_code from asg where asg.slot_region_code is not null
  )
  select jsonb_build_object(
    'user_id', emp.id::text,
    'email', emp.email_normalized,
    'role', emp.role,
    'region', emp.region_code,
    'regions', (
      select jsonb_agg(sr.code order by sr.code = emp.region_code desc, sr.code collate "C")
      from scoped_regions sr),
    'scope', widest.scope,
    'slots', coalesce(
      (select jsonb_agg(d.slot_code order by d.slot_code collate "C")
       from (select distinct asg.slot_code from asg where asg.slot_code is not null) d),
      '[]'::jsonb)
  )
  from emp, widest
$$;

comment on function public.get_user_context(text) is
  'authctx: the auth context of an active employee by email, or null';

-- Functions are executable by PUBLIC by default, and Supabase additionally grants
-- anon and authenticated explicitly: revoke all three, then allow service_role only.
revoke all on function public.get_user_context(text) from public;
do $$
declare
  r text;
begin
  foreach r in array array['anon', 'authenticated'] loop
    if exists (select 1 from pg_catalog.pg_roles where rolname = r) then
      execute format('revoke all on function public.get_user_context(text) from %I', r);
    end if;
  end loop;
end
$$;
grant execute on function public.get_user_context(text) to service_role;
