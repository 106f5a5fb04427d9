-- authctx legacy: the "before" — the per-table queries a backend ran on every
-- request to build one auth context (the seeds' "4-5 DB calls per login"). Not a
-- migration: `npm run migrate` does not apply this file. The benchmark replays these
-- queries one round trip each, and authctx's `supabase` source issues the same
-- queries through PostgREST when get_user_context() is not installed yet.
--
-- Each query is a separate statement separated by a line `-- query: <name>`;
-- parameters are positional ($1, $2). The client assembles the context exactly as
-- get_user_context() does (see 002_get_user_context.sql for the rules).

-- query: employee
-- $1 = normalized email. No row, or active = false → the context is null.
select id, email_normalized, role, region_code, active
from public.employees
where email_normalized = $1;

-- query: assignments
-- $1 = employees.id, $2 = now. Only assignments valid now count.
select scope, region_code, slot_code
from public.assignments
where employee_id = $1
  and valid_from <= $2
  and (valid_to is null or valid_to > $2);

-- query: slots
-- $1 = the slot codes of the 'slot' assignments (text[]); gives their regions.
select code, region_code
from public.slots
where code = any ($1);

-- query: regions
-- $1 = the region codes in scope (text[]), or null for scope 'all' (every region).
select code
from public.regions
where $1::text[] is null or code = any ($1);
