/**
 * The "before": the context assembled from the per-table queries of
 * migrations/legacy/legacy_queries.sql, through supabase-js's query builder. Used by the
 * `supabase` source while get_user_context() is not installed, so that authctx can be tried
 * before the migration is run. The rules are those of 002_get_user_context.sql; the
 * supabase-source tests check that both give the same JSON for every seeded user.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import { AuthctxError } from '../errors.js';
import type { UserContext } from './context-source.js';
import { unwrapReply } from './postgrest-reply.js';
import { parseUserContext } from './validate-context.js';

export interface LegacyQueryOptions {
  signal: AbortSignal;
  /** The validity instant for assignments, ms since the epoch. */
  nowMs: number;
}

interface EmployeeRow {
  id: string;
  email_normalized: string;
  role: string;
  region_code: string;
  active: boolean;
}

interface AssignmentRow {
  scope: string;
  region_code: string | null;
  slot_code: string | null;
}

interface SlotRow {
  code: string;
  region_code: string;
}

interface RegionRow {
  code: string;
}

const scopeRank: Record<string, number> = { slot: 1, region: 2, all: 3 };

function rows<T>(data: unknown, what: string): T[] {
  if (!Array.isArray(data)) {
    throw new AuthctxError('AUTHCTX_ERR_CONTEXT_MALFORMED', `the legacy ${what} query did not return rows`);
  }
  return data as T[];
}

/** Code-point order, as `collate "C"` sorts the ASCII codes in SQL. */
function byCode(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The context for a normalized email from the four legacy queries, or `null`. */
export async function fetchLegacyContext(
  client: SupabaseClient,
  email: string,
  options: LegacyQueryOptions,
): Promise<UserContext | null> {
  const { signal } = options;
  const employee = unwrapReply(
    await client
      .from('employees')
      .select('id,email_normalized,role,region_code,active')
      .eq('email_normalized', email)
      .abortSignal(signal)
      .retry(false)
      .maybeSingle<EmployeeRow>(),
    'legacy employee query',
  );
  if (!employee || employee.active !== true) return null;

  const now = new Date(options.nowMs).toISOString();
  const assignments = rows<AssignmentRow>(
    unwrapReply(
      await client
        .from('assignments')
        .select('scope,region_code,slot_code')
        .eq('employee_id', employee.id)
        .lte('valid_from', now)
        .or(`valid_to.is.null,valid_to.gt."${now}"`)
        .abortSignal(signal)
        .retry(false),
      'legacy assignments query',
    ),
    'assignments',
  );

  const slotCodes = [...new Set(assignments.flatMap((a) => (a.slot_code ? [a.slot_code] : [])))].sort(byCode);
  const slots =
    slotCodes.length === 0
      ? []
      : rows<SlotRow>(
          unwrapReply(
            await client.from('slots').select('code,region_code').in('code', slotCodes).abortSignal(signal).retry(false),
            'legacy slots query',
          ),
          'slots',
        );

  const widest = Math.max(0, ...assignments.map((a) => scopeRank[a.scope] ?? 0));
  const scope = widest === 3 ? 'all' : widest === 2 ? 'region' : widest === 1 ? 'slot' : 'none';
  const inScope = new Set<string>([employee.region_code]);
  for (const a of assignments) if (a.region_code) inScope.add(a.region_code);
  for (const s of slots) inScope.add(s.region_code);
  let regionQuery = client.from('regions').select('code');
  if (scope !== 'all') regionQuery = regionQuery.in('code', [...inScope].sort(byCode));
  const regionRows = rows<RegionRow>(
    unwrapReply(await regionQuery.abortSignal(signal).retry(false), 'legacy regions query'),
    'regions',
  );
  const regions = new Set(regionRows.map((r) => r.code));
  // The primary region counts even when the regions table lacks it, as in the SQL function.
  regions.add(employee.region_code);
  const ordered = [...regions].sort((a, b) =>
    a === employee.region_code ? -1 : b === employee.region_code ? 1 : byCode(a, b),
  );

  return parseUserContext(
    {
      user_id: employee.id,
      email: employee.email_normalized,
      role: employee.role,
      region: employee.region_code,
      regions: ordered,
      scope,
      slots: slotCodes,
    },
    email,
  );
}
