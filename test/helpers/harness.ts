import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { type PalisadeConfig, loadConfig } from '../../src/config.js';
import { type Ctx, systemCtx } from '../../src/context.js';
import { createOrganization } from '../../src/orgs/organizations.js';
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

  async request<T = any>(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply<T>> {
    const h: Record<string, string> = { ...headers };
    if (this.bearer) h.authorization = `Bearer ${this.bearer}`;
    else if (this.cookie) {
      h.cookie = this.cookie;
      if (this.csrf && !['GET', 'HEAD'].includes(method)) h['x-csrf-token'] = this.csrf;
    }
    if (this.ssoCookie && url.startsWith('/sso/')) h.cookie = [h.cookie, this.ssoCookie].filter(Boolean).join('; ');
    const res = await this.app.inject({ method: method as 'GET', url, headers: h, remoteAddress: this.ip, ...(body !== undefined ? { payload: body as object } : {}) });
    this.absorb(res);
    let parsed: unknown = undefined;
    if (res.body && (res.headers['content-type'] ?? '').toString().includes('application/json')) parsed = JSON.parse(res.body);
    return { status: res.statusCode, body: parsed as T, headers: res.headers, raw: res };
  }

  private absorb(res: LightMyRequestResponse): void {
    const sso = res.cookies.find((c) => c.name === 'palisade_sso');
    if (sso) this.ssoCookie = `palisade_sso=${sso.value}`;
    const setCookie = res.cookies.find((c) => c.name === 'palisade_session');
    if (setCookie) this.cookie = setCookie.value ? `palisade_session=${setCookie.value}` : undefined;
    if (res.statusCode < 300 && res.body && (res.headers['content-type'] ?? '').toString().includes('application/json')) {
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
  /** Invites someone with a role and returns them signed in. */
  addMember(by: Agent, orgId: string, email: string, role: 'primary_owner' | 'admin' | 'member'): Promise<{ agent: Agent; memberId: string }>;
}

/**
 * Test peers (SIEM receivers, IdPs, model servers) listen on loopback, which the outbound policy
 * denies by default; tests allow it the way an operator would (PALISADE_OUTBOUND_ALLOW_CIDRS).
 * Attack tests pass `outboundAllowCidrs: []` (or a narrower list) to get the default policy back.
 */
export const TEST_OUTBOUND_ALLOW_CIDRS = ['127.0.0.0/8', '::1/128'];

/** `options.database`: a database the test prepared itself (one on a small tmpfs, a private PostgreSQL), closed with the app. */
export async function createTestApp(overrides: Partial<PalisadeConfig> = {}, options: { database?: TestDatabase } = {}): Promise<TestApp> {
  const db = options.database ?? (await openTestDatabase());
  const clock = new ManualClock(new Date());
  const config = loadConfig({}, { databaseUrl: db.url, logLevel: 'silent', passwordScryptLogN: 10, publicUrl: 'http://palisade.test', masterKey: randomBytes(32).toString('base64'), outboundAllowCidrs: TEST_OUTBOUND_ALLOW_CIDRS, ...overrides });
  const app = await buildApp({ database: db.database, config, clock });
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
  return {
    app,
    db,
    clock,
    config,
    system,
    redeem,
    login,
    anonymous: (ip?: string) => new Agent(app, 'anonymous', ip),
    async seedOrg(name, ownerEmail) {
      const { organization, setupLink } = await createOrganization(system, { name, ownerEmail });
      const owner = setupLink ? await redeem(setupLink.url, ownerEmail) : await login(ownerEmail);
      return { orgId: organization.id, owner };
    },
    async addMember(by, orgId, email, role) {
      const res = await by.post(`/api/v1/orgs/${orgId}/members`, { email, role });
      if (res.status !== 201) throw new Error(`invite failed: ${res.status} ${JSON.stringify(res.body)}`);
      const agent = res.body.inviteLink ? await redeem(res.body.inviteLink.url, email) : await login(email);
      return { agent, memberId: res.body.member.id };
    },
    async close() {
      await app.close();
      await db.cleanup();
    },
  };
}
