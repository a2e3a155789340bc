import assert from 'node:assert/strict';
import * as OTPAuth from 'otpauth';
import type { Agent, Reply, TestApp } from '../helpers/harness.js';
import { IDP_SSO_URL, type KeyPair, TestIdp, idpMetadata, makeKeyPair } from '../sso/saml-peer.js';

/**
 * The issue's setting, as a fixture: an organization signing in through a real SAML round trip
 * with a samlify identity provider (Palisade's own AuthnRequest parsed by samlify, responses signed
 * by samlify with the IdP's key), people signing in through it, and SSO enforced the way an admin
 * does it (test login, break-glass owner).
 */
export const PUBLIC = 'http://palisade.test';
export const PERSISTENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';

export interface Person {
  email: string;
  groups: string[];
  /** A persistent NameID (the IdP's stable id for the person); the email is the NameID otherwise. */
  persistentId?: string;
}

export interface Connection {
  id: string;
  saml: { acsUrl: string; spEntityId: string };
}

export class SamlOrg {
  spMetadata = '';
  conn!: Connection;
  totpSecret = '';
  constructor(
    readonly t: TestApp,
    readonly orgId: string,
    public owner: Agent,
    public key: KeyPair,
  ) {}

  static async create(
    t: TestApp,
    name: string,
    ownerEmail: string,
    opts: { mapping?: unknown; metadataUrl?: string; key?: KeyPair } = {},
  ): Promise<SamlOrg> {
    const { orgId, owner } = await t.seedOrg(name, ownerEmail);
    const org = new SamlOrg(t, orgId, owner, opts.key ?? makeKeyPair(`${name.toLowerCase()}-idp`));
    if (opts.mapping)
      assert.equal((await owner.request('PUT', `/api/v1/orgs/${orgId}/role-mapping`, opts.mapping)).status, 200);
    const saml = opts.metadataUrl ? { metadataUrl: opts.metadataUrl } : { metadataXml: idpMetadata([org.key.cert]) };
    const created = await owner.post(`/api/v1/orgs/${orgId}/sso/connections`, {
      protocol: 'saml',
      name: `${name} IdP`,
      saml,
    });
    assert.equal(created.status, 201, created.raw.body);
    org.conn = created.body;
    org.spMetadata = (await t.anonymous().get(`/sso/saml/${org.conn.id}/metadata`)).raw.body;
    return org;
  }

  /** A full SP-initiated sign-in: Palisade's redirect, samlify reading its AuthnRequest, a signed answer posted to the ACS. */
  async signIn(
    person: Person,
    opts: { key?: KeyPair; agent?: Agent; test?: boolean; mutate?: (xml: string) => string } = {},
  ): Promise<{ res: Reply; agent: Agent }> {
    const agent = opts.agent ?? this.t.anonymous();
    const start = await agent.get(`/sso/${this.conn.id}/start${opts.test ? '?test=1' : ''}`);
    assert.equal(start.status, 302, start.raw.body);
    const location = String(start.headers.location);
    assert.ok(location.startsWith(`${IDP_SSO_URL}?SAMLRequest=`), location);
    const idp = new TestIdp(opts.key ?? this.key);
    const requestId = await idp.requestIdFrom(location, this.spMetadata);
    const { samlResponse } = await idp.response(
      this.spMetadata,
      {
        nameId: person.persistentId ?? person.email,
        ...(person.persistentId ? { nameIdFormat: PERSISTENT } : {}),
        attributes: { email: [person.email], groups: person.groups },
        destination: this.conn.saml.acsUrl,
        recipient: this.conn.saml.acsUrl,
        audience: this.conn.saml.spEntityId,
        inResponseTo: requestId,
        // Valid both for node-saml (the real clock) and for Palisade's checks (the test's clock, which tests move on).
        notBefore: new Date(Math.min(Date.now(), this.t.clock.now().getTime()) - 60_000),
        notOnOrAfter: new Date(Math.max(Date.now(), this.t.clock.now().getTime()) + 5 * 60_000),
        // Issued by the test's clock, so the lifetime Palisade measures stays minutes, not the weeks a test moved on.
        issueInstant: this.t.clock.now(),
      },
      opts.mutate,
    );
    const res = await agent.request(
      'POST',
      `/sso/saml/${this.conn.id}/acs`,
      `SAMLResponse=${encodeURIComponent(samlResponse)}`,
      { 'content-type': 'application/x-www-form-urlencoded' },
    );
    if (res.status === 303) await agent.get('/api/v1/auth/session'); // the new session's CSRF token
    return { res, agent };
  }

  /** Signs in and asserts it worked, as whom. */
  async signedIn(person: Person, opts: { key?: KeyPair } = {}): Promise<Agent> {
    const { res, agent } = await this.signIn(person, opts);
    assert.equal(res.status, 303, `${person.email}: ${res.headers['x-sso-error']} ${res.raw.body}`);
    return agent;
  }

  /** Signs in and asserts it was refused with this code; returns the admin's diagnosis from the audit log. */
  async refused(person: Person, code: string, opts: { key?: KeyPair } = {}): Promise<Record<string, any>> {
    const { res } = await this.signIn(person, opts);
    assert.equal(res.headers['x-sso-error'], code, `${person.email}: ${res.status} ${res.raw.body}`);
    const reference = String(res.headers['x-sso-reference']);
    const events = await this.owner.get(`/api/v1/orgs/${this.orgId}/audit-events?target=${reference}`);
    assert.equal(events.body.data.length, 1);
    return events.body.data[0].metadata;
  }

  code(at = this.t.clock.now()): string {
    return new OTPAuth.TOTP({ secret: OTPAuth.Secret.fromBase32(this.totpSecret), digits: 6, period: 30 }).generate({
      timestamp: at.getTime(),
    });
  }

  /** The owner enrolls an authenticator, completes a test login through the IdP, and enforces SSO. */
  async enforce(ownerPerson: Person): Promise<void> {
    const started = await this.owner.post('/api/v1/me/totp');
    assert.equal(started.status, 201, started.raw.body);
    this.totpSecret = started.body.secret;
    assert.equal((await this.owner.post('/api/v1/me/totp/confirm', { code: this.code() })).status, 200);
    const { res } = await this.signIn(ownerPerson, { agent: this.owner, test: true });
    assert.equal(res.status, 303, res.raw.body);
    const enforced = await this.owner.request('PUT', `/api/v1/orgs/${this.orgId}/sso/enforcement`, {
      connectionId: this.conn.id,
    });
    assert.equal(enforced.status, 200, enforced.raw.body);
  }

  async mapping(): Promise<unknown> {
    return (await this.owner.get(`/api/v1/orgs/${this.orgId}/role-mapping`)).body;
  }

  async roleOf(email: string): Promise<string | undefined> {
    const members = await this.owner.get(`/api/v1/orgs/${this.orgId}/members?limit=100`);
    return members.body.data.find((m: { email: string }) => m.email === email)?.role;
  }

  async events(action: string): Promise<any[]> {
    return (await this.owner.get(`/api/v1/orgs/${this.orgId}/audit-events?action=${action}&limit=100`)).body.data;
  }
}

export const emails = (warnings: { email: string }[]) => warnings.map((w) => w.email).sort();
