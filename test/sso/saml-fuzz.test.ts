import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SsoFailure } from '../../src/sso/diagnosis.js';
import { connectionById } from '../../src/sso/login.js';
import { finishSaml } from '../../src/sso/saml.js';
import type { ConnectionRow } from '../../src/sso/connections.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { TestIdp, decode, encode, idpMetadata, makeKeyPair } from './saml-peer.js';

/**
 * Mutation fuzzing of SAML response verification (src/sso/saml.ts, saml-signature.ts,
 * saml-assertion.ts), seeded so a failure replays. Each mutant of a validly signed response goes
 * through the same verification as a sign-in (the simulator's dry run: no request state, no replay
 * bookkeeping, so every mutant reaches the verifier). Properties: the outcome is a sign-in or a
 * diagnosed refusal (an SsoFailure with a code), never another exception; and a mutant that is
 * accepted yields exactly the identity the IdP signed: no edit to the bytes can change who signs in.
 */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

const HOSTILE = [
  '<!DOCTYPE r [<!ENTITY x "y">]>',
  '<!-- c -->',
  '<![CDATA[<saml:NameID>admin@fuzz.example</saml:NameID>]]>',
  '<?pi x?>',
  '&amp;',
  '&#0;',
  '&unknown;',
  '<saml:NameID>admin@fuzz.example</saml:NameID>',
  '<saml:Assertion ID="_evil" Version="2.0"><saml:Issuer>urn:test:idp</saml:Issuer></saml:Assertion>',
  ' xmlns:saml="urn:not-saml"',
  ' ID="_dup"',
  ' Id="_x"',
  '\u0000',
  '\uFFFF',
  '\r\n',
  '"',
  "'",
  '<',
  '>',
  '</saml:Assertion>',
];

function mutate(xml: string, rand: () => number): string {
  const at = () => Math.floor(rand() * (xml.length + 1));
  const kind = Math.floor(rand() * 7);
  if (kind === 0) {
    const i = at();
    return xml.slice(0, i) + String.fromCharCode(32 + Math.floor(rand() * 95)) + xml.slice(i + 1);
  }
  if (kind === 1) {
    const i = at();
    return xml.slice(0, i) + xml.slice(i + 1 + Math.floor(rand() * 40));
  }
  if (kind === 2) {
    const i = at();
    return xml.slice(0, i) + (HOSTILE[Math.floor(rand() * HOSTILE.length)] ?? '') + xml.slice(i);
  }
  if (kind === 3) {
    // Duplicate an element (a wrapping attempt): the n-th <saml:X …>…</saml:X> copied somewhere else.
    const elements = [...xml.matchAll(/<(saml:[A-Za-z]+)\b[^>]*>[\s\S]*?<\/\1>/g)];
    const picked = elements[Math.floor(rand() * elements.length)]?.[0] ?? '';
    const i = at();
    return xml.slice(0, i) + picked + xml.slice(i);
  }
  if (kind === 4) return xml.slice(0, at());
  if (kind === 5) {
    // Change one attribute value or text node between tags.
    const spots = [...xml.matchAll(/="([^"]*)"|>([^<]+)</g)];
    const m = spots[Math.floor(rand() * spots.length)];
    if (!m || m.index === undefined) return xml;
    const replacement = m[0].startsWith('=') ? '="admin@fuzz.example"' : '>admin@fuzz.example<';
    return xml.slice(0, m.index) + replacement + xml.slice(m.index + m[0].length);
  }
  // Swap two random slices.
  const [a, b] = [at(), at()].sort((p, q) => p - q) as [number, number];
  return xml.slice(0, a) + xml.slice(b) + xml.slice(a, b);
}

describe('SAML verification under mutation fuzzing', () => {
  let t: TestApp;
  let orgId: string;
  let owner: Agent;
  let row: ConnectionRow;
  let conn: { id: string; saml: { acsUrl: string; spEntityId: string } };
  let signed: string;

  before(async () => {
    t = await createTestApp({ publicUrl: 'http://palisade.test' });
    ({ orgId, owner } = await t.seedOrg('Fuzz', 'owner@fuzz.example'));
    const keys = makeKeyPair('fuzz-idp');
    const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: 'Fuzz IdP',
      saml: { metadataXml: idpMetadata([keys.cert]) },
    });
    assert.equal(res.status, 201, res.raw.body);
    conn = res.body;
    row = (await connectionById(t.system, conn.id)) as ConnectionRow;
    const spMetadata = (await t.anonymous().get(`/sso/saml/${conn.id}/metadata`)).raw.body;
    ({ samlResponse: signed } = await new TestIdp(keys).response(spMetadata, {
      nameId: 'fern@fuzz.example',
      attributes: { email: ['fern@fuzz.example'], groups: ['staff'] },
      destination: conn.saml.acsUrl,
      recipient: conn.saml.acsUrl,
      audience: conn.saml.spEntityId,
      inResponseTo: '_fuzz-request',
    }));
  });
  after(() => t.close());

  test('every mutant is accepted with the signed identity or refused with a diagnosis', async () => {
    const original = await finishSaml(t.system, row, signed, { dryRun: true });
    assert.equal(original.identity.email, 'fern@fuzz.example');
    const xml = decode(signed);
    const seed = Number(process.env.SAML_FUZZ_SEED ?? 20261203);
    const rand = prng(seed);
    const codes = new Map<string, number>();
    let accepted = 0;
    const runs = Number(process.env.SAML_FUZZ_RUNS ?? 400);
    for (let i = 0; i < runs; i++) {
      let mutant = mutate(xml, rand);
      if (rand() < 0.3) mutant = mutate(mutant, rand);
      try {
        const got = await finishSaml(t.system, row, encode(mutant), { dryRun: true });
        accepted++;
        assert.deepEqual(got.identity, original.identity, `mutant ${i} (seed ${seed}) changed the identity`);
        assert.deepEqual(got.raw, original.raw, `mutant ${i} (seed ${seed}) changed the claims`);
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        assert.ok(
          err instanceof SsoFailure,
          `mutant ${i} (seed ${seed}) threw ${String(err)}\n${mutant.slice(0, 2000)}`,
        );
        codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
      }
    }
    // The fuzzer reached the verifier, not only the parser.
    assert.ok((codes.get('saml_bad_signature') ?? 0) > 0, JSON.stringify([...codes]));
    assert.ok(codes.size >= 4, JSON.stringify([...codes]));
    assert.ok(accepted < runs);
  });

  test('hostile pasted responses get a 4xx with a code from the simulator, never a 500', async () => {
    const xml = decode(signed);
    const inputs = [
      '',
      'not base64 !!',
      encode('<x/>'),
      encode(`<!DOCTYPE r [<!ENTITY a "${'x'.repeat(1000)}">]>${xml}`),
      encode(xml.replace('<saml:Assertion', '<saml:Assertion xmlns:saml="urn:evil"')),
      encode(xml.slice(0, xml.length / 2)),
      encode('<'.repeat(10_000)),
      encode(`${'<a>'.repeat(2000)}${'</a>'.repeat(2000)}`),
    ];
    for (const samlResponse of inputs) {
      const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}/simulate`, { samlResponse });
      assert.ok(res.status < 500, `${res.status} ${res.raw.body.slice(0, 300)}`);
    }
  });
});
