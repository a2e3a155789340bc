import type { PalisadeConfig } from '../../src/config.js';
import { Agent, type TestApp, createTestApp } from '../helpers/harness.js';
import { type ModelUpstream, startModelUpstream } from '../helpers/model-upstream.js';

/**
 * A tree for Compliance API tests: a top-level organization (Root) with two sibling business units
 * (Alpha, Beta); Ann and Cid work in Alpha, Bea in Beta. Each has a conversation with messages
 * through the real workspace (against the loopback model server of test/helpers/model-upstream.ts,
 * a stand-in written for the tests) and an uploaded file. Another top-level organization (Other)
 * exists beside the tree.
 */
export interface Person {
  agent: Agent;
  userId: string;
  email: string;
  orgId: string;
  conversationId: string;
  fileId: string;
}

export interface World {
  t: TestApp;
  up: ModelUpstream;
  root: { orgId: string; owner: Agent; ownerId: string };
  alpha: { orgId: string };
  beta: { orgId: string };
  other: { orgId: string; owner: Agent };
  ann: Person;
  cid: Person;
  bea: Person;
  close(): Promise<void>;
}

export async function upload(agent: Agent, orgId: string, name: string, content: string | Buffer): Promise<string> {
  const fd = new FormData();
  fd.append('file', new Blob([typeof content === 'string' ? content : new Uint8Array(content)]), name);
  const req = new Request('http://x/', { method: 'POST', body: fd });
  const res = await agent.request('POST', `/api/v1/orgs/${orgId}/files`, Buffer.from(await req.arrayBuffer()), {
    'content-type': req.headers.get('content-type') as string,
  });
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${res.raw.body}`);
  return res.body.id as string;
}

export async function chat(agent: Agent, orgId: string, title: string, prompts: string[]): Promise<string> {
  const conv = await agent.post(`/api/v1/orgs/${orgId}/conversations`, { title });
  if (conv.status !== 201) throw new Error(`conversation failed: ${conv.status} ${conv.raw.body}`);
  for (const content of prompts) {
    const r = await agent.post(`/api/v1/orgs/${orgId}/conversations/${conv.body.id}/messages`, { content });
    if (r.status !== 201) throw new Error(`message failed: ${r.status} ${r.raw.body}`);
  }
  return conv.body.id as string;
}

export async function userIdOf(t: TestApp, email: string): Promise<string> {
  return (await t.db.database.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow())
    .id;
}

/**
 * `startAt`: the test clock's time before anything is created, for a test whose buckets depend on
 * the time of day (otherwise the clock starts at the real time, as in every test app).
 */
export async function buildWorld(overrides: Partial<PalisadeConfig> = {}, startAt?: string): Promise<World> {
  const t = await createTestApp({ complianceFeedDelaySeconds: 0, ...overrides });
  if (startAt) t.clock.set(startAt);
  const up = await startModelUpstream();
  const root = await t.seedOrg('Root Holdings', 'owner@root.example');
  const alpha = await root.owner.post(`/api/v1/orgs/${root.orgId}/children`, { name: 'Alpha Unit' });
  const beta = await root.owner.post(`/api/v1/orgs/${root.orgId}/children`, { name: 'Beta Unit' });
  const other = await t.seedOrg('Other Corp', 'owner@other.example');
  for (const orgId of [alpha.body.id, beta.body.id, other.orgId]) {
    const owner = orgId === other.orgId ? other.owner : root.owner;
    const r = await owner.request('PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, {
      name: 'loop',
      kind: 'anthropic',
      baseUrl: up.url,
    });
    if (r.status !== 200) throw new Error(`upstream failed: ${r.status} ${r.raw.body}`);
  }
  const person = async (
    orgId: string,
    email: string,
    title: string,
    prompt: string,
    fileText: string,
  ): Promise<Person> => {
    const { agent } = await t.addMember(root.owner, orgId, email, 'member');
    const conversationId = await chat(agent, orgId, title, [prompt]);
    const fileId = await upload(agent, orgId, `${email.split('@')[0]}-notes.txt`, fileText);
    return { agent, email, orgId, userId: await userIdOf(t, email), conversationId, fileId };
  };
  const ann = await person(
    alpha.body.id,
    'ann@root.example',
    'Ann merger plans',
    'Ann asks about the merger',
    'ann file body',
  );
  const cid = await person(
    alpha.body.id,
    'cid@root.example',
    'Cid budget',
    'Cid asks about the budget',
    'cid file body',
  );
  const bea = await person(beta.body.id, 'bea@root.example', 'Bea hiring', 'Bea asks about hiring', 'bea file body');
  return {
    t,
    up,
    root: { ...root, ownerId: await userIdOf(t, 'owner@root.example') },
    alpha: { orgId: alpha.body.id },
    beta: { orgId: beta.body.id },
    other,
    ann,
    cid,
    bea,
    async close() {
      await up.close();
      await t.close();
    },
  };
}

export async function createKey(
  owner: Agent,
  orgId: string,
  input: Record<string, unknown> = {},
): Promise<{ secret: string; id: string }> {
  const res = await owner.post(`/api/v1/orgs/${orgId}/compliance/keys`, {
    name: 'SIEM',
    scopes: [
      'read:compliance_activities',
      'read:compliance_directory',
      'read:compliance_user_data',
      'delete:compliance_user_data',
      'read:compliance_usage',
    ],
    ...input,
  });
  if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${res.raw.body}`);
  return { secret: res.body.key as string, id: res.body.complianceKey.id as string };
}

/** A client holding a compliance key, as a SIEM or eDiscovery tool would. */
export function keyClient(t: TestApp, secret: string, ip = '198.51.100.7'): Agent {
  const a = new Agent(t.app, 'compliance-client', ip);
  a.bearer = secret;
  return a;
}

/** Audit events of an organization with an action, oldest first. */
export async function eventsOf(t: TestApp, orgId: string, action: string) {
  const rows = await t.db.database.db
    .selectFrom('audit_events')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('action', '=', action)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    ...r,
    targets: JSON.parse(r.targets) as { type: string; id: string; name?: string }[],
    metadata: JSON.parse(r.metadata) as Record<string, unknown>,
  }));
}
