/**
 * The lockout guard's replay: an organization with N people who signed in recently through a SAML
 * connection (N = 10,000 by default, the figure), a group-to-role mapping, and a SCIM
 * directory with group-driven roles for a tenth of them. Measured: the guard's answer for a mapping
 * change (read everyone's ways in, apply the change, read again, compare), in a transaction that is
 * rolled back, as the impact endpoint does it. The bar: under one second.
 *
 * Beside it, in the same run, the raw limit: the same login rows selected and their stored
 * attributes parsed, with no decision made.
 *
 *   BENCH_LOCKOUT_LOGINS (default 10,000), BENCH_LOCKOUT_RUNS (default 5; the median is printed)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { systemCtx } from '../src/context.js';
import { type Database, dropPostgresSchema, openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { newId } from '../src/ids.js';
import '../src/access-replay/reader.js';
import { previewChange } from '../src/lockout/guard.js';
import { writeRoleMapping } from '../src/orgs/role-mapping.js';
import { putRoleMapping } from '../src/role-mapping/change.js';
import { createOrganization } from '../src/membership/organizations.js';
import { fingerprintOf } from '../src/sso/signing-certificate.js';
import { makeKeyPair } from '../test/sso/saml-peer.js';

const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const N = Number(process.env.BENCH_LOCKOUT_LOGINS ?? 10_000);
const RUNS = Number(process.env.BENCH_LOCKOUT_RUNS ?? 5);
const CHUNK = 500;

async function open(name: 'sqlite' | 'postgres'): Promise<{ database: Database; cleanup: () => Promise<void> }> {
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-lockout-'));
    const database = await openDatabase(`sqlite:${join(dir, 'bench.db')}`);
    return {
      database,
      cleanup: async () => {
        await database.close();
        if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
        else console.log(`kept ${dir}`);
      },
    };
  }
  const schema = `bench_lockout_${Date.now().toString(36)}`;
  const database = await openDatabase(PG_URL, { pgSchema: schema });
  return {
    database,
    cleanup: async () => {
      await database.close();
      await dropPostgresSchema(PG_URL, schema);
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function runDialect(name: 'sqlite' | 'postgres'): Promise<void> {
  const { database, cleanup } = await open(name);
  try {
    await migrateToLatest(database);
    const db = database.db;
    const config = loadConfig(
      {},
      { databaseUrl: 'sqlite::memory:', logLevel: 'silent', publicUrl: 'http://palisade.test' },
    );
    const ctx = systemCtx({ db, clock: systemClock, config }, 'bench');
    const { organization } = await createOrganization(ctx, { name: 'Bench', ownerEmail: 'owner@bench.example' });
    const orgId = organization.id;
    await putRoleMapping(ctx, orgId, {
      requiredPrefix: 'bench-',
      defaultRole: null,
      rules: [
        { group: 'bench-admins', role: 'admin' },
        { group: 'bench-staff', role: 'member' },
      ],
    });
    const cert = makeKeyPair('bench-idp')
      .cert.replace(/-----[^-]+-----/g, '')
      .replace(/\s+/g, '');
    const now = new Date();
    const at = now.toISOString();
    const connId = newId('sso', now);
    await db
      .insertInto('sso_connections')
      .values({
        id: connId,
        org_id: orgId,
        protocol: 'saml',
        name: 'Bench IdP',
        preset: 'custom',
        status: 'active',
        jit_enabled: 1,
        idp_initiated: 0,
        claims: JSON.stringify({ email: 'email', firstName: 'firstName', lastName: 'lastName', groups: 'groups' }),
        oidc_issuer: null,
        oidc_client_id: null,
        oidc_client_secret_ct: null,
        oidc_client_secret_key_version: null,
        saml_idp_entity_id: 'urn:bench:idp',
        saml_idp_sso_url: 'https://idp.bench.example/sso',
        saml_idp_certs: JSON.stringify([cert]),
        saml_allow_sha1: 0,
        oidc_token_auth_method: null,
        saml_metadata_url: null,
        saml_metadata_refreshed_at: null,
        saml_metadata_error: null,
        saml_sign_authn_requests: 0,
        saml_idp_wants_signed_requests: null,
        saml_held_certs: null,
        sp_private_key_ct: null,
        sp_private_key_key_version: null,
        sp_certificate: null,
        last_test_login_at: null,
        last_test_login_by: null,
        created_at: at,
        updated_at: at,
      })
      .execute();
    const fp = fingerprintOf(cert);
    const dirId = newId('scd', now);
    await db
      .insertInto('scim_directories')
      .values({
        id: dirId,
        org_id: orgId,
        name: 'Bench SCIM',
        role_sync: 1,
        status: 'active',
        created_at: at,
        updated_at: at,
      })
      .execute();
    const groupId = newId('scg', now);
    await db
      .insertInto('scim_groups')
      .values({
        id: groupId,
        directory_id: dirId,
        org_id: orgId,
        display_name: 'bench-admins',
        display_key: 'bench-admins',
        external_id: null,
        resource: '{}',
        version: 1,
        created_at: at,
        updated_at: at,
      })
      .execute();

    for (let i = 0; i < N; i += CHUNK) {
      const users = [];
      const members = [];
      const logins = [];
      const links = [];
      const scimUsers = [];
      const groupMembers = [];
      for (let j = i; j < Math.min(N, i + CHUNK); j++) {
        const email = `person${j}@bench.example`;
        const userId = newId('usr', now);
        const admin = j % 10 === 0;
        const groups = [admin ? 'bench-admins' : 'bench-staff', 'everyone', `team-${j % 40}`];
        const subject = `urn:bench:idp|${userId.slice(-12)}`;
        users.push({
          id: userId,
          email,
          display_name: null,
          password_hash: null,
          status: 'active' as const,
          created_at: at,
          updated_at: at,
        });
        members.push({
          id: newId('mem', now),
          org_id: orgId,
          user_id: userId,
          role: admin ? ('admin' as const) : ('member' as const),
          status: 'active' as const,
          invited_by: null,
          created_at: at,
          updated_at: at,
          suspended_at: null,
          suspended_by_directory_id: null,
        });
        const identity = { subject, email, firstName: 'Person', lastName: String(j), groups, stableSubject: true };
        const raw = { email, firstName: 'Person', lastName: String(j), groups, nameID: subject.split('|')[1] };
        logins.push({
          id: newId('ssl', now),
          connection_id: connId,
          org_id: orgId,
          user_id: userId,
          email,
          attributes: JSON.stringify({ identity, raw }),
          role: admin ? ('admin' as const) : ('member' as const),
          purpose: 'login' as const,
          occurred_at: at,
          signing_cert_sha256: fp,
        });
        links.push({
          id: newId('sid', now),
          org_id: orgId,
          connection_id: connId,
          subject,
          user_id: userId,
          created_at: at,
          last_login_at: at,
        });
        if (j % 10 === 0) {
          const su = newId('scu', now);
          scimUsers.push({
            id: su,
            directory_id: dirId,
            org_id: orgId,
            user_id: userId,
            user_name: email,
            user_name_key: email,
            external_id: null,
            active: 1,
            resource: '{}',
            version: 1,
            created_at: at,
            updated_at: at,
          });
          groupMembers.push({ group_id: groupId, scim_user_id: su, directory_id: dirId, created_at: at });
        }
      }
      await db.insertInto('users').values(users).execute();
      await db.insertInto('memberships').values(members).execute();
      await db.insertInto('sso_logins').values(logins).execute();
      await db.insertInto('sso_identities').values(links).execute();
      if (scimUsers.length) {
        await db.insertInto('scim_users').values(scimUsers).execute();
        await db.insertInto('scim_group_members').values(groupMembers).execute();
      }
    }
    // The change: the admins' rule misspelt, so every admin would lose their role (or access).
    const proposal = {
      requiredPrefix: 'bench-',
      defaultRole: 'member' as const,
      rules: [
        { group: 'bench-admnis', role: 'admin' as const },
        { group: 'bench-staff', role: 'member' as const },
      ],
    };
    const times: number[] = [];
    const cpu: number[] = [];
    let warnings = 0;
    for (let r = 0; r < RUNS; r++) {
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      const impact = await previewChange(ctx, orgId, (tx) => writeRoleMapping(tx, orgId, proposal, new Date()));
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      warnings = impact.warnings.length;
      if (impact.checked.ssoSignIns !== N)
        throw new Error(`replayed ${impact.checked.ssoSignIns} sign-ins, expected ${N}`);
    }
    const rawTimes: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const t0 = process.hrtime.bigint();
      const rows = await db
        .selectFrom('sso_logins')
        .select(['id', 'user_id', 'attributes'])
        .where('org_id', '=', orgId)
        .execute();
      let groups = 0;
      for (const row of rows)
        groups += (JSON.parse(row.attributes) as { identity: { groups: string[] } }).identity.groups.length;
      if (!groups) throw new Error('no rows');
      rawTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const guard = median(times);
    // Wall time depends on what else the machine runs: the load average and Palisade's own CPU time are printed beside it.
    console.log(
      `  ${name.padEnd(8)} guard replay of ${N.toLocaleString('en')} sign-ins (+${Math.round(N / 10).toLocaleString('en')} SCIM people, before and after the change): median ${guard.toFixed(0)} ms, best ${Math.min(...times).toFixed(0)} ms ${guard < 1000 ? '< 1 s ✓' : '≥ 1 s ✗'} (Palisade CPU ${median(cpu).toFixed(0)} ms; load average ${loadavg()[0]?.toFixed(1)} on ${availableParallelism()} cores), ${warnings} warnings · raw select + parse once ${median(rawTimes).toFixed(0)} ms`,
    );
  } finally {
    await cleanup();
  }
}

export async function benchLockoutGuard(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  console.log('Lockout guard (replay of recent sign-ins and SCIM roles against a role-mapping change)');
  for (const d of dialects) await runDialect(d);
}
