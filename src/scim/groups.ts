import type { Queryable, Tx } from '../db/schema.js';
import { newId } from '../ids.js';
import { type GroupEvaluation, type RoleMapping, evaluateGroups } from '../orgs/role-mapping.js';
import {
  type ListQuery,
  type ScimCall,
  checkIfMatch,
  etagOf,
  isForeignKeyViolation,
  isUniqueViolation,
  listResponse,
  listWindow,
  mappingFor,
  sharedExternalIdNotes,
  sortValue,
} from './common.js';
import { ScimError, scimBad, scimNotFound } from './errors.js';
import { matches, requiredEqualities } from './filter.js';
import { syncMembership } from './lifecycle.js';
import { applyPatch, readPatchOps } from './patch.js';
import { type Json, type JsonObject, canonicalResource, project } from './resource.js';
import { GROUP_SCHEMA, MAPPING_SCHEMA, SCHEMA_SETS } from './schemas.js';
import type { ScimGroupsTable } from './tables.js';
import { lockRow } from '../db/row-lock.js';

type GroupRow = ScimGroupsTable;
const isObj = (v: unknown): v is JsonObject => v !== null && typeof v === 'object' && !Array.isArray(v);

async function membersOf(
  db: Queryable,
  groupIds: string[],
): Promise<Map<string, { value: string; display: string }[]>> {
  const out = new Map<string, { value: string; display: string }[]>();
  for (let i = 0; i < groupIds.length; i += 500) {
    const chunk = groupIds.slice(i, i + 500);
    if (!chunk.length) continue;
    const rows = await db
      .selectFrom('scim_group_members')
      .innerJoin('scim_users', 'scim_users.id', 'scim_group_members.scim_user_id')
      .select(['scim_group_members.group_id', 'scim_users.id', 'scim_users.user_name'])
      .where('scim_group_members.group_id', 'in', chunk)
      .orderBy('scim_users.id')
      .execute();
    for (const r of rows) {
      const list = out.get(r.group_id) ?? [];
      list.push({ value: r.id, display: r.user_name });
      out.set(r.group_id, list);
    }
  }
  return out;
}

/** How the group maps to a role, in Palisade's read-only extension, so the IdP admin sees it in the response. */
function mappingExtension(evaluation: GroupEvaluation | undefined): JsonObject {
  if (!evaluation) return {};
  return {
    outcome: evaluation.outcome,
    role: evaluation.role ?? null,
    ...(evaluation.expected ? { expectedName: evaluation.expected } : {}),
    explanation: evaluation.explanation,
  };
}

function toResource(
  call: ScimCall,
  row: GroupRow,
  members: { value: string; display: string }[],
  mapping: RoleMapping | undefined,
): JsonObject {
  const stored = JSON.parse(row.resource) as JsonObject;
  const evaluation = mapping ? evaluateGroups(mapping, [row.display_name]).groups[0] : undefined;
  const out: JsonObject = { schemas: [GROUP_SCHEMA, ...(evaluation ? [MAPPING_SCHEMA] : [])], id: row.id, ...stored };
  out.members = members.map((m) => ({
    value: m.value,
    display: m.display,
    $ref: `${call.base}/Users/${m.value}`,
    type: 'User',
  }));
  if (evaluation) out[MAPPING_SCHEMA] = mappingExtension(evaluation);
  out.meta = {
    resourceType: 'Group',
    created: row.created_at,
    lastModified: row.updated_at,
    location: `${call.base}/Groups/${row.id}`,
    version: etagOf(row.version),
  };
  return out;
}

async function loadRow(db: Queryable, call: ScimCall, id: string): Promise<GroupRow> {
  const row = await db
    .selectFrom('scim_groups')
    .selectAll()
    .where('id', '=', id)
    .where('directory_id', '=', call.dir.id)
    .executeTakeFirst();
  if (!row) throw scimNotFound('Group', id);
  return row;
}

