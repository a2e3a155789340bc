import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import pg from 'pg';
import { palisadeCommand } from './cli.js';
import { PG_URL } from './db.js';
import type { ModelUpstream } from './model-upstream.js';

/**
 * Real `palisade serve` processes for the scale-out test and the mixed-load benchmark: started from
 * the compiled CLI when it is fresh (see cli.ts), provisioned over HTTP as an operator would.
 */
export interface Instance {
  child: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Every process started here, so a test's `after` can kill what is left. */
export const children: ChildProcess[] = [];

export function startServe(env: Record<string, string>, port: number, args: string[] = []): Instance {
  const [cmd, cmdArgs] = palisadeCommand('serve', ...args);
  const child = spawn(cmd, cmdArgs, {
    env: { ...process.env, ...env, PALISADE_PORT: String(port), PALISADE_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, port, url: `http://127.0.0.1:${port}`, output: () => output, exited };
}

export async function waitFor(
  what: string | (() => string),
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
}

export const ready = (i: Instance) =>
  waitFor(`${i.url} to listen`, () => /Palisade is listening/.test(i.output()), 120_000);

/** One request on a connection of its own (no keep-alive), so a dead instance shows as a failed request. */
export function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        agent: false,
        headers: { ...headers, ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            parsed = { text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A fresh schema with a first organization, its owner's personal token and a gateway key. */
export async function provision(env: Record<string, string>, base: string, upstream: ModelUpstream) {
  const [cmd, args] = palisadeCommand('init', '--org', 'Scale Co', '--email', 'owner@scale.example');
  const init = execFileSync(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
  const link = /pls_lnk_[A-Za-z0-9_-]+/.exec(init)?.[0];
  assert.ok(link, init);
  const setup = await fetch(`${base}/api/v1/auth/setup-password`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: link, password: 'a long first passphrase' }),
  });
  assert.equal(setup.status, 200, await setup.clone().text());
  const cookie = setup.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
  const session = (await (await fetch(`${base}/api/v1/auth/session`, { headers: { cookie } })).json()) as {
    csrfToken: string;
  };
  const made = await fetch(`${base}/api/v1/me/tokens`, {
    method: 'POST',
    headers: { cookie, 'x-csrf-token': session.csrfToken, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'scale test' }),
  });
  const pat = ((await made.json()) as { token: string }).token;
  const auth = { authorization: `Bearer ${pat}` };
  const orgs = await call(base, 'GET', '/api/v1/orgs', auth);
  const orgId = String((orgs.body.data as { id: string }[])[0]?.id);
  assert.equal(
    (
      await call(base, 'PUT', `/api/v1/orgs/${orgId}/gateway/upstream`, auth, {
        name: 'loopback',
        kind: 'anthropic',
        baseUrl: upstream.url,
        apiKey: 'sk-up',
      })
    ).status,
    200,
  );
  const key = await call(base, 'POST', `/api/v1/orgs/${orgId}/gateway/keys`, auth, { name: 'load' });
  assert.equal(key.status, 201, JSON.stringify(key.body));
  return {
    orgId,
    auth,
    gatewayKey: String(key.body.key),
    gatewayKeyId: String((key.body.gatewayKey as { id: string }).id),
  };
}

export const message = (model = 'claude-test', text = 'hello') => ({
  model,
  max_tokens: 5,
  messages: [{ role: 'user', content: text }],
});

export async function newSchema(): Promise<{ schema: string; url: string }> {
  const schema = `scale_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema "${schema}"`);
  await admin.end();
  return { schema, url: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}` };
}
