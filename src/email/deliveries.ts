import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { conflict, notFound } from '../errors.js';
import { type Page, type PageRequest, PageQuerySchema, pageOf, pageQuery } from '../http/pagination.js';
import { authorize } from '../orgs/authorize.js';
import type { EmailOutboxTable } from './tables.js';

/**
 * What admins see of their organization's mail: every message with its state, and the dead letters
 * (messages that failed every attempt) with the reason, which they may send again. Bodies are never
 * shown (they carry one-time links).
 */
export const EmailDeliveryView = Type.Object({
  id: Type.String(),
  template: Type.String({ description: 'invitation, password_reset, verify_email, …' }),
  to: Type.String(),
  status: Type.Union([Type.Literal('queued'), Type.Literal('sending'), Type.Literal('sent'), Type.Literal('dead')]),
  attempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()], {
    description: 'Why the last attempt failed, naming the mail server.',
  }),
  nextAttemptAt: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  sentAt: Type.Union([Type.String(), Type.Null()]),
  deadAt: Type.Union([Type.String(), Type.Null()]),
  retryable: Type.Boolean({
    description: 'A dead message whose content is still kept (its links have not expired) can be sent again.',
  }),
});
export type EmailDeliveryView = Static<typeof EmailDeliveryView>;

export const ListDeliveriesQuery = Type.Object({
  ...PageQuerySchema,
  status: Type.Optional(
    Type.Union([Type.Literal('queued'), Type.Literal('sending'), Type.Literal('sent'), Type.Literal('dead')]),
  ),
});
export type ListDeliveriesQuery = Static<typeof ListDeliveriesQuery>;

export const DeliveryParams = Type.Object({
  orgId: Type.String({ maxLength: 64 }),
  deliveryId: Type.String({ maxLength: 64 }),
});

export function deliveryView(r: EmailOutboxTable): EmailDeliveryView {
  return {
    id: r.id,
    template: r.template,
    to: r.to_address,
    status: r.status,
    attempts: Number(r.attempts),
    lastError: r.last_error,
    nextAttemptAt: r.status === 'queued' ? r.next_attempt_at : null,
    createdAt: r.created_at,
    sentAt: r.sent_at,
    deadAt: r.dead_at,
    retryable: r.status === 'dead' && r.body_ct !== null,
  };
}

export async function listDeliveries(
  ctx: Ctx,
  orgId: string,
  page: PageRequest,
  status?: EmailOutboxTable['status'],
): Promise<Page<EmailDeliveryView>> {
  await authorize(ctx, orgId, 'members.manage');
  let q = ctx.db.selectFrom('email_outbox').selectAll().where('org_id', '=', orgId);
  if (status) q = q.where('status', '=', status);
  const rows = await pageQuery(q, 'email_outbox.id', page).execute();
  return pageOf(rows.map(deliveryView), page);
}

/** Puts a dead message back in the queue: the next delivery run sends it. */
export async function retryDelivery(ctx: Ctx, orgId: string | null, id: string): Promise<EmailDeliveryView> {
  if (orgId !== null) await authorize(ctx, orgId, 'members.manage');
  return ctx.db.transaction().execute(async (tx) => {
    let q = tx.selectFrom('email_outbox').selectAll().where('id', '=', id);
    q = orgId === null ? q : q.where('org_id', '=', orgId);
    const row = await q.executeTakeFirst();
    if (!row) throw notFound('email delivery');
    if (row.status !== 'dead')
      throw conflict(
        'email_not_dead',
        `This message is ${row.status}; only a message that failed every attempt (dead) can be sent again.`,
      );
    if (!row.body_ct)
      throw conflict(
        'email_content_erased',
        'This message\'s content was erased because its links expired. Send a new one instead (invite the person again, or ask them to use "Forgot password").',
      );
    const at = ctx.clock.now().toISOString();
    await tx
      .updateTable('email_outbox')
      .set({ status: 'queued', attempts: 0, next_attempt_at: at, dead_at: null })
      .where('id', '=', id)
      .execute();
    if (row.org_id) {
      await recordAudit(tx, ctx, {
        orgId: row.org_id,
        action: 'email.retried',
        targets: [{ type: 'email', id: row.id, name: row.to_address }],
        metadata: { template: row.template, previousAttempts: Number(row.attempts), lastError: row.last_error },
      });
    }
    return deliveryView({ ...row, status: 'queued', attempts: 0, next_attempt_at: at, dead_at: null });
  });
}
