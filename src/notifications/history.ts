import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { notFound } from '../errors.js';
import { type Page, type PageRequest, PageQuerySchema, pageOf } from '../http/pagination.js';
import { authorize } from '../orgs/authorize.js';
import { recordAudit } from '../audit/record.js';
import { notificationError } from './errors.js';
import type { NotificationDeliveriesTable, NotificationsTable } from './tables.js';

const Status = Type.Union(
  [Type.Literal('queued'), Type.Literal('sending'), Type.Literal('sent'), Type.Literal('dead'), Type.Literal('digest')],
  { description: 'digest: waiting for the daily digest of its email channel.' },
);

export const DeliveryView = Type.Object({
  id: Type.String(),
  notificationId: Type.String(),
  channelId: Type.Union([Type.String(), Type.Null()], {
    description: 'null: the default email to primary owners and admins.',
  }),
  channelKind: Type.String(),
  recipients: Type.Array(Type.String(), {
    description: 'Email: the addresses, as resolved when the notification was created.',
  }),
  status: Status,
  attempts: Type.Integer(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  responseStatus: Type.Union([Type.Integer(), Type.Null()]),
  nextAttemptAt: Type.Union([Type.String(), Type.Null()]),
  emails: Type.Array(
    Type.Object({
      id: Type.String(),
      to: Type.String(),
      status: Type.String(),
      lastError: Type.Union([Type.String(), Type.Null()]),
    }),
    { description: 'Email: each message in the mail queue and its state (see …/email-deliveries).' },
  ),
  createdAt: Type.String(),
  sentAt: Type.Union([Type.String(), Type.Null()]),
  deadAt: Type.Union([Type.String(), Type.Null()]),
});
export type DeliveryView = Static<typeof DeliveryView>;

export const NotificationView = Type.Object({
  id: Type.String(),
  type: Type.String(),
  phase: Type.Union([
    Type.Literal('alert'),
    Type.Literal('reminder'),
    Type.Literal('warning'),
    Type.Literal('resolved'),
  ]),
  severity: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]),
  incidentId: Type.Union([Type.String(), Type.Null()]),
  title: Type.String(),
  facts: Type.Record(Type.String(), Type.Unknown()),
  fix: Type.String(),
  links: Type.Array(Type.Object({ label: Type.String(), url: Type.String() })),
  sourceEventId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  deliveries: Type.Array(DeliveryView),
});
export type NotificationView = Static<typeof NotificationView>;

export const IncidentView = Type.Object({
  id: Type.String(),
  causeKey: Type.String(),
  type: Type.String(),
  status: Type.Union([Type.Literal('open'), Type.Literal('resolved')]),
  openedAt: Type.String(),
  lastNotifiedAt: Type.String(),
  nextReminderAt: Type.Union([Type.String(), Type.Null()]),
  reminders: Type.Integer(),
  resolvedAt: Type.Union([Type.String(), Type.Null()]),
});

export const ListNotificationsQuery = Type.Object({
  ...PageQuerySchema,
  type: Type.Optional(Type.String({ maxLength: 64 })),
});
export const ListDeliveriesQuery = Type.Object({ ...PageQuerySchema, status: Type.Optional(Status) });
export const ListIncidentsQuery = Type.Object({
  ...PageQuerySchema,
  status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])),
});

async function deliveryViews(ctx: Ctx, rows: NotificationDeliveriesTable[]): Promise<DeliveryView[]> {
  const emailIds = rows.flatMap((r) => (r.email_ids ? (JSON.parse(r.email_ids) as string[]) : []));
  const emails = emailIds.length
    ? await ctx.db
        .selectFrom('email_outbox')
        .select(['id', 'to_address', 'status', 'last_error'])
        .where('id', 'in', emailIds)
        .execute()
    : [];
  return rows.map((r) => ({
    id: r.id,
    notificationId: r.notification_id,
    channelId: r.channel_id,
    channelKind: r.channel_kind,
    recipients: JSON.parse(r.recipients) as string[],
    status: r.status,
    attempts: Number(r.attempts),
    lastError: r.last_error,
    responseStatus: r.response_status === null ? null : Number(r.response_status),
    nextAttemptAt: r.status === 'queued' ? r.next_attempt_at : null,
    emails: (r.email_ids ? (JSON.parse(r.email_ids) as string[]) : []).map((id) => {
      const e = emails.find((x) => x.id === id);
      // A message the mail queue already forgot (sent over 30 days ago) was sent.
      return { id, to: e?.to_address ?? '', status: e?.status ?? 'sent', lastError: e?.last_error ?? null };
    }),
    createdAt: r.created_at,
    sentAt: r.sent_at,
    deadAt: r.dead_at,
  }));
}

