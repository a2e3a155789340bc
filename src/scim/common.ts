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
    throw new ScimError(
      412,
      'version_mismatch',
      `The resource changed since you read it (its version is now ${etagOf(version)}). Read it again and retry with the new ETag in If-Match.`,
    );
  }
}

/** The query parameters of a GET or the attributes of a SearchRequest (RFC 7644 §3.4.2, §3.4.3), checked. */
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

const TEXT_PARAMS = ['filter', 'sortBy', 'sortOrder', 'attributes', 'excludedAttributes'] as const;
const NUMBER_PARAMS = ['startIndex', 'count'] as const;
export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

/**
 * Reads list parameters from a query string (`where: 'query'`) or a POST /.search body. Each must
 * appear once and have its type: a repeated `?sortBy=` or an object as `filter` is a 400, never a
 * crash further down. In a SearchRequest `attributes`/`excludedAttributes` are arrays of paths
 * (RFC 7644 §3.4.3); a comma-separated string is accepted too. Unknown keys are ignored.
 */
export function readListQuery(raw: unknown, where: 'query' | 'body'): ListQuery {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw scimBad(
      'invalidSyntax',
      'invalid_search_request',
      `A search body must be a JSON object (schemas: ["${SEARCH_REQUEST_SCHEMA}"]) with filter, startIndex, count, sortBy, sortOrder, attributes or excludedAttributes.`,
    );
  }
  const src = raw as Record<string, unknown>;
  const get = (name: string): unknown => {
    const key = Object.keys(src).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : src[key];
  };
  const out: ListQuery = {};
  const twice = (name: string) =>
    scimBad('invalidValue', 'invalid_value', `"${name}" was given more than once; give it once.`);
  for (const name of TEXT_PARAMS) {
    let v = get(name);
    if (v === undefined || v === null) continue;
    if (where === 'body' && (name === 'attributes' || name === 'excludedAttributes') && Array.isArray(v)) {
      if (!v.every((x) => typeof x === 'string'))
        throw scimBad('invalidValue', 'invalid_value', `"${name}" must be a list of attribute paths (strings).`);
      v = v.join(',');
    }
    if (Array.isArray(v) && where === 'query') throw twice(name);
    if (typeof v !== 'string')
      throw scimBad(
        'invalidValue',
        'invalid_value',
        `"${name}" must be a string, not ${JSON.stringify(v).slice(0, 40)}.`,
      );
    out[name] = v;
  }
  for (const name of NUMBER_PARAMS) {
    const v = get(name);
    if (v === undefined || v === null) continue;
    if (Array.isArray(v) && where === 'query') throw twice(name);
    if (typeof v !== 'string' && typeof v !== 'number')
      throw scimBad(
        'invalidValue',
        'invalid_value',
        `"${name}" must be a whole number, not ${JSON.stringify(v).slice(0, 40)}.`,
      );
    out[name] = v;
  }
  return out;
}

/** Beyond any real position (and within every engine's OFFSET range): larger values count as this. */
export const MAX_LIST_INDEX = 2_147_483_647;
const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

function int(raw: string | number | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : NUMERIC.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isNaN(n))
    throw scimBad(
      'invalidValue',
      'invalid_value',
      `"${name}" must be a whole number, not ${JSON.stringify(raw).slice(0, 40)}.`,
    );
  // 99999999999999999999, 1e30 and Infinity are simply past the end; -1e30 is before the start.
  return Math.max(-MAX_LIST_INDEX, Math.min(MAX_LIST_INDEX, Math.trunc(n)));
}

/** RFC 7644 §3.4.2.4: startIndex below 1 counts as 1; a negative count as 0; both are capped. */
export function listWindow(q: ListQuery): ListWindow {
  const startIndex = Math.max(1, int(q.startIndex, 'startIndex', 1));
  const count = Math.min(MAX_RESULTS, Math.max(0, int(q.count, 'count', 100)));
  return { filter: q.filter !== undefined && q.filter !== '' ? parseFilter(q.filter) : undefined, startIndex, count };
}

export function listResponse(
  resources: Record<string, unknown>[],
  total: number,
  startIndex: number,
): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
    totalResults: total,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/** Maps a unique-constraint violation (either dialect) to a SCIM 409 uniqueness. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    e?.code === '23505' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    /UNIQUE constraint failed|duplicate key value/i.test(e?.message ?? '')
  );
}

/** A row referenced by this request was deleted by a concurrent request (foreign key violation). */
export function isForeignKeyViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return (
    e?.code === '23503' ||
    e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY' ||
    /FOREIGN KEY constraint failed|violates foreign key constraint/i.test(e?.message ?? '')
  );
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

/**
 * externalId is not unique (RFC 7643 §3.1, uniqueness "none"): a shared one is stored, and the sync
 * log says plainly that it usually means a duplicated person in the identity provider.
 */
export async function sharedExternalIdNotes(
  tx: Tx,
  call: ScimCall,
  table: 'scim_users' | 'scim_groups',
  externalId: string | null,
  selfId: string,
  name: string,
): Promise<SyncNote[]> {
  if (externalId === null) return [];
  const others =
    table === 'scim_users'
      ? await tx
          .selectFrom('scim_users')
          .select(['id', 'user_name as name'])
          .where('directory_id', '=', call.dir.id)
          .where('external_id', '=', externalId)
          .where('id', '!=', selfId)
          .orderBy('id')
          .limit(5)
          .execute()
      : await tx
          .selectFrom('scim_groups')
          .select(['id', 'display_name as name'])
          .where('directory_id', '=', call.dir.id)
          .where('external_id', '=', externalId)
          .where('id', '!=', selfId)
          .orderBy('id')
          .limit(5)
          .execute();
  if (!others.length) return [];
  const what = table === 'scim_users' ? 'user' : 'group';
  const list = others.map((o) => `"${o.name}" (${o.id})`).join(', ');
  return [
    {
      cause: 'shared_external_id',
      ...(table === 'scim_users' ? { user: name } : { group: name }),
      explanation: `${name} has externalId "${externalId.slice(0, 100)}", which this directory's ${what}${others.length > 1 ? 's' : ''} ${list} also ${others.length > 1 ? 'have' : 'has'}. SCIM allows it and Palisade keeps both, but an identity provider normally gives each ${what} its own externalId: check whether the ${what} is duplicated there (a filter on externalId returns every one of them).`,
    },
  ];
}
