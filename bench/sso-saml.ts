/**
 * SAML sign-in: full SP-initiated logins per second through Palisade's ACS (structure checks,
 * signature and condition checks, recipient/time/replay bookkeeping, role mapping, session, audit),
 * next to what a library alone does with the same signed responses, nothing stored:
 * - response validation: Palisade's (`finishSaml` as the simulator runs it: every check, no database)
 *   against Ory Polis's library, @boxyhq/saml20 `validate` (signature, audience, expiry, InResponseTo),
 *   the peer of issue 14 (goal ≥ 1.5×), and against @node-saml/node-saml's `validatePostResponseAsync`.
 * The validators run in alternating rounds over the same responses; the median round counts.
 */
import * as boxyhqModule from '@boxyhq/saml20';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { connectionById } from '../src/sso/login.js';
import { finishSaml } from '../src/sso/saml.js';
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
    const responses: { samlResponse: string; cookie: string; requestId: string }[] = [];
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
      responses.push({ samlResponse, cookie: browser.ssoCookie ?? '', requestId });
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
    const row = await connectionById(t.system, conn.id);
    if (!row) throw new Error('connection not found');
    const decoded = responses.map((r) => ({ ...r, xml: Buffer.from(r.samlResponse, 'base64').toString('utf8') }));
    // @boxyhq/saml20 is CommonJS with `exports.default`: imported from ESM, that object sits one level down.
    const peer = boxyhqModule.default.default;
    const validators: Record<string, (r: (typeof decoded)[number]) => Promise<unknown>> = {
      palisade: (r) => finishSaml(t.system, row, r.samlResponse, { dryRun: true }),
      boxyhq: (r) =>
        peer.validate(r.xml, { publicKey: keys.cert, audience: conn.saml.spEntityId, inResponseTo: r.requestId }),
      nodeSaml: (r) => raw.validatePostResponseAsync({ SAMLResponse: r.samlResponse }),
    };
    const rounds: Record<string, number[]> = { palisade: [], boxyhq: [], nodeSaml: [] };
    for (let round = 0; round < 5; round++) {
      for (const [name, validate] of Object.entries(validators)) {
        const t1 = process.hrtime.bigint();
        for (const r of decoded) await validate(r);
        rounds[name]?.push(N / (Number(process.hrtime.bigint() - t1) / 1e9));
      }
    }
    const median = (xs: number[] = []) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const [ours, boxy, nodeSaml] = [median(rounds.palisade), median(rounds.boxyhq), median(rounds.nodeSaml)];
    console.log(
      `  ${dialect.padEnd(8)} SAML logins/s: Palisade ACS ${palisade.toFixed(0)} (N=${N}) · response validation/s: Palisade ${ours.toFixed(0)}, @boxyhq/saml20 ${boxy.toFixed(0)} (${(ours / boxy).toFixed(2)}×, goal ≥ 1.5×), node-saml ${nodeSaml.toFixed(0)} (${(ours / nodeSaml).toFixed(2)}×)`,
    );
  } finally {
    await t.close();
  }
}

export async function benchSsoSaml(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  console.log('SAML sign-in (SP-initiated, signed assertion, JIT + session + audit)');
  for (const d of dialects) await runDialect(d);
}
