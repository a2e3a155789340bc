import { SYSTEM_CHAIN } from '../audit/event.js';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { newId } from '../ids.js';

/**
 * A refused SSO login. The person sees `publicMessage` and `reference`; the admin finds the full
 * diagnosis (which check failed, expected vs received) in the audit event that names the reference.
 */
export class SsoFailure extends Error {
  constructor(
    readonly code: string,
    readonly publicMessage: string,
    readonly diagnosis: { check: string; expected?: unknown; received?: unknown; detail?: string },
    readonly status = 403,
  ) {
    super(`${code}: ${diagnosis.check}`);
    this.name = 'SsoFailure';
  }
}

export const fail = (
  code: string,
  publicMessage: string,
  check: string,
  extra: { expected?: unknown; received?: unknown; detail?: string } = {},
  status = 403,
) => new SsoFailure(code, publicMessage, { check, ...extra }, status);

export interface FailureReport {
  code: string;
  message: string;
  reference: string;
}

/** Writes the diagnosis to the audit log of the connection's organization and returns what the person may see. */
export async function reportFailure(
  ctx: Ctx,
  where: { orgId: string | null; connectionId: string | null; protocol: string },
  err: unknown,
): Promise<FailureReport> {
  const failure =
    err instanceof SsoFailure
      ? err
      : new SsoFailure(
          'sso_internal_error',
          'Sign-in could not be completed because of an unexpected error.',
          { check: 'unexpected', detail: err instanceof Error ? err.message.slice(0, 300) : String(err).slice(0, 300) },
          500,
        );
  const reference = newId('ssr', ctx.clock.now());
  await ctx.db.transaction().execute(async (tx) => {
    await recordAudit(tx, ctx, {
      orgId: where.orgId ?? SYSTEM_CHAIN,
      action: 'sso.login_failed',
      outcome: 'failure',
      targets: [
        { type: 'sso_reference', id: reference },
        ...(where.connectionId ? [{ type: 'sso_connection', id: where.connectionId }] : []),
      ],
      metadata: { protocol: where.protocol, code: failure.code, ...safeDiagnosis(failure.diagnosis) },
    });
  });
  return {
    code: failure.code,
    message: `${failure.publicMessage} Give your administrator this reference: ${reference}.`,
    reference,
  };
}

function safeDiagnosis(d: SsoFailure['diagnosis']): Record<string, unknown> {
  const clip = (v: unknown) => (typeof v === 'string' ? v.slice(0, 500) : v);
  return {
    check: d.check,
    ...(d.expected !== undefined ? { expected: clip(d.expected) } : {}),
    ...(d.received !== undefined ? { received: clip(d.received) } : {}),
    ...(d.detail ? { detail: clip(d.detail) } : {}),
  };
}
