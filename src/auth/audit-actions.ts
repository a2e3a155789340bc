import type { AuditActionCatalog } from '../audit/action-spec.js';

/** Sign-in, sessions, credentials and accounts. See src/audit/action-spec.ts for the fields. */
export const AUTH_AUDIT_ACTIONS = {
  'auth.login_succeeded': {
    ocsf: 'Authentication: Logon',
    security: true,
    description: 'Someone signed in (password, link or single sign-on); metadata says how.',
  },
  'auth.login_failed': {
    ocsf: 'Authentication: Logon',
    security: true,
    description: 'A sign-in was refused (wrong password, suspended account, SSO required, throttled), with the reason.',
  },
  'auth.logged_out': {
    ocsf: 'Authentication: Logoff',
    security: true,
    description: 'A session was ended by its holder.',
    formerly: ['auth.logout'],
  },
  'auth.session_revoked': {
    ocsf: 'Authentication: Logoff',
    security: true,
    description: 'Sessions were ended by an administrator or by turning on SSO enforcement.',
  },
  'auth.break_glass_used': {
    ocsf: 'Authentication: Logon',
    security: true,
    description: 'An owner signed in with password and second factor while SSO is enforced (break-glass).',
  },
  'auth.break_glass_failed': {
    ocsf: 'Authentication: Logon',
    security: true,
    description: 'A break-glass sign-in was refused (wrong or reused second-factor code).',
  },
  'auth.link_refused': {
    ocsf: 'API Activity: Other',
    security: true,
    description: 'A sign-in, invitation or reset link was refused (used, expired or for another account).',
  },
  'auth.password_set': {
    ocsf: 'Account Change: Password Change',
    security: true,
    description: 'A password was set or changed on an account.',
  },
  'auth.password_reset_requested': {
    ocsf: 'API Activity: Other',
    security: true,
    description: 'A password-reset link was asked for (recorded whether or not the address has an account).',
  },
  'auth.totp_enrolled': {
    ocsf: 'Account Change: MFA Factor Enable',
    security: true,
    description: 'An owner enrolled an authenticator app (TOTP) as second factor.',
  },
  'auth.totp_removed': {
    ocsf: 'Account Change: MFA Factor Disable',
    security: true,
    description: 'An authenticator app (TOTP) was removed from an account.',
  },
  'api_token.created': {
    ocsf: 'API Activity: Create',
    security: true,
    description: 'A personal API token was created (name and expiry; never the secret).',
  },
  'api_token.revoked': {
    ocsf: 'API Activity: Delete',
    security: true,
    description: 'A personal API token was revoked; it stops working at once.',
  },
  'user.created': {
    ocsf: 'Account Change: Create',
    security: true,
    description: 'An account was created (just-in-time by single sign-on).',
  },
  'user.credentials_reset': {
    ocsf: 'Account Change: Other',
    security: true,
    description:
      "An account's password, sessions and second factor were cleared by the organization managing its domain.",
  },
  'user.email_changed': {
    ocsf: 'Account Change: Other',
    security: true,
    description: "An account's email address changed (the identity provider sent a new one for a linked identity).",
  },
  'user.email_verification_sent': {
    ocsf: 'Account Change: Other',
    security: false,
    description: 'A link to confirm an email address was sent.',
  },
  'user.email_verified': {
    ocsf: 'Account Change: Other',
    security: true,
    description: 'An email address was confirmed through its link.',
  },
} as const satisfies AuditActionCatalog;
