import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import type { Queryable, Role, Tx } from '../db/schema.js';
import { badRequest } from '../errors.js';
import { newId } from '../ids.js';
import { authorize } from './authorize.js';
import { ROLE_RANK } from './permissions.js';

/**
 * Group-to-role mapping, shared by SSO (group claims at login) and SCIM (groups an IdP pushes).
 * Rules map identity-provider group names to roles; an optional required prefix per organization
 * (`acme-`) keeps unrelated IdP groups out. Every group is explained: matched, missing the prefix
 * (with the name it should have), or without a rule. Nothing is ignored silently.
 *
 * Mapping grants `admin` or `member`. Primary owners are named explicitly, never by an IdP group:
 * whoever controls the IdP should not be able to mint owners of Palisade.
 */
export const MappableRole = Type.Union([Type.Literal('admin'), Type.Literal('member')]);
export type MappableRole = Static<typeof MappableRole>;

export const RoleMappingInput = Type.Object(
  {
    requiredPrefix: Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()]),
    defaultRole: Type.Union([MappableRole, Type.Null()], {
      description: 'Role for a person whose groups match no rule; null means they get no access through mapping.',
    }),
    rules: Type.Array(
      Type.Object(
        { group: Type.String({ minLength: 1, maxLength: 256 }), role: MappableRole },
        { additionalProperties: false },
      ),
      { maxItems: 500 },
    ),
  },
  { additionalProperties: false },
);
export type RoleMappingInput = Static<typeof RoleMappingInput>;

export interface RoleMapping {
  requiredPrefix: string | null;
  defaultRole: MappableRole | null;
  rules: { id: string; group: string; role: MappableRole }[];
}

export type GroupOutcome = 'matched' | 'missing_prefix' | 'no_rule';

export const RoleMappingFields = {
  requiredPrefix: Type.Union([Type.String(), Type.Null()]),
  defaultRole: Type.Union([MappableRole, Type.Null()]),
  rules: Type.Array(Type.Object({ id: Type.String(), group: Type.String(), role: MappableRole })),
};
export const RoleMappingView = Type.Object(RoleMappingFields, { $id: 'RoleMappingView' });

export const GroupEvaluationSchema = Type.Object({
  group: Type.String(),
  outcome: Type.Union([Type.Literal('matched'), Type.Literal('missing_prefix'), Type.Literal('no_rule')]),
  role: Type.Optional(MappableRole),
  expected: Type.Optional(Type.String({ description: 'For missing_prefix: the name the group should have.' })),
  explanation: Type.String(),
});

const MappingResultFields = {
  role: Type.Union([MappableRole, Type.Null()]),
  source: Type.Union([Type.Literal('rule'), Type.Literal('default'), Type.Literal('none')]),
  groups: Type.Array(GroupEvaluationSchema),
};
/** How a person's groups map to a role (`evaluateGroups`), as dry runs show it. */
export const MappingResultSchema = Type.Object(MappingResultFields);

export const RoleMappingPreviewView = Type.Object(
  {
    mapping: Type.Object(RoleMappingFields, {
      description: 'The mapping evaluated: the saved one, or the one proposed.',
    }),
    result: Type.Optional(MappingResultSchema),
    users: Type.Optional(Type.Array(Type.Object({ email: Type.String(), ...MappingResultFields }))),
  },
  { $id: 'RoleMappingPreviewView' },
);

export interface GroupEvaluation {
  group: string;
  outcome: GroupOutcome;
  role?: MappableRole;
  /** For missing_prefix: the name the group should have. */
  expected?: string;
  explanation: string;
}

export interface MappingResult {
  role: MappableRole | null;
  source: 'rule' | 'default' | 'none';
  groups: GroupEvaluation[];
}

const key = (group: string) => group.trim().toLowerCase();

export function suggestPrefixed(group: string, prefix: string): string {
  return `${prefix}${group.trim()}`;
}

/** Pure: what a set of IdP groups yields under a mapping. The highest matched role wins. */
export function evaluateGroups(mapping: RoleMapping, groups: readonly string[]): MappingResult {
  const byKey = new Map(mapping.rules.map((r) => [key(r.group), r]));
  const prefix = mapping.requiredPrefix;
  const seen = new Set<string>();
  const evaluations: GroupEvaluation[] = [];
  for (const raw of groups) {
    const group = raw.trim();
    if (!group || seen.has(key(group))) continue;
    seen.add(key(group));
    if (prefix && !key(group).startsWith(key(prefix))) {
      const expected = suggestPrefixed(group, prefix);
      evaluations.push({
        group,
        outcome: 'missing_prefix',
        expected,
        explanation: `Group "${group}" does not start with the required prefix "${prefix}", so it maps to no role. Rename it to "${expected}" in your identity provider, or change the organization's required prefix.`,
      });
      continue;
    }
    const rule = byKey.get(key(group));
    if (rule)
      evaluations.push({
        group,
        outcome: 'matched',
        role: rule.role,
        explanation: `Group "${group}" maps to ${rule.role}.`,
      });
    else
      evaluations.push({
        group,
        outcome: 'no_rule',
        explanation: `Group "${group}" has no mapping rule, so it grants no role. Add a rule for it (for example {"group":"${group}","role":"member"}) if its members should get access.`,
      });
  }
  const matched = evaluations.filter((e) => e.outcome === 'matched').map((e) => e.role as MappableRole);
  if (matched.length) {
    const role = matched.reduce((a, b) => (ROLE_RANK[b] > ROLE_RANK[a] ? b : a));
    return { role, source: 'rule', groups: evaluations };
  }
  return mapping.defaultRole
    ? { role: mapping.defaultRole, source: 'default', groups: evaluations }
    : { role: null, source: 'none', groups: evaluations };
}

