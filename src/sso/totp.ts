import { Type, type Static } from '@sinclair/typebox';
import * as OTPAuth from 'otpauth';
import { recordAudit } from '../audit/record.js';
import { auditOrgsOfUser } from '../auth/audit-orgs.js';
import { burnPasswordCheck, verifyPassword } from '../auth/passwords.js';
import { requireUser } from '../auth/require-user.js';
import { type NewSession, createSession } from '../auth/sessions.js';
import { reserveLoginAttempt } from '../auth/throttle.js';
import { SYSTEM_CHAIN } from '../audit/event.js';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError, badRequest, conflict } from '../errors.js';
import { normalizeEmail } from '../users/email.js';
import { type PublicUser, findUserByEmail, publicUser } from '../users/store.js';
import { openTotpSecret, sealTotpSecret } from './totp-secret.js';

/**
 * TOTP (RFC 6238) second factor for break-glass sign-in. The secret is shown once at enrollment
 * and never returned again; it is stored sealed with the installation's key-encryption key
 * (./totp-secret.ts, the only place that opens it). A code is accepted once (the last used time
 * step is remembered).
 */
const PERIOD = 30;

function totpFor(secret: string, label: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    issuer: 'Palisade',
    label,
    algorithm: 'SHA1',
    digits: 6,
    period: PERIOD,
    secret: OTPAuth.Secret.fromBase32(secret),
  });
}

/** The time step a code matches (±1 step of drift), or null. */
function matchStep(secret: string, code: string, now: Date): number | null {
  if (!/^\d{6}$/.test(code)) return null;
  const delta = totpFor(secret, 'x').validate({ token: code, timestamp: now.getTime(), window: 1 });
  return delta === null ? null : Math.floor(now.getTime() / 1000 / PERIOD) + delta;
}

export const TotpCodeInput = Type.Object({ code: Type.String({ maxLength: 10 }) }, { additionalProperties: false });
export type TotpCodeInput = Static<typeof TotpCodeInput>;

export const TotpEnrollmentView = Type.Object(
  { enrolled: Type.Boolean(), confirmedAt: Type.Union([Type.String(), Type.Null()]) },
  { $id: 'TotpEnrollmentView' },
);

export async function totpStatus(ctx: Ctx): Promise<{ enrolled: boolean; confirmedAt: string | null }> {
  const me = requireUser(ctx);
  const row = await ctx.db
    .selectFrom('user_totp')
    .select('confirmed_at')
    .where('user_id', '=', me.userId)
    .executeTakeFirst();
  return { enrolled: !!row?.confirmed_at, confirmedAt: row?.confirmed_at ?? null };
}

export async function startTotpEnrollment(ctx: Ctx): Promise<{ secret: string; otpauthUri: string }> {
  const me = requireUser(ctx);
  return ctx.db.transaction().execute(async (tx) => {
    const existing = await tx
      .selectFrom('user_totp')
      .select('confirmed_at')
      .where('user_id', '=', me.userId)
      .executeTakeFirst();
    if (existing?.confirmed_at)
      throw conflict(
        'totp_already_enrolled',
        'An authenticator app is already enrolled. Remove it first (DELETE /api/v1/me/totp) to enroll a new one.',
      );
    const secret = new OTPAuth.Secret({ size: 20 }).base32;
    const sealed = await sealTotpSecret(ctx.config, me.userId, secret);
    await tx.deleteFrom('user_totp').where('user_id', '=', me.userId).execute();
    await tx
      .insertInto('user_totp')
      .values({
        user_id: me.userId,
        ...sealed,
        confirmed_at: null,
        last_step: null,
        created_at: ctx.clock.now().toISOString(),
      })
      .execute();
    return { secret, otpauthUri: totpFor(secret, me.email).toString() };
  });
}

export async function confirmTotp(ctx: Ctx, input: TotpCodeInput): Promise<{ enrolled: true; confirmedAt: string }> {
  const me = requireUser(ctx);
  return ctx.db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('user_totp').selectAll().where('user_id', '=', me.userId).executeTakeFirst();
    if (!row) throw badRequest('totp_not_started', 'Start enrollment first with POST /api/v1/me/totp.');
    if (row.confirmed_at) throw conflict('totp_already_enrolled', 'This authenticator is already confirmed.');
    const secret = await openTotpSecret(ctx.config, row);
    if (secret === null)
      throw conflict(
        'totp_secret_unreadable',
        'This enrollment can no longer be read (its stored secret failed an integrity check or its master key is gone). Start again with POST /api/v1/me/totp.',
      );
    const now = ctx.clock.now();
    const step = matchStep(secret, input.code.trim(), now);
    if (step === null)
      throw badRequest(
        'totp_code_invalid',
        'That code does not match. Check the time on your phone and enter the current 6-digit code.',
      );
    const at = now.toISOString();
    await tx
      .updateTable('user_totp')
      .set({ confirmed_at: at, last_step: step })
      .where('user_id', '=', me.userId)
      .execute();
    for (const orgId of await auditOrgsOfUser(tx, me.userId)) {
      await recordAudit(tx, ctx, {
        orgId,
        action: 'auth.totp_enrolled',
        targets: [{ type: 'user', id: me.userId, name: me.email }],
      });
    }
    return { enrolled: true, confirmedAt: at };
  });
}

