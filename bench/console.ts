/**
 * The admin console: initial JavaScript (gzip) of the build against the 250 KB budget, and the time
 * until the first page is interactive in Debian's Chromium against a local `palisade serve`, next to
 * the raw limit measured in the same run: the minimal server-rendered sign-in page (/login, one small
 * HTML response with its script inline) in the same browser.
 *   npm run bench console
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { E2E_SKIP, ensureConsoleBuilt, signIn, startConsoleWorld } from '../test/web/harness.js';

const RUNS = Number(process.env.BENCH_CONSOLE_RUNS ?? 7);
const BUDGET_KB = 250;

/** The JavaScript a first visit loads before any page chunk: the entry module and what it preloads. */
export function initialJavaScript(dir = join('dist', 'web')): { files: string[]; raw: number; gzip: number } {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const files = [
    ...html.matchAll(/<script[^>]+src="\/([^"]+\.js)"/g),
    ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/([^"]+\.js)"/g),
  ].map((m) => m[1]!);
  let raw = 0;
  let gzip = 0;
  for (const f of new Set(files)) {
    const body = readFileSync(join(dir, f));
    raw += statSync(join(dir, f)).size;
    gzip += gzipSync(body, { level: 9 }).length;
  }
  return { files, raw, gzip };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeToInteractive(page: Page, url: string, ready: (p: Page) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await page.goto(url, { waitUntil: 'commit' });
  await ready(page);
  return performance.now() - t0;
}

export async function benchConsole(): Promise<void> {
  console.log('\n== admin console (Chromium, local palisade serve, SQLite)');
  ensureConsoleBuilt();
  const js = initialJavaScript();
  console.log(
    `initial JavaScript: ${(js.gzip / 1024).toFixed(1)} KB gzip (${(js.raw / 1024).toFixed(0)} KB raw, ${js.files.length} file(s)); budget ${BUDGET_KB} KB gzip`,
  );
  if (js.gzip > BUDGET_KB * 1024) throw new Error(`the console's initial JavaScript is over budget`);
  if (E2E_SKIP) return;

  const w = await startConsoleWorld();
  try {
    const rawLimit: number[] = [];
    const signInPage: number[] = [];
    const signInWarm: number[] = [];
    const membersPage: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      // A fresh context each run: an empty cache, as on a first visit.
      const a = await w.newPage();
      rawLimit.push(await timeToInteractive(a.page, '/login', (p) => p.getByLabel('Email').waitFor()));
      await a.context.close();
      const b = await w.newPage();
      signInPage.push(
        await timeToInteractive(b.page, '/sign-in', (p) => p.getByRole('button', { name: 'Continue' }).waitFor()),
      );
      // The same browser again: the hashed files come from its cache (served as immutable).
      signInWarm.push(
        await timeToInteractive(b.page, '/sign-in', (p) => p.getByRole('button', { name: 'Continue' }).waitFor()),
      );
      await b.context.close();
      // Signed in: a deep link to the members page until its list and actions are shown.
      const c = await w.newPage();
      await c.page.goto('/sign-in');
      await signIn(c.page);
      await c.page.waitForURL('**/orgs/**');
      const cookies = await c.context.cookies();
      await c.context.close();
      const d = await w.newPage();
      await d.context.addCookies(cookies);
      membersPage.push(
        await timeToInteractive(d.page, `/orgs/${w.orgId}/members`, (p) =>
          p.getByRole('button', { name: 'Invite member' }).waitFor(),
        ),
      );
      await d.context.close();
    }
    const fmt = (xs: number[]) =>
      `median ${median(xs).toFixed(0)} ms (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`;
    console.log(`raw limit, minimal /login page interactive:      ${fmt(rawLimit)}`);
    console.log(`console /sign-in interactive (cold cache):         ${fmt(signInPage)}`);
    console.log(`console /sign-in interactive (warm cache):         ${fmt(signInWarm)}`);
    console.log(`console members page, signed in (cold cache):     ${fmt(membersPage)}`);
    console.log(`(${RUNS} runs each; load average ${(await import('node:os')).loadavg()[0]!.toFixed(2)})`);
  } finally {
    await w.close();
  }
}