export async function loadRoleMapping(db: Queryable, orgId: string): Promise<RoleMapping> {
  const settings = await db
    .selectFrom('role_mapping_settings')
    .selectAll()
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  const rules = await db
    .selectFrom('role_mapping_rules')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('group_key')
    .execute();
  return {
    requiredPrefix: settings?.required_prefix ?? null,
    defaultRole: (settings?.default_role as MappableRole | null | undefined) ?? null,
    rules: rules.map((r) => ({ id: r.id, group: r.group_name, role: r.role as MappableRole })),
  };
}

/** Checks a proposed mapping and says exactly how to fix each problem. */
export function validateRoleMapping(input: RoleMappingInput): void {
  const prefix = input.requiredPrefix?.trim() ?? null;
  if (input.requiredPrefix !== null && !prefix)
    throw badRequest('invalid_prefix', 'The required prefix cannot be only spaces; use null for no prefix.');
  const seen = new Map<string, string>();
  for (const rule of input.rules) {
    const group = rule.group.trim();
    if (!group)
      throw badRequest(
        'invalid_group_name',
        'A rule has an empty group name; give the exact group name your identity provider sends.',
      );
    if (prefix && !key(group).startsWith(key(prefix))) {
      throw badRequest(
        'group_missing_prefix',
        `Group "${group}" does not match the required "${prefix}" prefix. Use "${suggestPrefixed(group, prefix)}" (and name the group so in your identity provider), or change the required prefix.`,
        { group, requiredPrefix: prefix, expected: suggestPrefixed(group, prefix) },
      );
    }
    const previous = seen.get(key(group));
    if (previous !== undefined)
      throw badRequest(
        'duplicate_group_rule',
        `Group "${group}" has more than one rule (also "${previous}"; names match without regard to case). Keep one rule per group.`,
        { group },
      );
    seen.set(key(group), group);
  }
}

export async function getRoleMapping(ctx: Ctx, orgId: string): Promise<RoleMapping> {
  await authorize(ctx, orgId, 'members.read');
  return loadRoleMapping(ctx.db, orgId);
}

/**
 * Replaces the organization's mapping rows (no authorization, no audit): the write itself, used
 * inside the guarded change (src/role-mapping/change.ts) and by the lockout preview.
 */
export async function writeRoleMapping(tx: Tx, orgId: string, input: RoleMappingInput, now: Date): Promise<void> {
  const at = now.toISOString();
  const prefix = input.requiredPrefix?.trim() ?? null;
  await tx.deleteFrom('role_mapping_rules').where('org_id', '=', orgId).execute();
  await tx.deleteFrom('role_mapping_settings').where('org_id', '=', orgId).execute();
  await tx
    .insertInto('role_mapping_settings')
    .values({ org_id: orgId, required_prefix: prefix, default_role: input.defaultRole as Role | null, updated_at: at })
    .execute();
  if (input.rules.length) {
    await tx
      .insertInto('role_mapping_rules')
      .values(
        input.rules.map((r) => ({
          id: newId('rmr', now),
          org_id: orgId,
          group_key: key(r.group),
          group_name: r.group.trim(),
          role: r.role,
          created_at: at,
        })),
      )
      .execute();
  }
}

/** A mapping as an audit event shows it. */
export const mappingForAudit = (m: RoleMapping) => ({
  requiredPrefix: m.requiredPrefix,
  defaultRole: m.defaultRole,
  rules: m.rules.map((r) => ({ group: r.group, role: r.role })),
});

export const PreviewInput = Type.Object(
  {
    groups: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 1000 })),
    users: Type.Optional(
      Type.Array(
        Type.Object({
          email: Type.String({ maxLength: 254 }),
          groups: Type.Array(Type.String({ maxLength: 256 }), { maxItems: 1000 }),
        }),
        { maxItems: 1000 },
      ),
    ),
    mapping: Type.Optional(RoleMappingInput),
  },
  { additionalProperties: false },
);
export type PreviewInput = Static<typeof PreviewInput>;

/** A dry run: what roles these groups (or these people) would get, under the saved mapping or a proposed one. */
export async function previewRoleMapping(ctx: Ctx, orgId: string, input: PreviewInput) {
  await authorize(ctx, orgId, 'members.read');
  let mapping: RoleMapping;
  if (input.mapping) {
    validateRoleMapping(input.mapping);
    mapping = {
      requiredPrefix: input.mapping.requiredPrefix,
      defaultRole: input.mapping.defaultRole,
      rules: input.mapping.rules.map((r, i) => ({ id: `proposed_${i}`, ...r })),
    };
  } else mapping = await loadRoleMapping(ctx.db, orgId);
  return {
    mapping,
    ...(input.groups ? { result: evaluateGroups(mapping, input.groups) } : {}),
    ...(input.users
      ? { users: input.users.map((u) => ({ email: u.email, ...evaluateGroups(mapping, u.groups) })) }
      : {}),
  };
}
