import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import { createLinkToken } from '../auth/link-tokens.js';
import { requireUser } from '../auth/require-user.js';
import type { Ctx } from '../context.js';
import { addressAuthority, domainManagedElsewhere } from '../domains/authority.js';
import { refuseCapturedEmail } from '../domains/capture.js';
import { releaseOrgDomains } from '../domains/domains.js';
import type { Organization, Tx } from '../db/schema.js';
import { PalisadeError, badRequest, conflict, unauthenticated } from '../errors.js';
import { type Page, type PageRequest, pageOf } from '../http/pagination.js';
import { newId } from '../ids.js';
import { normalizeEmail } from '../users/email.js';
import { findOrCreateUser } from '../users/store.js';
import { type Authorized, authorize, effectiveRole, missingPermission } from '../orgs/authorize.js';
import { roleAllows } from '../orgs/permissions.js';
import { activeChildCount, lockOrg, orgLineage } from '../orgs/store.js';
import { type OrganizationView, organizationView } from '../orgs/views.js';

/** Root plus two levels of business units: deep enough for divisions, shallow enough to reason about. */
export const MAX_ORG_DEPTH = 3;

export const CreateOrganizationInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    billingEmail: Type.Optional(Type.String({ maxLength: 254 })),
  },
  { additionalProperties: false },
);
export type CreateOrganizationInput = Static<typeof CreateOrganizationInput>;

