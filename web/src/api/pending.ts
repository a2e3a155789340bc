import type { Ok } from './client';

/*
 * Names for answers the console passes around, all taken from the generated OpenAPI types (the
 * server now declares a success schema for every operation): nothing here is written by hand.
 */

/** A person as the API shows them. */
export type PublicUser = Ok<'getSession'>['user'];

/** GET /api/v1/auth/session. */
export type SessionView = Ok<'getSession'>;

/** POST /api/v1/auth/login, /auth/setup-password and /auth/break-glass: a new session. */
export type SignedIn = Ok<'login'>;

/** GET /api/v1/me/totp. */
export type TotpStatus = Ok<'getTotpEnrollment'>;
