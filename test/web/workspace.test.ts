import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';
import {
  type ConsoleWorld,
  E2E_SKIP,
  OWNER_EMAIL,
  checkAccessibility,
  screenshot,
  signIn,
  startConsoleWorld,
} from './harness.js';

interface Settings {
  retentionDays: number;
  ownRetentionDays: number | null;
  ipAllowlist: string[] | null;
}
interface Encryption {
  shreddedAt: string | null;
  keys: { version: number; status: string }[];
}

describe('console: workspace and model gateway', { skip: E2E_SKIP }, () => {
  let w: ConsoleWorld;
  let upstream: ModelUpstream;
  before(async () => {
    [w, upstream] = await Promise.all([startConsoleWorld(), startModelUpstream()]);
  });
  after(async () => {
    await upstream?.close();
    await w?.close();
  });

  test('gateway: set the provider, create a key (shown once), use it, see usage as a chart, revoke it', async () => {
    const { page, problems } = await w.newPage();
    const scripts: string[] = [];
    page.on('request', (r) => {
      if (r.resourceType() === 'script') scripts.push(new URL(r.url()).pathname);
    });
    await page.goto(`/orgs/${w.orgId}/gateway`);
    await signIn(page);
    await page.getByRole('heading', { name: 'Model gateway' }).waitFor();
    await page.getByText('No model provider yet').waitFor();

    // The form checks what the API would refuse before sending.
    await page.getByLabel(/^Name/).fill('Loopback Claude');
    await page.getByLabel(/^Base URL/).fill('ftp://models.example');
    await page.getByLabel(/^Allowed models/).fill('claude-*\nbad*pattern');
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByText("Give the provider's API base URL with http:// or https://").waitFor();
    await page.getByText('"bad*pattern" is a model name').waitFor();
    assert.equal((await w.api('GET', `/api/v1/orgs/${w.orgId}/gateway/upstream`)).body.upstream, null, 'nothing sent');

    await page.getByLabel(/^Base URL/).fill(upstream.url);
    await page.getByLabel(/^API key/).fill('sk-upstream-test');
    await page.getByLabel(/^Allowed models/).fill('claude-*');
    await page.getByRole('button', { name: 'Save provider' }).click();
    await page.getByText('a credential is stored').waitFor();
    const set = await w.api<{ upstream: { baseUrl: string; hasCredential: boolean; allowedModels: string[] } }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/gateway/upstream`,
    );
    assert.equal(set.body.upstream.hasCredential, true);
    assert.deepEqual(set.body.upstream.allowedModels, ['claude-*']);

    await page.getByLabel(/^Key name/).fill('laptop');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.getByTestId('new-key-value').innerText()).trim();
    assert.match(key, /^pls_gwk_/);

    // The key works at the gateway, as a program would use it; a model outside the list is refused.
    const gateway = (model: string) =>
      fetch(`${w.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hello' }] }),
      });
    for (const model of ['claude-test', 'claude-test', 'claude-other']) {
      const r = await gateway(model);
      assert.equal(r.status, 200, await r.text());
    }
    const refused = await gateway('gpt-test');
    assert.equal(refused.status, 403, 'gpt-test is not in claude-*');
    assert.equal(
      scripts.filter((s) => /UsageChart/.test(s)).length,
      0,
      'the chart is not loaded before there is usage',
    );
    await page.reload();
    await page.getByTestId('usage-chart').waitFor();
    await page.locator('.recharts-bar-rectangle').first().waitFor();
    assert.ok(
      scripts.some((s) => /UsageChart/.test(s)),
      'the chart came as its own chunk',
    );
    const usage = await w.api<{ data: { email: string; model: string; requests: number; inputTokens: number }[] }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/gateway/usage`,
    );
    const test1 = usage.body.data.find((r) => r.model === 'claude-test')!;
    assert.equal(test1.requests, 2);
    const row = page.locator(`tr[data-usage="${OWNER_EMAIL}:claude-test"] td`);
    assert.deepEqual((await row.allInnerTexts()).slice(1, 4), ['claude-test', '2', String(test1.inputTokens)]);

    await checkAccessibility(page, 'the gateway page');
    await page.getByTestId('usage-chart').scrollIntoViewIfNeeded();
    await screenshot(page, 'gateway-usage');

    const keys = await w.api<{ data: { id: string; name: string; revokedAt: string | null }[] }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/gateway/keys`,
    );
    const laptop = keys.body.data.find((k) => k.name === 'laptop')!;
    await page.locator(`tr[data-key="${laptop.id}"]`).getByRole('button', { name: 'Revoke laptop' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Revoke key' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const revoked = await w.api<{ data: { id: string; revokedAt: string | null }[] }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/gateway/keys`,
    );
    assert.ok(revoked.body.data.find((k) => k.id === laptop.id)!.revokedAt, 'revoked');
    assert.deepEqual(problems.list, []);
  });

  test('workspace: retention with its preview and confirmation, a legal hold, the allowlist guard, rotate and shred', async () => {
    // Content to delete: a conversation with one exchange, through the provider set above.
    const conv = await w.api<{ id: string }>('POST', `/api/v1/orgs/${w.orgId}/conversations`, { title: 'Plans' });
    assert.equal(conv.status, 201, JSON.stringify(conv.body));
    const sent = await w.api('POST', `/api/v1/orgs/${w.orgId}/conversations/${conv.body.id}/messages`, {
      content: 'hello',
      model: 'claude-test',
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));

    const { page, problems } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/workspace`);
    await signIn(page);
    await page.getByRole('heading', { name: 'Workspace', exact: true }).waitFor();
    await page.getByTestId('retention-current').waitFor();

    // Retention: a shorter period shows what it deletes as it is typed, and saving asks first.
    await page.getByLabel(/^Retention in days/).fill('0');
    const preview = page.getByTestId('retention-preview');
    await preview.waitFor();
    // The gateway calls of the test above are stored conversations too: the API's own count is the reference.
    const counted = await w.api<{ conversations: number; messages: number; files: number }>(
      'POST',
      `/api/v1/orgs/${w.orgId}/workspace/retention-preview`,
      { retentionDays: 0 },
    );
    assert.ok(counted.body.conversations >= 1);
    assert.match(
      await preview.innerText(),
      new RegExp(
        `deletes ${counted.body.conversations} conversation\\(s\\) \\(${counted.body.messages} message\\(s\\)\\) and ${counted.body.files} file\\(s\\)`,
      ),
    );
    await page.getByRole('button', { name: 'Save retention' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Shortening retention from').waitFor();
    assert.equal(
      (await w.api<Settings>('GET', `/api/v1/orgs/${w.orgId}/workspace/settings`)).body.ownRetentionDays,
      null,
      'nothing saved before the confirmation',
    );
    await dialog.getByRole('button', { name: 'Shorten and delete' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal((await w.api<Settings>('GET', `/api/v1/orgs/${w.orgId}/workspace/settings`)).body.ownRetentionDays, 0);

    // Legal hold on the organization, then lifted after confirming.
    await page.getByLabel(/^Reason/).fill('Matter 42');
    await page.getByRole('button', { name: 'Place hold' }).click();
    await page.getByRole('cell', { name: 'Matter 42', exact: true }).waitFor();
    const holds = await w.api<{
      data: { id: string; reason: string; liftedAt: string | null; userId: string | null }[];
    }>('GET', `/api/v1/orgs/${w.orgId}/legal-holds`);
    assert.deepEqual(
      holds.body.data.map((h) => [h.reason, h.userId, h.liftedAt]),
      [['Matter 42', null, null]],
    );

    // IP allowlist: a malformed entry is refused on the page; one that excludes this browser asks first.
    const allowlist = page.getByLabel(/^Allowed networks/);
    await allowlist.fill('203.0.113.0/24\n10.0.0.300');
    await page.getByRole('button', { name: 'Save allowlist' }).click();
    await page.getByTestId('allowlist-problems').getByText('"10.0.0.300" is not an IPv4 or IPv6 address').waitFor();
    await allowlist.fill('203.0.113.0/24\n2001:db8::/32');
    await page.getByRole('button', { name: 'Save allowlist' }).click();
    await dialog.getByText('does not include your current address 127.0.0.1').waitFor();
    const requestId = await dialog.getByTestId('request-id').innerText();
    assert.ok(requestId.length > 0, 'the refusal shows its request id');
    await checkAccessibility(page, 'the allowlist lockout guard');
    await dialog.getByRole('button', { name: 'Save anyway' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.deepEqual((await w.api<Settings>('GET', `/api/v1/orgs/${w.orgId}/workspace/settings`)).body.ipAllowlist, [
      '203.0.113.0/24',
      '2001:db8::/32',
    ]);
    const blocked = await w.api<{ error: { code: string } }>('GET', `/api/v1/orgs/${w.orgId}/conversations`);
    assert.equal(blocked.body.error.code, 'ip_not_allowed', 'the list is in force');
    await allowlist.fill('');
    await page.getByRole('button', { name: 'Save allowlist' }).click();
    await page.getByText('In force: any address').waitFor();
    assert.equal((await w.api<Settings>('GET', `/api/v1/orgs/${w.orgId}/workspace/settings`)).body.ipAllowlist, null);

    await page
      .locator(`tr[data-hold="${holds.body.data[0]!.id}"]`)
      .getByRole('button', { name: /^Lift hold/ })
      .click();
    await dialog.getByRole('button', { name: 'Lift hold' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const lifted = await w.api<{ data: { liftedAt: string | null }[] }>('GET', `/api/v1/orgs/${w.orgId}/legal-holds`);
    assert.ok(lifted.body.data[0]!.liftedAt, 'lifted');

    // Encryption: rotate, then crypto-shred behind the typed organization id.
    const before = await w.api<Encryption>('GET', `/api/v1/orgs/${w.orgId}/encryption`);
    await page.getByRole('button', { name: 'Rotate data key' }).click();
    const newest = Math.max(...before.body.keys.map((k) => k.version)) + 1;
    await page.locator(`tr[data-key-version="${newest}"]`).waitFor();
    await checkAccessibility(page, 'the workspace page');
    // The picture for the docs: the page as it opens (the notifications of the steps above gone).
    await page.reload();
    await page.getByTestId('retention-current').waitFor();
    await page.getByTestId('data-keys').waitFor();
    await screenshot(page, 'workspace');

    await page.getByRole('button', { name: 'Crypto-shred…' }).click();
    const destroy = dialog.getByRole('button', { name: 'Destroy the keys' });
    assert.equal(await destroy.isDisabled(), true, 'disabled until the organization id is typed');
    await dialog.getByLabel(`Type ${w.orgId} to confirm`).fill(w.orgId.slice(0, -1));
    assert.equal(await destroy.isDisabled(), true);
    await dialog.getByLabel(`Type ${w.orgId} to confirm`).fill(w.orgId);
    await destroy.click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByText(/Crypto-shredded at/).waitFor();
    const shredded = await w.api<Encryption>('GET', `/api/v1/orgs/${w.orgId}/encryption`);
    assert.ok(shredded.body.shreddedAt);
    assert.ok(shredded.body.keys.every((k) => k.status === 'destroyed'));
    assert.deepEqual(problems.list, []);
  });
});
