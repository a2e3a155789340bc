import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { palisadeCommand } from '../helpers/cli.js';
import { TEST_DIALECT } from '../helpers/db.js';
import { type Instance, call, ready, startServe } from '../helpers/instances.js';
import { freePort } from '../peers/rsyslog.js';

/**
 * End-to-end tests of the admin console: a real `palisade serve` on a fresh SQLite database, the
 * console as `npm run build` writes it (dist/web), and Debian's Chromium driven by playwright-core.
 * The person signs in and clicks as a person would; results are checked through the API.
 */

/** The console tests need one server and one browser, not a database per dialect. */
export const E2E_SKIP: string | false =
  TEST_DIALECT === 'postgres'
    ? 'the console end-to-end tests run on SQLite only (the API tests cover PostgreSQL)'
    : false;

export const CHROMIUM = '/usr/bin/chromium';
export const OWNER_EMAIL = 'owner@acme.example';
export const OWNER_PASSWORD = 'a long first passphrase';
export const SCREENSHOT_DIR = 'docs/images';

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The tests drive the console as built from the current sources: rebuilt when web/ is newer than dist/web. */
export function ensureConsoleBuilt(): void {
  const index = join('dist', 'web', 'index.html');
  const builtAt = existsSync(index) ? statSync(index).mtimeMs : 0;
  const sources = Math.max(newestMtime(join('web', 'src')), statSync(join('web', 'index.html')).mtimeMs);
  if (builtAt >= sources) return;
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'web/vite.config.ts'], {
    stdio: 'pipe',
  });
}

export interface Problems {
  /** Console errors (CSP violations among them) and uncaught exceptions of the page. */
  list: string[];
}

export interface ConsoleWorld {
  url: string;
  server: Instance;
  browser: Browser;
  env: Record<string, string>;
  /** The first organization, made by `palisade init`, and its primary owner's personal API token. */
  orgId: string;
  ownerToken: string;
  /** A fresh browser profile state (no cookies) with a page that records its errors. */
  newPage(): Promise<{ page: Page; context: BrowserContext; problems: Problems }>;
  /** The API as the primary owner (personal token), to check what the console did. */
  api: ApiCaller;
  close(): Promise<void>;
}

export type ApiCaller = <T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ status: number; body: T }>;

/** The API with a bearer token (no CSRF needed). */
export function apiWithToken(base: string, token: string): ApiCaller {
  return async <T>(method: string, path: string, body?: unknown) => {
    const r = await call(base, method, path, { authorization: `Bearer ${token}` }, body);
    return { status: r.status, body: r.body as T };
  };
}

/** The API as the person signed in in this browser context: its session cookie and CSRF token. */
export async function api(base: string, context: BrowserContext): Promise<ApiCaller> {
  const cookie = (await context.cookies(base)).map((c) => `${c.name}=${c.value}`).join('; ');
  const session = await call(base, 'GET', '/api/v1/auth/session', { cookie });
  assert.equal(session.status, 200, 'the browser context is signed in');
  const csrf = String(session.body.csrfToken);
  return async <T>(method: string, path: string, body?: unknown) => {
    const r = await call(base, method, path, { cookie, 'x-csrf-token': csrf, origin: base }, body);
    return { status: r.status, body: r.body as T };
  };
}

