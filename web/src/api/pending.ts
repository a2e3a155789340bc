import type { Ok } from './client';

/*
 * Answers the OpenAPI document does not describe yet: these operations have no success-response
 * schema on main (branch `boundaries` is adding them). Each type is built from generated pieces where
 * one exists; when `npm run web:api` brings the real schema, replace the type here with Ok<'…'> and
 * delete it. Nothing else in the console may define a request or response type.
 */

/** A person as the API shows them (the same schema verifyEmail answers with). */
export type PublicUser = Ok<'verifyEmail'>['user'];
type Member = Ok<'listMembers'>['data'][number];

/** GET /api/v1/auth/session (getAuthSession): src/auth/me.ts MeView plus the CSRF token. */
export interface SessionView {
  user: PublicUser;
  via: 'session' | 'api_token';
  memberships: { orgId: string; orgName: string; role: Member['role']; status: Member['status'] }[];
  csrfToken: string | null;
}

/** POST /api/v1/auth/login, /auth/setup-password and /auth/break-glass: a new session. */
export interface SignedIn {
  user: { id: string; email: string };
  csrfToken: string;
  expiresAt: string;
}

/** GET /api/v1/me/totp (getMeTotp): src/sso/totp.ts totpStatus. */
export interface TotpStatus {
  enrolled: boolean;
  confirmedAt: string | null;
}
