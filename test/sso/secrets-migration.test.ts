import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import * as OTPAuth from 'otpauth';
import { buildApp } from '../../src/app.js';
import { TEST_OUTBOUND_ALLOW_CIDRS } from '../helpers/harness.js';
import { ManualClock } from '../../src/clock.js';
import { type PalisadeConfig, loadConfig } from '../../src/config.js';
import { MIGRATION_NAMES, migrateTo, migrateToLatest } from '../../src/db/migrate.js';
import { sealExistingSsoSecrets } from '../../src/db/migrations/0010_sso_secrets_sealed.js';
import { generateSecret, hashSecret } from '../../src/auth/secrets.js';
import { newId } from '../../src/ids.js';
import { oidcClientSecret, spPrivateKey } from '../../src/sso/secrets.js';
import { generateSpKeyPair } from '../../src/sso/sp-keys.js';
import { openTotpSecret } from '../../src/sso/totp-secret.js';
import { type TestDatabase, openTestDatabase } from '../helpers/db.js';
import { Agent, TEST_PASSWORD } from '../helpers/harness.js';
import { type OidcPeer, driveOidcLogin, startOidcPeer } from './oidc-peer.js';
import { IDP_ENTITY, IDP_SSO_URL, type KeyPair, TestIdp, makeKeyPair } from './saml-peer.js';

const PUBLIC = 'http://palisade.test';
const SEALING = '0010_sso_secrets_sealed';
/** The migration before 0010, whichever it is: the schema that stored these secrets in clear. */
const PREVIOUS = MIGRATION_NAMES[MIGRATION_NAMES.indexOf(SEALING) - 1] as string;

/**
 * Migration 0010 on a database that already holds SSO secrets in clear: rows are written with the
 * previous schema (raw SQL through Kysely, old column names), then the database is migrated to the
 * latest version and used by a real app against the real IdP peers.
 */
