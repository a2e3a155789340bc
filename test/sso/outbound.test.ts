import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setOutboundResolver } from '../../src/net/outbound.js';
import { samlMetadataRefreshJob } from '../../src/sso/jobs.js';
import { Dnsmasq } from '../domains/dns-peers.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type WitnessServer, dnsmasqResolver, startWitness } from '../helpers/outbound.js';
import { idpMetadata, makeKeyPair } from './saml-peer.js';

/**
 * The IdP URLs an organization admin types in (SAML metadata URL, OIDC issuer, and the endpoints
 * the issuer's discovery document names) are fetched by Palisade's server: each goes through the
 * outbound policy. Here an operator allowed exactly 127.0.0.1; every other loopback address is
 * denied, and a listener on 127.0.0.2 witnesses that a denied address is never contacted.
 */
describe('SSO fetches and the outbound policy (SSRF)', () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let metadataXml: string;
  let good: WitnessServer;
  let denied: WitnessServer;
  const dns = new Dnsmasq();

  before(async () => {
    t = await createTestApp({ publicUrl: 'http://palisade.test', outboundAllowCidrs: ['127.0.0.1/32'] });
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    metadataXml = idpMetadata([makeKeyPair('idp-outbound').cert]);
    const serveMetadata = (w: WitnessServer) => {
      w.handle = (_req, res) =>
        void res
          .writeHead(200, { 'content-type': 'application/samlmetadata+xml', connection: 'close' })
          .end(metadataXml);
    };
    good = await startWitness('127.0.0.1');
    serveMetadata(good);
    denied = await startWitness('127.0.0.2', good.port);
    serveMetadata(denied);
    await dns.serve([`host-record=idp.palisade.test,127.0.0.1`]);
    setOutboundResolver(t.config, dnsmasqResolver(dns));
  });
  after(async () => {
    await Promise.all([good?.close(), denied?.close(), dns.close()]);
    await t?.close();
  });

  const expectDenied = (
    res: { status: number; body: { error: { code: string; message: string } }; raw: { body: string } },
    address: RegExp,
  ) => {
    assert.equal(res.status, 400, res.raw.body);
    assert.equal(res.body.error.code, 'destination_address_denied');
    assert.match(res.body.error.message, address);
    assert.match(res.body.error.message, /PALISADE_OUTBOUND_ALLOW_CIDRS=/);
  };

  test('a SAML metadata URL on a denied address is refused before anything is fetched', async () => {
    const p = good.port;
    for (const [url, address] of [
      ['http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254, a cloud metadata/],
      [`http://127.0.0.2:${p}/metadata`, /127\.0\.0\.2, a loopback/],
      [`http://2130706434:${p}/metadata`, /127\.0\.0\.2/],
      [`http://[::1]:${p}/metadata`, /::1, a loopback/],
      [`http://[::ffff:127.0.0.2]:${p}/metadata`, /stands for 127\.0\.0\.2/],
    ] as const) {
      expectDenied(
        await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
          protocol: 'saml',
          name: 'By URL',
          saml: { metadataUrl: url },
        }),
        address,
      );
    }
    // The allowed address works: the policy is not simply closed.
    const ok = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Allowed',
      saml: { metadataUrl: `${good.url}/metadata` },
    });
    assert.equal(ok.status, 201, ok.raw.body);
    // Changing the URL of an existing connection, or previewing that change, is checked the same way.
    expectDenied(
      await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${ok.body.id}`, {
        saml: { metadataUrl: 'http://169.254.169.254/' },
      }),
      /169\.254\.169\.254/,
    );
    expectDenied(
      await owner.post(`/api/v1/orgs/${orgId}/sso/connections/${ok.body.id}/impact`, {
        changes: { saml: { metadataUrl: `http://127.0.0.2:${p}/m` } },
      }),
      /127\.0\.0\.2/,
    );
    assert.equal(denied.connections, 0, 'the denied listener was never contacted');
    assert.equal((await owner.delete(`/api/v1/orgs/${orgId}/sso/connections/${ok.body.id}`)).status, 204);
  });

  test('metadata redirects are followed only through the policy: each hop is checked again', async () => {
    const hop = await startWitness('127.0.0.1');
    let location = '';
    hop.handle = (_req, res) => void res.writeHead(302, { location, connection: 'close' }).end();
    try {
      location = `http://127.0.0.2:${denied.port}/metadata`;
      expectDenied(
        await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
          protocol: 'saml',
          name: 'Redirected',
          saml: { metadataUrl: `${hop.url}/metadata` },
        }),
        /127\.0\.0\.2/,
      );
      location = 'http://169.254.169.254/latest/meta-data/';
      expectDenied(
        await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
          protocol: 'saml',
          name: 'Redirected',
          saml: { metadataUrl: `${hop.url}/metadata` },
        }),
        /169\.254\.169\.254/,
      );
      assert.equal(denied.connections, 0);
      // A redirect to an allowed address is followed.
      location = `${good.url}/metadata`;
      const ok = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
        protocol: 'saml',
        name: 'Redirected ok',
        saml: { metadataUrl: `${hop.url}/metadata` },
      });
      assert.equal(ok.status, 201, ok.raw.body);
      await owner.delete(`/api/v1/orgs/${orgId}/sso/connections/${ok.body.id}`);
      // A redirect loop ends.
      location = `${hop.url}/metadata`;
      const loop = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
        protocol: 'saml',
        name: 'Loop',
        saml: { metadataUrl: `${hop.url}/metadata` },
      });
      assert.equal(loop.status, 502);
      assert.match(loop.body.error.message, /redirected more than 5 times/);
    } finally {
      await hop.close();
    }
  });

  test('the refresh job checks the address again: a metadata host rebound to a denied address fails with a clear error', async () => {
    const created = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'By name',
      saml: { metadataUrl: `http://idp.palisade.test:${good.port}/metadata` },
    });
    assert.equal(created.status, 201, created.raw.body);
    const job = samlMetadataRefreshJob();
    assert.deepEqual(await job.run(t.system), { checked: 1, changed: 0, failed: 0 });
    await dns.serve(['host-record=idp.palisade.test,127.0.0.2']);
    assert.deepEqual(await job.run(t.system), { checked: 1, changed: 0, failed: 1 });
    const after = await owner.get(`/api/v1/orgs/${orgId}/sso/connections/${created.body.id}`);
    assert.match(
      after.body.saml.idpMetadataError,
      /Palisade refused to connect to idp\.palisade\.test, which resolves to 127\.0\.0\.2.*PALISADE_OUTBOUND_ALLOW_CIDRS=127\.0\.0\.2\/32/,
    );
    assert.equal(after.body.saml.idpCertificates.length, 1, 'the last good settings stay');
    const failures = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=sso.metadata_refresh_failed`);
    assert.match(failures.body.data[0].metadata.error, /127\.0\.0\.2/);
    assert.equal(denied.connections, 0);
    await dns.serve(['host-record=idp.palisade.test,127.0.0.1']);
    await owner.delete(`/api/v1/orgs/${orgId}/sso/connections/${created.body.id}`);
  });

  test('an OIDC issuer on a denied address is refused when saved, and at sign-in when its name was rebound since', async () => {
    const oidc = (issuer: string) => ({
      protocol: 'oidc',
      name: 'OIDC',
      oidc: { issuer, clientId: 'palisade', clientSecret: 'client-secret-1' },
    });
    expectDenied(
      await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, oidc('http://169.254.169.254/')),
      /169\.254\.169\.254/,
    );
    expectDenied(await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, oidc(`http://[::1]:${good.port}/`)), /::1/);
    expectDenied(
      await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, oidc(`http://0177.0.0.2:${good.port}/`)),
      /127\.0\.0\.2/,
    );
    const conn = await owner.post(
      `/api/v1/orgs/${orgId}/sso/connections`,
      oidc(`http://idp.palisade.test:${denied.port}/`),
    );
    assert.equal(conn.status, 201, conn.raw.body);
    expectDenied(
      await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${conn.body.id}`, {
        oidc: { issuer: `http://[::1]:${good.port}/` },
      }),
      /::1/,
    );

    // Allowed address, nothing listening there: an ordinary discovery failure (the guard let it through).
    const reachable = await t.anonymous().get(`/sso/${conn.body.id}/start`);
    assert.equal(reachable.status, 502);
    assert.equal(reachable.headers['x-sso-error'], 'oidc_discovery_failed');
    // The name now points at a denied address: refused with its own code, the listener there untouched.
    await dns.serve(['host-record=idp.palisade.test,127.0.0.2']);
    const refused = await t.anonymous().get(`/sso/${conn.body.id}/start`);
    assert.equal(refused.status, 502);
    assert.equal(refused.headers['x-sso-error'], 'destination_address_denied');
    const reference = String(refused.headers['x-sso-reference']);
    const events = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=sso.login_failed&limit=20`);
    const event = events.body.data.find((e: { targets: { id: string }[] }) =>
      e.targets.some((x) => x.id === reference),
    );
    assert.equal(event.metadata.code, 'destination_address_denied');
    assert.match(
      event.metadata.detail,
      /idp\.palisade\.test, which resolves to 127\.0\.0\.2.*PALISADE_OUTBOUND_ALLOW_CIDRS/,
    );
    assert.equal(denied.connections, 0);
    await dns.serve(['host-record=idp.palisade.test,127.0.0.1']);
    await owner.delete(`/api/v1/orgs/${orgId}/sso/connections/${conn.body.id}`);
  });

  test("endpoints named by an allowed issuer's discovery document (token, JWKS) are checked too", async () => {
    const issuerHost = await startWitness('127.0.0.1');
    const issuer = issuerHost.url;
    issuerHost.handle = (req, res) => {
      if (req.url !== '/.well-known/openid-configuration')
        return void res.writeHead(404, { connection: 'close' }).end();
      res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          // A discovery document pointing the server-side calls at a denied address.
          token_endpoint: `http://127.0.0.2:${denied.port}/token`,
          jwks_uri: `http://169.254.169.254/jwks`,
          userinfo_endpoint: `http://127.0.0.2:${denied.port}/userinfo`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
        }),
      );
    };
    try {
      const conn = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
        protocol: 'oidc',
        name: 'Evil discovery',
        oidc: { issuer, clientId: 'palisade', clientSecret: 'client-secret-2' },
      });
      assert.equal(conn.status, 201, conn.raw.body);
      const browser = t.anonymous();
      const start = await browser.get(`/sso/${conn.body.id}/start`);
      assert.ok(start.status >= 300 && start.status < 400, `${start.status} ${start.raw.body}`);
      const authorize = new URL(String(start.headers.location));
      assert.equal(authorize.origin + authorize.pathname, `${issuer}/auth`);
      const state = authorize.searchParams.get('state')!;
      const callback = await browser.get(`/sso/oidc/callback?code=stolen-code&state=${encodeURIComponent(state)}`);
      assert.equal(callback.headers['x-sso-error'], 'destination_address_denied', callback.raw.body);
      assert.equal(denied.connections, 0, 'the token endpoint on a denied address was never called');
      await owner.delete(`/api/v1/orgs/${orgId}/sso/connections/${conn.body.id}`);
    } finally {
      await issuerHost.close();
    }
  });
});
