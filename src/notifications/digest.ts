import type { Ctx } from '../context.js';
import { enqueueEmail } from '../email/outbox.js';
import { notificationDigestEmail } from '../email/templates.js';
import { emailConfigured } from '../email/transport.js';
import { defaultRecipients } from './routing.js';

type Sys = Pick<Ctx, 'db' | 'clock' | 'config'>;

/**
 * The daily digest: info notifications routed to an email channel with `digest: true` wait (status
 * `digest`) and go out once a day as one message per recipient listing them; the held deliveries
 * are marked sent with the digest's mail in the same transaction, so a digest is never sent twice
 * nor a notification left out.
 */
export async function sendDigests(ctx: Sys): Promise<{ digests: number; notifications: number }> {
  if (!emailConfigured(ctx.config)) return { digests: 0, notifications: 0 };
  const channels = await ctx.db
    .selectFrom('notification_channels')
    .selectAll()
    .where('digest', '=', 1)
    .where('kind', '=', 'email')
    .execute();
  let digests = 0;
  let notifications = 0;
  for (const c of channels) {
    const held = await ctx.db
      .selectFrom('notification_deliveries')
      .innerJoin('notifications', 'notifications.id', 'notification_deliveries.notification_id')
      .select(['notification_deliveries.id', 'notifications.title', 'notifications.created_at', 'notifications.org_id'])
      .where('notification_deliveries.channel_id', '=', c.id)
      .where('notification_deliveries.status', '=', 'digest')
      .orderBy('notification_deliveries.id')
      .limit(500)
      .execute();
    if (!held.length) continue;
    const recipients = c.recipients
      ? (JSON.parse(c.recipients) as string[])
      : await defaultRecipients(ctx.db, c.org_id);
    const org = await ctx.db.selectFrom('organizations').select('name').where('id', '=', c.org_id).executeTakeFirst();
    const content = notificationDigestEmail({
      orgLabel: org?.name ?? c.org_id,
      lines: held.map((h) => `${h.created_at}: ${h.title}`),
      historyUrl: `${ctx.config.publicUrl}/api/v1/orgs/${c.org_id}/notifications`,
    });
    const done = await ctx.db
      .transaction()
      .execute(async (tx) => {
        const now = ctx.clock.now();
        const moved = await tx
          .updateTable('notification_deliveries')
          .set({ status: 'sending' })
          .where(
            'id',
            'in',
            held.map((h) => h.id),
          )
          .where('status', '=', 'digest')
          .executeTakeFirst();
        // Another process took this digest meanwhile: leave it to it.
        if (Number(moved.numUpdatedRows) !== held.length) throw new Error('digest taken');
        const ids: string[] = [];
        for (const to of recipients)
          ids.push(
            (await enqueueEmail(tx, ctx.config, now, { orgId: c.org_id, template: 'notification_digest', to, content }))
              .id,
          );
        await tx
          .updateTable('notification_deliveries')
          .set({
            status: 'sent',
            attempts: 1,
            sent_at: now.toISOString(),
            email_ids: JSON.stringify(ids),
            recipients: JSON.stringify(recipients),
          })
          .where(
            'id',
            'in',
            held.map((h) => h.id),
          )
          .execute();
        return true;
      })
      .catch(() => false);
    if (done) {
      digests++;
      notifications += held.length;
    }
  }
  return { digests, notifications };
}
