import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { dispatchAuditEvents } from '../src/notifications/engine.js';
import { Agent, type TestApp, createTestApp } from './helpers/harness.js';

/**
 * Tenant isolation, for every route the app serves. A primary owner of organization B calls each
 * route with organization A's ids: every answer must be a 404 that says nothing about A.
 *
 * A new route with a path parameter this file does not know fails the test until it is added to
 * PARAM_FIXTURES (and, for routes with a body, SAMPLE_BODIES): no route escapes the check.
 */

interface World {
  a: {
    orgId: string;
    childId: string;
    memberId: string;
    tokenId: string;
    domainId: string;
    directoryId: string;
    connectionId: string;
    owner: Agent;
    secrets: string[];
    conversationId: string;
    githubConnectionId: string;
    repositoryId: string;
    findingId: string;
    suppressionId: string;
    fileId: string;
    holdId: string;
    keyId: string;
    streamId: string;
    deliveryId: string;
    userId: string;
    linkId: string;
    complianceKeyId: string;
    channelId: string;
    notificationDeliveryId: string;
  };
  b: { orgId: string; owner: Agent; compliance: Agent };
}

/** Where each path parameter takes its value from organization A. */
const PARAM_FIXTURES: Record<string, (w: World) => string> = {
  orgId: (w) => w.a.orgId,
  memberId: (w) => w.a.memberId,
  tokenId: (w) => w.a.tokenId,
  domainId: (w) => w.a.domainId,
  directoryId: (w) => w.a.directoryId,
  connectionId: (w) => w.a.connectionId,
  conversationId: (w) => w.a.conversationId,
  fileId: (w) => w.a.fileId,
  holdId: (w) => w.a.holdId,
  keyId: (w) => w.a.keyId,
  streamId: (w) => w.a.streamId,
  // An invitation is the invited person's own: another organization's owner (or anyone else) gets 404.
  membershipId: (w) => w.a.memberId,
  deliveryId: (w) => w.a.deliveryId,
  userId: (w) => w.a.userId,
  linkId: (w) => w.a.linkId,
  complianceKeyId: (w) => w.a.complianceKeyId,
  // The Compliance API's own (snake_case) parameters, called with B's compliance key.
  organization_id: (w) => w.a.orgId,
  group_id: () => 'grp_00000000000000000000000000',
  chat_id: (w) => w.a.conversationId,
  file_id: (w) => w.a.fileId,
  user_id: (w) => w.a.userId,
  githubConnectionId: (w) => w.a.githubConnectionId,
  installationId: () => '4242',
  repositoryId: (w) => w.a.repositoryId,
  findingId: (w) => w.a.findingId,
  suppressionId: (w) => w.a.suppressionId,
  pullNumber: () => '7',
  channelId: (w) => w.a.channelId,
  notificationDeliveryId: (w) => w.a.notificationDeliveryId,
};

/**
 * Protocol routes a browser or an IdP reaches without a Palisade credential (SSO start, SAML ACS
 * and SP metadata). They are public by design and answer in their protocol's shape; their
 * cross-organization cases are tested in test/sso/ (foreign InResponseTo, foreign test login).
 */
const PROTOCOL_ROUTES = new Set([
  'GET /sso/:connectionId/start',
  'POST /sso/saml/:connectionId/acs',
  'GET /sso/saml/:connectionId/metadata',
  'GET /sso/oidc/:connectionId/jwks.json',
  'POST /github/webhooks/:githubConnectionId',
]);

/**
 * Model-gateway routes whose organization comes from the credential (a gateway key, or a member
 * naming it in x-palisade-org), never from the path: their parameter is a model name.
 * Cross-organization cases are in test/gateway/ (a key used with another organization's header is a 404).
 */
const CREDENTIAL_SCOPED_ROUTES = new Set(['GET /v1/models/:modelId']);

