import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
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

describe('console: sign-in', { skip: E2E_SKIP }, () => {
  let w: ConsoleWorld;
  before(async () => {
    w = await startConsoleWorld();
  });
  after(() => w?.close());

  test('a deep link asks for sign-in with the password, then lands on the page the person was going to', async () => {
    const { page, context, problems } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/members?status=active`);
    await page.waitForURL(/\/sign-in\?next=/);
    assert.equal(
      new URL(page.url()).searchParams.get('next'),
      `/orgs/${w.orgId}/members?status=active`,
      'the page the person was going to travels with them',
    );
    await page.getByLabel(/^Email/).waitFor();
    await checkAccessibility(page, 'the sign-in page');
    await screenshot(page, 'sign-in');
    await signIn(page);
    await page.waitForURL(`**/orgs/${w.orgId}/members?status=active`);
    await page.getByRole('heading', { name: 'Members' }).waitFor();
    await page.getByRole('cell', { name: OWNER_EMAIL, exact: true }).waitFor();
    await checkAccessibility(page, 'the members page');

    // The session the console holds is a real one: the API answers as this person.
    const me = await (await api(w.url, context))<{ user: { email: string } }>('GET', '/api/v1/auth/session');
    assert.equal(me.body.user.email, OWNER_EMAIL);
    assert.deepEqual(problems.list, [], 'no CSP violation, console error or exception');
  });

  test('the console is served with a strict Content-Security-Policy and no inline script', async () => {
    const res = await fetch(`${w.url}/sign-in`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of [
      "script-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "object-src 'none'",
      "base-uri 'none'",
    ])
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await res.text();
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script is a file');
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce && html.includes(`nonce="${nonce}"`), 'the page carries the nonce of its own policy');
    const again = (await fetch(`${w.url}/sign-in`)).headers.get('content-security-policy');
    assert.notEqual(again, csp, 'a fresh nonce for every response');
  });
});
