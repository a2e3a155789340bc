import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { notFound } from '../errors.js';
import { newId } from '../ids.js';
import { assertDestinationAllowed } from '../net/outbound.js';
import { authorize } from '../orgs/authorize.js';
import { recordAudit } from '../audit/record.js';
import { hostOf } from './deliver.js';
import { notificationError } from './errors.js';
import { type ChannelSecret, openChannelSecret, sealChannelSecret } from './secrets.js';
import type { ChannelKind, NotificationChannelsTable } from './tables.js';

const Email = Type.String({ format: 'email', maxLength: 254 });

export const ChannelView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('email'), Type.Literal('slack'), Type.Literal('teams'), Type.Literal('webhook')]),
  recipients: Type.Union([Type.Array(Type.String()), Type.Null()], {
    description: 'Email: the addresses; null = the primary owners and admins.',
  }),
  target: Type.Union([Type.String(), Type.Null()], {
    description:
      "Webhook kinds: the receiver's scheme and host (the full URL is a credential and is never shown again).",
  }),
  signed: Type.Boolean({ description: 'Generic webhooks: requests carry Palisade-Signature.' }),
  digest: Type.Boolean({
    description:
      'Email: info notifications are collected into one daily digest; warnings and critical ones go at once.',
  }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type ChannelView = Static<typeof ChannelView>;

export const CreateChannelInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    kind: Type.Union([Type.Literal('email'), Type.Literal('slack'), Type.Literal('teams'), Type.Literal('webhook')]),
    url: Type.Optional(
      Type.String({ maxLength: 2000, description: 'Slack, Teams and webhook: the incoming webhook URL (https://).' }),
    ),
    recipients: Type.Optional(
      Type.Array(Email, {
        minItems: 1,
        maxItems: 50,
        description: 'Email only: who receives it (default: primary owners and admins).',
      }),
    ),
    digest: Type.Optional(
      Type.Boolean({ description: 'Email only: collect info notifications into one daily digest.' }),
    ),
  },
  { additionalProperties: false },
);
export type CreateChannelInput = Static<typeof CreateChannelInput>;

export const UpdateChannelInput = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    url: Type.Optional(Type.String({ maxLength: 2000 })),
    recipients: Type.Optional(Type.Union([Type.Array(Email, { minItems: 1, maxItems: 50 }), Type.Null()])),
    rotateSigningSecret: Type.Optional(
      Type.Boolean({ description: 'Webhook only: a new signing secret, shown once in the answer.' }),
    ),
    digest: Type.Optional(
      Type.Boolean({ description: 'Email only: collect info notifications into one daily digest.' }),
    ),
  },
  { additionalProperties: false },
);
export type UpdateChannelInput = Static<typeof UpdateChannelInput>;

export const ChannelCreated = Type.Object({
  channel: ChannelView,
  signingSecret: Type.Optional(
    Type.String({ description: 'Webhook only, shown once: the HMAC key receivers verify Palisade-Signature with.' }),
  ),
});
export type ChannelCreated = Static<typeof ChannelCreated>;

export function channelView(r: NotificationChannelsTable): ChannelView {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    recipients: r.recipients ? (JSON.parse(r.recipients) as string[]) : null,
    target: r.target_hint,
    signed: r.kind === 'webhook',
    digest: Number(r.digest) === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

const newSigningSecret = () => `pls_nwh_${randomBytes(32).toString('base64url')}`;

async function checkUrl(ctx: Ctx, kind: ChannelKind, raw: string | undefined): Promise<string> {
  if (!raw)
    throw notificationError(
      'notification_channel_url_required',
      `A ${kind} channel needs the incoming webhook URL as "url" (https://…).`,
      { field: 'url' },
    );
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw notificationError(
      'notification_channel_url_invalid',
      'The url is not a URL; paste the full incoming webhook address (https://…).',
      { field: 'url' },
    );
  }
  const httpOk = ctx.config.notificationWebhooksAllowHttp && u.protocol === 'http:';
  if (u.protocol !== 'https:' && !httpOk)
    throw notificationError(
      'notification_channel_url_invalid',
      "The url must start with https:// (notifications carry your organization's facts and must be encrypted in transit).",
      { field: 'url' },
    );
  if (u.username || u.password)
    throw notificationError('notification_channel_url_invalid', 'The url must not carry a user name or password.', {
      field: 'url',
    });
  // The outbound policy (SSRF guard) at once, and again at every delivery.
  await assertDestinationAllowed(ctx.config, u.hostname.replace(/^\[|\]$/g, ''));
  return u.toString();
}