function validate(resource: JsonObject): { displayName: string; externalId: string | null } {
  const dn = resource.displayName;
  if (typeof dn !== 'string' || !dn.trim())
    throw scimBad(
      'invalidValue',
      'missing_display_name',
      'displayName is required for a group and must be a non-empty string.',
    );
  if (dn.length > 256) throw scimBad('invalidValue', 'invalid_value', 'displayName is longer than 256 characters.');
  const ext = resource.externalId;
  if (ext !== undefined && ext !== null && typeof ext !== 'string')
    throw scimBad('invalidValue', 'invalid_value', 'externalId must be a string.');
  return { displayName: dn.trim(), externalId: typeof ext === 'string' && ext !== '' ? ext : null };
}

/**
 * Member ids a resource names; every one must be a user of this directory. What a member *is* comes
 * from the id, not from the `type` the client labelled it with: a user's id labelled "Group" is a
 * user (noted in the sync log), and a group's id is refused as a nested group whatever its label.
 */
async function memberIds(tx: Tx, call: ScimCall, members: Json | undefined): Promise<string[]> {
  if (members === undefined || members === null) return [];
  const list = Array.isArray(members) ? members : [members];
  const ids: string[] = [];
  const labelledGroup = new Set<string>();
  for (const m of list) {
    const v = isObj(m) ? m.value : m;
    if (typeof v !== 'string' || !v)
      throw scimBad(
        'invalidValue',
        'invalid_member',
        'Each member needs a "value" with the id of a user of this directory.',
      );
    if (isObj(m) && typeof m.type === 'string' && m.type.toLowerCase() === 'group') labelledGroup.add(v);
    ids.push(v);
  }
  const unique = [...new Set(ids)];
  const found = new Set<string>();
  for (let i = 0; i < unique.length; i += 500) {
    const chunk = unique.slice(i, i + 500);
    for (const r of await tx
      .selectFrom('scim_users')
      .select('id')
      .where('directory_id', '=', call.dir.id)
      .where('id', 'in', chunk)
      .execute())
      found.add(r.id);
  }
  const missing = unique.filter((id) => !found.has(id));
  if (missing.length) {
    const groups = new Set<string>();
    for (let i = 0; i < missing.length; i += 500) {
      for (const r of await tx
        .selectFrom('scim_groups')
        .select('id')
        .where('directory_id', '=', call.dir.id)
        .where('id', 'in', missing.slice(i, i + 500))
        .execute())
        groups.add(r.id);
    }
    if (groups.size) {
      throw scimBad(
        'invalidValue',
        'nested_groups_unsupported',
        `Member ${[...groups].slice(0, 5).join(', ')} ${groups.size > 1 ? 'are groups' : 'is a group'} of this directory; Palisade does not support nested groups. Add the group's people to this group directly.`,
      );
    }
    throw scimBad(
      'invalidValue',
      'unknown_member',
      `${missing.length} member id(s) are not users of this directory (${missing.slice(0, 5).join(', ')}). Push those users first, then the group.`,
    );
  }
  const mislabelled = unique.filter((id) => labelledGroup.has(id));
  if (mislabelled.length) {
    call.notes.push({
      cause: 'member_type_corrected',
      explanation: `Member${mislabelled.length > 1 ? 's' : ''} ${mislabelled.slice(0, 5).join(', ')} ${mislabelled.length > 1 ? 'were' : 'was'} sent with type "Group" but ${mislabelled.length > 1 ? 'are users' : 'is a user'} of this directory; added as ${mislabelled.length > 1 ? 'users' : 'a user'}. The identity provider should send type "User" (or no type).`,
    });
  }
  return unique;
}

/** displayName is unique per directory (roles are mapped by name); externalId is not (RFC 7643 §3.1). */
async function assertUnique(tx: Tx, call: ScimCall, displayName: string, selfId: string | null): Promise<void> {
  const clash = await tx
    .selectFrom('scim_groups')
    .select('id')
    .where('directory_id', '=', call.dir.id)
    .where('display_key', '=', displayName.toLowerCase())
    .executeTakeFirst();
  if (clash && clash.id !== selfId)
    throw new ScimError(
      409,
      'duplicate_group',
      `A group named "${displayName}" already exists in this directory (id ${clash.id}). Link to it instead of creating it again.`,
      'uniqueness',
    );
}

