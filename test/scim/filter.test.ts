import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ScimError } from '../../src/scim/errors.js';
import { matches, parseFilter, parsePatchPath } from '../../src/scim/filter.js';
import { SCHEMA_SETS } from '../../src/scim/schemas.js';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { type ScimClient, newDirectory, user } from './helpers.js';

const bjensen = {
  userName: 'bjensen@example.com',
  name: { familyName: 'Jensen', givenName: 'Barbara' },
  title: 'Tour Guide',
  userType: 'Employee',
  active: true,
  emails: [
    { type: 'work', value: 'bjensen@example.com', primary: true },
    { type: 'home', value: 'babs@jensen.org' },
  ],
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {
    employeeNumber: '701984',
    department: 'Tour Operations',
    manager: { value: '26118915' },
  },
  meta: { lastModified: '2011-05-13T04:42:34Z', created: '2010-01-23T04:56:22Z' },
  x: 5,
};

describe('SCIM filter grammar (RFC 7644 §3.4.2.2)', () => {
  const yes = (f: string) => assert.equal(matches(parseFilter(f), bjensen, SCHEMA_SETS.User), true, f);
  const no = (f: string) => assert.equal(matches(parseFilter(f), bjensen, SCHEMA_SETS.User), false, f);

  test("the RFC's examples parse and evaluate", () => {
    yes('userName eq "bjensen@example.com"');
    yes('name.familyName co "O" or name.familyName co "ense"');
    yes('userName sw "J" or userName sw "b"');
    yes('title pr');
    no('nickName pr');
    yes('meta.lastModified gt "2011-05-13T04:42:34Z" or meta.lastModified ge "2011-05-13T04:42:34Z"');
    no('meta.lastModified lt "2011-05-13T04:42:34Z"');
    yes('meta.lastModified le "2011-05-13T04:42:34Z"');
    yes('title pr and userType eq "Employee"');
    yes('title pr or userType eq "Intern"');
    yes('userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")');
    no('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")');
    yes('userType eq "Employee" and (emails.type eq "work")');
    yes('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]');
    yes('emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]');
  });

  test('value paths followed by a sub-attribute test the same element', () => {
    yes('emails[type eq "work"].value co "example.com"');
    no('emails[type eq "work"].value co "jensen.org"');
    yes('emails[type eq "home"].value ew ".org"');
  });

  test('case-insensitive attribute names and operators; caseExact per schema', () => {
    yes('USERNAME EQ "BJENSEN@EXAMPLE.COM"');
    yes('Name.FamilyName Sw "jen"');
    yes('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations"');
    yes('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"');
    yes('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "bj"');
    assert.equal(
      matches(parseFilter('externalId eq "ABC"'), { externalId: 'abc' }, SCHEMA_SETS.User),
      false,
      'externalId is caseExact',
    );
  });

  test('literals: true/false/null/numbers, not/grouping precedence', () => {
    yes('active eq true');
    no('active eq false');
    yes('nickName eq null');
    yes('x gt 4 and x le 5');
    yes('not (x eq 4) and (x eq 5 or x eq 6)');
    yes('x eq 5 or x eq 6 and x eq 7');
    no('(x eq 5 or x eq 6) and x eq 7');
  });

  test('PATCH paths', () => {
    assert.deepEqual(parsePatchPath('members[value eq "2819c223"]'), {
      path: { attr: 'members' },
      filter: { op: 'eq', path: { attr: 'value' }, value: '2819c223' },
    });
    assert.deepEqual(parsePatchPath('emails[type eq "work"].value').sub, 'value');
    assert.equal(
      parsePatchPath('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager').path.schema,
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
    );
  });

  test('bad filters are 400 invalidFilter with a reason', () => {
    for (const f of [
      '',
      'userName',
      'userName eq',
      'userName xx "a"',
      '(userName eq "a"',
      'userName eq "a")',
      'not userName eq "a"',
      'a eq "unterminated',
      'a gt true',
      'a co 5',
      'a[b eq 1',
      'a eq "x" and',
      'a.b.c eq 1',
      'urn:x: eq 1',
      '"a" eq "a"',
      'a eq "\\q"',
      '((((((((((((((((((((((((((((((((((((((a pr))))))))))))))))))))))))))))))))))))))',
      'a eq 1 junk',
    ]) {
      assert.throws(
        () => parseFilter(f),
        (e: unknown) => e instanceof ScimError && e.status === 400 && e.scimType === 'invalidFilter',
        JSON.stringify(f),
      );
    }
  });

  test('fuzz: 20,000 random and mutated inputs give a result or invalidFilter, never anything else', () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pieces = [
      'userName',
      'emails',
      '[',
      ']',
      '(',
      ')',
      '.',
      'value',
      'type',
      ' eq ',
      ' ne ',
      ' co ',
      ' sw ',
      ' pr',
      ' gt ',
      ' and ',
      ' or ',
      'not ',
      '"x"',
      '"',
      '\\',
      '5',
      'true',
      'null',
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:',
      ':',
      ' ',
      '\u0000',
      '😀',
      '-1e9',
      'members[value eq "a"]',
      '.value',
    ];
    const valid = [
      'userName eq "a"',
      'emails[type eq "work"].value co "x"',
      'not (a pr) or (b eq 1 and c ne null)',
      'members[value eq "1"]',
    ];
    let parsed = 0;
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      let s: string;
      if (i % 3 === 0) {
        s = Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => pieces[Math.floor(rnd() * pieces.length)]).join(
          '',
        );
      } else if (i % 3 === 1) {
        const base = valid[Math.floor(rnd() * valid.length)] as string;
        const at = Math.floor(rnd() * base.length);
        s =
          rnd() < 0.5
            ? base.slice(0, at) + base.slice(at + 1)
            : base.slice(0, at) + String.fromCharCode(Math.floor(rnd() * 128)) + base.slice(at);
      } else {
        s = Array.from({ length: Math.floor(rnd() * 40) }, () => String.fromCharCode(Math.floor(rnd() * 256))).join('');
      }
      try {
        const f = parseFilter(s);
        matches(f, bjensen, SCHEMA_SETS.User);
        parsed++;
      } catch (e) {
        assert.ok(
          e instanceof ScimError && e.status === 400 && e.scimType === 'invalidFilter',
          `${JSON.stringify(s)} threw ${String(e)}`,
        );
        refused++;
      }
    }
    assert.ok(parsed > 500 && refused > 500, `both outcomes exercised (${parsed} parsed, ${refused} refused)`);
  });
});

