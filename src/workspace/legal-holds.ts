import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { notFound } from '../errors.js';
import { newId } from '../ids.js';
import { authorize } from '../orgs/authorize.js';

/** Legal holds: content of the organization, or of one person, that retention must not delete while held. */

export const HoldInput = Type.Object(
  {
    userId: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength: 64 })),
    reason: Type.String({ minLength: 1, maxLength: 500 }),
  },
  { additionalProperties: false },
);
export const HoldView = Type.Object({
  id: Type.String(),
  userId: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  placedAt: Type.String(),
  liftedAt: Type.Union([Type.String(), Type.Null()]),
});
export type HoldView = Static<typeof HoldView>;
type HoldRow = { id: string; user_id: string | null; reason: string; placed_at: string; lifted_at: string | null };
const holdView = (r: HoldRow): HoldView => ({
  id: r.id,
  userId: r.user_id,
  reason: r.reason,
  placedAt: r.placed_at,
  liftedAt: r.lifted_at,
});

export async function placeHold(ctx: Ctx, orgId: string, input: Static<typeof HoldInput>): Promise<HoldView> {
  await authorize(ctx, orgId, 'org.update');
  const userId = input.userId ?? null;
  if (userId) {
    const m = await ctx.db
      .selectFrom('memberships')
      .select('id')
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (!m) throw notFound('member');
  }
  const now = ctx.clock.now();
  const row = {
    id: newId('hld', now),
    org_id: orgId,
    user_id: userId,
    reason: input.reason,
    placed_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null,
    placed_at: now.toISOString(),
    lifted_by: null,
    lifted_at: null,
  };
  await ctx.db.transaction().execute(async (tx) => {
    await tx.insertInto('legal_holds').values(row).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'legal_hold.placed',
      targets: [{ type: 'legal_hold', id: row.id }, ...(userId ? [{ type: 'user', id: userId }] : [])],
      metadata: { scope: userId ? 'user' : 'organization', reason: input.reason },
    });
  });
  return holdView(row);
}

export async function listHolds(ctx: Ctx, orgId: string): Promise<{ data: HoldView[] }> {
  await authorize(ctx, orgId, 'org.update');
  const rows = await ctx.db.selectFrom('legal_holds').selectAll().where('org_id', '=', orgId).orderBy('id').execute();
  return { data: rows.map(holdView) };
}

export async function liftHold(ctx: Ctx, orgId: string, holdId: string): Promise<HoldView> {
  await authorize(ctx, orgId, 'org.update');
  return ctx.db.transaction().execute(async (tx) => {
    const r = await tx
      .selectFrom('legal_holds')
      .selectAll()
      .where('id', '=', holdId)
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (!r) throw notFound('legal hold');
    if (r.lifted_at) return holdView(r);
    const at = ctx.clock.now().toISOString();
    await tx
      .updateTable('legal_holds')
      .set({ lifted_at: at, lifted_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null })
      .where('id', '=', holdId)
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'legal_hold.lifted',
      targets: [{ type: 'legal_hold', id: holdId }, ...(r.user_id ? [{ type: 'user', id: r.user_id }] : [])],
      metadata: { scope: r.user_id ? 'user' : 'organization' },
    });
    return holdView({ ...r, lifted_at: at });
  });
}
