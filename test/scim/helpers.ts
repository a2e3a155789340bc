import type { FastifyInstance } from 'fastify';
import type { Agent, TestApp } from '../helpers/harness.js';

export interface ScimReply<T = any> {
  status: number;
  body: T;
  headers: Record<string, unknown>;
}

/** An identity provider talking SCIM to one directory: bearer token, application/scim+json. */
export class ScimClient {
  constructor(
    private readonly app: FastifyInstance,
    public base: string,
    public token: string,
  ) {}
  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ScimReply<T>> {
    const url = path.startsWith('/scim/') ? path : `${this.base}${path}`;
    const h: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/scim+json',
      ...headers,
    };
    if (body !== undefined && !h['content-type']) h['content-type'] = 'application/scim+json';
    const res = await this.app.inject({
      method: method as 'GET',
      url,
      headers: h,
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    let parsed: unknown;
    if (res.body) {
      try {
        parsed = JSON.parse(res.body);
      } catch {
        parsed = res.body;
      }
    }
    return { status: res.statusCode, body: parsed as T, headers: res.headers };
  }
  get = <T = any>(p: string, headers?: Record<string, string>) => this.request<T>('GET', p, undefined, headers);
  post = <T = any>(p: string, b: unknown) => this.request<T>('POST', p, b);
  put = <T = any>(p: string, b: unknown, headers?: Record<string, string>) => this.request<T>('PUT', p, b, headers);
  patch = <T = any>(p: string, b: unknown, headers?: Record<string, string>) => this.request<T>('PATCH', p, b, headers);
  delete = <T = any>(p: string, headers?: Record<string, string>) => this.request<T>('DELETE', p, undefined, headers);
}

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** Creates a directory through the admin API and returns a SCIM client for it. */
export async function newDirectory(
  t: TestApp,
  owner: Agent,
  orgId: string,
  name = 'Okta',
): Promise<{ scim: ScimClient; directoryId: string; token: string }> {
  const res = await owner.post(`/api/v1/orgs/${orgId}/scim/directories`, { name });
  if (res.status !== 201) throw new Error(`directory create failed: ${res.status} ${JSON.stringify(res.body)}`);
  const base = new URL(res.body.directory.baseUrl).pathname;
  return {
    scim: new ScimClient(t.app, base, res.body.token),
    directoryId: res.body.directory.id,
    token: res.body.token,
  };
}

export const user = (userName: string, extra: Record<string, unknown> = {}) => ({
  schemas: [USER],
  userName,
  name: { givenName: userName.split('@')[0], familyName: 'Test' },
  emails: [{ primary: true, value: userName, type: 'work' }],
  active: true,
  ...extra,
});

/** A person's membership as the members API shows it (role, status, suspension), or null. */
export async function memberOf(
  owner: Agent,
  orgId: string,
  email: string,
): Promise<{
  id: string;
  role: string;
  status: string;
  suspension?: { at: string; directoryId: string | null; directoryName: string | null; liftedBy: string };
} | null> {
  const res = await owner.get(`/api/v1/orgs/${orgId}/members?limit=200`);
  if (res.status !== 200) throw new Error(`members list failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.data.find((m: { email: string }) => m.email === email) ?? null;
}
