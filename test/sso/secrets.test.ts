import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import * as OTPAuth from 'otpauth';
import { buildApp } from '../../src/app.js';
import type { PalisadeConfig } from '../../src/config.js';
import { rewrapJob } from '../../src/crypto/jobs.js';
import { LocalKeyring } from '../../src/crypto/local-keyring.js';
import { replaceKeyProvider } from '../../src/crypto/provider.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { createOrganization } from '../../src/membership/organizations.js';
import { oidcClientSecret, spPrivateKey } from '../../src/sso/secrets.js';
import { openTotpSecret } from '../../src/sso/totp-secret.js';
import { totpRewrapJob } from '../../src/sso/jobs.js';
import { Agent, TEST_PASSWORD, type TestApp, createTestApp } from '../helpers/harness.js';
import { type OidcPeer, type PeerAccount, driveOidcLogin, startOidcPeer } from './oidc-peer.js';
import { type KeyPair, TestIdp, idpMetadata, makeKeyPair } from './saml-peer.js';

const PUBLIC = 'http://palisade.test';

/** The sealed column holds neither the secret, nor its base64, nor its bytes. */
function assertSealed(ct: string | null, secret: string, what: string) {
  assert.ok(ct, `${what} is stored`);
  assert.ok(!ct.includes(secret), `${what}: the raw column does not hold the secret`);
  assert.ok(!Buffer.from(ct, 'base64').toString('latin1').includes(secret), `${what}: nor its bytes`);
  const b64 = Buffer.from(secret, 'utf8').toString('base64');
  assert.ok(!ct.includes(b64.slice(4, Math.min(b64.length - 4, 40))), `${what}: nor its base64`);
}

const flip = (ct: string) => {
  const b = Buffer.from(ct, 'base64');
  b[b.length - 1]! ^= 1;
  return b.toString('base64');
};

/**
 * The SSO domain's secrets at rest, against the same real peers as the protocol suites: the OIDC
 * client secret and SAML SP private key sealed with the organization's data key, the TOTP secret
 * with the installation KEK. Every request goes through an app logging at trace level, so the last
 * test can prove no secret ever reached a log line.
 */