export async function removeTotp(ctx: Ctx): Promise<void> {
  const me = requireUser(ctx);
  await ctx.db.transaction().execute(async (tx) => {
    const gone = await tx.deleteFrom('user_totp').where('user_id', '=', me.userId).executeTakeFirst();
    if (Number(gone.numDeletedRows) === 0) return;
    for (const orgId of await auditOrgsOfUser(tx, me.userId)) {
      await recordAudit(tx, ctx, {
        orgId,
        action: 'auth.totp_removed',
        targets: [{ type: 'user', id: me.userId, name: me.email }],
      });
    }
  });
}

export const BreakGlassInput = Type.Object(
  {
    email: Type.String({ maxLength: 254 }),
    password: Type.String({ maxLength: 1024 }),
    code: Type.String({ maxLength: 10 }),
  },
  { additionalProperties: false },
);
export type BreakGlassInput = Static<typeof BreakGlassInput>;

async function ownedOrgs(db: Queryable, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('memberships')
    .select('org_id')
    .where('user_id', '=', userId)
    .where('role', '=', 'primary_owner')
    .where('status', '=', 'active')
    .execute();
  return rows.map((r) => r.org_id);
}

const refused = () =>
  new PalisadeError(
    401,
    'break_glass_refused',
    'Break-glass sign-in needs the email and password of a primary owner and the current code from their enrolled authenticator app. Check all three.',
  );

/**
 * Break-glass sign-in for primary owners: password plus TOTP, which works while SSO is enforced or
 * the IdP is down. Every use, successful or not, is audited and flagged for review.
 */
export async function breakGlassLogin(
  ctx: Ctx,
  input: BreakGlassInput,
): Promise<{ session: NewSession; user: PublicUser }> {
  let email: string;
  try {
    email = normalizeEmail(input.email);
  } catch {
    throw refused();
  }
  const attempt = await reserveLoginAttempt(ctx.db, ctx.clock, ctx.config, email, ctx.meta.ip);
  const user = await findUserByEmail(ctx.db, email);
  const passwordOk = user?.password_hash
    ? await verifyPassword(input.password, user.password_hash)
    : (await burnPasswordCheck(input.password, ctx.config.passwordScryptLogN), false);
  const now = ctx.clock.now();
  const totp = user
    ? await ctx.db.selectFrom('user_totp').selectAll().where('user_id', '=', user.id).executeTakeFirst()
    : undefined;
  // A secret that cannot be opened (modified, or its master key removed before the re-wrap) fails closed.
  const secret = totp?.confirmed_at ? await openTotpSecret(ctx.config, totp) : null;
  const step = secret !== null ? matchStep(secret, input.code.trim(), now) : null;
  const owned = user ? await ownedOrgs(ctx.db, user.id) : [];
  const reason = !user
    ? 'unknown_email'
    : !passwordOk
      ? 'wrong_password'
      : user.status !== 'active'
        ? 'user_suspended'
        : !owned.length
          ? 'not_a_primary_owner'
          : !totp?.confirmed_at
            ? 'no_totp_enrolled'
            : secret === null
              ? 'totp_secret_unreadable'
              : step === null
                ? 'wrong_totp_code'
                : totp.last_step !== null && step <= Number(totp.last_step)
                  ? 'totp_code_reused'
                  : null;
  const actor = { type: 'user' as const, id: user?.id ?? null, email, ip: ctx.meta.ip, userAgent: ctx.meta.userAgent };
  if (reason || !user || step === null) {
    await ctx.db.transaction().execute(async (tx) => {
      const orgs = owned.length ? owned : user ? await auditOrgsOfUser(tx, user.id) : [SYSTEM_CHAIN];
      for (const orgId of orgs) {
        await recordAudit(tx, ctx, {
          orgId,
          action: 'auth.break_glass_failed',
          outcome: 'failure',
          actor: { ...actor, type: 'anonymous' },
          metadata: { method: 'password+totp', reason, flagged: true },
        });
      }
    });
    throw refused();
  }
  return ctx.db.transaction().execute(async (tx) => {
    const taken = await tx
      .updateTable('user_totp')
      .set({ last_step: step })
      .where('user_id', '=', user.id)
      .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)]))
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) !== 1) throw refused();
    await attempt.succeeded(tx);
    const session = await createSession(tx, ctx, user.id, 'break_glass');
    for (const orgId of owned) {
      const enforced = await tx
        .selectFrom('sso_enforcement')
        .select('connection_id')
        .where('org_id', '=', orgId)
        .executeTakeFirst();
      await recordAudit(tx, ctx, {
        orgId,
        action: 'auth.break_glass_used',
        actor,
        targets: [
          { type: 'session', id: session.sessionId },
          { type: 'user', id: user.id, name: user.email },
        ],
        metadata: {
          method: 'password+totp',
          flagged: true,
          ssoEnforced: !!enforced,
          review: 'A primary owner bypassed single sign-on. Confirm with them that this was expected.',
        },
      });
    }
    return { session, user: publicUser(user) };
  });
}
