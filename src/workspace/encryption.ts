import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { badRequest } from '../errors.js';
import { authorize } from '../orgs/authorize.js';
import { lockOrg } from '../orgs/store.js';
import { destroyOrgKeys, rotateDataKey } from '../crypto/data-keys.js';
import { keyProviderFor } from '../crypto/provider.js';

export const EncryptionView = Type.Object({
  provider: Type.String(),
  currentKekId: Type.String(),
  shreddedAt: Type.Union([Type.String(), Type.Null()]),
  keys: Type.Array(
    Type.Object({
      version: Type.Integer(),
      status: Type.String(),
      kekId: Type.String(),
      createdAt: Type.String(),
      rewrappedAt: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});
export type EncryptionView = Static<typeof EncryptionView>;
export const ShredInput = Type.Object(
  { confirm: Type.String({ description: 'The organization id, typed again: shredding cannot be undone.' }) },
  { additionalProperties: false },
);

export async function encryptionStatus(ctx: Ctx, orgId: string): Promise<EncryptionView> {
  await authorize(ctx, orgId, 'org.update');
  const p = keyProviderFor(ctx.config);
  const keys = await ctx.db
    .selectFrom('org_data_keys')
    .selectAll()
    .where('org_id', '=', orgId)
    .orderBy('version')
    .execute();
  const shred = await ctx.db
    .selectFrom('org_key_shreds')
    .select('shredded_at')
    .where('org_id', '=', orgId)
    .executeTakeFirst();
  return {
    provider: p.kind,
    currentKekId: p.currentKekId(),
    shreddedAt: shred?.shredded_at ?? null,
    keys: keys.map((k) => ({
      version: Number(k.version),
      status: k.status,
      kekId: k.kek_id,
      createdAt: k.created_at,
      rewrappedAt: k.rewrapped_at,
    })),
  };
}

export async function rotateOrgKey(ctx: Ctx, orgId: string): Promise<EncryptionView> {
  await authorize(ctx, orgId, 'org.update');
  await ctx.db.transaction().execute(async (tx) => {
    await lockOrg(tx, orgId);
    const { version } = await rotateDataKey(tx, ctx.config, orgId, ctx.clock.now());
    await recordAudit(tx, ctx, {
      orgId,
      action: 'encryption.data_key_rotated',
      metadata: { version, kekId: keyProviderFor(ctx.config).currentKekId() },
    });
  });
  return encryptionStatus(ctx, orgId);
}

/** Crypto-shredding: irreversible; the primary owner confirms by typing the organization id. */
export async function shredOrgKeys(ctx: Ctx, orgId: string, confirm: string): Promise<EncryptionView> {
  await authorize(ctx, orgId, 'org.delete');
  if (confirm !== orgId)
    throw badRequest(
      'confirmation_mismatch',
      'Crypto-shredding makes all of this organization\'s stored content unreadable forever. Send {"confirm": "<the organization id>"} to proceed.',
    );
  await ctx.db.transaction().execute(async (tx) => {
    await lockOrg(tx, orgId);
    const { destroyed } = await destroyOrgKeys(
      tx,
      orgId,
      ctx.clock.now(),
      ctx.caller.kind === 'user' ? ctx.caller.userId : null,
    );
    await recordAudit(tx, ctx, {
      orgId,
      action: 'encryption.keys_shredded',
      metadata: { destroyedKeyVersions: destroyed },
    });
  });
  return encryptionStatus(ctx, orgId);
}