export async function startConsoleWorld(extraEnv: Record<string, string> = {}): Promise<ConsoleWorld> {
  ensureConsoleBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'palisade-console-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    DATABASE_URL: `sqlite:${join(dir, 'palisade.db')}`,
    PALISADE_MASTER_KEY: randomBytes(32).toString('base64'),
    PALISADE_PUBLIC_URL: url,
    PALISADE_PASSWORD_SCRYPT_LOG_N: '10',
    PALISADE_OUTBOUND_ALLOW_CIDRS: '127.0.0.0/8',
    // Invitations are mailed: queued for a mail server that is not there (the discard port), as the
    // API tests do; what the console shows is the API's answer, not the delivery.
    PALISADE_SMTP_URL: 'smtp://127.0.0.1:9',
    PALISADE_SMTP_FROM: 'Palisade <palisade@acme.example>',
    ...extraEnv,
  };
  // The README's first session: init prints the setup link, which sets the first owner's password.
  const [cmd, args] = palisadeCommand('init', '--org', 'Acme', '--email', OWNER_EMAIL);
  const init = execFileSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  const link = /pls_lnk_[A-Za-z0-9_-]+/.exec(init)?.[0];
  assert.ok(link, init);
  const server = startServe(env, port);
  await ready(server);
  const setup = await call(url, 'POST', '/api/v1/auth/setup-password', {}, { token: link, password: OWNER_PASSWORD });
  assert.equal(setup.status, 200, JSON.stringify(setup.body));
  const cookie = String([setup.headers['set-cookie']].flat()[0]).split(';')[0]!;
  const csrf = String(setup.body.csrfToken);
  const made = await call(
    url,
    'POST',
    '/api/v1/me/tokens',
    { cookie, 'x-csrf-token': csrf, origin: url },
    { name: 'console e2e checks' },
  );
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const ownerToken = String(made.body.token);
  const ownerApi = apiWithToken(url, ownerToken);
  const orgs = await ownerApi<{ data: { id: string }[] }>('GET', '/api/v1/orgs');
  const orgId = orgs.body.data[0]!.id;

  // playwright-core starts Chromium with a fresh temporary --user-data-dir of its own each launch.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  const contexts: BrowserContext[] = [];
  return {
    url,
    server,
    browser,
    env,
    orgId,
    ownerToken,
    api: ownerApi,
    async newPage() {
      const context = await browser.newContext({
        baseURL: url,
        viewport: { width: 1280, height: 800 },
        reducedMotion: 'reduce',
      });
      contexts.push(context);
      const page = await context.newPage();
      return { page, context, problems: watch(page) };
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      server.child.kill('SIGTERM');
      await Promise.race([server.exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Records what a person would not see but a broken page shows: CSP violations, console errors, exceptions. */
export function watch(page: Page): Problems {
  const problems: Problems = { list: [] };
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    // A 401 from /api/v1/auth/session is how the console learns no one is signed in, and a refused
    // request is shown on the page; the browser logs both as failed resources.
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(text)) return;
    problems.list.push(`console: ${text}`);
  });
  page.on('pageerror', (err) => problems.list.push(`exception: ${err.message}`));
  return problems;
}

/** Sign in through the console's sign-in page as a person does (email, Continue, password). */
export async function signIn(page: Page, email = OWNER_EMAIL, password = OWNER_PASSWORD): Promise<void> {
  await page.getByLabel(/^Email/).fill(email);
  await page.getByRole('button', { name: 'Continue', exact: true }).click();
  // (Mantine's label of a required field ends with an asterisk.)
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/**
 * axe-core on the page as it is now: fails on any serious or critical violation. The script is
 * evaluated through the DevTools protocol, not added as a <script>, so the page's CSP stays strict.
 */
export async function checkAccessibility(page: Page, what: string): Promise<void> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: AxeViolation[] }> } }
    ).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${String(n.target)}: ${n.failureSummary ?? ''}`),
    }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe-core: serious or critical accessibility violations on ${what}`);
}

/** docs/images/console-<name>.png, for the README and docs (made by the test run, so they stay current). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `console-${name}.png`), fullPage: false });
}

/** Tab through the page and collect what receives focus, to check a control is reachable by keyboard. */
export async function tabUntil(page: Page, matches: (label: string) => boolean, maxTabs = 60): Promise<string> {
  for (let i = 0; i < maxTabs; i++) {
    await page.keyboard.press('Tab');
    const label = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      if (!el) return '';
      return (el.getAttribute('aria-label') ?? el.innerText ?? el.getAttribute('name') ?? '').trim();
    });
    if (matches(label)) return label;
  }
  throw new Error('the control was not reached with the Tab key');
}
