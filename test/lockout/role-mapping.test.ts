import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { type TestApp, createTestApp } from '../helpers/harness.js';
import { type ScimClient, newDirectory, user } from '../scim/helpers.js';
import { type OidcPeer, driveOidcLogin, startOidcPeer } from '../sso/oidc-peer.js';
import { PUBLIC, type Person, SamlOrg, emails } from './saml-org.js';

const run = promisify(execFile);

/**
 * Issue 24, case 1: the role mapping is checked. With SSO enforced and five people signing in
 * through a real SAML round trip (and one through a real OpenID Provider), the admins' rule
 * misspelt is refused with the people it would lock out, through the API and the CLI; SCIM-derived
 * roles are replayed too; acknowledged, it applies, and then exactly those people lose what the
 * guard said they would.
 */
describe('lockout guard: the role mapping', () => {
  let t: TestApp;
  let org: SamlOrg;
  let peer: OidcPeer;
  let scim: ScimClient;
  let oidcConnectionId: string;
  const dir = mkdtempSync(join(tmpdir(), 'palisade-lockout-cli-'));
  const people: Record<string, Person> = {
    owner: { email: 'owner@acme.example', groups: ['acme-admins'] },
    alice: { email: 'alice@acme.example', groups: ['acme-admins'] },
    bob: { email: 'bob@acme.example', groups: ['acme-admins'] },
    carol: { email: 'carol@acme.example', groups: ['acme-staff'] },
    dan: { email: 'dan@acme.example', groups: ['acme-staff'] },
    erin: { email: 'erin@acme.example', groups: ['acme-staff'] },
  };
  const good = {
    requiredPrefix: 'acme-',
    defaultRole: null,
    rules: [
      { group: 'acme-admins', role: 'admin' },
      { group: 'acme-staff', role: 'member' },
    ],
  };
  const typo = {
    requiredPrefix: 'acme-',
    defaultRole: null,
    rules: [
      { group: 'acme-admnis', role: 'admin' },
      { group: 'acme-staff', role: 'member' },
    ],
  };
  const cli = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      env: { ...process.env, DATABASE_URL: t.db.url, PALISADE_LOG_LEVEL: 'silent' },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC });
    org = await SamlOrg.create(t, 'Acme', 'owner@acme.example', { mapping: good });
    for (const p of ['alice', 'bob', 'carol', 'dan', 'erin']) await org.signedIn(people[p]!);
    // Olga signs in through a second connection of the same organization: a real OpenID Provider.
    peer = await startOidcPeer(`${PUBLIC}/sso/oidc/callback`, {
      olga: { email: 'olga@acme.example', groups: ['acme-admins'] },
    });
    const oidc = await org.owner.post(`/api/v1/orgs/${org.orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Okta OIDC',
      oidc: { issuer: peer.issuer, clientId: peer.clientId, clientSecret: peer.clientSecret },
    });
    assert.equal(oidc.status, 201, oidc.raw.body);
    oidcConnectionId = oidc.body.id;
    const browser = t.anonymous();
    const start = await browser.get(`/sso/${oidcConnectionId}/start`);
    const callback = await driveOidcLogin(String(start.headers.location), 'olga', PUBLIC);
    assert.equal((await browser.get(callback.slice(PUBLIC.length))).status, 303);
    // Frank's role comes from a SCIM directory with group-driven roles (his admin group is pushed by the IdP).
    ({ scim } = await newDirectory(t, org.owner, org.orgId, 'Okta SCIM'));
    const frank = await scim.post('/Users', user('frank@acme.example'));
    assert.equal(frank.status, 201);
    assert.equal(
      (await scim.post('/Groups', { displayName: 'acme-admins', members: [{ value: frank.body.id }] })).status,
      201,
    );
    assert.equal(await org.roleOf('frank@acme.example'), 'admin');
    await org.enforce(people.owner!);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await peer.close();
    await t.close();
  });

  test("the admins' rule misspelt while SSO is enforced is refused, listing both admins (and the OIDC admin), and nothing changes", async () => {
    const before = await org.mapping();
    const auditBefore = (await org.events('role_mapping.updated')).length;
    const res = await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/role-mapping`, typo);
    assert.equal(res.status, 409, res.raw.body);
    assert.equal(res.body.error.code, 'sso_change_would_lock_out');
    assert.match(res.body.error.message, /alice@acme\.example could no longer sign in/);
    assert.match(res.body.error.message, /acknowledgeWarnings/);
    const warnings = res.body.error.details.warnings as {
      email: string;
      problem: string;
      source: string;
      connectionId: string;
      explanation: string;
    }[];
    assert.deepEqual(emails(warnings), ['alice@acme.example', 'bob@acme.example', 'olga@acme.example']);
    assert.ok(warnings.every((w) => w.problem === 'would_fail' && w.source === 'sso'));
    assert.equal(warnings.find((w) => w.email === 'olga@acme.example')?.connectionId, oidcConnectionId);
    assert.match(
      warnings.find((w) => w.email === 'alice@acme.example')!.explanation,
      /None of the groups sent for alice@acme\.example grants a role/,
    );
    assert.ok(
      !warnings.some((w) => w.email === 'owner@acme.example'),
      'the primary owner keeps the role and break-glass',
    );
    assert.equal(
      res.body.error.details.checked.ssoSignIns,
      7,
      "five people, the owner's test login and the OIDC admin were replayed",
    );
    assert.deepEqual(await org.mapping(), before, 'the mapping is unchanged');
    assert.equal(
      (await org.events('role_mapping.updated')).length,
      auditBefore,
      'no audit event for a change that did not happen',
    );
    assert.equal((await org.events('lockout_warning.acknowledged')).length, 0);
    await org.signedIn(people.alice!); // still an admin
    assert.equal(await org.roleOf('alice@acme.example'), 'admin');
  });

  test('a mapping that demotes instead lists the SSO admins and the SCIM-derived admin as losing their role', async () => {
    const res = await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/role-mapping`, {
      ...typo,
      defaultRole: 'member',
    });
    assert.equal(res.status, 409);
    const warnings = res.body.error.details.warnings as {
      email: string;
      problem: string;
      source: string;
      before: string;
      after: string;
    }[];
    assert.deepEqual(warnings.map((w) => [w.email, w.source, w.problem, w.before, w.after]).sort(), [
      ['alice@acme.example', 'sso', 'would_lose_role', 'admin', 'member'],
      ['bob@acme.example', 'sso', 'would_lose_role', 'admin', 'member'],
      ['frank@acme.example', 'scim', 'would_lose_role', 'admin', 'member'],
      ['olga@acme.example', 'sso', 'would_lose_role', 'admin', 'member'],
    ]);
    assert.equal(res.body.error.details.checked.scimPeople, 1);
  });

  test('a mapping that takes nothing away applies at once, without acknowledgement', async () => {
    const res = await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/role-mapping`, {
      ...good,
      rules: [...good.rules, { group: 'acme-contractors', role: 'member' }],
    });
    assert.equal(res.status, 200, res.raw.body);
    assert.deepEqual(res.body.warnings, []);
    assert.equal(res.body.rules.length, 3);
  });

  test('the CLI goes through the same guard: refused with the list, applied with --acknowledge-warnings', async () => {
    const file = join(dir, 'typo.json');
    writeFileSync(file, JSON.stringify(typo));
    const refused = await cli(['role-mapping', 'set', '--org', org.orgId, '--file', file]);
    assert.equal(refused.code, 2, refused.stdout);
    assert.match(refused.stderr, /error \[sso_change_would_lock_out\]/);
    assert.match(refused.stderr, /LOSES ACCESS {2}alice@acme\.example/);
    assert.match(refused.stderr, /LOSES ACCESS {2}bob@acme\.example/);
    assert.equal(((await org.mapping()) as { rules: unknown[] }).rules.length, 3, 'unchanged');
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ requiredPrefix: 'acme-', rules: 'all' }));
    const invalid = await cli(['role-mapping', 'set', '--org', org.orgId, '--file', bad]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /--file .*bad\.json/);
    const applied = await cli(['role-mapping', 'set', '--org', org.orgId, '--file', file, '--acknowledge-warnings']);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /LOSES ACCESS {2}alice@acme\.example/);
    const [ack] = await org.events('lockout_warning.acknowledged');
    assert.equal(ack.actor.type, 'system');
    assert.equal(ack.actor.id, 'cli');
    assert.deepEqual(ack.metadata.people.map((p: { email: string }) => p.email).sort(), [
      'alice@acme.example',
      'bob@acme.example',
      'olga@acme.example',
    ]);
  });

  test('acknowledged through the API it applies, and exactly the listed people lose access; nobody else changes', async () => {
    // Back to the good mapping, then the typo again, acknowledged over HTTP.
    assert.equal((await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/role-mapping`, good)).status, 200);
    await org.signedIn(people.alice!);
    await org.signedIn(people.bob!);
    const res = await org.owner.request('PUT', `/api/v1/orgs/${org.orgId}/role-mapping`, {
      ...typo,
      acknowledgeWarnings: true,
    });
    assert.equal(res.status, 200, res.raw.body);
    assert.deepEqual(emails(res.body.warnings), ['alice@acme.example', 'bob@acme.example', 'olga@acme.example']);
    const byOwner = (await org.events('lockout_warning.acknowledged')).filter((e) => e.actor.type === 'user');
    assert.equal(byOwner.length, 1);
    assert.equal(byOwner[0].metadata.change, 'role_mapping');
    assert.equal(byOwner[0].actor.email, 'owner@acme.example');
    for (const p of ['alice', 'bob']) await org.refused(people[p]!, 'sso_no_role');
    for (const p of ['carol', 'dan', 'erin']) await org.signedIn(people[p]!);
    assert.equal(await org.roleOf('carol@acme.example'), 'member', 'nobody gains a role');
    await org.refused({ email: 'frank@acme.example', groups: ['acme-admins'] }, 'sso_no_role'); // the SCIM admin through SSO, likewise
  });
});