/** Notes for the sync log (and the mapping extension in the response) about how this group maps. */
function noteMapping(call: ScimCall, mapping: RoleMapping, displayName: string): void {
  const e = evaluateGroups(mapping, [displayName]).groups[0];
  if (e?.outcome === 'missing_prefix')
    call.notes.push({
      cause: 'group_missing_prefix',
      explanation: e.explanation,
      group: displayName,
      ...(e.expected ? { expected: e.expected } : {}),
    });
}

/** Re-derives the role of each affected person after membership or a group name changed. */
async function resyncUsers(tx: Tx, call: ScimCall, scimUserIds: string[], mapping: RoleMapping): Promise<void> {
  for (let i = 0; i < scimUserIds.length; i += 500) {
    const rows = await tx
      .selectFrom('scim_users')
      .select(['id', 'user_id', 'user_name', 'active'])
      .where('id', 'in', scimUserIds.slice(i, i + 500))
      .execute();
    for (const row of rows) {
      // A user without an account yet has no membership to change; it gets its role once linked.
      if (row.user_id === null) continue;
      const su = { ...row, user_id: row.user_id };
      // The group's own prefix problem is already noted once; keep only refusals per person.
      const notes = await syncMembership(tx, call.ctx, call.dir, su, mapping);
      call.notes.push(...notes.filter((n) => n.cause !== 'group_missing_prefix'));
    }
  }
}

const failUnique = (err: unknown): never => {
  if (err instanceof ScimError) throw err;
  if (isUniqueViolation(err))
    throw new ScimError(
      409,
      'duplicate_group',
      'A group with this displayName was created at the same moment; look it up and update it instead.',
      'uniqueness',
    );
  if (isForeignKeyViolation(err))
    throw new ScimError(
      409,
      'concurrent_change',
      'A member named in this request was deleted at the same moment. Retry the request.',
    );
  throw err;
};

export async function getGroup(call: ScimCall, id: string, q: ListQuery): Promise<{ body: JsonObject; etag: string }> {
  call.log.resourceId = id;
  const row = await loadRow(call.ctx.db, call, id);
  call.log.groupName = row.display_name;
  const mapping = await mappingFor(call.ctx.db as Tx, call);
  const full = toResource(call, row, (await membersOf(call.ctx.db, [row.id])).get(row.id) ?? [], mapping);
  return { body: project('Group', full, q.attributes, q.excludedAttributes), etag: etagOf(row.version) };
}

export async function createGroup(call: ScimCall, body: unknown): Promise<{ body: JsonObject; etag: string }> {
  if (!isObj(body)) throw scimBad('invalidSyntax', 'invalid_body', 'The body must be a JSON Group resource.');
  const resource = canonicalResource('Group', body);
  const { displayName, externalId } = validate(resource);
  call.log.groupName = displayName;
  const members = resource.members;
  delete resource.members;
  try {
    return await call.ctx.db.transaction().execute(async (tx) => {
      await assertUnique(tx, call, displayName, null);
      const ids = await memberIds(tx, call, members);
      const now = call.ctx.clock.now();
      const at = now.toISOString();
      const row: GroupRow = {
        id: newId('scg', now),
        directory_id: call.dir.id,
        org_id: call.dir.org_id,
        display_name: displayName,
        display_key: displayName.toLowerCase(),
        external_id: externalId,
        resource: JSON.stringify(resource),
        version: 1,
        created_at: at,
        updated_at: at,
      };
      await tx.insertInto('scim_groups').values(row).execute();
      call.log.resourceId = row.id;
      call.notes.push(...(await sharedExternalIdNotes(tx, call, 'scim_groups', externalId, row.id, displayName)));
      if (ids.length)
        await tx
          .insertInto('scim_group_members')
          .values(ids.map((u) => ({ group_id: row.id, scim_user_id: u, directory_id: call.dir.id, created_at: at })))
          .execute();
      const mapping = await mappingFor(tx, call);
      noteMapping(call, mapping, displayName);
      await resyncUsers(tx, call, ids, mapping);
      return {
        body: toResource(call, row, (await membersOf(tx, [row.id])).get(row.id) ?? [], mapping),
        etag: etagOf(row.version),
      };
    });
  } catch (err) {
    return failUnique(err);
  }
}