function notificationView(n: NotificationsTable, deliveries: DeliveryView[]): NotificationView {
  return {
    id: n.id,
    type: n.type,
    phase: n.phase,
    severity: n.severity,
    incidentId: n.incident_id,
    title: n.title,
    facts: JSON.parse(n.facts) as Record<string, unknown>,
    fix: n.fix,
    links: JSON.parse(n.links) as NotificationView['links'],
    sourceEventId: n.source_event_id,
    createdAt: n.created_at,
    deliveries,
  };
}

/** Newest first. */
export async function listNotifications(
  ctx: Ctx,
  orgId: string,
  page: PageRequest,
  type?: string,
): Promise<Page<NotificationView>> {
  await authorize(ctx, orgId, 'notifications.manage');
  let q = ctx.db.selectFrom('notifications').selectAll().where('org_id', '=', orgId);
  if (type) q = q.where('type', '=', type);
  const before = page.after?.[0];
  if (before !== undefined) q = q.where('id', '<', before);
  const rows = await q
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  const shown = rows.slice(0, page.limit);
  const ds = shown.length
    ? await ctx.db
        .selectFrom('notification_deliveries')
        .selectAll()
        .where(
          'notification_id',
          'in',
          shown.map((r) => r.id),
        )
        .orderBy('id')
        .execute()
    : [];
  const views = await deliveryViews(ctx, ds);
  return pageOf(
    rows.map((r) =>
      notificationView(
        r,
        views.filter((d) => d.notificationId === r.id),
      ),
    ),
    page,
  );
}

/** ?status=dead is the dead-letter list. */
export async function listDeliveries(
  ctx: Ctx,
  orgId: string,
  page: PageRequest,
  status?: NotificationDeliveriesTable['status'],
): Promise<Page<DeliveryView>> {
  await authorize(ctx, orgId, 'notifications.manage');
  let q = ctx.db.selectFrom('notification_deliveries').selectAll().where('org_id', '=', orgId);
  if (status) q = q.where('status', '=', status);
  const after = page.after?.[0];
  if (after !== undefined) q = q.where('id', '>', after);
  const rows = await q
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  return pageOf(await deliveryViews(ctx, rows), page);
}

export async function listIncidents(
  ctx: Ctx,
  orgId: string,
  page: PageRequest,
  status?: 'open' | 'resolved',
): Promise<Page<Static<typeof IncidentView>>> {
  await authorize(ctx, orgId, 'notifications.manage');
  let q = ctx.db.selectFrom('notification_incidents').selectAll().where('org_id', '=', orgId);
  if (status) q = q.where('status', '=', status);
  const after = page.after?.[0];
  if (after !== undefined) q = q.where('id', '>', after);
  const rows = await q
    .orderBy('id')
    .limit(page.limit + 1)
    .execute();
  return pageOf(
    rows.map((r) => ({
      id: r.id,
      causeKey: r.cause_key,
      type: r.type,
      status: r.status,
      openedAt: r.opened_at,
      lastNotifiedAt: r.last_notified_at,
      nextReminderAt: r.next_reminder_at,
      reminders: Number(r.reminders),
      resolvedAt: r.resolved_at,
    })),
    page,
  );
}

/** Queues a dead delivery again: the next delivery run sends it (with a fresh set of attempts). */
export async function retryDelivery(ctx: Ctx, orgId: string, deliveryId: string): Promise<DeliveryView> {
  await authorize(ctx, orgId, 'notifications.manage');
  const row = await ctx.db.transaction().execute(async (tx) => {
    const row = await tx
      .selectFrom('notification_deliveries')
      .selectAll()
      .where('id', '=', deliveryId)
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (!row) throw notFound('notification delivery');
    if (row.status !== 'dead')
      throw notificationError(
        'notification_delivery_not_dead',
        `This delivery is ${row.status}; only a delivery that failed every attempt (dead) can be retried.`,
      );
    const at = ctx.clock.now().toISOString();
    await tx
      .updateTable('notification_deliveries')
      .set({ status: 'queued', attempts: 0, next_attempt_at: at, dead_at: null })
      .where('id', '=', row.id)
      .execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'notification.retried',
      targets: [
        { type: 'notification_delivery', id: row.id },
        ...(row.channel_id ? [{ type: 'notification_channel', id: row.channel_id }] : []),
      ],
      metadata: {
        notificationId: row.notification_id,
        previousAttempts: Number(row.attempts),
        lastError: row.last_error,
      },
    });
    return { ...row, status: 'queued' as const, attempts: 0, next_attempt_at: at, dead_at: null };
  });
  return (await deliveryViews(ctx, [row]))[0]!;
}
