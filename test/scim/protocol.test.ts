import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { ENTERPRISE, PATCH_OP, type ScimClient, USER, newDirectory, user } from './helpers.js';

/** RFC 7643/7644 behaviour of the SCIM endpoints. */
describe('SCIM protocol (RFC 7644)', () => {
  let t: TestApp;
  let scim: ScimClient;
  const q = (f: string) => encodeURIComponent(f);
  before(async () => {
    t = await createTestApp();
    const a = await t.seedOrg('Acme', 'owner@acme.example');
    ({ scim } = await newDirectory(t, a.owner, a.orgId));
    for (const [i, n] of ['zoe', 'adam', 'mia', 'liam', 'emma'].entries()) {
      const r = await scim.post(
        '/Users',
        user(`${n}@acme.example`, {
          externalId: `ext-${n}`,
          title: i % 2 ? 'Engineer' : 'Manager',
          [ENTERPRISE]: { department: i % 2 ? 'R&D' : 'Sales', employeeNumber: String(100 + i) },
        }),
      );
      assert.equal(r.status, 201);
    }
  });
  after(() => t.close());

  test('discovery: ServiceProviderConfig, ResourceTypes, Schemas; /Me and /Bulk answer 501', async () => {
    const spc = await scim.get('/ServiceProviderConfig');
    assert.equal(spc.status, 200);
    assert.equal(spc.body.patch.supported, true);
    assert.equal(spc.body.filter.supported, true);
    assert.equal(spc.body.etag.supported, true);
    assert.equal(spc.body.bulk.supported, false);
    const rt = await scim.get('/ResourceTypes');
    assert.deepEqual(
      rt.body.Resources.map((r: { id: string }) => r.id),
      ['User', 'Group'],
    );
    assert.equal(rt.body.Resources[0].schemaExtensions[0].schema, ENTERPRISE);
    const schemas = await scim.get('/Schemas');
    assert.deepEqual(
      schemas.body.Resources.map((r: { name: string }) => r.name),
      [
        'User',
        'Group',
        'EnterpriseUser',
        'PalisadeAccount',
        'PalisadeRoleMapping',
        'ServiceProviderConfig',
        'ResourceType',
        'Schema',
      ],
    );
    assert.equal(schemas.body.totalResults, 8);
    const ent = await scim.get(`/Schemas/${ENTERPRISE}`);
    assert.ok(ent.body.attributes.some((a: { name: string }) => a.name === 'manager'));
    for (const method of ['GET', 'PATCH', 'POST']) {
      const me = await scim.request(method, '/Me', method === 'GET' ? undefined : {});
      assert.equal(me.status, 501);
      assert.equal(me.body.status, '501');
      assert.equal(me.body.schemas[0], 'urn:ietf:params:scim:api:messages:2.0:Error');
    }
    assert.equal((await scim.post('/Bulk', {})).status, 501);
    const nowhere = await scim.get('/Nope');
    assert.equal(nowhere.status, 404);
    assert.equal(nowhere.body.schemas[0], 'urn:ietf:params:scim:api:messages:2.0:Error');
  });

  test('content types: application/scim+json and application/json accepted; others 415; bad JSON is invalidSyntax', async () => {
    const json = await scim.request('POST', '/Users', JSON.stringify(user('json@acme.example')), {
      'content-type': 'application/json',
    });
    assert.equal(json.status, 201);
    const charset = await scim.request('POST', '/Users', JSON.stringify(user('charset@acme.example')), {
      'content-type': 'application/scim+json; charset=utf-8',
    });
    assert.equal(charset.status, 201);
    assert.equal((await scim.delete(`/Users/${charset.body.id}`)).status, 204);
    const xml = await scim.request('POST', '/Users', '<user/>', { 'content-type': 'application/xml' });
    assert.equal(xml.status, 415);
    assert.equal(xml.body.schemas[0], 'urn:ietf:params:scim:api:messages:2.0:Error');
    const bad = await scim.request('POST', '/Users', '{"userName": ', { 'content-type': 'application/scim+json' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.scimType, 'invalidSyntax');
  });

  test('uniqueness: userName (case-insensitive) is unique per directory (409 uniqueness); externalId is not', async () => {
    const dup = await scim.post('/Users', user('ZOE@acme.example'));
    assert.equal(dup.status, 409);
    assert.equal(dup.body.scimType, 'uniqueness');
    assert.match(dup.body.detail, /already exists/);
    // RFC 7643 §3.1: externalId has uniqueness "none" (the warning it earns is tested in conformance.test.ts).
    const ext = await scim.post('/Users', user('other@acme.example', { externalId: 'ext-zoe' }));
    assert.equal(ext.status, 201);
    assert.equal((await scim.delete(`/Users/${ext.body.id}`)).status, 204);
    const id = (await scim.get(`/Users?filter=${q('userName eq "adam@acme.example"')}`)).body.Resources[0].id;
    const rename = await scim.patch(`/Users/${id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'userName', value: 'mia@acme.example' }],
    });
    assert.equal(rename.status, 409);
    assert.equal(rename.body.scimType, 'uniqueness');
  });

  test('filters: eq/co/sw/pr, and/or/not, value paths, extension attributes, case-insensitive names', async () => {
    const count = async (f: string) => {
      const r = await scim.get(`/Users?filter=${q(f)}`);
      assert.equal(r.status, 200, `${f}: ${JSON.stringify(r.body)}`);
      return r.body.totalResults as number;
    };
    assert.equal(await count('USERNAME eq "Zoe@Acme.Example"'), 1);
    assert.equal(await count('externalId eq "ext-mia"'), 1);
    assert.equal(await count('userName sw "e"'), 1);
    assert.equal(await count('title eq "Engineer" and not (userName co "adam")'), 1);
    assert.equal(await count('title eq "Engineer" or userName ew "zoe@acme.example"'), 3);
    assert.equal(await count(`${ENTERPRISE}:department eq "R&D"`), 2);
    assert.equal(await count('emails[type eq "work" and value co "mia"]'), 1);
    assert.equal(await count('emails[type eq "work"].value sw "liam"'), 1);
    assert.equal(await count('emails[type eq "home"].value sw "liam"'), 0);
    assert.equal(await count('name.givenName pr'), 6);
    assert.equal(await count('meta.created gt "2000-01-01T00:00:00Z"'), 6);
    const bad = await scim.get(`/Users?filter=${q('userName eq')}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.scimType, 'invalidFilter');
  });

  test('pagination with startIndex/count, sortBy/sortOrder, totalResults', async () => {
    const p1 = await scim.get('/Users?startIndex=1&count=2&sortBy=userName');
    assert.equal(p1.body.totalResults, 6);
    assert.equal(p1.body.itemsPerPage, 2);
    assert.deepEqual(
      p1.body.Resources.map((r: { userName: string }) => r.userName),
      ['adam@acme.example', 'emma@acme.example'],
    );
    const p3 = await scim.get('/Users?startIndex=5&count=10&sortBy=userName');
    assert.deepEqual(
      p3.body.Resources.map((r: { userName: string }) => r.userName),
      ['mia@acme.example', 'zoe@acme.example'],
    );
    assert.equal(p3.body.startIndex, 5);
    const desc = await scim.get(
      `/Users?sortBy=${ENTERPRISE}:employeeNumber&sortOrder=descending&filter=${q('title pr')}`,
    );
    assert.equal(desc.body.Resources[0].userName, 'emma@acme.example');
    const zero = await scim.get('/Users?count=0');
    assert.equal(zero.body.totalResults, 6);
    assert.equal(zero.body.Resources.length, 0);
  });

  test('attributes and excludedAttributes', async () => {
    const only = await scim.get(
      `/Users?filter=${q('userName eq "zoe@acme.example"')}&attributes=userName,name.familyName,${ENTERPRISE}:department`,
    );
    const r = only.body.Resources[0];
    assert.deepEqual(Object.keys(r).sort(), ['id', 'name', 'schemas', 'userName', ENTERPRISE].sort());
    assert.deepEqual(r.name, { familyName: 'Test' });
    assert.deepEqual(r[ENTERPRISE], { department: 'Sales' });
    const ex = await scim.get(`/Users/${r.id}?excludedAttributes=emails,name,meta`);
    assert.equal(ex.body.emails, undefined);
    assert.equal(ex.body.name, undefined);
    assert.equal(ex.body.userName, 'zoe@acme.example');
    assert.equal(ex.body.id, r.id);
  });

  test('enterprise extension stored and returned; manager sent as a bare id becomes {value}', async () => {
    const boss = (await scim.get(`/Users?filter=${q('userName eq "mia@acme.example"')}`)).body.Resources[0];
    const res = await scim.post(
      '/Users',
      user('report@acme.example', {
        schemas: [USER, ENTERPRISE],
        [ENTERPRISE]: { department: 'Ops', employeeNumber: '42', manager: { value: boss.id } },
      }),
    );
    assert.equal(res.status, 201);
    assert.deepEqual(res.body.schemas, [USER, ENTERPRISE]);
    assert.equal(res.body[ENTERPRISE].department, 'Ops');
    const p = await scim.patch(`/Users/${res.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: 'mgr-123' }],
    });
    assert.equal(p.status, 200);
    assert.deepEqual(p.body[ENTERPRISE].manager, { value: 'mgr-123' });
    const got = await scim.get(`/Users/${res.body.id}`);
    assert.equal(got.body[ENTERPRISE].employeeNumber, '42');
  });

  test('ETags: meta.version and the ETag header; stale If-Match is 412 and changes nothing; If-None-Match 304', async () => {
    const u = (await scim.get(`/Users?filter=${q('userName eq "liam@acme.example"')}`)).body.Resources[0];
    const got = await scim.get(`/Users/${u.id}`);
    assert.equal(got.headers.etag, got.body.meta.version);
    const etag = String(got.headers.etag);
    assert.equal((await scim.get(`/Users/${u.id}`, { 'if-none-match': etag })).status, 304);
    const ok = await scim.patch(
      `/Users/${u.id}`,
      { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Lead' }] },
      { 'if-match': etag },
    );
    assert.equal(ok.status, 200);
    assert.notEqual(ok.headers.etag, etag);
    const stale = await scim.patch(
      `/Users/${u.id}`,
      { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Stale' }] },
      { 'if-match': etag },
    );
    assert.equal(stale.status, 412);
    assert.equal((await scim.get(`/Users/${u.id}`)).body.title, 'Lead');
    const staleDel = await scim.delete(`/Users/${u.id}`, { 'if-match': etag });
    assert.equal(staleDel.status, 412);
  });

  test('PUT replaces the resource; unknown attributes are kept and returned as sent; read-only ones are ignored', async () => {
    const u = (await scim.get(`/Users?filter=${q('userName eq "emma@acme.example"')}`)).body.Resources[0];
    const put = await scim.put(`/Users/${u.id}`, {
      schemas: [USER],
      id: 'forged',
      userName: 'emma@acme.example',
      displayName: 'Emma',
      favouriteColour: 'teal',
      groups: [{ value: 'forged' }],
      meta: { version: 'W/"999"' },
    });
    assert.equal(put.status, 200);
    assert.equal(put.body.id, u.id);
    assert.equal(put.body.favouriteColour, 'teal');
    assert.equal(put.body.title, undefined, 'PUT replaced the old attributes');
    assert.equal(put.body.groups, undefined);
    // A PUT without "active" leaves it unassigned, and the person's access as it was.
    assert.equal(put.body.active, undefined);
    assert.equal((await scim.get(`/Users/${u.id}`)).body.active, undefined);
    const missing = await scim.put(`/Users/${u.id}`, { schemas: [USER], displayName: 'No userName' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.scimType, 'invalidValue');
  });

  test('PATCH per the RFC and as real clients send it', async () => {
    const u = (await scim.get(`/Users?filter=${q('userName eq "zoe@acme.example"')}`)).body.Resources[0];
    const ops = (Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
    // Capitalised op names and boolean strings (Entra).
    let r = await scim.patch(
      `/Users/${u.id}`,
      ops([
        { op: 'Replace', path: 'active', value: 'False' },
        { op: 'Replace', path: 'active', value: 'True' },
      ]),
    );
    assert.equal(r.status, 200);
    assert.equal(r.body.active, true);
    // Path-less replace with a value object, dotted keys and an extension block.
    r = await scim.patch(
      `/Users/${u.id}`,
      ops([{ op: 'replace', value: { 'name.givenName': 'Zoë', title: 'CTO', [ENTERPRISE]: { department: 'Exec' } } }]),
    );
    assert.equal(r.body.name.givenName, 'Zoë');
    assert.equal(r.body.name.familyName, 'Test', 'sub-attributes not named are kept');
    assert.equal(r.body[ENTERPRISE].department, 'Exec');
    assert.equal(r.body[ENTERPRISE].employeeNumber, '100');
    // Value-path filters.
    r = await scim.patch(
      `/Users/${u.id}`,
      ops([{ op: 'replace', path: 'emails[type eq "work"].value', value: 'zoe.new@acme.example' }]),
    );
    assert.equal(r.body.emails[0].value, 'zoe.new@acme.example');
    r = await scim.patch(
      `/Users/${u.id}`,
      ops([
        {
          op: 'add',
          path: 'phoneNumbers',
          value: [
            { type: 'mobile', value: '+1 555' },
            { type: 'work', value: '+1 556' },
          ],
        },
      ]),
    );
    assert.equal(r.body.phoneNumbers.length, 2);
    r = await scim.patch(`/Users/${u.id}`, ops([{ op: 'remove', path: 'phoneNumbers[type eq "mobile"]' }]));
    assert.deepEqual(r.body.phoneNumbers, [{ type: 'work', value: '+1 556' }]);
    // Case-insensitive attribute names in paths.
    r = await scim.patch(
      `/Users/${u.id}`,
      ops([
        { op: 'replace', path: 'DISPLAYNAME', value: 'Zoe Z' },
        { op: 'remove', path: 'Title' },
      ]),
    );
    assert.equal(r.body.displayName, 'Zoe Z');
    assert.equal(r.body.title, undefined);
    // Unknown attributes are kept through PATCH too, as with POST/PUT.
    r = await scim.patch(
      `/Users/${u.id}`,
      ops([
        { op: 'add', path: 'costume', value: 'pirate' },
        { op: 'add', value: { 'urn:example:custom:1.0:User': { badge: '7' } } },
      ]),
    );
    assert.equal(r.status, 200);
    assert.equal(r.body.costume, 'pirate');
    assert.deepEqual(r.body['urn:example:custom:1.0:User'], { badge: '7' });
    // Refusals in SCIM shape, never a 500.
    const cases: [unknown, number, string][] = [
      [ops([{ op: 'jump', path: 'title', value: 'x' }]), 400, 'invalidSyntax'],
      [ops([{ op: 'remove' }]), 400, 'noTarget'],
      [ops([{ op: 'replace', path: 'id', value: 'x' }]), 400, 'mutability'],
      [ops([{ op: 'replace', path: 'groups', value: [] }]), 400, 'mutability'],
      [ops([{ op: 'replace', path: 'emails[type eq', value: 'x' }]), 400, 'invalidPath'],
      [ops([{ op: 'replace', path: 'active', value: 'maybe' }]), 400, 'invalidValue'],
      [
        ops([{ op: 'replace', path: 'phoneNumbers[type eq "fax" or type eq "pager"]', value: { value: '1' } }]),
        400,
        'noTarget',
      ],
      [{ schemas: [PATCH_OP] }, 400, 'invalidSyntax'],
      [[1, 2], 400, 'invalidSyntax'],
    ];
    for (const [body, status, scimType] of cases) {
      const res = await scim.patch(`/Users/${u.id}`, body);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.body.scimType, scimType, JSON.stringify(body));
    }
    assert.equal(
      (await scim.patch('/Users/scu_missing', ops([{ op: 'replace', path: 'title', value: 'x' }]))).status,
      404,
    );
  });

  test('groups: members, members[value eq] removal, full-list replace, displayName filter, excludedAttributes=members', async () => {
    const ids = (await scim.get('/Users?sortBy=userName')).body.Resources.map((r: { id: string }) => r.id) as string[];
    const g = await scim.post('/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: 'Team',
      externalId: 'g-1',
      members: [{ value: ids[0] }, { value: ids[1] }],
    });
    assert.equal(g.status, 201);
    assert.equal(g.body.members.length, 2);
    const dup = await scim.post('/Groups', { displayName: 'TEAM' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.scimType, 'uniqueness');
    const unknown = await scim.post('/Groups', { displayName: 'Ghosts', members: [{ value: 'scu_nobody' }] });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.detail, /not users of this directory/);
    let r = await scim.patch(`/Groups/${g.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'remove', path: `members[value eq "${ids[0]}"]` }],
    });
    assert.deepEqual(
      r.body.members.map((m: { value: string }) => m.value),
      [ids[1]],
    );
    r = await scim.patch(`/Groups/${g.body.id}`, {
      schemas: [PATCH_OP],
      Operations: [{ op: 'replace', path: 'members', value: [{ value: ids[2] }, { value: ids[3] }] }],
    });
    assert.deepEqual(r.body.members.map((m: { value: string }) => m.value).sort(), [ids[2], ids[3]].sort());
    const list = await scim.get(`/Groups?filter=${q('displayName eq "team"')}&excludedAttributes=members`);
    assert.equal(list.body.totalResults, 1);
    assert.equal(list.body.Resources[0].members, undefined);
    const byMember = await scim.get(
      `/Groups?filter=${q(`id eq "${g.body.id}" and members[value eq "${ids[2]}"]`)}&excludedAttributes=members`,
    );
    assert.equal(byMember.body.totalResults, 1);
    const notMember = await scim.get(`/Groups?filter=${q(`id eq "${g.body.id}" and members[value eq "${ids[0]}"]`)}`);
    assert.equal(notMember.body.totalResults, 0);
    const user0 = await scim.get(`/Users/${ids[2]}`);
    assert.deepEqual(
      user0.body.groups.map((x: { display: string }) => x.display),
      ['Team'],
    );
    assert.equal((await scim.delete(`/Groups/${g.body.id}`)).status, 204);
    assert.equal((await scim.get(`/Groups/${g.body.id}`)).status, 404);
    assert.equal((await scim.get(`/Users/${ids[2]}`)).body.groups, undefined);
  });
});

