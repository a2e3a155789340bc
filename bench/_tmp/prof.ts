import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordAuditBatch } from '../../src/audit/record.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
const database = await openDatabase(`sqlite:${join(mkdtempSync(join(tmpdir(), 'p-')), 'b.db')}`);
await migrateToLatest(database);
const ctx = { db: database.db, clock: systemClock, config: loadConfig({}), caller: { kind: 'user' as const, userId: 'usr_bench', email: 'admin@bench.example', via: 'session' as const, credentialId: 'ses' }, meta: { requestId: 'req_bench', ip: '127.0.0.1', userAgent: 'bench' } };
const N = 50000;
const t0 = Date.now();
for (let i = 0; i < N; i += 1000) {
  const inputs = Array.from({ length: 1000 }, (_, k) => ({ orgId: 'org_b', action: 'member.role_changed', targets: [{ type: 'user', id: `usr_${String(i + k).padStart(26, '0')}`, name: `user${i + k}@bench.example` }], metadata: { from: 'member', to: 'admin', i: i + k } }));
  await database.db.transaction().execute((tx) => recordAuditBatch(tx, ctx, inputs));
}
console.log(Math.round(N / ((Date.now() - t0) / 1000)), 'events/s');
await database.close();