/** A valid body for each route that takes one, so the request reaches authorization. */
const SAMPLE_BODIES: Record<string, unknown> = {
  'PATCH /api/v1/orgs/:orgId': { name: 'Taken over' },
  'POST /api/v1/orgs/:orgId/children': { name: 'Rogue unit' },
  'POST /api/v1/orgs/:orgId/members': { email: 'intruder@b.example', role: 'admin' },
  'PATCH /api/v1/orgs/:orgId/members/:memberId': { role: 'primary_owner' },
  'PUT /api/v1/orgs/:orgId/role-mapping': { requiredPrefix: null, defaultRole: 'admin', rules: [] },
  'POST /api/v1/orgs/:orgId/role-mapping/preview': { groups: ['alpha-admins'] },
  'POST /api/v1/orgs/:orgId/domains': { domain: 'beta-takeover.example' },
  'PATCH /api/v1/orgs/:orgId/domains/:domainId': { includeSubdomains: true },
  'POST /api/v1/orgs/:orgId/domains/:domainId/verify': {},
  'POST /api/v1/orgs/:orgId/scim/directories': { name: 'Rogue IdP' },
  'PATCH /api/v1/orgs/:orgId/scim/directories/:directoryId': { name: 'Taken over', roleSync: false },
  'POST /api/v1/orgs/:orgId/scim/directories/:directoryId/rotate-token': { overlapHours: 0 },
  'POST /api/v1/orgs/:orgId/scim/directories/:directoryId/role-preview': {},
  'POST /api/v1/orgs/:orgId/scim/directories/:directoryId/apply-roles': {},
  'POST /api/v1/orgs/:orgId/sso/connections': {
    protocol: 'oidc',
    name: 'Rogue IdP',
    oidc: { issuer: 'https://idp.beta.example', clientId: 'rogue', clientSecret: 'rogue-secret' },
  },
  'POST /api/v1/orgs/:orgId/sso/test-idp-connections': { protocol: 'saml', name: 'Rogue test IdP' },
  'PATCH /api/v1/orgs/:orgId/sso/connections/:connectionId': { name: 'Taken over', idpInitiated: false },
  'POST /api/v1/orgs/:orgId/sso/connections/:connectionId/simulate': {
    claims: { email: 'intruder@b.example', groups: ['alpha-admins'] },
  },
  'POST /api/v1/orgs/:orgId/sso/connections/:connectionId/impact': {
    mapping: { requiredPrefix: null, defaultRole: null, rules: [] },
  },
  'PUT /api/v1/orgs/:orgId/sso/enforcement': { connectionId: 'sso_00000000000000000000000000' },
  'POST /api/v1/orgs/:orgId/sso/enforcement/dry-run': { connectionId: 'sso_00000000000000000000000000' },
  'POST /api/v1/orgs/:orgId/sso/recovery-links': { memberId: 'mem_00000000000000000000000000', reason: 'take over' },
  'POST /api/v1/orgs/:orgId/conversations': { title: 'Rogue' },
  'PATCH /api/v1/orgs/:orgId/conversations/:conversationId': { title: 'Taken over' },
  'POST /api/v1/orgs/:orgId/conversations/:conversationId/messages': { content: 'hello' },
  'POST /api/v1/orgs/:orgId/files': { not: 'multipart' },
  'PATCH /api/v1/orgs/:orgId/workspace/settings': { retentionDays: 0, confirm: true },
  'POST /api/v1/orgs/:orgId/workspace/retention-preview': { retentionDays: 0 },
  'POST /api/v1/orgs/:orgId/legal-holds': { reason: 'rogue hold' },
  'POST /api/v1/orgs/:orgId/encryption/rotate': {},
  'POST /api/v1/orgs/:orgId/encryption/shred': { confirm: 'x' },
  'POST /api/v1/orgs/:orgId/gateway/keys': { name: 'rogue' },
  'PUT /api/v1/orgs/:orgId/gateway/upstream': { name: 'rogue', kind: 'anthropic', baseUrl: 'http://127.0.0.1:9' },
  'PUT /api/v1/orgs/:orgId/audit-settings': { retentionDays: 1 },
  'POST /api/v1/orgs/:orgId/audit-checkpoints': {},
  'POST /api/v1/orgs/:orgId/audit-streams': {
    name: 'Rogue SIEM',
    kind: 'webhook',
    url: 'https://attacker.example/hook',
  },
  'PATCH /api/v1/orgs/:orgId/audit-streams/:streamId': { paused: true },
  'POST /api/v1/orgs/:orgId/audit-streams/:streamId/test': {},
  'POST /api/v1/orgs/:orgId/audit-streams/:streamId/retry': {},
  'POST /api/v1/orgs/:orgId/members/:memberId/password-reset': { delivery: 'link' },
  'POST /api/v1/orgs/:orgId/members/:memberId/suspend': { reason: 'rogue suspension' },
  'POST /api/v1/orgs/:orgId/members/:memberId/reactivate': {},
  'POST /api/v1/me/invitations/:membershipId/accept': {},
  'POST /api/v1/me/invitations/:membershipId/decline': {},
  'POST /api/v1/orgs/:orgId/email-deliveries/:deliveryId/retry': {},
  'POST /api/v1/orgs/:orgId/compliance/keys': { name: 'rogue', scopes: ['read:compliance_user_data'] },
  'PUT /api/v1/orgs/:orgId/audit-settings/content': { promptExcerptChars: 1000 },
  'POST /v1/compliance/apps/chats/query': { organization_ids: [] },
  'POST /v1/compliance/apps/files/query': { organization_ids: [] },
  'POST /api/v1/orgs/:orgId/github/connections': {
    name: 'Rogue App',
    appId: '1',
    privateKey: 'x'.repeat(120),
    webhookSecret: 'rogue-webhook-secret',
  },
  'POST /api/v1/orgs/:orgId/github/connections/:githubConnectionId/installations': { installationId: '4242' },
  'PATCH /api/v1/orgs/:orgId/github/connections/:githubConnectionId': {
    name: 'Taken over',
    webhookSecret: 'rogue-webhook-secret-value',
  },
  'POST /api/v1/orgs/:orgId/github/repositories': {
    connectionId: 'ghc_00000000000000000000000000',
    installationId: '4242',
    fullName: 'alpha/secret-repo',
  },
  'PATCH /api/v1/orgs/:orgId/github/repositories/:repositoryId': { prScan: false, denyRules: [] },
  'POST /api/v1/orgs/:orgId/github/repositories/:repositoryId/rescan': {},
  'POST /api/v1/orgs/:orgId/github/repositories/:repositoryId/findings/:findingId/acknowledge': {
    reason: 'taking over this finding',
  },
  'POST /api/v1/orgs/:orgId/github/repositories/:repositoryId/suppressions': {
    ruleId: 'crypto/ecb-mode',
    pathPattern: '*',
    reason: 'rogue suppression of findings',
  },
  'POST /api/v1/orgs/:orgId/notifications/channels': {
    name: 'Rogue hook',
    kind: 'webhook',
    url: 'https://attacker.example/hook',
  },
  'PATCH /api/v1/orgs/:orgId/notifications/channels/:channelId': { name: 'Taken over', rotateSigningSecret: true },
  'PUT /api/v1/orgs/:orgId/notifications/routing': { routes: [] },
  'POST /api/v1/orgs/:orgId/notifications/deliveries/:notificationDeliveryId/retry': {},
};

