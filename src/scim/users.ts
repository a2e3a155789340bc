import type { Queryable, Tx } from '../db/schema.js';
import { newId } from '../ids.js';
import { normalizeEmail } from '../users/email.js';
import {
  type ListQuery,
  type ScimCall,
  checkIfMatch,
  etagOf,
  isUniqueViolation,
  listResponse,
  listWindow,
  mappingFor,
  sharedExternalIdNotes,
  sortValue,
} from './common.js';
import { ScimError, scimBad, scimNotFound } from './errors.js';
import { matches, requiredEqualities } from './filter.js';
import { deprovision, linkPalisadeUser, syncMembership } from './lifecycle.js';
import { applyPatch, onePrimary, readPatchOps } from './patch.js';
import { type JsonObject, canonicalResource, project, schemasOf } from './resource.js';
import { ACCOUNT_SCHEMA, SCHEMA_SETS, USER_SCHEMA } from './schemas.js';
import type { SyncNote } from './sync-log.js';
import type { ScimUsersTable } from './tables.js';
import { lockRow } from '../db/row-lock.js';

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

/** The SCIM user with an account linked, so lifecycle operations (membership, deprovisioning) apply. */
type LinkedRow = UserRow & { user_id: string };
const linked = (row: UserRow): row is LinkedRow => row.user_id !== null;

const AWAITING_EMAIL = (userName: string) =>
  `${userName} has no Palisade account yet: the identity provider sent no usable email address (no address in "emails", and a userName that is not an address). The person is provisioned here but cannot sign in to Palisade until an address arrives: add their email in the identity provider (Okta: the user's "Primary email"; Entra: map "mail" or "userPrincipalName" to emails[type eq "work"].value), and the account is created and linked on the next update.`;

function toResource(call: ScimCall, row: UserRow, groups: { value: string; display: string }[]): JsonObject {
  const stored = JSON.parse(row.resource) as JsonObject;
  const extra = linked(row) ? [] : [ACCOUNT_SCHEMA];
  const out: JsonObject = { schemas: schemasOf('User', stored, extra), id: row.id, ...stored };
  // active is reported as Palisade applies it; a client that removed it reads it as unassigned.
  if ('active' in stored) out.active = row.active === 1;
  if (!linked(row)) out[ACCOUNT_SCHEMA] = { status: 'awaiting_email', explanation: AWAITING_EMAIL(row.user_name) };
  if (groups.length)
    out.groups = groups.map((g) => ({
      value: g.value,
      display: g.display,
      $ref: `${call.base}/Groups/${g.value}`,
      type: 'direct',
    }));
  out.meta = {
    resourceType: 'User',
    created: row.created_at,
    lastModified: row.updated_at,
    location: `${call.base}/Users/${row.id}`,
    version: etagOf(row.version),
  };
  return out;
}

