/** Notification tables (migration 0022). Times are ISO strings, JSON is text. */
export type ChannelKind = 'email' | 'slack' | 'teams' | 'webhook';
export type Severity = 'info' | 'warning' | 'critical';
/** alert: the first message of an incident or a one-off event; reminder/warning while it stays open; resolved: once, when it ends. */
export type Phase = 'alert' | 'reminder' | 'warning' | 'resolved';
/** digest: held for the channel's daily digest (info notifications on a digest email channel). */
export type DeliveryStatus = 'queued' | 'sending' | 'sent' | 'dead' | 'digest';

export interface NotificationChannelsTable {
  id: string;
  org_id: string;
  name: string;
  kind: ChannelKind;
  /** Email: JSON array of addresses; null = the organization's primary owners and admins. */
  recipients: string | null;
  /** What may be shown of the target: the webhook's host, never its path (Slack and Teams URLs are credentials). */
  target_hint: string | null;
  /** Email only: 1 = info notifications are collected into one daily digest; warnings and critical ones go at once. */
  digest: number;
  /** Sealed JSON `{ url, signingSecret? }` (ref notification_channels / channel id). */
  secret_ct: string | null;
  secret_key_version: number | null;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface NotificationRoutesTable {
  id: string;
  org_id: string;
  /** A notification type, or `*` for every type. */
  type: string;
  channel_id: string;
  min_severity: Severity;
  created_at: string;
}

export interface NotificationCursorsTable {
  org_id: string;
  cursor_seq: number;
  updated_at: string;
}

export interface NotificationIncidentsTable {
  id: string;
  org_id: string;
  cause_key: string;
  type: string;
  status: 'open' | 'resolved';
  opened_at: string;
  last_notified_at: string;
  next_reminder_at: string | null;
  reminders: number;
  resolved_at: string | null;
  /** JSON: the facts of the latest message (reminders repeat them, refreshed). */
  facts: string;
}

export interface NotificationsTable {
  id: string;
  org_id: string;
  type: string;
  phase: Phase;
  severity: Severity;
  cause_key: string | null;
  incident_id: string | null;
  dedup_key: string;
  title: string;
  /** JSON object: the exact facts (names, times, record values, counts). */
  facts: string;
  /** What to do, in the same words as the diagnosis. */
  fix: string;
  /** JSON array of { label, url }. */
  links: string;
  source_event_id: string | null;
  created_at: string;
}

export interface NotificationDeliveriesTable {
  id: string;
  notification_id: string;
  org_id: string;
  /** null: the default email channel (primary owners and admins). */
  channel_id: string | null;
  channel_kind: ChannelKind;
  /** JSON array: email addresses, or the webhook host. */
  recipients: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string;
  lease_owner: string | null;
  lease_until: string | null;
  last_error: string | null;
  response_status: number | null;
  /** Email: JSON array of the email_outbox ids the message was queued as. */
  email_ids: string | null;
  created_at: string;
  sent_at: string | null;
  dead_at: string | null;
}

export interface NotificationTables {
  notification_channels: NotificationChannelsTable;
  notification_routes: NotificationRoutesTable;
  notification_cursors: NotificationCursorsTable;
  notification_incidents: NotificationIncidentsTable;
  notifications: NotificationsTable;
  notification_deliveries: NotificationDeliveriesTable;
}
