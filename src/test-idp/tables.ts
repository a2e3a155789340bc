/** Row types of the built-in test identity provider (migration 0026). */
export interface TestIdpKeysTable {
  /** 'current': one key pair per installation. */
  id: string;
  /** RFC 7638 thumbprint of the public key, the JWKS `kid`. */
  kid: string;
  /** PEM certificate (self-signed) published in the SAML metadata and as the OIDC JWKS. */
  certificate: string;
  /** PKCS#8 PEM sealed with the installation's key-encryption key (AES-256-GCM, base64). */
  private_key_ct: string;
  kek_id: string;
  created_at: string;
}

export interface TestIdpCodesTable {
  /** SHA-256 (base64url) of the code: the code itself is never stored. */
  code_hash: string;
  connection_id: string;
  redirect_uri: string;
  /** PKCE S256 challenge, when the client sent one. */
  code_challenge: string | null;
  nonce: string | null;
  /** JSON: what the person typed into the form (email, names, groups). */
  claims: string;
  expires_at: string;
  created_at: string;
}

export interface TestIdpTables {
  test_idp_keys: TestIdpKeysTable;
  test_idp_codes: TestIdpCodesTable;
}
