import type { ErrorCodeCatalog } from '../errors.js';

/** Single sign-on: each code once, with its one HTTP status and what it means and what to do (src/errors.ts). */
export const SSO_ERROR_CODES = {
  break_glass_refused: {
    status: 401,
    message:
      'Break-glass sign-in needs the email and password of a primary owner and the current code from their enrolled authenticator app. Check all three.',
  },
  connection_enforced: {
    status: 400,
    message:
      'This connection is the one members must sign in with. Turn SSO enforcement off (DELETE …/sso/enforcement) before deleting it.',
  },
  idp_initiated_not_supported: { status: 400, message: 'IdP-initiated login applies to SAML connections only.' },
  idp_metadata_unreachable: {
    status: 502,
    message: 'The IdP metadata URL redirected more than … times. Give the final metadata URL.',
  },
  idp_requires_signed_authn_requests: {
    status: 400,
    message:
      'The identity provider\'s metadata says WantAuthnRequestsSigned="true", so it refuses unsigned sign-in requests. Keep signAuthnRequests on, or change the setting at the identity provider and upload its new metadata first.',
  },
  invalid_certificate: {
    status: 400,
    message: 'A signing certificate is not a valid X.509 certificate. Paste it as PEM (-----BEGIN CERTIFICATE-----…).',
  },
  invalid_idp_metadata: {
    status: 400,
    message: 'The IdP metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding.',
  },
  invalid_or_expired_recovery_link: {
    status: 400,
    message:
      'This recovery link is invalid, has expired, was revoked or was already used. Ask a primary owner of your organization for a new one.',
  },
  oidc_client_key_missing: {
    status: 400,
    message:
      'This connection has no client key for private_key_jwt (it was created before Palisade generated one for OIDC connections). Create the connection again: it gets a key, published at oidc.jwksUri, to register at the provider.',
  },
  oidc_config_required: {
    status: 400,
    message:
      'An OIDC connection needs oidc.issuer, oidc.clientId and oidc.clientSecret from the application you registered in your identity provider.',
  },
  recovery_account_managed_elsewhere: {
    status: 409,
    message:
      'No recovery link can be issued here: …. The person recovers through the organization that manages their account (its primary owner can issue a link there), or an operator helps.',
  },
  recovery_link_for_self: {
    status: 409,
    message:
      'A recovery link is for someone else. Primary owners sign in with break-glass (POST /api/v1/auth/break-glass: password and authenticator code) when SSO fails.',
  },
  recovery_member_not_active: {
    status: 409,
    message:
      'Your membership or account is no longer active, so this recovery link no longer works. Ask a primary owner of your organization.',
  },
  saml_config_incomplete: {
    status: 400,
    message:
      'The SAML connection is missing …. Upload the IdP metadata XML as saml.metadataXml, or give entityId, ssoUrl and certificates.',
  },
  saml_config_required: {
    status: 400,
    message:
      'This draft connection has no IdP metadata yet: send saml.metadataXml or saml.metadataUrl (or entityId, ssoUrl and certificates) from your identity provider first.',
  },
  sign_authn_requests_not_supported: {
    status: 400,
    message:
      'Signed AuthnRequests apply to SAML connections only; OIDC requests are protected by PKCE and the client secret.',
  },
  simulate_input_required: {
    status: 400,
    message:
      'Send either "claims" (what the IdP would send) or "samlResponse" (a pasted base64 SAML response), not both.',
  },
  sp_key_missing: {
    status: 400,
    message:
      'This SAML connection has no service-provider key to sign requests with. Create the connection again (it gets a new SP key) and give the identity provider the new SP metadata.',
  },
  sso_enforcement_not_ready: {
    status: 409,
    message:
      'SSO cannot be enforced yet: the message lists every missing precondition (an active connection, a verified domain, a tested sign-in). Complete them, then enforce again.',
  },
  sso_required: {
    status: 403,
    message: 'This account signs in through single sign-on and has no password. Sign in at ….',
  },
  test_idp_connection_fixed: {
    status: 400,
    message:
      "This connection points at Palisade's built-in test identity provider, whose settings Palisade fills in. To use another identity provider, create a new connection.",
  },
  totp_already_enrolled: {
    status: 409,
    message: 'This account already has a confirmed authenticator. Remove it first to enroll another.',
  },
  totp_code_invalid: {
    status: 400,
    message: 'That code does not match. Check the time on your phone and enter the current 6-digit code.',
  },
  totp_not_started: { status: 400, message: 'Start enrollment first with POST /api/v1/me/totp.' },
  totp_secret_unreadable: {
    status: 409,
    message:
      'This enrollment can no longer be read (its stored secret failed an integrity check or its master key is gone). Start again with POST /api/v1/me/totp.',
  },
  wrong_protocol_settings: { status: 400, message: 'This is a SAML connection; send saml settings.' },
} as const satisfies ErrorCodeCatalog;
