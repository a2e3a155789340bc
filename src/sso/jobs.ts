import type { JobDefinition } from '../jobs/scheduler.js';
import { refreshAllMetadata } from './metadata-refresh.js';
import { purgeExpiredSsoState } from './store.js';
import { rewrapTotpSecrets } from './totp-secret.js';

/** Deletes spent and expired login states and remembered assertion ids past their expiry. Idempotent. */
export function ssoCleanupJob(): JobDefinition {
  return {
    name: 'sso.cleanup',
    intervalMs: 15 * 60_000,
    run: async (ctx) => purgeExpiredSsoState(ctx.db, ctx.clock.now()),
  };
}

/**
 * Refreshes IdP metadata of every SAML connection configured by URL. A changed certificate set
 * (the IdP publishing its next certificate beside the current one) is applied and audited, so a
 * rollover needs no admin action; so is an IdP that starts requiring signed AuthnRequests
 * (WantAuthnRequestsSigned="true"): signing is turned on, since unsigned requests would be refused.
 *
 * Every change passes the lockout guard first (src/lockout/guard.ts). When the new metadata drops a
 * certificate recent sign-ins were signed with, and that would lock people out (the IdP may publish
 * only its next certificate before it switches), the dropped certificate is held: kept beside the new
 * ones until a sign-in signed with a new one succeeds (src/sso/held-certificates.ts), audited as
 * `sso.certificate_held` with the people it protects. When even that would lock people out (the
 * entity id changed, say), nothing is applied (`sso.metadata_refreshed`, outcome denied).
 * Idempotent: unchanged metadata, or a hold already in place, changes nothing.
 */
export function samlMetadataRefreshJob(): JobDefinition {
  return {
    name: 'sso.metadata_refresh',
    intervalMs: 6 * 3_600_000,
    run: async (ctx) => refreshAllMetadata(ctx),
  };
}

export function totpRewrapJob(): JobDefinition {
  return {
    name: 'sso.rewrap_totp_secrets',
    intervalMs: 60 * 60_000,
    run: async (ctx) => rewrapTotpSecrets(ctx.db, ctx.config),
  };
}
