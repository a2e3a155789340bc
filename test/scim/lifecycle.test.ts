import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { allJobs } from '../../src/scheduled-jobs.js';
import { scimSyncLogRetentionJob } from '../../src/scim/jobs.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { PATCH_OP, ScimClient, memberOf, newDirectory, user } from './helpers.js';

/**
 * The "done when", end to end through HTTP: create a directory, provision people and
 * prefixed groups as Okta would, see roles follow the groups, deactivate someone and see their
 * session and API token die, and read the sync log for a mis-named group and find the fix.
 */
describe('SCIM lifecycle: links, roles from groups, deprovisioning, sync log', () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let scim: ScimClient;
  let directoryId: string;
  const dirUrl = () => `/api/v1/orgs/${orgId}/scim/directories/${directoryId}`;
  const roleOf = async (email: string) => {
    const members = await owner.get(`/api/v1/orgs/${orgId}/members?limit=200`);
    return members.body.data.find((m: { email: string }) => m.email === email)?.role ?? null;
  };

  before(async () => {
    t = await createTestApp();
    const a = await t.seedOrg('Acme', 'owner@acme.example');
    orgId = a.orgId;
    owner = a.owner;
    const put = await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      requiredPrefix: 'acme-',
      defaultRole: null,
      rules: [
        { group: 'acme-admins', role: 'admin' },
        { group: 'acme-engineering', role: 'member' },
      ],
    });
    assert.equal(put.status, 200);
    ({ scim, directoryId } = await newDirectory(t, owner, orgId));
  });
  after(() => t.close());

  test("creating a SCIM user creates the Palisade user and an active membership in the directory's organization", async () => {
    const res = await scim.post('/Users', user('ann@acme.example', { externalId: 'okta-ann' }));
    assert.equal(res.status, 201);
    assert.equal(res.headers['content-type'], 'application/scim+json; charset=utf-8');
    assert.match(String(res.headers.location), new RegExp(`/scim/v2/${directoryId}/Users/${res.body.id}$`));
    assert.equal(await roleOf('ann@acme.example'), 'member');
    const audit = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=scim.*`);
    assert.ok(audit.body.data.some((e: { action: string }) => e.action === 'scim.member_provisioned'));
  });

  test('an existing person is linked, not duplicated', async () => {
    const { agent } = await t.addMember(owner, orgId, 'bob@acme.example', 'member');
    const res = await scim.post('/Users', user('BOB@acme.example'));
    assert.equal(res.status, 201);
    const members = await owner.get(`/api/v1/orgs/${orgId}/members`);
    assert.equal(members.body.data.filter((m: { email: string }) => m.email === 'bob@acme.example').length, 1);
    assert.equal((await agent.get('/api/v1/auth/session')).status, 200);
  });

  test('roles follow the groups: mapped group grants admin, the highest role wins, leaving the group takes it back', async () => {
    const ann = (await scim.get(`/Users?filter=${encodeURIComponent('userName eq "ann@acme.example"')}`)).body
      .Resources[0];
    const eng = await scim.post('/Groups', { displayName: 'acme-engineering', members: [{ value: ann.id }] });
    assert.equal(eng.status, 201);
    assert.equal(eng.body['urn:palisade:scim:schemas:extension:mapping:1.0:Group'].role, 'member');
    const admins = await scim.post('/Groups', { displayName: 'acme-admins', members: [] });
    assert.equal(await roleOf('ann@acme.example'), 'member');
    const add = await scim.patch(`/Groups/${admins.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: 'members', value: [{ value: ann.id }] }],
    });
    assert.equal(add.status, 200);
    assert.equal(
      await roleOf('ann@acme.example'),
      'admin',
      'member of acme-engineering and acme-admins gets the higher role',
    );
    const why = await owner.get(`${dirUrl()}/sync-log?group=acme-admins&outcome=success&limit=1`);
    assert.equal(why.body.data[0].operation, 'patch_group');
    assert.equal(why.body.data[0].explanation, 'ann@acme.example: member → admin (group "acme-admins" maps to admin).');
    const remove = await scim.patch(`/Groups/${admins.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'remove', path: `members[value eq "${ann.id}"]` }],
    });
    assert.equal(remove.status, 200);
    assert.equal(await roleOf('ann@acme.example'), 'member');
  });

  test('a group outside the required prefix is stored, maps to nothing, and the response and sync log name the expected group', async () => {
    const ann = (await scim.get(`/Users?filter=${encodeURIComponent('userName eq "ann@acme.example"')}`)).body
      .Resources[0];
    const res = await scim.post('/Groups', { displayName: 'engineering-admins', members: [{ value: ann.id }] });
    assert.equal(res.status, 201, 'the group is accepted, not refused');
    const ext = res.body['urn:palisade:scim:schemas:extension:mapping:1.0:Group'];
    assert.equal(ext.outcome, 'missing_prefix');
    assert.equal(ext.role, null);
    assert.equal(ext.expectedName, 'acme-engineering-admins');
    assert.match(ext.explanation, /Rename it to "acme-engineering-admins"/);
    assert.equal(await roleOf('ann@acme.example'), 'member', 'the unprefixed group granted nothing');
    // Two more mis-named groups: one problem, three occurrences.
    await scim.post('/Groups', { displayName: 'sales' });
    await scim.post('/Groups', { displayName: 'support' });
    const log = await owner.get(`${dirUrl()}/sync-log?outcome=warning&group=engineering-admins`);
    assert.equal(log.status, 200);
    assert.equal(log.body.data.length, 1);
    assert.equal(log.body.data[0].cause, 'group_missing_prefix');
    assert.match(log.body.data[0].explanation, /acme-engineering-admins/);
    assert.equal(log.body.data[0].notes[0].expected, 'acme-engineering-admins');
    const problems = await owner.get(`${dirUrl()}/sync-log/problems`);
    const prefix = problems.body.problems.find((p: { cause: string }) => p.cause === 'group_missing_prefix');
    assert.equal(prefix.count, 3);
    assert.deepEqual([...prefix.groups].sort(), ['engineering-admins', 'sales', 'support']);
  });

  test('active:false suspends at once: the session and API token die in the same request, an audit event is written', async () => {
    const { agent } = await t.addMember(owner, orgId, 'carol@acme.example', 'member');
    const tok = await agent.post('/api/v1/me/tokens', { name: 'laptop' });
    assert.equal(tok.status, 201);
    const created = await scim.post('/Users', user('carol@acme.example'));
    assert.equal((await agent.get('/api/v1/auth/session')).status, 200);
    const res = await scim.patch(`/Users/${created.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', value: { active: false } }],
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.active, false);
    assert.equal((await agent.get('/api/v1/auth/session')).status, 401, 'the browser session is dead');
    const viaToken = await t
      .anonymous()
      .request('GET', '/api/v1/auth/session', undefined, { authorization: `Bearer ${tok.body.token}` });
    assert.equal(viaToken.status, 401, 'the API token is dead');
    const suspended = await memberOf(owner, orgId, 'carol@acme.example');
    assert.deepEqual(
      [suspended?.status, suspended?.role],
      ['suspended', 'member'],
      'the membership is kept, suspended',
    );
    const audit = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=scim.user_deactivated`);
    assert.equal(audit.body.data.length, 1);
    assert.equal(audit.body.data[0].metadata.membershipId, suspended?.id);
    assert.equal(audit.body.data[0].metadata.sessionsRevoked, 1);
    assert.equal(audit.body.data[0].metadata.tokensRevoked, 1);
    // Reactivation gives the same membership back.
    const back = await scim.patch(`/Users/${created.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: true }],
    });
    assert.equal(back.status, 200);
    const active = await memberOf(owner, orgId, 'carol@acme.example');
    assert.deepEqual([active?.id, active?.status, active?.role], [suspended?.id, 'active', 'member']);
  });

  test('DELETE deprovisions too, and the SCIM user is gone', async () => {
    const { agent } = await t.addMember(owner, orgId, 'dan@acme.example', 'admin');
    const created = await scim.post('/Users', user('dan@acme.example'));
    const del = await scim.delete(`/Users/${created.body.id}`);
    assert.equal(del.status, 204);
    assert.equal((await scim.get(`/Users/${created.body.id}`)).status, 404);
    assert.equal((await agent.get('/api/v1/auth/session')).status, 401);
    assert.equal(await roleOf('dan@acme.example'), null);
  });

  test('the last primary owner is never demoted or deprovisioned by SCIM; the request succeeds and the refusal is logged', async () => {
    const own = await scim.post('/Users', user('owner@acme.example'));
    assert.equal(own.status, 201);
    const eng = (await scim.get(`/Groups?filter=${encodeURIComponent('displayName eq "acme-engineering"')}`)).body
      .Resources[0];
    const add = await scim.patch(`/Groups/${eng.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'add', path: 'members', value: [{ value: own.body.id }] }],
    });
    assert.equal(add.status, 200, 'the group change succeeds for everyone else');
    assert.ok(add.body.members.some((m: { value: string }) => m.value === own.body.id));
    assert.equal(await roleOf('owner@acme.example'), 'primary_owner');
    const off = await scim.patch(`/Users/${own.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    assert.equal(off.status, 200);
    assert.equal(await roleOf('owner@acme.example'), 'primary_owner');
    assert.equal((await owner.get('/api/v1/auth/session')).status, 200, 'the owner is still signed in');
    const log = await owner.get(`${dirUrl()}/sync-log?cause=last_primary_owner`);
    assert.ok(log.body.data.length >= 2);
    assert.ok(
      log.body.data.every(
        (e: { outcome: string; explanation: string }) =>
          e.outcome === 'warning' && /last active primary owner/.test(e.explanation),
      ),
    );
    const refused = await owner.get(`/api/v1/orgs/${orgId}/audit-events?outcome=denied`);
    assert.ok(
      refused.body.data.some(
        (e: { action: string }) => e.action === 'scim.role_change_refused' || e.action === 'scim.deprovision_refused',
      ),
    );
  });

  test('role preview shows who would get which role under a proposed mapping, and changes nothing', async () => {
    const before = await roleOf('ann@acme.example');
    const res = await owner.post(`${dirUrl()}/role-preview`, {
      mapping: {
        requiredPrefix: 'acme-',
        defaultRole: 'member',
        rules: [{ group: 'acme-engineering', role: 'admin' }],
      },
    });
    assert.equal(res.status, 200);
    const ann = res.body.users.find((u: { userName: string }) => u.userName === 'ann@acme.example');
    assert.equal(ann.currentRole, 'member');
    assert.equal(ann.wouldGet, 'admin');
    assert.equal(ann.changes, true);
    assert.ok(
      res.body.groups.some(
        (g: { group: string; outcome: string; expected?: string }) =>
          g.group === 'sales' && g.outcome === 'missing_prefix' && g.expected === 'acme-sales',
      ),
    );
    assert.equal(await roleOf('ann@acme.example'), before);
  });

  test('roles previewed first: a directory with roleSync off changes no role until it is turned on', async () => {
    const off = await owner.post(`/api/v1/orgs/${orgId}/scim/directories`, { name: 'Staged', roleSync: false });
    assert.equal(off.status, 201);
    const staged = new ScimClient(t.app, new URL(off.body.directory.baseUrl).pathname, off.body.token);
    const u = await staged.post('/Users', user('erin@acme.example'));
    await staged.post('/Groups', { displayName: 'acme-admins', members: [{ value: u.body.id }] });
    assert.equal(await roleOf('erin@acme.example'), 'member', 'not applied yet');
    const dirPath = `/api/v1/orgs/${orgId}/scim/directories/${off.body.directory.id}`;
    const preview = await owner.post(`${dirPath}/role-preview`, {});
    assert.equal(preview.body.users[0].wouldGet, 'admin');
    assert.equal((await owner.post(`${dirPath}/apply-roles`, {})).status, 409, 'apply refuses while role sync is off');
    const on = await owner.patch(dirPath, { roleSync: true });
    assert.equal(on.status, 200);
    assert.equal(await roleOf('erin@acme.example'), 'admin', 'turning role sync on applies the mapping');
  });

  test('apply-roles applies a changed mapping to everyone provisioned', async () => {
    assert.equal(await roleOf('ann@acme.example'), 'member');
    await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      requiredPrefix: 'acme-',
      defaultRole: null,
      rules: [
        { group: 'acme-admins', role: 'admin' },
        { group: 'acme-engineering', role: 'admin' },
      ],
    });
    const own = (await scim.get(`/Users?filter=${encodeURIComponent('userName eq "owner@acme.example"')}`)).body
      .Resources[0];
    await scim.patch(`/Users/${own.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'active', value: true }],
    });
    const res = await owner.post(`${dirUrl()}/apply-roles`, {});
    assert.equal(res.status, 200);
    assert.ok(
      res.body.changed.some(
        (c: { userName: string; from: string; to: string }) =>
          c.userName === 'ann@acme.example' && c.from === 'member' && c.to === 'admin',
      ),
    );
    assert.ok(
      res.body.refused.some((n: { cause: string }) => n.cause === 'last_primary_owner'),
      'the last owner is still not demoted',
    );
    assert.equal(await roleOf('ann@acme.example'), 'admin');
    assert.equal(await roleOf('owner@acme.example'), 'primary_owner');
  });

  test('sync log is searchable by user, outcome and time, newest first', async () => {
    const byUser = await owner.get(`${dirUrl()}/sync-log?user=ann@acme`);
    assert.ok(byUser.body.data.length >= 1);
    type E = { userName: string | null; operation: string; members?: { added: string[]; removed: string[] } };
    assert.ok(
      byUser.body.data.every(
        (e: E) =>
          (e.userName ?? '').includes('ann@acme') ||
          [...(e.members?.added ?? []), ...(e.members?.removed ?? [])].includes('ann@acme.example'),
      ),
    );
    const groupChanges = byUser.body.data.filter((e: E) => e.operation === 'patch_group');
    assert.ok(
      groupChanges.some((e: E) => e.members?.added.includes('ann@acme.example')),
      'group PATCHes that added Ann are found by her name',
    );
    assert.ok(groupChanges.some((e: E) => e.members?.removed.includes('ann@acme.example')));
    const byGroup = await owner.get(`${dirUrl()}/sync-log?group=acme-admins`);
    assert.ok(byGroup.body.data.length >= 3);
    assert.ok(byGroup.body.data.every((e: { groupName: string }) => e.groupName.toLowerCase().includes('acme-admins')));
    const failures = await owner.get(`${dirUrl()}/sync-log?outcome=failure`);
    assert.ok(failures.body.data.every((e: { outcome: string }) => e.outcome === 'failure'));
    const future = await owner.get(`${dirUrl()}/sync-log?from=2999-01-01T00:00:00Z`);
    assert.equal(future.body.data.length, 0);
    const page = await owner.get(`${dirUrl()}/sync-log?limit=2`);
    assert.equal(page.body.data.length, 2);
    assert.ok(page.body.data[0].id > page.body.data[1].id);
    const next = await owner.get(`${dirUrl()}/sync-log?limit=2&cursor=${page.body.nextCursor}`);
    assert.ok(next.body.data[0].id < page.body.data[1].id);
  });
});

describe('SCIM sync-log retention job', () => {
  test('purges entries older than the retention window, keeps the rest, and is idempotent', async () => {
    const t = await createTestApp({ scimSyncLogRetentionDays: 30 });
    try {
      assert.ok(allJobs(t.config).some((j) => j.name === 'scim.sync_log_retention'));
      const a = await t.seedOrg('Old', 'owner@old.example');
      const { scim } = await newDirectory(t, a.owner, a.orgId);
      await scim.get('/Users');
      t.clock.advance(31 * 86_400_000);
      await scim.get('/Groups');
      const job = scimSyncLogRetentionJob(t.config);
      assert.deepEqual((await job.run(t.system))?.deleted, 1);
      assert.deepEqual((await job.run(t.system))?.deleted, 0);
      const left = await t.system.db.selectFrom('scim_sync_log').select('operation').execute();
      assert.deepEqual(
        left.map((r) => r.operation),
        ['list_groups'],
      );
    } finally {
      await t.close();
    }
  });
});
