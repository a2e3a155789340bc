import type { Queryable } from '../db/schema.js';
import { orgLineage } from '../orgs/store.js';
import { SEVERITY_RANK } from './catalog.js';
import type { ChannelKind, Severity } from './tables.js';

/**
 * Where a notification goes. The routes of the organization and of every ancestor apply (a parent
 * that routes `domain.*` problems to its Slack channel covers its child organizations too); a
 * route matches a type exactly or `*`, from its minimum severity up. When no route matches, the
 * notification is emailed to the organization's primary owners and admins (the default channel),
 * so nothing is silently dropped.
 */
export interface Target {
  channelId: string | null;
  kind: ChannelKind;
  /** Email addresses, resolved now (the history keeps who was told). */
  recipients: string[];
  /** A digest channel: info notifications wait for the daily digest. */
  digest: boolean;
}

export async function defaultRecipients(db: Queryable, orgId: string): Promise<string[]> {
  // The organization's own primary owners and admins; a child with none falls back to its parent's.
  for (const org of await orgLineage(db, orgId)) {
    const rows = await db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select('users.email')
      .where('memberships.org_id', '=', org.id)
      .where('memberships.status', '=', 'active')
      .where('memberships.role', 'in', ['primary_owner', 'admin'])
      .where('users.status', '=', 'active')
      .orderBy('users.email')
      .execute();
    if (rows.length) return rows.map((r) => r.email);
  }
  return [];
}

export async function targetsFor(db: Queryable, orgId: string, type: string, severity: Severity): Promise<Target[]> {
  const lineage = (await orgLineage(db, orgId)).map((o) => o.id);
  if (!lineage.length) return [];
  const routes = await db
    .selectFrom('notification_routes')
    .innerJoin('notification_channels', 'notification_channels.id', 'notification_routes.channel_id')
    .select([
      'notification_channels.id as channelId',
      'notification_channels.kind',
      'notification_channels.recipients',
      'notification_channels.digest',
      'notification_routes.min_severity',
      'notification_routes.type',
    ])
    .where('notification_routes.org_id', 'in', lineage)
    .where('notification_routes.type', 'in', [type, '*'])
    .orderBy('notification_channels.id')
    .execute();
  const out: Target[] = [];
  const seen = new Set<string>();
  for (const r of routes) {
    if (SEVERITY_RANK[severity] < SEVERITY_RANK[r.min_severity] || seen.has(r.channelId)) continue;
    seen.add(r.channelId);
    const recipients =
      r.kind === 'email'
        ? r.recipients
          ? (JSON.parse(r.recipients) as string[])
          : await defaultRecipients(db, orgId)
        : [];
    out.push({ channelId: r.channelId, kind: r.kind, recipients, digest: Number(r.digest) === 1 });
  }
  if (out.length) return out;
  return [{ channelId: null, kind: 'email', recipients: await defaultRecipients(db, orgId), digest: false }];
}
