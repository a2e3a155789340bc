import { createHmac } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { assertSameOrigin, sessionCaller } from '../auth/identify.js';
import { constantTimeEqual } from '../auth/secrets.js';
import type { Ctx } from '../context.js';
import { PalisadeError } from '../errors.js';
import { SESSION_COOKIE } from '../auth/session-cookie.js';
import { effectiveRole } from '../orgs/authorize.js';
import { orgLineage } from '../orgs/store.js';
import { lookupAccount, matchAccount } from '../sso/account-match.js';
import type { ConnectionRow } from '../sso/connections.js';
import { fail, reportFailure } from '../sso/diagnosis.js';
import { normalizeEmail } from '../users/email.js';

/**
 * Who may use the test IdP's sign-in form, and as whom. Its form signs whatever address is typed,
 * and credentials belong to whoever controls the address, so:
 * - the form (shown, and answered) needs a Palisade session of an admin or primary owner of the
 *   organization that owns the connection: the IdP's pages are Palisade's own origin, so the
 *   palisade_session cookie comes along (src/auth/identify.ts does not identify /test-idp/ callers,
 *   this does, with the same session lookup);
 * - the form's answer carries a token bound to that session and to the pending sign-in request
 *   (an HMAC keyed by the session secret, as the app's own CSRF token is: unguessable without the
 *   cookie, nothing stored), so another site cannot make an admin's browser submit it;
 * - it asserts only the admin themself, or an address at a domain the organization verified that no
 *   Palisade account has yet (a new test person, JIT). Never another existing account: an admin must
 *   not become the primary owner, or act as anyone else.
 */
export interface TestIdpAdmin {
  userId: string;
  email: string;
  sessionId: string;
  sessionSecret: string;
  orgName: string;
}

const signInRequired = (orgName: string) =>
  new PalisadeError(
    401,
    'test_idp_sign_in_required',
    `The test identity provider signs in only for a signed-in admin. Sign in to Palisade as an admin of ${orgName} first, then come back to this page.`,
  );

/** The signed-in admin (or primary owner) of the connection's organization, or a refusal to show on the page. */
export async function testIdpAdmin(
  ctx: Ctx,
  request: FastifyRequest,
  conn: Pick<ConnectionRow, 'org_id'>,
): Promise<TestIdpAdmin> {
  const lineage = await orgLineage(ctx.db, conn.org_id);
  const orgName = lineage[0]?.name ?? 'this organization';
  const secret = request.cookies[SESSION_COOKIE];
  const caller = secret ? await sessionCaller(ctx, secret) : undefined;
  if (!secret || !caller) throw signInRequired(orgName);
  const role = await effectiveRole(ctx, caller.userId, lineage);
  if (role !== 'admin' && role !== 'primary_owner')
    throw new PalisadeError(
      403,
      'test_idp_admin_required',
      `You are signed in to Palisade as ${caller.email}, who is not an admin of ${orgName}. The test identity provider signs in only for an admin of the organization that owns the connection: sign in as one.`,
    );
  return { userId: caller.userId, email: caller.email, sessionId: caller.credentialId, sessionSecret: secret, orgName };
}

/** The form's token: bound to the admin's session and to the sign-in request being answered. */
export function formToken(admin: Pick<TestIdpAdmin, 'sessionSecret'>, pending: string[]): string {
  return createHmac('sha256', admin.sessionSecret)
    .update(['palisade-test-idp-form-v1', ...pending].join('\u0000'))
    .digest('base64url');
}

/** The form's answer: same origin, and the token this session got with the form for this very request. */
export function assertFormToken(
  ctx: Ctx,
  request: FastifyRequest,
  admin: TestIdpAdmin,
  pending: string[],
  sent: unknown,
): void {
  assertSameOrigin(request, ctx.config);
  if (typeof sent !== 'string' || !constantTimeEqual(sent, formToken(admin, pending)))
    throw new PalisadeError(
      403,
      'test_idp_form_token_invalid',
      "This answer to the test identity provider's form does not carry the token of the form shown to you for this sign-in. Start signing in again from Palisade.",
    );
}

/**
 * The address typed in may be the admin's own, or a new person's at a domain the organization
 * verified. The account is looked up as Palisade's sign-in will match it (./../sso/account-match.ts:
 * by the stable subject the test IdP sends for OIDC, then by email), so an address freed by an
 * email change cannot lead to the account that had it. Refusals are audited like refused sign-ins
 * (sso.login_failed, under the reference shown).
 */
export async function assertMayAssert(
  ctx: Ctx,
  conn: ConnectionRow,
  admin: TestIdpAdmin,
  identity: { email: string; subject: string; stableSubject: boolean },
): Promise<void> {
  let email: string;
  try {
    email = normalizeEmail(identity.email);
  } catch {
    return; // Palisade's sign-in refuses it (sso_email_invalid)
  }
  const ident = { ...identity, email, firstName: null, lastName: null, groups: [] };
  const match = matchAccount(ident, await lookupAccount(ctx.db, conn, ident));
  const self = email === admin.email && (!match.user || match.user.id === admin.userId);
  const newPerson = !match.user && !match.conflict;
  if (self || newPerson) return;
  const domain = email.slice(email.lastIndexOf('@') + 1);
  const { reference } = await reportFailure(
    {
      ...ctx,
      caller: { kind: 'user', userId: admin.userId, email: admin.email, via: 'session', credentialId: admin.sessionId },
    },
    { orgId: conn.org_id, connectionId: conn.id, protocol: conn.protocol },
    fail(
      'test_idp_impersonation_refused',
      'The test identity provider refused to sign in as this account.',
      'test IdP: asserted account is the admin or new',
      {
        expected: `${admin.email}, or an address without a Palisade account`,
        received: email,
        detail: `${admin.email} asked the test identity provider to sign in as ${email}, an existing Palisade account that is not theirs.`,
      },
    ),
  );
  throw new PalisadeError(
    403,
    'test_idp_impersonation_refused',
    `${email} already has a Palisade account, and it is not yours: the test identity provider never signs in as another person. Sign in as yourself (${admin.email}), or use a new address at ${domain} to try a new person. Reference: ${reference}.`,
  );
}
