import type { ErrorCodeCatalog } from '../errors.js';

/** Sign-in, sessions and credentials: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const AUTH_ERROR_CODES = {
  account_managed_elsewhere: {
    status: 403,
    message:
      'Your address is at …, a domain another organization manages in Palisade, so its password is set through that organization. Sign in with your organization\'s usual method, then accept this invitation under "Invitations".',
  },
  account_suspended: {
    status: 403,
    message: 'This account is suspended. Contact an administrator of your organization.',
  },
  current_password_incorrect: {
    status: 403,
    message:
      'The current password is not correct. Type it again; if you forgot it, sign out and use "Forgot password".',
  },
  invalid_credentials: {
    status: 401,
    message:
      'The email or password is not correct. Check both; if you have not set a password yet, use the link from your invitation, or "Forgot password" to get a new one by email.',
  },
  invalid_or_expired_link: {
    status: 400,
    message:
      'This link is invalid, has expired or was already used. Ask for a new one: an administrator can invite you again, and "Forgot password" on the sign-in page sends a new reset link.',
  },
  link_superseded: {
    status: 400,
    message: "This link was issued before the account's password was last set, so it no longer works.",
  },
  no_account: { status: 409, message: 'The session belongs to an account that no longer exists. Sign in again.' },
  no_organization: {
    status: 409,
    message: 'Your account belongs to no organization yet; ask an administrator to invite you.',
  },
  no_password_set: {
    status: 409,
    message:
      'Your account has no password to change. To set one, use "Forgot password" on the sign-in page: a link is sent to your address.',
  },
  password_too_long: {
    status: 400,
    message: 'The password is longer than Palisade accepts (the limit is in the message). Use a shorter passphrase.',
  },
  password_too_short: {
    status: 400,
    message: 'Choose a password of at least … characters; a passphrase of several words works well.',
  },
  token_cannot_mint_token: {
    status: 400,
    message: 'Create API tokens from a signed-in browser session, not with another API token.',
  },
  too_many_login_attempts: {
    status: 429,
    message:
      'Too many failed sign-in attempts for this account or from this network address. Wait the seconds in Retry-After and try again, or reset the password with "Forgot password".',
  },
  unauthenticated: { status: 401, message: 'This needs a signed-in session. Sign in first, then retry.' },
  too_many_invalid_tokens: {
    status: 429,
    message:
      'Too many invalid tokens or links were sent from your network address. Wait the seconds in Retry-After and check the token or link you send.',
  },
  too_many_verification_emails: {
    status: 429,
    message:
      'Several verification emails were sent to your address recently; use the latest one, or wait the seconds in Retry-After.',
  },
  too_many_password_resets: {
    status: 429,
    message:
      'Too many password reset requests from your network address. Wait the seconds in Retry-After; use the link in the latest email.',
  },
} as const satisfies ErrorCodeCatalog;
