import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ConsoleWorld, E2E_SKIP, checkAccessibility, screenshot, signIn, startConsoleWorld } from './harness.js';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

/** The identity provider's side: SCIM requests with the bearer token the admin copied from the page. */
async function scim(baseUrl: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/scim+json',
      ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

const person = (email: string) => ({
  schemas: [USER],
  userName: email,
  name: { givenName: email.split('@')[0], familyName: 'Test' },
  emails: [{ primary: true, value: email, type: 'work' }],
  active: true,
});

interface Member {
  email: string;
  role: string;
}

/**
 * SCIM in the console: create a directory and copy its token (shown once), let a real SCIM client
 * provision people with it, read the sync log grouped by cause, edit the role mapping with its live
 * preview and apply it, rotate the token, delete the directory.
 */
describe('console: SCIM provisioning', { skip: E2E_SKIP }, () => {
  let w: ConsoleWorld;
  before(async () => {
    w = await startConsoleWorld();
  });
  after(() => w?.close());

  test('directory, token once, sync log by cause, role mapping preview and apply, rotate, delete', async () => {
    const { page, context, problems } = await w.newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: w.url });
    await page.goto(`/orgs/${w.orgId}/scim`);
    await signIn(page);
    await page.getByRole('heading', { name: 'SCIM provisioning', level: 1 }).waitFor();

    // Validated before sending.
    await page.getByRole('button', { name: 'Create directory' }).click();
    await page.getByText('Give the directory a name').waitFor();
    await page.getByLabel(/^Directory name/).fill('Okta');
    await page.getByRole('button', { name: 'Create directory' }).click();
    await page.waitForURL(/\/scim\/scd_/);
    const directoryId = new URL(page.url()).pathname.split('/')[4]!;

    // The token, once, with a copy button.
    await page.getByTestId('new-token').waitFor();
    await page.getByRole('button', { name: 'Copy bearer token' }).click();
    const token = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(token, await page.getByTestId('token').innerText());
    const baseUrl = await page.getByTestId('base-url').innerText();
    const dir = await w.api<{ baseUrl: string; tokens: { prefix: string }[] }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/scim/directories/${directoryId}`,
    );
    assert.equal(dir.body.baseUrl, baseUrl);
    assert.ok(token.startsWith(dir.body.tokens[0]!.prefix));
    await checkAccessibility(page, 'a new SCIM directory with its token');
    await page.reload();
    await page.getByTestId('base-url').waitFor();
    assert.equal(await page.getByTestId('new-token').count(), 0, 'the token is not shown again');

    // The identity provider provisions with the copied token.
    const ann = await scim(baseUrl, token, 'POST', '/Users', person('ann@acme.example'));
    assert.equal(ann.status, 201, JSON.stringify(ann.body));
    const bob = await scim(baseUrl, token, 'POST', '/Users', person('bob@acme.example'));
    assert.equal(bob.status, 201, JSON.stringify(bob.body));
    for (const name of ['ghost-one', 'ghost-two']) {
      const r = await scim(baseUrl, token, 'POST', '/Users', { schemas: [USER], userName: name, active: true });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const admins = await scim(baseUrl, token, 'POST', '/Groups', {
      schemas: [GROUP],
      displayName: 'acme-admins',
      members: [{ value: ann.body.id }],
    });
    assert.equal(admins.status, 201, JSON.stringify(admins.body));
    assert.equal((await scim(baseUrl, 'pls_scim_not-the-token', 'GET', '/Users')).status, 401);

    // The sync log, grouped by cause with the fix.
    await page.getByRole('tab', { name: 'Sync log' }).click();
    await page.waitForURL(`**/scim/${directoryId}/log`);
    const noEmail = page.locator('[data-testid="problems"] [data-cause="no_email"]');
    await noEmail.getByText('2 times', { exact: false }).waitFor();
    await noEmail
      .getByText(/ghost-one/)
      .first()
      .waitFor();
    await page.locator('[data-testid="problems"] [data-cause="invalid_token"]').waitFor();
    await page.getByTestId('sync-log').getByText('ann@acme.example').first().waitFor();
    await checkAccessibility(page, 'the SCIM sync log');
    await screenshot(page, 'scim-sync-log');

    // The role mapping: invalid input is marked and not previewed; a rule shows "1 member would change".
    await page.getByRole('tab', { name: 'Role mapping' }).click();
    await page.waitForURL(`**/scim/${directoryId}/roles`);
    await page.getByTestId('would-change').getByText('0 members would change').waitFor();
    await page.getByRole('button', { name: 'Add rule' }).click();
    await page.getByLabel('Group of rule 1').fill('acme-admins');
    await page.getByLabel('Role of rule 1').selectOption('admin');
    await page.getByTestId('would-change').getByText('1 member would change').waitFor();
    await page.getByLabel('Required group prefix').fill('corp-');
    await page.getByText('Does not start with the required prefix "corp-"').waitFor();
    await page.getByText('Fix the marked fields to see the preview.').waitFor();
    await page.getByLabel('Required group prefix').fill('acme-');
    await page.getByTestId('would-change').getByText('1 member would change').waitFor();
    await page.locator('[data-testid="preview-users"] tr[data-changes="yes"]').getByText('ann@acme.example').waitFor();
    await checkAccessibility(page, 'the role mapping editor');
    await screenshot(page, 'scim-role-mapping');
    await page.getByRole('button', { name: 'Save and apply…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Save and apply' }).click();
    await page
      .getByTestId('applied')
      .getByText(/ann@acme\.example: member → admin/)
      .waitFor();
    const mapping = await w.api<{ requiredPrefix: string; rules: { group: string; role: string }[] }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/role-mapping`,
    );
    assert.equal(mapping.body.requiredPrefix, 'acme-');
    assert.deepEqual(
      mapping.body.rules.map((r) => [r.group, r.role]),
      [['acme-admins', 'admin']],
    );
    const members = await w.api<{ data: Member[] }>('GET', `/api/v1/orgs/${w.orgId}/members?limit=200`);
    assert.equal(members.body.data.find((m) => m.email === 'ann@acme.example')?.role, 'admin');
    assert.equal(members.body.data.find((m) => m.email === 'bob@acme.example')?.role, 'member');

    // Rotate with no overlap: the old token stops, the new one (shown once) works.
    await page.getByRole('tab', { name: 'Connection' }).click();
    await page.getByLabel(/^Old token keeps working/).fill('0');
    await page.getByRole('button', { name: 'Rotate token…' }).click();
    await page
      .getByRole('dialog')
      .getByText(/stops working now/)
      .waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate token' }).click();
    await page.getByTestId('new-token').waitFor();
    const rotated = await page.getByTestId('token').innerText();
    assert.notEqual(rotated, token);
    assert.equal((await scim(baseUrl, token, 'GET', '/Users')).status, 401);
    assert.equal((await scim(baseUrl, rotated, 'GET', '/Users')).status, 200);

    // Delete, confirmed.
    await page.getByRole('button', { name: 'Delete directory…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete directory' }).click();
    await page.waitForURL(`**/orgs/${w.orgId}/scim`);
    assert.equal((await w.api('GET', `/api/v1/orgs/${w.orgId}/scim/directories/${directoryId}`)).status, 404);
    assert.equal((await scim(baseUrl, rotated, 'GET', '/Users')).status, 401);
    assert.deepEqual(problems.list, [], 'no CSP violation, console error or exception');
  });
});
