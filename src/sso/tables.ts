import type { Role } from '../db/schema.js';

export type SsoProtocol = 'oidc' | 'saml';
export type OidcTokenAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

export interface SsoConnectionsTable {
  id: string;
  org_id: string;
  protocol: SsoProtocol;
  name: string;
  preset: string;
  /** draft: a SAML connection created before the IdP's metadata, so the admin has the values to paste into the IdP first. */
  status: 'active' | 'disabled' | 'draft';
  jit_enabled: number;
  idp_initiated: number;
  /** JSON: ClaimNames (which claim/attribute carries email, names, groups). */
  claims: string;
  oidc_issuer: string | null;
  oidc_client_id: string | null;
  /**
   * Sealed with the organization's data key (src/sso/secrets.ts): base64 AES-256-GCM, opened only
   * to talk to the IdP; never returned by the API.
   */
  oidc_client_secret_ct: string | null;
  /** Data-key version that sealed oidc_client_secret_ct. */
  oidc_client_secret_key_version: number | null;
  saml_idp_entity_id: string | null;
  saml_idp_sso_url: string | null;
  /** JSON array of PEM bodies (one or two during certificate rollover). */
  saml_idp_certs: string | null;
  /** When set, the IdP metadata is fetched from here and refreshed by the sso.metadata_refresh job. */
  saml_metadata_url: string | null;
  saml_metadata_refreshed_at: string | null;
  saml_metadata_error: string | null;
  /**
   * 1: AuthnRequests carry an HTTP-Redirect binding signature (RSA-SHA256) made with the SP key below.
   * On by default when the IdP metadata says WantAuthnRequestsSigned="true".
   */
  saml_sign_authn_requests: number;
  /** What the IdP metadata said about WantAuthnRequestsSigned (1/0); null when unknown (fields entered by hand). */
  saml_idp_wants_signed_requests: number | null;
  /**
   * JSON array of PEM bodies the metadata refresh kept beside the IdP's new certificates because recent
   * sign-ins were signed with them (src/sso/metadata-refresh.ts); they are also in saml_idp_certs.
   * Released (removed from both) at the first sign-in signed with another certificate. Null: none held.
   */
  saml_held_certs: string | null;
  /** 1: this SAML connection accepts SHA-1 signatures and digests (refused by default; changing it is audited). */
  saml_allow_sha1: number;
  /**
   * How Palisade authenticates at the OIDC token endpoint: client_secret_basic, client_secret_post or
   * private_key_jwt; null chooses from discovery's token_endpoint_auth_methods_supported.
   */
  oidc_token_auth_method: OidcTokenAuthMethod | null;
  /** Palisade's SAML key for this connection (decrypts assertions, signs AuthnRequests), sealed like the client secret; never returned by the API. */
  sp_private_key_ct: string | null;
  /** Data-key version that sealed sp_private_key_ct. */
  sp_private_key_key_version: number | null;
  /** Its self-signed certificate, published in the SP metadata. */
  sp_certificate: string | null;
  last_test_login_at: string | null;
  last_test_login_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface SsoLoginStatesTable {
  id: string;
  connection_id: string;
  org_id: string;
  purpose: 'login' | 'test';
  nonce: string | null;
  code_verifier: string | null;
  initiated_by: string | null;
  /** SHA-256 of the browser-binding cookie set when the sign-in started (login-CSRF protection). */
  browser_binding: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface SsoAssertionIdsTable {
  connection_id: string;
  assertion_id: string;
  expires_at: string;
}

export interface SsoLoginsTable {
  id: string;
  connection_id: string;
  org_id: string;
  user_id: string;
  email: string;
  /** JSON: the normalized identity (email, names, groups) the IdP sent. */
  attributes: string;
  role: Role | null;
  purpose: 'login' | 'test';
  occurred_at: string;
  /** SHA-256 fingerprint (AB:CD:…) of the configured IdP certificate that verified a SAML sign-in; null for OIDC or when unknown. */
  signing_cert_sha256: string | null;
}

/** An IdP's stable subject (SAML persistent NameID, OIDC `iss|sub`) linked to the account it signs in, per connection. */
export interface SsoIdentitiesTable {
  id: string;
  org_id: string;
  connection_id: string;
  /** `issuer|subject`, as in the login record's identity. */
  subject: string;
  user_id: string;
  created_at: string;
  last_login_at: string;
}

/** A recovery link a primary owner issued for a member locked out of SSO (src/sso/recovery.ts). */
export interface SsoRecoveryLinksTable {
  id: string;
  org_id: string;
  membership_id: string;
  user_id: string;
  /** SHA-256 of the `pls_rcv_…` secret; the secret itself is shown once, to the owner who issued it. */
  token_hash: string;
  reason: string;
  issued_by: string | null;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  revoked_at: string | null;
  /** The session the link opened. */
  session_id: string | null;
}

export interface SsoEnforcementTable {
  org_id: string;
  connection_id: string;
  enforced_at: string;
  enforced_by: string | null;
}

export interface UserTotpTable {
  user_id: string;
  /**
   * The base32 TOTP secret sealed with the installation's key-encryption key (src/sso/totp-secret.ts):
   * a person's second factor belongs to no single organization.
   */
  secret_ct: string;
  /** The KEK that sealed it (`local:<id>` or `pkcs11:<label>`); the sso.rewrap_totp_secrets job moves it to the current one. Null only on a row migration 0010 has not sealed: read as unusable. */
  kek_id: string | null;
  confirmed_at: string | null;
  last_step: number | null;
  created_at: string;
}

export interface SsoTables {
  sso_connections: SsoConnectionsTable;
  sso_login_states: SsoLoginStatesTable;
  sso_assertion_ids: SsoAssertionIdsTable;
  sso_logins: SsoLoginsTable;
  sso_enforcement: SsoEnforcementTable;
  user_totp: UserTotpTable;
  sso_identities: SsoIdentitiesTable;
  sso_recovery_links: SsoRecoveryLinksTable;
}