describe('hostile bodies never produce a 500', () => {
  let t: TestApp;
  let scim: ScimClient;
  before(async () => {
    t = await createTestApp();
    const a = await t.seedOrg('Acme', 'owner@acme.example');
    ({ scim } = await newDirectory(t, a.owner, a.orgId));
  });
  after(() => t.close());

  test('deep nesting, wrong types and random shapes on every write endpoint answer 2xx or a SCIM 4xx', async () => {
    const u = await scim.post('/Users', user('victim@acme.example'));
    const g = await scim.post('/Groups', { displayName: 'victims', members: [{ value: u.body.id }] });
    const deep = (n: number) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown;
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const atoms: unknown[] = [
      null,
      true,
      'False',
      0,
      -1,
      1e308,
      '',
      'x'.repeat(5000),
      [],
      {},
      deep(3000),
      [{ value: u.body.id }],
      { value: 'nope' },
      [null],
      { op: 'add' },
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager',
    ];
    const pick = () => atoms[Math.floor(rnd() * atoms.length)];
    const keys = [
      'userName',
      'emails',
      'name',
      'active',
      'members',
      'displayName',
      'externalId',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
      'groups',
      'meta',
      'id',
      'schemas',
      'Operations',
      'op',
      'path',
      'value',
      'name.givenName',
      'emails[type eq "work"].value',
    ];
    const obj = (): Record<string, unknown> =>
      Object.fromEntries(
        Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => [
          keys[Math.floor(rnd() * keys.length)] as string,
          rnd() < 0.3 ? obj2() : pick(),
        ]),
      );
    const obj2 = (): Record<string, unknown> =>
      Object.fromEntries([[keys[Math.floor(rnd() * keys.length)] as string, pick()]]);
    const ops = () => ({
      schemas: [PATCH_OP],
      Operations: Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => ({
        op: ['add', 'Replace', 'remove', 'x'][Math.floor(rnd() * 4)],
        ...(rnd() < 0.8 ? { path: keys[Math.floor(rnd() * keys.length)] } : {}),
        value: rnd() < 0.5 ? pick() : obj(),
      })),
    });
    for (let i = 0; i < 150; i++) {
      const targets: [string, string, unknown][] = [
        ['POST', '/Users', obj()],
        ['PUT', `/Users/${u.body.id}`, { userName: 'victim@acme.example', ...obj() }],
        ['PATCH', `/Users/${u.body.id}`, ops()],
        ['POST', '/Groups', obj()],
        ['PATCH', `/Groups/${g.body.id}`, ops()],
        ['POST', '/Users/.search', obj()],
      ];
      for (const [method, path, body] of targets) {
        const res = await scim.request(method, path, body);
        assert.ok(
          res.status < 500,
          `${method} ${path} ${JSON.stringify(body).slice(0, 300)} → ${res.status} ${JSON.stringify(res.body)}`,
        );
        if (res.status >= 400) assert.equal(res.body.schemas[0], 'urn:ietf:params:scim:api:messages:2.0:Error');
      }
    }
  });
});
