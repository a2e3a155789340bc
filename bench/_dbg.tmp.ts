import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { recordAuditBatch } from '../src/audit/record.js';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { systemCtx } from '../src/context.js';
import { dropPostgresSchema, openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createOrganization } from '../src/orgs/organizations.js';
const PG = 'postgres://postgres@127.0.0.1:5432/test';
const schema = `dbg_${Date.now().toString(36)}`;
const database = await openDatabase(PG, { pgSchema: schema });
try {
await migrateToLatest(database);
const config = loadConfig({}, { masterKey: randomBytes(32).toString('base64') });
const sys = systemCtx({ db: database.db, clock: systemClock, config }, 'b');
const { organization } = await createOrganization(sys, { name: 'D', ownerEmail: 'o@d.example' });
const N = Number(process.env.N ?? 300000);
for (let i = 0; i < N; i += 5000) await database.db.transaction().execute((tx) => recordAuditBatch(tx, sys, Array.from({ length: 5000 }, (_, k) => ({ orgId: organization.id, action: 'member.role_changed', targets: [{ type: 'user', id: `usr_${i + k}`, name: `u${i + k}@x.example` }], metadata: { i: i + k } }))));
for (const after of [10, 150000, 290000]) {
  const q = database.db.selectFrom('audit_events').selectAll().where('org_id', '=', organization.id).where('seq', '>', after).orderBy('seq').limit(2000).compile();
  const plan = await sql.raw(`explain (analyze, buffers) ${q.sql.replace('$1', `'${organization.id}'`).replace('$2', String(after)).replace('$3', '2000')}`).execute(database.db);
  console.log(after, (plan.rows as { 'QUERY PLAN': string }[]).map((r) => r['QUERY PLAN']).join('\n'));
  const t = performance.now(); await database.db.selectFrom('audit_events').selectAll().where('org_id', '=', organization.id).where('seq', '>', after).orderBy('seq').limit(2000).execute(); console.log('via kysely', (performance.now() - t).toFixed(1), 'ms');
}
} finally { await database.close(); await dropPostgresSchema(PG, schema); }
