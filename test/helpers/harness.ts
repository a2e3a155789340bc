import { sealAllPendingAudit } from '../../src/audit/seal.js';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { type PalisadeConfig, loadConfig } from '../../src/config.js';
import { type Ctx, systemCtx } from '../../src/context.js';
import { createOrganization } from '../../src/membership/organizations.js';
import { openEmailBody } from '../../src/email/outbox.js';
import { type TestDatabase, openTestDatabase } from './db.js';

export const TEST_PASSWORD = 'correct horse battery staple';

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: LightMyRequestResponse['headers'];
  raw: LightMyRequestResponse;
}

/** A person talking to Palisade over HTTP: keeps their session cookie and CSRF token like a browser. */
export class Agent {
  cookie: string | undefined;
  csrf: string | undefined;
  bearer: string | undefined;
  /** The SSO browser-binding cookie, sent back on /sso/ paths like a browser would. */
  ssoCookie: string | undefined;
  constructor(
    private readonly app: FastifyInstance,
    readonly email: string,
    readonly ip = '203.0.113.10',
  ) {}

  async request<T = any>(
    method: string,
    url: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Reply<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.bearer) h.authorization = `Bearer ${this.bearer}`;
    else if (this.cookie) {
      h.cookie = this.cookie;
      if (this.csrf && !['GET', 'HEAD'].includes(method)) h['x-csrf-token'] = this.csrf;
    }
    if (this.ssoCookie && url.startsWith('/sso/')) h.cookie = [h.cookie, this.ssoCookie].filter(Boolean).join('; ');
    const res = await this.app.inject({
      method: method as 'GET',
      url,
      headers: h,
      remoteAddress: this.ip,
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    this.absorb(res);
    let parsed: unknown = undefined;
    if (res.body && (res.headers['content-type'] ?? '').toString().includes('application/json'))
      parsed = JSON.parse(res.body);
    return { status: res.statusCode, body: parsed as T, headers: res.headers, raw: res };
  }

  private absorb(res: LightMyRequestResponse): void {
    const sso = res.cookies.find((c) => c.name === 'palisade_sso');
    if (sso) this.ssoCookie = `palisade_sso=${sso.value}`;
    const setCookie = res.cookies.find((c) => c.name === 'palisade_session');
    if (setCookie) this.cookie = setCookie.value ? `palisade_session=${setCookie.value}` : undefined;
    if (
      res.statusCode < 300 &&
      res.body &&
      (res.headers['content-type'] ?? '').toString().includes('application/json')
    ) {
      const body = JSON.parse(res.body) as { csrfToken?: string };
      if (typeof body?.csrfToken === 'string') this.csrf = body.csrfToken;
    }
  }

  get = <T = any>(url: string) => this.request<T>('GET', url);
  post = <T = any>(url: string, body?: unknown) => this.request<T>('POST', url, body ?? {});
  patch = <T = any>(url: string, body: unknown) => this.request<T>('PATCH', url, body);
  delete = <T = any>(url: string) => this.request<T>('DELETE', url);
}

export interface TestApp {
  app: FastifyInstance;
  db: TestDatabase;
  clock: ManualClock;
  config: PalisadeConfig;
  system: Ctx;
  close(): Promise<void>;
  /** Redeems a setup/invitation link URL as its recipient and returns them signed in. */
  redeem(url: string, email: string, password?: string): Promise<Agent>;
  login(email: string, password?: string, ip?: string): Promise<Agent>;
  anonymous(ip?: string): Agent;
  /** A top-level organization with a signed-in primary owner. */
  seedOrg(name: string, ownerEmail: string): Promise<{ orgId: string; owner: Agent }>;
  /** Invites someone with a role and returns them signed in (through the emailed link, or by accepting while signed in). */
  addMember(
    by: Agent,
    orgId: string,
    email: string,
    role: 'primary_owner' | 'admin' | 'member',
  ): Promise<{ agent: Agent; memberId: string }>;
  /** The newest message queued for an address, opened as the recipient would read it, with the links it carries. */
  lastEmail(to: string, template?: string): Promise<QueuedEmail | undefined>;
  /** Signs in and accepts every pending invitation of an account. */
  acceptInvitations(agent: Agent): Promise<void>;
  /**
   * Seals every audit event appended and not yet linked into its chain (PALISADE_AUDIT_SEALING=batched,
   * the harness's setting on PostgreSQL). HTTP responses are sent after their events are sealed; a test that
   * writes events itself (recordAudit in its own transaction, a job) and then reads the chain tables
   * directly seals first, as Palisade's own readers do.
   */
  sealAudit(): Promise<number>;
}

export interface QueuedEmail {
  id: string;
  template: string;
  subject: string;
  text: string;
  html: string;
  /** Every http(s) URL in the text part, in order. */
  links: string[];
}

/**
 * Mail in tests: the harness configures an SMTP server that nobody runs and never starts the
 * delivery job, so messages stay in the real outbox; \`lastEmail\` opens them with the installation's
 * key exactly as delivery would. The delivery itself is tested against a real MTA in test/email/.
 */
export const TEST_SMTP = { smtpUrl: 'smtp://127.0.0.1:9', smtpFrom: 'Palisade <palisade@palisade.test>' };

/**
 * Test peers (SIEM receivers, IdPs, model servers) listen on loopback, which the outbound policy
 * denies by default; tests allow it the way an operator would (PALISADE_OUTBOUND_ALLOW_CIDRS).
 * Attack tests pass `outboundAllowCidrs: []` (or a narrower list) to get the default policy back.
 */
export const TEST_OUTBOUND_ALLOW_CIDRS = ['127.0.0.0/8', '::1/128'];

/** `options.database`: a database the test prepared itself (one on a small tmpfs, a private PostgreSQL), closed with the app. */
export async function createTestApp(
  overrides: Partial<PalisadeConfig> = {},
  options: { database?: TestDatabase } = {},
): Promise<TestApp> {
  const db = options.database ?? (await openTestDatabase());
  const clock = new ManualClock(new Date());
  const config = loadConfig(
    {},
    {
      databaseUrl: db.url,
      logLevel: 'silent',
      passwordScryptLogN: 10,
      publicUrl: 'http://palisade.test',
      masterKey: randomBytes(32).toString('base64'),
      outboundAllowCidrs: TEST_OUTBOUND_ALLOW_CIDRS,
      ...TEST_SMTP,
      badTokenMaxPerIp: 10_000,
      // Tests read the chain tables themselves right after a response, so on PostgreSQL the harness
      // has responses wait for their events' seal (`batched`) instead of the default `background`
      // (sealed within a second). test/audit/sealing.test.ts and the three-process tests of
      // test/integration/scale-out.test.ts (real `palisade serve`, default settings) cover the default.
      auditSealing: db.url.startsWith('postgres') ? 'batched' : 'auto',
      ...overrides,
    },
  );
  // PALISADE_TEST_LOG_FILE: every test app logs at trace into one file, which scripts/test.sh
  // greps for secrets after the whole run (no credential may reach a log line at any level).
  const logFile = process.env.PALISADE_TEST_LOG_FILE;
  // (The same config object: tests change settings on t.config after the app is built.)
  if (logFile) config.logLevel = 'trace';
  const app = await buildApp({
    database: db.database,
    config,
    clock,
    ...(logFile ? { logStream: createWriteStream(logFile, { flags: 'a' }) } : {}),
  });
  const system = systemCtx({ db: db.database.db, clock, config }, 'test');

  const redeem = async (url: string, email: string, password = TEST_PASSWORD) => {
    const token = new URL(url).hash.replace('#token=', '');
    const agent = new Agent(app, email);
    const res = await agent.post('/api/v1/auth/setup-password', { token, password });
    if (res.status !== 200) throw new Error(`redeem failed: ${res.status} ${JSON.stringify(res.body)}`);
    return agent;
  };
  const login = async (email: string, password = TEST_PASSWORD, ip?: string) => {
    const agent = new Agent(app, email, ip);
    const res = await agent.post('/api/v1/auth/login', { email, password });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
    return agent;
  };
  const lastEmail = async (to: string, template?: string): Promise<QueuedEmail | undefined> => {
    let q = db.database.db.selectFrom('email_outbox').selectAll().where('to_address', '=', to.toLowerCase());
    if (template) q = q.where('template', '=', template);
    const row = await q.orderBy('id', 'desc').executeTakeFirst();
    if (!row) return undefined;
    const content = await openEmailBody(config, row);
    if (!content) throw new Error(`the queued message ${row.id} cannot be opened`);
    return {
      id: row.id,
      template: row.template,
      ...content,
      links: [...content.text.matchAll(/https?:\/\/\S+/g)].map((m) => m[0]),
    };
  };
  const acceptInvitations = async (agent: Agent) => {
    const pending = await agent.get('/api/v1/me/invitations');
    for (const i of pending.body.data ?? []) {
      const r = await agent.post(`/api/v1/me/invitations/${i.membershipId}/accept`);
      if (r.status !== 200) throw new Error(`accept failed: ${r.status} ${JSON.stringify(r.body)}`);
    }
  };
  return {
    app,
    db,
    clock,
    config,
    system,
    redeem,
    login,
    lastEmail,
    acceptInvitations,
    sealAudit: () => sealAllPendingAudit(db.database.db),
    anonymous: (ip?: string) => new Agent(app, 'anonymous', ip),
    async seedOrg(name, ownerEmail) {
      const { organization, setupLink } = await createOrganization(system, { name, ownerEmail });
      const owner = setupLink ? await redeem(setupLink.url, ownerEmail) : await login(ownerEmail);
      if (!setupLink) await acceptInvitations(owner);
      return { orgId: organization.id, owner };
    },
    async addMember(by, orgId, email, role) {
      const res = await by.post(`/api/v1/orgs/${orgId}/members`, { email, role });
      if (res.status !== 201) throw new Error(`invite failed: ${res.status} ${JSON.stringify(res.body)}`);
      let agent: Agent;
      if (res.body.inviteLink) agent = await redeem(res.body.inviteLink.url, email);
      else if (res.body.delivery.requires === 'set_password') {
        const mail = await lastEmail(email);
        const link = mail?.links.find((l) => l.includes('#token='));
        if (!link) throw new Error(`no invitation link was mailed to ${email}`);
        agent = await redeem(link, email);
      } else {
        agent = await login(email);
        if (res.body.delivery.requires === 'acceptance') await acceptInvitations(agent);
      }
      return { agent, memberId: res.body.member.id };
    },
    async close() {
      await app.close();
      await db.cleanup();
    },
  };
}
