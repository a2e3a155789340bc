/**
 * OIDC sign-in: callbacks per second through Palisade (state, the code exchange at a real
 * oidc-provider on loopback, ID token and userinfo checks, provisioning, role mapping, session,
 * audit), beside the raw limit measured in the same run: openid-client alone redeeming codes from
 * the same provider (PKCE, nonce, state, ID token validation, userinfo) with nothing stored. The
 * provider runs in this process, so both sides pay its share; the difference is Palisade's.
 */
import * as client from 'openid-client';
import { type TestApp, createTestApp } from '../test/helpers/harness.js';
import { type PeerAccount, driveOidcLogin, startOidcPeer } from '../test/sso/oidc-peer.js';

const N = Number(process.env.BENCH_OIDC_LOGINS ?? 200);
const BATCH = 50;
const PUBLIC = 'http://palisade.test';
const CALLBACK = `${PUBLIC}/sso/oidc/callback`;

async function runDialect(dialect: 'sqlite' | 'postgres'): Promise<void> {
  process.env.PALISADE_TEST_DB = dialect;
  const t: TestApp = await createTestApp({ publicUrl: PUBLIC });
  const accounts: Record<string, PeerAccount> = {};
  for (let i = 0; i < 20; i++) accounts[`user${i}`] = { email: `user${i}@bench.example`, groups: ['bench-staff'] };
  const peer = await startOidcPeer(CALLBACK, accounts);
  try {
    const { orgId, owner } = await t.seedOrg('Bench', 'owner@bench.example');
    await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, {
      requiredPrefix: 'bench-',
      defaultRole: 'member',
      rules: [{ group: 'bench-staff', role: 'member' }],
    });
    const created = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Bench OIDC',
      oidc: { issuer: peer.issuer, clientId: peer.clientId, clientSecret: peer.clientSecret },
    });
    if (created.status !== 201) throw new Error(`connection: ${created.status} ${created.raw.body.slice(0, 200)}`);
    const connectionId = (created.body as { id: string }).id;

    // Authorization codes are collected before the timed redemptions, in rounds of BATCH: the
    // provider's development store is an LRU of 1,000 entries (interactions, sessions, grants,
    // codes), so codes collected much earlier would be evicted and refused at redemption.
    let palisadeNs = 0n;
    for (let from = 0; from < N; from += BATCH) {
      const logins: { agent: ReturnType<TestApp['anonymous']>; path: string }[] = [];
      for (let i = from; i < Math.min(N, from + BATCH); i++) {
        const agent = t.anonymous();
        const start = await agent.get(`/sso/${connectionId}/start`);
        if (start.status !== 302) throw new Error(`start answered ${start.status} ${start.raw.body.slice(0, 300)}`);
        const callback = await driveOidcLogin(String(start.headers.location), `user${i % 20}`, PUBLIC);
        logins.push({ agent, path: callback.slice(PUBLIC.length) });
      }
      const t0 = process.hrtime.bigint();
      for (const l of logins) {
        const res = await l.agent.get(l.path);
        if (res.status !== 303 && res.status !== 302)
          throw new Error(`callback answered ${res.status}: ${res.raw.body.slice(0, 200)}`);
      }
      palisadeNs += process.hrtime.bigint() - t0;
    }
    const palisade = N / (Number(palisadeNs) / 1e9);

    // The raw limit: the same provider, codes redeemed by openid-client alone.
    const config = await client.discovery(new URL(peer.issuer), peer.clientId, peer.clientSecret, undefined, {
      execute: [client.allowInsecureRequests],
    });
    let rawNs = 0n;
    for (let from = 0; from < N; from += BATCH) {
      const raws: { url: URL; verifier: string; nonce: string; state: string }[] = [];
      for (let i = from; i < Math.min(N, from + BATCH); i++) {
        const verifier = client.randomPKCECodeVerifier();
        const nonce = client.randomNonce();
        const state = client.randomState();
        const authorize = client.buildAuthorizationUrl(config, {
          redirect_uri: CALLBACK,
          scope: 'openid email profile',
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          nonce,
          state,
        });
        raws.push({
          url: new URL(await driveOidcLogin(authorize.href, `user${i % 20}`, PUBLIC)),
          verifier,
          nonce,
          state,
        });
      }
      const t1 = process.hrtime.bigint();
      for (const r of raws) {
        const tokens = await client.authorizationCodeGrant(config, r.url, {
          pkceCodeVerifier: r.verifier,
          expectedNonce: r.nonce,
          expectedState: r.state,
        });
        await client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck);
      }
      rawNs += process.hrtime.bigint() - t1;
    }
    const limit = N / (Number(rawNs) / 1e9);
    console.log(
      `  ${dialect.padEnd(8)} OIDC callbacks/s: Palisade ${palisade.toFixed(0)} · raw openid-client code exchange + userinfo ${limit.toFixed(0)} (${((palisade / limit) * 100).toFixed(0)}% of raw; Palisade's own share ${(1000 / palisade - 1000 / limit || 0).toFixed(2)} ms per sign-in, N=${N})`,
    );
  } finally {
    await t.close();
    await peer.close();
  }
}

export async function benchSsoOidc(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  console.log('OIDC sign-in (callback: code exchange at oidc-provider, ID token + userinfo, JIT + session + audit)');
  for (const d of dialects) await runDialect(d);
}
