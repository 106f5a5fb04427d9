-- authctx 003: tell authctx which cached contexts a write made stale.
--
-- Every change to a context table sends NOTIFY authctx_invalidate with the
-- normalized email of each affected employee as payload (one notification per
-- email; PostgreSQL folds duplicates within a transaction and delivers them at
-- commit, so a rolled-back write notifies nobody). authctx LISTENs on this channel
-- and drops those emails from its caches.
--
-- The trigger functions are security definer so that they can read employees
-- (row level security is on) whoever makes the write; search_path is empty and
-- every name is schema-qualified.

-- employees: the old and the new email (an email change invalidates both).
create or replace function public.authctx_employees_changed()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op in ('UPDATE', 'DELETE') then
    perform pg_catalog.pg_notify('authctx_invalidate', old.email_normalized);
  end if;
  if tg_op in ('INSERT', 'UPDATE') then
    perform pg_catalog.pg_notify('authctx_invalidate', pg_catalog.lower(pg_catalog.btrim(new.email)));
  end if;
  return null;
end
$$;

-- assignments: the employee(s) the row belonged to before and after.
create or replace function public.authctx_assignments_changed()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- OLD is null on INSERT and NEW on DELETE (PostgreSQL 11+): both covers every operation.
  perform pg_catalog.pg_notify('authctx_invalidate', e.email_normalized)
  from public.employees e
  where e.id in (old.employee_id, new.employee_id);
  return null;
end
$$;

-- slots: a slot moving to another region changes the regions of everyone assigned to it.
create or replace function public.authctx_slots_changed()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pg_catalog.pg_notify('authctx_invalidate', e.email_normalized)
  from public.employees e
  where e.id in (
    select a.employee_id from public.assignments a
    where a.slot_code in (old.code, new.code));
  return null;
end
$$;

-- regions: a region appearing or disappearing changes every 'all'-scope context
-- and those whose primary region, assignments or slots point at it.
create or replace function public.authctx_regions_changed()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_codes text[] := array[old.code, new.code];  -- OLD/NEW null where absent (PostgreSQL 11+)
begin
  perform pg_catalog.pg_notify('authctx_invalidate', e.email_normalized)
  from public.employees e
  where e.region_code = any (v_codes)
     or e.id in (
       select a.employee_id from public.assignments a
       left join public.slots s on s.code = a.slot_code
       where a.scope = 'all' or a.region_code = any (v_codes) or s.region_code = any (v_codes));
  return null;
end
$$;

drop trigger if exists authctx_invalidate on public.employees;
create trigger authctx_invalidate
  after insert or update or delete on public.employees
  for each row execute function public.authctx_employees_changed();

drop trigger if exists authctx_invalidate on public.assignments;
create trigger authctx_invalidate
  after insert or update or delete on public.assignments
  for each row execute function public.authctx_assignments_changed();

drop trigger if exists authctx_invalidate on public.slots;
create trigger authctx_invalidate
  after update of code, region_code or delete on public.slots
  for each row execute function public.authctx_slots_changed();

drop trigger if exists authctx_invalidate on public.regions;
create trigger authctx_invalidate
  after insert or update of code or delete on public.regions
  for each row execute function public.authctx_regions_changed();

-- Trigger functions need no EXECUTE grant to fire; nobody should call them directly.
do $$
declare
  r text;
  f text;
begin
  foreach f in array array[
    'public.authctx_employees_changed()', 'public.authctx_assignments_changed()',
    'public.authctx_slots_changed()', 'public.authctx_regions_changed()'] loop
    execute format('revoke all on function %s from public', f);
    foreach r in array array['anon', 'authenticated'] loop
      if exists (select 1 from pg_catalog.pg_roles where rolname = r) then
        execute format('revoke all on function %s from %I', f, r);
      end if;
    end loop;
  end loop;
end
$$;
