import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { PATCH_OP, type ScimClient, memberOf, newDirectory, user } from './helpers.js';

/**
 * A mapping change reaches SCIM-provisioned people only through apply-roles (or their next SCIM
 * update). The mapping PUT and the directory's role preview say so: how many members would change,
 * and the exact call that applies it. The count is the one apply-roles then changes.
 */
describe('SCIM role mapping changes: "N members would change; call apply-roles"', () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let scim: ScimClient;
  let directoryId: string;
  const dirPath = () => `/api/v1/orgs/${orgId}/scim/directories/${directoryId}`;
  const mapping = (engineering: 'admin' | 'member') => ({
    requiredPrefix: 'acme-',
    defaultRole: null,
    rules: [{ group: 'acme-engineering', role: engineering }],
  });

  before(async () => {
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    await t.addMember(owner, orgId, 'second@acme.example', 'primary_owner');
    // No rule yet: everyone provisioned joins as member, and the owners keep their role.
    assert.equal(
      (
        await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
          requiredPrefix: 'acme-',
          defaultRole: null,
          rules: [],
        })
      ).status,
      200,
    );
    ({ scim, directoryId } = await newDirectory(t, owner, orgId, 'Okta'));
    const ids: string[] = [];
    for (const email of [
      'ann@acme.example',
      'bob@acme.example',
      'cat@acme.example',
      'owner@acme.example',
      'second@acme.example',
    ])
      ids.push((await scim.post('/Users', user(email))).body.id);
    assert.equal(
      (await scim.post('/Groups', { displayName: 'acme-engineering', members: ids.map((value) => ({ value })) }))
        .status,
      201,
    );
    // Cat is deactivated: a suspended person is not counted and not changed.
    assert.equal(
      (
        await scim.patch(`/Users/${ids[2]}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'replace', path: 'active', value: false }],
        })
      ).status,
      200,
    );
  });
  after(() => t.close());

  test('saving a mapping answers how many members of each directory would change, and changes none of them', async () => {
    // The mapping would demote one of the two primary owners through SCIM: the lockout guard says so first.
    const guarded = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, mapping('admin'));
    assert.equal(guarded.status, 409);
    assert.equal(guarded.body.error.code, 'sso_change_would_lock_out');
    assert.deepEqual(
      guarded.body.error.details.warnings.map((w: { source: string; before: string; after: string }) => [
        w.source,
        w.before,
        w.after,
      ]),
      [['scim', 'primary_owner', 'admin']],
    );
    const put = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      ...mapping('admin'),
      acknowledgeWarnings: true,
    });
    assert.equal(put.status, 200);
    assert.equal(put.body.rules[0].role, 'admin', 'the mapping itself is returned as before');
    const [pending] = put.body.pendingRoleChanges;
    // ann and bob become admin; of the two owners one is demoted, the other is the last active primary owner.
    assert.equal(pending.directoryId, directoryId);
    assert.equal(pending.wouldChange, 3);
    assert.equal(pending.applyWith, `POST ${dirPath()}/apply-roles`);
    assert.match(
      pending.message,
      /^3 members of "Okta" would change role under the saved mapping\. Call POST \/api\/v1\/orgs\/\S+\/apply-roles to apply it now/,
    );
    assert.equal((await memberOf(owner, orgId, 'ann@acme.example'))?.role, 'member', 'nothing applied yet');
  });

  test('the role preview carries the same summary, per person decided as apply-roles decides', async () => {
    const res = await owner.post(`${dirPath()}/role-preview`, {});
    assert.equal(res.status, 200);
    assert.equal(res.body.summary.wouldChange, 3);
    assert.equal(res.body.summary.mapping, 'saved');
    assert.match(res.body.summary.message, /call POST .*\/apply-roles/i);
    const by = Object.fromEntries(res.body.users.map((u: { userName: string }) => [u.userName, u]));
    assert.deepEqual([by['ann@acme.example'].wouldGet, by['ann@acme.example'].changes], ['admin', true]);
    assert.deepEqual([by['cat@acme.example'].changes, by['cat@acme.example'].membershipStatus], [false, 'suspended']);
    const owners = ['owner@acme.example', 'second@acme.example'].map((e) => by[e]);
    assert.deepEqual(owners.map((o) => o.changes).sort(), [false, true], 'one owner demoted, the last active one kept');
    assert.ok(owners.some((o) => /last active primary owner/.test(o.note ?? '')));
  });

  test('a proposed mapping says to save it first', async () => {
    const res = await owner.post(`${dirPath()}/role-preview`, {
      mapping: { requiredPrefix: 'acme-', defaultRole: null, rules: [] },
    });
    assert.equal(res.body.summary.mapping, 'proposed');
    assert.equal(res.body.summary.wouldChange, 0, 'the proposal is what everyone has now');
    assert.match(res.body.summary.message, /^No member of "Okta" would change under the proposed mapping\.$/);
    const res2 = await owner.post(`${dirPath()}/role-preview`, {
      mapping: { requiredPrefix: 'acme-', defaultRole: 'member', rules: [] },
    });
    assert.equal(res2.body.summary.wouldChange, 1, 'a default role demotes one owner, never the last');
    assert.match(
      res2.body.summary.message,
      /^1 member of "Okta" would change role under the proposed mapping\. Save it with PUT \/api\/v1\/orgs\/\S+\/role-mapping, then call POST .*\/apply-roles/,
    );
  });

  test('apply-roles changes exactly the members the preview counted; afterwards nothing is pending', async () => {
    const applied = await owner.post(`${dirPath()}/apply-roles`, {});
    assert.equal(applied.status, 200);
    assert.equal(applied.body.changed.length, 3);
    assert.equal((await memberOf(owner, orgId, 'ann@acme.example'))?.role, 'admin');
    assert.equal(
      (await memberOf(owner, orgId, 'cat@acme.example'))?.status,
      'suspended',
      'apply-roles does not reactivate',
    );
    const after = await owner.post(`${dirPath()}/role-preview`, {});
    assert.equal(after.body.summary.wouldChange, 0);
    const again = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, mapping('admin'));
    assert.equal(again.body.pendingRoleChanges[0].wouldChange, 0);
    assert.match(again.body.pendingRoleChanges[0].message, /^No member of "Okta" would change/);
  });

  test('with role sync off, the message names the switch that applies the roles', async () => {
    const staged = await owner.post(`/api/v1/orgs/${orgId}/scim/directories`, { name: 'Staged', roleSync: false });
    const put = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      ...mapping('member'),
      acknowledgeWarnings: true,
    });
    assert.equal(put.body.warnings.length, 3, 'ann, bob and the demoted owner would drop from admin to member');
    const byDir = Object.fromEntries(
      put.body.pendingRoleChanges.map((p: { directoryId: string }) => [p.directoryId, p]),
    );
    assert.equal(byDir[staged.body.directory.id].wouldChange, 0, 'no one provisioned there yet');
    assert.equal(
      byDir[staged.body.directory.id].applyWith,
      `PATCH /api/v1/orgs/${orgId}/scim/directories/${staged.body.directory.id} {"roleSync":true}`,
    );
    assert.equal(byDir[directoryId].wouldChange, 3, 'ann, bob and the owner demoted to admin would become members');
  });

  test('only admins see it: a member gets 403 on the mapping change', async () => {
    const { agent } = await t.addMember(owner, orgId, 'plain@acme.example', 'member');
    assert.equal((await agent.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, mapping('admin'))).status, 403);
    assert.equal((await agent.post(`${dirPath()}/role-preview`, {})).status, 403);
  });
});
