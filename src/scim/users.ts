import type { Queryable, Tx } from '../db/schema.js';
import { newId } from '../ids.js';
import { normalizeEmail } from '../users/email.js';
import { type ListQuery, type ScimCall, checkIfMatch, etagOf, isUniqueViolation, listResponse, listWindow, mappingFor, sortValue } from './common.js';
import { ScimError, scimBad, scimNotFound } from './errors.js';
import { matches, requiredEqualities } from './filter.js';
import { deprovision, linkPalisadeUser, syncMembership } from './lifecycle.js';
import { type JsonObject, applyPatch, canonicalResource, project, readPatchOps, schemasOf } from './resource.js';
import { SCHEMA_SETS, USER_SCHEMA } from './schemas.js';
import type { ScimUsersTable } from './tables.js';

type UserRow = ScimUsersTable;
const isObj = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

async function groupsOf(db: Queryable, ids: string[]): Promise<Map<string, { value: string; display: string }[]>> {
  const out = new Map<string, { value: string; display: string }[]>();
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    if (!chunk.length) continue;
    const rows = await db
      .selectFrom('scim_group_members')
      .innerJoin('scim_groups', 'scim_groups.id', 'scim_group_members.group_id')
      .select(['scim_group_members.scim_user_id', 'scim_groups.id', 'scim_groups.display_name'])
      .where('scim_group_members.scim_user_id', 'in', chunk)
      .orderBy('scim_groups.id')
      .execute();
    for (const r of rows) {
      const list = out.get(r.scim_user_id) ?? [];
      list.push({ value: r.id, display: r.display_name });
      out.set(r.scim_user_id, list);
    }
  }
  return out;
}

function toResource(call: ScimCall, row: UserRow, groups: { value: string; display: string }[]): JsonObject {
  const stored = JSON.parse(row.resource) as JsonObject;
  const out: JsonObject = { schemas: schemasOf('User', stored), id: row.id, ...stored, active: row.active === 1 };
  if (groups.length) out.groups = groups.map((g) => ({ value: g.value, display: g.display, $ref: `${call.base}/Groups/${g.value}`, type: 'direct' }));
  out.meta = { resourceType: 'User', created: row.created_at, lastModified: row.updated_at, location: `${call.base}/Users/${row.id}`, version: etagOf(row.version) };
  return out;
}

async function loadRow(db: Queryable, call: ScimCall, id: string): Promise<UserRow> {
  const row = await db.selectFrom('scim_users').selectAll().where('id', '=', id).where('directory_id', '=', call.dir.id).executeTakeFirst();
  if (!row) throw scimNotFound('User', id);
  return row;
}

export async function getUser(call: ScimCall, id: string, q: ListQuery): Promise<{ body: JsonObject; etag: string }> {
  call.log.resourceId = id;
  const row = await loadRow(call.ctx.db, call, id);
  call.log.userName = row.user_name;
  const full = toResource(call, row, (await groupsOf(call.ctx.db, [row.id])).get(row.id) ?? []);
  return { body: project('User', full, q.attributes, q.excludedAttributes), etag: etagOf(row.version) };
}

/** The Palisade identity of a SCIM user: its primary (else work, else first) email, else an email-shaped userName. */
function emailOf(resource: JsonObject): string {
  const emails = Array.isArray(resource.emails) ? resource.emails.filter(isObj) : [];
  const pick = emails.find((e) => e.primary === true) ?? emails.find((e) => typeof e.type === 'string' && e.type.toLowerCase() === 'work') ?? emails[0];
  const candidates = [pick?.value, resource.userName].filter((v): v is string => typeof v === 'string');
  for (const c of candidates) {
    try {
      return normalizeEmail(c);
    } catch {
      // try the next candidate
    }
  }
  throw scimBad(
    'invalidValue',
    'no_email',
    `User "${String(resource.userName ?? '').slice(0, 100)}" has no email address. Palisade identifies people by email: send a primary email in "emails", or use the email address as userName (in Okta: "Email" as the username format; in Entra: map userPrincipalName or mail to userName).`,
  );
}

function displayNameOf(r: JsonObject): string | null {
  if (typeof r.displayName === 'string' && r.displayName.trim()) return r.displayName.trim();
  const n = isObj(r.name) ? r.name : undefined;
  if (n && typeof n.formatted === 'string') return n.formatted;
  const parts = [n?.givenName, n?.familyName].filter((x): x is string => typeof x === 'string');
  return parts.length ? parts.join(' ') : null;
}

