import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Dnsmasq } from '../domains/dns-peers.js';
import {
  type ConsoleWorld,
  E2E_SKIP,
  checkAccessibility,
  screenshot,
  signIn,
  startConsoleWorld,
  tabUntil,
} from './harness.js';

interface DomainBody {
  id: string;
  domain: string;
  status: string;
  autoJoin: boolean;
  includeSubdomains: boolean;
  graceUntil: string | null;
  instructions: { recordName: string; value: string; zoneFileLine: string };
  lastDiagnosis: { code: string } | null;
}

/**
 * Domains in the console, against a real dnsmasq the served process resolves through
 * (PALISADE_DNS_SERVERS): add, copy the record, check now with the diagnosis in words as the record
 * goes from missing to mistyped to right to gone, the grace deadline, the toggles, and removal.
 */
describe('console: domains', { skip: E2E_SKIP }, () => {
  let w: ConsoleWorld;
  const dns = new Dnsmasq();
  before(async () => {
    await dns.serve([]);
    w = await startConsoleWorld({ PALISADE_DNS_SERVERS: dns.server, PALISADE_DNS_TIMEOUT_MS: '2000' });
  });
  after(async () => {
    await w?.close();
    await dns.close();
  });

  test('add a domain, publish its record, check it now through each diagnosis, toggle capture and remove it', async () => {
    const { page, context, problems } = await w.newPage();
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: w.url });
    await page.goto(`/orgs/${w.orgId}/domains`);
    await signIn(page);
    await page.getByRole('heading', { name: 'Domains', level: 1 }).waitFor();
    await page.getByText('No domains yet.').waitFor();
    await checkAccessibility(page, 'the domains page');

    // The form refuses what the API refuses, before sending: nothing is added.
    await page.getByLabel(/^Domain/).fill('https://acme.test/login');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByText(/looks like a URL/).waitFor();
    const none = await w.api<{ data: DomainBody[] }>('GET', `/api/v1/orgs/${w.orgId}/domains`);
    assert.equal(none.body.data.length, 0, 'an invalid name is not sent');

    await page.getByLabel(/^Domain/).fill('Acme.TEST');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.waitForURL(/\/domains\/dom_/);
    const domainId = page.url().split('/').pop()!;
    const added = await w.api<DomainBody>('GET', `/api/v1/orgs/${w.orgId}/domains/${domainId}`);
    assert.equal(added.status, 200);
    assert.equal(added.body.domain, 'acme.test');
    const { recordName, value, zoneFileLine } = added.body.instructions;
    await page.getByTestId('record-name').getByText(recordName).waitFor();
    assert.equal(await page.getByTestId('zone-file-line').innerText(), zoneFileLine);

    // The copy buttons put the exact values on the clipboard.
    await page.getByRole('button', { name: 'Copy record value' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), value);
    await page.getByRole('button', { name: 'Copy record name' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), recordName);

    const checkNow = async (code: string) => {
      await page.getByRole('button', { name: 'Check now' }).click();
      await page.locator(`[data-testid="diagnosis"][data-code="${code}"]`).first().waitFor();
    };

    // "Check now" is reachable from the keyboard.
    await page.getByRole('link', { name: /All domains/ }).focus();
    assert.equal(await tabUntil(page, (l) => l === 'Check now'), 'Check now');

    // 1. Nothing published yet.
    await checkNow('record_name_not_found');
    await page.getByText('The record name does not exist in DNS (NXDOMAIN).').waitFor();
    await checkAccessibility(page, 'a domain with a failed check');

    // 2. Published with the quotes typed into the value: a near miss, named.
    await dns.serve([`txt-record=${recordName},"\\"${value}\\""`]);
    await checkNow('value_mismatch');
    await page
      .getByTestId('near-miss')
      .getByText(/includes quote characters/)
      .waitFor();
    assert.equal(
      (await w.api<DomainBody>('GET', `/api/v1/orgs/${w.orgId}/domains/${domainId}`)).body.lastDiagnosis?.code,
      'value_mismatch',
    );

    // 3. Right: verified, and the timeline says so.
    await dns.serve([`txt-record=${recordName},"${value}"`]);
    await checkNow('verified');
    await page.getByTestId('domain-status').getByText('Verified').waitFor();
    assert.equal(
      (await w.api<DomainBody>('GET', `/api/v1/orgs/${w.orgId}/domains/${domainId}`)).body.status,
      'verified',
    );

    // 4. The record is gone: failing, with the grace deadline.
    await dns.serve([]);
    await checkNow('record_name_not_found');
    await page
      .getByTestId('domain-status')
      .getByText(/Failing/)
      .waitFor();
    const failing = await w.api<DomainBody>('GET', `/api/v1/orgs/${w.orgId}/domains/${domainId}`);
    assert.equal(failing.body.status, 'failing');
    assert.ok(failing.body.graceUntil);
    await page.getByTestId('grace-deadline').waitFor();
    await page
      .getByTestId('transitions')
      .getByText(/Started failing/)
      .waitFor();
    await page
      .getByTestId('transitions')
      .getByText(/Verified$/)
      .waitFor();
    await checkAccessibility(page, 'a failing domain');
    await screenshot(page, 'domain');

    // Capture and auto-join.
    await page.getByRole('switch', { name: /Auto-join/ }).click({ force: true });
    await page.getByText('Domain settings saved.').waitFor();
    const joined = await w.api<DomainBody>('GET', `/api/v1/orgs/${w.orgId}/domains/${domainId}`);
    assert.equal(joined.body.autoJoin, true);
    await page.getByRole('switch', { name: /Include subdomains/ }).click({ force: true });
    await page.getByText('Domain settings saved.').first().waitFor();
    await waitForApi(
      async () =>
        (await w.api<DomainBody>('GET', `/api/v1/orgs/${w.orgId}/domains/${domainId}`)).body.includeSubdomains,
    );

    // Removal asks first; cancelling keeps the domain.
    await page.getByRole('button', { name: 'Remove domain…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await w.api('GET', `/api/v1/orgs/${w.orgId}/domains/${domainId}`)).status, 200);
    await page.getByRole('button', { name: 'Remove domain…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove domain' }).click();
    await page.waitForURL(`**/orgs/${w.orgId}/domains`);
    assert.equal((await w.api('GET', `/api/v1/orgs/${w.orgId}/domains/${domainId}`)).status, 404);
    assert.deepEqual(problems.list, [], 'no CSP violation, console error or exception');
  });

  test('an error from the API is shown with its message and request id', async () => {
    const { page } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/domains`);
    await signIn(page);
    // A public suffix passes the form's checks (it needs the API's list) and is refused by the API.
    await page.getByLabel(/^Domain/).fill('co.uk');
    await page.getByRole('button', { name: 'Add domain' }).click();
    const alert = page.getByTestId('api-error');
    await alert.getByText(/public suffix/).waitFor();
    await alert.getByText('domain_is_public_suffix').waitFor();
    assert.match(await alert.getByTestId('request-id').innerText(), /\S/);
    await checkAccessibility(page, 'the domains page with an error');
  });
});

async function waitForApi(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail('the API did not show the change');
}
