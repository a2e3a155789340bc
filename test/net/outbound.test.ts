import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { PalisadeError } from '../../src/errors.js';
import {
  assertAddressAllowed,
  guardedConnectOptions,
  outboundFetch,
  outboundPolicy,
  outboundRequest,
  setOutboundResolver,
} from '../../src/net/outbound.js';
import { Dnsmasq } from '../domains/dns-peers.js';
import { type WitnessServer, dnsmasqResolver, startWitness } from '../helpers/outbound.js';

const policyOf = (allow: string[] = [], denyPrivate = false) => ({
  outboundAllowCidrs: allow,
  outboundDenyPrivate: denyPrivate,
});

const refusal = (fn: () => unknown): PalisadeError | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err as PalisadeError;
  }
};

const isDenied = (address: string, allow: string[] = [], denyPrivate = false) =>
  refusal(() => assertAddressAllowed(outboundPolicy(policyOf(allow, denyPrivate)), address, address))?.code ===
  'destination_address_denied';

async function deniedRequest(config: object, url: string): Promise<PalisadeError> {
  const err = await outboundRequest(config as ReturnType<typeof policyOf>, url).then(
    (r) => assert.fail(`${url} was fetched (HTTP ${r.status})`),
    (e: unknown) => e as PalisadeError,
  );
  assert.ok(err instanceof PalisadeError, `${url}: ${String(err)}`);
  assert.equal(err.code, 'destination_address_denied', url);
  return err;
}

describe('outbound policy (SSRF guard): configuration and address classes', () => {
  test('PALISADE_OUTBOUND_ALLOW_CIDRS and PALISADE_OUTBOUND_DENY_PRIVATE are parsed; bad values name the variable', () => {
    const c = loadConfig({
      PALISADE_OUTBOUND_ALLOW_CIDRS: ' 127.0.0.1/32, 10.20.0.0/16 ,::1, FE80::/10',
      PALISADE_OUTBOUND_DENY_PRIVATE: 'true',
    });
    assert.deepEqual(c.outboundAllowCidrs, ['127.0.0.1/32', '10.20.0.0/16', '::1/128', 'fe80::/10']);
    assert.equal(c.outboundDenyPrivate, true);
    const d = loadConfig({});
    assert.deepEqual(
      d.outboundAllowCidrs,
      [],
      'nothing is allowed beyond the default policy unless the operator says so',
    );
    assert.equal(d.outboundDenyPrivate, false);
    for (const bad of ['localhost', '127.0.0.1/33', '10.0.0.0/8/1', '::1/129', '300.1.1.1', '10.0.0.0/x']) {
      assert.throws(
        () => loadConfig({ PALISADE_OUTBOUND_ALLOW_CIDRS: bad }),
        (e: unknown) =>
          e instanceof ConfigError &&
          e.variable === 'PALISADE_OUTBOUND_ALLOW_CIDRS' &&
          e.message.includes('127.0.0.1/32'),
        bad,
      );
    }
    assert.throws(
      () => loadConfig({ PALISADE_OUTBOUND_DENY_PRIVATE: 'sometimes' }),
      (e: unknown) => e instanceof ConfigError && e.variable === 'PALISADE_OUTBOUND_DENY_PRIVATE',
    );
  });

  test('denied by default: loopback, unspecified, link-local, cloud metadata, multicast, reserved, and their IPv6-embedded forms', () => {
    const denied = [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '0.0.0.0',
      '0.1.2.3',
      '::',
      '169.254.169.254',
      '169.254.10.10',
      'fe80::1',
      'febf:ffff::1',
      'fd00:ec2::254',
      '100.100.100.200',
      '224.0.0.1',
      'ff02::1',
      '255.255.255.255',
      '240.0.0.1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '0:0:0:0:0:ffff:7f00:0001',
      '::ffff:169.254.169.254',
      '::ffff:0.0.0.0',
      '::127.0.0.1',
      '64:ff9b::7f00:1',
      '64:ff9b::a9fe:a9fe',
    ];
    for (const a of denied) assert.ok(isDenied(a), `${a} must be denied by default`);
    const publicAddresses = ['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808'];
    for (const a of publicAddresses) assert.ok(!isDenied(a), `${a} is public`);
  });

  test('private ranges are allowed by default (self-hosted SIEMs live there) and denied with PALISADE_OUTBOUND_DENY_PRIVATE', () => {
    const privateAddresses = [
      '10.0.0.5',
      '172.16.3.4',
      '172.31.255.255',
      '192.168.1.10',
      '100.64.0.1',
      'fd12:3456::1',
      '::ffff:10.0.0.5',
    ];
    for (const a of privateAddresses) {
      assert.ok(!isDenied(a), `${a} allowed by default`);
      assert.ok(isDenied(a, [], true), `${a} denied with deny-private`);
    }
    assert.ok(!isDenied('172.32.0.1', [], true), '172.32/16 is not private');
    const err = refusal(() =>
      assertAddressAllowed(outboundPolicy(policyOf([], true)), 'siem.corp.example', '10.0.0.5'),
    )!;
    assert.match(err.message, /PALISADE_OUTBOUND_DENY_PRIVATE=true/);
    assert.match(err.message, /PALISADE_OUTBOUND_ALLOW_CIDRS=10\.0\.0\.5\/32/);
  });

  test('the operator allowlist lets chosen ranges through, and only those (IPv4-mapped forms included)', () => {
    const allow = ['127.0.0.1/32', '10.1.0.0/16'];
    assert.ok(!isDenied('127.0.0.1', allow));
    assert.ok(!isDenied('::ffff:127.0.0.1', allow), 'the mapped form of an allowed address is allowed');
    assert.ok(isDenied('127.0.0.2', allow), 'the rest of loopback stays denied');
    assert.ok(isDenied('::1', allow));
    assert.ok(isDenied('169.254.169.254', allow));
    assert.ok(!isDenied('10.1.2.3', allow, true));
    assert.ok(isDenied('10.2.0.1', allow, true));
  });

  test('the refusal is a 400 with a stable code that names the host, the resolved address and the variable that would allow it', () => {
    const err = refusal(() =>
      assertAddressAllowed(outboundPolicy(policyOf()), 'metadata.evil.example', '169.254.169.254'),
    )!;
    assert.ok(err instanceof PalisadeError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'destination_address_denied');
    assert.match(err.message, /metadata\.evil\.example/);
    assert.match(err.message, /169\.254\.169\.254/);
    assert.match(err.message, /cloud metadata/);
    assert.match(err.message, /PALISADE_OUTBOUND_ALLOW_CIDRS=169\.254\.169\.254\/32/);
    assert.deepEqual(err.details, {
      host: 'metadata.evil.example',
      address: '169.254.169.254',
      range: 'cloud_metadata',
      allowVariable: 'PALISADE_OUTBOUND_ALLOW_CIDRS',
    });
    const mapped = refusal(() =>
      assertAddressAllowed(outboundPolicy(policyOf()), '::ffff:127.0.0.1', '::ffff:127.0.0.1'),
    )!;
    assert.match(mapped.message, /stands for 127\.0\.0\.1.*loopback/);
    assert.match(mapped.message, /PALISADE_OUTBOUND_ALLOW_CIDRS=127\.0\.0\.1\/32/);
  });
});

