import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type ConsoleWorld,
  E2E_SKIP,
  OWNER_EMAIL,
  checkAccessibility,
  screenshot,
  signIn,
  startConsoleWorld,
  tabUntil,
} from './harness.js';

interface MemberRow {
  id: string;
  email: string;
  role: string;
  status: string;
  suspension?: { suspendedBy: { kind: string; email?: string | null }[] };
}

/** The identity provider's side: people provisioned over SCIM arrive active, with their names. */
async function provision(w: ConsoleWorld, people: [string, string][]): Promise<void> {
  const dir = await w.api<{ token: string; directory: { baseUrl: string } }>(
    'POST',
    `/api/v1/orgs/${w.orgId}/scim/directories`,
    { name: 'Okta' },
  );
  assert.equal(dir.status, 201, JSON.stringify(dir.body));
  for (const [email, displayName] of people) {
    const res = await fetch(`${dir.body.directory.baseUrl}/Users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${dir.body.token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
        userName: email,
        displayName,
        emails: [{ primary: true, value: email, type: 'work' }],
        active: true,
      }),
    });
    assert.equal(res.status, 201, await res.text());
  }
}

describe('console: members', { skip: E2E_SKIP }, () => {
  let w: ConsoleWorld;
  before(async () => {
    w = await startConsoleWorld();
  });
  after(() => w?.close());

  const members = async () =>
    (await w.api<{ data: MemberRow[] }>('GET', `/api/v1/orgs/${w.orgId}/members?limit=200`)).body.data;

  test('invite, filter, change a role, warn about owners before it bites, cancel with confirmation', async () => {
    const { page, problems } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/members`);
    await signIn(page);
    await page.getByRole('heading', { name: 'Members' }).waitFor();

    // The owner rule is shown before anyone runs into it: the only primary owner cannot be demoted.
    await page.getByTestId('owner-rule').getByText('is the only active primary owner').waitFor();
    await page.getByRole('button', { name: `Actions for ${OWNER_EMAIL}` }).click();
    assert.equal(await page.getByRole('menuitem', { name: 'Change role' }).isDisabled(), true);
    await page.getByText('The last primary owner cannot be demoted, suspended or removed.').waitFor();
    await page.keyboard.press('Escape');

    // Keyboard: the invite button is reachable with Tab from the top of the page.
    await page.locator('body').focus();
    await tabUntil(page, (label) => label === 'Invite member');
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Invite a member' });
    await dialog.waitFor();
    // Validated before sending, with the API's rules.
    await dialog.getByRole('textbox', { name: /^Email/ }).fill('not an address');
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    await dialog.getByText('This is not an email address').waitFor();
    await dialog.getByRole('textbox', { name: /^Email/ }).fill('dana@example.net');
    await dialog.getByRole('radio', { name: 'Admin' }).check();
    await checkAccessibility(page, 'the invite dialog');
    await dialog.getByRole('button', { name: 'Send invitation' }).click();
    const result = page.getByTestId('invite-result');
    await result.getByText('dana@example.net invited as Admin').waitFor();
    // What the API answered: mailed to the person; no link is shown to the admin.
    await result
      .getByText('An email with a one-time link to set a password and accept went to dana@example.net.')
      .waitFor();
    assert.equal(await page.getByTestId('invite-link').count(), 0);
    await result.getByRole('button', { name: 'Done' }).click();
    let dana = (await members()).find((m) => m.email === 'dana@example.net');
    assert.deepEqual([dana?.role, dana?.status], ['admin', 'invited']);

    // The status filter is in the URL.
    await page.getByText('Invited', { exact: true }).click();
    await page.waitForURL(/status=invited/);
    await page.getByRole('cell', { name: 'dana@example.net', exact: true }).waitFor();
    assert.equal(await page.getByRole('cell', { name: OWNER_EMAIL, exact: true }).count(), 0);
    await page.getByLabel('Search').fill('nobody-like-this');
    await page.waitForURL(/q=nobody-like-this/);
    await page.getByText('No members match.').waitFor();
    await page.getByLabel('Search').fill('');

    // Change a role.
    await page.getByRole('button', { name: 'Actions for dana@example.net' }).click();
    await page.getByRole('menuitem', { name: 'Change role' }).click();
    const roleDialog = page.getByRole('dialog', { name: 'Change the role of dana@example.net' });
    await roleDialog.getByRole('radio', { name: 'Member' }).check();
    await roleDialog.getByRole('button', { name: 'Change role' }).click();
    await roleDialog.waitFor({ state: 'detached' });
    await page.waitForFunction(() => true);
    dana = (await members()).find((m) => m.email === 'dana@example.net');
    assert.equal(dana?.role, 'member');

    // Many owners: the console warns before the third primary owner; the API's warning follows.
    await page.getByText('All', { exact: true }).click();
    for (const email of ['pat@example.net', 'quinn@example.net']) {
      await page.getByRole('button', { name: 'Invite member' }).click();
      const d = page.getByRole('dialog', { name: 'Invite a member' });
      await d.getByRole('textbox', { name: /^Email/ }).fill(email);
      await d.getByRole('radio', { name: 'Primary owner' }).check();
      if (email === 'quinn@example.net') await d.getByText('This makes 3 primary owners.').waitFor();
      await d.getByRole('button', { name: 'Send invitation' }).click();
      await page.getByTestId('invite-result').waitFor();
      if (email === 'quinn@example.net')
        await page.getByTestId('api-warning').getByText('This organization now has 3 primary owners').waitFor();
      await page.getByRole('button', { name: 'Done' }).click();
    }
    await page.getByTestId('owner-rule').getByText('has 3 primary owners').waitFor();

    // Destructive: asks first; "Keep" changes nothing, "Cancel invitation" does it.
    await page.getByRole('button', { name: 'Actions for dana@example.net' }).click();
    await page.getByRole('menuitem', { name: 'Cancel invitation' }).click();
    const confirm = page.getByRole('dialog', { name: 'Cancel the invitation?' });
    await confirm.getByRole('button', { name: 'Keep' }).click();
    await confirm.waitFor({ state: 'detached' });
    assert.ok(
      (await members()).some((m) => m.email === 'dana@example.net'),
      'Keep removed nothing',
    );
    await page.getByRole('button', { name: 'Actions for dana@example.net' }).click();
    await page.getByRole('menuitem', { name: 'Cancel invitation' }).click();
    await page.getByRole('menu').waitFor({ state: 'detached' });
    await checkAccessibility(page, 'the confirmation dialog');
    await page
      .getByRole('dialog', { name: 'Cancel the invitation?' })
      .getByRole('button', { name: 'Cancel invitation' })
      .click();
    await page.getByRole('cell', { name: 'dana@example.net', exact: true }).waitFor({ state: 'detached' });
    assert.equal(
      (await members()).some((m) => m.email === 'dana@example.net'),
      false,
    );

    await checkAccessibility(page, 'the members page');
    await screenshot(page, 'members');
    assert.deepEqual(problems.list, [], 'no CSP violation, console error or exception');
  });

  test('search on the server (in the URL, debounced), suspend and reactivate with confirmation', async () => {
    await provision(w, [
      ['sam@acme.example', 'Sam 50% Lee'],
      ['sal@acme.example', 'Sal 500 Lee'],
    ]);
    const { page, problems } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/members`);
    await signIn(page);
    await page.getByRole('heading', { name: 'Members' }).waitFor();

    // A search is a link: % is a plain character, so "50%" finds Sam and not Sal.
    await page.goto(`/orgs/${w.orgId}/members?q=${encodeURIComponent('50%')}`);
    await page.getByRole('cell', { name: 'sam@acme.example', exact: true }).waitFor();
    assert.equal(await page.getByLabel('Search').inputValue(), '50%');
    assert.equal(await page.getByRole('cell', { name: 'sal@acme.example', exact: true }).count(), 0);

    // Typing is debounced: one search goes to the server when typing pauses, not one per key.
    const searches: string[] = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.pathname.endsWith('/members') && u.searchParams.has('q')) searches.push(u.searchParams.get('q')!);
    });
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Search').pressSequentially('SAL 500', { delay: 30 });
    await page.waitForURL(/q=SAL(\+|%20)500/);
    await page.getByRole('cell', { name: 'sal@acme.example', exact: true }).waitFor();
    await page.getByRole('cell', { name: 'sam@acme.example', exact: true }).waitFor({ state: 'detached' });
    assert.ok(searches.length <= 2, `typing 7 characters sent ${searches.length} searches: ${searches.join(', ')}`);
    assert.equal(searches.at(-1), 'SAL 500');

    // You cannot suspend yourself (nor the last primary owner): the action says so instead of failing.
    await page.getByLabel('Search').fill('');
    await page.waitForURL((u) => !u.searchParams.has('q'));
    await page.getByRole('button', { name: `Actions for ${OWNER_EMAIL}` }).click();
    assert.equal(await page.getByRole('menuitem', { name: 'Suspend' }).isDisabled(), true);
    await page.getByText('You cannot suspend yourself.').waitFor();
    await page.keyboard.press('Escape');

    // Suspend asks first: "Keep access" changes nothing.
    await page.getByRole('button', { name: 'Actions for sal@acme.example' }).click();
    await page.getByRole('menuitem', { name: 'Suspend' }).click();
    const confirm = page.getByRole('dialog', { name: 'Suspend sal@acme.example?' });
    await confirm.getByText('loses access to Acme at once').waitFor();
    await confirm.getByRole('button', { name: 'Keep access' }).click();
    await confirm.waitFor({ state: 'detached' });
    const sal = async () => (await members()).find((m) => m.email === 'sal@acme.example');
    assert.equal((await sal())?.status, 'active', 'Keep access suspended nobody');
    await page.getByRole('button', { name: 'Actions for sal@acme.example' }).click();
    await page.getByRole('menuitem', { name: 'Suspend' }).click();
    await confirm.getByLabel('Reason (for the audit log)').fill('left the project');
    await checkAccessibility(page, 'the suspend dialog');
    await confirm.getByRole('button', { name: 'Suspend', exact: true }).click();
    await confirm.waitFor({ state: 'detached' });
    const suspended = await sal();
    assert.equal(suspended?.status, 'suspended');
    assert.deepEqual(
      suspended?.suspension?.suspendedBy.map((b) => [b.kind, b.email]),
      [['admin', OWNER_EMAIL]],
    );
    await page
      .locator('tr[data-member="sal@acme.example"]')
      .getByTestId('suspended-by')
      .getByText(`by ${OWNER_EMAIL}`)
      .waitFor();
    const events = await w.api<{ data: { metadata: { reason: string } }[] }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/audit-events?action=member.suspended`,
    );
    assert.equal(events.body.data[0]?.metadata.reason, 'left the project');

    // The status filter goes to the server too, and into the URL.
    await page.getByText('Suspended', { exact: true }).click();
    await page.waitForURL(/status=suspended/);
    await page.getByRole('cell', { name: 'sam@acme.example', exact: true }).waitFor({ state: 'detached' });
    await page.getByRole('cell', { name: 'sal@acme.example', exact: true }).waitFor();

    await page.getByRole('button', { name: 'Actions for sal@acme.example' }).click();
    await page.getByRole('menuitem', { name: 'Reactivate' }).click();
    const back = page.getByRole('dialog', { name: 'Reactivate sal@acme.example?' });
    await back.getByText(`was suspended by ${OWNER_EMAIL}`).waitFor();
    await back.getByRole('button', { name: 'Reactivate' }).click();
    await back.waitFor({ state: 'detached' });
    await page.getByText('No members match.').waitFor();
    assert.equal((await sal())?.status, 'active');
    assert.equal(await page.url().includes('status=suspended'), true, 'the filter stayed');
    assert.deepEqual(problems.list, [], 'no CSP violation, console error or exception');
  });

  test('an error from the API is shown with its message and request id', async () => {
    const { page, problems } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/members`);
    await signIn(page);
    await page.getByRole('button', { name: 'Invite member' }).click();
    const d = page.getByRole('dialog', { name: 'Invite a member' });
    await d.getByRole('textbox', { name: /^Email/ }).fill('erin@example.net');
    // A link is only handed out for addresses at a domain the organization verified: the API refuses.
    await d.getByRole('radio', { name: /Show me the one-time link/ }).check();
    await d.getByRole('button', { name: 'Send invitation' }).click();
    const err = d.getByTestId('api-error');
    await err.getByText('invite_link_not_allowed').waitFor();
    await err.getByText(/never shown to an admin/).waitFor();
    assert.match(await err.getByTestId('request-id').innerText(), /^req_/);
    await checkAccessibility(page, 'an API error in a dialog');
    assert.deepEqual(problems.list, []);
  });
});
