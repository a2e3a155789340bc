import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { displayPrefix, generateSecret, hashSecret, secretKind } from '../auth/secrets.js';
import { requireUser } from '../auth/require-user.js';
import { addMs } from '../clock.js';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { newId } from '../ids.js';
import { authorize } from '../orgs/authorize.js';
import { complianceError, notVisible } from './errors.js';
import { ALL_SCOPES, type Scope, isScope } from './scopes.js';
import { type KeyRow, keyByHash, keyOfOrg, keysOfOrg, subtreesOf } from './store.js';

/**
 * Compliance keys (`pls_cmp_…`): an organization's credential for the Compliance API, created by
 * a primary owner of a top-level organization. A key sees that organization's tree, or only the
 * organizations it lists (each with its descendants), and does only what its scopes say. The
 * secret is shown once; only its SHA-256 is stored. Revocation takes effect on the next request.
 */
const ScopeSchema = Type.Union(ALL_SCOPES.map((s) => Type.Literal(s)));

export const CreateComplianceKeyInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: ALL_SCOPES.length, uniqueItems: true }),
    organizationIds: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), {
        minItems: 1,
        maxItems: 500,
        uniqueItems: true,
        description: 'Organizations of this tree the key may see, each with its descendants. Omit for the whole tree.',
      }),
    ),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    rateLimitPerMinute: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 100_000,
        description: 'Requests per minute for this key; default PALISADE_COMPLIANCE_RATE_LIMIT_PER_MINUTE.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateComplianceKeyInput = Static<typeof CreateComplianceKeyInput>;

export const ComplianceKeyView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'First characters of the key, to recognise it; the rest is never shown again.' }),
  scopes: Type.Array(Type.String()),
  organizationIds: Type.Union([Type.Array(Type.String()), Type.Null()], {
    description: 'null: the whole tree of the organization.',
  }),
  rateLimitPerMinute: Type.Union([Type.Integer(), Type.Null()]),
  createdBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  expiresAt: Type.Union([Type.String(), Type.Null()]),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});
export type ComplianceKeyView = Static<typeof ComplianceKeyView>;

export const keyView = (r: KeyRow): ComplianceKeyView => ({
  id: r.id,
  name: r.name,
  prefix: r.display_prefix,
  scopes: JSON.parse(r.scopes) as string[],
  organizationIds: r.org_ids === null ? null : (JSON.parse(r.org_ids) as string[]),
  rateLimitPerMinute: r.rate_limit_per_minute === null ? null : Number(r.rate_limit_per_minute),
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

/** Keys belong to top-level organizations only: their primary owners see the whole tree. */
async function authorizeKeyAdmin(ctx: Ctx, orgId: string) {
  const auth = await authorize(ctx, orgId, 'compliance.keys.manage');
  if (auth.org.parent_id !== null) {
    throw complianceError(
      'compliance_keys_top_level_only',
      'Compliance keys are created in the top-level organization, by one of its primary owners; a key can then be limited to this organization with "organizationIds".',
      {
        topLevelRequired: true,
      },
    );
  }
  return auth;
}

export async function createComplianceKey(
  ctx: Ctx,
  orgId: string,
  input: CreateComplianceKeyInput,
): Promise<{ key: string; complianceKey: ComplianceKeyView }> {
  await authorizeKeyAdmin(ctx, orgId);
  const me = requireUser(ctx);
  // A key that reads every member's content is minted by a person at the console, not by a script.
  if (me.via !== 'session')
    throw complianceError(
      'compliance_key_needs_session',
      'Create compliance keys while signed in to Palisade in a browser session, not with an API token.',
    );
  let orgIds: string[] | null = null;
  if (input.organizationIds) {
    const tree = new Set((await subtreesOf(ctx.db, [orgId])).map((o) => o.id));
    const outside = input.organizationIds.filter((id) => !tree.has(id));
    if (outside.length) {
      throw complianceError(
        'invalid_organization_ids',
        `These organization ids are not in this organization's tree: ${outside.slice(0, 10).join(', ')}. List organizations of this tree (this one or its descendants), or omit organizationIds for the whole tree.`,
        {
          field: 'organizationIds',
          outside: outside.slice(0, 10),
        },
      );
    }
    orgIds = [...input.organizationIds].sort();
  }
  const scopes = [...input.scopes].sort();
  const now = ctx.clock.now();
  const secret = generateSecret('cmp');
  const row: KeyRow = {
    id: newId('cmp', now),
    org_id: orgId,
    name: input.name.trim() || 'compliance key',
    token_hash: hashSecret(secret),
    display_prefix: displayPrefix(secret),
    scopes: JSON.stringify(scopes),
    org_ids: orgIds ? JSON.stringify(orgIds) : null,
    rate_limit_per_minute: input.rateLimitPerMinute ?? null,
    created_by: me.userId,
    created_at: now.toISOString(),
    expires_at: input.expiresInDays ? addMs(now, input.expiresInDays * 86_400_000).toISOString() : null,
    last_used_at: null,
    revoked_at: null,
    revoked_by: null,
  };
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('compliance_keys').values(row).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'compliance_key.created',
      targets: [
        { type: 'compliance_key', id: row.id, name: row.name },
        ...(orgIds ?? []).map((id) => ({ type: 'organization', id })),
      ],
      metadata: {
        scopes,
        organizationIds: orgIds,
        expiresAt: row.expires_at,
        rateLimitPerMinute: row.rate_limit_per_minute,
      },
    });
  });
  return { key: secret, complianceKey: keyView(row) };
}

