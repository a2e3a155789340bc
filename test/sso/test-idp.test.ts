import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as OTPAuth from 'otpauth';
import { Dnsmasq } from '../domains/dns-peers.js';
import { type Agent, type Reply, type TestApp, createTestApp } from '../helpers/harness.js';

/**
 * The built-in test identity provider (src/test-idp/) against Palisade's real service provider and
 * relying party: the browser's steps go through the app, the relying party's back channel (OIDC
 * discovery, token, JWKS, userinfo) over real HTTP to the listening server, under the default
 * outbound policy (loopback denied: only the installation's own test IdP is reachable). Domains
 * are verified through a real dnsmasq.
 */
const decode = (s: string) => s.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n)));
function hiddenFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g))
    out[decode(m[1] as string)] = decode(m[2] as string);
  return out;
}
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

describe('the built-in test identity provider', () => {
  let t: TestApp;
  let publicUrl: string;
  const dns = new Dnsmasq();
  let acme: { orgId: string; owner: Agent };
  let beta: { orgId: string; owner: Agent };
  let saml: { id: string; saml: { acsUrl: string; spEntityId: string; idpEntityId: string } };
  let oidc: { id: string; oidc: { issuer: string; clientId: string } };
  let totpSecret: string;
  let admin: Agent;
  let member: Agent;
  /** The owner's SSO session (from the test login), which SSO enforcement does not end. */
  let ownerSso: Agent;
  const path = (url: string) => {
    assert.ok(url.startsWith(publicUrl), `${url} is on Palisade`);
    return url.slice(publicUrl.length);
  };

  /**
   * A browser signing in through a connection to the test IdP as whoever it types; returns Palisade's
   * last answer, or the test IdP's refusal (its page, or its answer to the form).
   */
  async function signIn(
    agent: Agent,
    connectionId: string,
    who: { email: string; groups?: string },
    opts: { test?: boolean } = {},
  ): Promise<Reply> {
    const start = await agent.get(`/sso/${connectionId}/start${opts.test ? '?test=1' : ''}`);
    if (start.status !== 302) return start;
    const location = String(start.headers.location);
    const page = await agent.get(path(location));
    assert.match(page.raw.body, /Palisade test identity provider — not for production/);
    if (page.status !== 200) return page;
    const fields = { ...hiddenFields(page.raw.body), email: who.email, groups: who.groups ?? '' };
    if (location.includes('/test-idp/saml/')) {
      const posted = await agent.request('POST', '/test-idp/saml/login', form(fields), FORM);
      if (posted.status !== 200) return posted;
      const acs = hiddenFields(posted.raw.body);
      const action = /<form id="acs" method="post" action="([^"]*)"/.exec(posted.raw.body)?.[1] ?? '';
      assert.equal(decode(action), `${publicUrl}/sso/saml/${connectionId}/acs`);
      return settle(agent, await agent.request('POST', path(decode(action)), form(acs), FORM));
    }
    const back = await agent.request('POST', '/test-idp/oidc/login', form(fields), FORM);
    if (back.status !== 303) return back;
    return settle(agent, await agent.get(path(String(back.headers.location))));
  }
  /** A sign-in replaces the session: the browser reads the new one's CSRF token, as the console does. */
  async function settle(agent: Agent, res: Reply): Promise<Reply> {
    if (res.status === 303) await agent.get('/api/v1/auth/session');
    return res;
  }
  /** Another browser tab of a signed-in person: same session, but a sign-in there does not replace the agent's own. */
  const tab = (agent: Agent): Agent => {
    const copy = t.anonymous();
    copy.cookie = agent.cookie;
    copy.csrf = agent.csrf;
    return copy;
  };
  /** Who a browser is signed in as, if anyone. */
  const whoami = async (agent: Agent) => {
    const me = await agent.get('/api/v1/auth/session');
    return me.status === 200 ? (me.body.user.email as string) : null;
  };
  const userId = async (email: string) =>
    (await t.db.database.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst())?.id;

  before(async () => {
    t = await createTestApp({ testIdp: true, outboundAllowCidrs: [] });
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    publicUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    t.config.publicUrl = publicUrl;
    acme = await t.seedOrg('Acme', 'owner@acme.test');
    beta = await t.seedOrg('Beta', 'owner@beta.test');
    const records: string[] = [];
    const ids: [Agent, string, string][] = [];
    for (const [who, domain] of [
      [acme, 'acme.test'],
      [beta, 'beta.test'],
    ] as const) {
      const res = await who.owner.post(`/api/v1/orgs/${who.orgId}/domains`, { domain });
      assert.equal(res.status, 201, res.raw.body);
      records.push(`txt-record=_palisade-challenge.${domain},"${res.body.instructions.value}"`);
      ids.push([who.owner, `/api/v1/orgs/${who.orgId}/domains/${res.body.id}/verify`, domain]);
    }
    await dns.serve(records);
    t.config.dnsServers = [dns.server];
    for (const [owner, url, domain] of ids) assert.equal((await owner.post(url)).body.verified, true, domain);
    admin = (await t.addMember(acme.owner, acme.orgId, 'admin@acme.test', 'admin')).agent;
    member = (await t.addMember(acme.owner, acme.orgId, 'member@acme.test', 'member')).agent;
  });
  after(async () => {
    await dns.close();
    await t.close();
  });

  test('the presets say the test IdP is on; an admin creates a SAML and an OIDC connection to it in one call each', async () => {
    const presets = await t.anonymous().get('/api/v1/sso/presets');
    assert.equal(presets.body.testIdpEnabled, true);
    const s = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/sso/test-idp-connections`, { protocol: 'saml' });
    assert.equal(s.status, 201, s.raw.body);
    saml = s.body;
    assert.equal(s.body.preset, 'palisade_test');
    assert.equal(s.body.status, 'active');
    assert.equal(s.body.saml.idpEntityId, `${publicUrl}/test-idp/saml`);
    const o = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/sso/test-idp-connections`, { protocol: 'oidc' });
    assert.equal(o.status, 201, o.raw.body);
    oidc = o.body;
    assert.equal(o.body.oidc.issuer, `${publicUrl}/test-idp/oidc`);
    assert.equal(o.body.oidc.clientSecretSet, true);
    const audit = await acme.owner.get(`/api/v1/orgs/${acme.orgId}/audit-events?action=sso.connection_created`);
    assert.deepEqual(
      audit.body.data.map((e: { metadata: { preset: string } }) => e.metadata.preset),
      ['palisade_test', 'palisade_test'],
    );
    // The metadata publishes the installation's own certificate, the one the connection trusts.
    const md = await t.anonymous().get('/test-idp/saml/metadata');
    assert.equal(md.status, 200);
    assert.match(md.raw.body, new RegExp(`entityID="${publicUrl}/test-idp/saml"`));
    const fingerprint = s.body.saml.idpCertificates[0].fingerprintSha256 as string;
    assert.match(fingerprint, /^[0-9A-F:]+$/);
    // Members cannot create one.
    const refused = await member.post(`/api/v1/orgs/${acme.orgId}/sso/test-idp-connections`, { protocol: 'saml' });
    assert.equal(refused.status, 403);
    // Its settings are Palisade's: pointing it elsewhere is refused.
    const moved = await acme.owner.patch(`/api/v1/orgs/${acme.orgId}/sso/connections/${saml.id}`, {
      saml: { entityId: 'https://evil.example/idp' },
    });
    assert.equal(moved.status, 400);
    assert.equal(moved.body.error.code, 'test_idp_connection_fixed');
  });

  test('an admin test login through SAML signs the admin in and records the test login', async () => {
    const res = await signIn(tab(acme.owner), saml.id, { email: 'owner@acme.test' }, { test: true });
    assert.equal(res.status, 303, res.raw.body);
    assert.match(String(res.headers.location), /sso_test=ok/);
    const conn = await acme.owner.get(`/api/v1/orgs/${acme.orgId}/sso/connections/${saml.id}`);
    assert.ok(conn.body.lastTestLoginAt);
    const events = await acme.owner.get(`/api/v1/orgs/${acme.orgId}/audit-events?action=sso.test_login_succeeded`);
    assert.equal(events.body.data.length, 1);
    assert.equal(events.body.data[0].metadata.method, 'sso_saml');
  });

  test('a new person at a verified domain signs in through SAML (JIT) with the groups typed in', async () => {
    const agent = tab(admin);
    const res = await signIn(agent, saml.id, { email: 'new.saml@acme.test', groups: 'eng, ops' });
    assert.equal(res.status, 303, res.raw.body);
    const me = await agent.get('/api/v1/auth/session');
    assert.equal(me.body.user.email, 'new.saml@acme.test');
    const login = await t.db.database.db
      .selectFrom('sso_logins')
      .select('attributes')
      .where('email', '=', 'new.saml@acme.test')
      .executeTakeFirstOrThrow();
    assert.deepEqual(JSON.parse(login.attributes).identity.groups, ['eng', 'ops']);
    const events = await acme.owner.get(`/api/v1/orgs/${acme.orgId}/audit-events?action=auth.login_succeeded`);
    assert.ok(events.body.data.some((e: { actor: { email: string } }) => e.actor.email === 'new.saml@acme.test'));
  });

  test('a full OIDC login: discovery, code with PKCE, ID token and userinfo over HTTP', async () => {
    const agent = tab(admin);
    const res = await signIn(agent, oidc.id, { email: 'new.oidc@acme.test', groups: 'eng' });
    assert.equal(res.status, 303, res.raw.body);
    const me = await agent.get('/api/v1/auth/session');
    assert.equal(me.body.user.email, 'new.oidc@acme.test');
    // The stable subject is linked, as with any OIDC provider.
    const links = await acme.owner.get(`/api/v1/orgs/${acme.orgId}/sso/connections/${oidc.id}/identities`);
    assert.equal(links.status, 200);
    assert.equal(links.body.data.length, 1);
  });

  test('the OIDC test IdP: codes are single use and bound to the PKCE verifier; unknown clients are refused', async () => {
    const agent = tab(admin);
    const start = await agent.get(`/sso/${oidc.id}/start`);
    const authorize = new URL(String(start.headers.location));
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    const page = await agent.get(path(authorize.href));
    const back = await agent.request(
      'POST',
      '/test-idp/oidc/login',
      form({ ...hiddenFields(page.raw.body), email: 'pkce@acme.test' }),
      FORM,
    );
    const code = new URL(String(back.headers.location)).searchParams.get('code') ?? '';
    // Without the client's secret: refused before the code is looked at.
    const noAuth = await fetch(`${publicUrl}/test-idp/oidc/token`, {
      method: 'POST',
      headers: FORM,
      body: form({
        grant_type: 'authorization_code',
        code,
        redirect_uri: `${publicUrl}/sso/oidc/callback`,
        client_id: oidc.oidc.clientId,
        client_secret: 'wrong',
      }),
    });
    assert.equal(noAuth.status, 401);
    assert.equal(((await noAuth.json()) as { error: string }).error, 'invalid_client');
    // The relying party's real exchange still works once (the code was not spent by the refusal).
    const done = await agent.get(path(String(back.headers.location)));
    assert.equal(done.status, 303, done.raw.body);
    // Replaying the callback (the same code) is refused by the IdP and by Palisade.
    const replay = await agent.get(path(String(back.headers.location)));
    assert.notEqual(replay.status, 303);
    const unknown = await agent.get(
      `/test-idp/oidc/authorize?client_id=nobody&redirect_uri=${encodeURIComponent(`${publicUrl}/sso/oidc/callback`)}&response_type=code&scope=openid`,
    );
    assert.equal(unknown.status, 400);
    assert.match(unknown.raw.body, /invalid_client/);
    const elsewhere = await agent.get(
      `/test-idp/oidc/authorize?client_id=${oidc.oidc.clientId}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}&response_type=code&scope=openid`,
    );
    assert.equal(elsewhere.status, 400);
    assert.ok(!elsewhere.headers.location, 'never redirected to a foreign redirect URI');
  });

  test('the SAML test IdP answers only Palisade connections to it, at their own ACS URL', async () => {
    // A connection to another IdP: the test IdP refuses its requests.
    const other = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Draft elsewhere',
    });
    assert.equal(other.status, 201);
    const start = await acme.owner.get(`/sso/${saml.id}/start`);
    const request = new URL(String(start.headers.location)).searchParams.get('SAMLRequest') ?? '';
    const { inflateRawSync, deflateRawSync } = await import('node:zlib');
    const xml = inflateRawSync(Buffer.from(request, 'base64')).toString('utf8');
    const forged = (s: string) => encodeURIComponent(deflateRawSync(Buffer.from(s)).toString('base64'));
    // The HTTP-POST binding carries the same request, base64 without deflate.
    const posted = await tab(admin).request(
      'POST',
      '/test-idp/saml/sso',
      form({ SAMLRequest: Buffer.from(xml).toString('base64') }),
      FORM,
    );
    assert.equal(posted.status, 200, posted.raw.body);
    assert.equal(hiddenFields(posted.raw.body).connectionId, saml.id);
    const foreign = await t
      .anonymous()
      .get(
        `/test-idp/saml/sso?SAMLRequest=${forged(xml.replaceAll(`/sso/saml/${saml.id}`, `/sso/saml/${other.body.id}`))}`,
      );
    assert.equal(foreign.status, 400);
    assert.equal(foreign.body.error.code, 'test_idp_request_invalid');
    const wrongAcs = await t
      .anonymous()
      .get(
        `/test-idp/saml/sso?SAMLRequest=${forged(xml.replace(/AssertionConsumerServiceURL="[^"]*"/, 'AssertionConsumerServiceURL="https://evil.example/acs"'))}`,
      );
    assert.equal(wrongAcs.status, 400);
    assert.equal(wrongAcs.body.error.code, 'test_idp_request_invalid');
  });

  for (const protocol of ['saml', 'oidc'] as const) {
    test(`attack (${protocol}): the test IdP asserts an address at a domain Acme has not verified: refused, nobody created`, async () => {
      const agent = tab(admin);
      const res = await signIn(agent, protocol === 'saml' ? saml.id : oidc.id, {
        email: `someone-${protocol}@gmail.test`,
      });
      assert.equal(res.status, 403, res.raw.body);
      assert.equal(res.headers['x-sso-error'], 'sso_test_idp_domain_unverified');
      assert.equal(await whoami(agent), 'admin@acme.test');
      assert.equal(await userId(`someone-${protocol}@gmail.test`), undefined);
    });

    test(`attack (${protocol}): Acme's admin has the test IdP assert Beta's owner, and a new person at Beta's domain: refused`, async () => {
      const betaOwner = await userId('owner@beta.test');
      const sessionsBefore = await t.db.database.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', betaOwner ?? '')
        .execute();
      const agent = tab(admin);
      const res = await signIn(agent, protocol === 'saml' ? saml.id : oidc.id, { email: 'owner@beta.test' });
      assert.equal(res.status, 403, res.raw.body);
      assert.equal(res.headers['x-test-idp-error'], 'test_idp_impersonation_refused');
      assert.equal(await whoami(agent), 'admin@acme.test');
      const sessionsAfter = await t.db.database.db
        .selectFrom('sessions')
        .select('id')
        .where('user_id', '=', betaOwner ?? '')
        .execute();
      assert.equal(sessionsAfter.length, sessionsBefore.length, 'no session for the other organization’s account');
      const fresh = await signIn(tab(admin), protocol === 'saml' ? saml.id : oidc.id, {
        email: `new-${protocol}@beta.test`,
      });
      assert.equal(fresh.status, 403, fresh.raw.body);
      assert.equal(fresh.headers['x-sso-error'], 'sso_email_domain_captured');
      assert.equal(await userId(`new-${protocol}@beta.test`), undefined);
    });
  }

  for (const protocol of ['saml', 'oidc'] as const) {
    const connId = () => (protocol === 'saml' ? saml.id : oidc.id);
    const loginPath = `/test-idp/${protocol}/login`;
    /** The test IdP's form as `agent` sees it for a fresh sign-in through the connection. */
    async function formPage(agent: Agent) {
      const start = await agent.get(`/sso/${connId()}/start`);
      assert.equal(start.status, 302, start.raw.body);
      return agent.get(path(String(start.headers.location)));
    }
    const sessionsOf = async (email: string) =>
      (
        await t.db.database.db
          .selectFrom('sessions')
          .select('id')
          .where('user_id', '=', (await userId(email)) ?? '')
          .execute()
      ).length;

    test(`attack (${protocol}): without a Palisade session the form is not shown, and its answer issues nothing`, async () => {
      const page = await formPage(t.anonymous());
      assert.equal(page.status, 401);
      assert.equal(page.headers['x-test-idp-error'], 'test_idp_sign_in_required');
      assert.match(page.raw.body, /Sign in to Palisade as an admin of Acme first/);
      assert.doesNotMatch(page.raw.body, /<form/);
      // The link signs in to the console and comes back to this very page.
      const href = decode(/<a id="sign-in" href="([^"]*)"/.exec(page.raw.body)?.[1] ?? '');
      const next = new URL(href, publicUrl).searchParams.get('next') ?? '';
      assert.ok(href.startsWith('/sign-in?next='), href);
      assert.match(next, new RegExp(`^/test-idp/${protocol}/`));
      const back = await tab(admin).get(next);
      assert.equal(back.status, 200, back.raw.body);
      assert.match(back.raw.body, /Signed in to Palisade as admin@acme\.test, an admin of Acme/);
      // An anonymous answer with the fields of an admin's form: refused, no assertion, no code.
      const fields = { ...hiddenFields((await formPage(tab(admin))).raw.body), email: 'anon@acme.test' };
      const res = await t.anonymous().request('POST', loginPath, form(fields), FORM);
      assert.equal(res.status, 401, res.raw.body);
      assert.equal(res.headers['x-test-idp-error'], 'test_idp_sign_in_required');
      assert.doesNotMatch(res.raw.body, /SAMLResponse/);
      assert.equal(res.headers.location, undefined);
    });

    test(`attack (${protocol}): a member's session, and an admin of another organization, are refused`, async () => {
      for (const [agent, who] of [
        [member, 'member@acme.test'],
        [beta.owner, 'owner@beta.test'],
      ] as const) {
        const page = await formPage(tab(agent));
        assert.equal(page.status, 403, who);
        assert.equal(page.headers['x-test-idp-error'], 'test_idp_admin_required');
        assert.match(page.raw.body, new RegExp(`signed in to Palisade as ${who.replace('.', '\\.')}`));
        assert.doesNotMatch(page.raw.body, /<form/);
        const fields = { ...hiddenFields((await formPage(tab(admin))).raw.body), email: 'new-by-member@acme.test' };
        const res = await tab(agent).request('POST', loginPath, form(fields), FORM);
        assert.equal(res.status, 403, who);
        assert.equal(res.headers['x-test-idp-error'], 'test_idp_admin_required');
      }
      assert.equal(await userId('new-by-member@acme.test'), undefined);
    });

    test(`attack (${protocol}): an admin asserting the primary owner, or another member, is refused and audited`, async () => {
      for (const victim of ['owner@acme.test', 'member@acme.test']) {
        const before = await sessionsOf(victim);
        const agent = tab(admin);
        const res = await signIn(agent, connId(), { email: victim.toUpperCase() });
        assert.equal(res.status, 403, res.raw.body);
        assert.equal(res.headers['x-test-idp-error'], 'test_idp_impersonation_refused');
        assert.match(res.raw.body, /Sign in as yourself \(admin@acme\.test\), or use a new address at acme\.test/);
        assert.doesNotMatch(res.raw.body, /SAMLResponse/);
        assert.equal(res.headers.location, undefined, 'no code issued');
        assert.equal(await sessionsOf(victim), before, `no session for ${victim}`);
        assert.equal(await whoami(agent), 'admin@acme.test');
        const reference = /Reference: (ssr_[A-Za-z0-9_]+)/.exec(res.raw.body)?.[1];
        assert.ok(reference, res.raw.body);
        const audit = await admin.get(`/api/v1/orgs/${acme.orgId}/audit-events?action=sso.login_failed`);
        const event = audit.body.data.find((e: { targets: { id: string }[] }) =>
          e.targets.some((x) => x.id === reference),
        );
        assert.ok(event, 'the refusal is in the audit log under its reference');
        assert.equal(event.metadata.code, 'test_idp_impersonation_refused');
        assert.equal(event.outcome, 'failure');
        assert.equal(event.actor.email, 'admin@acme.test');
      }
      const role = await t.db.database.db
        .selectFrom('memberships')
        .select('role')
        .where('user_id', '=', (await userId('admin@acme.test')) ?? '')
        .executeTakeFirstOrThrow();
      assert.equal(role.role, 'admin');
    });

    test(`the admin signs in as themself (${protocol}), and a new address at the verified domain joins (JIT)`, async () => {
      const self = tab(admin);
      const res = await signIn(self, connId(), { email: 'admin@acme.test' });
      assert.equal(res.status, 303, res.raw.body);
      assert.equal(await whoami(self), 'admin@acme.test');
      const fresh = tab(admin);
      const jit = await signIn(fresh, connId(), { email: `jit-${protocol}@acme.test` });
      assert.equal(jit.status, 303, jit.raw.body);
      assert.equal(await whoami(fresh), `jit-${protocol}@acme.test`);
      // Once it exists, that account is someone else's: the admin cannot sign in as it again.
      const again = await signIn(tab(admin), connId(), { email: `jit-${protocol}@acme.test` });
      assert.equal(again.status, 403);
      assert.equal(again.headers['x-test-idp-error'], 'test_idp_impersonation_refused');
    });

    test(`attack (${protocol}): the form's answer without its token, with a wrong one, or another request's, is refused`, async () => {
      const agent = tab(admin);
      const fields: Record<string, string> = {
        ...hiddenFields((await formPage(agent)).raw.body),
        email: 'csrf@acme.test',
      };
      assert.ok(fields.formToken);
      const other = hiddenFields((await formPage(agent)).raw.body);
      const { formToken: _omit, ...without } = fields;
      for (const body of [
        without,
        { ...fields, formToken: 'x'.repeat(43) },
        { ...fields, formToken: other.formToken },
      ]) {
        const res = await agent.request('POST', loginPath, form(body as Record<string, string>), FORM);
        assert.equal(res.status, 403, res.raw.body);
        assert.equal(res.headers['x-test-idp-error'], 'test_idp_form_token_invalid');
      }
      // Another member's session cannot use an admin's token either (it is bound to the session).
      const stolen = await tab(member).request('POST', loginPath, form(fields), FORM);
      assert.equal(stolen.status, 403);
      // A cross-site post, even with the right token, is refused by its Origin.
      const crossSite = await agent.request('POST', loginPath, form(fields), {
        ...FORM,
        origin: 'https://evil.example',
      });
      assert.equal(crossSite.status, 403);
      assert.equal(crossSite.headers['x-test-idp-error'], 'origin_not_allowed');
      assert.equal(await userId('csrf@acme.test'), undefined);
      // The genuine answer still works.
      const ok = await agent.request('POST', loginPath, form(fields), FORM);
      assert.equal(ok.status, protocol === 'saml' ? 200 : 303, ok.raw.body);
    });
  }

  test('enforcement through the test IdP needs the test login and break-glass, like any connection', async () => {
    const owner = acme.owner;
    const refused = await owner.request('PUT', `/api/v1/orgs/${acme.orgId}/sso/enforcement`, { connectionId: oidc.id });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /no admin has completed a test login/);
    const start = await owner.post('/api/v1/me/totp');
    totpSecret = start.body.secret;
    const code = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(totpSecret), digits: 6, period: 30 }).generate({
      timestamp: t.clock.now().getTime(),
    });
    assert.equal((await owner.post('/api/v1/me/totp/confirm', { code })).status, 200);
    ownerSso = tab(owner);
    const testLogin = await signIn(ownerSso, oidc.id, { email: 'owner@acme.test' }, { test: true });
    assert.equal(testLogin.status, 303, testLogin.raw.body);
    const signedIn = await t.login('owner@acme.test');
    acme.owner = signedIn;
    const enforced = await signedIn.request('PUT', `/api/v1/orgs/${acme.orgId}/sso/enforcement`, {
      connectionId: oidc.id,
      acknowledgeWarnings: true,
    });
    assert.equal(enforced.status, 200, enforced.raw.body);
    assert.equal(enforced.body.enforced, true);
    // The owner's SSO session still opens the test IdP's form (a password session would end now), and
    // new test people sign in through it while it is on.
    const fresh = await signIn(tab(ownerSso), oidc.id, { email: 'after.enforcement@acme.test' });
    assert.equal(fresh.status, 303, fresh.raw.body);
  });

  test('turned off: its pages answer 404 test_idp_disabled, its connections sign nobody in and cannot be enforced', async () => {
    // A response minted while on, delivered after the operator turned the test IdP off.
    const agent = tab(ownerSso);
    const start = await agent.get(`/sso/${saml.id}/start`);
    const page = await agent.get(path(String(start.headers.location)));
    const posted = await agent.request(
      'POST',
      '/test-idp/saml/login',
      form({ ...hiddenFields(page.raw.body), email: 'late@acme.test' }),
      FORM,
    );
    assert.equal(posted.status, 200, posted.raw.body);
    const minted = hiddenFields(posted.raw.body);
    // SSO is enforced (previous test): the owner's password session ended; their SSO session goes on.
    assert.equal((await acme.owner.get('/api/v1/auth/session')).status, 401);
    assert.equal(await whoami(ownerSso), 'owner@acme.test');
    acme.owner = ownerSso;
    t.config.testIdp = false;
    try {
      for (const url of [
        '/test-idp/saml/metadata',
        '/test-idp/oidc/.well-known/openid-configuration',
        '/test-idp/oidc/jwks',
      ]) {
        const res = await t.anonymous().get(url);
        assert.equal(res.status, 404, url);
        assert.equal(res.body.error.code, 'test_idp_disabled');
        assert.match(res.body.error.message, /PALISADE_TEST_IDP/);
      }
      const presets = await t.anonymous().get('/api/v1/sso/presets');
      assert.equal(presets.body.testIdpEnabled, false);
      const create = await acme.owner.post(`/api/v1/orgs/${acme.orgId}/sso/test-idp-connections`, { protocol: 'saml' });
      assert.equal(create.status, 404);
      assert.equal(create.body.error.code, 'test_idp_disabled');
      const late = await agent.request('POST', `/sso/saml/${saml.id}/acs`, form(minted), FORM);
      assert.equal(late.status, 403, late.raw.body);
      assert.equal(late.headers['x-sso-error'], 'sso_test_idp_disabled');
      assert.equal(await userId('late@acme.test'), undefined);
      const blocked = await t.anonymous().get(`/sso/${oidc.id}/start`);
      assert.equal(blocked.status, 403);
      assert.equal(blocked.headers['x-sso-error'], 'sso_test_idp_disabled');
      // Already enforced: enforcing it again (or anew) is refused while off.
      const again = await acme.owner.request('PUT', `/api/v1/orgs/${acme.orgId}/sso/enforcement`, {
        connectionId: oidc.id,
        acknowledgeWarnings: true,
      });
      assert.equal(again.status, 409);
      assert.match(again.body.error.message, /built-in test identity provider, which is turned off/);
    } finally {
      t.config.testIdp = true;
    }
  });
});

describe('an installation that did not turn the test IdP on', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => t.close());

  test('is off by default: 404 test_idp_disabled, not offered in the presets, no connection to it can be created', async () => {
    assert.equal(t.config.testIdp, false);
    const res = await t.anonymous().get('/test-idp/saml/sso?SAMLRequest=x');
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'test_idp_disabled');
    const presets = await t.anonymous().get('/api/v1/sso/presets');
    assert.equal(presets.body.testIdpEnabled, false);
    const { orgId, owner } = await t.seedOrg('Acme', 'owner@acme.test');
    const create = await owner.post(`/api/v1/orgs/${orgId}/sso/test-idp-connections`, { protocol: 'oidc' });
    assert.equal(create.status, 404);
    assert.equal(create.body.error.code, 'test_idp_disabled');
    const rows = await t.db.database.db.selectFrom('sso_connections').select('id').execute();
    assert.equal(rows.length, 0);
    const keys = await t.db.database.db.selectFrom('test_idp_keys').select('id').execute();
    assert.equal(keys.length, 0, 'no key is generated while off');
  });
});
