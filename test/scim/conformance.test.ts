import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { ENTERPRISE, GROUP, PATCH_OP, type ScimClient, USER, memberOf, newDirectory, user } from './helpers.js';

/**
 * RFC 7643/7644 conformance, written from the RFCs and from what public conformance suites
 * (scim2-tester and the like) send: minimal users, random externalIds, whole-extension PATCH paths,
 * absurd paging values, NUL and lone surrogates in every field, discovery walked end to end.
 */
const ACCOUNT = 'urn:palisade:scim:schemas:extension:account:1.0:User';
const MAPPING = 'urn:palisade:scim:schemas:extension:mapping:1.0:Group';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
const q = (f: string) => encodeURIComponent(f);
const patch = (...Operations: Record<string, unknown>[]) => ({ schemas: [PATCH_OP], Operations });

describe('SCIM conformance (RFC 7643/7644)', () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let scim: ScimClient;
  let directoryId: string;
  const syncLog = async (query: string) =>
    (await owner.get(`/api/v1/orgs/${orgId}/scim/directories/${directoryId}/sync-log?${query}`)).body.data as {
      id: string;
      cause: string | null;
      outcome: string;
      explanation: string | null;
      userName: string | null;
      notes: { cause: string; explanation: string }[];
    }[];
  const people = async (query = '') =>
    (await owner.get(`/api/v1/orgs/${orgId}/scim/directories/${directoryId}/users${query}`)).body.data as {
      id: string;
      userName: string;
      signIn: string;
      account: { email: string } | null;
      membership: { role: string; status: string } | null;
      explanation: string;
    }[];
  const scimCount = async () =>
    Number(
      (
        await t.system.db
          .selectFrom('scim_users')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );

  before(async () => {
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    assert.equal(
      (
        await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
          requiredPrefix: null,
          defaultRole: null,
          rules: [{ group: 'admins', role: 'admin' }],
        })
      ).status,
      200,
    );
    ({ scim, directoryId } = await newDirectory(t, owner, orgId));
  });
  after(() => t.close());

  describe('externalId is not unique', () => {
    test('two users may share an externalId: both are stored, a filter finds both, and the sync log warns', async () => {
      const a = await scim.post('/Users', user('ext-a@acme.example', { externalId: '00u-shared' }));
      const b = await scim.post('/Users', user('ext-b@acme.example', { externalId: '00u-shared' }));
      assert.equal(a.status, 201);
      assert.equal(b.status, 201, JSON.stringify(b.body));
      const found = await scim.get(`/Users?filter=${q('externalId eq "00u-shared"')}`);
      assert.deepEqual(found.body.Resources.map((r: { id: string }) => r.id).sort(), [a.body.id, b.body.id].sort());
      const [entry] = await syncLog('user=ext-b@acme.example&outcome=warning');
      assert.equal(entry?.cause, 'shared_external_id');
      assert.match(
        entry?.explanation ?? '',
        /externalId "00u-shared", which this directory's user "ext-a@acme.example"/,
      );
      assert.match(entry?.explanation ?? '', /check whether the user is duplicated/);
    });

    test('groups may share an externalId too', async () => {
      const a = await scim.post('/Groups', { schemas: [GROUP], displayName: 'shared-ext-1', externalId: 'g-shared' });
      const b = await scim.post('/Groups', { schemas: [GROUP], displayName: 'shared-ext-2', externalId: 'g-shared' });
      assert.equal(a.status, 201);
      assert.equal(b.status, 201);
      const [entry] = await syncLog('group=shared-ext-2&outcome=warning');
      assert.equal(entry?.cause, 'shared_external_id');
    });
  });

  describe('a user without an email address', () => {
    let jdoe: { id: string };
    let groupId: string;

    test("is accepted; the response, the sync log and the directory's people say plainly that they cannot sign in yet", async () => {
      const res = await scim.post('/Users', { schemas: [USER], userName: 'jdoe' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      jdoe = res.body;
      assert.ok(res.body.schemas.includes(ACCOUNT));
      assert.equal(res.body[ACCOUNT].status, 'awaiting_email');
      assert.match(res.body[ACCOUNT].explanation, /cannot sign in to Palisade until an address arrives/);
      const [entry] = await syncLog('user=jdoe');
      assert.equal(entry?.outcome, 'warning');
      assert.equal(entry?.cause, 'no_email');
      // The search folds A–Z and takes LIKE's wildcards literally, on both engines.
      assert.equal((await syncLog('user=JDOE'))[0]?.id, entry?.id);
      assert.equal((await syncLog('user=j_oe')).length, 0, '_ is a literal underscore, not any character');
      assert.equal((await syncLog('user=j%25e')).length, 0, '% is a literal percent sign, not any text');
      assert.match(entry?.explanation ?? '', /jdoe has no Palisade account yet.*Received: no email was sent/);
      const listed = (await people('?signIn=awaiting_email')).find((p) => p.userName === 'jdoe');
      assert.equal(listed?.account, null);
      assert.equal(listed?.membership, null);
      assert.match(listed?.explanation ?? '', /cannot sign in until it sends one/);
      // No account was made up for them.
      assert.equal(await memberOf(owner, orgId, 'jdoe'), null);
      const row = await t.system.db
        .selectFrom('scim_users')
        .select('user_id')
        .where('id', '=', jdoe.id)
        .executeTakeFirstOrThrow();
      assert.equal(row.user_id, null);
    });

    test('an address that is not one does not count, and says so', async () => {
      const res = await scim.post('/Users', {
        schemas: [USER],
        userName: 'kdoe',
        emails: [{ value: 'not an address', primary: true }],
      });
      assert.equal(res.status, 201);
      assert.equal(res.body[ACCOUNT].status, 'awaiting_email');
      const [entry] = await syncLog('user=kdoe');
      assert.match(entry?.explanation ?? '', /Received: the email "not an address" is not an address/);
    });

    test("joins groups like anyone; when an address arrives the account is linked and the group's role applies", async () => {
      const g = await scim.post('/Groups', { schemas: [GROUP], displayName: 'admins', members: [{ value: jdoe.id }] });
      assert.equal(g.status, 201, JSON.stringify(g.body));
      groupId = g.body.id;
      assert.equal(await memberOf(owner, orgId, 'jdoe@acme.example'), null);
      const res = await scim.patch(
        `/Users/${jdoe.id}`,
        patch({ op: 'add', path: 'emails', value: [{ value: 'jdoe@acme.example', type: 'work', primary: true }] }),
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body[ACCOUNT], undefined);
      assert.ok(!res.body.schemas.includes(ACCOUNT));
      const m = await memberOf(owner, orgId, 'jdoe@acme.example');
      assert.equal(m?.role, 'admin');
      assert.equal(m?.status, 'active');
      const [entry] = await syncLog(`user=jdoe`);
      assert.ok(
        entry?.notes.some(
          (n) => n.cause === 'account_linked' && /now has an email address \(jdoe@acme\.example\)/.test(n.explanation),
        ),
      );
      const listed = (await people()).find((p) => p.userName === 'jdoe');
      assert.equal(listed?.signIn, 'ready');
      assert.equal(listed?.account?.email, 'jdoe@acme.example');
      assert.ok(groupId);
    });

    test('deleting a user that never had an account deletes it and nothing else', async () => {
      const lone = await scim.post('/Users', { schemas: [USER], userName: 'no-address-at-all' });
      const before = await scimCount();
      assert.equal((await scim.delete(`/Users/${lone.body.id}`)).status, 204);
      assert.equal(await scimCount(), before - 1);
      assert.equal((await scim.get(`/Users/${lone.body.id}`)).status, 404);
    });
  });

  describe('discovery', () => {
    test('every reference attribute declares referenceTypes (groups.$ref, members.$ref, manager.$ref included)', async () => {
      const schemas = (await scim.get('/Schemas')).body.Resources as {
        id: string;
        attributes: Record<string, any>[];
      }[];
      const refs: string[] = [];
      const walk = (id: string, attrs: Record<string, any>[], prefix: string) => {
        for (const a of attrs) {
          const path = `${prefix}${a.name}`;
          for (const key of [
            'name',
            'type',
            'multiValued',
            'description',
            'required',
            'mutability',
            'returned',
            'uniqueness',
          ])
            assert.ok(key in a, `${id} ${path} has ${key}`);
          if (a.type === 'reference') {
            assert.ok(
              Array.isArray(a.referenceTypes) && a.referenceTypes.length > 0,
              `${id} ${path} has referenceTypes`,
            );
            refs.push(`${id}:${path}`);
          }
          if (a.type === 'complex')
            assert.ok(Array.isArray(a.subAttributes) && a.subAttributes.length, `${id} ${path} has subAttributes`);
          if (a.subAttributes) walk(id, a.subAttributes, `${path}.`);
        }
      };
      for (const s of schemas) walk(s.id, s.attributes, '');
      const byName = (id: string, path: string) => {
        const s = schemas.find((x) => x.id === id) as { attributes: Record<string, any>[] };
        const [top, sub] = path.split('.');
        const a = s.attributes.find((x) => x.name === top);
        return sub ? a?.subAttributes.find((x: { name: string }) => x.name === sub) : a;
      };
      assert.deepEqual(byName(USER, 'groups.$ref').referenceTypes, ['User', 'Group']);
      assert.deepEqual(byName(GROUP, 'members.$ref').referenceTypes, ['User', 'Group']);
      assert.deepEqual(byName(ENTERPRISE, 'manager.$ref').referenceTypes, ['User']);
      assert.ok(refs.length >= 5, refs.join(', '));
    });

    test('every schema a response names is served by /Schemas and declared by its ResourceType', async () => {
      const served = new Set(((await scim.get('/Schemas')).body.Resources as { id: string }[]).map((s) => s.id));
      const types = (await scim.get('/ResourceTypes')).body.Resources as {
        id: string;
        schema: string;
        schemaExtensions: { schema: string }[];
      }[];
      const declared = (id: string) => {
        const rt = types.find((r) => r.id === id) as (typeof types)[number];
        return new Set([rt.schema, ...rt.schemaExtensions.map((e) => e.schema)]);
      };
      const group = (await scim.get('/Groups')).body.Resources[0];
      const users = (await scim.get('/Users')).body.Resources as { schemas: string[] }[];
      assert.ok(group.schemas.includes(MAPPING));
      for (const urn of group.schemas) {
        assert.ok(served.has(urn), `${urn} is on /Schemas`);
        assert.ok(declared('Group').has(urn), `${urn} is declared by the Group resource type`);
        assert.equal((await scim.get(`/Schemas/${urn}`)).status, 200);
      }
      const userUrns = new Set(users.flatMap((u) => u.schemas));
      assert.ok(userUrns.has(ACCOUNT), 'jdoe and kdoe carry the account extension');
      assert.ok(served.has(ENTERPRISE) && declared('User').has(ENTERPRISE));
      for (const urn of userUrns) {
        assert.ok(served.has(urn), `${urn} is on /Schemas`);
        assert.ok(declared('User').has(urn), `${urn} is declared by the User resource type`);
      }
      for (const core of ['ServiceProviderConfig', 'ResourceType', 'Schema'])
        assert.ok(served.has(`urn:ietf:params:scim:schemas:core:2.0:${core}`));
    });

    test('a filter on a discovery endpoint is 403; other methods are 405 with Allow; unknown ids are 404', async () => {
      for (const path of ['/ServiceProviderConfig', '/ResourceTypes', '/Schemas']) {
        const filtered = await scim.get(`${path}?filter=${q('name eq "User"')}`);
        assert.equal(filtered.status, 403, path);
        assert.equal(filtered.body.schemas[0], ERROR);
        assert.match(filtered.body.detail, /do not filter/);
        for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
          const res = await scim.request(method, path);
          assert.equal(res.status, 405, `${method} ${path}`);
          assert.equal(res.body.status, '405');
          assert.match(String(res.headers.allow), /GET/);
        }
      }
      for (const path of ['/Schemas/urn:nope', '/ResourceTypes/Nope', `/${crypto.randomUUID()}`]) {
        const res = await scim.get(path);
        assert.equal(res.status, 404, path);
        assert.equal(res.body.schemas[0], ERROR);
      }
      const put = await scim.request('PUT', '/Users', {});
      assert.equal(put.status, 405);
      assert.equal(put.headers.allow, 'GET, HEAD, POST');
    });

    test('search at the server root is 501, as other unsupported features', async () => {
      const res = await scim.post('/.search', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
        filter: 'userName sw "a"',
      });
      assert.equal(res.status, 501);
      assert.equal(res.body.schemas[0], ERROR);
      assert.match(res.body.detail, /\/Users\/\.search or \/Groups\/\.search/);
    });
  });

  describe('PATCH', () => {
    test('an added primary email clears the other primaries (RFC 7643 §2.4), whatever the path form', async () => {
      const u = (
        await scim.post(
          '/Users',
          user('prim@acme.example', {
            emails: [{ value: 'prim@acme.example', type: 'work', primary: true }],
            phoneNumbers: [{ value: '+1 555 0100', primary: true }],
          }),
        )
      ).body;
      const added = await scim.patch(
        `/Users/${u.id}`,
        patch({ op: 'add', path: 'emails', value: [{ value: 'home@prim.example', type: 'home', primary: true }] }),
      );
      assert.equal(added.status, 200);
      assert.deepEqual(
        added.body.emails.map((e: { value: string; primary: boolean }) => [e.value, e.primary]),
        [
          ['prim@acme.example', false],
          ['home@prim.example', true],
        ],
      );
      const back = await scim.patch(
        `/Users/${u.id}`,
        patch({ op: 'replace', path: 'emails[value eq "prim@acme.example"].primary', value: true }),
      );
      assert.deepEqual(
        back.body.emails.map((e: { primary: boolean }) => e.primary),
        [true, false],
      );
      const phone = await scim.patch(
        `/Users/${u.id}`,
        patch({ op: 'add', value: { phoneNumbers: [{ value: '+1 555 0199', primary: true }] } }),
      );
      assert.deepEqual(
        phone.body.phoneNumbers.map((p: { primary: boolean }) => p.primary),
        [false, true],
      );
      // A POST with two primaries keeps the first.
      const two = await scim.post(
        '/Users',
        user('two@acme.example', {
          emails: [
            { value: 'two@acme.example', primary: true },
            { value: 'deux@acme.example', primary: true },
          ],
        }),
      );
      assert.deepEqual(
        two.body.emails.map((e: { primary: boolean }) => e.primary),
        [true, false],
      );
    });

    test('the enterprise extension URN as the path adds, replaces and removes the whole extension', async () => {
      const u = (
        await scim.post('/Users', user('ext@acme.example', { [ENTERPRISE]: { department: 'Sales', costCenter: 'C1' } }))
      ).body;
      const add = await scim.patch(
        `/Users/${u.id}`,
        patch({ op: 'add', path: ENTERPRISE, value: { employeeNumber: '42', manager: { value: u.id } } }),
      );
      assert.equal(add.status, 200, JSON.stringify(add.body));
      assert.deepEqual(add.body[ENTERPRISE], {
        department: 'Sales',
        costCenter: 'C1',
        employeeNumber: '42',
        manager: { value: u.id },
      });
      assert.equal(
        add.body[`${ENTERPRISE.slice(0, ENTERPRISE.lastIndexOf(':'))}`],
        undefined,
        'no bogus "…:2.0" attribute',
      );
      assert.ok(!Object.keys(add.body).some((k) => k.endsWith(':2.0')));
      const replace = await scim.patch(
        `/Users/${u.id}`,
        patch({ op: 'replace', path: ENTERPRISE.toLowerCase(), value: { division: 'EMEA' } }),
      );
      assert.deepEqual(replace.body[ENTERPRISE], { division: 'EMEA' });
      const projected = await scim.get(`/Users/${u.id}?attributes=${q(ENTERPRISE)}`);
      assert.deepEqual(Object.keys(projected.body).sort(), [ENTERPRISE, 'id', 'schemas'].sort());
      const excluded = await scim.get(`/Users/${u.id}?excludedAttributes=${q(ENTERPRISE)}`);
      assert.equal(excluded.body[ENTERPRISE], undefined);
      assert.equal(excluded.body.userName, 'ext@acme.example');
      const remove = await scim.patch(`/Users/${u.id}`, patch({ op: 'remove', path: ENTERPRISE }));
      assert.equal(remove.body[ENTERPRISE], undefined);
      assert.ok(!remove.body.schemas.includes(ENTERPRISE));
      const core = await scim.patch(`/Users/${u.id}`, patch({ op: 'replace', path: USER, value: { title: 'Chief' } }));
      assert.equal(core.body.title, 'Chief');
    });

    test("Palisade's read-only extensions cannot be patched: 400 mutability, nothing changes", async () => {
      const g = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'ro-ext' })).body;
      for (const op of [
        { op: 'replace', path: MAPPING, value: { role: 'admin' } },
        { op: 'add', path: `${MAPPING}:role`, value: 'admin' },
      ]) {
        const res = await scim.patch(`/Groups/${g.id}`, patch(op));
        assert.equal(res.status, 400);
        assert.equal(res.body.scimType, 'mutability');
        assert.match(res.body.detail, /computed by Palisade and read-only/);
      }
      assert.equal((await scim.get(`/Groups/${g.id}`)).body[MAPPING].role, null);
    });

    test('removing "active" never grants access: a suspended person stays suspended, an active one active', async () => {
      const u = (await scim.post('/Users', user('sleeper@acme.example'))).body;
      assert.equal(
        (await scim.patch(`/Users/${u.id}`, patch({ op: 'replace', path: 'active', value: false }))).status,
        200,
      );
      assert.equal((await memberOf(owner, orgId, 'sleeper@acme.example'))?.status, 'suspended');
      const removed = await scim.patch(`/Users/${u.id}`, patch({ op: 'remove', path: 'active' }));
      assert.equal(removed.status, 200);
      assert.equal(removed.body.active, undefined, 'unassigned, as the client asked');
      assert.equal((await memberOf(owner, orgId, 'sleeper@acme.example'))?.status, 'suspended');
      // A PUT that leaves it out changes nothing either.
      assert.equal(
        (await scim.put(`/Users/${u.id}`, { schemas: [USER], userName: 'sleeper@acme.example' })).status,
        200,
      );
      assert.equal((await memberOf(owner, orgId, 'sleeper@acme.example'))?.status, 'suspended');
      const [entry] = await syncLog('user=sleeper@acme.example');
      assert.ok(
        entry?.notes.some(
          (n) => n.cause === 'active_unassigned' && /keeps their access as it was \(suspended\)/.test(n.explanation),
        ),
      );
      // Only an explicit true gives it back.
      assert.equal(
        (await scim.patch(`/Users/${u.id}`, patch({ op: 'replace', path: 'active', value: true }))).body.active,
        true,
      );
      assert.equal((await memberOf(owner, orgId, 'sleeper@acme.example'))?.status, 'active');
      await scim.patch(`/Users/${u.id}`, patch({ op: 'remove', path: 'active' }));
      assert.equal((await memberOf(owner, orgId, 'sleeper@acme.example'))?.status, 'active');
    });

    test('a user sent as a member with type "Group" is added as the user it is; a real group is refused as a nested group', async () => {
      const u = (await scim.post('/Users', user('typed@acme.example'))).body;
      const g = await scim.post('/Groups', {
        schemas: [GROUP],
        displayName: 'typed-members',
        members: [{ value: u.id, type: 'Group' }],
      });
      assert.equal(g.status, 201, JSON.stringify(g.body));
      assert.deepEqual(
        g.body.members.map((m: { value: string; type: string }) => [m.value, m.type]),
        [[u.id, 'User']],
      );
      const [entry] = await syncLog('group=typed-members');
      assert.ok(entry?.notes.some((n) => n.cause === 'member_type_corrected'));
      const nested = await scim.patch(
        `/Groups/${g.body.id}`,
        patch({ op: 'add', path: 'members', value: [{ value: g.body.id, type: 'User' }] }),
      );
      assert.equal(nested.status, 400);
      assert.equal(nested.body.scimType, 'invalidValue');
      assert.match(nested.body.detail, new RegExp(`Member ${g.body.id} is a group of this directory`));
      const ghost = await scim.patch(
        `/Groups/${g.body.id}`,
        patch({ op: 'add', path: 'members', value: [{ value: 'scu_nobody', type: 'Group' }] }),
      );
      assert.match(ghost.body.detail, /are not users of this directory/);
      assert.doesNotMatch(ghost.body.detail, /is a group/);
    });
  });

  describe('paging and search input', () => {
    test('startIndex beyond 64 bits (or infinite) is past the end: 200 with no resources, on GET and /.search', async () => {
      for (const path of ['/Users', '/Groups']) {
        for (const v of ['99999999999999999999', '1e30', '-1e30', '9223372036854775808', '1.7976931348623157e309']) {
          const res = await scim.get(`${path}?startIndex=${v}&count=5`);
          assert.equal(res.status, 200, `${path} startIndex=${v}: ${JSON.stringify(res.body)}`);
          if (!v.startsWith('-')) assert.deepEqual(res.body.Resources, []);
          assert.ok(res.body.totalResults > 0);
        }
        for (const v of [1e30, 99999999999999999999, '1e30', 1.5e308]) {
          const res = await scim.post(`${path}/.search`, {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
            startIndex: v,
            count: 10,
          });
          assert.equal(res.status, 200, `${path}/.search startIndex=${v}`);
          assert.deepEqual(res.body.Resources, []);
        }
        const huge = await scim.get(`${path}?count=1e30`);
        assert.equal(huge.status, 200);
      }
    });

    test('dateTime attributes filter as instants, whatever their time zone notation', async () => {
      const u = (await scim.post('/Users', user('clock@acme.example'))).body;
      const created = new Date(u.meta.created);
      // The same instant written one hour east of UTC.
      const east = new Date(created.getTime() + 3600_000).toISOString().replace('Z', '+01:00');
      const eq = await scim.get(`/Users?filter=${q(`meta.created eq "${east}" and userName eq "clock@acme.example"`)}`);
      assert.equal(eq.body.totalResults, 1);
      const later = new Date(created.getTime() + 1).toISOString();
      assert.equal(
        (await scim.get(`/Users?filter=${q(`meta.created gt "${later}" and userName eq "clock@acme.example"`)}`)).body
          .totalResults,
        0,
      );
      assert.equal(
        (
          await scim.get(
            `/Users?filter=${q(`meta.lastModified ge "2000-01-01T00:00:00-05:00" and userName eq "clock@acme.example"`)}`,
          )
        ).body.totalResults,
        1,
      );
    });

    test('wrong types and repeated parameters are 400 invalidValue, never a crash', async () => {
      const cases: [string, string, unknown?][] = [
        ['GET', '/Users?startIndex=abc'],
        ['GET', '/Users?count=ten'],
        ['GET', '/Users?sortBy=userName&sortBy=id'],
        ['GET', '/Users?attributes=userName&attributes=id'],
        ['GET', '/Users?filter=a&filter=b'],
        ['POST', '/Users/.search', { filter: 5 }],
        ['POST', '/Users/.search', { attributes: [1] }],
        ['POST', '/Users/.search', { startIndex: {} }],
        ['POST', '/Users/.search', { count: [] }],
        ['POST', '/Groups/.search', [1, 2]],
        ['POST', '/Groups/.search', 'text'],
      ];
      for (const [method, path, body] of cases) {
        const res = await scim.request(method, path, body);
        assert.equal(res.status, 400, `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.schemas[0], ERROR);
        assert.ok(['invalidValue', 'invalidSyntax'].includes(res.body.scimType));
      }
      // A SearchRequest's attributes are a list of paths.
      const ok = await scim.post('/Users/.search', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
        attributes: ['userName'],
        filter: 'userName eq "typed@acme.example"',
      });
      assert.equal(ok.status, 200);
      assert.deepEqual(Object.keys(ok.body.Resources[0]).sort(), ['id', 'schemas', 'userName']);
    });
  });

  describe('text no engine can store', () => {
    const NUL = 'a\u0000b';
    const LONE = 'a\ud800b';
    // In a URL a lone surrogate can only travel as the UTF-8 bytes of one, which are not UTF-8: refused as an invalid URL.
    const inUrl = (s: string) => (s === LONE ? 'a%ED%A0%80b' : encodeURIComponent(s));
    for (const [label, bad] of [
      ['NUL', NUL],
      ['a lone surrogate', LONE],
    ] as const) {
      test(`${label} anywhere is 400 invalidValue on this database, and nothing is stored`, async () => {
        const u = (await scim.post('/Users', user(`bad-text-${label.length}@acme.example`))).body;
        const g = (await scim.post('/Groups', { schemas: [GROUP], displayName: `bad-text-${label.length}` })).body;
        const beforeUsers = await scimCount();
        const cases: [string, string, unknown?][] = [
          ['GET', `/Users/scu_${inUrl(bad)}`],
          ['GET', `/Users?filter=${q('userName eq "')}${inUrl(bad)}${q('"')}`],
          ['POST', '/Users', user(`${bad}@acme.example`)],
          ['POST', '/Users', { schemas: [USER], userName: 'fine@acme.example', displayName: bad }],
          ['POST', '/Users', { schemas: [USER], userName: 'fine@acme.example', externalId: bad }],
          ['POST', '/Users', { schemas: [USER], userName: 'fine@acme.example', [bad]: 'key' }],
          ['PATCH', `/Users/${u.id}`, patch({ op: 'replace', path: 'displayName', value: bad })],
          ['PUT', `/Users/${u.id}`, { schemas: [USER], userName: bad }],
          ['POST', '/Groups', { schemas: [GROUP], displayName: bad }],
          ['PATCH', `/Groups/${g.id}`, patch({ op: 'add', path: 'members', value: [{ value: bad }] })],
          ['POST', '/Users/.search', { filter: `userName eq "${bad}"` }],
          ['DELETE', `/Groups/${inUrl(bad)}`],
        ];
        for (const [method, path, body] of cases) {
          const res = await scim.request(method, path, body === undefined ? undefined : JSON.stringify(body));
          assert.equal(res.status, 400, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
          assert.equal(res.body.schemas[0], ERROR);
          if (body === undefined && bad === LONE && path.includes('%ED%A0%80')) {
            // Path parameters: the router refuses bytes that are not UTF-8; query strings keep them as text and pass.
            if (!path.includes('?'))
              assert.match(res.body.detail, /not valid: a percent-encoded sequence in it is not UTF-8/);
            continue;
          }
          assert.equal(res.body.scimType, 'invalidValue');
          assert.match(res.body.detail, label === 'NUL' ? /NUL character/ : /lone UTF-16 surrogate/);
        }
        assert.equal(await scimCount(), beforeUsers);
        assert.equal((await scim.get(`/Users/${u.id}`)).body.displayName, u.displayName);
        assert.deepEqual((await scim.get(`/Groups/${g.id}`)).body.members, []);
      });
    }
  });

  test('bad text from someone without a token writes nothing to the sync log (no way to flood it)', async () => {
    const rows = async () =>
      Number(
        (
          await t.system.db
            .selectFrom('scim_sync_log')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('directory_id', '=', directoryId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const before = await rows();
    for (let i = 0; i < 5; i++) {
      const res = await t.app.inject({ method: 'GET', url: `/scim/v2/${directoryId}/Users?filter=a%00${i}` });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().scimType, 'invalidValue');
    }
    assert.equal(await rows(), before);
  });

  test('DELETE with a SCIM content type and an empty body deletes (an empty body is no body)', async () => {
    const u = (await scim.post('/Users', user('empty-body@acme.example'))).body;
    const res = await scim.request('DELETE', `/Users/${u.id}`, '', { 'content-type': 'application/scim+json' });
    assert.equal(res.status, 204, JSON.stringify(res.body));
    assert.equal((await scim.get(`/Users/${u.id}`)).status, 404);
    const g = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'empty-body' })).body;
    assert.equal(
      (await scim.request('DELETE', `/Groups/${g.id}`, '', { 'content-type': 'application/json' })).status,
      204,
    );
  });
});