export async function listComplianceKeys(ctx: Ctx, orgId: string): Promise<{ data: ComplianceKeyView[] }> {
  await authorizeKeyAdmin(ctx, orgId);
  return { data: (await keysOfOrg(ctx.db, orgId)).map(keyView) };
}

export async function getComplianceKey(ctx: Ctx, orgId: string, keyId: string): Promise<ComplianceKeyView> {
  await authorizeKeyAdmin(ctx, orgId);
  const row = await keyOfOrg(ctx.db, orgId, keyId);
  if (!row) throw notVisible('compliance key');
  return keyView(row);
}

export async function revokeComplianceKey(ctx: Ctx, orgId: string, keyId: string): Promise<ComplianceKeyView> {
  await authorizeKeyAdmin(ctx, orgId);
  const me = requireUser(ctx);
  return ctx.db.transaction().execute(async (tx) => {
    const row = await keyOfOrg(tx, orgId, keyId);
    if (!row) throw notVisible('compliance key');
    if (row.revoked_at) return keyView(row);
    const at = ctx.clock.now().toISOString();
    await tx
      .updateTable('compliance_keys')
      .set({ revoked_at: at, revoked_by: me.userId })
      .where('id', '=', keyId)
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'compliance_key.revoked',
      targets: [{ type: 'compliance_key', id: row.id, name: row.name }],
      metadata: { lastUsedAt: row.last_used_at },
    });
    return keyView({ ...row, revoked_at: at, revoked_by: me.userId });
  });
}

/** A live key as the Compliance API uses it: its scopes and the organizations it sees. */
export interface LiveKey {
  id: string;
  name: string;
  rootOrgId: string;
  scopes: ReadonlySet<Scope>;
  /** Active organizations the key may see (its tree, or the listed organizations with their descendants). */
  orgIds: string[];
  rateLimitPerMinute: number | null;
  lastUsedAt: string | null;
}

/** The key a secret names, when it is live (not revoked, not expired, its organization active); undefined otherwise. */
export async function resolveComplianceKey(db: Queryable, now: Date, secret: string): Promise<LiveKey | undefined> {
  if (secretKind(secret) !== 'cmp') return undefined;
  const row = await keyByHash(db, hashSecret(secret));
  if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= now.toISOString()))
    return undefined;
  const root = await db
    .selectFrom('organizations')
    .select('id')
    .where('id', '=', row.org_id)
    .where('status', '=', 'active')
    .executeTakeFirst();
  if (!root) return undefined;
  const tree = (await subtreesOf(db, [row.org_id])).map((o) => o.id);
  let orgIds = tree;
  if (row.org_ids !== null) {
    // A listed organization moved out of the tree (or deleted) is simply no longer seen.
    const inTree = new Set(tree);
    orgIds = (
      await subtreesOf(
        db,
        (JSON.parse(row.org_ids) as string[]).filter((id) => inTree.has(id)),
      )
    ).map((o) => o.id);
  }
  return {
    id: row.id,
    name: row.name,
    rootOrgId: row.org_id,
    scopes: new Set((JSON.parse(row.scopes) as string[]).filter(isScope)),
    orgIds,
    rateLimitPerMinute: row.rate_limit_per_minute === null ? null : Number(row.rate_limit_per_minute),
    lastUsedAt: row.last_used_at,
  };
}
