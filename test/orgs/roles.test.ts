import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestApp, createTestApp } from '../helpers/harness.js';

describe('organizations and roles', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(() => t.close());

  test('a new member list holds the primary owner created by init', async () => {
    const { orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example');
    const res = await owner.get(`/api/v1/orgs/${orgId}/members`);
    assert.equal(res.status, 200);
    assert.equal(res.body.data.length, 1);
    assert.equal(res.body.data[0].email, 'owner@acme.example');
    assert.equal(res.body.data[0].role, 'primary_owner');
    assert.equal(res.body.data[0].status, 'active');
  });

  test('the last primary owner can be neither demoted nor removed', async () => {
    const { orgId, owner } = await t.seedOrg('Solo', 'solo@solo.example');
    const members = await owner.get(`/api/v1/orgs/${orgId}/members`);
    const me = members.body.data[0].id;
    const demote = await owner.patch(`/api/v1/orgs/${orgId}/members/${me}`, { role: 'admin' });
    assert.equal(demote.status, 409);
    assert.equal(demote.body.error.code, 'last_primary_owner');
    assert.match(demote.body.error.message, /Promote another member/);
    const remove = await owner.delete(`/api/v1/orgs/${orgId}/members/${me}`);
    assert.equal(remove.status, 409);
    assert.equal(remove.body.error.code, 'last_primary_owner');
    // Nothing changed, and the refusal wrote no role-change event.
    const after = await owner.get(`/api/v1/orgs/${orgId}/members`);
    assert.equal(after.body.data[0].role, 'primary_owner');
    const events = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=member.role_changed`);
    assert.equal(events.body.data.length, 0);
  });

  test('with a second owner, the first may step down; a third owner comes with a warning', async () => {
    const { orgId, owner } = await t.seedOrg('Duo', 'one@duo.example');
    const second = await owner.post(`/api/v1/orgs/${orgId}/members`, {
      email: 'two@duo.example',
      role: 'primary_owner',
    });
    assert.equal(second.status, 201);
    assert.deepEqual(second.body.warnings, []);
    assert.equal(second.body.inviteLink, null, 'the link that sets a password goes to the address, not to the inviter');
    const mailed = await t.lastEmail('two@duo.example');
    await t.redeem(
      mailed!.links.find((l) => l.includes('#token='))!,
      'two@duo.example',
    );
    const third = await owner.post(`/api/v1/orgs/${orgId}/members`, {
      email: 'three@duo.example',
      role: 'primary_owner',
    });
    assert.equal(third.status, 201);
    assert.equal(third.body.warnings.length, 1);
    assert.equal(third.body.warnings[0].code, 'many_primary_owners');
    assert.match(third.body.warnings[0].message, /3 primary owners/);
    const list = await owner.get(`/api/v1/orgs/${orgId}/members`);
    const mine = list.body.data.find((m: { email: string }) => m.email === 'one@duo.example');
    const stepDown = await owner.patch(`/api/v1/orgs/${orgId}/members/${mine.id}`, { role: 'admin' });
    assert.equal(stepDown.status, 200);
    assert.equal(stepDown.body.member.role, 'admin');
  });

  test('an invited (not yet active) owner does not count as the last owner', async () => {
    const { orgId, owner } = await t.seedOrg('Pending', 'p1@pending.example');
    const inv = await owner.post(`/api/v1/orgs/${orgId}/members`, {
      email: 'p2@pending.example',
      role: 'primary_owner',
    });
    assert.equal(inv.body.member.status, 'invited');
    const list = await owner.get(`/api/v1/orgs/${orgId}/members`);
    const mine = list.body.data.find((m: { email: string }) => m.email === 'p1@pending.example');
    const res = await owner.patch(`/api/v1/orgs/${orgId}/members/${mine.id}`, { role: 'member' });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'last_primary_owner');
  });

  test('admins manage members and settings but not deletion, billing or owners', async () => {
    const { orgId, owner } = await t.seedOrg('Admins', 'owner@admins.example');
    const { agent: admin } = await t.addMember(owner, orgId, 'admin@admins.example', 'admin');
    const ownerMemberId = (await owner.get(`/api/v1/orgs/${orgId}/members`)).body.data.find(
      (m: { role: string }) => m.role === 'primary_owner',
    ).id;

    const invite = await admin.post(`/api/v1/orgs/${orgId}/members`, { email: 'm@admins.example', role: 'member' });
    assert.equal(invite.status, 201);
    const rename = await admin.patch(`/api/v1/orgs/${orgId}`, { name: 'Admins Renamed' });
    assert.equal(rename.status, 200);
    assert.equal(rename.body.name, 'Admins Renamed');

    const cases: [string, Promise<{ status: number; body: any }>, string][] = [
      ['delete org', admin.delete(`/api/v1/orgs/${orgId}`), 'missing_permission_org_delete'],
      [
        'billing',
        admin.patch(`/api/v1/orgs/${orgId}`, { billingEmail: 'billing@admins.example' }),
        'missing_permission_org_billing_manage',
      ],
      [
        'invite owner',
        admin.post(`/api/v1/orgs/${orgId}/members`, { email: 'o2@admins.example', role: 'primary_owner' }),
        'missing_permission_owners_manage',
      ],
      [
        'demote owner',
        admin.patch(`/api/v1/orgs/${orgId}/members/${ownerMemberId}`, { role: 'member' }),
        'missing_permission_owners_manage',
      ],
      [
        'remove owner',
        admin.delete(`/api/v1/orgs/${orgId}/members/${ownerMemberId}`),
        'missing_permission_owners_manage',
      ],
      [
        'promote to owner',
        admin.patch(`/api/v1/orgs/${orgId}/members/${invite.body.member.id}`, { role: 'primary_owner' }),
        'missing_permission_owners_manage',
      ],
    ];
    for (const [what, pending, code] of cases) {
      const res = await pending;
      assert.equal(res.status, 403, what);
      assert.equal(res.body.error.code, code, what);
      assert.match(res.body.error.message, /primary owner/, what);
      assert.equal(res.body.error.details.yourRole, 'admin', what);
    }
    // The organization is still there and still has its owner.
    assert.equal((await owner.get(`/api/v1/orgs/${orgId}`)).status, 200);
    const billing = await owner.patch(`/api/v1/orgs/${orgId}`, { billingEmail: 'Billing@Admins.example' });
    assert.equal(billing.status, 200);
    assert.equal(billing.body.billingEmail, 'billing@admins.example');
  });

  test('members use the workspace only: no member list, no audit log, no settings', async () => {
    const { orgId, owner } = await t.seedOrg('Members', 'owner@members.example');
    const { agent: member } = await t.addMember(owner, orgId, 'm@members.example', 'member');
    const read = await member.get(`/api/v1/orgs/${orgId}`);
    assert.equal(read.status, 200);
    assert.equal(read.body.yourRole, 'member');
    assert.equal(read.body.billingEmail, undefined);
    const refusals: [Promise<{ status: number; body: any }>, string][] = [
      [member.get(`/api/v1/orgs/${orgId}/members`), 'missing_permission_members_read'],
      [member.get(`/api/v1/orgs/${orgId}/audit-events`), 'missing_permission_audit_read'],
      [member.patch(`/api/v1/orgs/${orgId}`, { name: 'x' }), 'missing_permission_org_update'],
      [
        member.post(`/api/v1/orgs/${orgId}/members`, { email: 'x@members.example' }),
        'missing_permission_members_manage',
      ],
      [member.post(`/api/v1/orgs/${orgId}/children`, { name: 'Sub' }), 'missing_permission_org_children_create'],
      [member.delete(`/api/v1/orgs/${orgId}`), 'missing_permission_org_delete'],
    ];
    for (const [pending, code] of refusals) {
      const res = await pending;
      assert.equal(res.status, 403);
      assert.equal(res.body.error.code, code);
    }
  });

  test("a parent's owners and admins administer its children; its members do not belong to them", async () => {
    const { orgId: parent, owner } = await t.seedOrg('Holding', 'owner@holding.example');
    const { agent: admin } = await t.addMember(owner, parent, 'admin@holding.example', 'admin');
    const { agent: member } = await t.addMember(owner, parent, 'member@holding.example', 'member');
    const child = await admin.post(`/api/v1/orgs/${parent}/children`, { name: 'Europe' });
    assert.equal(child.status, 201);
    assert.equal(child.body.parentId, parent);
    const childId = child.body.id as string;

    const asOwner = await owner.get(`/api/v1/orgs/${childId}`);
    assert.equal(asOwner.body.yourRole, 'primary_owner');
    const invite = await admin.post(`/api/v1/orgs/${childId}/members`, { email: 'eu@holding.example', role: 'member' });
    assert.equal(invite.status, 201);
    assert.equal((await admin.get(`/api/v1/orgs/${childId}/members`)).status, 200);
    assert.equal((await admin.get(`/api/v1/orgs/${childId}/audit-events`)).status, 200);

    // A member of the parent has no role in the child: it answers as if it did not exist.
    const asMember = await member.get(`/api/v1/orgs/${childId}`);
    assert.equal(asMember.status, 404);
    assert.equal(asMember.body.error.code, 'not_found');
    // They still see that business units exist, without their settings.
    const children = await member.get(`/api/v1/orgs/${parent}/children`);
    assert.equal(children.status, 200);
    assert.equal(children.body.data[0].id, childId);
    assert.equal(children.body.data[0].yourRole, undefined);

    // The child appears in the admin's organization list.
    const mine = await admin.get('/api/v1/orgs');
    assert.deepEqual(mine.body.data.map((o: { id: string }) => o.id).sort(), [parent, childId].sort());

    // A parent with children cannot be deleted until they are gone.
    const del = await owner.delete(`/api/v1/orgs/${parent}`);
    assert.equal(del.status, 409);
    assert.equal(del.body.error.code, 'org_has_children');
    assert.equal((await admin.delete(`/api/v1/orgs/${childId}`)).status, 403);
    assert.equal((await owner.delete(`/api/v1/orgs/${childId}`)).status, 204);
    assert.equal((await owner.get(`/api/v1/orgs/${childId}`)).status, 404);
    assert.equal((await owner.delete(`/api/v1/orgs/${parent}`)).status, 204);
    assert.equal((await owner.get(`/api/v1/orgs/${parent}`)).status, 404);
  });

  test('nesting stops at three levels with a clear error', async () => {
    const { orgId, owner } = await t.seedOrg('Deep', 'owner@deep.example');
    const l2 = await owner.post(`/api/v1/orgs/${orgId}/children`, { name: 'L2' });
    const l3 = await owner.post(`/api/v1/orgs/${l2.body.id}/children`, { name: 'L3' });
    assert.equal(l3.status, 201);
    const l4 = await owner.post(`/api/v1/orgs/${l3.body.id}/children`, { name: 'L4' });
    assert.equal(l4.status, 400);
    assert.equal(l4.body.error.code, 'org_depth_exceeded');
  });

  test('inviting someone twice, or with a bad email, is refused with a code', async () => {
    const { orgId, owner } = await t.seedOrg('Twice', 'owner@twice.example');
    await owner.post(`/api/v1/orgs/${orgId}/members`, { email: 'x@twice.example' });
    const again = await owner.post(`/api/v1/orgs/${orgId}/members`, { email: 'X@Twice.example' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'already_member');
    const bad = await owner.post(`/api/v1/orgs/${orgId}/members`, { email: 'not-an-email' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_email');
    const badRole = await owner.post(`/api/v1/orgs/${orgId}/members`, { email: 'y@twice.example', role: 'god' });
    assert.equal(badRole.status, 400);
    assert.equal(badRole.body.error.code, 'invalid_request');
  });

  test('creating a top-level organization through the API is off unless configured', async () => {
    const { owner } = await t.seedOrg('Creator', 'owner@creator.example');
    const res = await owner.post('/api/v1/orgs', { name: 'Another' });
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'org_creation_disabled');
    assert.match(res.body.error.message, /PALISADE_ORG_CREATION=any_user/);
  });

  test('lists paginate with cursors', async () => {
    const { orgId, owner } = await t.seedOrg('Many', 'owner@many.example');
    for (let i = 0; i < 7; i++) await owner.post(`/api/v1/orgs/${orgId}/members`, { email: `u${i}@many.example` });
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { data: { id: string }[]; nextCursor: string | null } } = await owner.get(
        `/api/v1/orgs/${orgId}/members?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...res.body.data.map((m) => m.id));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.equal(seen.length, 8);
    assert.equal(new Set(seen).size, 8);
    const bad = await owner.get(`/api/v1/orgs/${orgId}/members?cursor=garbage`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_cursor');
  });
});
