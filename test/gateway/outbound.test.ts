import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setOutboundResolver } from '../../src/net/outbound.js';
import { Dnsmasq } from '../domains/dns-peers.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';
import { type WitnessServer, dnsmasqResolver, startWitness } from '../helpers/outbound.js';

/**
 * The model provider URL is an organization admin's choice and the gateway returns what it answers,
 * so it goes through the outbound policy like every other admin-chosen destination. The operator
 * here allowed exactly 127.0.0.1 (where the model server runs).
 */
describe('model gateway upstream and the outbound policy (SSRF)', () => {
  let t: TestApp;
  let up: ModelUpstream;
  let port: number;
  let witness: WitnessServer;
  let orgId: string;
  let owner: Agent;
  let key: string;
  const dns = new Dnsmasq();

  before(async () => {
    up = await startModelUpstream();
    port = Number(new URL(up.url).port);
    witness = await startWitness('127.0.0.2', port);
    t = await createTestApp({ outboundAllowCidrs: ['127.0.0.1/32'] });
    await dns.serve(['host-record=models.palisade.test,127.0.0.1', 'host-record=later.palisade.test,127.0.0.1']);
    setOutboundResolver(t.config, dnsmasqResolver(dns));
    ({ orgId, owner } = await t.seedOrg('Gw', 'owner@gw.example'));
    key = (await owner.post(`/api/v1/orgs/${orgId}/gateway/keys`, { name: 'k' })).body.key;
  });
  after(async () => {
    await Promise.all([up?.close(), witness?.close(), dns.close()]);
    await t?.close();
  });

  const setUpstream = (baseUrl: string) =>
    owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
      name: 'Model',
      kind: 'anthropic',
      baseUrl,
      apiKey: 'sk-upstream-secret',
    });
  const ask = () =>
    t.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      payload: { model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] },
    });

  test('a provider URL on a denied address is refused when saved; a private one is accepted', async () => {
    for (const [baseUrl, address] of [
      ['http://169.254.169.254/latest/meta-data', /169\.254\.169\.254, a cloud metadata/],
      [`http://127.0.0.2:${port}`, /127\.0\.0\.2/],
      [`http://[::1]:11434`, /::1/],
      [`http://2130706434:${port}`, /127\.0\.0\.2/],
    ] as const) {
      const res = await setUpstream(baseUrl);
      assert.equal(res.status, 400, res.raw.body);
      assert.equal(res.body.error.code, 'destination_address_denied');
      assert.match(res.body.error.message, address);
      assert.match(res.body.error.message, /PALISADE_OUTBOUND_ALLOW_CIDRS=/);
    }
    assert.equal(
      (await setUpstream('http://10.11.12.13:8000')).status,
      200,
      'private networks (a vLLM box) are allowed by default',
    );
    assert.equal(witness.connections, 0);
  });

  test('requests go to the checked address; a provider name rebound to a denied address gets a 502 naming the refusal', async () => {
    assert.equal((await setUpstream(`http://models.palisade.test:${port}`)).status, 200);
    const ok = await ask();
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(JSON.parse(ok.body).content[0].text, 'echo: hi');

    assert.equal((await setUpstream(`http://later.palisade.test:${port}`)).status, 200, 'allowed when saved');
    await dns.serve(['host-record=models.palisade.test,127.0.0.1', 'host-record=later.palisade.test,127.0.0.2']);
    const refused = await ask();
    assert.equal(refused.statusCode, 502, refused.body);
    const body = JSON.parse(refused.body) as { error: { message: string } };
    assert.match(body.error.message, /later\.palisade\.test, which resolves to 127\.0\.0\.2.*\(upstream_unreachable\)/);
    assert.equal(witness.connections, 0, 'the rebound address was never contacted');
  });
});
