import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';

export const DNSMASQ = '/usr/sbin/dnsmasq';

async function freePort(): Promise<number> {
  // A port free for both UDP and TCP: dnsmasq listens on both.
  for (;;) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const port = udp.address().port;
    const tcp = net.createServer();
    const ok = await new Promise<boolean>((r) => {
      tcp.once('error', () => r(false));
      tcp.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) await new Promise((r) => tcp.close(r));
    await new Promise<void>((r) => udp.close(() => r()));
    if (ok) return port;
  }
}

/**
 * A real dnsmasq on a free loopback port serving the records a test gives it, in dnsmasq's own
 * configuration syntax (`txt-record=name,"a","b"`, `cname=alias,target`, `host-record=name,1.2.3.4`).
 * Names under `.test` it does not know answer NXDOMAIN; names outside `.test` answer REFUSED.
 */
export class Dnsmasq {
  private proc: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'palisade-dnsmasq-'));
  port = 0;
  private log = '';

  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** (Re)starts dnsmasq with exactly these records; resolves once it answers. */
  async serve(lines: string[]): Promise<void> {
    await this.stop();
    const conf = join(this.dir, 'dnsmasq.conf');
    writeFileSync(conf, [...lines, 'txt-record=ready.palisade.test,"ready"', ''].join('\n'));
    for (let attempt = 0; attempt < 5; attempt++) {
      if (!this.port || attempt > 0) this.port = await freePort();
      this.log = '';
      const proc = spawn(
        DNSMASQ,
        [
          '-k',
          `--port=${this.port}`,
          '--listen-address=127.0.0.1',
          '--bind-interfaces',
          '--no-resolv',
          '--no-hosts',
          '--pid-file=',
          '--local=/test/',
          `--conf-file=${conf}`,
          '--log-facility=-',
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      proc.stdout?.on('data', (b: Buffer) => (this.log += b.toString()));
      proc.stderr?.on('data', (b: Buffer) => (this.log += b.toString()));
      this.proc = proc;
      if (await this.ready(proc)) return;
      await this.stop();
    }
    throw new Error(`dnsmasq did not start: ${this.log}`);
  }

  private async ready(proc: ChildProcess): Promise<boolean> {
    const r = new Resolver({ timeout: 200, tries: 1 });
    r.setServers([this.server]);
    for (let i = 0; i < 50; i++) {
      if (proc.exitCode !== null) return false;
      try {
        await r.resolveTxt('ready.palisade.test');
        return true;
      } catch {
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    return false;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGTERM');
    });
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A UDP socket that reads queries and never answers: what a dead or filtered resolver looks like. */
export async function silentResolver(): Promise<{ server: string; close(): Promise<void> }> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', () => undefined);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { server: `127.0.0.1:${sock.address().port}`, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

/**
 * FAKE (hand-written, labelled as such): answers every query with RCODE 2 (SERVFAIL). dnsmasq only
 * produces SERVFAIL in situations (DNSSEC failures, upstream errors) a loopback test cannot stage
 * reliably; the REFUSED case of the same diagnosis is covered by the real dnsmasq.
 */
export async function servfailResolver(): Promise<{ server: string; close(): Promise<void> }> {
  const sock = dgram.createSocket('udp4');
  sock.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    const reply = Buffer.from(msg);
    reply[2] = 0x80 | (msg[2]! & 0x79); // QR=1, keep opcode and RD
    reply[3] = 0x80 | 0x02; // RA=1, RCODE=SERVFAIL
    reply.writeUInt16BE(0, 6); // no answers
    reply.writeUInt16BE(0, 8);
    reply.writeUInt16BE(0, 10);
    // Keep only the header and the question section.
    let i = 12;
    while (i < msg.length && msg[i] !== 0) i += msg[i]! + 1;
    sock.send(reply.subarray(0, Math.min(msg.length, i + 5)), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return { server: `127.0.0.1:${sock.address().port}`, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

export const KNOTD = '/usr/sbin/knotd';

/**
 * A real authoritative server (Knot DNS) serving zone files written by the test, on a free loopback
 * port. Authoritative-only: it answers for its zones, does not chase a CNAME into another zone (the
 * answer holds only the CNAME), and refuses names outside its zones.
 */
export class Knot {
  private proc: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), 'palisade-knot-'));
  port = 0;
  private log = '';

  get server(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** (Re)starts knotd with exactly these zones: origin → zone file body (records relative to the origin). */
  async serve(zones: Record<string, string>): Promise<void> {
    await this.stop();
    const zoneConf: string[] = [];
    for (const [origin, body] of Object.entries(zones)) {
      const file = join(this.dir, `${origin}.zone`);
      writeFileSync(
        file,
        `$ORIGIN ${origin}.\n$TTL 300\n@ SOA ns.${origin}. admin.${origin}. 1 3600 600 86400 300\n@ NS ns.${origin}.\nns A 127.0.0.1\n${body}\n`,
      );
      zoneConf.push(`  - domain: ${origin}\n    file: "${file}"`);
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      if (!this.port || attempt > 0) this.port = await freePort();
      const conf = join(this.dir, 'knot.conf');
      writeFileSync(
        conf,
        [
          `server:`,
          `    rundir: "${this.dir}"`,
          `    listen: 127.0.0.1@${this.port}`,
          `log:`,
          `  - target: stderr`,
          `    any: warning`,
          `database:`,
          `    storage: "${this.dir}"`,
          `template:`,
          `  - id: default`,
          `    storage: "${this.dir}"`,
          `    semantic-checks: off`,
          `zone:`,
          ...zoneConf,
          '',
        ].join('\n'),
      );
      this.log = '';
      const proc = spawn(KNOTD, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
      proc.stdout?.on('data', (b: Buffer) => (this.log += b.toString()));
      proc.stderr?.on('data', (b: Buffer) => (this.log += b.toString()));
      this.proc = proc;
      if (await this.ready(proc, Object.keys(zones)[0] as string)) return;
      await this.stop();
    }
    throw new Error(`knotd did not start: ${this.log}`);
  }

  private async ready(proc: ChildProcess, zone: string): Promise<boolean> {
    const r = new Resolver({ timeout: 200, tries: 1 });
    r.setServers([this.server]);
    for (let i = 0; i < 50; i++) {
      if (proc.exitCode !== null) return false;
      try {
        await r.resolveSoa(zone);
        return true;
      } catch {
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    return false;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGTERM');
    });
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A UDP socket that never answers and counts the queries it got: a dead resolver that shows whether it is still asked. */
export async function countingSilentResolver(): Promise<{
  server: string;
  queries: () => number;
  close(): Promise<void>;
}> {
  const sock = dgram.createSocket('udp4');
  let n = 0;
  sock.on('message', () => void n++);
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  return {
    server: `127.0.0.1:${sock.address().port}`,
    queries: () => n,
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
}
