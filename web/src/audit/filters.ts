import type { AuditSearchQuery } from './types';

/** The search filters the API has (src/audit/search.ts), each a URL parameter of the same name. */
export const FILTER_KEYS = ['from', 'to', 'actor', 'action', 'outcome', 'target', 'ip', 'order'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;

export const OUTCOMES = ['success', 'failure', 'denied'] as const;

/** Filters from the page's URL: a filtered search is a link to paste to a colleague. */
export function filtersFromParams(params: URLSearchParams): Filters {
  const f: Filters = {};
  for (const k of FILTER_KEYS) {
    const v = params.get(k);
    if (v) f[k] = v;
  }
  return f;
}

export function paramsFromFilters(f: Filters, keep?: URLSearchParams): URLSearchParams {
  const p = new URLSearchParams();
  for (const k of FILTER_KEYS) {
    const v = f[k]?.trim();
    if (v) p.set(k, v);
  }
  const event = keep?.get('event');
  if (event) p.set('event', event);
  return p;
}

/**
 * The same rules as the API, checked before a request leaves: a time parses as a date (the API
 * uses `new Date()`), `from` is before `to`, a prefix filter is a dotted name ending in *, and the
 * lengths the API accepts.
 */
export function validateFilters(f: Filters): Partial<Record<FilterKey, string>> {
  const errors: Partial<Record<FilterKey, string>> = {};
  for (const k of ['from', 'to'] as const) {
    const v = f[k]?.trim();
    if (v && Number.isNaN(new Date(v).getTime())) errors[k] = 'Not a time: use ISO 8601 such as 2026-01-31T00:00:00Z.';
  }
  const from = f.from?.trim();
  const to = f.to?.trim();
  if (from && to && !errors.from && !errors.to && new Date(from).getTime() >= new Date(to).getTime())
    errors.to = '“To” must be later than “From”.';
  const action = f.action?.trim();
  if (action) {
    if (action.length > 200) errors.action = 'At most 200 characters.';
    else if (action.endsWith('*') && !/^[a-z0-9_.]*$/.test(action.slice(0, -1)))
      errors.action = 'A prefix is a dotted name ending in *, such as member.*';
  }
  if ((f.actor?.length ?? 0) > 254) errors.actor = 'At most 254 characters.';
  if ((f.target?.length ?? 0) > 200) errors.target = 'At most 200 characters.';
  if ((f.ip?.length ?? 0) > 64) errors.ip = 'At most 64 characters.';
  if (f.outcome && !(OUTCOMES as readonly string[]).includes(f.outcome)) errors.outcome = 'Choose an outcome.';
  if (f.order && f.order !== 'asc' && f.order !== 'desc') errors.order = 'Newest or oldest first.';
  return errors;
}

/** The filters as the API's query: times normalized to ISO 8601 UTC. Invalid ones are left out. */
export function toQuery(f: Filters): Omit<AuditSearchQuery, 'limit' | 'cursor'> {
  const errors = validateFilters(f);
  const q: Omit<AuditSearchQuery, 'limit' | 'cursor'> = {};
  const time = (v: string | undefined) => (v ? new Date(v.trim()).toISOString() : undefined);
  if (f.from && !errors.from) q.from = time(f.from);
  if (f.to && !errors.to) q.to = time(f.to);
  if (f.actor?.trim() && !errors.actor) q.actor = f.actor.trim();
  if (f.action?.trim() && !errors.action) q.action = f.action.trim();
  if (f.outcome && !errors.outcome) q.outcome = f.outcome as (typeof OUTCOMES)[number];
  if (f.target?.trim() && !errors.target) q.target = f.target.trim();
  if (f.ip?.trim() && !errors.ip) q.ip = f.ip.trim();
  if (f.order === 'asc') q.order = 'asc';
  return q;
}