describe('SSO secrets are sealed at rest', () => {
  let t: TestApp;
  let app: FastifyInstance;
  let cfg: PalisadeConfig;
  const lines: string[] = [];
  let peer: OidcPeer;
  let idpKey: KeyPair;
  let orgId: string;
  let owner: Agent;
  let oidcId: string;
  let samlConn: { id: string; saml: { acsUrl: string; spEntityId: string } };
  let spMetadata: string;
  let spPem: string;
  let totpSecret: string;
  const accounts: Record<string, PeerAccount> = {
    alice: { email: 'alice@acme.example', groups: [] },
    sam: { email: 'sam@shred.example', groups: [] },
  };
  const db = () => t.db.database.db;
  const rawConn = (id: string) =>
    db().selectFrom('sso_connections').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const rawTotp = async (email: string) => {
    const u = await db().selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
    return db().selectFrom('user_totp').selectAll().where('user_id', '=', u.id).executeTakeFirstOrThrow();
  };
  const code = (secret: string) =>
    new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(secret), digits: 6, period: 30 }).generate({
      timestamp: t.clock.now().getTime(),
    });

  /** A top-level organization whose primary owner is signed in on the logging app. */
  async function seed(name: string, email: string): Promise<{ orgId: string; owner: Agent }> {
    const { organization, setupLink } = await createOrganization(t.system, { name, ownerEmail: email });
    const agent = new Agent(app, email);
    const res = await agent.post('/api/v1/auth/setup-password', {
      token: new URL(setupLink!.url).hash.replace('#token=', ''),
      password: TEST_PASSWORD,
    });
    assert.equal(res.status, 200, res.raw.body);
    return { orgId: organization.id, owner: agent };
  }
  async function oidcStart(agent: Agent, connectionId: string, login: string): Promise<string> {
    const start = await agent.get(`/sso/${connectionId}/start`);
    assert.equal(start.status, 302, start.raw.body);
    return (await driveOidcLogin(String(start.headers.location), login, PUBLIC)).slice(PUBLIC.length);
  }
  const oidcLogin = async (agent: Agent, connectionId: string, login: string) =>
    agent.get(await oidcStart(agent, connectionId, login));
  async function samlStart(agent: Agent, conn: { id: string }, md: string): Promise<string> {
    const res = await agent.get(`/sso/${conn.id}/start`);
    assert.equal(res.status, 302, res.raw.body);
    return new TestIdp(idpKey).requestIdFrom(String(res.headers.location), md);
  }
  const samlResponse = (
    conn: { saml: { acsUrl: string; spEntityId: string } },
    md: string,
    email: string,
    inResponseTo: string | null,
  ) =>
    new TestIdp(idpKey, true).response(md, {
      nameId: email,
      attributes: { email: [email] },
      destination: conn.saml.acsUrl,
      recipient: conn.saml.acsUrl,
      audience: conn.saml.spEntityId,
      inResponseTo,
    });
  const acs = (agent: Agent, connectionId: string, response: string) =>
    agent.request('POST', `/sso/saml/${connectionId}/acs`, `SAMLResponse=${encodeURIComponent(response)}`, {
      'content-type': 'application/x-www-form-urlencoded',
    });
  async function auditByReference(agent: Agent, org: string, reference: string) {
    const res = await agent.get(`/api/v1/orgs/${org}/audit-events?target=${reference}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.data.length, 1, `one audit event names ${reference}`);
    return res.body.data[0] as { action: string; metadata: Record<string, unknown> };
  }
  /** A refused sign-in: a page (never a bare 500) with the stable code and a reference to the audit event. */
  async function refused(
    res: Awaited<ReturnType<Agent['get']>>,
    status: number,
    codeName: string,
    org: string,
    agent: Agent,
  ) {
    assert.equal(res.headers['x-sso-error'], codeName, res.raw.body);
    assert.equal(res.status, status);
    assert.match(String(res.headers['content-type']), /text\/html/);
    const reference = String(res.headers['x-sso-reference']);
    assert.ok(res.raw.body.includes(reference));
    const event = await auditByReference(agent, org, reference);
    assert.equal(event.action, 'sso.login_failed');
    assert.equal(event.metadata.code, codeName);
    return { event, page: res.raw.body };
  }

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    cfg = { ...t.config, logLevel: 'trace' };
    app = await buildApp({
      database: t.db.database,
      config: cfg,
      clock: t.clock,
      logStream: new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) }),
    });
    peer = await startOidcPeer(`${PUBLIC}/sso/oidc/callback`, accounts);
    idpKey = makeKeyPair('idp-secrets');
    ({ orgId, owner } = await seed('Acme', 'owner@acme.example'));
  });
  after(async () => {
    await app.close();
    await t.close();
    await peer.close();
  });

  test('OIDC: the client secret is sealed with the organization data key, and is what sign-in uses', async () => {
    const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Okta',
      oidc: { issuer: peer.issuer, clientId: peer.clientId, clientSecret: peer.clientSecret },
    });
    assert.equal(res.status, 201, res.raw.body);
    assert.ok(!res.raw.body.includes(peer.clientSecret));
    assert.equal(res.body.oidc.clientSecretSet, true);
    oidcId = res.body.id;
    const row = await rawConn(oidcId);
    assertSealed(row.oidc_client_secret_ct, peer.clientSecret, 'oidc_client_secret_ct');
    assert.ok(!JSON.stringify(row).includes(peer.clientSecret), 'no column of the row holds it');
    const key = await db()
      .selectFrom('org_data_keys')
      .select('version')
      .where('org_id', '=', orgId)
      .where('status', '=', 'active')
      .executeTakeFirstOrThrow();
    assert.equal(
      Number(row.oidc_client_secret_key_version),
      Number(key.version),
      'sealed with the organization current data key',
    );
    assert.equal(await oidcClientSecret(db(), cfg, row), peer.clientSecret);

    const agent = new Agent(app, 'alice');
    assert.equal((await oidcLogin(agent, oidcId, 'alice')).status, 303);
    assert.equal((await agent.get('/api/v1/auth/session')).body.user.email, 'alice@acme.example');

    // A wrong secret, sealed the same way, makes the IdP refuse the code exchange: the sealed value is the one sent.
    const wrong = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${oidcId}`, {
      oidc: { clientSecret: 'not-the-registered-secret' },
    });
    assert.equal(wrong.status, 200, wrong.raw.body);
    const failed = await oidcLogin(new Agent(app, 'alice'), oidcId, 'alice');
    assert.equal(failed.status, 403, failed.raw.body);
    assert.match(String(failed.headers['x-sso-error']), /^oidc_/);
    const rotated = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${oidcId}`, {
      oidc: { clientSecret: peer.clientSecret },
    });
    assert.equal(rotated.status, 200);
    assert.ok(!rotated.raw.body.includes(peer.clientSecret));
    const after = await rawConn(oidcId);
    assertSealed(after.oidc_client_secret_ct, peer.clientSecret, 'rotated secret');
    assert.notEqual(after.oidc_client_secret_ct, row.oidc_client_secret_ct, 'a fresh IV each time it is sealed');
    assert.equal((await oidcLogin(new Agent(app, 'alice'), oidcId, 'alice')).status, 303);

    const events = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=sso.connection_*`);
    assert.ok(
      events.body.data.some((e: { metadata: { fields?: string[] } }) =>
        e.metadata.fields?.includes('oidc_client_secret (rotated)'),
      ),
    );
    assert.ok(
      !events.raw.body.includes(peer.clientSecret) && !events.raw.body.includes('not-the-registered-secret'),
      'audit metadata names the field, never the value',
    );
    const list = await owner.get(`/api/v1/orgs/${orgId}/sso/connections`);
    assert.ok(
      !list.raw.body.includes(peer.clientSecret) && !list.raw.body.includes(after.oidc_client_secret_ct!),
      'neither the secret nor its ciphertext is returned',
    );
  });

  test('SAML: the SP private key is sealed; encrypted assertions still decrypt end to end', async () => {
    const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Entra',
      saml: { metadataXml: idpMetadata([idpKey.cert]) },
    });
    assert.equal(res.status, 201, res.raw.body);
    samlConn = res.body;
    assert.ok(!res.raw.body.includes('PRIVATE KEY'));
    const row = await rawConn(samlConn.id);
    spPem = (await spPrivateKey(db(), cfg, row)) ?? '';
    assert.match(spPem, /^-----BEGIN PRIVATE KEY-----\n/);
    const body = spPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    assert.ok(row.sp_private_key_key_version !== null);
    assertSealed(row.sp_private_key_ct, 'PRIVATE KEY', 'sp_private_key_ct');
    for (let i = 0; i + 40 <= body.length; i += 200)
      assert.ok(!JSON.stringify(row).includes(body.slice(i, i + 40)), 'no part of the key body is stored in clear');

    const md = await new Agent(app, 'x').get(`/sso/saml/${samlConn.id}/metadata`);
    assert.equal(md.status, 200);
    spMetadata = md.raw.body;
    assert.match(spMetadata, /use="encryption"/, 'the certificate is still offered for encryption');
    assert.ok(!spMetadata.includes(body.slice(0, 40)));

    const agent = new Agent(app, 'dana');
    const { samlResponse: encrypted } = await samlResponse(
      samlConn,
      spMetadata,
      'dana@acme.example',
      await samlStart(agent, samlConn, spMetadata),
    );
    assert.ok(Buffer.from(encrypted, 'base64').toString().includes('EncryptedAssertion'));
    const done = await acs(agent, samlConn.id, encrypted);
    assert.equal(done.status, 303, done.raw.body);
    assert.equal((await agent.get('/api/v1/auth/session')).body.user.email, 'dana@acme.example');
    const read = await owner.get(`/api/v1/orgs/${orgId}/sso/connections/${samlConn.id}`);
    assert.ok(!read.raw.body.includes('PRIVATE KEY') && !read.raw.body.includes(row.sp_private_key_ct!));
  });

  test('TOTP: the secret is sealed with the installation key-encryption key; break-glass works', async () => {
    const start = await owner.post('/api/v1/me/totp');
    assert.equal(start.status, 201);
    totpSecret = start.body.secret;
    const row = await rawTotp('owner@acme.example');
    assertSealed(row.secret_ct, totpSecret, 'user_totp.secret_ct');
    assert.equal(row.kek_id, 'local:1');
    assert.equal(await openTotpSecret(cfg, row), totpSecret);
    assert.equal((await owner.post('/api/v1/me/totp/confirm', { code: code(totpSecret) })).status, 200);
    const status = await owner.get('/api/v1/me/totp');
    assert.ok(!status.raw.body.includes(totpSecret));
    t.clock.advance(60_000);
    const bg = await new Agent(app, 'owner').post('/api/v1/auth/break-glass', {
      email: 'owner@acme.example',
      password: TEST_PASSWORD,
      code: code(totpSecret),
    });
    assert.equal(bg.status, 200, bg.raw.body);
  });

  test('attack: tampered OIDC client secret ciphertext fails closed (modified, moved from another column, relabelled, unsealed)', async () => {
    const good = await rawConn(oidcId);
    const saml = await rawConn(samlConn.id);
    const setSecret = (ct: string | null, v: number | null) =>
      db()
        .updateTable('sso_connections')
        .set({ oidc_client_secret_ct: ct, oidc_client_secret_key_version: v })
        .where('id', '=', oidcId)
        .execute();
    const expectIntegrity = async () => {
      const res = await new Agent(app, 'alice').get(`/sso/${oidcId}/start`);
      const { event, page } = await refused(res, 500, 'sso_secret_integrity_failed', orgId, owner);
      assert.match(page, /failed an integrity check/);
      assert.ok(!JSON.stringify(event).includes(peer.clientSecret));
    };
    await setSecret(flip(good.oidc_client_secret_ct!), good.oidc_client_secret_key_version);
    await expectIntegrity();
    // The SP key's ciphertext is valid under the same organization key, but bound to its own column and connection.
    await setSecret(saml.sp_private_key_ct, saml.sp_private_key_key_version);
    await expectIntegrity();
    const rotated = await owner.post(`/api/v1/orgs/${orgId}/encryption/rotate`);
    assert.equal(rotated.status, 200, rotated.raw.body);
    await setSecret(good.oidc_client_secret_ct, Number(good.oidc_client_secret_key_version) + 1);
    await expectIntegrity();
    // A value that was never sealed is not taken as plaintext.
    await setSecret(peer.clientSecret, null);
    await expectIntegrity();

    // A callback whose sign-in started before the tampering is refused too.
    await setSecret(good.oidc_client_secret_ct, good.oidc_client_secret_key_version);
    const agent = new Agent(app, 'alice');
    const callback = await oidcStart(agent, oidcId, 'alice');
    await setSecret(flip(good.oidc_client_secret_ct!), good.oidc_client_secret_key_version);
    await refused(await agent.get(callback), 500, 'sso_secret_integrity_failed', orgId, owner);
    assert.equal(agent.cookie, undefined, 'no session');
    await setSecret(good.oidc_client_secret_ct, good.oidc_client_secret_key_version);
    assert.equal(
      (await oidcLogin(new Agent(app, 'alice'), oidcId, 'alice')).status,
      303,
      'restored, it works again (older key versions stay readable)',
    );
  });

  test('attack: tampered SAML SP key ciphertext fails closed, at start and at the ACS', async () => {
    const good = await rawConn(samlConn.id);
    const agent = new Agent(app, 'dana');
    const requestId = await samlStart(agent, samlConn, spMetadata);
    const { samlResponse: encrypted } = await samlResponse(samlConn, spMetadata, 'dana@acme.example', requestId);
    await db()
      .updateTable('sso_connections')
      .set({ sp_private_key_ct: flip(good.sp_private_key_ct!) })
      .where('id', '=', samlConn.id)
      .execute();
    const { event } = await refused(
      await acs(agent, samlConn.id, encrypted),
      500,
      'sso_secret_integrity_failed',
      orgId,
      owner,
    );
    assert.ok(!JSON.stringify(event).includes('PRIVATE KEY'));
    await refused(
      await new Agent(app, 'dana').get(`/sso/${samlConn.id}/start`),
      500,
      'sso_secret_integrity_failed',
      orgId,
      owner,
    );
    const sim = await owner.post(`/api/v1/orgs/${orgId}/sso/connections/${samlConn.id}/simulate`, {
      samlResponse: encrypted,
    });
    assert.equal(sim.status, 200);
    assert.deepEqual(
      [sim.body.wouldSucceed, sim.body.failure.code],
      [false, 'sso_secret_integrity_failed'],
      'the simulator reports it too',
    );
    assert.equal(
      (await new Agent(app, 'x').get(`/sso/saml/${samlConn.id}/metadata`)).status,
      200,
      'the public metadata never opens the key',
    );
    await db()
      .updateTable('sso_connections')
      .set({ sp_private_key_ct: good.sp_private_key_ct })
      .where('id', '=', samlConn.id)
      .execute();
    const again = new Agent(app, 'dana');
    const ok = await samlResponse(
      samlConn,
      spMetadata,
      'dana@acme.example',
      await samlStart(again, samlConn, spMetadata),
    );
    assert.equal((await acs(again, samlConn.id, ok.samlResponse)).status, 303);
  });

  test('attack: a tampered or transplanted TOTP ciphertext fails closed; enforcement no longer counts it as break-glass', async () => {
    const good = await rawTotp('owner@acme.example');
    const attacker = await seed('Evil', 'mallory@evil.example');
    const enrolled = await attacker.owner.post('/api/v1/me/totp');
    const mallory = await rawTotp('mallory@evil.example');
    const setOwner = (ct: string, kek: string | null) =>
      db().updateTable('user_totp').set({ secret_ct: ct, kek_id: kek }).where('user_id', '=', good.user_id).execute();
    const breakGlass = (c: string) =>
      new Agent(app, 'bg').post('/api/v1/auth/break-glass', {
        email: 'owner@acme.example',
        password: TEST_PASSWORD,
        code: c,
      });
    const readiness = async () =>
      (await owner.request('PUT', `/api/v1/orgs/${orgId}/sso/enforcement`, { connectionId: oidcId })).body.error.details
        .missing as string[];

    for (const [ct, kek, c] of [
      [flip(good.secret_ct), good.kek_id, () => code(totpSecret)],
      // Mallory's own sealed secret on the owner's row: she knows the codes, but it is bound to her user id.
      [mallory.secret_ct, mallory.kek_id, () => code(enrolled.body.secret)],
      [totpSecret, null, () => code(totpSecret)],
    ] as const) {
      await setOwner(ct, kek);
      t.clock.advance(60_000);
      const res = await breakGlass(c());
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'break_glass_refused');
      assert.ok(
        (await readiness()).some((m) => /break-glass/.test(m)),
        'an unreadable second factor is not a working break-glass',
      );
    }
    const failures = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=auth.break_glass_failed`);
    assert.equal(
      failures.body.data.filter((e: { metadata: { reason: string } }) => e.metadata.reason === 'totp_secret_unreadable')
        .length,
      3,
    );
    assert.ok(!failures.raw.body.includes(totpSecret));

    await setOwner(good.secret_ct, good.kek_id);
    assert.ok(!(await readiness()).some((m) => /break-glass/.test(m)));
    t.clock.advance(60_000);
    assert.equal((await breakGlass(code(totpSecret))).status, 200);
  });

  test('a crypto-shredded organization: sign-in through its connections fails with sso_secret_shredded, never a 500; break-glass still works', async () => {
    const shredco = await seed('Shredco', 'owner@shred.example');
    const o = await shredco.owner.post(`/api/v1/orgs/${shredco.orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Okta',
      oidc: { issuer: peer.issuer, clientId: peer.clientId, clientSecret: peer.clientSecret },
    });
    const s = await shredco.owner.post(`/api/v1/orgs/${shredco.orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Entra',
      saml: { metadataXml: idpMetadata([idpKey.cert]) },
    });
    assert.deepEqual([o.status, s.status], [201, 201]);
    const md = (await new Agent(app, 'x').get(`/sso/saml/${s.body.id}/metadata`)).raw.body;
    const enroll = await shredco.owner.post('/api/v1/me/totp');
    assert.equal((await shredco.owner.post('/api/v1/me/totp/confirm', { code: code(enroll.body.secret) })).status, 200);

    // Sign-ins started before the shred, finished after it.
    const oidcAgent = new Agent(app, 'sam');
    const callback = await oidcStart(oidcAgent, o.body.id, 'sam');
    const samlAgent = new Agent(app, 'sam');
    const pending = await samlResponse(s.body, md, 'sam@shred.example', await samlStart(samlAgent, s.body, md));

    const shred = await shredco.owner.post(`/api/v1/orgs/${shredco.orgId}/encryption/shred`, {
      confirm: shredco.orgId,
    });
    assert.equal(shred.status, 200, shred.raw.body);

    const oidcDone = await refused(
      await oidcAgent.get(callback),
      409,
      'sso_secret_shredded',
      shredco.orgId,
      shredco.owner,
    );
    assert.match(oidcDone.page, /destroyed together with this organization&#39;s encryption keys/);
    assert.match(String(oidcDone.event.metadata.detail), /enter the client secret again/);
    const samlDone = await refused(
      await acs(samlAgent, s.body.id, pending.samlResponse),
      409,
      'sso_secret_shredded',
      shredco.orgId,
      shredco.owner,
    );
    assert.match(String(samlDone.event.metadata.detail), /create the connection again/);
    await refused(
      await new Agent(app, 'sam').get(`/sso/${o.body.id}/start`),
      409,
      'sso_secret_shredded',
      shredco.orgId,
      shredco.owner,
    );
    await refused(
      await new Agent(app, 'sam').get(`/sso/${s.body.id}/start`),
      409,
      'sso_secret_shredded',
      shredco.orgId,
      shredco.owner,
    );
    assert.equal(oidcAgent.cookie ?? samlAgent.cookie, undefined, 'nobody was signed in');
    assert.equal((await new Agent(app, 'x').get(`/sso/saml/${s.body.id}/metadata`)).status, 200);

    // The owner's second factor belongs to no organization: shredding one does not lock its owner out.
    t.clock.advance(60_000);
    const bg = await new Agent(app, 'bg').post('/api/v1/auth/break-glass', {
      email: 'owner@shred.example',
      password: TEST_PASSWORD,
      code: code(enroll.body.secret),
    });
    assert.equal(bg.status, 200, bg.raw.body);

    // The remedy the message names: enter the client secret again (sealed with a fresh data key).
    const fixed = await shredco.owner.patch(`/api/v1/orgs/${shredco.orgId}/sso/connections/${o.body.id}`, {
      oidc: { clientSecret: peer.clientSecret },
    });
    assert.equal(fixed.status, 200, fixed.raw.body);
    const agent = new Agent(app, 'sam');
    assert.equal((await oidcLogin(agent, o.body.id, 'sam')).status, 303);
    assert.equal((await agent.get('/api/v1/auth/session')).body.user.email, 'sam@shred.example');
  });

  test('master key rotation: the sso.rewrap_totp_secrets job moves TOTP secrets to the new KEK; the old one can then go', async () => {
    const oldKey = cfg.masterKey;
    const newKey = randomBytes(32).toString('base64');
    await replaceKeyProvider(cfg, new LocalKeyring(`k2:${newKey},1:${oldKey}`, 'PALISADE_MASTER_KEY'));
    const scheduler = createScheduler({ db: db(), clock: t.clock, config: cfg }, [rewrapJob(), totpRewrapJob()]);
    const first = await scheduler.runNow('sso.rewrap_totp_secrets');
    assert.equal(first.status, 'succeeded', first.error);
    assert.ok(Number(first.summary?.rewrapped) >= 3, JSON.stringify(first.summary));
    assert.deepEqual([first.summary?.failed, first.summary?.remaining], [0, 0]);
    assert.equal((await scheduler.runNow('sso.rewrap_totp_secrets')).summary?.rewrapped, 0, 'idempotent');
    assert.equal((await scheduler.runNow('crypto.rewrap_data_keys')).status, 'succeeded');
    const row = await rawTotp('owner@acme.example');
    assert.equal(row.kek_id, 'local:k2');
    assertSealed(row.secret_ct, totpSecret, 're-wrapped secret');

    await replaceKeyProvider(cfg, new LocalKeyring(`k2:${newKey}`, 'PALISADE_MASTER_KEY'));
    t.clock.advance(60_000);
    assert.equal(
      (
        await new Agent(app, 'bg').post('/api/v1/auth/break-glass', {
          email: 'owner@acme.example',
          password: TEST_PASSWORD,
          code: code(totpSecret),
        })
      ).status,
      200,
    );
    assert.equal(
      (await oidcLogin(new Agent(app, 'alice'), oidcId, 'alice')).status,
      303,
      'connection secrets follow through their data keys',
    );
  });

  test('no SSO secret reaches a log line, even at trace level', () => {
    const all = lines.join('\n');
    assert.ok(lines.length > 50, 'requests were logged');
    assert.ok(all.includes('/sso/oidc/callback'));
    const body = spPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    for (const secret of [
      peer.clientSecret,
      'not-the-registered-secret',
      totpSecret,
      'PRIVATE KEY',
      body.slice(0, 40),
      body.slice(-60, -20),
    ]) {
      assert.ok(!all.includes(secret), `a log line contains ${secret.slice(0, 8)}…`);
    }
  });
});
