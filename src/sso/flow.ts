import type { NewSession } from '../auth/sessions.js';
import type { Ctx } from '../context.js';
import type { ConnectionRow } from './connections.js';
import { type FailureReport, SsoFailure, fail, reportFailure } from './diagnosis.js';
import { connectionById } from './login.js';
import { finishOidc, peekOidcState } from './oidc.js';
import { completeLogin } from './provision.js';
import { finishSaml } from './saml.js';
import { assertTestIdpUsable } from './test-idp-policy.js';

/** `notice`: something the person should be told on arrival (their address changed at the IdP, and the account followed). */
export type FlowResult =
  | { ok: true; session: NewSession; orgId: string; purpose: 'login' | 'test'; notice: 'email_changed' | null }
  | { ok: false; failure: FailureReport; status: number };

/** What a finished protocol exchange hands over: the identity, and for SAML how it was proven. */
type Finished = Awaited<ReturnType<typeof finishOidc>> & {
  nameIdFormat?: string | null;
  signingCertSha256?: string | null;
};

const PERSISTENT_NAMEID = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';

async function run(
  ctx: Ctx,
  conn: ConnectionRow | undefined,
  protocol: string,
  body: (conn: ConnectionRow) => Promise<Finished>,
): Promise<FlowResult> {
  try {
    if (!conn)
      throw fail(
        'sso_connection_unknown',
        'This sign-in link does not match any single sign-on connection.',
        'connection exists',
        {},
        404,
      );
    assertTestIdpUsable(ctx.config, conn);
    const got = await body(conn);
    // OIDC's `sub` is stable by definition; a SAML NameID only in the persistent format (an email NameID is the address itself).
    const identity = {
      ...got.identity,
      stableSubject: conn.protocol === 'oidc' || got.nameIdFormat === PERSISTENT_NAMEID,
    };
    const done = await completeLogin(
      ctx,
      conn,
      identity,
      got.raw,
      got.purpose,
      got.initiatedBy,
      got.signingCertSha256 ?? null,
    );
    return {
      ok: true,
      session: done.session,
      orgId: conn.org_id,
      purpose: got.purpose,
      notice: done.plan.emailChange ? 'email_changed' : null,
    };
  } catch (err) {
    const failure = await reportFailure(
      ctx,
      { orgId: conn?.org_id ?? null, connectionId: conn?.id ?? null, protocol },
      err,
    );
    return { ok: false, failure, status: err instanceof SsoFailure ? err.status : 500 };
  }
}

/** The OIDC callback: the state names the connection. */
export async function oidcCallback(ctx: Ctx, currentUrl: URL, binding?: string): Promise<FlowResult> {
  const peek = await peekOidcState(ctx, currentUrl.searchParams.get('state') ?? undefined);
  const conn = peek ? await connectionById(ctx, peek.connection_id) : undefined;
  if (!conn) {
    const failure = await reportFailure(
      ctx,
      { orgId: null, connectionId: null, protocol: 'oidc' },
      fail(
        'sso_state_unknown',
        'This sign-in response does not match any sign-in Palisade started. Start signing in again from Palisade.',
        'state matches a pending sign-in',
      ),
    );
    return { ok: false, failure, status: 400 };
  }
  return run(ctx, conn, 'oidc', (c) => finishOidc(ctx, c, currentUrl, binding));
}

export async function samlAcs(
  ctx: Ctx,
  connectionId: string,
  samlResponse: string | undefined,
  binding?: string,
): Promise<FlowResult> {
  const conn = await connectionById(ctx, connectionId);
  return run(ctx, conn?.protocol === 'saml' ? conn : undefined, 'saml', (c) => {
    if (!samlResponse)
      throw fail(
        'saml_malformed',
        'Palisade received no answer from your identity provider.',
        'SAMLResponse form field present',
        {},
        400,
      );
    return finishSaml(ctx, c, samlResponse, { ...(binding ? { binding } : {}) });
  });
}
