import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config.js';
import { openEmailBody } from '../../src/email/outbox.js';
import { palisadeCommand } from '../helpers/cli.js';
import { call } from '../helpers/instances.js';
import { type ConsoleWorld, E2E_SKIP, api, checkAccessibility, signIn, startConsoleWorld } from './harness.js';

/**
 * The pages the links in emails and `palisade init` open are console pages (web/src/links/), at
 * the paths the links carry: a setup link, an invitation of a new account (a link that sets the
 * password), an invitation of an existing account (sign in, then accept), a password reset. Each
 * ends signed in in the console, and the result is checked through the API.
 */
describe('console: the pages links open', { skip: E2E_SKIP }, () => {
  let w: ConsoleWorld;
  before(async () => {
    w = await startConsoleWorld();
  });
  after(() => w?.close());

  /** The newest message queued for an address, opened with the installation's key as delivery would. */
  const mailedLink = async (to: string, template: string, path: string): Promise<string> => {
    const db = new Database(w.env.DATABASE_URL!.replace(/^sqlite:/, ''), { readonly: true });
    try {
      const row = db
        .prepare('SELECT * FROM email_outbox WHERE to_address = ? AND template = ? ORDER BY id DESC LIMIT 1')
        .get(to, template) as Parameters<typeof openEmailBody>[1] | undefined;
      assert.ok(row, `a ${template} message was queued for ${to}`);
      const content = await openEmailBody(loadConfig(w.env), row);
      assert.ok(content, 'the queued message opens');
      const link = [...content.text.matchAll(/https?:\/\/\S+/g)].map((m) => m[0]).find((l) => l.includes(path));
      assert.ok(link, `the ${template} message carries a ${path} link: ${content.text}`);
      return link;
    } finally {
      db.close();
    }
  };
  const login = (email: string, password: string) => call(w.url, 'POST', '/api/v1/auth/login', {}, { email, password });
  let globexId = '';

  test('a setup link opens the console page: the rules are checked before sending, then the owner is signed in', async () => {
    const [cmd, args] = palisadeCommand('org', 'create', '--name', 'Globex', '--owner-email', 'gina@globex.example');
    const out = execFileSync(cmd, args, { env: { ...process.env, ...w.env }, encoding: 'utf8' });
    const link = /https?:\/\/\S+\/setup#token=pls_lnk_[A-Za-z0-9_-]+/.exec(out)?.[0];
    assert.ok(link, out);
    globexId = /\((org_[A-Za-z0-9]+)\)/.exec(out)?.[1] ?? '';
    assert.ok(globexId, out);

    // The path is served by the console, under its strict policy.
    const res = await fetch(link.replace(/#.*/, ''));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.doesNotMatch(res.headers.get('content-security-policy') ?? '', /unsafe-inline/);

    const { page, context, problems } = await w.newPage();
    await page.goto(link);
    await page.getByRole('heading', { name: 'Set your password' }).waitFor();
    await checkAccessibility(page, 'the setup page');
    // Too short, then two different passwords: refused at the fields, nothing sent.
    await page.getByLabel(/^New password/).fill('short');
    await page.getByLabel(/^Repeat the password/).fill('short');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByText('Use at least 12 characters; a passphrase of several words works well.').waitFor();
    await page.getByLabel(/^New password/).fill('gina chose a long passphrase');
    await page.getByLabel(/^Repeat the password/).fill('gina chose a long passphrase!');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.getByText('The two passwords differ; type the same password twice.').waitFor();
    await checkAccessibility(page, 'the setup page with field errors');
    assert.equal((await login('gina@globex.example', 'gina chose a long passphrase')).status, 401, 'nothing was sent');

    await page.getByLabel(/^Repeat the password/).fill('gina chose a long passphrase');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.waitForURL(`**/orgs/${globexId}/`);
    await page.getByRole('heading', { name: 'Globex' }).waitFor();
    assert.doesNotMatch(page.url(), /token=/, 'the token left the address bar');
    const me = await (await api(w.url, context))<{ user: { email: string } }>('GET', '/api/v1/auth/session');
    assert.equal(me.body.user.email, 'gina@globex.example', 'the page signed her in');
    assert.equal((await login('gina@globex.example', 'gina chose a long passphrase')).status, 200);

    // The link worked once: opened again, the API's refusal is shown with its request id.
    const again = await w.newPage();
    await again.page.goto(link);
    await again.page.getByLabel(/^New password/).fill('another long passphrase');
    await again.page.getByLabel(/^Repeat the password/).fill('another long passphrase');
    await again.page.getByRole('button', { name: 'Set password and sign in' }).click();
    const err = again.page.getByTestId('api-error');
    // (The password was set after the link was issued: that is the reason the API gives first.)
    await err.getByText('link_superseded').waitFor();
    assert.match(await err.getByTestId('request-id').innerText(), /\S/);
    await checkAccessibility(again.page, 'the setup page with an API error');
    assert.deepEqual([...problems.list, ...again.problems.list], []);
  });

  test('an invitation of a new account: the mailed link sets the password and joins the organization', async () => {
    const invited = await w.api('POST', `/api/v1/orgs/${w.orgId}/members`, {
      email: 'nina@example.net',
      role: 'member',
    });
    assert.equal(invited.status, 201, JSON.stringify(invited.body));
    const link = await mailedLink('nina@example.net', 'invitation', '/setup#token=');
    const { page, problems } = await w.newPage();
    await page.goto(link);
    await page.getByRole('heading', { name: 'Set your password' }).waitFor();
    await page.getByLabel(/^New password/).fill('nina picked a passphrase');
    await page.getByLabel(/^Repeat the password/).fill('nina picked a passphrase');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.waitForURL(`**/orgs/${w.orgId}/`);
    const members = await w.api<{ data: { email: string; status: string }[] }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/members?limit=200`,
    );
    assert.equal(members.body.data.find((m) => m.email === 'nina@example.net')?.status, 'active');
    assert.deepEqual(problems.list, []);
  });

  test('an invitation of an existing account asks to sign in first, then to accept', async () => {
    const invited = await w.api('POST', `/api/v1/orgs/${w.orgId}/members`, {
      email: 'gina@globex.example',
      role: 'admin',
    });
    assert.equal(invited.status, 201, JSON.stringify(invited.body));
    const link = await mailedLink('gina@globex.example', 'invitation', '/invitations');
    assert.equal(new URL(link).pathname, '/invitations');
    const before = await w.api<{ data: { email: string; status: string }[] }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/members?limit=200`,
    );
    assert.equal(before.body.data.find((m) => m.email === 'gina@globex.example')?.status, 'invited', 'consent first');

    const { page, problems } = await w.newPage();
    await page.goto(link);
    await page.waitForURL(/\/sign-in\?next=%2Finvitations/);
    await signIn(page, 'gina@globex.example', 'gina chose a long passphrase');
    await page.waitForURL('**/invitations');
    const card = page.getByTestId('invitation').filter({ hasText: 'Acme' });
    await card.getByText('as admin').waitFor();
    await checkAccessibility(page, 'the invitations page');
    await card.getByRole('button', { name: 'Accept the invitation to Acme' }).click();
    await page.waitForURL(`**/orgs/${w.orgId}/`);
    const members = await w.api<{ data: { email: string; status: string; role: string }[] }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/members?limit=200`,
    );
    const gina = members.body.data.find((m) => m.email === 'gina@globex.example');
    assert.deepEqual([gina?.status, gina?.role], ['active', 'admin']);
    await page.goto('/invitations');
    await page.getByTestId('no-invitations').waitFor();
    assert.deepEqual(problems.list, []);
  });

  test('a password reset through the pages: ask for the link, choose a new password, signed in', async () => {
    const { page, context, problems } = await w.newPage();
    await page.goto('/sign-in');
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.waitForURL('**/forgot-password');
    await checkAccessibility(page, 'the forgot-password page');
    await page.getByLabel(/^Email/).fill('nina@example.net');
    await page.getByRole('button', { name: 'Send the link' }).click();
    await page.getByTestId('reset-requested').waitFor();
    const link = await mailedLink('nina@example.net', 'password_reset', '/reset-password#token=');

    await page.goto(link);
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await checkAccessibility(page, 'the reset-password page');
    await page.getByLabel(/^New password/).fill('nina has a new passphrase');
    await page.getByLabel(/^Repeat the password/).fill('nina has a new passphrase');
    await page.getByRole('button', { name: 'Set password and sign in' }).click();
    await page.waitForURL(`**/orgs/${w.orgId}/`);
    const me = await (await api(w.url, context))<{ user: { email: string } }>('GET', '/api/v1/auth/session');
    assert.equal(me.body.user.email, 'nina@example.net');
    assert.equal((await login('nina@example.net', 'nina picked a passphrase')).status, 401, 'the old password is gone');
    assert.equal((await login('nina@example.net', 'nina has a new passphrase')).status, 200);
    assert.deepEqual(problems.list, []);
  });

  test('a link page opened without its token says what it needs', async () => {
    const { page, problems } = await w.newPage();
    for (const [path, heading] of [
      ['/verify-email', 'Confirm your email address'],
      ['/reset-password', 'Choose a new password'],
    ] as const) {
      await page.goto(path);
      await page.getByRole('heading', { name: heading }).waitFor();
      await page.getByTestId('missing-token').waitFor();
      await checkAccessibility(page, `${path} without a token`);
    }
    assert.deepEqual(problems.list, []);
  });
});
