import { randomBytes } from 'node:crypto';
/**
 * SCIM initial sync, as an identity provider's first push: N users (POST /Users, each after the
 * userName lookup Okta and Entra do first), then G groups (POST /Groups), then N memberships
 * (PATCH add members, 50 per request), all through Palisade's HTTP API with app.inject: token
 * check, filter, uniqueness, user link + membership, role mapping, audit, sync log.
 *
 * Beside it, in the same run: the HTTP layer alone (GET /healthz through app.inject) and bare
 * batched inserts of the same user rows — the ceilings the real path sits under.
 *
 *   BENCH_SCIM_USERS (default 2,000; the issue's figure is 10,000), BENCH_SCIM_GROUPS (default users/50)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { systemCtx } from '../src/context.js';
import { type Database, dropPostgresSchema, openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { newId } from '../src/ids.js';
import { createOrganization } from '../src/membership/organizations.js';
import { putRoleMapping } from '../src/role-mapping/change.js';
import { createDirectory } from '../src/scim/directories.js';

const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const USERS = Number(process.env.BENCH_SCIM_USERS ?? 2_000);
const GROUPS = Number(process.env.BENCH_SCIM_GROUPS ?? Math.max(1, Math.round(USERS / 50)));
const PER_PATCH = 50;
/** Requests in flight at once, as an identity provider's provisioning workers send them (the issue's figure: 4). */
const CONCURRENCY = Math.max(1, Number(process.env.BENCH_SCIM_CONCURRENCY ?? 4));