describe('migration 0010 seals SSO secrets stored in clear', () => {
  let tdb: TestDatabase;
  let config: PalisadeConfig;
  const clock = new ManualClock(new Date());
  let app: FastifyInstance | undefined;
  let peer: OidcPeer;
  let idpKey: KeyPair;
  let orgId: string;
  let setupUrl: string;
  let userId: string;
  const oidcId = 'sso_legacy_oidc';
  const samlId = 'sso_legacy_saml';
  let spKeyPem: string;
  let spCertPem: string;
  const totpSecret = new OTPAuth.Secret({ size: 20 }).base32;
  // Migrations describe the schema at their point in history, so this test talks to it untyped.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const raw = () => tdb.database.db as unknown as Kysely<any>;
  const applied = async () =>
    (await raw().selectFrom('kysely_migration').select('name').execute()).map((r) => r.name as string);
  const code = () =>
    new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(totpSecret), digits: 6, period: 30 }).generate({
      timestamp: clock.now().getTime(),
    });

  before(async () => {
    tdb = await openTestDatabase({ migrate: false });
    await migrateTo(tdb.database, PREVIOUS);
    assert.ok(!(await applied()).includes(SEALING));
    config = loadConfig(
      {},
      {
        databaseUrl: tdb.url,
        logLevel: 'silent',
        passwordScryptLogN: 10,
        publicUrl: PUBLIC,
        masterKey: randomBytes(32).toString('base64'),
        outboundAllowCidrs: TEST_OUTBOUND_ALLOW_CIDRS,
      },
    );
    peer = await startOidcPeer(`${PUBLIC}/sso/oidc/callback`, { legacy: { email: 'legacy@acme.example' } });
    idpKey = makeKeyPair('legacy-idp');

    // The organization, its owner and their setup link as the schema of 0009 stores them (today's
    // code writes columns later migrations added).
    {
      const at = clock.now().toISOString();
      orgId = newId('org', clock.now());
      userId = newId('usr', clock.now());
      const membershipId = newId('mem', clock.now());
      const secret = generateSecret('lnk');
      await raw()
        .insertInto('organizations')
        .values({
          id: orgId,
          parent_id: null,
          name: 'Acme',
          billing_email: null,
          status: 'active',
          created_at: at,
          updated_at: at,
          deleted_at: null,
        })
        .execute();
      await raw()
        .insertInto('users')
        .values({
          id: userId,
          email: 'owner@acme.example',
          display_name: null,
          password_hash: null,
          status: 'active',
          created_at: at,
          updated_at: at,
        })
        .execute();
      await raw()
        .insertInto('memberships')
        .values({
          id: membershipId,
          org_id: orgId,
          user_id: userId,
          role: 'primary_owner',
          status: 'invited',
          invited_by: null,
          created_at: at,
          updated_at: at,
        })
        .execute();
      await raw()
        .insertInto('link_tokens')
        .values({
          id: newId('lnk', clock.now()),
          purpose: 'setup',
          token_hash: hashSecret(secret),
          user_id: userId,
          org_id: orgId,
          membership_id: membershipId,
          created_at: at,
          expires_at: new Date(clock.now().getTime() + 86_400_000).toISOString(),
          used_at: null,
        })
        .execute();
      setupUrl = `${PUBLIC}/setup#token=${secret}`;
    }

    const sp = await generateSpKeyPair('legacy', clock.now());
    spKeyPem = sp.privateKeyPem;
    spCertPem = sp.certificatePem;
    const at = clock.now().toISOString();
    const base = {
      org_id: orgId,
      preset: 'custom',
      status: 'active',
      jit_enabled: 1,
      idp_initiated: 0,
      claims: JSON.stringify({ email: 'email', firstName: 'given_name', lastName: 'family_name', groups: 'groups' }),
      created_at: at,
      updated_at: at,
    };
    await raw()
      .insertInto('sso_connections')
      .values([
        {
          ...base,
          id: oidcId,
          protocol: 'oidc',
          name: 'Legacy OIDC',
          oidc_issuer: peer.issuer,
          oidc_client_id: peer.clientId,
          oidc_client_secret: peer.clientSecret,
        },
        {
          ...base,
          id: samlId,
          protocol: 'saml',
          name: 'Legacy SAML',
          claims: JSON.stringify({ email: 'email', firstName: 'firstName', lastName: 'lastName', groups: 'groups' }),
          saml_idp_entity_id: IDP_ENTITY,
          saml_idp_sso_url: IDP_SSO_URL,
          saml_idp_certs: JSON.stringify([idpKey.cert.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '')]),
          sp_private_key: spKeyPem,
          sp_certificate: spCertPem,
        },
      ])
      .execute();
    await raw()
      .insertInto('user_totp')
      .values({ user_id: userId, secret: totpSecret, confirmed_at: at, last_step: null, created_at: at })
      .execute();
  });
  after(async () => {
    await app?.close();
    await tdb.cleanup();
    await peer.close();
  });

  test('with secrets to seal and no key configuration, the migration stops and changes nothing', async () => {
    await assert.rejects(
      migrateToLatest(tdb.database),
      (e: Error) => /0010_sso_secrets_sealed/.test(e.message) && /PALISADE_MASTER_KEY/.test(e.message),
    );
    assert.ok(!(await applied()).includes(SEALING));
    const row = await raw()
      .selectFrom('sso_connections')
      .select(['oidc_client_secret', 'sp_private_key'])
      .where('id', '=', oidcId)
      .executeTakeFirstOrThrow();
    assert.equal(
      row.oidc_client_secret,
      peer.clientSecret,
      'still the previous schema: nothing half-renamed or half-sealed',
    );
    const totp = await raw()
      .selectFrom('user_totp')
      .select('secret')
      .where('user_id', '=', userId)
      .executeTakeFirstOrThrow();
    assert.equal(totp.secret, totpSecret);
  });

  test('migrating to the latest version seals every plaintext row in place', async () => {
    const report = await migrateToLatest(tdb.database, { config, now: () => clock.now() });
    assert.ok(report.applied.includes(SEALING));
    const db = tdb.database.db;
    const oidc = await db.selectFrom('sso_connections').selectAll().where('id', '=', oidcId).executeTakeFirstOrThrow();
    const saml = await db.selectFrom('sso_connections').selectAll().where('id', '=', samlId).executeTakeFirstOrThrow();
    const totp = await db.selectFrom('user_totp').selectAll().where('user_id', '=', userId).executeTakeFirstOrThrow();
    const spBody = spKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    assert.ok(
      oidc.oidc_client_secret_ct &&
        !oidc.oidc_client_secret_ct.includes(peer.clientSecret) &&
        !Buffer.from(oidc.oidc_client_secret_ct, 'base64').toString('latin1').includes(peer.clientSecret),
    );
    assert.ok(
      saml.sp_private_key_ct &&
        !saml.sp_private_key_ct.includes('PRIVATE KEY') &&
        !saml.sp_private_key_ct.includes(spBody.slice(0, 40)),
    );
    assert.ok(
      !totp.secret_ct.includes(totpSecret) &&
        !Buffer.from(totp.secret_ct, 'base64').toString('latin1').includes(totpSecret),
    );
    assert.equal(oidc.oidc_client_secret_key_version, 1);
    assert.equal(saml.sp_private_key_key_version, 1);
    assert.equal(oidc.sp_private_key_key_version, null, 'an absent secret stays absent');
    assert.equal(totp.kek_id, 'local:1');
    const keys = await db
      .selectFrom('org_data_keys')
      .select(['version', 'status'])
      .where('org_id', '=', orgId)
      .execute();
    assert.deepEqual(
      keys.map((k) => [Number(k.version), k.status]),
      [[1, 'active']],
      "sealed with the organization's own data key, created for it",
    );
    // Each opens, in the one place that opens it, to exactly what was stored before.
    assert.equal(await oidcClientSecret(db, config, oidc), peer.clientSecret);
    assert.equal(await spPrivateKey(db, config, saml), spKeyPem);
    assert.equal(await openTotpSecret(config, totp), totpSecret);
  });

  test('sign-in works end to end on the migrated rows: OIDC, SAML with an encrypted assertion, break-glass', async () => {
    app = await buildApp({ database: tdb.database, config, clock });
    const oidcAgent = new Agent(app, 'legacy');
    const start = await oidcAgent.get(`/sso/${oidcId}/start`);
    assert.equal(start.status, 302, start.raw.body);
    const callback = await driveOidcLogin(String(start.headers.location), 'legacy', PUBLIC);
    const done = await oidcAgent.get(callback.slice(PUBLIC.length));
    assert.equal(done.status, 303, done.raw.body);
    assert.equal((await oidcAgent.get('/api/v1/auth/session')).body.user.email, 'legacy@acme.example');

    const samlAgent = new Agent(app, 'dana');
    const md = (await samlAgent.get(`/sso/saml/${samlId}/metadata`)).raw.body;
    assert.match(md, /use="encryption"/);
    const go = await samlAgent.get(`/sso/${samlId}/start`);
    assert.equal(go.status, 302, go.raw.body);
    const requestId = await new TestIdp(idpKey).requestIdFrom(String(go.headers.location), md);
    const acsUrl = `${PUBLIC}/sso/saml/${samlId}/acs`;
    const { samlResponse } = await new TestIdp(idpKey, true).response(md, {
      nameId: 'dana@acme.example',
      attributes: { email: ['dana@acme.example'] },
      destination: acsUrl,
      recipient: acsUrl,
      audience: `${PUBLIC}/sso/saml/${samlId}`,
      inResponseTo: requestId,
    });
    assert.ok(Buffer.from(samlResponse, 'base64').toString().includes('EncryptedAssertion'));
    const posted = await samlAgent.request(
      'POST',
      `/sso/saml/${samlId}/acs`,
      `SAMLResponse=${encodeURIComponent(samlResponse)}`,
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    assert.equal(posted.status, 303, posted.raw.body);
    assert.equal((await samlAgent.get('/api/v1/auth/session')).body.user.email, 'dana@acme.example');

    const owner = new Agent(app, 'owner@acme.example');
    const setup = await owner.post('/api/v1/auth/setup-password', {
      token: new URL(setupUrl).hash.replace('#token=', ''),
      password: TEST_PASSWORD,
    });
    assert.equal(setup.status, 200, setup.raw.body);
    clock.advance(60_000);
    const bg = await new Agent(app, 'bg').post('/api/v1/auth/break-glass', {
      email: 'owner@acme.example',
      password: TEST_PASSWORD,
      code: code(),
    });
    assert.equal(bg.status, 200, bg.raw.body);
  });

  test('the data migration is idempotent, and a database with no rows migrates without any key', async () => {
    assert.deepEqual(await sealExistingSsoSecrets(tdb.database.db, { config }), {
      connectionSecrets: 0,
      totpSecrets: 0,
    });
    const empty = await openTestDatabase({ migrate: false });
    try {
      await migrateTo(empty.database, PREVIOUS);
      const report = await migrateToLatest(empty.database);
      assert.ok(report.applied.includes(SEALING));
      const cols =
        (await empty.database.db.introspection.getTables())
          .find(
            (tb) => tb.name === 'sso_connections' && (!empty.database.schema || tb.schema === empty.database.schema),
          )
          ?.columns.map((c) => c.name) ?? [];
      assert.ok(
        cols.includes('oidc_client_secret_ct') &&
          cols.includes('sp_private_key_key_version') &&
          !cols.includes('oidc_client_secret'),
      );
    } finally {
      await empty.cleanup();
    }
  });

  test('reverting 0010 writes the secrets back under the old columns; migrating again seals them again', async () => {
    await app?.close();
    app = undefined;
    await migrateTo(tdb.database, PREVIOUS, { config });
    assert.ok(!(await applied()).includes(SEALING));
    const conn = await raw()
      .selectFrom('sso_connections')
      .select(['id', 'oidc_client_secret', 'sp_private_key'])
      .orderBy('id')
      .execute();
    assert.deepEqual(
      conn.map((r) => [r.id, r.oidc_client_secret, r.sp_private_key]),
      [
        [oidcId, peer.clientSecret, null],
        [samlId, null, spKeyPem],
      ],
    );
    assert.equal(
      (await raw().selectFrom('user_totp').select('secret').where('user_id', '=', userId).executeTakeFirstOrThrow())
        .secret,
      totpSecret,
    );
    await migrateToLatest(tdb.database, { config });
    const again = await tdb.database.db
      .selectFrom('sso_connections')
      .selectAll()
      .where('id', '=', oidcId)
      .executeTakeFirstOrThrow();
    assert.ok(again.oidc_client_secret_ct !== peer.clientSecret && again.oidc_client_secret_key_version === 1);
    assert.equal(await oidcClientSecret(tdb.database.db, config, again), peer.clientSecret);
  });
});