function validate(resource: JsonObject): { userName: string; externalId: string | null; active: boolean } {
  const userName = resource.userName;
  if (typeof userName !== 'string' || !userName.trim()) throw scimBad('invalidValue', 'missing_username', 'userName is required and must be a non-empty string (usually the person\'s email address).');
  if (userName.length > 300) throw scimBad('invalidValue', 'invalid_value', 'userName is longer than 300 characters.');
  const ext = resource.externalId;
  if (ext !== undefined && ext !== null && typeof ext !== 'string') throw scimBad('invalidValue', 'invalid_value', 'externalId must be a string.');
  if (typeof ext === 'string' && ext.length > 300) throw scimBad('invalidValue', 'invalid_value', 'externalId is longer than 300 characters.');
  const active = resource.active === undefined || resource.active === null ? true : resource.active === true;
  return { userName: userName.trim(), externalId: typeof ext === 'string' && ext !== '' ? ext : null, active };
}

async function assertUnique(tx: Tx, call: ScimCall, userName: string, externalId: string | null, selfId: string | null): Promise<void> {
  const clash = await tx.selectFrom('scim_users').select(['id', 'user_name']).where('directory_id', '=', call.dir.id).where('user_name_key', '=', userName.toLowerCase()).executeTakeFirst();
  if (clash && clash.id !== selfId) {
    throw new ScimError(409, 'duplicate_username', `A user with userName "${userName}" already exists in this directory (id ${clash.id}). The identity provider should match the existing user (GET /Users?filter=userName eq "${userName}") instead of creating it again.`, 'uniqueness');
  }
  if (externalId !== null) {
    const ex = await tx.selectFrom('scim_users').select('id').where('directory_id', '=', call.dir.id).where('external_id', '=', externalId).executeTakeFirst();
    if (ex && ex.id !== selfId) throw new ScimError(409, 'duplicate_external_id', `Another user in this directory already has externalId "${externalId}" (id ${ex.id}). Each person must have their own externalId.`, 'uniqueness');
  }
}

function uniquenessRace(err: unknown): never {
  if (isUniqueViolation(err)) throw new ScimError(409, 'duplicate_username', 'A user with this userName or externalId was created at the same moment. Look it up with a filter and update it instead.', 'uniqueness');
  throw err;
}

export async function createUser(call: ScimCall, body: unknown): Promise<{ body: JsonObject; etag: string }> {
  if (!isObj(body)) throw scimBad('invalidSyntax', 'invalid_body', 'The body must be a JSON User resource.');
  const resource = canonicalResource('User', body);
  const { userName, externalId, active } = validate(resource);
  call.log.userName = userName;
  const email = emailOf(resource);
  resource.active = active;
  const { ctx } = call;
  try {
    return await ctx.db.transaction().execute(async (tx) => {
      await assertUnique(tx, call, userName, externalId, null);
      const now = ctx.clock.now();
      const at = now.toISOString();
      const userId = await linkPalisadeUser(tx, ctx, call.dir, email, displayNameOf(resource), now);
      const row: UserRow = { id: newId('scu', now), directory_id: call.dir.id, org_id: call.dir.org_id, user_id: userId, user_name: userName, user_name_key: userName.toLowerCase(), external_id: externalId, active: active ? 1 : 0, resource: JSON.stringify(resource), version: 1, created_at: at, updated_at: at };
      await tx.insertInto('scim_users').values(row).execute();
      call.log.resourceId = row.id;
      if (active) call.notes.push(...(await syncMembership(tx, ctx, call.dir, row, await mappingFor(tx, call))));
      return { body: toResource(call, row, []), etag: etagOf(row.version) };
    });
  } catch (err) {
    if (err instanceof ScimError) throw err;
    return uniquenessRace(err);
  }
}

/** Stores a new version of a user (PUT or PATCH), and applies what changed to Palisade access. */
async function saveUser(call: ScimCall, tx: Tx, row: UserRow, resource: JsonObject): Promise<{ body: JsonObject; etag: string }> {
  const { userName, externalId, active } = validate(resource);
  resource.active = active;
  await assertUnique(tx, call, userName, externalId, row.id);
  const at = call.ctx.clock.now().toISOString();
  const next: UserRow = { ...row, user_name: userName, user_name_key: userName.toLowerCase(), external_id: externalId, active: active ? 1 : 0, resource: JSON.stringify(resource), version: row.version + 1, updated_at: at };
  await tx
    .updateTable('scim_users')
    .set({ user_name: next.user_name, user_name_key: next.user_name_key, external_id: next.external_id, active: next.active, resource: next.resource, version: next.version, updated_at: at })
    .where('id', '=', row.id)
    .execute();
  call.log.userName = userName;
  if (row.active === 1 && !active) call.notes.push(...(await deprovision(tx, call.ctx, call.dir, next, 'deactivated')));
  else if (active) call.notes.push(...(await syncMembership(tx, call.ctx, call.dir, next, await mappingFor(tx, call))));
  const groups = (await groupsOf(tx, [row.id])).get(row.id) ?? [];
  return { body: toResource(call, next, groups), etag: etagOf(next.version) };
}

/** Locks the row (no-op UPDATE) so concurrent writers of one user apply in turn. */
async function lockRow(tx: Tx, call: ScimCall, id: string): Promise<UserRow> {
  await tx.updateTable('scim_users').set((eb) => ({ version: eb.ref('version') })).where('id', '=', id).where('directory_id', '=', call.dir.id).execute();
  return loadRow(tx, call, id);
}