export async function createChannel(ctx: Ctx, orgId: string, input: CreateChannelInput): Promise<ChannelCreated> {
  await authorize(ctx, orgId, 'notifications.manage');
  if (input.kind === 'email' && input.url !== undefined)
    throw notificationError('notification_channel_field_not_allowed', 'An email channel takes recipients, not a url.', {
      field: 'url',
    });
  if (input.kind !== 'email' && input.recipients !== undefined)
    throw notificationError(
      'notification_channel_field_not_allowed',
      `A ${input.kind} channel takes a url, not recipients.`,
      { field: 'recipients' },
    );
  if (input.kind !== 'email' && input.digest)
    throw notificationError('notification_channel_field_not_allowed', 'Only email channels have a daily digest.', {
      field: 'digest',
    });
  const url = input.kind === 'email' ? null : await checkUrl(ctx, input.kind, input.url);
  const now = ctx.clock.now();
  const id = newId('nch', now);
  const signingSecret = input.kind === 'webhook' ? newSigningSecret() : undefined;
  const recipients = input.recipients ? [...new Set(input.recipients.map((r) => r.toLowerCase()))] : null;
  return ctx.db.transaction().execute(async (tx) => {
    const sealed = url
      ? await sealChannelSecret(tx, ctx.config, now, orgId, id, { url, ...(signingSecret ? { signingSecret } : {}) })
      : { secret_ct: null, secret_key_version: null };
    const row: NotificationChannelsTable = {
      id,
      org_id: orgId,
      name: input.name.trim(),
      kind: input.kind,
      recipients: recipients ? JSON.stringify(recipients) : null,
      target_hint: url ? hostOf(url) : null,
      digest: input.digest ? 1 : 0,
      ...sealed,
      created_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    };
    await tx.insertInto('notification_channels').values(row).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'notification_channel.created',
      targets: [{ type: 'notification_channel', id, name: row.name }],
      metadata: { kind: row.kind, target: row.target_hint, recipients, digest: row.digest === 1 },
    });
    return { channel: channelView(row), ...(signingSecret ? { signingSecret } : {}) };
  });
}

export async function listChannels(ctx: Ctx, orgId: string): Promise<{ data: ChannelView[] }> {
  await authorize(ctx, orgId, 'notifications.manage');
  const rows = await ctx.db
    .selectFrom('notification_channels')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('id')
    .execute();
  return { data: rows.map(channelView) };
}

async function findChannel(ctx: Ctx, orgId: string, channelId: string): Promise<NotificationChannelsTable> {
  const row = await ctx.db
    .selectFrom('notification_channels')
    .selectAll()
    .where('id', '=', channelId)
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  if (!row) throw notFound('notification channel');
  return row;
}

export async function getChannel(ctx: Ctx, orgId: string, channelId: string): Promise<ChannelView> {
  await authorize(ctx, orgId, 'notifications.manage');
  return channelView(await findChannel(ctx, orgId, channelId));
}

