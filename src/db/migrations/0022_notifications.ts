import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Notifications (src/notifications/):
 * - `notification_channels`: where an organization's notifications go (email, Slack, Teams, signed
 *   JSON webhook). Webhook URLs (Slack's and Teams' carry their own credential) and signing secrets
 *   are sealed with the organization's data key (`secret_ct` + `secret_key_version`).
 * - `notification_routes`: which notification types, from which severity, go to which channel;
 *   an organization's routes also apply to its child organizations.
 * - `notification_cursors`: per organization, the last audit event turned into notifications (the
 *   audit table is the outbox, as for SIEM streams).
 * - `notification_incidents`: one open incident per cause (a failing domain, a failing stream…),
 *   with its reminder cadence and when it was resolved.
 * - `notifications`: every notification with its facts and fix; `dedup_key` is unique, so a
 *   notification is created once however often a pass runs.
 * - `notification_deliveries`: one per notification and channel, leased per row while it is sent,
 *   with attempts, the last error and a dead-letter state.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('notification_channels')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('recipients', 'text')
    .addColumn('target_hint', 'text')
    .addColumn('digest', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('secret_ct', 'text')
    .addColumn('secret_key_version', 'integer')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('notification_channels_org')
    .on('notification_channels')
    .columns(['org_id', 'id'])
    .execute();

  await db.schema
    .createTable('notification_routes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text', (c) => c.notNull())
    .addColumn('min_severity', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('notification_routes_org')
    .on('notification_routes')
    .columns(['org_id', 'type'])
    .execute();

  await db.schema
    .createTable('notification_cursors')
    .addColumn('org_id', 'text', (c) => c.primaryKey())
    .addColumn('cursor_seq', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // Organizations that exist now start at their current audit head: notifications begin with what
  // happens after the upgrade, not with a replay of years of history. New organizations start at 0.
  const at = new Date().toISOString();
  await sql`insert into notification_cursors (org_id, cursor_seq, updated_at) select org_id, seq, ${at} from audit_chain_heads`.execute(
    db,
  );

  await db.schema
    .createTable('notification_incidents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('cause_key', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('opened_at', 'text', (c) => c.notNull())
    .addColumn('last_notified_at', 'text', (c) => c.notNull())
    .addColumn('next_reminder_at', 'text')
    .addColumn('reminders', 'integer', (c) => c.notNull())
    .addColumn('resolved_at', 'text')
    .addColumn('facts', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('notification_incidents_cause')
    .on('notification_incidents')
    .columns(['org_id', 'cause_key', 'opened_at'])
    .unique()
    .execute();
  await db.schema
    .createIndex('notification_incidents_due')
    .on('notification_incidents')
    .columns(['status', 'next_reminder_at'])
    .execute();

  await db.schema
    .createTable('notifications')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('phase', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('cause_key', 'text')
    .addColumn('incident_id', 'text')
    .addColumn('dedup_key', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('facts', 'text', (c) => c.notNull())
    .addColumn('fix', 'text', (c) => c.notNull())
    .addColumn('links', 'text', (c) => c.notNull())
    .addColumn('source_event_id', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('notifications_dedup').on('notifications').column('dedup_key').unique().execute();
  await db.schema.createIndex('notifications_org').on('notifications').columns(['org_id', 'id']).execute();

  await db.schema
    .createTable('notification_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('notification_id', 'text', (c) => c.notNull())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('channel_id', 'text')
    .addColumn('channel_kind', 'text', (c) => c.notNull())
    .addColumn('recipients', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('last_error', 'text')
    .addColumn('response_status', 'integer')
    .addColumn('email_ids', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('sent_at', 'text')
    .addColumn('dead_at', 'text')
    .execute();
  await db.schema
    .createIndex('notification_deliveries_due')
    .on('notification_deliveries')
    .columns(['status', 'next_attempt_at'])
    .execute();
  await db.schema
    .createIndex('notification_deliveries_notification')
    .on('notification_deliveries')
    .columns(['notification_id'])
    .execute();
  await db.schema
    .createIndex('notification_deliveries_org')
    .on('notification_deliveries')
    .columns(['org_id', 'status', 'id'])
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of [
    'notification_deliveries',
    'notifications',
    'notification_incidents',
    'notification_cursors',
    'notification_routes',
    'notification_channels',
  ])
    await db.schema.dropTable(t).ifExists().execute();
}
