import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type SignedCheckpoint, checkpointSignatureProblem, rotateSigningKey } from '../../src/audit/checkpoints.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';

describe('the checkpoint signing key at rest', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  const keys = () => t.db.database.db.selectFrom('audit_signing_keys').selectAll().orderBy('created_at').execute();
  const wellKnown = async () => (await t.anonymous().get('/.well-known/palisade-audit-keys.json')).body.keys;

  test('is sealed with the master key, never stored as a PEM, and still signs verifiable checkpoints', async () => {
    const { orgId, owner } = await t.seedOrg('Sealed Key', 'owner@sealed-key.example');
    const res = await owner.post(`/api/v1/orgs/${orgId}/audit-checkpoints`);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const [row] = await keys();
    assert.ok(row);
    assert.match(row.private_pkcs8, /^kek:v1:/);
    assert.doesNotMatch(row.private_pkcs8, /PRIVATE KEY/);
    assert.equal(checkpointSignatureProblem(res.body as SignedCheckpoint, await wellKnown()), undefined);
  });

  test('a key stored in clear by an older version is used once and sealed in place', async () => {
    const { orgId, owner } = await t.seedOrg('Legacy Key', 'owner@legacy-key.example');
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const at = t.clock.now().toISOString();
    await t.db.database.db
      .updateTable('audit_signing_keys')
      .set({ status: 'retired', retired_at: at })
      .where('status', '=', 'active')
      .execute();
    await t.db.database.db
      .insertInto('audit_signing_keys')
      .values({
        kid: 'ack_legacy',
        public_jwk: JSON.stringify(publicKey.export({ format: 'jwk' })),
        private_pkcs8: pem,
        status: 'active',
        created_at: '9999-01-01T00:00:00.000Z',
        retired_at: null,
      })
      .execute();
    const res = await owner.post(`/api/v1/orgs/${orgId}/audit-checkpoints`);
    assert.equal(res.status, 201);
    assert.equal(res.body.payload.kid, 'ack_legacy');
    assert.equal(checkpointSignatureProblem(res.body as SignedCheckpoint, await wellKnown()), undefined);
    const row = await t.db.database.db
      .selectFrom('audit_signing_keys')
      .selectAll()
      .where('kid', '=', 'ack_legacy')
      .executeTakeFirstOrThrow();
    assert.match(row.private_pkcs8, /^kek:v1:/);
    // The sealed form signs the same way.
    const again = await owner.post(`/api/v1/orgs/${orgId}/audit-checkpoints`);
    assert.equal(again.body.payload.kid, 'ack_legacy');
    assert.equal(checkpointSignatureProblem(again.body as SignedCheckpoint, await wellKnown()), undefined);
  });

  test('a tampered or transplanted sealed key fails closed with a code that says how to recover', async () => {
    const { orgId, owner } = await t.seedOrg('Tampered Key', 'owner@tampered-key.example');
    await rotateSigningKey({ db: t.db.database.db, clock: t.clock, config: t.config });
    const all = await keys();
    const active = all.find((k) => k.status === 'active')!;
    const other = all.find((k) => k.status === 'retired' && k.private_pkcs8.startsWith('kek:v1:'))!;
    // Another key's sealed bytes moved onto the active row: the associated data binds the key id.
    await t.db.database.db
      .updateTable('audit_signing_keys')
      .set({ private_pkcs8: other.private_pkcs8 })
      .where('kid', '=', active.kid)
      .execute();
    const moved = await owner.post(`/api/v1/orgs/${orgId}/audit-checkpoints`);
    assert.equal(moved.status, 500);
    assert.equal(moved.body.error.code, 'audit_signing_key_unreadable');
    assert.match(moved.body.error.message, /palisade audit rotate-key/);
    // One flipped byte of ciphertext.
    const cut = active.private_pkcs8.lastIndexOf(':');
    const bytes = Buffer.from(active.private_pkcs8.slice(cut + 1), 'base64');
    bytes[bytes.length - 1]! ^= 1;
    await t.db.database.db
      .updateTable('audit_signing_keys')
      .set({ private_pkcs8: `${active.private_pkcs8.slice(0, cut)}:${bytes.toString('base64')}` })
      .where('kid', '=', active.kid)
      .execute();
    assert.equal(
      (await owner.post(`/api/v1/orgs/${orgId}/audit-checkpoints`)).body.error.code,
      'audit_signing_key_unreadable',
    );
    // Recovery: rotate, and signing works again.
    await rotateSigningKey({ db: t.db.database.db, clock: t.clock, config: t.config });
    assert.equal((await owner.post(`/api/v1/orgs/${orgId}/audit-checkpoints`)).status, 201);
  });
});
