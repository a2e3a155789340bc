import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ParsedMail, simpleParser } from 'mailparser';
import { freePort } from './rsyslog.js';

/**
 * A REAL mail server: Debian's OpenSMTPD (`smtpd -d`) on a free loopback port, delivering every
 * recipient into one Maildir, read back with mailparser. Stopping it is an MTA outage.
 *
 * OpenSMTPD keeps its queue in one system-wide spool, so two instances must not run at once on a
 * machine: a lock directory serializes them across test processes.
 */
export interface SmtpPeer {
  url: string;
  port: number;
  messages(): Promise<ParsedMail[]>;
  waitFor(n: number, timeoutMs?: number): Promise<ParsedMail[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

const LOCK = join(tmpdir(), 'palisade-opensmtpd.lock');

async function acquireLock(): Promise<void> {
  const until = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      return;
    } catch {
      // A holder that died leaves its lock: take it over.
      const pid = Number(existsSync(join(LOCK, 'pid')) ? readFileSync(join(LOCK, 'pid'), 'utf8') : '0');
      let alive = false;
      try {
        if (pid) process.kill(pid, 0);
        alive = pid > 0;
      } catch {
        alive = false;
      }
      if (!alive) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > until) throw new Error('another test holds the OpenSMTPD lock for over 2 minutes');
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
}

async function listening(port: number, want: boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up === want) return;
    if (Date.now() > until) throw new Error(`OpenSMTPD on port ${port} did not ${want ? 'start' : 'stop'}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startSmtpPeer(): Promise<SmtpPeer> {
  if (!existsSync('/usr/sbin/smtpd'))
    throw new Error('OpenSMTPD is not installed: scripts/test.sh installs the Debian package opensmtpd');
  await acquireLock();
  const dir = mkdtempSync(join(tmpdir(), 'palisade-smtpd-'));
  const maildir = join(dir, 'Maildir');
  mkdirSync(join(maildir, 'new'), { recursive: true });
  for (const d of [dir, maildir, join(maildir, 'new')]) chownSync(d, 65534, 65534);
  const port = await freePort();
  const conf = join(dir, 'smtpd.conf');
  writeFileSync(
    conf,
    `table catchall { "@" = "nobody" }\nlisten on 127.0.0.1 port ${port}\naction "box" maildir "${maildir}" virtual <catchall>\nmatch from any for any action "box"\n`,
  );
  execFileSync('smtpd', ['-n', '-f', conf], { stdio: 'pipe' });
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('smtpd', ['-d', '-f', conf], { stdio: 'ignore' });
    await listening(port, true);
  };
  const stop = async () => {
    if (!child) return;
    const c = child;
    child = undefined;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
    await listening(port, false);
  };
  const messages = async (): Promise<ParsedMail[]> => {
    const files = readdirSync(join(maildir, 'new')).sort();
    return Promise.all(files.map((f) => simpleParser(readFileSync(join(maildir, 'new', f)))));
  };
  await start();
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    async waitFor(n, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const m = await messages();
        if (m.length >= n) return m;
        if (Date.now() > until) throw new Error(`expected ${n} message(s) in the Maildir, found ${m.length}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop,
    start,
    async cleanup() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(LOCK, { recursive: true, force: true });
    },
  };
}
