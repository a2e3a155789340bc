import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { ENTERPRISE, PATCH_OP, type ScimClient, USER, memberOf, newDirectory } from './helpers.js';

/**
 * Replay of the requests Microsoft Entra ID's provisioning service and its SCIM validator send, as
 * listed in Microsoft's "develop a SCIM endpoint" documentation (user and group operations with
 * their example payloads), including its known non-RFC habits: capitalised op names, boolean
 * strings ("False"), path-less Add/Replace whose keys are paths, the manager as a bare id, member
 * removal by value list, `$ref: null`, and an extra Microsoft schema URN on groups.
 *
 * Written from that public documentation as remembered by the author (no network access while
 * writing it), not a capture of live Entra traffic.
 */
describe('Microsoft Entra ID provisioning replay', () => {
  let t: TestApp;
  let entra: ScimClient;
  let owner: Agent;
  let orgId: string;
  const filter = (f: string) => `filter=${encodeURIComponent(f)}`;
  const roleOf = async (email: string) =>
    (await owner.get(`/api/v1/orgs/${orgId}/members?limit=200`)).body.data.find(
      (m: { email: string }) => m.email === email,
    )?.role ?? null;
  const patch = (Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

  before(async () => {
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Contoso', 'owner@contoso.example'));
    await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      requiredPrefix: 'contoso-',
      defaultRole: null,
      rules: [{ group: 'contoso-it-admins', role: 'admin' }],
    });
    ({ scim: entra } = await newDirectory(t, owner, orgId, 'Entra ID'));
  });
  after(() => t.close());

  let userId = '';
  const userName = 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1';

  test('Create User, then Get User, Get User by query, Get User by query - zero results', async () => {
    const none = await entra.get(`/Users?${filter(`userName eq "${userName}"`)}`);
    assert.equal(none.body.totalResults, 0);
    const res = await entra.post('/Users', {
      schemas: [USER, ENTERPRISE],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName,
      active: true,
      emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com' }],
      meta: { resourceType: 'User' },
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      roles: [],
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.externalId, '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef');
    assert.equal(res.body.meta.resourceType, 'User');
    userId = res.body.id;
    assert.equal(
      await roleOf('test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com'),
      'member',
      'linked by the work email',
    );
    assert.equal((await entra.get(`/Users/${userId}`)).body.userName, userName);
    const q = await entra.get(`/Users?${filter(`userName eq "${userName}"`)}`);
    assert.equal(q.body.totalResults, 1);
    const byExt = await entra.get(`/Users?${filter('externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"')}`);
    assert.equal(byExt.body.totalResults, 1);
    const zero = await entra.get(`/Users?${filter('userName eq "non-existent user"')}`);
    assert.equal(zero.status, 200);
    assert.equal(zero.body.totalResults, 0);
  });

  test('validator: duplicate user is 409 uniqueness', async () => {
    const dup = await entra.post('/Users', {
      schemas: [USER],
      userName,
      emails: [{ primary: true, type: 'work', value: 'x@testuser.com' }],
      active: true,
    });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.scimType, 'uniqueness');
  });

  test('Update User [Multi-valued properties] and [Single-valued properties]', async () => {
    const multi = await entra.patch(
      `/Users/${userId}`,
      patch([
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ]),
    );
    assert.equal(multi.status, 200);
    assert.equal(multi.body.emails[0].value, 'updatedEmail@microsoft.com');
    assert.equal(multi.body.name.familyName, 'updatedFamilyName');
    const single = await entra.patch(
      `/Users/${userId}`,
      patch([{ op: 'Replace', path: 'userName', value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com' }]),
    );
    assert.equal(single.status, 200);
    assert.equal(single.body.userName, '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com');
  });

  test('path-less Add whose keys are paths, enterprise attributes, manager as a bare id, then manager removal', async () => {
    const add = await entra.patch(
      `/Users/${userId}`,
      patch([
        {
          op: 'Add',
          value: {
            displayName: 'Test User',
            'name.givenName': 'Testy',
            'emails[type eq "other"].value': 'other@testuser.com',
            [`${ENTERPRISE}:department`]: 'Finance',
          },
        },
        { op: 'Add', path: `${ENTERPRISE}:employeeNumber`, value: '000123' },
        { op: 'Add', path: `${ENTERPRISE}:manager`, value: '2819c223-7f76-453a-919d-413861904646' },
      ]),
    );
    assert.equal(add.status, 200, JSON.stringify(add.body));
    assert.equal(add.body.displayName, 'Test User');
    assert.equal(add.body.name.givenName, 'Testy');
    assert.ok(
      add.body.emails.some(
        (e: { type: string; value: string }) => e.type === 'other' && e.value === 'other@testuser.com',
      ),
    );
    assert.equal(add.body[ENTERPRISE].department, 'Finance');
    assert.equal(add.body[ENTERPRISE].employeeNumber, '000123');
    assert.deepEqual(add.body[ENTERPRISE].manager, { value: '2819c223-7f76-453a-919d-413861904646' });
    const rm = await entra.patch(`/Users/${userId}`, patch([{ op: 'Remove', path: `${ENTERPRISE}:manager` }]));
    assert.equal(rm.body[ENTERPRISE].manager, undefined);
  });

  let groupId = '';
  test('Create Group (with the extra Microsoft schema), Get Group, Get Group by displayName', async () => {
    const res = await entra.post('/Groups', {
      schemas: [
        'urn:ietf:params:scim:schemas:core:2.0:Group',
        'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group',
      ],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'contoso-it-admins',
      meta: { resourceType: 'Group' },
    });
    assert.equal(res.status, 201);
    groupId = res.body.id;
    const got = await entra.get(`/Groups/${groupId}?excludedAttributes=members`);
    assert.equal(got.body.displayName, 'contoso-it-admins');
    assert.equal(got.body.members, undefined);
    const q = await entra.get(`/Groups?excludedAttributes=members&${filter('displayName eq "contoso-it-admins"')}`);
    assert.equal(q.body.totalResults, 1);
    assert.equal(q.body.Resources[0].members, undefined);
  });

  test('Update Group [Add Members] with $ref: null, membership check by filter, [Remove Members] by value list', async () => {
    const email = 'test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com';
    const add = await entra.patch(
      `/Groups/${groupId}`,
      patch([{ op: 'Add', path: 'members', value: [{ $ref: null, value: userId }] }]),
    );
    assert.equal(add.status, 200);
    assert.equal(await roleOf(email), 'admin');
    const check = await entra.get(
      `/Groups?${filter(`id eq "${groupId}" and members[value eq "${userId}"]`)}&excludedAttributes=members`,
    );
    assert.equal(check.body.totalResults, 1);
    const rm = await entra.patch(
      `/Groups/${groupId}`,
      patch([{ op: 'Remove', path: 'members', value: [{ $ref: null, value: userId }] }]),
    );
    assert.equal(rm.status, 200);
    assert.deepEqual(rm.body.members, []);
    assert.equal(
      await roleOf(email),
      'admin',
      'no rule matched and no default role: an existing member keeps their role',
    );
  });

  test('Update Group [Non-member attributes]: displayName', async () => {
    const res = await entra.patch(
      `/Groups/${groupId}`,
      patch([{ op: 'Replace', path: 'displayName', value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName' }]),
    );
    assert.equal(res.status, 200);
    assert.equal(res.body.displayName, '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName');
    assert.equal(res.body['urn:palisade:scim:schemas:extension:mapping:1.0:Group'].outcome, 'missing_prefix');
  });

  test('Disable User with the boolean as a string ("False"), then Delete User and Delete Group', async () => {
    const off = await entra.patch(`/Users/${userId}`, patch([{ op: 'Replace', path: 'active', value: 'False' }]));
    assert.equal(off.status, 200);
    assert.equal(off.body.active, false);
    const suspended = await memberOf(owner, orgId, 'test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com');
    assert.equal(suspended?.status, 'suspended', 'disabling suspends the membership');
    assert.equal(suspended?.role, 'admin', 'and keeps its role for reactivation');
    assert.equal((await entra.delete(`/Users/${userId}`)).status, 204);
    assert.equal(
      await memberOf(owner, orgId, 'test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com'),
      null,
      'DELETE removes the suspended membership',
    );
    assert.equal((await entra.get(`/Users/${userId}`)).status, 404);
    assert.equal((await entra.delete(`/Groups/${groupId}`)).status, 204);
    assert.equal((await entra.delete(`/Groups/${groupId}`)).status, 404);
  });
});
