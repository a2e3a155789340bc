import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { PalisadeError } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import { allowlistMatcher, orgAllowlist, parseCidr } from '../policy/network.js';
import { activeHolds, effectivePolicy } from '../policy/policy.js';
import { countExpired } from './retention.js';

/** The workspace settings of an organization: retention, the no-training policy and the IP allowlist. */

// Nullable fields use a JSON-schema type list, not a union: with coerceTypes an anyOf would coerce null → 0 (zero retention!) or 0 → null.
export const SettingsInput = Type.Object(
  {
    retentionDays: Type.Optional(
      Type.Unsafe<number | null>({
        type: ['integer', 'null'],
        minimum: 0,
        maximum: 36500,
        description: '0 keeps nothing; N days counted from the last message; null inherits the parent organization.',
      }),
    ),
    noTraining: Type.Optional(Type.Boolean()),
    confirm: Type.Optional(
      Type.Boolean({ description: 'Required when a shorter period would delete existing content.' }),
    ),
    ipAllowlist: Type.Optional(
      Type.Unsafe<string[] | null>({
        type: ['array', 'null'],
        items: { type: 'string', maxLength: 64 },
        maxItems: 200,
        description: 'IPv4/IPv6 CIDRs allowed to use the workspace and gateway; null or [] allows any address.',
      }),
    ),
    confirmExcludesMe: Type.Optional(
      Type.Boolean({ description: 'Required to save an allowlist that excludes your current address.' }),
    ),
  },
  { additionalProperties: false },
);
export type SettingsInput = Static<typeof SettingsInput>;

export const SettingsView = Type.Object({
  retentionDays: Type.Integer(),
  retentionSource: Type.Object({ kind: Type.String(), orgId: Type.Union([Type.String(), Type.Null()]) }),
  ownRetentionDays: Type.Union([Type.Integer(), Type.Null()]),
  noTraining: Type.Boolean(),
  legalHold: Type.Boolean(),
  ipAllowlist: Type.Union([Type.Array(Type.String()), Type.Null()]),
});
export type SettingsView = Static<typeof SettingsView>;

async function settingsView(ctx: Ctx, orgId: string): Promise<SettingsView> {
  const p = await effectivePolicy(ctx.db, ctx.config, orgId);
  const own = await ctx.db
    .selectFrom('workspace_settings')
    .select('retention_days')
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  const holds = await activeHolds(ctx.db, orgId);
  return {
    retentionDays: p.retentionDays,
    retentionSource: p.retentionSource,
    ownRetentionDays: own?.retention_days == null ? null : Number(own.retention_days),
    noTraining: p.noTraining,
    legalHold: holds.orgHeld,
    ipAllowlist: await orgAllowlist(ctx.db, orgId),
  };
}

export async function getWorkspaceSettings(ctx: Ctx, orgId: string): Promise<SettingsView> {
  await authorize(ctx, orgId, 'org.read');
  return settingsView(ctx, orgId);
}

export async function updateWorkspaceSettings(ctx: Ctx, orgId: string, input: SettingsInput): Promise<SettingsView> {
  await authorize(ctx, orgId, 'org.update');
  const before = await effectivePolicy(ctx.db, ctx.config, orgId);
  let allowlist: string[] | null | undefined;
  if (input.ipAllowlist !== undefined) {
    allowlist =
      input.ipAllowlist === null || input.ipAllowlist.length === 0
        ? null
        : input.ipAllowlist.map((c) => parseCidr(c).cidr);
    const ip = ctx.meta.ip;
    // An admin does not lock themselves out by accident: saving a list without their address needs confirmation.
    if (allowlist && ctx.caller.kind === 'user' && ip && !allowlistMatcher(allowlist)(ip) && !input.confirmExcludesMe) {
      throw new PalisadeError(
        409,
        'allowlist_excludes_you',
        `This allowlist does not include your current address ${ip}: after saving, you could no longer use the workspace or gateway from here. Add it, or send "confirmExcludesMe": true. Settings stay reachable to admins from any address.`,
        {
          details: { yourIp: ip },
        },
      );
    }
  }
  if (input.retentionDays !== undefined) {
    // Shortening says, before saving, how much content the next purge will delete.
    let nextDays = input.retentionDays;
    if (nextDays === null) {
      const parentId = (
        await ctx.db.selectFrom('organizations').select('parent_id').where('id', '=', orgId).executeTakeFirst()
      )?.parent_id;
      nextDays = parentId
        ? (await effectivePolicy(ctx.db, ctx.config, parentId)).retentionDays
        : ctx.config.defaultRetentionDays;
    }
    if (nextDays < before.retentionDays && !input.confirm) {
      const preview = await countExpired(ctx.db, orgId, nextDays, ctx.clock.now());
      if (preview.conversations + preview.files > 0) {
        throw new PalisadeError(
          409,
          'retention_change_needs_confirmation',
          `Shortening retention from ${before.retentionDays} to ${nextDays} days will delete ${preview.conversations} conversation(s) (${preview.messages} message(s)) and ${preview.files} file(s) at the next purge. Send the same request with "confirm": true to proceed.`,
          {
            details: { ...preview },
          },
        );
      }
    }
  }
  await ctx.db.transaction().execute(async (tx) => {
    const at = ctx.clock.now().toISOString();
    const existing = await tx
      .selectFrom('workspace_settings')
      .selectAll()
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    const row = {
      org_id: orgId,
      retention_days: input.retentionDays !== undefined ? input.retentionDays : (existing?.retention_days ?? null),
      no_training: input.noTraining !== undefined ? (input.noTraining ? 1 : 0) : (existing?.no_training ?? 1),
      ip_allowlist:
        allowlist !== undefined ? (allowlist ? JSON.stringify(allowlist) : null) : (existing?.ip_allowlist ?? null),
      updated_at: at,
    };
    if (existing) await tx.updateTable('workspace_settings').set(row).where('org_id', '=', orgId).execute();
    else await tx.insertInto('workspace_settings').values(row).execute();
    await recordAudit(tx, ctx, {
      orgId,
      action: 'workspace.settings_updated',
      metadata: {
        retentionDays: { from: existing?.retention_days ?? null, to: row.retention_days },
        noTraining: { from: before.noTraining, to: Number(row.no_training) === 1 },
        ...(allowlist !== undefined
          ? {
              ipAllowlist: {
                from: existing?.ip_allowlist ? (JSON.parse(existing.ip_allowlist) as string[]) : null,
                to: allowlist,
              },
            }
          : {}),
        confirmed: input.confirm === true,
      },
    });
  });
  return settingsView(ctx, orgId);
}
