import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { PalisadeError } from '../errors.js';

/**
 * The test IdP's pages: the sign-in form (a signed-in admin types who signs in: themself or a new
 * person, ./admin-gate.ts; Palisade's sign-in adds its own limits, src/sso/test-idp-policy.ts), the
 * refusals, and the self-submitting form that carries a SAML response to the service provider.
 */
export interface TestIdentity {
  email: string;
  firstName: string;
  lastName: string;
  groups: string[];
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const BANNER = 'Palisade test identity provider — not for production';

/** Reads what the person typed; the address must look like one (Palisade's sign-in checks the rest). */
export function identityFromForm(body: Record<string, unknown>): TestIdentity {
  const text = (k: string, max: number) =>
    typeof body[k] === 'string' ? (body[k] as string).trim().slice(0, max) : '';
  const email = text('email', 254);
  if (!/^[^\s@<>"']+@[^\s@<>"']+\.[^\s@<>"']+$/.test(email))
    throw new PalisadeError(
      400,
      'test_idp_request_invalid',
      'Type an email address (name@example.com) into the test identity provider form.',
    );
  const groups = text('groups', 2000)
    .split(',')
    .map((g) => g.trim())
    .filter(Boolean)
    .slice(0, 50);
  return { email, firstName: text('firstName', 100), lastName: text('lastName', 100), groups };
}

/**
 * A page of the test IdP. Its referrer policy is same-origin (the app's no-referrer would make the
 * browser send `Origin: null` with the form's answer, which ./admin-gate.ts checks is Palisade's).
 */
function page(reply: FastifyReply, title: string, body: string, nonce: string, formAction: string) {
  return reply
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header(
      'content-security-policy',
      `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
    )
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><meta name="referrer" content="same-origin"><title>${esc(title)}</title>` +
        `<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}.banner{background:#fff3bf;border:2px solid #e67700;padding:.75rem;font-weight:600}label{display:block;margin-top:.75rem}input{width:100%;padding:.4rem;box-sizing:border-box}button{margin-top:1rem;padding:.5rem 1rem}</style></head>` +
        `<body><p class="banner" role="note">${esc(BANNER)}</p>${body}</body></html>`,
    );
}

/** The sign-in form: hidden fields carry the request being answered back to the test IdP. */
export function loginForm(
  reply: FastifyReply,
  p: {
    action: string;
    hidden: Record<string, string>;
    prefill: TestIdentity;
    protocol: 'SAML' | 'OpenID Connect';
    origin: string;
    /** The signed-in admin the form answers for, and the organization. */
    admin: { email: string; orgName: string };
  },
) {
  const hidden = Object.entries(p.hidden)
    .map(([k, v]) => `<input type="hidden" name="${esc(k)}" value="${esc(v)}">`)
    .join('');
  const field = (name: string, label: string, value: string, type = 'text') =>
    `<label for="${name}">${esc(label)}</label><input id="${name}" name="${name}" type="${type}" value="${esc(value)}"${name === 'email' ? ' required autocomplete="off"' : ''}>`;
  return page(
    reply,
    `Sign in — ${BANNER}`,
    `<h1>Test sign-in (${p.protocol})</h1><p>Signed in to Palisade as ${esc(p.admin.email)}, an admin of ${esc(p.admin.orgName)}. Sign in as yourself, or type a new address at a domain ${esc(p.admin.orgName)} verified to try a new person (created on first sign-in). Other people's accounts are refused.</p>` +
      `<form method="post" action="${esc(p.action)}">${hidden}` +
      field('email', 'Email', p.prefill.email, 'email') +
      field('firstName', 'First name', p.prefill.firstName) +
      field('lastName', 'Last name', p.prefill.lastName) +
      field('groups', 'Groups (comma-separated)', p.prefill.groups.join(', ')) +
      `<button type="submit">Sign in</button></form>`,
    randomBytes(16).toString('base64'),
    `'self' ${p.origin}`,
  );
}

/**
 * A refusal of the test IdP's form, as a page (the person is in a browser): what to do, and for a
 * missing or wrong session a link to Palisade's sign-in that comes back here (`returnTo`, a path on
 * Palisade). `x-test-idp-error` names the code, as `x-sso-error` does for sign-in refusals.
 */
export function refusalPage(reply: FastifyReply, err: PalisadeError, returnTo: string | null) {
  const signIn =
    err.code === 'test_idp_sign_in_required' || err.code === 'test_idp_admin_required'
      ? `/sign-in${returnTo ? `?next=${encodeURIComponent(returnTo)}` : ''}`
      : null;
  return page(
    reply.status(err.status).header('x-test-idp-error', err.code),
    'Test sign-in refused',
    `<h1>${err.code === 'test_idp_sign_in_required' ? 'Sign in to Palisade first' : 'Test sign-in refused'}</h1><p>${esc(err.message)}</p>` +
      (signIn ? `<p><a id="sign-in" href="${esc(signIn)}">Sign in to Palisade</a></p>` : '') +
      `<p><small>${esc(err.code)}</small></p>`,
    randomBytes(16).toString('base64'),
    "'none'",
  );
}

/** The HTTP-POST binding: a form the browser submits to the service provider's ACS URL. */
export function postToAcs(reply: FastifyReply, p: { acsUrl: string; samlResponse: string; relayState: string | null }) {
  const nonce = randomBytes(16).toString('base64');
  const origin = new URL(p.acsUrl).origin;
  return page(
    reply,
    'Signing in…',
    `<form id="acs" method="post" action="${esc(p.acsUrl)}"><input type="hidden" name="SAMLResponse" value="${esc(p.samlResponse)}">` +
      (p.relayState !== null ? `<input type="hidden" name="RelayState" value="${esc(p.relayState)}">` : '') +
      `<noscript><button type="submit">Continue to Palisade</button></noscript></form>` +
      `<script nonce="${nonce}">document.getElementById('acs').submit()</script>`,
    nonce,
    origin,
  );
}

/** The sign-in form's prefill: the signed-in admin themself (the other choice is a new address). */
export const prefill = (admin: { email: string }): TestIdentity => ({
  email: admin.email,
  firstName: '',
  lastName: '',
  groups: [],
});

/** An HTML page as a route's response (OpenAPI). */
export const htmlResponse = (description: string) => ({
  description,
  content: { 'text/html': { schema: Type.String({ description: 'An HTML page.' }) } },
});

/** The refusals of the form (./admin-gate.ts), as pages: no admin session, not an admin, bad token, another person's account. */
export const refusalResponses = {
  401: htmlResponse(
    'Not signed in to Palisade (test_idp_sign_in_required): a page with a link to sign in and come back.',
  ),
  403: htmlResponse(
    'Refused (test_idp_admin_required, test_idp_form_token_invalid, test_idp_impersonation_refused, origin_not_allowed).',
  ),
};