/** A's GitHub connection, allowlisted repository, finding and suppression, written as rows (no GitHub call is needed to reach authorization). */
async function seedGithub(
  t: TestApp,
  orgId: string,
): Promise<{ githubConnectionId: string; repositoryId: string; findingId: string; suppressionId: string }> {
  const db = t.db.database.db;
  const at = new Date().toISOString();
  const ids = {
    githubConnectionId: 'ghc_01alphaconnection000000000',
    repositoryId: 'ghr_01alpharepository000000000',
    findingId: 'ghf_01alphafinding0000000000',
    suppressionId: 'ghs_01alphasuppression000000',
  };
  await db
    .insertInto('github_connections')
    .values({
      id: ids.githubConnectionId,
      org_id: orgId,
      name: 'Alpha GitHub App',
      app_id: '31337',
      api_base_url: 'https://github.alpha.example/api/v3',
      private_key_ct: 'x',
      private_key_key_version: 1,
      webhook_secret_ct: 'x',
      webhook_secret_key_version: 1,
      status: 'active',
      created_by: null,
      created_at: at,
      updated_at: at,
    })
    .execute();
  await db
    .insertInto('github_installations')
    .values({
      id: 'ghi_01alphainstallation0000000',
      org_id: orgId,
      connection_id: ids.githubConnectionId,
      installation_id: '4242',
      account_login: 'alpha-corp',
      created_at: at,
    })
    .execute();
  await db
    .insertInto('github_repositories')
    .values({
      id: ids.repositoryId,
      org_id: orgId,
      connection_id: ids.githubConnectionId,
      installation_id: '4242',
      github_id: '99',
      full_name: 'alpha-corp/secret-repo',
      default_branch: 'main',
      status: 'enabled',
      allowed_roles: null,
      allowed_groups: null,
      deny_rules: '[]',
      secret_patterns: '[]',
      pr_scan: 1,
      model_review: 0,
      scanned_sha: 'a'.repeat(40),
      scanned_at: at,
      scan_error: null,
      created_by: null,
      created_at: at,
      updated_at: at,
    })
    .execute();
  await db
    .insertInto('github_findings')
    .values({
      id: ids.findingId,
      org_id: orgId,
      repository_id: ids.repositoryId,
      fingerprint: 'f',
      rule_id: 'secretlint/aws',
      path: 'config/alpha-deploy.yml',
      line: 3,
      redacted_match: 'AKIA****',
      status: 'open',
      first_seen_sha: 'a'.repeat(40),
      first_seen_at: at,
      last_seen_at: at,
      acknowledged_by: null,
      acknowledged_at: null,
      acknowledged_reason: null,
    })
    .execute();
  await db
    .insertInto('github_suppressions')
    .values({
      id: ids.suppressionId,
      org_id: orgId,
      repository_id: ids.repositoryId,
      rule_id: 'crypto/ecb-mode',
      path_pattern: 'legacy/**',
      reason: 'alpha legacy exemption',
      created_by: null,
      created_at: at,
    })
    .execute();
  return ids;
}

