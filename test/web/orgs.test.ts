import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ConsoleWorld, E2E_SKIP, checkAccessibility, screenshot, signIn, startConsoleWorld } from './harness.js';

describe('console: organizations', { skip: E2E_SKIP }, () => {
  let w: ConsoleWorld;
  before(async () => {
    w = await startConsoleWorld();
  });
  after(() => w?.close());

  test('create a child organization; the parent lists it, the switcher shows it under its parent and keeps the page', async () => {
    const { page, problems } = await w.newPage();
    await page.goto('/');
    await signIn(page);
    // The start page opens the first organization.
    await page.waitForURL(`**/orgs/${w.orgId}/`);
    await page.getByRole('heading', { name: 'Acme' }).waitFor();
    await page.getByText('No child organizations (business units) yet.').waitFor();

    // Validated before sending: an empty name is the API's 400, said here first.
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByText('Give the organization a name.').waitFor();
    await page.getByLabel('New child organization').fill('Europe');
    await page.getByRole('button', { name: 'Create' }).click();
    const row = page.getByTestId('children').getByRole('link', { name: 'Europe' });
    await row.waitFor();
    const children = await w.api<{ data: { id: string; name: string; parentId: string }[] }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/children`,
    );
    const europe = children.body.data.find((c) => c.name === 'Europe');
    assert.equal(europe?.parentId, w.orgId, 'the API has the child under Acme');
    await checkAccessibility(page, 'the organization overview');
    await screenshot(page, 'organization');

    // The switcher, from the members page: the child is indented under its parent, and the page is kept.
    await page.getByRole('link', { name: 'Members' }).click();
    await page.waitForURL(`**/orgs/${w.orgId}/members`);
    await page.getByRole('combobox', { name: 'Switch organization' }).click();
    await page.getByRole('option', { name: /Europe/ }).waitFor();
    const options = await page.getByRole('listbox').getByRole('option').allInnerTexts();
    assert.deepEqual(
      options.map((o) => o.trim()),
      ['Acme', '↳ Europe'],
      'children listed right under their parent',
    );
    await checkAccessibility(page, 'the organization switcher');
    await page.getByRole('option', { name: /Europe/ }).click();
    await page.waitForURL(`**/orgs/${europe!.id}/members`);
    await page.getByRole('heading', { name: 'Members' }).waitFor();

    // The child's overview names its parent and links back.
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Europe' }).waitFor();
    await page.getByRole('link', { name: 'Acme' }).click();
    await page.waitForURL(`**/orgs/${w.orgId}/`);
    assert.deepEqual(problems.list, []);
  });
});