/** Runs work(0..count-1) with at most CONCURRENCY in flight, in order of index. */
async function inParallel(count: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function open(name: 'sqlite' | 'postgres'): Promise<{ database: Database; cleanup: () => Promise<void> }> {
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-scim-'));
    const database = await openDatabase(`sqlite:${join(dir, 'bench.db')}`);
    return {
      database,
      cleanup: async () => {
        await database.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `bench_scim_${Date.now().toString(36)}`;
  const database = await openDatabase(PG_URL, { pgSchema: schema });
  return {
    database,
    cleanup: async () => {
      await database.close();
      await dropPostgresSchema(PG_URL, schema);
    },
  };
}

async function runDialect(name: 'sqlite' | 'postgres'): Promise<void> {
  const { database, cleanup } = await open(name);
  await migrateToLatest(database);
  // A complete configuration of its own (not the environment's): the database it opened, and a
  // master key, which buildApp needs to start (directory tokens and secrets are sealed with it).
  const config = loadConfig(
    {},
    {
      databaseUrl: name === 'sqlite' ? 'sqlite::memory:' : PG_URL,
      logLevel: 'silent',
      publicUrl: 'http://palisade.bench',
      masterKey: randomBytes(32).toString('base64'),
    },
  );
  const app = await buildApp({ database, config, clock: systemClock });
  const sys = systemCtx({ db: database.db, clock: systemClock, config }, 'bench');
  const { organization } = await createOrganization(sys, { name: 'Bench', ownerEmail: 'owner@bench.example' });
  await putRoleMapping(sys, organization.id, {
    requiredPrefix: 'bench-',
    defaultRole: 'member',
    rules: Array.from({ length: Math.min(GROUPS, 20) }, (_, i) => ({
      group: `bench-g${i}`,
      role: i % 4 === 0 ? 'admin' : 'member',
    })),
  });
  const { directory, token } = await createDirectory(sys, organization.id, { name: 'bench' });
  const base = new URL(directory.baseUrl).pathname;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
  const call = async (method: 'GET' | 'POST' | 'PATCH', url: string, body?: unknown) => {
    const res = await app.inject({
      method,
      url: `${base}${url}`,
      headers,
      ...(body ? { payload: JSON.stringify(body) } : {}),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url} → ${res.statusCode} ${res.body.slice(0, 300)}`);
    return JSON.parse(res.body) as { id: string; totalResults: number };
  };

  const ids: string[] = [];
  const usersTime = await timed(() =>
    inParallel(USERS, async (i) => {
      const userName = `user${i}@bench.example`;
      const found = await call('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
      if (found.totalResults !== 0) throw new Error('unexpected existing user');
      const u = await call('POST', '/Users', {
        schemas: [USER_SCHEMA],
        userName,
        externalId: `ext-${i}`,
        name: { givenName: 'User', familyName: String(i) },
        emails: [{ primary: true, type: 'work', value: userName }],
        active: true,
      });
      ids[i] = u.id;
    }),
  );
  const groupIds: string[] = [];
  const groupsTime = await timed(() =>
    inParallel(GROUPS, async (g) => {
      groupIds[g] = (await call('POST', '/Groups', { displayName: `bench-g${g}`, members: [] })).id;
    }),
  );
  // N memberships spread over the groups, pushed 50 per PATCH as Okta's Group Push does; the
  // PATCHes of one group in order, groups side by side.
  const byGroup: { group: string; members: string[] }[][] = [];
  for (let g = 0; g < GROUPS; g++) {
    const mine = ids.filter((_, i) => i % GROUPS === g);
    const list: { group: string; members: string[] }[] = [];
    for (let k = 0; k < mine.length; k += PER_PATCH)
      list.push({ group: groupIds[g] as string, members: mine.slice(k, k + PER_PATCH) });
    byGroup.push(list);
  }
  const patches = byGroup.reduce((n, list) => n + list.length, 0);
  const membersTime = await timed(() =>
    inParallel(byGroup.length, async (g) => {
      for (const p of byGroup[g] ?? [])
        await call('PATCH', `/Groups/${p.group}`, {
          schemas: [PATCH_OP],
          Operations: [{ op: 'add', path: 'members', value: p.members.map((value) => ({ value })) }],
        });
    }),
  );
  const memberships = Number(
    (
      await database.db
        .selectFrom('scim_group_members')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  const admins = Number(
    (
      await database.db
        .selectFrom('memberships')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', organization.id)
        .where('role', '=', 'admin')
        .executeTakeFirstOrThrow()
    ).n,
  );

  // Ceilings measured in the same run.
  const httpN = Math.min(USERS * 2, 10_000);
  const httpTime = await timed(async () => {
    for (let i = 0; i < httpN; i++) await app.inject({ method: 'GET', url: '/healthz' });
  });
  const rawTime = await timed(async () => {
    const now = new Date();
    for (let i = 0; i < USERS; i += 500) {
      await database.db.transaction().execute(async (tx) => {
        const n = Math.min(500, USERS - i);
        const at = now.toISOString();
        const users = Array.from({ length: n }, (_, k) => ({
          id: newId('usr', now),
          email: `raw${i + k}@bench.example`,
          display_name: null,
          password_hash: null,
          status: 'active' as const,
          created_at: at,
          updated_at: at,
        }));
        await tx.insertInto('users').values(users).execute();
        await tx
          .insertInto('memberships')
          .values(
            users.map((u) => ({
              id: newId('mem', now),
              org_id: organization.id,
              user_id: u.id,
              role: 'member' as const,
              status: 'active' as const,
              invited_by: null,
              created_at: at,
              updated_at: at,
            })),
          )
          .execute();
        await tx
          .insertInto('scim_users')
          .values(
            users.map((u, k) => ({
              id: newId('scu', now),
              directory_id: directory.id,
              org_id: organization.id,
              user_id: u.id,
              user_name: u.email,
              user_name_key: u.email,
              external_id: `raw-${i + k}`,
              active: 1,
              resource: '{}',
              version: 1,
              created_at: at,
              updated_at: at,
            })),
          )
          .execute();
      });
    }
  });
  await app.close();
  await cleanup();

  const r = (n: number, s: number) => Math.round(n / s).toLocaleString();
  console.log(
    `\nSCIM initial sync on ${name} (${USERS.toLocaleString()} users, ${GROUPS} groups, ${memberships.toLocaleString()} memberships in ${patches} PATCHes; ${admins} admins by mapping; ${CONCURRENCY} requests in flight)`,
  );
  console.log(
    `  users (lookup + POST /Users)         : ${r(USERS, usersTime).padStart(9)} users/s   (${usersTime.toFixed(1)} s)`,
  );
  console.log(
    `  groups (POST /Groups)                : ${r(GROUPS, groupsTime).padStart(9)} groups/s  (${groupsTime.toFixed(1)} s)`,
  );
  console.log(
    `  memberships (PATCH, ${PER_PATCH} per request)  : ${r(memberships, membersTime).padStart(9)} members/s (${membersTime.toFixed(1)} s)`,
  );
  console.log(
    `  whole sync                           : ${r(USERS, usersTime + groupsTime + membersTime).padStart(9)} users/s end to end`,
  );
  console.log(`  ceiling: app.inject GET /healthz     : ${r(httpN, httpTime).padStart(9)} requests/s`);
  console.log(
    `  ceiling: bare batched user inserts   : ${r(USERS, rawTime).padStart(9)} users/s (users + memberships + scim_users rows)`,
  );
}

export async function benchScimSync(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  for (const d of dialects) await runDialect(d);
}
