import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A REAL rsyslog (Debian's rsyslogd) as a foreground process on a free loopback port: imtcp with
 * octet-counted framing (RFC 6587), optionally TLS through the gtls driver (RFC 5425) with a test CA
 * made by openssl. Received messages go to a file through a template that keeps MSGID, the parsed
 * structured data and the message.
 */
export interface SyslogRecord {
  msgid: string;
  structuredData: string;
  /** The structured data as rsyslog's mmpstrucdata parsed it (names lower-cased). */
  sd: Record<string, Record<string, string>>;
  msg: string;
  pri: string;
  version: string;
}

export interface RsyslogPeer {
  port: number;
  /** The file rsyslog writes each received message to (through the template). */
  outFile: string;
  /** PEM of the test CA that signed the receiver's certificate (TLS mode). */
  caPem: string | null;
  records(): SyslogRecord[];
  waitFor(n: number, timeoutMs?: number): Promise<SyslogRecord[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
  cleanup(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function makeCa(dir: string): void {
  const o = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  o(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca-key.pem',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Palisade Test CA',
  );
  o('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'req.pem', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  o(
    'x509',
    '-req',
    '-in',
    'req.pem',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca-key.pem',
    '-CAcreateserial',
    '-out',
    'cert.pem',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  );
}

async function waitListening(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`rsyslogd did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * `template`: an rsyslog template string for each received message instead of the default record
 * (the drain benchmark writes only the event's seq and the redelivery mark, to keep the file small).
 */
export async function startRsyslog(opts: { tls?: boolean; template?: string } = {}): Promise<RsyslogPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-rsyslog-'));
  const port = await freePort();
  const out = join(dir, 'out.log');
  if (opts.tls) makeCa(dir);
  const tlsGlobal = opts.tls
    ? `global(DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="${dir}/ca.pem" DefaultNetstreamDriverCertFile="${dir}/cert.pem" DefaultNetstreamDriverKeyFile="${dir}/key.pem")\n`
    : '';
  const tlsModule = opts.tls ? ' StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon"' : '';
  writeFileSync(
    join(dir, 'rsyslog.conf'),
    `global(workDirectory="${dir}")\n${tlsGlobal}module(load="imtcp"${tlsModule})\nmodule(load="mmpstrucdata")\n` +
      `input(type="imtcp" port="${port}" address="127.0.0.1" ruleset="palisade")\n` +
      `template(name="rec" type="string" string="${opts.template ?? '%pri%\\t%protocol-version%\\t%msgid%\\t%structured-data%\\t%$!rfc5424-sd%\\t%msg%\\n'}")\n` +
      `ruleset(name="palisade") { action(type="mmpstrucdata") action(type="omfile" file="${out}" template="rec") }\n`,
  );
  let proc: ChildProcess | undefined;
  const peer: RsyslogPeer = {
    outFile: out,
    port,
    caPem: opts.tls ? readFileSync(join(dir, 'ca.pem'), 'utf8') : null,
    async start() {
      proc = spawn('rsyslogd', ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], {
        stdio: 'ignore',
      });
      await waitListening(port);
    },
    async stop() {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGTERM');
      });
    },
    records() {
      if (!existsSync(out)) return [];
      return readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          const [pri = '', version = '', msgid = '', structuredData = '', sd = '{}', ...rest] = line.split('\t');
          return {
            pri,
            version,
            msgid,
            structuredData,
            sd: JSON.parse(sd) as SyslogRecord['sd'],
            msg: rest.join('\t').replace(/^\uFEFF/, ''),
          };
        });
    },
    async waitFor(n, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const r = peer.records();
        if (r.length >= n || Date.now() > until) return r;
        await new Promise((res) => setTimeout(res, 50));
      }
    },
    async cleanup() {
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await peer.start();
  return peer;
}
