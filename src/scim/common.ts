import type { Ctx } from '../context.js';
import type { RoleMapping } from '../orgs/role-mapping.js';
import { loadRoleMapping } from '../orgs/role-mapping.js';
import type { Tx } from '../db/schema.js';
import type { Directory } from './directories.js';
import { ScimError, scimBad } from './errors.js';
import { parseFilter, type Filter } from './filter.js';
import { MAX_RESULTS } from './schemas.js';
import type { SyncNote } from './sync-log.js';

/** One SCIM request in progress: who (the directory), where its URLs start, and what the sync log should say. */
export interface ScimCall {
  ctx: Ctx;
  dir: Directory;
  base: string;
  notes: SyncNote[];
  log: {
    operation: string;
    resourceType: string | null;
    resourceId: string | null;
    userName: string | null;
    groupName: string | null;
    /** userNames a group change added or removed, so the log is searchable by the people affected. */
    members?: { added: string[]; removed: string[] };
  };
}

export const etagOf = (version: number) => `W/"${version}"`;

/** If-Match (RFC 7644 §3.14): a stale version answers 412 and changes nothing. */
export function checkIfMatch(ifMatch: string | undefined, version: number): void {
  if (ifMatch === undefined || ifMatch.trim() === '*' || ifMatch.trim() === '') return;
  const wanted = ifMatch.split(',').map((s) => s.trim());
  if (!wanted.includes(etagOf(version)) && !wanted.includes(`"${version}"`)) {
    throw new ScimError(412, 'version_mismatch', `The resource changed since you read it (its version is now ${etagOf(version)}). Read it again and retry with the new ETag in If-Match.`);
  }
}

export interface ListQuery {
  filter?: string | undefined;
  startIndex?: string | number | undefined;
  count?: string | number | undefined;
  sortBy?: string | undefined;
  sortOrder?: string | undefined;
  attributes?: string | undefined;
  excludedAttributes?: string | undefined;
}

export interface ListWindow {
  filter: Filter | undefined;
  startIndex: number;
  count: number;
}

function int(raw: string | number | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isFinite(n)) throw scimBad('invalidValue', 'invalid_value', `"${name}" must be a whole number.`);
  return Math.trunc(n);
}

/** RFC 7644 §3.4.2.4: startIndex below 1 counts as 1; a negative count as 0. */
export function listWindow(q: ListQuery): ListWindow {
  const startIndex = Math.max(1, int(q.startIndex, 'startIndex', 1));
  const count = Math.min(MAX_RESULTS, Math.max(0, int(q.count, 'count', 100)));
  return { filter: q.filter !== undefined && q.filter !== '' ? parseFilter(q.filter) : undefined, startIndex, count };
}

export function listResponse(resources: Record<string, unknown>[], total: number, startIndex: number): Record<string, unknown> {
  return { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: total, startIndex, itemsPerPage: resources.length, Resources: resources };
}

/** Maps a unique-constraint violation (either dialect) to a SCIM 409 uniqueness. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed|duplicate key value/i.test(e?.message ?? '');
}

/** A row referenced by this request was deleted by a concurrent request (foreign key violation). */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23503' || e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || /FOREIGN KEY constraint failed|violates foreign key constraint/i.test(e?.message ?? '');
}

export const mappingFor = (tx: Tx, call: ScimCall): Promise<RoleMapping> => loadRoleMapping(tx, call.dir.org_id);

export function sortValue(resource: Record<string, unknown>, sortBy: string): string {
  const parts = sortBy.split('.');
  let v: unknown = resource;
  for (const p of parts) {
    if (Array.isArray(v)) v = (v.find((x) => (x as { primary?: boolean }).primary) ?? v[0]) as unknown;
    if (v === null || typeof v !== 'object') return '';
    const key = Object.keys(v).find((k) => k.toLowerCase() === p.toLowerCase());
    v = key === undefined ? undefined : (v as Record<string, unknown>)[key];
  }
  if (Array.isArray(v)) v = v[0];
  if (v !== null && typeof v === 'object') v = (v as { value?: unknown }).value;
  return v === undefined || v === null ? '' : String(v).toLowerCase();
}
