import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Dnsmasq } from '../domains/dns-peers.js';
import { type ConsoleWorld, E2E_SKIP, OWNER_EMAIL, checkAccessibility, signIn, startConsoleWorld } from './harness.js';

interface ConnectionBody {
  id: string;
  preset: string;
  lastTestLoginAt: string | null;
}

/**
 * The built-in test identity provider in the console, on an installation that turned it on
 * (PALISADE_TEST_IDP) and verified its domain through a real dnsmasq: the wizard offers it, creates
 * the connection in one click, and the admin's test login goes through the test IdP's own pages
 * (its form, its self-submitting SAML post) in the browser and comes back recorded.
 */
describe('console: the built-in test identity provider', { skip: E2E_SKIP }, () => {
  let w: ConsoleWorld;
  let connectionId: string;
  const dns = new Dnsmasq();
  before(async () => {
    await dns.serve([]);
    w = await startConsoleWorld({
      PALISADE_TEST_IDP: 'true',
      PALISADE_DNS_SERVERS: dns.server,
      PALISADE_DNS_TIMEOUT_MS: '2000',
    });
    const added = await w.api<{ id: string; instructions: { value: string } }>(
      'POST',
      `/api/v1/orgs/${w.orgId}/domains`,
      { domain: 'acme.example' },
    );
    assert.equal(added.status, 201, JSON.stringify(added.body));
    await dns.serve([`txt-record=_palisade-challenge.acme.example,"${added.body.instructions.value}"`]);
    const verified = await w.api<{ verified: boolean }>(
      'POST',
      `/api/v1/orgs/${w.orgId}/domains/${added.body.id}/verify`,
    );
    assert.equal(verified.body.verified, true, JSON.stringify(verified.body));
  });
  after(async () => {
    await w?.close();
    await dns.close();
  });

  test('offered when on, one click creates the connection, the test login goes through the test IdP', async () => {
    const { page, context, problems } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/sso`);
    await signIn(page);
    await page.getByRole('heading', { name: 'Single sign-on', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Palisade test IdP (not for production)' }).click();
    await page.getByText('Palisade test identity provider — not for production').waitFor();
    await checkAccessibility(page, 'the test IdP wizard');
    await page.getByRole('button', { name: 'Create test connection' }).click();
    await page.waitForURL(/\/sso\/connections\/sso_/);
    connectionId = page.url().split('/').pop()!;
    const get = () =>
      w.api<ConnectionBody>('GET', `/api/v1/orgs/${w.orgId}/sso/connections/${connectionId}`).then((r) => r.body);
    assert.equal((await get()).preset, 'palisade_test');
    await page.getByText(/Palisade filled in this connection's settings/).waitFor();

    const [tab] = await Promise.all([
      context.waitForEvent('page'),
      page.getByRole('link', { name: 'Test login' }).click(),
    ]);
    await tab.getByText('Palisade test identity provider — not for production').waitFor();
    await tab.getByText(`Signed in to Palisade as ${OWNER_EMAIL}`).waitFor();
    assert.equal(await tab.getByLabel('Email').inputValue(), OWNER_EMAIL, 'prefilled with the admin themself');
    await tab.getByRole('button', { name: 'Sign in' }).click();
    await tab.waitForURL(/sso_test=ok|\/acs$|\/test-idp\/saml\/login/);
    if (tab.url().includes('/test-idp/')) assert.fail(await tab.content());
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
    await page.goto(`/orgs/${w.orgId}/sso`);
    await page.getByTestId('connections').getByText('Test IdP', { exact: true }).waitFor();
    assert.deepEqual(problems.list, [], 'no CSP violation, console error or exception');
  });

  test('without a Palisade session the test IdP sends the admin to sign in first, and back to its form', async () => {
    const { page, problems } = await w.newPage();
    await page.goto(`/sso/${connectionId}/start`);
    await page.getByText(/Sign in to Palisade as an admin of .* first/).waitFor();
    assert.equal(await page.getByLabel('Email').count(), 0, 'no form without a session');
    await page.getByRole('link', { name: 'Sign in to Palisade' }).click();
    await page.waitForURL(/\/sign-in\?next=%2Ftest-idp%2Fsaml%2Fsso/);
    await signIn(page);
    // The console leaves for the IdP's page with a full load; waiting for that page's content (not a
    // navigation event, which an earlier in-app navigation to the same address may abort) is exact.
    await page.getByText(`Signed in to Palisade as ${OWNER_EMAIL}`).waitFor({ timeout: 30_000 });
    assert.match(page.url(), /\/test-idp\/saml\/sso\?SAMLRequest=/);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => !url.pathname.startsWith('/test-idp/'));
    assert.doesNotMatch(page.url(), /\/acs$/, await page.locator('body').innerText());
    assert.deepEqual(problems.list, [], 'no CSP violation, console error or exception');
  });
});
