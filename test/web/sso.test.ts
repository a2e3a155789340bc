import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as OTPAuth from 'otpauth';
import { IDP_SSO_URL, TestIdp, idpMetadata, makeKeyPair } from '../sso/saml-peer.js';
import {
  type ConsoleWorld,
  E2E_SKIP,
  OWNER_EMAIL,
  api,
  checkAccessibility,
  screenshot,
  signIn,
  startConsoleWorld,
} from './harness.js';

interface ConnectionBody {
  id: string;
  status: string;
  lastTestLoginAt: string | null;
  saml: { acsUrl: string; spEntityId: string; spMetadataUrl: string; idpCertificates: { notAfter: string }[] };
}

/**
 * Single sign-on in the console with a real SAML identity provider (samlify, test/sso/saml-peer.ts)
 * answering in the test-login tab: the Okta wizard's draft gives the values to paste first, then takes
 * the IdP's metadata; a simulation shows its explanation lines; the test login in a new tab comes back
 * to the page; the enforcement checklist keeps its button disabled until every item passes.
 */
/**
 * Where the browser finds the IdP: answered by the test (context.route), on the loopback address like
 * Palisade so the two are the same site. Over plain http Palisade's sign-in binding cookie is
 * SameSite=Lax, which a cross-site form POST does not carry (over https it is SameSite=None).
 */
const IDP_URL = 'http://127.0.0.1:1/idp/sso';