describe('filter fuzz through HTTP: never a 500', () => {
  let t: TestApp;
  let scim: ScimClient;
  before(async () => {
    t = await createTestApp();
    const a = await t.seedOrg('Acme', 'owner@acme.example');
    ({ scim } = await newDirectory(t, a.owner, a.orgId));
    await scim.post('/Users', user('a@acme.example'));
    await scim.post('/Groups', { displayName: 'g' });
  });
  after(() => t.close());

  test('300 hostile filters on /Users and /Groups answer 200 or 400 invalidFilter', async () => {
    let seed = 99;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pieces = [
      'userName',
      'displayName',
      'members',
      '[',
      ']',
      '(',
      ')',
      ' eq ',
      ' co ',
      ' pr',
      ' and ',
      ' or ',
      'not ',
      '"a@acme.example"',
      '"',
      'value',
      '.',
      '%',
      "'",
      ';--',
      'id',
      '1',
    ];
    for (let i = 0; i < 150; i++) {
      const f = Array.from({ length: 1 + Math.floor(rnd() * 8) }, () => pieces[Math.floor(rnd() * pieces.length)]).join(
        '',
      );
      for (const path of ['/Users', '/Groups']) {
        const res = await scim.get(`${path}?filter=${encodeURIComponent(f)}`);
        assert.ok(
          res.status === 200 || (res.status === 400 && res.body.scimType === 'invalidFilter'),
          `${path} ${JSON.stringify(f)} → ${res.status} ${JSON.stringify(res.body)}`,
        );
      }
    }
  });
});