export async function updateChannel(
  ctx: Ctx,
  orgId: string,
  channelId: string,
  input: UpdateChannelInput,
): Promise<ChannelCreated> {
  await authorize(ctx, orgId, 'notifications.manage');
  const row = await findChannel(ctx, orgId, channelId);
  if (row.kind === 'email' && (input.url !== undefined || input.rotateSigningSecret))
    throw notificationError(
      'notification_channel_field_not_allowed',
      'An email channel takes recipients, not a url or signing secret.',
      { field: input.url !== undefined ? 'url' : 'rotateSigningSecret' },
    );
  if (row.kind !== 'email' && input.digest !== undefined)
    throw notificationError('notification_channel_field_not_allowed', 'Only email channels have a daily digest.', {
      field: 'digest',
    });
  if (row.kind !== 'email' && input.recipients !== undefined)
    throw notificationError(
      'notification_channel_field_not_allowed',
      `A ${row.kind} channel takes a url, not recipients.`,
      { field: 'recipients' },
    );
  if (row.kind !== 'webhook' && input.rotateSigningSecret)
    throw notificationError(
      'notification_channel_field_not_allowed',
      `Only webhook channels are signed; a ${row.kind} channel has no signing secret.`,
      { field: 'rotateSigningSecret' },
    );
  const url = input.url !== undefined ? await checkUrl(ctx, row.kind, input.url) : undefined;
  const now = ctx.clock.now();
  return ctx.db.transaction().execute(async (tx) => {
    let next: NotificationChannelsTable = { ...row, updated_at: now.toISOString() };
    let signingSecret: string | undefined;
    if (input.name !== undefined) next.name = input.name.trim();
    if (input.digest !== undefined) next.digest = input.digest ? 1 : 0;
    if (input.recipients !== undefined)
      next.recipients = input.recipients
        ? JSON.stringify([...new Set(input.recipients.map((r) => r.toLowerCase()))])
        : null;
    if (url !== undefined || input.rotateSigningSecret) {
      const current = await openChannelSecret(tx, ctx.config, row);
      const secret: ChannelSecret = {
        url: url ?? (current.ok ? current.secret.url : ''),
        ...(row.kind === 'webhook'
          ? {
              signingSecret:
                input.rotateSigningSecret || !current.ok
                  ? (signingSecret = newSigningSecret())
                  : current.secret.signingSecret,
            }
          : {}),
      };
      next = {
        ...next,
        ...(await sealChannelSecret(tx, ctx.config, now, orgId, row.id, secret)),
        target_hint: hostOf(secret.url),
      };
    }
    await tx
      .updateTable('notification_channels')
      .set({
        name: next.name,
        recipients: next.recipients,
        target_hint: next.target_hint,
        digest: next.digest,
        secret_ct: next.secret_ct,
        secret_key_version: next.secret_key_version,
        updated_at: next.updated_at,
      })
      .where('id', '=', row.id)
      .execute();
    const changed = [
      input.name !== undefined && 'name',
      input.digest !== undefined && 'digest',
      input.recipients !== undefined && 'recipients',
      url !== undefined && 'url',
      signingSecret !== undefined && 'signingSecret',
    ].filter(Boolean);
    await recordAudit(tx, ctx, {
      orgId,
      action: 'notification_channel.updated',
      targets: [{ type: 'notification_channel', id: row.id, name: next.name }],
      metadata: {
        changed,
        target: next.target_hint,
        recipients: next.recipients ? (JSON.parse(next.recipients) as string[]) : null,
      },
    });
    return { channel: channelView(next), ...(signingSecret ? { signingSecret } : {}) };
  });
}

export async function deleteChannel(ctx: Ctx, orgId: string, channelId: string): Promise<void> {
  await authorize(ctx, orgId, 'notifications.manage');
  const row = await findChannel(ctx, orgId, channelId);
  await ctx.db.transaction().execute(async (tx) => {
    const routes = await tx.deleteFrom('notification_routes').where('channel_id', '=', row.id).executeTakeFirst();
    await tx.deleteFrom('notification_channels').where('id', '=', row.id).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'notification_channel.deleted',
      targets: [{ type: 'notification_channel', id: row.id, name: row.name }],
      metadata: { kind: row.kind, routesRemoved: Number(routes.numDeletedRows) },
    });
  });
}
