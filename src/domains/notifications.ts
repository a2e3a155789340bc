import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { type Page, type PageRequest, pageOf } from '../http/pagination.js';
import { authorize } from '../orgs/authorize.js';

export const DomainNotificationView = Type.Object({
  id: Type.String(),
  event: Type.String({ description: 'domain.verified | domain.failing | domain.expired | domain.recovered' }),
  domainId: Type.String(),
  domain: Type.String(),
  createdAt: Type.String(),
  deliveredAt: Type.Union([Type.String(), Type.Null()]),
  payload: Type.Record(Type.String(), Type.Unknown(), { description: 'The webhook body for this event.' }),
});
export type DomainNotificationView = Static<typeof DomainNotificationView>;

export async function listDomainNotifications(
  ctx: Ctx,
  orgId: string,
  page: PageRequest,
): Promise<Page<DomainNotificationView>> {
  await authorize(ctx, orgId, 'domains.read');
  let q = ctx.db.selectFrom('domain_notifications').selectAll().where('org_id', '=', orgId);
  const after = page.after?.[0];
  if (after !== undefined) q = q.where('id', '>', after);
  const rows = await q
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  return pageOf(
    rows.map((r) => ({
      id: r.id,
      event: r.event,
      domainId: r.domain_id,
      domain: r.domain_name,
      createdAt: r.created_at,
      deliveredAt: r.delivered_at,
      payload: JSON.parse(r.payload) as Record<string, unknown>,
    })),
    page,
  );
}
