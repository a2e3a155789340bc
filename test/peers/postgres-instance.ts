import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './rsyslog.js';

/**
 * A PRIVATE PostgreSQL 15 server for fault tests: its own cluster (initdb into a temporary
 * directory), run as the `postgres` user on a free loopback port. Tests restart it, crash it, fill
 * its disk: never the shared server on 5432, which other suites use at the same time.
 * Needs root (to run the server as `postgres`) and Debian's postgresql-15.
 */
const BIN = '/usr/lib/postgresql/15/bin';

export interface PostgresInstance {
  port: number;
  dir: string;
  url(database: string): string;
  /** `pg_ctl restart` (fast: ends sessions cleanly; immediate: like a crash, recovery at start). */
  restart(mode: 'fast' | 'immediate'): void;
  sql(database: string, text: string): Promise<pg.QueryResult>;
  stop(): void;
}

function uidOf(user: string): number {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
}

export async function startPostgresInstance(): Promise<PostgresInstance> {
  const uid = uidOf('postgres');
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  const dir = mkdtempSync(join(tmpdir(), 'palisade-pg-'));
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const asPostgres = (cmd: string, args: string[]) =>
    execFileSync(join(BIN, cmd), args, {
      uid,
      gid,
      cwd: dir,
      stdio: 'pipe',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
    });
  asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB -c max_connections=50`;
  const ctl = (...args: string[]) =>
    asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', ...args]);
  ctl('-o', opts, 'start');
  const instance: PostgresInstance = {
    port,
    dir,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    restart(mode) {
      ctl('-m', mode, '-o', opts, 'restart');
    },
    async sql(database, text) {
      const client = new pg.Client({ connectionString: instance.url(database) });
      await client.connect();
      try {
        return await client.query(text);
      } finally {
        await client.end();
      }
    },
    stop() {
      try {
        ctl('-m', 'immediate', 'stop');
      } catch {
        // Already stopped.
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return instance;
}
