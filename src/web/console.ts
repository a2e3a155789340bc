import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loginPage } from './pages.js';

/**
 * The admin console: the Vite build of web/ (dist/web, written by `npm run build`), a single-page
 * app. Its own URLs are listed here, not caught by a wildcard, so an unknown /api/… path still
 * answers the API's 404 and the routes of the API and the SSO protocol never meet the console.
 */
export const CONSOLE_PATHS = [
  '/',
  '/sign-in',
  '/orgs',
  '/orgs/*',
  '/account',
  '/account/*',
  // The pages links open (web/src/links/): the paths src/auth/link-tokens.ts and the invitation
  // emails write, so every link mailed or printed by `palisade init` opens the console.
  '/setup',
  '/reset-password',
  '/verify-email',
  '/forgot-password',
  '/invitations',
];

/** dist/web beside the compiled server (dist/src/web/console.js) or under the repository (tsx from src/). */
export function consoleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.includes(`${sep}dist${sep}src${sep}`) ? resolve(here, '../../..') : resolve(here, '../..');
  return join(root, 'dist', 'web');
}

/**
 * The policy of every console page. Scripts only from this origin (no inline script: Vite writes
 * none). Styles: the stylesheet files, and the <style> elements Mantine and react-remove-scroll
 * create at run time, which carry this response's nonce (Vite puts the placeholder on the tags it
 * writes; the app reads it from <meta property="csp-nonce">). Inline `style` attributes are not
 * allowed: React sets styles through the DOM (element.style), which the policy does not govern.
 * data: images are the TOTP QR code.
 */
export function consolePolicy(nonce: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

const NONCE_PLACEHOLDER = /PALISADE_CSP_NONCE/g;

const notBuilt = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Palisade console not built</title></head>
<body><main><h1>The admin console is not built</h1>
<p>This server has no <code>dist/web</code>. Build it with <code>npm run build</code> (the server and the console)
or <code>npm run web:build</code> (the console only), then restart <code>palisade serve</code>.</p>
<p>The API works without it: its reference is at <a href="/docs">/docs</a>, and you can <a href="/login">sign in</a>.
A one-time link (<code>/setup#token=pls_lnk_…</code>, <code>/reset-password#token=…</code>) is redeemed with
<code>POST /api/v1/auth/setup-password</code> and <code>{"token":"pls_lnk_…","password":"…"}</code>, as the README's
first session does.</p></main></body></html>`;

export async function consoleRoutes(app: FastifyInstance, opts: { dir?: string } = {}): Promise<void> {
  const dir = opts.dir ?? consoleDir();
  const indexPath = join(dir, 'index.html');
  const template = existsSync(indexPath) ? readFileSync(indexPath, 'utf8') : undefined;

  if (template) {
    // Hashed file names (index-3f2a….js): a file never changes, so browsers may keep it for a year.
    await app.register(fastifyStatic, {
      root: join(dir, 'assets'),
      prefix: '/assets/',
      decorateReply: false,
      index: false,
      immutable: true,
      maxAge: '365d',
      schemaHide: true,
    });
  }

  const sendConsole = (reply: FastifyReply) => {
    if (!template)
      return reply
        .status(503)
        .type('text/html; charset=utf-8')
        .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'")
        .header('cache-control', 'no-store')
        .send(notBuilt);
    const nonce = randomBytes(16).toString('base64');
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', consolePolicy(nonce))
      .header('cache-control', 'no-store')
      .send(template.replace(NONCE_PLACEHOLDER, nonce));
  };

  for (const path of CONSOLE_PATHS) {
    if (path === '/' || path === '/sign-in') continue;
    app.get(path, { schema: { hide: true } }, async (_req, reply) => sendConsole(reply));
  }

  // Someone not signed in goes to the sign-in page, with what SSO added to the URL (?sso_notice=…),
  // which the page shows; the signed-in get the console, which reads the same query.
  app.get('/', { schema: { hide: true } }, async (request: FastifyRequest, reply) => {
    if (request.ctx.caller.kind === 'anonymous') {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      return reply.redirect(`/sign-in${query}`);
    }
    return sendConsole(reply);
  });

  // Without the console, the minimal sign-in page of src/web/pages.ts stands in.
  app.get('/sign-in', { schema: { hide: true } }, async (_req, reply) =>
    template
      ? sendConsole(reply)
      : reply
          .type('text/html; charset=utf-8')
          .header(
            'content-security-policy',
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'",
          )
          .send(loginPage),
  );
}
