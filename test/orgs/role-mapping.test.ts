import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type RoleMapping, evaluateGroups } from '../../src/orgs/role-mapping.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';

const mapping: RoleMapping = {
  requiredPrefix: 'acme-',
  defaultRole: null,
  rules: [
    { id: 'r1', group: 'acme-engineering', role: 'member' },
    { id: 'r2', group: 'acme-it-admins', role: 'admin' },
  ],
};

describe('group-to-role mapping', () => {
  test('the highest matched role wins; case does not matter', () => {
    const r = evaluateGroups(mapping, ['ACME-Engineering', 'acme-it-admins']);
    assert.equal(r.role, 'admin');
    assert.equal(r.source, 'rule');
    assert.deepEqual(
      r.groups.map((g) => g.outcome),
      ['matched', 'matched'],
    );
  });

  test('a group without the prefix is reported with the name it should have', () => {
    const r = evaluateGroups(mapping, ['engineering']);
    assert.equal(r.role, null);
    assert.equal(r.groups[0]?.outcome, 'missing_prefix');
    assert.equal(r.groups[0]?.expected, 'acme-engineering');
    assert.match(
      r.groups[0]!.explanation,
      /does not start with the required prefix "acme-".*Rename it to "acme-engineering"/,
    );
  });

  test('a prefixed group without a rule is explained, and the default role applies', () => {
    const r = evaluateGroups({ ...mapping, defaultRole: 'member' }, ['acme-sales', 'acme-sales']);
    assert.equal(r.groups.length, 1, 'duplicates are folded');
    assert.equal(r.groups[0]?.outcome, 'no_rule');
    assert.equal(r.role, 'member');
    assert.equal(r.source, 'default');
  });

  describe('through the API', () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp();
    });
    after(() => t.close());

    test('saving rules validates the prefix and writes an audit event; preview dry-runs people', async () => {
      const { orgId, owner } = await t.seedOrg('Mapper', 'owner@mapper.example');
      const bad = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
        requiredPrefix: 'acme-',
        defaultRole: null,
        rules: [{ group: 'engineering', role: 'member' }],
      });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'group_missing_prefix');
      assert.match(
        bad.body.error.message,
        /Group "engineering" does not match the required "acme-" prefix\. Use "acme-engineering"/,
      );
      const owners = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
        requiredPrefix: null,
        defaultRole: null,
        rules: [{ group: 'x', role: 'primary_owner' }],
      });
      assert.equal(owners.status, 400, 'mapping cannot mint owners');
      const dup = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
        requiredPrefix: null,
        defaultRole: null,
        rules: [
          { group: 'X', role: 'admin' },
          { group: 'x', role: 'member' },
        ],
      });
      assert.equal(dup.body.error.code, 'duplicate_group_rule');

      const ok = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
        requiredPrefix: 'acme-',
        defaultRole: null,
        rules: [
          { group: 'acme-engineering', role: 'member' },
          { group: 'acme-it', role: 'admin' },
        ],
      });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.rules.length, 2);
      const read = await owner.get(`/api/v1/orgs/${orgId}/role-mapping`);
      assert.equal(read.body.requiredPrefix, 'acme-');

      const preview = await owner.post(`/api/v1/orgs/${orgId}/role-mapping/preview`, {
        users: [
          { email: 'a@x.example', groups: ['acme-it', 'acme-engineering'] },
          { email: 'b@x.example', groups: ['engineering'] },
        ],
      });
      assert.equal(preview.status, 200);
      assert.equal(preview.body.users[0].role, 'admin');
      assert.equal(preview.body.users[1].role, null);
      assert.equal(preview.body.users[1].groups[0].expected, 'acme-engineering');

      const events = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=role_mapping.updated`);
      assert.equal(events.body.data.length, 1);
      assert.deepEqual(events.body.data[0].metadata.after.rules, [
        { group: 'acme-engineering', role: 'member' },
        { group: 'acme-it', role: 'admin' },
      ]);
    });

    test('admins may edit the mapping; members may not see it', async () => {
      const { orgId, owner } = await t.seedOrg('Mapper2', 'owner@mapper2.example');
      const { agent: member } = await t.addMember(owner, orgId, 'm@mapper2.example', 'member');
      assert.equal((await member.get(`/api/v1/orgs/${orgId}/role-mapping`)).status, 403);
      const { agent: admin } = await t.addMember(owner, orgId, 'a@mapper2.example', 'admin');
      assert.equal(
        (
          await admin.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
            requiredPrefix: null,
            defaultRole: 'member',
            rules: [],
          })
        ).status,
        200,
      );
    });
  });
});
