/**
 * SAML sign-in: full SP-initiated logins per second through Palisade's ACS (structure checks,
 * node-saml signature and condition checks, recipient/time/replay bookkeeping, role mapping, session,
 * audit), next to the raw limit measured in the same run: node-saml alone verifying the same signed
 * responses (signature, audience, issuer, timestamps) with nothing stored.
 */
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { type TestApp, createTestApp } from '../test/helpers/harness.js';
import { IDP_SSO_URL, TestIdp, idpMetadata, makeKeyPair } from '../test/sso/saml-peer.js';

const N = Number(process.env.BENCH_SAML_LOGINS ?? 200);

async function runDialect(dialect: 'sqlite' | 'postgres'): Promise<void> {
  process.env.PALISADE_TEST_DB = dialect;
  const t: TestApp = await createTestApp({ publicUrl: 'http://palisade.test' });
  try {
    const { orgId, owner } = await t.seedOrg('Bench', 'owner@bench.example');
    const keys = makeKeyPair('bench-idp');
    const created = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Bench IdP',
      saml: { metadataXml: idpMetadata([keys.cert]) },
    });
    const conn = created.body as { id: string; saml: { acsUrl: string; spEntityId: string } };
    const spMetadata = (await t.anonymous().get(`/sso/saml/${conn.id}/metadata`)).raw.body;
    const idp = new TestIdp(keys);
    const responses: { samlResponse: string; cookie: string }[] = [];
    for (let i = 0; i < N; i++) {
      const browser = t.anonymous();
      const start = await browser.get(`/sso/${conn.id}/start`);
      const location = String(start.headers.location);
      if (!location.startsWith(IDP_SSO_URL)) throw new Error('start did not redirect to the IdP');
      const requestId = await idp.requestIdFrom(location, spMetadata);
      const email = `user${i % 20}@bench.example`;
      const { samlResponse } = await idp.response(spMetadata, {
        nameId: email,
        attributes: { email: [email], groups: ['staff'] },
        destination: conn.saml.acsUrl,
        recipient: conn.saml.acsUrl,
        audience: conn.saml.spEntityId,
        inResponseTo: requestId,
      });
      responses.push({ samlResponse, cookie: browser.ssoCookie ?? '' });
    }
    const t0 = process.hrtime.bigint();
    for (const r of responses) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/sso/saml/${conn.id}/acs`,
        payload: `SAMLResponse=${encodeURIComponent(r.samlResponse)}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: r.cookie },
      });
      if (res.statusCode !== 303) throw new Error(`ACS answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
    }
    const palisade = N / (Number(process.hrtime.bigint() - t0) / 1e9);
    const raw = new SAML({
      idpCert: keys.cert,
      issuer: conn.saml.spEntityId,
      callbackUrl: conn.saml.acsUrl,
      audience: conn.saml.spEntityId,
      wantAssertionsSigned: true,
      wantAuthnResponseSigned: false,
      validateInResponseTo: ValidateInResponseTo.never,
    });
    const t1 = process.hrtime.bigint();
    for (const r of responses) await raw.validatePostResponseAsync({ SAMLResponse: r.samlResponse });
    const limit = N / (Number(process.hrtime.bigint() - t1) / 1e9);
    console.log(
      `  ${dialect.padEnd(8)} SAML logins/s: Palisade ACS ${palisade.toFixed(0)} · raw node-saml verify ${limit.toFixed(0)} (${((palisade / limit) * 100).toFixed(0)}% of raw, N=${N})`,
    );
  } finally {
    await t.close();
  }
}

export async function benchSsoSaml(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  console.log('SAML sign-in (SP-initiated, signed assertion, JIT + session + audit)');
  for (const d of dialects) await runDialect(d);
}
