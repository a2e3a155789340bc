import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, describe, test } from 'node:test';
import { dropPostgresSchema } from '../../src/db/connect.js';
import { PG_URL } from '../helpers/db.js';
import { freePort } from '../peers/rsyslog.js';

/**
 * `palisade serve` as an operator runs it: HTTPS without a proxy (TLS 1.2+, HSTS, security headers,
 * certificate reload on SIGHUP without dropping open connections) and `--workers N` (refused on
 * SQLite with the reason; a cluster on PostgreSQL). Real processes, real sockets.
 */
describe('palisade serve: TLS and workers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-serve-'));
  const children: ChildProcess[] = [];
  const schemas: string[] = [];
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const s of schemas) await dropPostgresSchema(PG_URL, s);
    rmSync(dir, { recursive: true, force: true });
  });

  const makeCert = (name: string) => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, `${name}.key`),
        '-out',
        join(dir, `${name}.pem`),
        '-days',
        '2',
        '-subj',
        `/CN=${name}`,
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'pipe' },
    );
    return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  };

  const start = (args: string[], env: Record<string, string>) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', ...args], {
      env: { ...process.env, PALISADE_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
    const listening = new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (/Palisade is listening/.test(output)) {
          clearInterval(timer);
          resolve();
        }
      }, 50);
      child.once('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`serve exited with ${code}: ${output}`));
      });
    });
    return { child, listening, output: () => output };
  };

  /** The certificate a new TLS connection is served, and whether it completed. */
  const peerCert = (port: number, ca: string, opts: { maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' } = {}) =>
    new Promise<{ cn: string } | { error: string }>((resolve) => {
      const s = connect(
        {
          host: '127.0.0.1',
          port,
          ca: readFileSync(ca),
          ...(opts.maxVersion ? { maxVersion: opts.maxVersion, minVersion: 'TLSv1' } : {}),
        },
        () => {
          const cn = String(s.getPeerCertificate().subject?.CN);
          s.end();
          resolve({ cn });
        },
      );
      s.on('error', (e) => resolve({ error: e.message }));
    });

  test('HTTPS with TLS 1.2+, HSTS and security headers; SIGHUP swaps the certificate without dropping open connections', async () => {
    const first = makeCert('first');
    const second = makeCert('second');
    const live = { cert: join(dir, 'live.pem'), key: join(dir, 'live.key') };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    const port = await freePort();
    const srv = start([], {
      DATABASE_URL: `sqlite:${join(dir, 'tls.db')}`,
      PALISADE_PORT: String(port),
      PALISADE_TLS_CERT_FILE: live.cert,
      PALISADE_TLS_KEY_FILE: live.key,
      PALISADE_MASTER_KEY: randomBytes(32).toString('base64'),
    });
    await srv.listening;
    const get = (path: string, ca: string) =>
      new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, ca: readFileSync(ca), agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        });
        req.on('error', reject);
        req.end();
      });
    const res = await get('/api/v1/me', first.cert);
    assert.equal(res.status, 401);
    assert.equal(res.headers['strict-transport-security'], 'max-age=63072000');
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
    const old = await peerCert(port, first.cert, { maxVersion: 'TLSv1.1' });
    assert.ok('error' in old, 'TLS 1.1 is refused');

    // An open connection made before the reload keeps working after it.
    const open = connect({ host: '127.0.0.1', port, ca: readFileSync(first.cert) });
    await new Promise((r) => open.once('secureConnect', r));
    copyFileSync(second.cert, live.cert);
    copyFileSync(second.key, live.key);
    srv.child.kill('SIGHUP');
    for (let i = 0; i < 50 && !/TLS certificate reloaded/.test(srv.output()); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await peerCert(port, second.cert), { cn: 'second' }, 'new connections get the new certificate');
    open.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const answer = await new Promise<string>((resolve) => {
      let body = '';
      open.on('data', (b: Buffer) => (body += b.toString()));
      open.on('end', () => resolve(body));
    });
    assert.match(answer, /^HTTP\/1\.1 200/, 'the connection opened before the reload was not dropped');
    // A broken file keeps the current certificate.
    copyFileSync(first.key, live.cert);
    srv.child.kill('SIGHUP');
    for (let i = 0; i < 50 && !/NOT reloaded/.test(srv.output()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await peerCert(port, second.cert), { cn: 'second' });
    srv.child.kill('SIGTERM');
  });

  test('--workers on SQLite is refused with the reason and what to do', async () => {
    const srv = start(['--workers', '2'], {
      DATABASE_URL: `sqlite:${join(dir, 'w.db')}`,
      PALISADE_PORT: String(await freePort()),
    });
    await assert.rejects(srv.listening, /workers_need_postgres.*palisade db copy/s);
  });

  test('--workers 2 on PostgreSQL: a cluster of two processes answers on one port and stops on SIGTERM', async () => {
    const schema = `srv_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    const pg = await import('pg');
    const admin = new pg.default.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create schema "${schema}"`);
    await admin.end();
    const port = await freePort();
    const srv = start(['--workers', '2'], {
      DATABASE_URL: `${PG_URL}?options=${encodeURIComponent(`-c search_path=${schema}`)}`,
      PALISADE_PORT: String(port),
      PALISADE_MASTER_KEY: randomBytes(32).toString('base64'),
    });
    await srv.listening;
    for (let i = 0; i < 50 && (srv.output().match(/Palisade is listening/g) ?? []).length < 2; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal((srv.output().match(/Palisade is listening/g) ?? []).length, 2, srv.output());
    const workers = execFileSync('pgrep', ['-P', String(srv.child.pid)])
      .toString()
      .trim()
      .split('\n');
    assert.equal(workers.length, 2);
    for (let i = 0; i < 10; i++) assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    const exited = new Promise((r) => srv.child.once('exit', r));
    srv.child.kill('SIGTERM');
    await exited;
  });
});