describe('tenant isolation on every route', () => {
  let t: TestApp;
  let w: World;
  before(async () => {
    // The test IdP on: its one-click route must then refuse for tenancy, not because it is off.
    t = await createTestApp({ testIdp: true });
    const a = await t.seedOrg('Alpha Secret Corp', 'owner@alpha.example');
    const child = await a.owner.post(`/api/v1/orgs/${a.orgId}/children`, { name: 'Alpha Hidden Unit' });
    const { memberId } = await t.addMember(a.owner, a.orgId, 'member@alpha.example', 'admin');
    const token = await a.owner.post('/api/v1/me/tokens', { name: 'alpha automation' });
    const domain = await a.owner.post(`/api/v1/orgs/${a.orgId}/domains`, { domain: 'alpha-private.example' });
    const directory = await a.owner.post(`/api/v1/orgs/${a.orgId}/scim/directories`, { name: 'Alpha Okta Tenant' });
    const conn = await a.owner.post(`/api/v1/orgs/${a.orgId}/sso/connections`, {
      protocol: 'oidc',
      name: 'Alpha Okta',
      oidc: { issuer: 'https://idp.alpha.example', clientId: 'alpha-client', clientSecret: 'alpha-client-secret' },
    });
    const conv = await a.owner.post(`/api/v1/orgs/${a.orgId}/conversations`, { title: 'Alpha plans' });
    const fd = new FormData();
    fd.append('file', new Blob(['alpha file']), 'alpha.txt');
    const req = new Request('http://x/', { method: 'POST', body: fd });
    const file = await a.owner.request('POST', `/api/v1/orgs/${a.orgId}/files`, Buffer.from(await req.arrayBuffer()), {
      'content-type': req.headers.get('content-type') as string,
    });
    const hold = await a.owner.post(`/api/v1/orgs/${a.orgId}/legal-holds`, { reason: 'alpha case' });
    const key = await a.owner.post(`/api/v1/orgs/${a.orgId}/gateway/keys`, { name: 'alpha key' });
    const stream = await a.owner.post(`/api/v1/orgs/${a.orgId}/audit-streams`, {
      name: 'Alpha SIEM',
      kind: 'webhook',
      url: 'https://siem.alpha.example/hook',
    });
    if (stream.status !== 201) throw new Error(JSON.stringify(stream.body));
    const recovery = await a.owner.post(`/api/v1/orgs/${a.orgId}/sso/recovery-links`, {
      memberId,
      reason: 'alpha recovery',
    });
    if (recovery.status !== 201) throw new Error(JSON.stringify(recovery.body));
    const members = await a.owner.get(`/api/v1/orgs/${a.orgId}/members`);
    const userId = (members.body.data as { userId: string; email: string }[]).find(
      (m) => m.email === 'member@alpha.example',
    )!.userId;
    const complianceKey = await a.owner.post(`/api/v1/orgs/${a.orgId}/compliance/keys`, {
      name: 'Alpha eDiscovery',
      scopes: ['read:compliance_user_data'],
    });
    const github = await seedGithub(t, a.orgId);
    const channel = await a.owner.post(`/api/v1/orgs/${a.orgId}/notifications/channels`, {
      name: 'Alpha Hook',
      kind: 'webhook',
      url: 'https://hooks.alpha.example/T000/B000',
    });
    if (channel.status !== 201) throw new Error(JSON.stringify(channel.body));
    await dispatchAuditEvents(t.system);
    const notificationDelivery = await t.db.database.db
      .selectFrom('notification_deliveries')
      .select('id')
      .where('org_id', '=', a.orgId)
      .executeTakeFirstOrThrow();
    const b = await t.seedOrg('Beta', 'owner@beta.example');
    const bKey = await b.owner.post(`/api/v1/orgs/${b.orgId}/compliance/keys`, {
      name: 'Beta SIEM',
      scopes: [
        'read:compliance_activities',
        'read:compliance_directory',
        'read:compliance_user_data',
        'delete:compliance_user_data',
        'read:compliance_usage',
      ],
    });
    const bCompliance = new Agent(t.app, 'beta-siem');
    bCompliance.bearer = bKey.body.key;
    const delivery = await t.lastEmail('member@alpha.example');
    if (!delivery) throw new Error('no invitation mail was queued');
    w = {
      a: {
        orgId: a.orgId,
        childId: child.body.id,
        memberId,
        tokenId: token.body.apiToken.id,
        domainId: domain.body.id,
        directoryId: directory.body.directory.id,
        connectionId: conn.body.id,
        conversationId: conv.body.id,
        fileId: file.body.id,
        holdId: hold.body.id,
        keyId: key.body.gatewayKey.id,
        streamId: stream.body.stream.id,
        deliveryId: delivery.id,
        ...github,
        userId,
        linkId: recovery.body.id,
        complianceKeyId: complianceKey.body.complianceKey.id,
        channelId: channel.body.channel.id,
        notificationDeliveryId: notificationDelivery.id,
        owner: a.owner,
        secrets: [
          'Alpha Hook',
          'hooks.alpha.example',
          'Alpha GitHub App',
          'alpha-corp',
          'secret-repo',
          'alpha-deploy.yml',
          'alpha legacy exemption',
          'Alpha eDiscovery',
          'Alpha Secret Corp',
          'Alpha Hidden Unit',
          'alpha.example',
          'alpha automation',
          'alpha-private.example',
          domain.body.instructions.value,
          'Alpha Okta Tenant',
          'Alpha Okta',
          'alpha-client',
          'Alpha plans',
          'alpha.txt',
          'alpha case',
          'alpha key',
          'Alpha SIEM',
        ],
      },
      b: { orgId: b.orgId, owner: b.owner, compliance: bCompliance },
    };
  });
  after(() => t.close());

  // SCIM protocol routes authenticate with a directory token, not a person: test/scim/directories.test.ts covers them.
  const scoped = () =>
    t.app.routeTable.filter(
      (r) =>
        r.url.includes('/:') &&
        !r.url.startsWith('/scim/v2/') &&
        !PROTOCOL_ROUTES.has(`${r.method} ${r.url}`) &&
        !CREDENTIAL_SCOPED_ROUTES.has(`${r.method} ${r.url}`),
    );

  test('every parameterised route has a fixture', () => {
    const missing: string[] = [];
    for (const r of scoped()) {
      for (const p of r.url.match(/:([A-Za-z_]+)/g) ?? [])
        if (!PARAM_FIXTURES[p.slice(1)]) missing.push(`${r.method} ${r.url} (${p})`);
      if (['POST', 'PUT', 'PATCH'].includes(r.method) && !(`${r.method} ${r.url}` in SAMPLE_BODIES))
        missing.push(`${r.method} ${r.url} (sample body)`);
    }
    assert.deepEqual(missing, [], 'add these to PARAM_FIXTURES / SAMPLE_BODIES in test/tenant-isolation.test.ts');
    assert.ok(scoped().length >= 10);
  });

  test("organization B's owner gets 404 and learns nothing, on every route, for A and A's child", async () => {
    for (const target of ['org', 'child'] as const) {
      for (const r of scoped()) {
        const url = r.url.replace(/:([A-Za-z_]+)/g, (_, name: string) =>
          (name === 'orgId' || name === 'organization_id') && target === 'child'
            ? w.a.childId
            : PARAM_FIXTURES[name]!(w),
        );
        // The Compliance API answers B's compliance key, not B's session.
        const caller = r.url.startsWith('/v1/compliance/') ? w.b.compliance : w.b.owner;
        const res = await caller.request(r.method, url, SAMPLE_BODIES[`${r.method} ${r.url}`]);
        assert.equal(res.status, 404, `${r.method} ${url} answered ${res.status}: ${res.raw.body}`);
        assert.equal(res.body.error.code, 'not_found', `${r.method} ${url}`);
        for (const s of w.a.secrets) assert.ok(!res.raw.body.includes(s), `${r.method} ${url} leaked "${s}"`);
      }
    }
    // Nothing of A changed.
    const org = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}`);
    assert.equal(org.body.name, 'Alpha Secret Corp');
    const members = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/members`);
    assert.equal(members.body.data.length, 2);
    assert.ok(members.body.data.every((m: { email: string }) => m.email.endsWith('@alpha.example')));
    assert.ok(
      members.body.data.every((m: { status: string }) => m.status === 'active'),
      'nobody of A was suspended',
    );
    assert.equal((await w.a.owner.get(`/api/v1/orgs/${w.a.childId}`)).status, 200);
    const domains = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/domains`);
    assert.deepEqual(
      domains.body.data.map((d: { domain: string; includeSubdomains: boolean; lastCheckedAt: string | null }) => [
        d.domain,
        d.includeSubdomains,
        d.lastCheckedAt,
      ]),
      [['alpha-private.example', false, null]],
    );
    const conn = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/sso/connections/${w.a.connectionId}`);
    assert.equal(conn.body.name, 'Alpha Okta');
    assert.equal((await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/sso/enforcement`)).body.enforced, false);
    const tokens = await w.a.owner.get('/api/v1/me/tokens');
    assert.equal(tokens.body.data[0].revokedAt, null);
    const dir = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/scim/directories/${w.a.directoryId}`);
    assert.equal(dir.body.name, 'Alpha Okta Tenant');
    assert.equal(dir.body.roleSync, true);
    assert.equal(dir.body.tokens.length, 1);
    assert.equal(dir.body.tokens[0].expiresAt, null);
    const conv = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/conversations/${w.a.conversationId}`);
    assert.equal(conv.body.conversation.title, 'Alpha plans');
    assert.equal((await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/files/${w.a.fileId}/content`)).raw.body, 'alpha file');
    const settings = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/workspace/settings`);
    assert.equal(settings.body.retentionDays, 90);
    assert.equal(settings.body.legalHold, true);
    const enc = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/encryption`);
    assert.equal(enc.body.shreddedAt, null);
    assert.equal(enc.body.keys.length, 1);
    const keys = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/gateway/keys`);
    assert.equal(keys.body.data[0].revokedAt, null);
    assert.equal((await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/gateway/upstream`)).body.upstream, null);
    const link = await t.db.database.db
      .selectFrom('sso_recovery_links')
      .select(['revoked_at', 'used_at'])
      .where('id', '=', w.a.linkId)
      .executeTakeFirstOrThrow();
    assert.deepEqual(link, { revoked_at: null, used_at: null });
    const complianceKeys = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/compliance/keys`);
    assert.deepEqual(
      complianceKeys.body.data.map((k: { id: string; revokedAt: string | null }) => [k.id, k.revokedAt]),
      [[w.a.complianceKeyId, null]],
    );
    assert.equal((await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/audit-settings/content`)).body.tier, 'metadata');
    const repo = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/github/repositories/${w.a.repositoryId}`);
    assert.equal(repo.body.prScan, true);
    assert.equal(repo.body.openFindings, 1);
    assert.equal(
      (await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/github/repositories/${w.a.repositoryId}/suppressions`)).body.data
        .length,
      1,
    );
    const ghConnections = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/github/connections`);
    assert.deepEqual(
      ghConnections.body.data.map((c: { name: string }) => c.name),
      ['Alpha GitHub App'],
    );
    const channels = await w.a.owner.get(`/api/v1/orgs/${w.a.orgId}/notifications/channels`);
    assert.deepEqual(
      channels.body.data.map((c: { id: string; name: string }) => [c.id, c.name]),
      [[w.a.channelId, 'Alpha Hook']],
    );
    const delivery = await t.db.database.db
      .selectFrom('notification_deliveries')
      .select('status')
      .where('id', '=', w.a.notificationDeliveryId)
      .executeTakeFirstOrThrow();
    assert.equal(delivery.status, 'queued');
  });

  test("a non-existent id answers exactly like another organization's id", async () => {
    const foreign = await w.b.owner.get(`/api/v1/orgs/${w.a.orgId}`);
    const missing = await w.b.owner.get('/api/v1/orgs/org_00000000000000000000000000');
    assert.equal(foreign.status, missing.status);
    assert.equal(foreign.body.error.code, missing.body.error.code);
    assert.equal(foreign.body.error.message, missing.body.error.message);
  });

  test('anonymous callers are asked to sign in on every organization route', async () => {
    for (const r of scoped()) {
      const url = r.url.replace(/:([A-Za-z_]+)/g, (_, name: string) => PARAM_FIXTURES[name]!(w));
      const res = await t.anonymous().request(r.method, url, SAMPLE_BODIES[`${r.method} ${r.url}`]);
      assert.equal(res.status, 401, `${r.method} ${url}`);
      assert.equal(res.body.error.code, 'authentication_required');
    }
  });

  test("B's organization list never includes A", async () => {
    const list = await w.b.owner.get('/api/v1/orgs');
    assert.deepEqual(
      list.body.data.map((o: { id: string }) => o.id),
      [w.b.orgId],
    );
  });
});