describe('console: single sign-on', { skip: E2E_SKIP }, () => {
  let w: ConsoleWorld;
  const key = makeKeyPair('console-idp');
  const idp = new TestIdp(key);
  before(async () => {
    w = await startConsoleWorld();
  });
  after(() => w?.close());

  test('Okta SAML wizard, metadata, simulate, test login in a new tab, enforcement checklist', async () => {
    const { page, context, problems } = await w.newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: w.url });
    await page.goto(`/orgs/${w.orgId}/sso`);
    await signIn(page);
    await page.getByRole('heading', { name: 'Single sign-on', level: 1 }).waitFor();
    await page.getByText('No connections yet.').waitFor();
    await checkAccessibility(page, 'the single sign-on page');

    // 1. The wizard: a draft with the values to paste into the IdP, before anything is asked of it.
    await page.getByRole('link', { name: 'Okta' }).click();
    await page
      .getByTestId('preset-help')
      .getByText(/Okta Admin/)
      .waitFor();
    await page.getByLabel(/^Connection name/).fill('');
    await page.getByRole('button', { name: 'Create draft and show the values' }).click();
    await page.getByText('Give the connection a name.').waitFor();
    await page.getByLabel(/^Connection name/).fill('Okta SAML');
    await page.getByRole('button', { name: 'Create draft and show the values' }).click();
    await page.waitForURL(/\/sso\/connections\/sso_/);
    const connectionId = page.url().split('/').pop()!;
    const get = () =>
      w.api<ConnectionBody>('GET', `/api/v1/orgs/${w.orgId}/sso/connections/${connectionId}`).then((r) => r.body);
    const draft = await get();
    assert.equal(draft.status, 'draft');
    assert.equal(await page.getByTestId('acs-url').innerText(), draft.saml.acsUrl);
    assert.equal(await page.getByTestId('entity-id').innerText(), draft.saml.spEntityId);
    assert.equal(await page.getByTestId('sp-metadata-url').innerText(), draft.saml.spMetadataUrl);
    await page.getByRole('button', { name: 'Copy acs url (reply url)' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), draft.saml.acsUrl);
    await checkAccessibility(page, 'a draft SAML connection');
    await screenshot(page, 'sso-draft');

    // 2. The IdP's metadata, pasted (a form check first: not metadata).
    await page.getByLabel('Metadata XML').fill('<html>not metadata</html>');
    await page.getByRole('button', { name: 'Save metadata' }).click();
    await page.getByText('This is not SAML metadata').waitFor();
    await page.getByLabel('Metadata XML').fill(idpMetadata([key.cert]).replace(IDP_SSO_URL, IDP_URL));
    await page.getByRole('button', { name: 'Save metadata' }).click();
    await page.getByTestId('connection-status').getByText('active').waitFor();
    const active = await get();
    assert.equal(active.status, 'active');
    assert.equal(active.saml.idpCertificates.length, 1);
    await page
      .getByTestId('cert-expiry')
      .getByText(/in \d+ days/)
      .waitFor();

    // 3. Simulate with claims: the API's explanation lines.
    await page
      .getByLabel(/^Claims \(JSON\)/)
      .fill(JSON.stringify({ email: 'newcomer@acme.example', groups: ['engineering'] }));
    await page.getByRole('button', { name: 'Simulate' }).click();
    await page.getByTestId('simulation').waitFor();
    assert.ok((await page.getByTestId('explanation').locator('li').count()) > 0, 'explanation lines shown');
    await page.getByLabel(/^Claims \(JSON\)/).fill('{not json');
    await page.getByRole('button', { name: 'Simulate' }).click();
    await page.getByText('The claims are not valid JSON.').waitFor();

    // 4. The enforcement checklist: no test login yet, so the button stays disabled.
    await page.goto(`/orgs/${w.orgId}/sso`);
    await page.getByTestId('enforcement').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Require SSO…' }).isDisabled(), true);
    // Each primary owner's break-glass status (listSsoBreakGlassOwners): none enrolled yet.
    await page
      .getByTestId('break-glass-owners')
      .getByText(/no authenticator app/)
      .waitFor();
    await page.getByRole('button', { name: 'Preview impact' }).click();
    await page.getByTestId('impact').waitFor();
    // The dry run (dryRunSsoEnforcement): who loses password sign-in, and what is still missing.
    await page
      .getByTestId('dry-run-people')
      .getByText(/\d+ of \d+ members would lose password sign-in/)
      .waitFor();
    await page
      .getByTestId('dry-run-missing')
      .getByText(/no admin has completed a test login/)
      .waitFor();
    assert.equal(await page.getByRole('button', { name: 'Require SSO…' }).isDisabled(), true);
    await checkAccessibility(page, 'the enforcement checklist');
    await screenshot(page, 'sso-enforcement');

    // 5. Test login in a new tab: the IdP (samlify) answers the AuthnRequest for the signed-in owner.
    await page.goto(`/orgs/${w.orgId}/sso/connections/${connectionId}`);
    const spMetadata = await (await fetch(active.saml.spMetadataUrl)).text();
    await context.route(`${IDP_URL}**`, async (route) => {
      const requestId = await idp.requestIdFrom(route.request().url(), spMetadata);
      const { samlResponse } = await idp.response(spMetadata, {
        nameId: OWNER_EMAIL,
        attributes: { email: [OWNER_EMAIL], firstName: ['Olive'], lastName: ['Owner'], groups: [] },
        inResponseTo: requestId,
        destination: active.saml.acsUrl,
        recipient: active.saml.acsUrl,
        audience: active.saml.spEntityId,
      });
      // The IdP's own page posts the response back, as a real IdP's does.
      await route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><html><body><form method="post" action="${active.saml.acsUrl}"><input type="hidden" name="SAMLResponse" value="${samlResponse}"></form><script>document.forms[0].submit()</script></body></html>`,
      });
    });
    const [tab] = await Promise.all([
      context.waitForEvent('page'),
      page.getByRole('link', { name: 'Test login' }).click(),
    ]);
    await tab.waitForURL(/sso_test=ok|\/acs$/);
    if (/\/acs$/.test(tab.url()))
      assert.fail(
        `the test login failed: ${await tab
          .locator('main')
          .innerText()
          .catch(() => tab.url())}`,
      );
    await page
      .getByTestId('test-login-result')
      .getByText(/Test login succeeded/)
      .waitFor({ timeout: 20_000 });
    assert.ok((await get()).lastTestLoginAt, 'the API records the test login');
    await tab.close();

    // The checklist now shows the test login done; break-glass (no authenticator app) still blocks.
    await page.goto(`/orgs/${w.orgId}/sso`);
    await page
      .getByTestId('enforcement')
      .getByText(/A test login through “Okta SAML” succeeded/)
      .waitFor();
    await page.getByRole('button', { name: 'Preview impact' }).click();
    await page.getByTestId('impact').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Require SSO…' }).isDisabled(), true);
    const enforcement = await w.api<{ enforced: boolean }>('GET', `/api/v1/orgs/${w.orgId}/sso/enforcement`);
    assert.equal(enforcement.body.enforced, false);

    // The owner enrolls an authenticator app (the account area's page; here through the API as this
    // browser's session): every item passes, the button is enabled, and enforcing works.
    const asOwner = await api(w.url, context);
    const started = await asOwner<{ secret: string }>('POST', '/api/v1/me/totp');
    assert.equal(started.status, 201);
    const code = new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(started.body.secret), digits: 6, period: 30 });
    assert.equal((await asOwner('POST', '/api/v1/me/totp/confirm', { code: code.generate() })).status, 200);
    await page.reload();
    await page
      .getByTestId('enforcement')
      .getByText(/break-glass access works/)
      .waitFor();
    await page.getByTestId('break-glass-owners').getByText('ready', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Preview impact' }).click();
    await page.getByTestId('impact').waitFor();
    // The owner signed in through SAML in the test login (a recorded sign-in counts as an SSO
    // identity even where the NameID links no subject) and keeps break-glass.
    const ownerRow = await page
      .getByTestId('dry-run-people')
      .locator('tr', { hasText: 'owner@acme.example' })
      .innerText();
    assert.match(ownerRow, /primary owner\s+Yes\s+Yes/);
    assert.equal(await page.getByRole('button', { name: 'Require SSO…' }).isDisabled(), false);
    await page.getByRole('button', { name: 'Require SSO…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Require SSO' }).click();
    await page.getByTestId('enforced').waitFor();
    const enforced = await w.api<{ enforced: boolean; connectionId: string }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/sso/enforcement`,
    );
    assert.deepEqual([enforced.body.enforced, enforced.body.connectionId], [true, connectionId]);
    await checkAccessibility(page, 'enforced single sign-on');
    await page.getByRole('button', { name: 'Stop requiring SSO…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Stop requiring SSO' }).click();
    await page.getByTestId('enforcement').waitFor();
    assert.equal(
      (await w.api<{ enforced: boolean }>('GET', `/api/v1/orgs/${w.orgId}/sso/enforcement`)).body.enforced,
      false,
    );
    assert.deepEqual(problems.list, [], 'no CSP violation, console error or exception');
  });

  test('generic OIDC wizard: the redirect URI first, the form checked before sending, the API refusal with its request id', async () => {
    const { page, context, problems } = await w.newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: w.url });
    await page.goto(`/orgs/${w.orgId}/sso/new/oidc`);
    await signIn(page);
    await page.getByRole('heading', { name: /Connect Other OpenID Connect provider/ }).waitFor();
    await page.getByRole('button', { name: 'Copy redirect uri' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${w.url}/sso/oidc/callback`);
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.getByText('Enter the issuer URL.').waitFor();
    await page.getByText('Enter the client ID the provider gave the application.').waitFor();
    await checkAccessibility(page, 'the OIDC wizard with form errors');
    const none = await w.api<{ data: unknown[] }>('GET', `/api/v1/orgs/${w.orgId}/sso/connections`);
    const before = none.body.data.length;

    // The cloud metadata address, which the outbound policy never allows: the API's refusal, with its request id.
    await page.getByLabel(/^Issuer URL/).fill('http://169.254.169.254/oauth');
    await page.getByLabel(/^Client ID/).fill('palisade-console');
    await page.getByLabel(/^Client secret/).fill('a client secret');
    await page.getByRole('button', { name: 'Create connection' }).click();
    const alert = page.getByTestId('api-error');
    await alert.waitFor();
    assert.match(await alert.getByTestId('request-id').innerText(), /\S/);
    await checkAccessibility(page, 'the OIDC wizard with an API error');
    const after = await w.api<{ data: unknown[] }>('GET', `/api/v1/orgs/${w.orgId}/sso/connections`);
    assert.equal(after.body.data.length, before, 'nothing was created');

    await page.getByLabel(/^Issuer URL/).fill('http://127.0.0.1:1/issuer');
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.waitForURL(/\/sso\/connections\/sso_/);
    const id = page.url().split('/').pop()!;
    const made = await w.api<{ protocol: string; oidc: { issuer: string; redirectUri: string } }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/sso/connections/${id}`,
    );
    assert.equal(made.body.protocol, 'oidc');
    assert.equal(made.body.oidc.issuer, 'http://127.0.0.1:1/issuer');
    assert.equal(await page.getByTestId('redirect-uri').innerText(), made.body.oidc.redirectUri);
    assert.deepEqual(problems.list, [], 'no CSP violation, console error or exception');
  });
});
