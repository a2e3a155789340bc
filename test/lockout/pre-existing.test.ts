import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { PUBLIC, type Person, SamlOrg, emails } from './saml-org.js';

/**
 * Issue 24, case 6: one failing replay must not block every later change. A person whose last
 * sign-in already fails for a reason of its own (here: their group's rule was removed, and the
 * admin acknowledged it) is reported as pre-existing and blocks nothing; a later change is refused
 * only for what it takes away itself.
 */
describe('lockout guard: a pre-existing failure does not block unrelated changes', () => {
  let t: TestApp;
  let org: SamlOrg;
  const people: Person[] = [
    { email: 'alice@acme.example', groups: ['acme-admins'] },
    { email: 'bob@acme.example', groups: ['acme-admins'] },
    { email: 'carol@acme.example', groups: ['acme-staff'] },
    { email: 'dan@acme.example', groups: ['acme-staff'] },
    { email: 'erin@acme.example', groups: ['acme-staff'] },
  ];
  const frank: Person = { email: 'frank@acme.example', groups: ['acme-contractors'] };
  const rules = [
    { group: 'acme-admins', role: 'admin' },
    { group: 'acme-staff', role: 'member' },
  ];
  const patch = (body: Record<string, unknown>) =>
    org.owner.patch(`/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}`, body);

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    org = await SamlOrg.create(t, 'Acme', 'owner@acme.example', {
      mapping: {
        requiredPrefix: 'acme-',
        defaultRole: null,
        rules: [...rules, { group: 'acme-contractors', role: 'member' }],
      },
    });
    for (const p of [...people, frank]) await org.signedIn(p);
    await org.enforce({ email: 'owner@acme.example', groups: ['acme-admins'] });
    // The contractors' rule goes: Frank's access goes with it, knowingly.
    const removed = await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/role-mapping`, {
      requiredPrefix: 'acme-',
      defaultRole: null,
      rules,
    });
    assert.equal(removed.status, 409);
    assert.deepEqual(emails(removed.body.error.details.warnings), ['frank@acme.example']);
    assert.equal(
      (
        await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/role-mapping`, {
          requiredPrefix: 'acme-',
          defaultRole: null,
          rules,
          acknowledgeWarnings: true,
        })
      ).status,
      200,
    );
  });
  after(() => t.close());

  test('an unrelated change applies without acknowledgement; the failing sign-in is shown as pre-existing', async () => {
    const renamed = await patch({ name: 'Okta (production)' });
    assert.equal(renamed.status, 200, renamed.raw.body);
    assert.deepEqual(renamed.body.warnings, []);
    assert.deepEqual(
      renamed.body.preExisting.map((p: { email: string; code: string }) => [p.email, p.code]),
      [['frank@acme.example', 'sso_no_role']],
    );
    assert.match(
      renamed.body.preExisting[0].explanation,
      /^Already before this change, their last sign-in through "Acme IdP" \(.+\) would be refused: None of the groups sent for frank@acme\.example grants a role/,
    );
    for (const body of [{ idpInitiated: true }, { claims: { firstName: 'givenName' } }, { jitEnabled: false }]) {
      const res = await patch(body);
      assert.equal(res.status, 200, `${JSON.stringify(body)}: ${res.raw.body}`);
      assert.equal(res.body.preExisting.length, 1);
    }
    const mapping = await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/role-mapping`, {
      requiredPrefix: 'acme-',
      defaultRole: null,
      rules: [...rules, { group: 'acme-auditors', role: 'member' }],
    });
    assert.equal(mapping.status, 200, mapping.raw.body);
    assert.deepEqual(emails(mapping.body.preExisting), ['frank@acme.example']);
  });

  test('a harmful change is refused for the people it affects only; the pre-existing failure is listed apart', async () => {
    const res = await patch({ claims: { groups: 'memberOf' } });
    assert.equal(res.status, 409);
    const d = res.body.error.details;
    assert.deepEqual(emails(d.warnings), emails(people));
    assert.deepEqual(emails(d.preExisting), ['frank@acme.example']);
    assert.match(res.body.error.message, /away from 5 people/);
    assert.equal(
      (await org.owner.get(`/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}`)).body.claims.groups,
      'groups',
      'nothing changed',
    );
  });

  test('a change that repairs the failing sign-in without taking anything away applies, and the person gets back in', async () => {
    const res = await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/role-mapping`, {
      requiredPrefix: 'acme-',
      defaultRole: null,
      rules: [...rules, { group: 'acme-contractors', role: 'member' }],
    });
    assert.equal(res.status, 200, res.raw.body);
    assert.deepEqual([res.body.warnings, res.body.preExisting], [[], []]);
    await org.signedIn(frank);
  });
});

describe('lockout guard: where SSO is not enforced', () => {
  let t: TestApp;
  let org: SamlOrg;
  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    org = await SamlOrg.create(t, 'Initech', 'owner@initech.example', {
      mapping: { requiredPrefix: null, defaultRole: 'member', rules: [{ group: 'admins', role: 'admin' }] },
    });
    // Peter was invited and set a password before the connection existed; Milton came in through JIT and has none.
    await t.addMember(org.owner, org.orgId, 'peter@initech.example', 'member');
    await org.signedIn({ email: 'peter@initech.example', groups: ['staff'] });
    await org.signedIn({ email: 'milton@initech.example', groups: ['staff'] });
  });
  after(() => t.close());

  test('someone who keeps another way in (a password) is degraded, not blocking; someone with SSO only blocks', async () => {
    const res = await org.owner.patch(`/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}`, {
      status: 'disabled',
    });
    assert.equal(res.status, 409);
    const d = res.body.error.details;
    assert.deepEqual(emails(d.warnings), ['milton@initech.example']);
    assert.deepEqual(emails(d.degraded), ['peter@initech.example']);
    assert.match(d.degraded[0].explanation, /they can still sign in with their password/);
    const del = await org.owner.delete(`/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}`);
    assert.equal(del.status, 409, 'deleting the connection is guarded alike');
    assert.deepEqual(emails(del.body.error.details.warnings), ['milton@initech.example']);
    const forced = await org.owner.delete(
      `/api/v1/orgs/${org.orgId}/sso/connections/${org.conn.id}?acknowledgeWarnings=true`,
    );
    assert.equal(forced.status, 204);
    const [ack] = await org.events('lockout_warning.acknowledged');
    assert.equal(ack.metadata.change, 'sso_connection_deleted');
  });
});
