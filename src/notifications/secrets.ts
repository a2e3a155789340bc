import type { PalisadeConfig } from '../config.js';
import { type RecordRef, openText, sealFor } from '../crypto/data-keys.js';
import type { Queryable } from '../db/schema.js';
import type { NotificationChannelsTable } from './tables.js';

/**
 * A channel's credential at rest: the webhook URL (Slack's and Teams' URLs are themselves the
 * credential) and, for generic webhooks, the signing secret, sealed together with the
 * organization's data key as SIEM stream credentials are (src/streams/secrets.ts): AES-256-GCM
 * with the organization, table, channel id and key version bound as associated data.
 */
export interface ChannelSecret {
  url: string;
  signingSecret?: string;
}

export const channelSecretRef = (orgId: string, channelId: string): RecordRef => ({
  orgId,
  table: 'notification_channels',
  recordId: channelId,
});

export async function sealChannelSecret(
  db: Queryable,
  config: PalisadeConfig,
  now: Date,
  orgId: string,
  channelId: string,
  secret: ChannelSecret,
): Promise<{ secret_ct: string; secret_key_version: number }> {
  const sealed = await sealFor(db, config, now, channelSecretRef(orgId, channelId), JSON.stringify(secret));
  return { secret_ct: sealed.ct, secret_key_version: sealed.keyVersion };
}

/** The credential in clear for one delivery, or why it cannot be opened (never throws). */
export async function openChannelSecret(
  db: Queryable,
  config: PalisadeConfig,
  row: Pick<NotificationChannelsTable, 'id' | 'org_id' | 'secret_ct' | 'secret_key_version'>,
): Promise<{ ok: true; secret: ChannelSecret } | { ok: false; error: string }> {
  if (!row.secret_ct || row.secret_key_version === null)
    return {
      ok: false,
      error:
        'notification_channel_credential_missing: this channel has no stored URL; set it again with PATCH …/notifications/channels/' +
        row.id +
        '.',
    };
  try {
    const text = await openText(
      db,
      config,
      channelSecretRef(row.org_id, row.id),
      row.secret_ct,
      Number(row.secret_key_version),
    );
    if (text === null)
      return {
        ok: false,
        error:
          "notification_channel_credential_shredded: the channel's URL was encrypted with this organization's destroyed keys; set it again with PATCH …/notifications/channels/" +
          row.id +
          '.',
      };
    return { ok: true, secret: JSON.parse(text) as ChannelSecret };
  } catch (err) {
    return {
      ok: false,
      error: `notification_channel_credential_unavailable: the channel's URL could not be decrypted (${err instanceof Error ? err.message.slice(0, 200) : 'key provider error'}); an operator should check the key-encryption key configuration.`,
    };
  }
}
