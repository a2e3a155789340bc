import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { generateKeyPairSync, sign } from 'node:crypto';
import { decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { forgetProviders } from '../../src/sso/oidc-client.js';
import { type Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type OidcPeer, type PeerAccount, type PeerOptions, driveOidcLogin, startOidcPeer } from './oidc-peer.js';

/**
 * OIDC against a real oidc-provider in the configurations providers actually use: only one token
 * endpoint authentication method, private_key_jwt with Palisade's published key, key and algorithm
 * rotation, provider errors, groups sent as one string, and a userinfo answering for another subject.
 */
const PUBLIC = 'http://palisade.test';
const accounts: Record<string, PeerAccount> = {
  ann: { email: 'ann@acme.example', groups: ['acme-admins'] },
  commas: { email: 'commas@acme.example', groups: 'engineering, acme-admins' },
  spaces: { email: 'spaces@acme.example', groups: 'engineering acme-staff' },
};

async function signingKey(alg: 'RS256' | 'ES256', kid: string) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
}

describe('OIDC against provider configurations Palisade has not seen', () => {
  let t: TestApp;
  let owner: Agent;
  let orgId: string;
  const peers: OidcPeer[] = [];

  const peer = async (options: PeerOptions) => {
    const p = await startOidcPeer(`${PUBLIC}/sso/oidc/callback`, accounts, options);
    peers.push(p);
    return p;
  };
  const connect = async (p: OidcPeer, oidc: Record<string, unknown> = {}) => {
    const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: `OIDC ${peers.length}`,
      oidc: { issuer: p.issuer, clientId: p.clientId, clientSecret: p.clientSecret, ...oidc },
    });
    assert.equal(res.status, 201, res.raw.body);
    return res.body as { id: string; oidc: { tokenAuthMethod: string; jwksUri: string | null } };
  };
  const login = async (connectionId: string, who: string) => {
    const agent = t.anonymous();
    const start = await agent.get(`/sso/${connectionId}/start`);
    assert.equal(start.status, 302, start.raw.body);
    const callback = await driveOidcLogin(String(start.headers.location), who, PUBLIC);
    return { agent, res: await agent.get(callback.slice(PUBLIC.length)) };
  };
  const refusal = async (res: { headers: Record<string, unknown> }) => {
    const reference = String(res.headers['x-sso-reference']);
    const events = await owner.get(`/api/v1/orgs/${orgId}/audit-events?target=${reference}`);
    assert.equal(events.body.data.length, 1);
    return events.body.data[0].metadata as {
      code: string;
      check: string;
      received?: Record<string, unknown>;
      detail?: string;
    };
  };
  const tokenRequests = (p: OidcPeer) => p.seen.filter((r) => r.method === 'POST' && r.path === '/token');

  before(async () => {
    t = await createTestApp({ publicUrl: PUBLIC, oidcRediscoverMinSeconds: 60 });
    ({ orgId, owner } = await t.seedOrg('Acme', 'owner@acme.example'));
    assert.equal(
      (
        await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
          requiredPrefix: 'acme-',
          defaultRole: null,
          rules: [
            { group: 'acme-admins', role: 'admin' },
            { group: 'acme-staff', role: 'member' },
          ],
        })
      ).status,
      200,
    );
  });
  after(async () => {
    await t.close();
    for (const p of peers) await p.close();
    forgetProviders();
  });

  describe('client authentication at the token endpoint', () => {
    test('a provider that allows only client_secret_basic: discovery decides, the secret travels in the Authorization header', async () => {
      const p = await peer({
        clientAuthMethods: ['client_secret_basic'],
        client: { token_endpoint_auth_method: 'client_secret_basic' },
      });
      const conn = await connect(p);
      assert.equal(conn.oidc.tokenAuthMethod, 'auto');
      const { res } = await login(conn.id, 'ann');
      assert.equal(res.status, 303, res.raw.body);
      const [token] = tokenRequests(p);
      assert.match(token?.authorization ?? '', /^Basic /);
      assert.doesNotMatch(token?.body ?? '', /client_secret=/);
    });

    test('a provider that allows only client_secret_post: the secret travels in the body', async () => {
      const p = await peer({
        clientAuthMethods: ['client_secret_post'],
        client: { token_endpoint_auth_method: 'client_secret_post' },
      });
      const conn = await connect(p);
      const { res } = await login(conn.id, 'ann');
      assert.equal(res.status, 303, res.raw.body);
      const [token] = tokenRequests(p);
      assert.equal(token?.authorization, undefined);
      assert.match(token?.body ?? '', /client_secret=/);
    });

    test('a provider listing both secret methods that accepts only the one its application is registered with (Auth0 apps default to post): auto finds it and remembers', async () => {
      const p = await peer({
        clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
        client: { token_endpoint_auth_method: 'client_secret_post' },
        strictSecretMethod: 'client_secret_post',
      });
      const conn = await connect(p);
      const first = await login(conn.id, 'ann');
      assert.equal(first.res.status, 303, first.res.raw.body);
      const tried = tokenRequests(p);
      assert.equal(tried.length, 2, 'basic first, refused; then post with the same code');
      assert.match(tried[0]?.authorization ?? '', /^Basic /);
      assert.match(tried[1]?.body ?? '', /client_secret=/);
      assert.equal((await login(conn.id, 'ann')).res.status, 303);
      assert.equal(tokenRequests(p).length, 3, 'the next sign-in goes straight to post');
      assert.match(tokenRequests(p)[2]?.body ?? '', /client_secret=/);
    });

    test("private_key_jwt: the provider verifies Palisade's assertion with the key Palisade publishes; no secret exists", async () => {
      const res = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
        protocol: 'oidc',
        name: 'Key only',
        oidc: { issuer: 'http://127.0.0.1:1/', clientId: 'palisade-test', tokenAuthMethod: 'private_key_jwt' },
      });
      assert.equal(res.status, 201, res.raw.body);
      assert.equal(res.body.oidc.clientSecretSet, false);
      assert.equal(res.body.oidc.jwksUri, `${PUBLIC}/sso/oidc/${res.body.id}/jwks.json`);
      const jwks = await t.anonymous().get(`/sso/oidc/${res.body.id}/jwks.json`);
      assert.equal(jwks.status, 200);
      const published = JSON.parse(jwks.raw.body) as { keys: Record<string, unknown>[] };
      assert.equal(published.keys.length, 1);
      assert.ok(!('d' in (published.keys[0] as object)), 'only the public part is published');
      // The provider registers that public key for the client, and allows nothing else.
      const p = await peer({
        clientAuthMethods: ['private_key_jwt'],
        client: {
          token_endpoint_auth_method: 'private_key_jwt',
          token_endpoint_auth_signing_alg: 'RS256',
          jwks: published,
          client_secret: undefined,
        },
      });
      assert.equal(
        (await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${res.body.id}`, { oidc: { issuer: p.issuer } }))
          .status,
        200,
      );
      const { res: done } = await login(res.body.id, 'ann');
      assert.equal(done.status, 303, done.raw.body);
      const [token] = tokenRequests(p);
      assert.match(
        token?.body ?? '',
        /client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer/,
      );
      const audit = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=sso.connection_created&limit=50`);
      assert.ok(
        audit.body.data.some(
          (e: { metadata: { tokenAuthMethod?: string } }) => e.metadata.tokenAuthMethod === 'private_key_jwt',
        ),
      );
    });

    test("the provider's own error reaches the admin: invalid_client, with the method Palisade used", async () => {
      const p = await peer({
        clientAuthMethods: ['client_secret_basic'],
        client: { token_endpoint_auth_method: 'client_secret_basic' },
      });
      const conn = await connect(p, { clientSecret: 'not-the-secret' });
      const { res } = await login(conn.id, 'ann');
      assert.equal(res.headers['x-sso-error'], 'oidc_invalid_client');
      assert.match(res.raw.body, /refused to complete the sign-in/);
      const meta = await refusal(res);
      assert.equal(meta.code, 'oidc_invalid_client');
      assert.equal(meta.received?.error, 'invalid_client');
      assert.equal(meta.received?.tokenAuthMethod, 'client_secret_basic');
      assert.match(
        meta.detail ?? '',
        /check the client id and secret, and that the token endpoint authentication method/,
      );
      assert.doesNotMatch(JSON.stringify(meta), /not-the-secret/);
    });

    test('a method the provider does not offer is refused before anyone is sent there', async () => {
      const p = await peer({ clientAuthMethods: ['client_secret_jwt'] });
      const conn = await connect(p);
      const res = await t.anonymous().get(`/sso/${conn.id}/start`);
      assert.equal(res.status, 502);
      assert.equal(res.headers['x-sso-error'], 'oidc_client_auth_unsupported');
      const meta = await refusal(res);
      assert.deepEqual(meta.received, ['client_secret_jwt']);
      const changed = await owner.patch(`/api/v1/orgs/${orgId}/sso/connections/${conn.id}`, {
        oidc: { tokenAuthMethod: 'client_secret_post' },
      });
      assert.equal(changed.body.oidc.tokenAuthMethod, 'client_secret_post');
      const audit = await owner.get(`/api/v1/orgs/${orgId}/audit-events?action=sso.connection_updated&limit=5`);
      assert.equal(audit.body.data[0].metadata.tokenAuthMethod, 'client_secret_post');
    });
  });

  describe('key rotation', () => {
    let p: OidcPeer;
    let conn: { id: string };
    const keyA = signingKey('RS256', 'key-a');

    before(async () => {
      p = await peer({ jwks: { keys: [await keyA] }, idTokenSigningAlgValues: ['RS256'] });
      conn = await connect(p);
      assert.equal((await login(conn.id, 'ann')).res.status, 303);
    });

    test('an ID token signed with a new key id makes Palisade fetch the JWKS again, and the sign-in succeeds', async () => {
      await p.reconfigure({
        jwks: { keys: [await signingKey('RS256', 'key-b'), await keyA] },
        idTokenSigningAlgValues: ['RS256'],
      });
      const jwksBefore = p.seen.filter((r) => r.path === '/jwks').length;
      const { res } = await login(conn.id, 'ann');
      assert.equal(res.status, 303, res.raw.body);
      assert.ok(p.seen.filter((r) => r.path === '/jwks').length > jwksBefore, 'the JWKS was fetched again');
    });

    test('a newly advertised algorithm: within the rate limit the sign-in asks to retry (not "bad alg"); after it, discovery is fetched again and it succeeds', async () => {
      await p.reconfigure({
        jwks: { keys: [await signingKey('ES256', 'key-ec')] },
        idTokenSigningAlgValues: ['ES256'],
        client: { id_token_signed_response_alg: 'ES256' },
      });
      const first = await login(conn.id, 'ann');
      assert.equal(first.res.headers['x-sso-error'], 'oidc_signing_key_unknown');
      assert.match(first.res.raw.body, /changed its signing keys\. Wait a minute and sign in again/);
      assert.equal((await refusal(first.res)).received?.alg, 'ES256');
      t.clock.advance(61_000);
      const discoveryBefore = p.seen.filter((r) => r.path === '/.well-known/openid-configuration').length;
      const second = await login(conn.id, 'ann');
      assert.equal(second.res.status, 303, second.res.raw.body);
      assert.ok(p.seen.filter((r) => r.path === '/.well-known/openid-configuration').length > discoveryBefore);
    });

    test('attack: an ID token signed with a key the provider never publishes is refused after one fresh look', async () => {
      t.clock.advance(61_000);
      // The real claims, re-signed by an attacker's key under a key id the provider does not publish.
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      p.tamperNextIdToken((idToken) => {
        assert.equal(decodeProtectedHeader(idToken).alg, 'ES256');
        const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'attacker-key', typ: 'JWT' })).toString(
          'base64url',
        );
        const input = `${header}.${idToken.split('.')[1]}`;
        return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
      });
      const jwksBefore = p.seen.filter((r) => r.path === '/jwks').length;
      const { res } = await login(conn.id, 'ann');
      assert.equal(res.headers['x-sso-error'], 'oidc_signing_key_unknown');
      assert.equal(
        p.seen.filter((r) => r.path === '/jwks').length,
        jwksBefore + 1,
        'exactly one fresh look at the JWKS',
      );
      const meta = await refusal(res);
      assert.equal(meta.received?.kid, 'attacker-key', JSON.stringify(meta));
      assert.match(
        meta.detail ?? '',
        /fetched the provider's discovery document and JWKS again, and they still do not publish key "attacker-key"/,
      );
      assert.equal((await owner.get('/api/v1/auth/session')).status, 200);
    });
  });

  describe('claims', () => {
    let p: OidcPeer;
    let conn: { id: string };
    before(async () => {
      p = await peer({});
      conn = await connect(p);
    });

    test('a groups claim sent as one comma- or space-separated string is read as a list', async () => {
      assert.equal((await login(conn.id, 'commas')).res.status, 303);
      assert.equal((await login(conn.id, 'spaces')).res.status, 303);
      const members = (await owner.get(`/api/v1/orgs/${orgId}/members?limit=100`)).body.data as {
        email: string;
        role: string;
      }[];
      assert.equal(members.find((m) => m.email === 'commas@acme.example')?.role, 'admin');
      assert.equal(members.find((m) => m.email === 'spaces@acme.example')?.role, 'member');
    });

    test('a userinfo sub different from the ID token sub (pairwise misconfigured) is refused with its own code', async () => {
      p.tamperNextUserinfo((claims) => ({ ...claims, sub: 'a-different-pairwise-subject' }));
      const { res } = await login(conn.id, 'ann');
      assert.equal(res.headers['x-sso-error'], 'oidc_subject_mismatch');
      const meta = await refusal(res);
      assert.equal(meta.check, 'userinfo sub equals the ID token sub (OpenID Connect Core §5.3.2)');
      assert.match(meta.detail ?? '', /pairwise subject identifiers/);
      assert.doesNotMatch(JSON.stringify(meta), /a-different-pairwise-subject/, 'subjects are shown shortened');
    });
  });
});