describe('outbound policy on real connections: nothing denied is ever contacted', () => {
  let witness: WitnessServer;
  let witness6: WitnessServer;
  let witnessOther: WitnessServer;
  const dns = new Dnsmasq();
  before(async () => {
    witness = await startWitness('127.0.0.1');
    witness6 = await startWitness('::1', witness.port).catch(() => startWitness('::1'));
    witnessOther = await startWitness('127.0.0.2', witness.port);
    await dns.serve([
      'host-record=siem.palisade.test,127.0.0.1',
      'host-record=v6.palisade.test,::1',
      'host-record=mixed.palisade.test,93.184.216.34,127.0.0.1',
    ]);
  });
  after(async () => {
    await Promise.all([witness.close(), witness6.close(), witnessOther.close(), dns.close()]);
  });

  test('IP literals in every notation: 127.0.0.1, localhost, [::1], [::ffff:127.0.0.1], 2130706433, 0177.0.0.1, 0x7f.1, 127.1, 0.0.0.0', async () => {
    const strict = policyOf();
    const p = witness.port;
    const urls = [
      `http://127.0.0.1:${p}/`,
      `http://localhost:${p}/`,
      `http://[::1]:${witness6.port}/`,
      `http://[::ffff:127.0.0.1]:${p}/`,
      `http://[::ffff:7f00:1]:${p}/`,
      `http://2130706433:${p}/`,
      `http://0177.0.0.1:${p}/`,
      `http://0x7f.1:${p}/`,
      `http://127.1:${p}/`,
      `http://0.0.0.0:${p}/`,
      `https://127.0.0.1:${p}/`,
      `http://169.254.169.254/latest/meta-data/`,
      `http://[fe80::1]/`,
    ];
    for (const url of urls) await deniedRequest(strict, url);
    const viaLocalhost = await deniedRequest(strict, `http://localhost:${p}/`);
    assert.match(viaLocalhost.message, /localhost, which resolves to 127\.0\.0\.1/);
    const decimal = await deniedRequest(strict, `http://2130706433:${p}/`);
    assert.match(decimal.message, /127\.0\.0\.1/);
    // fetch()-shaped entry point (openid-client, the model gateway) and raw sockets (syslog) too.
    await assert.rejects(
      outboundFetch(strict)(`http://localhost:${p}/`),
      (e: unknown) => (e as PalisadeError).code === 'destination_address_denied',
    );
    for (const host of ['localhost', '2130706433', '127.0.0.1', '::1', '0177.0.0.1']) {
      const code = await new Promise<string>((resolve) => {
        try {
          const s = connect({ port: p, ...guardedConnectOptions(strict, host) });
          s.on('connect', () => resolve('connected'));
          s.on('error', (e: NodeJS.ErrnoException) => resolve(String(e.code)));
        } catch (e) {
          resolve(String((e as PalisadeError).code));
        }
      });
      assert.equal(code, 'destination_address_denied', `syslog-style connect to ${host}`);
    }
    assert.equal(witness.connections + witness6.connections, 0, 'no denied request reached the listener');
  });

  test('with the operator allowlist the same loopback listener is reachable, with the Host header kept', async () => {
    const allowed = policyOf(['127.0.0.1/32']);
    const r = await outboundRequest(allowed, `http://localhost:${witness.port}/x`);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'ok');
    assert.equal(witness.requests.at(-1)?.host, `localhost:${witness.port}`);
    const f = await outboundFetch(allowed)(`http://2130706433:${witness.port}/y`, {
      method: 'POST',
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(f.status, 200);
    assert.equal(await f.text(), 'ok');
    await deniedRequest(allowed, `http://[::1]:${witness6.port}/`);
  });

  test('a hostname that a real DNS server (dnsmasq) resolves to loopback is refused, naming the name and the address', async () => {
    const cfg = policyOf();
    const contacted = witness.connections + witness6.connections;
    const resolver = dnsmasqResolver(dns);
    setOutboundResolver(cfg, resolver);
    const err = await deniedRequest(cfg, `http://siem.palisade.test:${witness.port}/`);
    assert.match(err.message, /siem\.palisade\.test, which resolves to 127\.0\.0\.1/);
    const v6 = await deniedRequest(cfg, `http://v6.palisade.test:${witness6.port}/`);
    assert.match(v6.message, /::1, a loopback address/);
    // One public and one loopback answer: refused as a whole (a connection could land on either).
    const mixed = await deniedRequest(cfg, `http://mixed.palisade.test:${witness.port}/`);
    assert.match(mixed.message, /127\.0\.0\.1/);
    assert.ok(resolver.asked.includes('siem.palisade.test'));
    assert.equal(witness.connections + witness6.connections, contacted, 'no connection was made');
  });

  test('DNS rebinding: the name is resolved once per connection and the socket goes to the address that was checked', async () => {
    const cfg = policyOf(['127.0.0.1/32']);
    let calls = 0;
    // First answer allowed, every later answer a denied address where another listener waits.
    setOutboundResolver(cfg, async () => [{ address: calls++ === 0 ? '127.0.0.1' : '127.0.0.2', family: 4 }]);
    const before = { allowed: witness.requests.length, other: witnessOther.connections };
    const r = await outboundRequest(cfg, `http://rebind.example:${witness.port}/first`);
    assert.equal(r.status, 200);
    assert.equal(calls, 1, 'one resolution for one connection: the check and the connection used the same answer');
    assert.equal(witness.requests.length, before.allowed + 1, 'the checked address (127.0.0.1) got the request');
    const err = await deniedRequest(cfg, `http://rebind.example:${witness.port}/second`);
    assert.match(err.message, /rebind\.example, which resolves to 127\.0\.0\.2/);
    assert.equal(witnessOther.connections, before.other, 'the rebound address was never contacted');
  });

  test('redirects are returned, never followed, so a 302 to a denied address goes nowhere', async () => {
    const cfg = policyOf(['127.0.0.1/32']);
    const hop = await startWitness('127.0.0.1');
    hop.handle = (_req, res) =>
      res
        .writeHead(302, { location: `http://127.0.0.2:${witnessOther.port}/latest/meta-data`, connection: 'close' })
        .end();
    try {
      const r = await outboundRequest(cfg, `${hop.url}/hook`, { method: 'POST', body: '{}' });
      assert.equal(r.status, 302);
      assert.equal(r.headers.location, `http://127.0.0.2:${witnessOther.port}/latest/meta-data`);
      const f = await outboundFetch(cfg)(`${hop.url}/x`);
      assert.equal(f.status, 302);
      assert.equal(witnessOther.connections, 0);
    } finally {
      await hop.close();
    }
  });
});
