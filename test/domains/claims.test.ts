import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { RECHECK_JOB } from '../../src/domains/recheck-job.js';
import { applyCheck, checkDns } from '../../src/domains/verify.js';
import { createScheduler } from '../../src/scheduled-jobs.js';
import { TEST_DIALECT } from '../helpers/db.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { Dnsmasq } from './dns-peers.js';

/** Who holds a domain when things happen at once, when a holder goes away, and configuration edges. */
describe('domain claims under concurrency and deletion', () => {
  let t: TestApp;
  let a: { orgId: string; owner: Agent };
  let b: { orgId: string; owner: Agent };
  const dns = new Dnsmasq();
  const add = async (who: { orgId: string; owner: Agent }, domain: string) => {
    const res = await who.owner.post(`/api/v1/orgs/${who.orgId}/domains`, { domain });
    assert.equal(res.status, 201);
    return res.body as { id: string; instructions: { value: string } };
  };
  const verify = (who: { orgId: string; owner: Agent }, id: string) =>
    who.owner.post(`/api/v1/orgs/${who.orgId}/domains/${id}/verify`);

  before(async () => {
    t = await createTestApp();
    a = await t.seedOrg('Alpha Claims', 'owner@alpha-claims.test');
    b = await t.seedOrg('Beta Claims', 'owner@beta-claims.test');
  });
  after(async () => {
    await dns.close();
    await t.close();
  });

  test('two organizations verifying the same domain at the same moment: exactly one wins', async () => {
    const da = await add(a, 'race.test');
    const db = await add(b, 'race.test');
    await dns.serve([
      `txt-record=_palisade-challenge.race.test,"${da.instructions.value}"`,
      `txt-record=_palisade-challenge.race.test,"${db.instructions.value}"`,
    ]);
    t.config.dnsServers = [dns.server];
    const results = await Promise.all([verify(a, da.id), verify(b, db.id), verify(a, da.id), verify(b, db.id)]);
    const statuses = results.map((r) => r.status);
    const winners = new Set(results.filter((r) => r.status === 200).map((r) => r.body.domain.orgId));
    assert.equal(winners.size, 1, JSON.stringify(statuses));
    assert.ok(
      results.every(
        (r) => r.status === 200 || (r.status === 409 && r.body.error.code === 'domain_claimed_by_another_organization'),
      ),
      JSON.stringify(results.map((r) => r.body)),
    );
    const held = await t.db.database.db
      .selectFrom('domains')
      .select(['org_id'])
      .where('name', '=', 'race.test')
      .where('status', '=', 'verified')
      .execute();
    assert.equal(held.length, 1);
  });

  test('two checks of one domain at once make one transition, one audit event, one notification', async () => {
    const d = await add(a, 'twice.test');
    await dns.serve([`txt-record=_palisade-challenge.twice.test,"${d.instructions.value}"`]);
    assert.equal((await verify(a, d.id)).body.verified, true);
    await dns.serve([]);
    const row = await t.db.database.db
      .selectFrom('domains')
      .selectAll()
      .where('id', '=', d.id)
      .executeTakeFirstOrThrow();
    const g = await checkDns(t.system, row);
    assert.equal(g.code, 'record_name_not_found');
    const out = await Promise.all([
      applyCheck(t.system, a.orgId, d.id, g, 'job'),
      applyCheck(t.system, a.orgId, d.id, g, 'job'),
      applyCheck(t.system, a.orgId, d.id, g, 'job'),
    ]);
    assert.deepEqual(out.map((o) => o.transition).sort(), ['failing', 'unchanged', 'unchanged']);
    const notes = await t.db.database.db
      .selectFrom('domain_notifications')
      .select('event')
      .where('domain_id', '=', d.id)
      .execute();
    assert.deepEqual(notes.map((n) => n.event).sort(), ['domain.failing', 'domain.verified']);
    // The former name (events stored before the rename keep it) finds the new events too.
    const ev = await a.owner.get(`/api/v1/orgs/${a.orgId}/audit-events?action=domain.verification_failing`);
    assert.equal(ev.body.data.length, 1);
  });

  test('deleting the holding organization releases its domains to others', async () => {
    const gone = await t.seedOrg('Gone Co', 'owner@gone.test');
    const dg = await add(gone, 'released.test');
    const dbb = await add(b, 'released.test');
    await dns.serve([
      `txt-record=_palisade-challenge.released.test,"${dg.instructions.value}"`,
      `txt-record=_palisade-challenge.released.test,"${dbb.instructions.value}"`,
    ]);
    assert.equal((await verify(gone, dg.id)).body.verified, true);
    assert.equal((await verify(b, dbb.id)).status, 409);
    assert.equal((await gone.owner.delete(`/api/v1/orgs/${gone.orgId}`)).status, 204);
    assert.equal((await t.anonymous().get('/api/v1/login/discover?email=x@released.test')).body.organization, null);
    assert.equal((await verify(b, dbb.id)).body.verified, true);
    assert.equal(
      (await t.anonymous().get('/api/v1/login/discover?email=x@released.test')).body.organization.id,
      b.orgId,
    );
    const audit = await t.db.database.db
      .selectFrom('audit_events')
      .select(['action'])
      .where('org_id', '=', gone.orgId)
      .where('action', '=', 'domain.released')
      .execute();
    assert.equal(audit.length, 1);
  });

  test('two Palisade processes on one database run the re-check once per interval', async () => {
    const d = await add(a, 'twoproc.test');
    await dns.serve([`txt-record=_palisade-challenge.twoproc.test,"${d.instructions.value}"`]);
    assert.equal((await verify(a, d.id)).body.verified, true);
    await dns.serve([]);
    // A second, independent connection pool: another process (on SQLite, the same file's connection).
    const other = TEST_DIALECT === 'postgres' ? await openDatabase(t.db.url) : t.db.database;
    try {
      const p1 = createScheduler({ db: t.db.database.db, clock: t.clock, config: t.config });
      const p2 = createScheduler({ db: other.db, clock: t.clock, config: t.config });
      const [r1, r2] = await Promise.all([p1.runNow(RECHECK_JOB), p2.runNow(RECHECK_JOB)]);
      assert.equal([r1, r2].filter((r) => r.ran).length, 1, JSON.stringify([r1, r2]));
      const ev = await a.owner.get(`/api/v1/orgs/${a.orgId}/audit-events?action=domain.failing`);
      assert.equal(
        ev.body.data.filter((e: { targets: { name: string }[] }) => e.targets[0]?.name === 'twoproc.test').length,
        1,
      );
      // A restarted process does not find it due again within the interval.
      const p3 = createScheduler({ db: other.db, clock: t.clock, config: t.config });
      assert.equal((await p3.tick()).find((r) => r.name === RECHECK_JOB)?.ran, false);
    } finally {
      if (other !== t.db.database) await other.close();
    }
  });

  test('the same name added twice at once: one 201, one 409, never a 500', async () => {
    const res = await Promise.all(
      [0, 1, 2, 3].map(() => a.owner.post(`/api/v1/orgs/${a.orgId}/domains`, { domain: 'Twice-Added.test' })),
    );
    assert.deepEqual(res.map((r) => r.status).sort(), [201, 409, 409, 409], JSON.stringify(res.map((r) => r.body)));
    assert.ok(res.filter((r) => r.status === 409).every((r) => r.body.error.code === 'domain_already_added'));
  });

  test('an organization holds at most 500 domains', async () => {
    const org = await t.seedOrg('Many Domains', 'owner@many.test');
    const at = t.clock.now().toISOString();
    const rows = Array.from({ length: 500 }, (_, i) => ({
      id: `dom_many${String(i).padStart(22, '0')}`,
      org_id: org.orgId,
      name: `d${i}.many.test`,
      unicode_name: `d${i}.many.test`,
      status: 'pending' as const,
      include_subdomains: 0,
      auto_join: 0,
      token: `palisade-verification=many${i}`,
      claim_key: null,
      created_by: null,
      created_at: at,
      updated_at: at,
      verified_at: null,
      last_checked_at: null,
      last_good_check_at: null,
      failing_since: null,
      grace_until: null,
      expired_at: null,
      last_diagnosis: null,
    }));
    for (let i = 0; i < rows.length; i += 100)
      await t.db.database.db
        .insertInto('domains')
        .values(rows.slice(i, i + 100))
        .execute();
    const res = await org.owner.post(`/api/v1/orgs/${org.orgId}/domains`, { domain: 'one-more.test' });
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'too_many_domains');
    assert.equal(
      (await org.owner.post(`/api/v1/orgs/${org.orgId}/domains`, { domain: 'd7.many.test' })).body.error.code,
      'domain_already_added',
    );
  });

  test('DNS settings are validated at start-up with the variable named', () => {
    assert.deepEqual(loadConfig({ PALISADE_DNS_SERVERS: '127.0.0.1:5353, [::1]:53,192.0.2.53' }).dnsServers, [
      '127.0.0.1:5353',
      '[::1]:53',
      '192.0.2.53',
    ]);
    assert.deepEqual(loadConfig({}).dnsServers, []);
    assert.throws(
      () => loadConfig({ PALISADE_DNS_SERVERS: 'dns.example.com' }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'PALISADE_DNS_SERVERS',
    );
    assert.equal(loadConfig({ PALISADE_DOMAIN_RECORD_PREFIX: '_Corp-Verify.' }).domainRecordPrefix, '_corp-verify');
    assert.throws(() => loadConfig({ PALISADE_DOMAIN_RECORD_PREFIX: 'bad prefix' }), ConfigError);
    assert.throws(() => loadConfig({ PALISADE_DOMAIN_GRACE_DAYS: '0' }), ConfigError);
    const c = loadConfig({});
    assert.deepEqual(
      [c.domainRecheckHours, c.domainGraceDays, c.dnsTimeoutMs, c.domainRecordPrefix],
      [24, 14, 5000, '_palisade-challenge'],
    );
  });
});