/**
 * Writes a group's new state. The row is locked first (version bump), so concurrent PATCHes of
 * one group apply one after the other on PostgreSQL (SQLite has one writer): none loses a member.
 */
async function modifyGroup(
  call: ScimCall,
  id: string,
  ifMatch: string | undefined,
  next: (current: JsonObject, memberIds: string[]) => JsonObject,
): Promise<{ body: JsonObject; etag: string }> {
  call.log.resourceId = id;
  try {
    return await call.ctx.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('scim_groups')
        .set((eb) => ({ version: eb('version', '+', 1) }))
        .where('id', '=', id)
        .where('directory_id', '=', call.dir.id)
        .execute();
      const row = await loadRow(tx, call, id);
      checkIfMatch(ifMatch, row.version - 1);
      const before = (
        await tx.selectFrom('scim_group_members').select('scim_user_id').where('group_id', '=', id).execute()
      ).map((r) => r.scim_user_id);
      const current: JsonObject = {
        ...(JSON.parse(row.resource) as JsonObject),
        members: before.map((v) => ({ value: v })),
      };
      const resource = next(current, before);
      const { displayName, externalId } = validate(resource);
      call.log.groupName = displayName;
      await assertUnique(tx, call, displayName, id);
      if (externalId !== row.external_id)
        call.notes.push(...(await sharedExternalIdNotes(tx, call, 'scim_groups', externalId, id, displayName)));
      const after = await memberIds(tx, call, resource.members);
      delete resource.members;
      const at = call.ctx.clock.now().toISOString();
      const beforeSet = new Set(before);
      const afterSet = new Set(after);
      const added = after.filter((u) => !beforeSet.has(u));
      const removed = before.filter((u) => !afterSet.has(u));
      if (removed.length)
        for (let i = 0; i < removed.length; i += 500)
          await tx
            .deleteFrom('scim_group_members')
            .where('group_id', '=', id)
            .where('scim_user_id', 'in', removed.slice(i, i + 500))
            .execute();
      if (added.length) {
        for (let i = 0; i < added.length; i += 500) {
          await tx
            .insertInto('scim_group_members')
            .values(
              added
                .slice(i, i + 500)
                .map((u) => ({ group_id: id, scim_user_id: u, directory_id: call.dir.id, created_at: at })),
            )
            .onConflict((oc) => oc.columns(['group_id', 'scim_user_id']).doNothing())
            .execute();
        }
      }
      if (added.length || removed.length) {
        const names = new Map<string, string>();
        const sample = [...added.slice(0, 100), ...removed.slice(0, 100)];
        for (const r of await tx
          .selectFrom('scim_users')
          .select(['id', 'user_name'])
          .where('id', 'in', sample)
          .execute())
          names.set(r.id, r.user_name);
        call.log.members = {
          added: added.slice(0, 100).map((u) => names.get(u) ?? u),
          removed: removed.slice(0, 100).map((u) => names.get(u) ?? u),
        };
      }
      const renamed = displayName !== row.display_name;
      await tx
        .updateTable('scim_groups')
        .set({
          display_name: displayName,
          display_key: displayName.toLowerCase(),
          external_id: externalId,
          resource: JSON.stringify(resource),
          updated_at: at,
        })
        .where('id', '=', id)
        .execute();
      const mapping = await mappingFor(tx, call);
      noteMapping(call, mapping, displayName);
      await resyncUsers(tx, call, renamed ? [...new Set([...before, ...after])] : [...added, ...removed], mapping);
      const updated: GroupRow = {
        ...row,
        display_name: displayName,
        display_key: displayName.toLowerCase(),
        external_id: externalId,
        resource: JSON.stringify(resource),
        updated_at: at,
      };
      return {
        body: toResource(call, updated, (await membersOf(tx, [id])).get(id) ?? [], mapping),
        etag: etagOf(updated.version),
      };
    });
  } catch (err) {
    return failUnique(err);
  }
}