export const UpdateOrganizationInput = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    billingEmail: Type.Optional(Type.Union([Type.String({ maxLength: 254 }), Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateOrganizationInput = Static<typeof UpdateOrganizationInput>;

function cleanName(name: string): string {
  const n = name.trim().replace(/\s+/g, ' ');
  if (!n) throw badRequest('invalid_name', 'Give the organization a name that is not only spaces.');
  return n;
}

async function insertOrg(
  tx: Tx,
  ctx: Ctx,
  input: CreateOrganizationInput,
  parentId: string | null,
): Promise<Organization> {
  const now = ctx.clock.now();
  const at = now.toISOString();
  const org: Organization = {
    id: newId('org', now),
    parent_id: parentId,
    name: cleanName(input.name),
    billing_email: input.billingEmail ? normalizeEmail(input.billingEmail) : null,
    status: 'active',
    created_at: at,
    updated_at: at,
    deleted_at: null,
  };
  await tx.insertInto('organizations').values(org).execute();
  return org;
}

async function addOwnerMembership(tx: Tx, ctx: Ctx, orgId: string, userId: string, status: 'active' | 'invited') {
  const now = ctx.clock.now();
  const id = newId('mem', now);
  await tx
    .insertInto('memberships')
    .values({
      id,
      org_id: orgId,
      user_id: userId,
      role: 'primary_owner',
      status,
      invited_by: null,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    })
    .execute();
  return id;
}

/**
 * Creates a top-level organization. From the CLI (system caller) it names its first primary owner
 * by email: a new account gets a one-time setup link, printed for the operator (who runs the
 * installation and is trusted with it); an existing account is someone else's, so it is only
 * invited and joins when its owner accepts while signed in. An address at a domain another
 * organization verified is refused (that organization manages those accounts). Through the API
 * the signed-in caller becomes its owner, when the installation allows self-service creation.
 */
export async function createOrganization(
  ctx: Ctx,
  input: CreateOrganizationInput & { ownerEmail?: string },
): Promise<{
  organization: OrganizationView;
  setupLink: { url: string; expiresAt: string } | null;
  ownerStatus: 'active' | 'invited';
  ownerHasAccount: boolean;
}> {
  if (ctx.caller.kind === 'anonymous')
    throw unauthenticated(
      'authentication_required',
      'Sign in, or send a personal API token as "Authorization: Bearer pls_pat_…", to create an organization.',
    );
  if (ctx.caller.kind === 'user' && ctx.config.orgCreation !== 'any_user') {
    throw new PalisadeError(
      403,
      'org_creation_disabled',
      'Top-level organizations are created by the installation operator with `palisade org create`. To let signed-in people create them, set PALISADE_ORG_CREATION=any_user.',
    );
  }
  const ownerEmail =
    ctx.caller.kind === 'user' ? ctx.caller.email : input.ownerEmail ? normalizeEmail(input.ownerEmail) : undefined;
  if (!ownerEmail)
    throw badRequest(
      'owner_required',
      'Name the first primary owner by email (for example --owner-email you@example.com).',
    );
  requireUserOrSystem(ctx);
  // A person whose email domain an organization verified cannot start a separate one; nor can the
  // operator make them the owner of one (the organization that verified the domain manages them).
  if (ctx.caller.kind === 'user') await refuseCapturedEmail(ctx.db, ownerEmail, null, 'self');
  else {
    const authority = await addressAuthority(ctx.db, null, ownerEmail);
    if (authority.kind === 'other_company')
      throw domainManagedElsewhere(ownerEmail, authority.domain, 'making it the owner of a new organization');
  }
  return ctx.db.transaction().execute(async (tx) => {
    const org = await insertOrg(tx, ctx, input, null);
    const { user, created } = await findOrCreateUser(tx, ownerEmail, ctx.clock.now());
    const ownerStatus = ctx.caller.kind === 'user' ? 'active' : 'invited';
    const membershipId = await addOwnerMembership(tx, ctx, org.id, user.id, ownerStatus);
    await recordAudit(tx, ctx, {
      orgId: org.id,
      action: 'org.created',
      targets: [{ type: 'organization', id: org.id, name: org.name }],
    });
    await recordAudit(tx, ctx, {
      orgId: org.id,
      action: 'member.invited',
      targets: [
        { type: 'user', id: user.id, name: user.email },
        { type: 'membership', id: membershipId },
      ],
      metadata: {
        role: 'primary_owner',
        status: ownerStatus,
        requires: ownerStatus === 'active' ? 'nothing' : created ? 'set_password' : 'acceptance',
      },
    });
    const link =
      created && ctx.caller.kind === 'system'
        ? await createLinkToken(tx, ctx, {
            purpose: 'setup',
            userId: user.id,
            orgId: org.id,
            membershipId,
            delivery: 'shown',
          })
        : null;
    return {
      organization: organizationView(org, 'primary_owner'),
      setupLink: link && { url: link.url, expiresAt: link.expiresAt },
      ownerStatus,
      ownerHasAccount: !created,
    };
  });
}

function requireUserOrSystem(ctx: Ctx): void {
  if (ctx.caller.kind !== 'system') requireUser(ctx);
}

export async function createChildOrganization(
  ctx: Ctx,
  parentId: string,
  input: CreateOrganizationInput,
): Promise<OrganizationView> {
  const { org: parent, role } = await authorize(ctx, parentId, 'org.children.create');
  if (input.billingEmail !== undefined && !roleAllows(role, 'org.billing.manage'))
    throw missingPermission('org.billing.manage', role);
  const depth = (await orgLineage(ctx.db, parent.id)).length;
  if (depth >= MAX_ORG_DEPTH) {
    throw badRequest(
      'org_depth_exceeded',
      `Organizations nest at most ${MAX_ORG_DEPTH} levels deep; create this business unit under a higher-level organization.`,
    );
  }
  return ctx.db.transaction().execute(async (tx) => {
    const child = await insertOrg(tx, ctx, input, parent.id);
    await recordAudit(tx, ctx, {
      orgId: child.id,
      action: 'org.created',
      targets: [{ type: 'organization', id: child.id, name: child.name }],
      metadata: { parentId: parent.id },
    });
    await recordAudit(tx, ctx, {
      orgId: parent.id,
      action: 'org.child_created',
      targets: [{ type: 'organization', id: child.id, name: child.name }],
    });
    // The creator's parent-level role already administers the child; no direct membership is needed.
    return organizationView(child, role);
  });
}

export async function getOrganization(ctx: Ctx, orgId: string): Promise<OrganizationView> {
  const { org, role } = await authorize(ctx, orgId, 'org.read');
  return organizationView(org, role);
}

/** Organizations the caller belongs to directly, plus the children of those they administer. */
export async function listMyOrganizations(ctx: Ctx, page: PageRequest): Promise<Page<OrganizationView>> {
  const me = requireUser(ctx);
  const direct = await ctx.db
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
    .select(['organizations.id'])
    .where('memberships.user_id', '=', me.userId)
    .where('memberships.status', '=', 'active')
    .where('organizations.status', '=', 'active')
    .execute();
  const visible = new Set(direct.map((r) => r.id));
  let frontier = [...visible];
  for (let depth = 1; depth < MAX_ORG_DEPTH && frontier.length; depth++) {
    const children = await ctx.db
      .selectFrom('organizations')
      .select('id')
      .where('parent_id', 'in', frontier)
      .where('status', '=', 'active')
      .execute();
    frontier = children.map((c) => c.id).filter((id) => !visible.has(id));
    frontier.forEach((id) => visible.add(id));
  }
  const after = page.after?.[0];
  const ids = [...visible]
    .sort()
    .filter((id) => after === undefined || id > after)
    .slice(0, page.limit + 1);
  const out: OrganizationView[] = [];
  for (const id of ids) {
    const lineage = await orgLineage(ctx.db, id);
    const role = await effectiveRole(ctx, me.userId, lineage);
    if (role && lineage[0]) out.push(organizationView(lineage[0], role));
  }
  return pageOf(out, page);
}

export async function listChildOrganizations(
  ctx: Ctx,
  orgId: string,
  page: PageRequest,
): Promise<Page<OrganizationView>> {
  const { role } = await authorize(ctx, orgId, 'org.read');
  const after = page.after?.[0];
  let q = ctx.db.selectFrom('organizations').selectAll().where('parent_id', '=', orgId).where('status', '=', 'active');
  if (after !== undefined) q = q.where('id', '>', after);
  const rows = await q
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  // Members of a parent are not members of its children: they see that children exist, not their settings.
  const childRole = role === 'member' ? undefined : role;
  return pageOf(
    rows.map((o) =>
      childRole
        ? organizationView(o, childRole)
        : { id: o.id, parentId: o.parent_id, name: o.name, createdAt: o.created_at, updatedAt: o.updated_at },
    ),
    page,
  );
}

export async function updateOrganization(
  ctx: Ctx,
  orgId: string,
  input: UpdateOrganizationInput,
): Promise<OrganizationView> {
  const auth: Authorized = await authorize(ctx, orgId, 'org.update');
  if (input.billingEmail !== undefined && !roleAllows(auth.role, 'org.billing.manage'))
    throw missingPermission('org.billing.manage', auth.role);
  const changes: Partial<Organization> = {};
  if (input.name !== undefined) changes.name = cleanName(input.name);
  if (input.billingEmail !== undefined)
    changes.billing_email = input.billingEmail === null ? null : normalizeEmail(input.billingEmail);
  return ctx.db.transaction().execute(async (tx) => {
    const at = ctx.clock.now().toISOString();
    await tx
      .updateTable('organizations')
      .set({ ...changes, updated_at: at })
      .where('id', '=', orgId)
      .execute();
    const changed = Object.keys(changes).map((k) => (k === 'billing_email' ? 'billingEmail' : k));
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    if (changes.name !== undefined) {
      before.name = auth.org.name;
      after.name = changes.name;
    }
    if (changes.billing_email !== undefined) {
      // Billing contact changes are recorded without the addresses themselves.
      after.billingEmailSet = changes.billing_email !== null;
    }
    await recordAudit(tx, ctx, {
      orgId,
      action: changes.billing_email !== undefined ? 'org.billing_updated' : 'org.updated',
      targets: [{ type: 'organization', id: orgId, name: changes.name ?? auth.org.name }],
      metadata: { changed, before, after },
    });
    return organizationView({ ...auth.org, ...changes, updated_at: at }, auth.role);
  });
}

export async function deleteOrganization(ctx: Ctx, orgId: string): Promise<void> {
  const { org } = await authorize(ctx, orgId, 'org.delete');
  await ctx.db.transaction().execute(async (tx) => {
    await lockOrg(tx, orgId);
    const children = await activeChildCount(tx, orgId);
    if (children > 0) {
      throw conflict(
        'org_has_children',
        `This organization still has ${children} child organization(s). Delete them first, then delete this one.`,
        { childCount: children },
      );
    }
    const at = ctx.clock.now().toISOString();
    // Soft delete: the organization stops answering, its audit trail stays provable.
    await tx
      .updateTable('organizations')
      .set({ status: 'deleted', deleted_at: at, updated_at: at })
      .where('id', '=', orgId)
      .execute();
    await releaseOrgDomains(tx, ctx, orgId);
    await tx
      .updateTable('link_tokens')
      .set({ used_at: at })
      .where('org_id', '=', orgId)
      .where('used_at', 'is', null)
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'org.deleted',
      targets: [{ type: 'organization', id: orgId, name: org.name }],
    });
    if (org.parent_id) {
      await recordAudit(tx, ctx, {
        orgId: org.parent_id,
        action: 'org.child_deleted',
        targets: [{ type: 'organization', id: orgId, name: org.name }],
      });
    }
  });
}
