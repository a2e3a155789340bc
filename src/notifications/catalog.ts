import type { Severity } from './tables.js';

/**
 * Every notification type Palisade sends, with its default severity and what it is about. The API
 * lists them (GET …/notifications/types), routes name them, and docs/notifications.md describes each.
 */
export const NOTIFICATION_TYPES = {
  'domain.verification_failing': {
    severity: 'critical',
    description:
      'A verified domain failed its re-check: the first failure, then a daily reminder until it is fixed, and "expires in N days" warnings (7 and 1 days before the grace period ends).',
  },
  'domain.expired': {
    severity: 'critical',
    description:
      'The grace period ended: the domain no longer captures sign-ins (reminded weekly until it is verified again).',
  },
  'domain.recovered': {
    severity: 'info',
    description: 'The record is back (or the domain was verified again): sent once, and it closes the incident.',
  },
  'sso.certificate_expiring': {
    severity: 'warning',
    description:
      "A SAML certificate (the IdP signing certificate or Palisade's SP certificate) expires in 30, 7 or 1 days: each warning once.",
  },
  'sso.metadata_refresh_failing': {
    severity: 'critical',
    description:
      'The IdP metadata URL could not be refreshed (reminded daily; resolved at the next successful refresh).',
  },
  'sso.oidc_discovery_failing': {
    severity: 'critical',
    description:
      "A sign-in failed because the OIDC provider's discovery document could not be fetched (at most once a day per connection).",
  },
  'sso.enforcement_changed': { severity: 'warning', description: 'Single sign-on enforcement was turned on or off.' },
  'auth.break_glass_used': {
    severity: 'critical',
    description: 'A primary owner signed in with break-glass (password and TOTP), bypassing single sign-on.',
  },
  'scim.sync_errors': {
    severity: 'warning',
    description:
      'A SCIM directory had more failed requests in one hour than PALISADE_NOTIFICATION_SCIM_ERRORS_PER_HOUR (once per directory per hour).',
  },
  'scim.token_unused': {
    severity: 'info',
    description:
      'A SCIM token has not been used for 30 days: the identity provider may have stopped syncing (once per token).',
  },
  'stream.failing': {
    severity: 'warning',
    description:
      'A SIEM stream failed to deliver (reminded daily); escalated when its circuit opens or it is dead-lettered; resolved when it delivers again.',
  },
  'retention.purge_summary': {
    severity: 'info',
    description: 'The retention purge removed workspace content: what and how much.',
  },
  'member.primary_owner_added': {
    severity: 'warning',
    description: 'Someone became a primary owner of the organization.',
  },
  'key.created': { severity: 'info', description: 'A compliance key, gateway key or personal API token was created.' },
} as const satisfies Record<string, { severity: Severity; description: string }>;

export type NotificationType = keyof typeof NOTIFICATION_TYPES;
export const TYPE_NAMES = Object.keys(NOTIFICATION_TYPES) as NotificationType[];

export const SEVERITY_RANK: Record<Severity, number> = { info: 1, warning: 2, critical: 3 };

export const DAY_MS = 86_400_000;
/** Days before a domain's grace period ends at which a warning replaces that day's reminder. */
export const DOMAIN_WARN_DAYS = [7, 1] as const;
/** Days before a certificate's notAfter at which a warning is sent, once each. */
export const CERT_WARN_DAYS = [30, 7, 1] as const;
/** A SCIM token unused for this long is reported once. */
export const SCIM_TOKEN_UNUSED_DAYS = 30;
