import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Tx } from '../db/schema.js';
import { conflict, notFound } from '../errors.js';
import { type Page, type PageRequest, pageOf } from '../http/pagination.js';
import { newId } from '../ids.js';
import { guardChange } from '../lockout/guard.js';
import { authorize } from '../orgs/authorize.js';
import { normalizeDomain } from './normalize.js';
import { CLAIMING, findDomain, lockDomain, overlappingClaims } from './store.js';
import type { Domain } from './tables.js';
import { type DomainView, domainView, recordNameFor } from './views.js';

export const AddDomainInput = Type.Object(
  {
    domain: Type.String({
      maxLength: 300,
      description: 'example.com, Example.COM., bücher.example — normalized to lower-case punycode.',
    }),
    includeSubdomains: Type.Optional(
      Type.Boolean({ description: 'Also capture emails at names under this domain (eu.example.com). Off by default.' }),
    ),
    autoJoin: Type.Optional(
      Type.Boolean({ description: 'People at this domain who sign in join as members. Off by default.' }),
    ),
  },
  { additionalProperties: false },
);
export type AddDomainInput = Static<typeof AddDomainInput>;

export const UpdateDomainInput = Type.Object(
  {
    includeSubdomains: Type.Optional(Type.Boolean()),
    autoJoin: Type.Optional(Type.Boolean()),
    acknowledgeWarnings: Type.Optional(
      Type.Boolean({
        description:
          'Apply the change even though the lockout guard lists people who would lose sign-in access or a role.',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateDomainInput = Static<typeof UpdateDomainInput>;

export const RemoveDomainQuery = Type.Object(
  {
    acknowledgeWarnings: Type.Optional(
      Type.Boolean({
        description: 'Remove the domain even though the lockout guard lists people who would lose sign-in access.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RemoveDomainQuery = Static<typeof RemoveDomainQuery>;

/** Bounds the re-check job's work per organization and keeps one admin from filling the table. */
export const MAX_DOMAINS_PER_ORG = 500;

/** Published in DNS, so not a secret; 160 random bits so nobody can guess another organization's value. */
export const CHALLENGE_PREFIX = 'palisade-verification=';
const newChallenge = () => `${CHALLENGE_PREFIX}${randomBytes(20).toString('hex')}`;

export function claimConflict(name: string): ReturnType<typeof conflict> {
  // Deliberately says nothing about which organization holds it.
  return conflict(
    'domain_claimed_by_another_organization',
    `${name} (or a domain covering it) is already verified by another organization in this Palisade installation, and a domain can belong to one organization only. If your company owns it, ask your IT or DNS team which organization verified it and have that organization remove it, or contact the operator of this Palisade installation.`,
    { domain: name },
  );
}

export async function addDomain(ctx: Ctx, orgId: string, input: AddDomainInput): Promise<DomainView> {
  await authorize(ctx, orgId, 'domains.manage');
  const { ascii, unicode } = normalizeDomain(input.domain);
  return insertDomain(ctx, orgId, input, ascii, unicode).catch((err: unknown) => {
    // Two admins adding the same name at once: the (org, name) unique index decides, the loser gets the same 409.
    if (isUniqueViolation(err))
      throw conflict(
        'domain_already_added',
        `${ascii} is already added to this organization. List the domains to see its instructions and state.`,
      );
    throw err;
  });
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

async function insertDomain(
  ctx: Ctx,
  orgId: string,
  input: AddDomainInput,
  ascii: string,
  unicode: string,
): Promise<DomainView> {
  return ctx.db.transaction().execute(async (tx) => {
    const existing = await tx
      .selectFrom('domains')
      .select(['id'])
      .where('org_id', '=', orgId)
      .where('name', '=', ascii)
      .executeTakeFirst();
    if (existing)
      throw conflict(
        'domain_already_added',
        `${ascii} is already added to this organization. Open it (GET …/domains/${existing.id}) to see its instructions and state.`,
        { domainId: existing.id },
      );
    const count = await tx
      .selectFrom('domains')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    if (Number(count.n) >= MAX_DOMAINS_PER_ORG) {
      throw conflict(
        'too_many_domains',
        `This organization already has ${MAX_DOMAINS_PER_ORG} domains, the most one organization can hold. Remove domains you no longer use, then add this one.`,
      );
    }
    const now = ctx.clock.now();
    const at = now.toISOString();
    const d: Domain = {
      id: newId('dom', now),
      org_id: orgId,
      name: ascii,
      unicode_name: unicode,
      status: 'pending',
      include_subdomains: input.includeSubdomains ? 1 : 0,
      auto_join: input.autoJoin ? 1 : 0,
      token: newChallenge(),
      claim_key: null,
      created_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null,
      created_at: at,
      updated_at: at,
      verified_at: null,
      last_checked_at: null,
      last_good_check_at: null,
      failing_since: null,
      grace_until: null,
      expired_at: null,
      last_diagnosis: null,
    };
    await tx.insertInto('domains').values(d).execute();
    await tx
      .insertInto('domain_challenges')
      .values({ token: d.token, org_id: orgId, domain_id: d.id, domain_name: ascii, created_at: at, retired_at: null })
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'domain.added',
      targets: [{ type: 'domain', id: d.id, name: ascii }],
      metadata: {
        recordName: recordNameFor(ctx.config, ascii),
        includeSubdomains: input.includeSubdomains === true,
        autoJoin: input.autoJoin === true,
        ...(unicode !== ascii ? { unicode } : {}),
      },
    });
    return domainView(ctx.config, d);
  });
}

export async function listDomains(ctx: Ctx, orgId: string, page: PageRequest): Promise<Page<DomainView>> {
  await authorize(ctx, orgId, 'domains.read');
  let q = ctx.db.selectFrom('domains').selectAll().where('org_id', '=', orgId);
  const after = page.after?.[0];
  if (after !== undefined) q = q.where('id', '>', after);
  const rows = await q
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  return pageOf(
    rows.map((r) => domainView(ctx.config, r)),
    page,
  );
}

export async function getDomain(ctx: Ctx, orgId: string, domainId: string): Promise<DomainView> {
  await authorize(ctx, orgId, 'domains.read');
  const d = await findDomain(ctx.db, orgId, domainId);
  if (!d) throw notFound('domain');
  return domainView(ctx.config, d);
}

export async function updateDomain(
  ctx: Ctx,
  orgId: string,
  domainId: string,
  input: UpdateDomainInput,
): Promise<DomainView> {
  await authorize(ctx, orgId, 'domains.manage');
  return ctx.db.transaction().execute(async (tx) => {
    if (!(await findDomain(tx, orgId, domainId))) throw notFound('domain');
    const d = (await lockDomain(tx, domainId)) as Domain;
    const sub = input.includeSubdomains === undefined ? Number(d.include_subdomains) : input.includeSubdomains ? 1 : 0;
    const join = input.autoJoin === undefined ? Number(d.auto_join) : input.autoJoin ? 1 : 0;
    if (Number(d.include_subdomains) === sub && Number(d.auto_join) === join) return domainView(ctx.config, d);
    if (
      sub === 1 &&
      Number(d.include_subdomains) === 0 &&
      CLAIMING.includes(d.status) &&
      (await overlappingClaims(tx, orgId, d.name, true)).length > 0
    )
      throw claimConflict(`names under ${d.name}`);
    const at = ctx.clock.now().toISOString();
    const target = { type: 'domain', id: d.id, name: d.name };
    // Capture and auto-join decide who SSO may add: the lockout guard replays the organization's sign-ins around the change.
    await guardChange(
      tx,
      ctx,
      { orgId, change: 'domain', target, acknowledge: input.acknowledgeWarnings === true },
      async () => {
        await tx
          .updateTable('domains')
          .set({ include_subdomains: sub, auto_join: join, updated_at: at })
          .where('id', '=', d.id)
          .execute();
        const changes: Record<string, unknown> = {};
        if (Number(d.include_subdomains) !== sub)
          changes.includeSubdomains = { from: Number(d.include_subdomains) === 1, to: sub === 1 };
        if (Number(d.auto_join) !== join) changes.autoJoin = { from: Number(d.auto_join) === 1, to: join === 1 };
        await recordAudit(tx, ctx, { orgId, action: 'domain.updated', targets: [target], metadata: changes });
      },
    );
    return domainView(ctx.config, { ...d, include_subdomains: sub, auto_join: join, updated_at: at });
  });
}

export async function removeDomain(
  ctx: Ctx,
  orgId: string,
  domainId: string,
  query: RemoveDomainQuery = {},
): Promise<void> {
  await authorize(ctx, orgId, 'domains.manage');
  await ctx.db.transaction().execute(async (tx) => {
    if (!(await findDomain(tx, orgId, domainId))) throw notFound('domain');
    const d = (await lockDomain(tx, domainId)) as Domain;
    const at = ctx.clock.now().toISOString();
    const target = { type: 'domain', id: d.id, name: d.name };
    await guardChange(
      tx,
      ctx,
      { orgId, change: 'domain', target, acknowledge: query.acknowledgeWarnings === true },
      async () => {
        await tx.deleteFrom('domains').where('id', '=', d.id).execute();
        // The value stays known (retired) so a forgotten record is later diagnosed as "an older value".
        await tx
          .updateTable('domain_challenges')
          .set({ retired_at: at })
          .where('domain_id', '=', d.id)
          .where('retired_at', 'is', null)
          .execute();
        await recordAudit(tx, ctx, {
          orgId,
          action: 'domain.removed',
          targets: [target],
          metadata: { status: d.status, capturedLogins: CLAIMING.includes(d.status) },
        });
      },
    );
  });
}

/**
 * When an organization is deleted its domains stop capturing and are released, so another
 * organization can verify them. Called inside the deletion's transaction.
 */
export async function releaseOrgDomains(tx: Tx, ctx: Ctx, orgId: string): Promise<number> {
  const held = await tx
    .selectFrom('domains')
    .select(['id', 'name', 'status'])
    .where('org_id', '=', orgId)
    .where('status', 'in', CLAIMING)
    .execute();
  if (held.length === 0) return 0;
  const at = ctx.clock.now().toISOString();
  await tx
    .updateTable('domains')
    .set({ status: 'expired', claim_key: null, expired_at: at, updated_at: at })
    .where('org_id', '=', orgId)
    .where('status', 'in', CLAIMING)
    .execute();
  for (const d of held) {
    await recordAudit(tx, ctx, {
      orgId,
      action: 'domain.released',
      targets: [{ type: 'domain', id: d.id, name: d.name }],
      metadata: {
        reason:
          'The organization was deleted; the domain no longer captures sign-ins and another organization may verify it.',
        previousStatus: d.status,
      },
    });
  }
  return held.length;
}
