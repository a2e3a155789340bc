import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
const AUTH_FAILURE_MAX_SOURCES = 20;
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type ScimClient, newDirectory } from './helpers.js';

/**
 * Requests with a bad SCIM bearer token: each still gets the same RFC 7644 401, but the sync log
 * counts them on one entry per directory per minute (with the busiest source addresses), so an
 * attacker or a misconfigured identity provider cannot fill the table.
 */
describe('SCIM sync log: repeated authentication failures are one counted entry per directory per minute', () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let scim: ScimClient;
  let directoryId: string;
  let base: string;
  const BAD = 'pls_scim_this-token-is-wrong-0000000000000000000000';

  const bad = async (ip: string, path = '/Users', token = BAD) => {
    const res = await t.app.inject({
      method: 'GET',
      url: `${base}${path}`,
      headers: { authorization: `Bearer ${token}`, accept: 'application/scim+json' },
      remoteAddress: ip,
    });
    return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, unknown>, headers: res.headers };
  };
  const logRows = async () =>
    t.db.database.db
      .selectFrom('scim_sync_log')
      .selectAll()
      .where('directory_id', '=', directoryId)
      .orderBy('id')
      .execute();
  const failures = async () =>
    (await owner.get(`/api/v1/orgs/${orgId}/scim/directories/${directoryId}/sync-log?outcome=failure`)).body
      .data as Record<string, any>[];

  before(async () => {
    t = await createTestApp();
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    ({ scim, directoryId } = await newDirectory(t, owner, orgId));
    base = scim.base;
    // Start at the beginning of a minute so every burst below lands in one window.
    const now = t.clock.now().getTime();
    t.clock.advance(60_000 - (now % 60_000) + 1_000);
  });
  after(() => t.close());

  test('every bad request still gets the RFC 7644 401, unchanged', async () => {
    const res = await bad('198.51.100.1');
    assert.equal(res.status, 401);
    assert.equal(res.headers['content-type'], 'application/scim+json; charset=utf-8');
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="scim", error="invalid_token"');
    assert.deepEqual(res.body, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
      status: '401',
      detail:
        'The bearer token is not valid for this SCIM directory: it may be mistyped, rotated past its overlap window, or belong to another directory. Copy the current token from the directory settings in Palisade into the identity provider.',
    });
    const missing = await t.app.inject({ method: 'GET', url: `${base}/Users`, remoteAddress: '198.51.100.1' });
    assert.equal(missing.statusCode, 401, 'no token at all: the same answer');
  });

  test('a burst from several addresses is one entry with the count and the addresses', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await bad('198.51.100.1')).status, 401);
    for (let i = 0; i < 5; i++) assert.equal((await bad('198.51.100.2', '/Groups')).status, 401);
    for (let i = 0; i < 2; i++) assert.equal((await bad('2001:db8::7')).status, 401);
    const rows = await logRows();
    assert.equal(rows.length, 1, `one row, not ${rows.length}`);
    const [entry] = await failures();
    assert.equal(entry?.cause, 'invalid_token');
    assert.equal(entry?.status, 401);
    assert.equal(entry?.occurrences, 19, '1 + 1 (no token) + 10 + 5 + 2');
    assert.deepEqual(entry?.aggregate.sources, [
      { ip: '198.51.100.1', count: 12 },
      { ip: '198.51.100.2', count: 5 },
      { ip: '2001:db8::7', count: 2 },
    ]);
    assert.equal(entry?.aggregate.otherSources, 0);
    assert.match(
      entry?.explanation,
      /^The bearer token is not valid for this SCIM directory/,
      'the fix is still there',
    );
    assert.match(entry?.explanation, /19 requests with an invalid token .* from 3 addresses: 198\.51\.100\.1 \(12\)/);
    const problems = await owner.get(`/api/v1/orgs/${orgId}/scim/directories/${directoryId}/sync-log/problems`);
    const p = problems.body.problems.find((x: { cause: string }) => x.cause === 'invalid_token');
    assert.deepEqual([p.count, p.entries], [19, 1], 'problems count requests, not rows');
  });

  test('concurrent failures (several connections on PostgreSQL) still land on one row and none is lost', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => bad(`203.0.113.${i % 4}`)));
    assert.ok(results.every((r) => r.status === 401));
    const rows = await logRows();
    assert.equal(rows.length, 1);
    assert.equal(Number(rows[0]?.occurrences), 39);
    const [entry] = await failures();
    const counted =
      (entry?.aggregate.sources as { count: number }[]).reduce((n, s) => n + s.count, 0) +
      Number(entry?.aggregate.otherSources);
    assert.equal(counted, 39, 'per-address counts add up');
  });

  test('an attacker rotating addresses is capped too: the busiest addresses are named, the rest counted', async () => {
    for (let i = 0; i < 40; i++) await bad(`192.0.2.${i}`);
    const rows = await logRows();
    assert.equal(rows.length, 1);
    const [entry] = await failures();
    assert.equal(entry?.occurrences, 79);
    assert.equal(entry?.aggregate.sources.length, AUTH_FAILURE_MAX_SOURCES);
    assert.ok(entry?.aggregate.otherSources > 0);
    assert.ok(JSON.stringify(rows[0]).length < 8_000, 'the row stays small');
  });

  test('the next minute starts a new entry; valid requests keep their own rows', async () => {
    t.clock.advance(60_000);
    await bad('198.51.100.1');
    await bad('198.51.100.1');
    const ok = await scim.get('/Users');
    assert.equal(ok.status, 200);
    const rows = await logRows();
    assert.equal(rows.length, 3, 'two minutes of failures and one real request');
    const entries = await failures();
    assert.deepEqual(
      entries.map((e) => e.occurrences),
      [2, 79],
      'newest first',
    );
    const success = (await owner.get(`/api/v1/orgs/${orgId}/scim/directories/${directoryId}/sync-log?outcome=success`))
      .body.data;
    assert.equal(success.length, 1);
    assert.equal(success[0].occurrences, 1);
    assert.equal(success[0].aggregate, undefined);
  });

  test("another directory's token and unknown directories: logged under the URL's directory, or not at all", async () => {
    const other = await newDirectory(t, owner, orgId, 'Other');
    const before = (await logRows()).length;
    assert.equal((await bad('198.51.100.9', '/Users', other.token)).status, 401);
    assert.equal((await bad('198.51.100.9', '/Users', other.token)).status, 401);
    assert.equal((await logRows()).length, before, "counted on this minute's entry");
    const res = await t.app.inject({
      method: 'GET',
      url: '/scim/v2/scd_does_not_exist/Users',
      headers: { authorization: `Bearer ${BAD}` },
      remoteAddress: '198.51.100.9',
    });
    assert.equal(res.statusCode, 401);
    const total = await t.db.database.db
      .selectFrom('scim_sync_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('directory_id', '=', 'scd_does_not_exist')
      .executeTakeFirstOrThrow();
    assert.equal(Number(total.n), 0);
    const otherRows = await t.db.database.db
      .selectFrom('scim_sync_log')
      .select('id')
      .where('directory_id', '=', other.directoryId)
      .execute();
    assert.equal(otherRows.length, 0, "the token's own directory is not written to by requests for another URL");
  });
});
