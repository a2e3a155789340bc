import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loginMethodsForOrg } from '../../src/domains/capture.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';

/** Domains (discovery) meets SSO (connections): the login page learns where to send a person. */
describe('login methods offered by discovery', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('password only, then SSO first once a connection exists; a disabled connection is not offered', async () => {
    const { orgId, owner } = await t.seedOrg('Methods', 'owner@methods.example');
    assert.deepEqual(await loginMethodsForOrg(t.system.db, orgId), [{ type: 'password' }]);
    const conn = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Okta',
      oidc: { issuer: 'https://idp.methods.example', clientId: 'c', clientSecret: 's' },
    });
    assert.equal(conn.status, 201, JSON.stringify(conn.body));
    const methods = await loginMethodsForOrg(t.system.db, orgId);
    assert.deepEqual(
      methods.map((m) => m.type),
      ['sso', 'password'],
    );
    assert.equal(methods[0]?.startUrl, `/sso/${conn.body.id}/start`);
    assert.equal(methods[0]?.name, 'Okta');
    await t.system.db
      .updateTable('sso_connections')
      .set({ status: 'disabled' })
      .where('id', '=', conn.body.id)
      .execute();
    assert.deepEqual(await loginMethodsForOrg(t.system.db, orgId), [{ type: 'password' }]);
  });

  test('with SSO enforced the password is no longer advertised', async () => {
    const { orgId, owner } = await t.seedOrg('Enforced', 'owner@enforced.example');
    const conn = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Entra',
      oidc: { issuer: 'https://idp.enforced.example', clientId: 'c', clientSecret: 's' },
    });
    await t.system.db
      .insertInto('sso_enforcement')
      .values({
        org_id: orgId,
        connection_id: conn.body.id,
        enforced_at: t.clock.now().toISOString(),
        enforced_by: null,
      })
      .execute();
    const methods = await loginMethodsForOrg(t.system.db, orgId);
    assert.deepEqual(
      methods.map((m) => m.type),
      ['sso'],
    );
  });

  test("another organization's connections are never offered", async () => {
    const a = await t.seedOrg('OrgA', 'owner@orga.example');
    const b = await t.seedOrg('OrgB', 'owner@orgb.example');
    await a.owner.post(`/api/v1/orgs/${a.orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'A IdP',
      oidc: { issuer: 'https://idp.a.example', clientId: 'c', clientSecret: 's' },
    });
    assert.deepEqual(await loginMethodsForOrg(t.system.db, b.orgId), [{ type: 'password' }]);
  });
});