async function loadRow(db: Queryable, call: ScimCall, id: string): Promise<UserRow> {
  const row = await db
    .selectFrom('scim_users')
    .selectAll()
    .where('id', '=', id)
    .where('directory_id', '=', call.dir.id)
    .executeTakeFirst();
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

/**
 * The address that identifies a SCIM user's Palisade account: its primary (else work, else first)
 * email, else an email-shaped userName. None is not an error (RFC 7643 requires no email): the
 * SCIM user exists without an account until one arrives, and `why` says what was missing.
 */
function emailOf(resource: JsonObject): { email: string } | { email: null; why: string } {
  const emails = Array.isArray(resource.emails) ? resource.emails.filter(isObj) : [];
  const pick =
    emails.find((e) => e.primary === true) ??
    emails.find((e) => typeof e.type === 'string' && e.type.toLowerCase() === 'work') ??
    emails[0];
  const candidates = [pick?.value, resource.userName].filter((v): v is string => typeof v === 'string');
  for (const c of candidates) {
    try {
      return { email: normalizeEmail(c) };
    } catch {
      // try the next candidate
    }
  }
  return {
    email: null,
    why:
      typeof pick?.value === 'string'
        ? `the email "${pick.value.slice(0, 100)}" is not an address`
        : 'no email was sent',
  };
}

function displayNameOf(r: JsonObject): string | null {
  if (typeof r.displayName === 'string' && r.displayName.trim()) return r.displayName.trim();
  const n = isObj(r.name) ? r.name : undefined;
  if (n && typeof n.formatted === 'string') return n.formatted;
  const parts = [n?.givenName, n?.familyName].filter((x): x is string => typeof x === 'string');
  return parts.length ? parts.join(' ') : null;
}

/** `active` undefined: unassigned (a PUT without it, a PATCH that removed it). */
function validate(resource: JsonObject): { userName: string; externalId: string | null; active: boolean | undefined } {
  const userName = resource.userName;
  if (typeof userName !== 'string' || !userName.trim())
    throw scimBad(
      'invalidValue',
      'missing_username',
      "userName is required and must be a non-empty string (usually the person's email address).",
    );
  if (userName.length > 300) throw scimBad('invalidValue', 'invalid_value', 'userName is longer than 300 characters.');
  const ext = resource.externalId;
  if (ext !== undefined && ext !== null && typeof ext !== 'string')
    throw scimBad('invalidValue', 'invalid_value', 'externalId must be a string.');
  if (typeof ext === 'string' && ext.length > 300)
    throw scimBad('invalidValue', 'invalid_value', 'externalId is longer than 300 characters.');
  const active = resource.active === undefined || resource.active === null ? undefined : resource.active === true;
  return { userName: userName.trim(), externalId: typeof ext === 'string' && ext !== '' ? ext : null, active };
}

async function assertUnique(tx: Tx, call: ScimCall, userName: string, selfId: string | null): Promise<void> {
  const clash = await tx
    .selectFrom('scim_users')
    .select(['id', 'user_name'])
    .where('directory_id', '=', call.dir.id)
    .where('user_name_key', '=', userName.toLowerCase())
    .executeTakeFirst();
  if (clash && clash.id !== selfId) {
    throw new ScimError(
      409,
      'duplicate_username',
      `A user with userName "${userName}" already exists in this directory (id ${clash.id}). The identity provider should match the existing user (GET /Users?filter=userName eq "${userName}") instead of creating it again.`,
      'uniqueness',
    );
  }
}

function uniquenessRace(err: unknown): never {
  if (isUniqueViolation(err))
    throw new ScimError(
      409,
      'duplicate_username',
      'A user with this userName was created at the same moment. Look it up with a filter and update it instead.',
      'uniqueness',
    );
  throw err;
}

/**
 * A SCIM user that had no address gets one (PUT or PATCH of emails or userName): its Palisade
 * account is found or created then, as at creation. Kept apart from the rest of saving on purpose:
 * who may claim an existing account is decided in `linkPalisadeUser` (lifecycle.ts), as for every
 * SCIM user; this only decides *when* (the first time an address is known).
 */
async function linkWhenAddressArrives(tx: Tx, call: ScimCall, row: UserRow, resource: JsonObject): Promise<UserRow> {
  if (linked(row)) return row;
  const found = emailOf(resource);
  if (found.email === null) {
    call.notes.push({
      cause: 'no_email',
      user: row.user_name,
      explanation: `${AWAITING_EMAIL(row.user_name)} (Received: ${found.why}.)`,
    });
    return row;
  }
  const userId = await linkPalisadeUser(
    tx,
    call.ctx,
    call.dir,
    found.email,
    displayNameOf(resource),
    call.ctx.clock.now(),
  );
  await tx.updateTable('scim_users').set({ user_id: userId }).where('id', '=', row.id).execute();
  call.notes.push({
    level: 'info',
    cause: 'account_linked',
    user: row.user_name,
    explanation: `${row.user_name} now has an email address (${found.email}): their Palisade account is linked and they can sign in.`,
  });
  return { ...row, user_id: userId };
}

export async function createUser(call: ScimCall, body: unknown): Promise<{ body: JsonObject; etag: string }> {
  if (!isObj(body)) throw scimBad('invalidSyntax', 'invalid_body', 'The body must be a JSON User resource.');
  const resource = canonicalResource('User', body);
  onePrimary('User', resource);
  const { userName, externalId, active: sent } = validate(resource);
  // A new user is active unless the identity provider says otherwise.
  const active = sent ?? true;
  call.log.userName = userName;
  const found = emailOf(resource);
  resource.active = active;
  const { ctx } = call;
  try {
    return await ctx.db.transaction().execute(async (tx) => {
      await assertUnique(tx, call, userName, null);
      const now = ctx.clock.now();
      const at = now.toISOString();
      const userId =
        found.email === null
          ? null
          : await linkPalisadeUser(tx, ctx, call.dir, found.email, displayNameOf(resource), now);
      const row: UserRow = {
        id: newId('scu', now),
        directory_id: call.dir.id,
        org_id: call.dir.org_id,
        user_id: userId,
        user_name: userName,
        user_name_key: userName.toLowerCase(),
        external_id: externalId,
        active: active ? 1 : 0,
        resource: JSON.stringify(resource),
        version: 1,
        created_at: at,
        updated_at: at,
      };
      await tx.insertInto('scim_users').values(row).execute();
      call.log.resourceId = row.id;
      call.notes.push(...(await sharedExternalIdNotes(tx, call, 'scim_users', externalId, row.id, userName)));
      if (found.email === null)
        call.notes.push({
          cause: 'no_email',
          user: userName,
          explanation: `${AWAITING_EMAIL(userName)} (Received: ${found.why}.)`,
        });
      else if (active && linked(row))
        call.notes.push(...(await syncMembership(tx, ctx, call.dir, row, await mappingFor(tx, call))));
      return { body: toResource(call, row, []), etag: etagOf(row.version) };
    });
  } catch (err) {
    if (err instanceof ScimError) throw err;
    return uniquenessRace(err);
  }
}

/**
 * Stores a new version of a user (PUT or PATCH), and applies what changed to Palisade access.
 * An unassigned `active` (left out of a PUT, removed by a PATCH) changes nothing: it never grants
 * access back to a suspended person, and never takes it from an active one.
 */
async function saveUser(
  call: ScimCall,
  tx: Tx,
  current: UserRow,
  resource: JsonObject,
): Promise<{ body: JsonObject; etag: string }> {
  const { userName, externalId, active: sent } = validate(resource);
  const active = sent ?? current.active === 1;
  if (sent === undefined) {
    delete resource.active;
    call.notes.push({
      level: 'info',
      cause: 'active_unassigned',
      user: userName,
      explanation: `The request left "active" unassigned for ${userName}; Palisade keeps their access as it was (${current.active === 1 ? 'active' : 'suspended'}). Send "active": true or false to change it.`,
    });
  } else resource.active = active;
  await assertUnique(tx, call, userName, current.id);
  const row = await linkWhenAddressArrives(tx, call, current, resource);
  const at = call.ctx.clock.now().toISOString();
  const next: UserRow = {
    ...row,
    user_name: userName,
    user_name_key: userName.toLowerCase(),
    external_id: externalId,
    active: active ? 1 : 0,
    resource: JSON.stringify(resource),
    version: row.version + 1,
    updated_at: at,
  };
  await tx
    .updateTable('scim_users')
    .set({
      user_name: next.user_name,
      user_name_key: next.user_name_key,
      external_id: next.external_id,
      active: next.active,
      resource: next.resource,
      version: next.version,
      updated_at: at,
    })
    .where('id', '=', row.id)
    .execute();
  call.log.userName = userName;
  if (externalId !== current.external_id)
    call.notes.push(...(await sharedExternalIdNotes(tx, call, 'scim_users', externalId, row.id, userName)));
  if (linked(next)) {
    if (row.active === 1 && !active)
      call.notes.push(...(await deprovision(tx, call.ctx, call.dir, next, 'deactivated')));
    else if (active)
      call.notes.push(...(await syncMembership(tx, call.ctx, call.dir, next, await mappingFor(tx, call))));
  }
  const groups = (await groupsOf(tx, [row.id])).get(row.id) ?? [];
  return { body: toResource(call, next, groups), etag: etagOf(next.version) };
}

/** Locks the row (no-op UPDATE) so concurrent writers of one user apply in turn. */
async function lockUser(tx: Tx, call: ScimCall, id: string): Promise<UserRow> {
  await lockRow(tx, 'scim_users', { id, directory_id: call.dir.id });
  return loadRow(tx, call, id);
}

export async function replaceUser(
  call: ScimCall,
  id: string,
  body: unknown,
  ifMatch: string | undefined,
): Promise<{ body: JsonObject; etag: string }> {
  call.log.resourceId = id;
  if (!isObj(body)) throw scimBad('invalidSyntax', 'invalid_body', 'The body must be a JSON User resource.');
  const resource = canonicalResource('User', body);
  onePrimary('User', resource);
  try {
    return await call.ctx.db.transaction().execute(async (tx) => {
      const row = await lockUser(tx, call, id);
      checkIfMatch(ifMatch, row.version);
      return saveUser(call, tx, row, resource);
    });
  } catch (err) {
    if (err instanceof ScimError) throw err;
    return uniquenessRace(err);
  }
}

export async function patchUser(
  call: ScimCall,
  id: string,
  body: unknown,
  ifMatch: string | undefined,
): Promise<{ body: JsonObject; etag: string }> {
  call.log.resourceId = id;
  const ops = readPatchOps(body);
  try {
    return await call.ctx.db.transaction().execute(async (tx) => {
      const row = await lockUser(tx, call, id);
      checkIfMatch(ifMatch, row.version);
      const stored = JSON.parse(row.resource) as JsonObject;
      const current = 'active' in stored ? { ...stored, active: row.active === 1 } : stored;
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
    const row = await lockUser(tx, call, id);
    checkIfMatch(ifMatch, row.version);
    call.log.userName = row.user_name;
    const groupIds = (
      await tx.selectFrom('scim_group_members').select('group_id').where('scim_user_id', '=', row.id).execute()
    ).map((r) => r.group_id);
    await tx.deleteFrom('scim_group_members').where('scim_user_id', '=', row.id).execute();
    if (groupIds.length)
      await tx
        .updateTable('scim_groups')
        .set((eb) => ({ version: eb('version', '+', 1) }))
        .where('id', 'in', groupIds)
        .execute();
    await tx.deleteFrom('scim_users').where('id', '=', row.id).execute();
    // Without an account there is no membership, session or key to take away.
    if (linked(row)) call.notes.push(...(await deprovision(tx, call.ctx, call.dir, row, 'deleted')));
  });
}

const INDEXED: Record<string, 'user_name_key' | 'external_id' | 'id'> = {
  username: 'user_name_key',
  externalid: 'external_id',
  id: 'id',
};

export async function listUsers(call: ScimCall, q: ListQuery): Promise<Record<string, unknown>> {
  const { filter, startIndex, count } = listWindow(q);
  const db = call.ctx.db;
  let query = db.selectFrom('scim_users').selectAll().where('directory_id', '=', call.dir.id);
  if (filter) {
    for (const eq of requiredEqualities(filter)) {
      const col =
        !eq.path.schema || eq.path.schema.toLowerCase() === USER_SCHEMA.toLowerCase()
          ? INDEXED[eq.path.attr.toLowerCase()]
          : undefined;
      if (col) query = query.where(col, '=', col === 'user_name_key' ? eq.value.toLowerCase() : eq.value);
    }
  }
  const sortBy = q.sortBy?.trim();
  const desc = q.sortOrder?.toLowerCase() === 'descending';
  if (!filter && (!sortBy || sortBy.toLowerCase() === 'username')) {
    // The common case (a full listing, or an IdP paging through users) stays in SQL.
    const total = Number(
      (
        await db
          .selectFrom('scim_users')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('directory_id', '=', call.dir.id)
          .executeTakeFirstOrThrow()
      ).n,
    );
    const rows = await query
      .orderBy(sortBy ? 'user_name_key' : 'id', desc ? 'desc' : 'asc')
      .offset(startIndex - 1)
      .limit(count)
      .execute();
    const groups = await groupsOf(
      db,
      rows.map((r) => r.id),
    );
    const resources = rows.map((r) =>
      project('User', toResource(call, r, groups.get(r.id) ?? []), q.attributes, q.excludedAttributes),
    );
    return listResponse(resources, total, startIndex);
  }
  const rows = await query.orderBy('id').execute();
  const groups = await groupsOf(
    db,
    rows.map((r) => r.id),
  );
  let all = rows.map((r) => toResource(call, r, groups.get(r.id) ?? []));
  if (filter) all = all.filter((r) => matches(filter, r, SCHEMA_SETS.User));
  if (sortBy) {
    all.sort((a, b) => sortValue(a, sortBy).localeCompare(sortValue(b, sortBy)));
    if (desc) all.reverse();
  }
  return listResponse(
    all
      .slice(startIndex - 1, startIndex - 1 + count)
      .map((r) => project('User', r, q.attributes, q.excludedAttributes)),
    all.length,
    startIndex,
  );
}
