import { isIP } from 'node:net';
import type { PalisadeConfig } from '../config.js';
import type { SsoDomainCapture } from '../domains/capture.js';
import type { ConnectionRow } from './connections.js';
import { fail } from './diagnosis.js';

/**
 * What single sign-on does differently for a connection to Palisade's built-in test identity
 * provider (src/test-idp/). That IdP signs whatever address is typed into its form, so:
 * - while the installation has it turned off (PALISADE_TEST_IDP), such a connection signs nobody in
 *   and cannot be enforced, even though the connection and the trusted certificate still exist;
 * - while on, it may sign in only addresses at a domain this organization verified, and never an
 *   account another organization manages (the general rules of ./provision.ts already refuse those:
 *   an account that belongs elsewhere, an address at a domain another organization verified).
 * Kept here, in sso, so the sign-in path never imports the test IdP itself.
 */
export const TEST_IDP_PRESET = 'palisade_test';
/** Where the built-in test IdP is served (src/test-idp/routes.ts registers its routes under it). */
export const TEST_IDP_PREFIX = '/test-idp';

export const isTestIdpConnection = (conn: Pick<ConnectionRow, 'preset'>): boolean => conn.preset === TEST_IDP_PRESET;

export const testIdpSamlEntityId = (config: Pick<PalisadeConfig, 'publicUrl'>) =>
  `${config.publicUrl}${TEST_IDP_PREFIX}/saml`;
export const testIdpSamlSsoUrl = (config: Pick<PalisadeConfig, 'publicUrl'>) =>
  `${config.publicUrl}${TEST_IDP_PREFIX}/saml/sso`;
export const testIdpOidcIssuer = (config: Pick<PalisadeConfig, 'publicUrl'>) =>
  `${config.publicUrl}${TEST_IDP_PREFIX}/oidc`;

export const TEST_IDP_DISABLED_DETAIL =
  "This connection uses Palisade's built-in test identity provider, which is turned off on this installation (PALISADE_TEST_IDP). It signs nobody in while off. Connect a real identity provider, or ask the operator to turn the test IdP on for a trial installation.";

/** Refuses a sign-in (start or finish) through a test-IdP connection while the test IdP is off. */
export function assertTestIdpUsable(
  config: Pick<PalisadeConfig, 'testIdp'>,
  conn: Pick<ConnectionRow, 'preset'>,
): void {
  if (isTestIdpConnection(conn) && !config.testIdp)
    throw fail(
      'sso_test_idp_disabled',
      'This sign-in method is turned off.',
      'the built-in test identity provider is turned on (PALISADE_TEST_IDP)',
      { expected: true, received: false, detail: TEST_IDP_DISABLED_DETAIL },
      403,
    );
}

/**
 * The test IdP's extra rule at sign-in (pure, so the simulator and the lockout guard's replay agree):
 * the address must be at a domain this organization verified. Returns the refusal, or null.
 */
export function testIdpRefusal(
  conn: Pick<ConnectionRow, 'preset'>,
  email: string,
  capture: SsoDomainCapture | null,
): { code: string; message: string } | null {
  if (!isTestIdpConnection(conn)) return null;
  const domain = email.slice(email.lastIndexOf('@') + 1);
  if (capture?.capturedBy === 'another_organization')
    return {
      code: 'sso_email_domain_captured',
      message: `${email} is at ${domain}, a domain another organization verified in Palisade; the built-in test identity provider never signs in addresses another organization manages.`,
    };
  if (capture?.capturedBy !== 'this_organization')
    return {
      code: 'sso_test_idp_domain_unverified',
      message: `${email} is at ${domain}, which this organization has not verified. The built-in test identity provider accepts any address typed into its form, so it signs in only addresses at domains this organization verified (Domains).`,
    };
  return null;
}

const selfPolicies = new WeakMap<PalisadeConfig, PalisadeConfig>();

/**
 * The outbound policy Palisade's OIDC client uses to reach its own built-in test IdP: the
 * installation's policy plus the public URL's own address when that is a literal IP (or localhost),
 * which the default policy denies as loopback. Only for a test-IdP connection whose issuer is this
 * installation's own test IdP: a destination Palisade chose, not one an admin typed. A public URL
 * with a hostname that resolves to loopback still needs PALISADE_OUTBOUND_ALLOW_CIDRS.
 */
export function outboundConfigFor(
  conn: Pick<ConnectionRow, 'preset' | 'oidc_issuer'>,
  config: PalisadeConfig,
): PalisadeConfig {
  if (!isTestIdpConnection(conn) || conn.oidc_issuer !== testIdpOidcIssuer(config)) return config;
  let derived = selfPolicies.get(config);
  if (!derived) {
    const host = new URL(config.publicUrl).hostname.replace(/^\[|\]$/g, '');
    const own =
      host === 'localhost'
        ? ['127.0.0.1/32', '::1/128']
        : isIP(host) === 4
          ? [`${host}/32`]
          : isIP(host) === 6
            ? [`${host}/128`]
            : [];
    derived = { ...config, outboundAllowCidrs: [...config.outboundAllowCidrs, ...own] };
    selfPolicies.set(config, derived);
  }
  return derived;
}
