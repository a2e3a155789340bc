import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { Dnsmasq, servfailResolver, silentResolver } from './dns-peers.js';

/** Every diagnosis, against a real dnsmasq on a loopback port serving the records each case needs. */
describe('domain verification against a real DNS server', () => {
  let t: TestApp;
  let a: { orgId: string; owner: Agent };
  let b: { orgId: string; owner: Agent };
  const dns = new Dnsmasq();
  const ids: Record<string, string> = {};
  const tokens: Record<string, string> = {};
  let oldToken = '';
  let bGoodToken = '';
  let bGoodId = '';

  const add = async (who: { orgId: string; owner: Agent }, domain: string, includeSubdomains?: boolean) => {
    const res = await who.owner.post(
      `/api/v1/orgs/${who.orgId}/domains`,
      includeSubdomains === undefined ? { domain } : { domain, includeSubdomains },
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as {
      id: string;
      domain: string;
      instructions: { value: string; recordName: string; zoneFileLine: string };
    };
  };
  const verify = (who: { orgId: string; owner: Agent }, id: string) =>
    who.owner.post(`/api/v1/orgs/${who.orgId}/domains/${id}/verify`);
  const rec = (domain: string) => `_palisade-challenge.${domain}`;
  const useDns = (server: string) => {
    t.config.dnsServers = [server];
  };

  before(async () => {
    t = await createTestApp({ dnsTimeoutMs: 2000 });
    a = await t.seedOrg('Acme Secret Holdings', 'owner@acme.test');
    b = await t.seedOrg('Beta', 'owner@beta.test');
    for (const d of [
      'good.test',
      'nx.test',
      'apex.test',
      'nodata.test',
      'quoted.test',
      'ws.test',
      'split.test',
      'wrong.test',
      'case.test',
      'cname.test',
      'cname-wrong.test',
      'alias-ok.test',
      'foreign.test',
      'otherdom.test',
      'refused.example',
    ]) {
      const r = await add(a, d);
      ids[d] = r.id;
      tokens[d] = r.instructions.value;
    }
    // An older value: the domain removed and added again gets a new one.
    const first = await add(a, 'old.test');
    oldToken = first.instructions.value;
    assert.equal((await a.owner.delete(`/api/v1/orgs/${a.orgId}/domains/${first.id}`)).status, 204);
    const again = await add(a, 'old.test');
    assert.notEqual(again.instructions.value, oldToken);
    ids['old.test'] = again.id;
    tokens['old.test'] = again.instructions.value;
    const bGood = await add(b, 'good.test');
    bGoodToken = bGood.instructions.value;
    bGoodId = bGood.id;
    const tok = (d: string) => tokens[d] as string;
    const half = tok('split.test').length >> 1;
    await dns.serve([
      `txt-record=${rec('good.test')},"${tok('good.test')}"`,
      `txt-record=${rec('good.test')},"${bGoodToken}"`,
      `host-record=${rec('nodata.test')},127.0.0.9`,
      'host-record=apex.test,127.0.0.10',
      `txt-record=${rec('quoted.test')},"\\"${tok('quoted.test')}\\""`,
      `txt-record=${rec('ws.test')}," ${tok('ws.test')} "`,
      `txt-record=${rec('split.test')},"${tok('split.test').slice(0, half)}","${tok('split.test').slice(half)}"`,
      `txt-record=${rec('wrong.test')},"v=spf1 -all"`,
      `txt-record=${rec('wrong.test')},"something-else"`,
      `txt-record=${rec('case.test')},"${tok('case.test').toUpperCase()}"`,
      `cname=${rec('cname.test')},target.elsewhere.test`,
      `cname=${rec('cname-wrong.test')},records.dns-host.test`,
      `txt-record=records.dns-host.test,"unrelated-value"`,
      `cname=${rec('alias-ok.test')},acme.dns-host.test`,
      `txt-record=acme.dns-host.test,"${tok('alias-ok.test')}"`,
      `txt-record=${rec('foreign.test')},"${bGoodToken}"`,
      `txt-record=${rec('otherdom.test')},"${tok('good.test')}"`,
      `txt-record=${rec('old.test')},"${oldToken}"`,
    ]);
    useDns(dns.server);
  });
  after(async () => {
    await dns.close();
    await t.close();
  });

  test('adding a domain normalizes it and gives exact, copy-paste instructions', async () => {
    const res = await a.owner.post(`/api/v1/orgs/${a.orgId}/domains`, { domain: '  BÜCHER.Example.  ' });
    assert.equal(res.status, 201);
    assert.equal(res.body.domain, 'xn--bcher-kva.example');
    assert.equal(res.body.unicodeDomain, 'bücher.example');
    assert.equal(res.body.status, 'pending');
    assert.equal(res.body.includeSubdomains, false);
    const i = res.body.instructions;
    assert.equal(i.recordType, 'TXT');
    assert.equal(i.recordName, '_palisade-challenge.xn--bcher-kva.example');
    assert.match(i.value, /^palisade-verification=[0-9a-f]{40}$/);
    assert.equal(i.zoneFileLine, `_palisade-challenge.xn--bcher-kva.example. 3600 IN TXT "${i.value}"`);
    const again = await a.owner.post(`/api/v1/orgs/${a.orgId}/domains`, { domain: 'xn--bcher-kva.example.' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'domain_already_added');
    const list = await a.owner.get(`/api/v1/orgs/${a.orgId}/domains?limit=200`);
    assert.ok(list.body.data.some((d: { id: string }) => d.id === res.body.id));
    const got = await a.owner.get(`/api/v1/orgs/${a.orgId}/domains/${res.body.id}`);
    assert.equal(got.body.instructions.value, i.value);
  });

  test('the record prefix is configurable', async () => {
    const t2 = await createTestApp({ domainRecordPrefix: '_acme-verify' });
    try {
      const o = await t2.seedOrg('Prefix', 'p@prefix.test');
      const res = await o.owner.post(`/api/v1/orgs/${o.orgId}/domains`, { domain: 'prefix.test' });
      assert.equal(res.body.instructions.recordName, '_acme-verify.prefix.test');
    } finally {
      await t2.close();
    }
  });

  test('a correct record verifies the domain and is audited', async () => {
    // A bare POST with no body, as `curl -X POST` sends it.
    const res = await a.owner.request('POST', `/api/v1/orgs/${a.orgId}/domains/${ids['good.test']}/verify`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.verified, true);
    assert.equal(res.body.diagnosis.code, 'verified');
    assert.equal(res.body.domain.status, 'verified');
    assert.equal(res.body.domain.capturesLogins, true);
    assert.match(res.body.summary, /good\.test is verified; people with an email at good\.test are routed/);
    assert.ok(res.body.domain.verifiedAt);
    assert.equal(res.body.domain.lastGoodCheckAt, res.body.domain.verifiedAt);
    const audit = await a.owner.get(`/api/v1/orgs/${a.orgId}/audit-events?action=domain.verified`);
    assert.equal(audit.body.data.length, 1);
    assert.equal(audit.body.data[0].targets[0].name, 'good.test');
  });

  test('NXDOMAIN: the record name does not exist', async () => {
    const res = await verify(a, ids['nx.test']!);
    const g = res.body.diagnosis;
    assert.equal(res.body.verified, false);
    assert.equal(g.code, 'record_name_not_found');
    assert.equal(g.dnsSide, false);
    for (const s of [
      'nx.test',
      '_palisade-challenge.nx.test',
      tokens['nx.test'],
      'NXDOMAIN',
      'The domain nx.test itself does not exist',
    ])
      assert.ok(g.message.includes(s), `${s} in ${g.message}`);
    assert.equal(res.body.domain.status, 'pending');
    assert.equal(res.body.domain.lastDiagnosis.code, 'record_name_not_found');
    const audit = await a.owner.get(`/api/v1/orgs/${a.orgId}/audit-events?action=domain.verification_failed`);
    assert.ok(
      audit.body.data.some(
        (e: { outcome: string; metadata: { diagnosisCode: string } }) =>
          e.outcome === 'failure' && e.metadata.diagnosisCode === 'record_name_not_found',
      ),
    );
  });

  test('NXDOMAIN for the record of a domain that does exist: no spelling hint', async () => {
    const g = (await verify(a, ids['apex.test']!)).body.diagnosis;
    assert.equal(g.code, 'record_name_not_found');
    assert.ok(!g.message.includes('itself does not exist'), g.message);
    assert.ok(g.message.includes('_palisade-challenge.apex.test'));
  });

  test('NODATA: the name exists but has no TXT record', async () => {
    const g = (await verify(a, ids['nodata.test']!)).body.diagnosis;
    assert.equal(g.code, 'no_txt_records');
    assert.match(g.message, /exists but has no TXT records/);
    assert.ok(g.message.includes(tokens['nodata.test']!));
  });

  const nearMiss = async (domain: string, flags: string[], foundValue?: string) => {
    const res = await verify(a, ids[domain]!);
    const g = res.body.diagnosis;
    assert.equal(res.body.verified, false, domain);
    assert.equal(g.code, 'value_mismatch', domain);
    assert.equal(g.found.length, 1);
    assert.deepEqual(g.found[0].nearMiss, flags, `${domain}: ${JSON.stringify(g.found)}`);
    if (foundValue !== undefined) assert.equal(g.found[0].value, foundValue);
    for (const s of [domain, `_palisade-challenge.${domain}`, tokens[domain], 'is close'])
      assert.ok(g.message.includes(s as string), `${s} in ${g.message}`);
    return g;
  };

  test('near miss: surrounding quotes', async () => {
    const g = await nearMiss('quoted.test', ['surrounding_quotes'], `"${tokens['quoted.test']}"`);
    assert.match(g.message, /quote characters/);
  });
  test('near miss: whitespace', async () => {
    await nearMiss('ws.test', ['whitespace'], ` ${tokens['ws.test']} `);
  });
  test('near miss: value split across several strings', async () => {
    const g = await nearMiss('split.test', ['split_across_strings'], tokens['split.test']);
    assert.equal(g.found[0].strings.length, 2);
    assert.match(g.message, /split into several strings/);
  });
  test('near miss: letter case', async () => {
    await nearMiss('case.test', ['letter_case']);
  });
  test('near miss: an older value of this organization', async () => {
    const g = await nearMiss('old.test', ['older_token'], oldToken);
    assert.match(g.message, /older verification value of this organization/);
  });
  test("near miss: this organization's value for another domain", async () => {
    await nearMiss('otherdom.test', ['token_for_other_domain']);
  });
  test("near miss: another organization's value, without naming it", async () => {
    const g = await nearMiss('foreign.test', ['other_organization_token']);
    assert.ok(!g.message.includes('Beta'));
    assert.match(g.message, /different Palisade organization/);
  });

  test('values found but none close: all of them are listed', async () => {
    const g = (await verify(a, ids['wrong.test']!)).body.diagnosis;
    assert.equal(g.code, 'value_mismatch');
    assert.deepEqual(g.found.map((f: { value: string }) => f.value).sort(), ['something-else', 'v=spf1 -all']);
    assert.ok(g.found.every((f: { nearMiss: string[] }) => f.nearMiss.length === 0));
    assert.ok(g.message.includes('"v=spf1 -all"') && g.message.includes('"something-else"'));
  });

  test('CNAME pointing elsewhere: with no TXT at the target, and with the wrong TXT there', async () => {
    const g1 = (await verify(a, ids['cname.test']!)).body.diagnosis;
    assert.equal(g1.code, 'cname_elsewhere');
    assert.equal(g1.cnameTarget, 'target.elsewhere.test');
    assert.ok(g1.message.includes('target.elsewhere.test') && g1.message.includes('_palisade-challenge.cname.test'));
    const g2 = (await verify(a, ids['cname-wrong.test']!)).body.diagnosis;
    assert.equal(g2.code, 'cname_elsewhere');
    assert.equal(g2.cnameTarget, 'records.dns-host.test');
    assert.deepEqual(
      g2.found.map((f: { value: string }) => f.value),
      ['unrelated-value'],
    );
  });

  test('a CNAME that leads to the right value verifies (delegated challenge)', async () => {
    const res = await verify(a, ids['alias-ok.test']!);
    assert.equal(res.body.diagnosis.code, 'verified');
    assert.equal(res.body.diagnosis.cnameTarget, 'acme.dns-host.test');
  });

  test("resolver refuses (real dnsmasq, name outside its zones): Palisade's resolver is named and blamed", async () => {
    const g = (await verify(a, ids['refused.example']!)).body.diagnosis;
    assert.equal(g.code, 'dns_resolver_failure');
    assert.equal(g.dnsSide, true);
    assert.equal(g.responsibility, 'palisade_resolver');
    assert.deepEqual(g.resolvers, [{ server: dns.server, outcome: 'refused', detail: 'EREFUSED' }]);
    assert.match(g.message, /DNS-side problem/);
    assert.ok(g.message.includes(`${dns.server} refused the query (REFUSED)`), g.message);
    assert.match(g.message, /PALISADE_DNS_SERVERS/);
    assert.ok(g.message.includes('_palisade-challenge.refused.example'));
  });

  test('SERVFAIL (labelled fake responder): DNS-side failure', async () => {
    const fake = await servfailResolver();
    try {
      useDns(fake.server);
      const g = (await verify(a, ids['nx.test']!)).body.diagnosis;
      // It fails the root zone too: the resolver itself is broken, not the domain.
      assert.equal(g.code, 'dns_resolver_failure');
      assert.equal(g.responsibility, 'palisade_resolver');
      assert.ok(g.message.includes(`${fake.server} answered SERVFAIL`), g.message);
    } finally {
      useDns(dns.server);
      await fake.close();
    }
  });

  test('timeout: a resolver that never answers', async () => {
    const silent = await silentResolver();
    const saved = t.config.dnsTimeoutMs;
    try {
      useDns(silent.server);
      t.config.dnsTimeoutMs = 150;
      const res = await verify(a, ids['nx.test']!);
      assert.equal(res.status, 200);
      const g = res.body.diagnosis;
      assert.equal(g.code, 'dns_resolver_failure');
      assert.equal(g.dnsSide, true);
      assert.ok(g.message.includes(`${silent.server} did not answer in time`), g.message);
      assert.match(g.message, /problem with Palisade's DNS resolver, not with your domain/);
      assert.ok(g.message.includes('nx.test') && g.message.includes(tokens['nx.test']!));
    } finally {
      t.config.dnsTimeoutMs = saved;
      useDns(dns.server);
      await silent.close();
    }
  });

  test('two organizations cannot verify the same domain; the refusal does not name the holder', async () => {
    const res = await verify(b, bGoodId);
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'domain_claimed_by_another_organization');
    assert.match(res.body.error.message, /another organization/);
    assert.ok(!res.raw.body.includes('Acme') && !res.raw.body.includes(a.orgId));
    const mine = await b.owner.get(`/api/v1/orgs/${b.orgId}/domains/${bGoodId}`);
    assert.equal(mine.body.status, 'pending');
    const audit = await b.owner.get(`/api/v1/orgs/${b.orgId}/audit-events?action=domain.verification_conflict`);
    assert.equal(audit.body.data.length, 1);
    assert.equal(audit.body.data[0].outcome, 'denied');
  });

  test('a domain that does not prove control learns nothing about the other holder', async () => {
    const r = await add(b, 'nx.test');
    const res = await verify(b, r.id);
    assert.equal(res.status, 200);
    assert.equal(res.body.diagnosis.code, 'record_name_not_found');
  });

  test('subdomains are covered only when the admin opts in', async () => {
    const eu = await add(b, 'eu.good.test');
    await dns.serve([
      `txt-record=${rec('good.test')},"${tokens['good.test']}"`,
      `txt-record=${rec('eu.good.test')},"${eu.instructions.value}"`,
    ]);
    // A has not opted in: B may verify a name under A's domain.
    assert.equal((await verify(b, eu.id)).body.verified, true);
    // Now A cannot opt in while B holds a name under it.
    const opt = await a.owner.patch(`/api/v1/orgs/${a.orgId}/domains/${ids['good.test']}`, { includeSubdomains: true });
    assert.equal(opt.status, 409);
    assert.equal(opt.body.error.code, 'domain_claimed_by_another_organization');
    assert.equal((await b.owner.delete(`/api/v1/orgs/${b.orgId}/domains/${eu.id}`)).status, 204);
    const opt2 = await a.owner.patch(`/api/v1/orgs/${a.orgId}/domains/${ids['good.test']}`, {
      includeSubdomains: true,
    });
    assert.equal(opt2.status, 200);
    assert.equal(opt2.body.includeSubdomains, true);
    // With A opted in, B can no longer verify a name under it.
    const eu2 = await add(b, 'eu.good.test');
    await dns.serve([
      `txt-record=${rec('good.test')},"${tokens['good.test']}"`,
      `txt-record=${rec('eu.good.test')},"${eu2.instructions.value}"`,
    ]);
    const res = await verify(b, eu2.id);
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'domain_claimed_by_another_organization');
    assert.equal(
      (await a.owner.patch(`/api/v1/orgs/${a.orgId}/domains/${ids['good.test']}`, { includeSubdomains: false })).status,
      200,
    );
  });

  test('members can neither see nor manage domains; admins can', async () => {
    const { agent: member } = await t.addMember(a.owner, a.orgId, 'member@acme.test', 'member');
    const list = await member.get(`/api/v1/orgs/${a.orgId}/domains`);
    assert.equal(list.status, 403);
    assert.equal(list.body.error.code, 'missing_permission_domains_read');
    const addRes = await member.post(`/api/v1/orgs/${a.orgId}/domains`, { domain: 'member.test' });
    assert.equal(addRes.body.error.code, 'missing_permission_domains_manage');
    assert.equal((await member.post(`/api/v1/orgs/${a.orgId}/domains/${ids['good.test']}/verify`)).status, 403);
    const { agent: admin } = await t.addMember(a.owner, a.orgId, 'admin@acme.test', 'admin');
    assert.equal((await admin.get(`/api/v1/orgs/${a.orgId}/domains`)).status, 200);
    assert.equal((await admin.post(`/api/v1/orgs/${a.orgId}/domains`, { domain: 'admin.test' })).status, 201);
  });
});
