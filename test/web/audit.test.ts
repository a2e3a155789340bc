import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse } from 'csv-parse/sync';
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

interface Event {
  id: string;
  seq: number;
  action: string;
  hash: string;
  outcome: string;
  occurredAt: string;
  actor: { id: string | null; email: string | null; ip: string | null };
  targets: { type: string; id: string }[];
  metadata: Record<string, unknown>;
}
interface Page {
  data: Event[];
  nextCursor: string | null;
}

describe('console: audit log', { skip: E2E_SKIP }, () => {
  let w: ConsoleWorld;
  const holds: string[] = [];
  before(async () => {
    w = await startConsoleWorld();
    // More than one page of events of one action: 60 legal holds, each audited with its hold as target.
    for (let i = 0; i < 60; i++) {
      const r = await w.api<{ id: string }>('POST', `/api/v1/orgs/${w.orgId}/legal-holds`, { reason: `case ${i}` });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      holds.push(r.body.id);
    }
  });
  after(() => w?.close());

  const search = async (query: Record<string, string>) => {
    const all: Event[] = [];
    let cursor: string | null = null;
    do {
      const q = new URLSearchParams({ ...query, limit: '200', ...(cursor ? { cursor } : {}) });
      const r = await w.api<Page>('GET', `/api/v1/orgs/${w.orgId}/audit-events?${q}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      all.push(...r.body.data);
      cursor = r.body.nextCursor;
    } while (cursor);
    return all;
  };

  test('a filtered search is a link: sign in, scroll through every page, open an event, narrow by its target', async () => {
    const { page, problems } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/audit?action=legal_hold.*`);
    await page.waitForURL(/\/sign-in\?next=/);
    await signIn(page);
    await page.waitForURL(`**/orgs/${w.orgId}/audit?action=legal_hold.*`);
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    const rows = page.locator('[data-testid=audit-events] tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 50, 'the first page');
    assert.equal(
      await page.getByRole('combobox', { name: 'Action' }).inputValue(),
      'legal_hold.*',
      'the form shows the filter of the link',
    );

    // Infinite scroll: reaching the end of the list loads the next page over the cursor.
    await page.locator('[data-testid=audit-events] tbody tr').last().scrollIntoViewIfNeeded();
    await page.mouse.wheel(0, 10_000);
    await page.getByTestId('audit-end').waitFor();
    const expected = await search({ action: 'legal_hold.*' });
    assert.equal(expected.length, 60);
    assert.deepEqual(
      await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event'))),
      expected.map((e) => e.id),
      'the same events as the API, newest first',
    );
    await page.evaluate(() => window.scrollTo(0, 0));
    await checkAccessibility(page, 'the audit log');
    await screenshot(page, 'audit-log');

    // An invalid filter is refused before any request, with the API's rule.
    await page.getByLabel(/^From/).fill('yesterday');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByText('Not a time: use ISO 8601').waitFor();
    assert.equal(new URL(page.url()).searchParams.get('from'), null, 'the URL keeps the last valid search');
    await page.getByLabel(/^From/).fill('');

    // The event in full: actor, targets, metadata, chain hash.
    const newest = expected[0]!;
    await page.locator(`tr[data-event="${newest.id}"]`).getByRole('button', { name: 'legal_hold.placed' }).click();
    const detail = page.getByTestId('event-detail');
    await detail.waitFor();
    await detail.getByText(newest.hash).waitFor();
    await detail.getByText(OWNER_EMAIL).waitFor();
    assert.match(await page.getByTestId('event-metadata').innerText(), /"reason": "case 59"/);
    assert.equal(new URL(page.url()).searchParams.get('event'), newest.id, 'the open event is in the URL too');
    await checkAccessibility(page, 'the audit event detail');
    await screenshot(page, 'audit-event');

    // From the detail, narrow the search to events naming the hold.
    const holdId = newest.targets.find((t) => t.type === 'legal_hold')!.id;
    await detail.getByRole('button', { name: `Events naming it: ${holdId}` }).click();
    await page.waitForURL((u) => u.searchParams.get('target') === holdId);
    await page.getByRole('button', { name: 'Close the event' }).click();
    await page.waitForURL((u) => u.searchParams.get('event') === null);
    assert.equal(new URL(page.url()).searchParams.get('target'), holdId, 'closing the event keeps the search');
    // The narrowed list replaces the 60 rows once its answer arrives: wait for that, not for the end
    // marker, which the previous list also shows (CI caught the check running in between).
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=audit-events] tbody tr').length === 1,
      undefined,
      { timeout: 15_000 },
    );
    await page.getByTestId('audit-end').waitFor();
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().getAttribute('data-event'), newest.id);
    assert.deepEqual(problems.list, [], 'no CSP violation, console error or exception');
  });

  test("every filter of the API from a pasted link; the results are the API's for the same query", async () => {
    const sample = (await search({ action: 'legal_hold.placed' }))[10]!;
    const filters = {
      from: new Date(Date.parse(sample.occurredAt) - 60_000).toISOString(),
      to: new Date(Date.parse(sample.occurredAt) + 60_000).toISOString(),
      actor: OWNER_EMAIL,
      action: 'legal_hold.placed',
      outcome: 'success',
      target: sample.targets.find((t) => t.type === 'legal_hold')!.id,
      ip: sample.actor.ip!,
      order: 'asc',
    };
    const expected = await search(filters);
    assert.equal(expected.length, 1);
    const { page, problems } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/audit?${new URLSearchParams(filters)}`);
    await signIn(page);
    await page.getByTestId('audit-end').waitFor();
    const ids = await page
      .locator('[data-testid=audit-events] tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-event')));
    assert.deepEqual(
      ids,
      expected.map((e) => e.id),
    );
    for (const [label, value] of [
      [/^From/, filters.from],
      [/^To/, filters.to],
      [/^Actor/, filters.actor],
      [/^Target/, filters.target],
      [/^IP address/, filters.ip],
      [/^Outcome/, 'Success'],
    ] as const)
      assert.equal(await page.getByLabel(label).first().inputValue(), value, String(label));
    await checkAccessibility(page, 'the audit log with every filter');
    assert.deepEqual(problems.list, []);
  });

  test('exports download through the browser (CSV, NDJSON, JSON) and are recorded in the log', async () => {
    const { page, problems } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/audit?action=legal_hold.placed`);
    await signIn(page);
    await page.locator('[data-testid=audit-events] tbody tr').first().waitFor();
    const expected = await search({ action: 'legal_hold.placed', order: 'asc' });

    const fetchFile = async (name: string) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name }).click()]);
      const path = await download.path();
      return { name: download.suggestedFilename(), text: readFileSync(path, 'utf8') };
    };
    const csv = await fetchFile('Export CSV');
    assert.match(csv.name, /^audit-.*\.csv$/);
    const records = parse(csv.text, { columns: true }) as { id: string; action: string }[];
    assert.deepEqual(
      records.map((r) => r.id),
      expected.map((e) => e.id),
      'CSV: every event of the filter, in chain order',
    );

    const nd = await fetchFile('Export NDJSON');
    assert.match(nd.name, /\.ndjson$/);
    const lines = nd.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Event);
    assert.deepEqual(
      lines.map((e) => e.hash),
      expected.map((e) => e.hash),
    );

    const json = await fetchFile('Export JSON');
    assert.deepEqual(
      (JSON.parse(json.text) as Event[]).map((e) => e.id),
      expected.map((e) => e.id),
    );

    const recorded = await search({ action: 'audit.exported' });
    assert.deepEqual(
      recorded.map((e) => e.metadata.format).sort(),
      ['csv', 'json', 'ndjson'],
      'each export is an audit.exported event',
    );
    assert.deepEqual(problems.list, []);
  });

  test('integrity: verify the chain, sign a checkpoint; the page shows what the API says', async () => {
    const { page, problems } = await w.newPage();
    await page.goto(`/orgs/${w.orgId}/audit/integrity`);
    await signIn(page);
    await page.getByRole('heading', { name: 'Audit integrity' }).waitFor();
    // Reachable by keyboard, as every control.
    await tabUntil(page, (l) => l === 'Verify chain');
    await page.keyboard.press('Enter');
    const result = page.getByTestId('verify-result');
    await result.waitFor();
    const api = await w.api<{ ok: boolean; eventsChecked: number }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/audit-events/verify`,
    );
    assert.equal(api.body.ok, true);
    const shown = Number(/All (\d+) events verify/.exec(await result.innerText())?.[1]);
    assert.ok(
      shown > 60 && shown <= api.body.eventsChecked,
      `${shown} events verified, the API counts ${api.body.eventsChecked}`,
    );

    const before = await w.api<{ checkpoints: unknown[] }>('GET', `/api/v1/orgs/${w.orgId}/audit-checkpoints`);
    await page.getByRole('button', { name: 'Sign a checkpoint now' }).click();
    await page.getByText('Checkpoint signed').waitFor();
    const afterSign = await w.api<{ checkpoints: { id: string; payload: { kind: string } }[] }>(
      'GET',
      `/api/v1/orgs/${w.orgId}/audit-checkpoints`,
    );
    assert.equal(afterSign.body.checkpoints.length, before.body.checkpoints.length + 1);
    const made = afterSign.body.checkpoints.at(-1)!;
    assert.equal(made.payload.kind, 'manual');
    await page.locator(`tr[data-checkpoint="${made.id}"]`).waitFor();
    await checkAccessibility(page, 'the audit integrity page');
    await screenshot(page, 'audit-integrity');
    assert.deepEqual(problems.list, []);
  });
});
