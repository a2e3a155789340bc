import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { forgetResolverHealth } from '../../src/domains/dns-check.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { Dnsmasq, Knot, countingSilentResolver } from './dns-peers.js';

/**
 * Domain verification against a real authoritative server (Knot DNS, zone files) with the zones that
 * broke it: a CNAME into another zone answered without its target, chains and loops, more TXT records
 * than were compared, values pasted as zone-file lines or published in the wrong place; and resolver
 * failures, named and blamed, with a dead first resolver.
 */
describe('DNS verification against tricky zones and failing resolvers', () => {
  let t: TestApp;
  let a: { orgId: string; owner: Agent };
  const knot = new Knot();
  const dnsmasq = new Dnsmasq();
  const ids: Record<string, string> = {};
  const tokens: Record<string, string> = {};
  const DOMAINS = [
    'cname-out.test',
    'chain.test',
    'loop.test',
    'long.test',
    'many.test',
    'many-miss.test',
    'zoneline.test',
    'extra.test',
    'apex.test',
    'nounder.test',
    'doubled.test',
    'variant.test',
    'eu.parent.test',
  ];
  const verify = async (domain: string) => {
    const res = await a.owner.post(`/api/v1/orgs/${a.orgId}/domains/${ids[domain]}/verify`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { verified: boolean; diagnosis: Record<string, any>; domain: Record<string, any> };
  };
  const tok = (d: string) => tokens[d] as string;

  before(async () => {
    t = await createTestApp({ dnsTimeoutMs: 1000, domainVerifyMaxAttemptsPerDomain: 1000 });
    a = await t.seedOrg('Zones', 'owner@zones.example');
    for (const d of DOMAINS) {
      const r = await a.owner.post(`/api/v1/orgs/${a.orgId}/domains`, { domain: d });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids[d] = r.body.id;
      tokens[d] = r.body.instructions.value;
    }
    const many = Array.from({ length: 40 }, (_, i) => `_palisade-challenge TXT "v=spf1 include:spf${i}.example ~all"`);
    many.splice(34, 0, `_palisade-challenge TXT "${tok('many.test')}"`);
    // Ten hops alternating between two zones: an authoritative server follows a CNAME only inside its zone, so Palisade follows each hop.
    const zoneOf = (i: number) => (i % 2 ? 'pong.test' : 'ping.test');
    const hops = (zone: string) =>
      Array.from({ length: 10 }, (_, i) => i)
        .filter((i) => zoneOf(i) === zone)
        .map((i) => `hop${i} CNAME hop${i + 1}.${zoneOf(i + 1)}.`);
    await knot.serve({
      'cname-out.test': '_palisade-challenge CNAME verify.provider.test.',
      'chain.test': '_palisade-challenge CNAME a.provider.test.',
      'loop.test': '_palisade-challenge CNAME x.provider.test.',
      'long.test': '_palisade-challenge CNAME hop0.ping.test.',
      'ping.test': [...hops('ping.test'), `hop10 TXT "${tok('long.test')}"`].join('\n'),
      'pong.test': hops('pong.test').join('\n'),
      'provider.test': [
        `verify TXT "${tok('cname-out.test')}"`,
        'a CNAME b.other.test.',
        'x CNAME _palisade-challenge.loop.test.',
      ].join('\n'),
      'other.test': `b TXT "${tok('chain.test')}"`,
      'many.test': many.join('\n'),
      'many-miss.test': Array.from({ length: 40 }, (_, i) => `_palisade-challenge TXT "unrelated-${i}"`).join('\n'),
      'zoneline.test': `_palisade-challenge TXT "_palisade-challenge.zoneline.test. 3600 IN TXT \\"${tok('zoneline.test')}\\""`,
      'extra.test': `_palisade-challenge TXT "verification: ${tok('extra.test')}"`,
      'apex.test': `@ TXT "${tok('apex.test')}"`,
      'nounder.test': `palisade-challenge TXT "${tok('nounder.test')}"`,
      'doubled.test': `_palisade-challenge.doubled.test TXT "${tok('doubled.test')}"`,
      'variant.test': `_palisade_challenge TXT "${tok('variant.test')}"`,
      'parent.test': `_palisade-challenge TXT "${tok('eu.parent.test')}"\neu A 127.0.0.1`,
    });
    t.config.dnsServers = [knot.server];
  });
  after(async () => {
    await knot.close();
    await dnsmasq.close();
    await t.close();
    forgetResolverHealth();
  });

  describe('aliases', () => {
    test('a CNAME into another zone, answered without its target, is followed and verifies', async () => {
      const r = await verify('cname-out.test');
      assert.equal(r.verified, true, r.diagnosis.message);
      assert.deepEqual(r.diagnosis.cnameChain, ['verify.provider.test']);
      assert.match(r.diagnosis.message, /through the alias verify\.provider\.test/);
    });

    test('a chain across zones is followed hop by hop', async () => {
      const r = await verify('chain.test');
      assert.equal(r.verified, true, r.diagnosis.message);
      assert.deepEqual(r.diagnosis.cnameChain, ['a.provider.test', 'b.other.test']);
    });

    test('a loop, and a chain longer than 8 hops, are diagnosed as such', async () => {
      const loop = await verify('loop.test');
      assert.equal(loop.diagnosis.code, 'cname_loop');
      assert.match(
        loop.diagnosis.message,
        /loops back on itself \(_palisade-challenge\.loop\.test → x\.provider\.test → _palisade-challenge\.loop\.test\)/,
      );
      const long = await verify('long.test');
      assert.equal(long.diagnosis.code, 'cname_loop');
      assert.equal(long.verified, false);
      assert.match(long.diagnosis.message, /longer than 8 hops/);
    });
  });

  describe('many records', () => {
    test('every TXT record is compared, not the first 20: the 35th of 41 verifies, every time', async () => {
      for (let i = 0; i < 3; i++) {
        const r = await verify('many.test');
        assert.equal(r.verified, true, r.diagnosis.message);
        assert.equal(r.diagnosis.foundTotal, 41);
        assert.ok(r.diagnosis.found.length <= 20);
      }
    });

    test('a miss shows at most 20 records and says how many more there are', async () => {
      const r = await verify('many-miss.test');
      assert.equal(r.diagnosis.code, 'value_mismatch');
      assert.equal(r.diagnosis.found.length, 20);
      assert.equal(r.diagnosis.foundTotal, 40);
      assert.match(r.diagnosis.message, /has 40 TXT record\(s\).* and 20 more\./);
    });
  });

  describe('near misses', () => {
    test('a zone-file line pasted into the value field', async () => {
      const r = await verify('zoneline.test');
      assert.equal(r.diagnosis.code, 'value_mismatch');
      assert.deepEqual(r.diagnosis.found[0].nearMiss, ['zone_file_line']);
      assert.match(r.diagnosis.message, /whole zone-file line .* pasted into the value field; enter only the value/);
    });

    test('the value with other text around it', async () => {
      const r = await verify('extra.test');
      assert.deepEqual(r.diagnosis.found[0].nearMiss, ['extra_text']);
    });

    const misplaced: [string, string, string, RegExp][] = [
      ['apex.test', 'apex.test', 'apex', /at the domain itself \(the zone apex, "@"\)/],
      ['nounder.test', 'palisade-challenge.nounder.test', 'missing_underscore', /without its leading underscore/],
      ['doubled.test', '_palisade-challenge.doubled.test.doubled.test', 'doubled_zone', /with the domain repeated/],
      ['variant.test', '_palisade_challenge.variant.test', 'prefix_variant', /misspelt record name/],
      ['eu.parent.test', '_palisade-challenge.parent.test', 'parent_domain', /under the parent domain/],
    ];
    for (const [domain, name, kind, words] of misplaced) {
      test(`the value published in the wrong place (${kind}) is found there, and the message says where and where to`, async () => {
        const r = await verify(domain);
        assert.equal(r.verified, false);
        assert.equal(r.diagnosis.code, 'record_name_not_found', r.diagnosis.message);
        assert.deepEqual(r.diagnosis.elsewhere, [{ name, kind, nearMiss: [] }]);
        assert.ok(r.diagnosis.message.includes(`The expected value is published at ${name}`), r.diagnosis.message);
        assert.match(r.diagnosis.message, words);
        assert.ok(r.diagnosis.message.includes(`move it to _palisade-challenge.${domain}`));
      });
    }
  });

  describe('resolvers', () => {
    test('a dead first resolver costs one hedge delay once, then is asked last: later checks never wait on it', async () => {
      forgetResolverHealth();
      const dead = await countingSilentResolver();
      try {
        t.config.dnsServers = [dead.server, knot.server];
        const first = await verify('cname-out.test');
        assert.equal(first.verified, true);
        const asked = dead.queries();
        assert.ok(asked >= 1, 'the first check tried it');
        for (let i = 0; i < 3; i++) assert.equal((await verify('chain.test')).verified, true);
        assert.equal(dead.queries(), asked, 'no later query went to the dead resolver');
      } finally {
        t.config.dnsServers = [knot.server];
        await dead.close();
        forgetResolverHealth();
      }
    });

    test("when every resolver fails each is named, and the message says it is Palisade's resolver", async () => {
      const dead = await countingSilentResolver();
      try {
        t.config.dnsServers = [dead.server, knot.server];
        // knot is authoritative only: it refuses names outside its zones.
        const r = await a.owner.post(`/api/v1/orgs/${a.orgId}/domains`, { domain: 'outside.example' });
        ids['outside.example'] = r.body.id;
        const g = (await verify('outside.example')).diagnosis;
        assert.equal(g.code, 'dns_resolver_failure');
        assert.equal(g.responsibility, 'palisade_resolver');
        assert.deepEqual(
          new Set(g.resolvers.map((x: { server: string; outcome: string }) => `${x.server} ${x.outcome}`)),
          new Set([`${dead.server} timeout`, `${knot.server} refused`]),
        );
        assert.ok(g.message.includes(`${knot.server} refused the query (REFUSED)`), g.message);
        assert.ok(g.message.includes(`${dead.server} did not answer in time`), g.message);
      } finally {
        t.config.dnsServers = [knot.server];
        await dead.close();
        forgetResolverHealth();
      }
    });

    test("a resolver that works but cannot reach the domain's name servers blames those; the last verdict stays beside it", async () => {
      await dnsmasq.serve(['server=/cname-out.test/127.0.0.1#9', 'server=/provider.test/127.0.0.1#9']);
      t.config.dnsServers = [dnsmasq.server];
      t.config.dnsTimeoutMs = 300;
      try {
        const r = await verify('cname-out.test');
        assert.equal(r.diagnosis.code, 'dns_timeout');
        assert.equal(r.diagnosis.responsibility, 'domain_name_servers');
        assert.ok(r.diagnosis.message.includes(`${dnsmasq.server} did not answer in time`));
        assert.match(r.diagnosis.message, /whoever runs the DNS for this domain/);
        // The domain was verified through knot above: that verdict stands and is shown beside the outage.
        assert.equal(r.verified, true);
        assert.equal(r.diagnosis.lastVerdict.code, 'verified');
        assert.equal(r.domain.lastDiagnosis.lastVerdict.code, 'verified');
      } finally {
        t.config.dnsServers = [knot.server];
        t.config.dnsTimeoutMs = 1000;
        forgetResolverHealth();
      }
    });
  });
});
