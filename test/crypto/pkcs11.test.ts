import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Pkcs11Kek } from '../../src/crypto/pkcs11.js';
import { KeyProviderError } from '../../src/crypto/kek.js';
import { openFor, rewrapDataKeys, sealFor } from '../../src/crypto/data-keys.js';
import { closeKeyProvider, replaceKeyProvider } from '../../src/crypto/provider.js';
import { createTestApp, type TestApp } from '../helpers/harness.js';
import { SOFTHSM_MODULE, type SoftHsm, createSoftHsm } from '../helpers/softhsm.js';

// A real SoftHSM2 token (Debian softhsm2) holding non-extractable AES-256 keys.
describe('PKCS#11 HSM key-encryption key (SoftHSM2)', () => {
  let hsm: SoftHsm;
  let t: TestApp;
  before(async () => {
    hsm = createSoftHsm(['kek-2025', 'kek-2026']);
    process.env.SOFTHSM2_CONF = hsm.conf;
    t = await createTestApp({
      kekProvider: 'pkcs11',
      pkcs11Module: SOFTHSM_MODULE,
      pkcs11TokenLabel: hsm.tokenLabel,
      pkcs11Pin: hsm.pin,
      pkcs11KeyLabel: 'kek-2025',
    });
  });
  after(async () => {
    await closeKeyProvider(t.config);
    await t.close();
    hsm.cleanup();
  });

  test('a wrong PIN or an unknown key label stops start-up with the variable named', async () => {
    // The running provider owns the library; a second one would re-initialise it, so check the errors on a fresh one after closing.
    await closeKeyProvider(t.config);
    assert.throws(
      () => new Pkcs11Kek({ module: SOFTHSM_MODULE, tokenLabel: hsm.tokenLabel, pin: '9999', keyLabels: ['kek-2025'] }),
      (e: unknown) => e instanceof KeyProviderError && e.variable === 'PALISADE_PKCS11_PIN',
    );
    assert.throws(
      () => new Pkcs11Kek({ module: SOFTHSM_MODULE, tokenLabel: hsm.tokenLabel, pin: hsm.pin, keyLabels: ['nope'] }),
      (e: unknown) => e instanceof KeyProviderError && e.variable === 'PALISADE_PKCS11_KEY_LABEL',
    );
    assert.throws(
      () => new Pkcs11Kek({ module: SOFTHSM_MODULE, tokenLabel: 'missing', pin: hsm.pin, keyLabels: ['kek-2025'] }),
      (e: unknown) => e instanceof KeyProviderError && e.variable === 'PALISADE_PKCS11_TOKEN_LABEL',
    );
  });

  test('records are sealed under HSM-wrapped data keys; concurrent use is serialized; HSM key rotation re-wraps', async () => {
    const hsmKek = new Pkcs11Kek({
      module: SOFTHSM_MODULE,
      tokenLabel: hsm.tokenLabel,
      pin: hsm.pin,
      keyLabels: ['kek-2025'],
    });
    await replaceKeyProvider(t.config, hsmKek);
    const dk = randomBytes(32);
    const w = await hsmKek.wrap(dk, Buffer.from('aad'));
    assert.equal(w.kekId, 'pkcs11:kek-2025');
    assert.deepEqual(await hsmKek.unwrap(w.kekId, w.wrapped, Buffer.from('aad')), dk);
    await assert.rejects(hsmKek.unwrap(w.kekId, w.wrapped, Buffer.from('other')));
    // Many concurrent calls through one session: all succeed, none crash the token.
    const many = await Promise.all(
      Array.from({ length: 40 }, (_, i) => hsmKek.wrap(Buffer.alloc(32, i), Buffer.from(`a${i}`))),
    );
    const back = await Promise.all(many.map((m, i) => hsmKek.unwrap(m.kekId, m.wrapped, Buffer.from(`a${i}`))));
    back.forEach((b, i) => assert.deepEqual(b, Buffer.alloc(32, i)));

    const { orgId } = await t.seedOrg('HSM Org', 'owner@hsm.example');
    const ref = { orgId, table: 'workspace_messages', recordId: 'msg_1' };
    const sealed = await sealFor(t.db.database.db, t.config, t.clock.now(), ref, 'customer-managed secret');
    const row = await t.db.database.db
      .selectFrom('org_data_keys')
      .selectAll()
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    assert.equal(row.kek_id, 'pkcs11:kek-2025');

    // Rotate the HSM key: kek-2026 becomes current, kek-2025 stays to unwrap until the re-wrap job ran.
    // One PKCS#11 library initialisation per process: the old provider is closed before the new one opens.
    await closeKeyProvider(t.config);
    await replaceKeyProvider(
      t.config,
      new Pkcs11Kek({
        module: SOFTHSM_MODULE,
        tokenLabel: hsm.tokenLabel,
        pin: hsm.pin,
        keyLabels: ['kek-2026', 'kek-2025'],
      }),
    );
    const r = await rewrapDataKeys(t.db.database.db, t.config, t.clock.now());
    assert.ok(r.rewrapped >= 1);
    assert.equal(r.remaining, 0);
    await closeKeyProvider(t.config);
    await replaceKeyProvider(
      t.config,
      new Pkcs11Kek({ module: SOFTHSM_MODULE, tokenLabel: hsm.tokenLabel, pin: hsm.pin, keyLabels: ['kek-2026'] }),
    );
    const opened = await openFor(t.db.database.db, t.config, ref, sealed.ct, sealed.keyVersion);
    assert.ok(opened.ok);
    assert.equal(opened.data.toString(), 'customer-managed secret');
  });
});