export async function replaceUser(call: ScimCall, id: string, body: unknown, ifMatch: string | undefined): Promise<{ body: JsonObject; etag: string }> {
  call.log.resourceId = id;
  if (!isObj(body)) throw scimBad('invalidSyntax', 'invalid_body', 'The body must be a JSON User resource.');
  const resource = canonicalResource('User', body);
  try {
    return await call.ctx.db.transaction().execute(async (tx) => {
      const row = await lockRow(tx, call, id);
      checkIfMatch(ifMatch, row.version);
      return saveUser(call, tx, row, resource);
    });
  } catch (err) {
    if (err instanceof ScimError) throw err;
    return uniquenessRace(err);
  }
}

export async function patchUser(call: ScimCall, id: string, body: unknown, ifMatch: string | undefined): Promise<{ body: JsonObject; etag: string }> {
  call.log.resourceId = id;
  const ops = readPatchOps(body);
  try {
    return await call.ctx.db.transaction().execute(async (tx) => {
      const row = await lockRow(tx, call, id);
      checkIfMatch(ifMatch, row.version);
      const current = { ...(JSON.parse(row.resource) as JsonObject), active: row.active === 1 };
      return saveUser(call, tx, row, applyPatch('User', current, ops));
    });
  } catch (err) {
    if (err instanceof ScimError) throw err;
    return uniquenessRace(err);
  }
}

export async function deleteUser(call: ScimCall, id: string, ifMatch: string | undefined): Promise<void> {
  call.log.resourceId = id;
  await call.ctx.db.transaction().execute(async (tx) => {
    const row = await lockRow(tx, call, id);
    checkIfMatch(ifMatch, row.version);
    call.log.userName = row.user_name;
    const groupIds = (await tx.selectFrom('scim_group_members').select('group_id').where('scim_user_id', '=', row.id).execute()).map((r) => r.group_id);
    await tx.deleteFrom('scim_group_members').where('scim_user_id', '=', row.id).execute();
    if (groupIds.length) await tx.updateTable('scim_groups').set((eb) => ({ version: eb('version', '+', 1) })).where('id', 'in', groupIds).execute();
    await tx.deleteFrom('scim_users').where('id', '=', row.id).execute();
    call.notes.push(...(await deprovision(tx, call.ctx, call.dir, row, 'deleted')));
  });
}

const INDEXED: Record<string, 'user_name_key' | 'external_id' | 'id'> = { username: 'user_name_key', externalid: 'external_id', id: 'id' };

export async function listUsers(call: ScimCall, q: ListQuery): Promise<Record<string, unknown>> {
  const { filter, startIndex, count } = listWindow(q);
  const db = call.ctx.db;
  let query = db.selectFrom('scim_users').selectAll().where('directory_id', '=', call.dir.id);
  if (filter) {
    for (const eq of requiredEqualities(filter)) {
      const col = (!eq.path.schema || eq.path.schema.toLowerCase() === USER_SCHEMA.toLowerCase()) ? INDEXED[eq.path.attr.toLowerCase()] : undefined;
      if (col) query = query.where(col, '=', col === 'user_name_key' ? eq.value.toLowerCase() : eq.value);
    }
  }
  const sortBy = q.sortBy?.trim();
  const desc = q.sortOrder?.toLowerCase() === 'descending';
  if (!filter && (!sortBy || sortBy.toLowerCase() === 'username')) {
    // The common case (a full listing, or an IdP paging through users) stays in SQL.
    const total = Number((await db.selectFrom('scim_users').select((eb) => eb.fn.countAll<number>().as('n')).where('directory_id', '=', call.dir.id).executeTakeFirstOrThrow()).n);
    const rows = await query.orderBy(sortBy ? 'user_name_key' : 'id', desc ? 'desc' : 'asc').offset(startIndex - 1).limit(count).execute();
    const groups = await groupsOf(db, rows.map((r) => r.id));
    const resources = rows.map((r) => project('User', toResource(call, r, groups.get(r.id) ?? []), q.attributes, q.excludedAttributes));
    return listResponse(resources, total, startIndex);
  }
  const rows = await query.orderBy('id').execute();
  const groups = await groupsOf(db, rows.map((r) => r.id));
  let all = rows.map((r) => toResource(call, r, groups.get(r.id) ?? []));
  if (filter) all = all.filter((r) => matches(filter, r, SCHEMA_SETS.User));
  if (sortBy) {
    all.sort((a, b) => sortValue(a, sortBy).localeCompare(sortValue(b, sortBy)));
    if (desc) all.reverse();
  }
  return listResponse(all.slice(startIndex - 1, startIndex - 1 + count).map((r) => project('User', r, q.attributes, q.excludedAttributes)), all.length, startIndex);
}