export function replaceGroup(call: ScimCall, id: string, body: unknown, ifMatch: string | undefined) {
  if (!isObj(body)) throw scimBad('invalidSyntax', 'invalid_body', 'The body must be a JSON Group resource.');
  const resource = canonicalResource('Group', body);
  return modifyGroup(call, id, ifMatch, () => resource);
}

export function patchGroup(call: ScimCall, id: string, body: unknown, ifMatch: string | undefined) {
  const ops = readPatchOps(body);
  return modifyGroup(call, id, ifMatch, (current) => applyPatch('Group', current, ops));
}

export async function deleteGroup(call: ScimCall, id: string, ifMatch: string | undefined): Promise<void> {
  call.log.resourceId = id;
  await call.ctx.db.transaction().execute(async (tx) => {
    await lockRow(tx, 'scim_groups', { id, directory_id: call.dir.id });
    const row = await loadRow(tx, call, id);
    checkIfMatch(ifMatch, row.version);
    call.log.groupName = row.display_name;
    const members = (
      await tx.selectFrom('scim_group_members').select('scim_user_id').where('group_id', '=', id).execute()
    ).map((r) => r.scim_user_id);
    await tx.deleteFrom('scim_group_members').where('group_id', '=', id).execute();
    await tx.deleteFrom('scim_groups').where('id', '=', id).execute();
    await resyncUsers(tx, call, members, await mappingFor(tx, call));
  });
}

const INDEXED: Record<string, 'display_key' | 'external_id' | 'id'> = {
  displayname: 'display_key',
  externalid: 'external_id',
  id: 'id',
};

export async function listGroups(call: ScimCall, q: ListQuery): Promise<Record<string, unknown>> {
  const { filter, startIndex, count } = listWindow(q);
  const db = call.ctx.db;
  let query = db.selectFrom('scim_groups').selectAll().where('directory_id', '=', call.dir.id);
  if (filter) {
    for (const eq of requiredEqualities(filter)) {
      const col =
        !eq.path.schema || eq.path.schema.toLowerCase() === GROUP_SCHEMA.toLowerCase()
          ? INDEXED[eq.path.attr.toLowerCase()]
          : undefined;
      if (col) query = query.where(col, '=', col === 'display_key' ? eq.value.toLowerCase() : eq.value);
    }
  }
  const rows = await query.orderBy('id').execute();
  const mapping = await mappingFor(db as Tx, call);
  const wantMembers =
    !(q.excludedAttributes ?? '')
      .toLowerCase()
      .split(',')
      .map((s) => s.trim())
      .includes('members') ||
    (filter !== undefined && JSON.stringify(filter).toLowerCase().includes('"members"'));
  const members = wantMembers
    ? await membersOf(
        db,
        rows.map((r) => r.id),
      )
    : new Map<string, { value: string; display: string }[]>();
  let all = rows.map((r) => toResource(call, r, members.get(r.id) ?? [], mapping));
  if (filter) all = all.filter((r) => matches(filter, r, SCHEMA_SETS.Group));
  const sortBy = q.sortBy?.trim();
  if (sortBy) {
    all.sort((a, b) => sortValue(a, sortBy).localeCompare(sortValue(b, sortBy)));
    if (q.sortOrder?.toLowerCase() === 'descending') all.reverse();
  }
  return listResponse(
    all
      .slice(startIndex - 1, startIndex - 1 + count)
      .map((r) => project('Group', r, q.attributes, q.excludedAttributes)),
    all.length,
    startIndex,
  );
}
