import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { recordAudit } from '../../src/audit/record.js';
import { type World, buildWorld, createKey } from './world.js';
import { testAction } from '../helpers/audit-actions.js';

const run = promisify(execFile);

/**
 * The worked example of docs/compliance-api.md, run as written: bash, curl and jq against Palisade
 * listening on loopback. The SIEM's file must end up with every activity of the tree exactly once.
 */
describe('the SIEM example in the docs', () => {
  let w: World;
  let dir: string;
  let base: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    w = await buildWorld();
    await w.t.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(w.t.app.server.address() as AddressInfo).port}`;
    const doc = readFileSync(new URL('../../docs/compliance-api.md', import.meta.url), 'utf8');
    const script = /<!-- siem-example -->\s*```bash\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(script, 'the docs hold the example');
    dir = mkdtempSync(join(tmpdir(), 'palisade-siem-'));
    writeFileSync(join(dir, 'siem-pull.sh'), script);
    chmodSync(join(dir, 'siem-pull.sh'), 0o755);
    const { secret } = await createKey(w.root.owner, w.root.orgId, {
      name: 'SIEM',
      scopes: ['read:compliance_activities'],
      rateLimitPerMinute: 10_000,
    });
    env = { PATH: process.env.PATH, PALISADE_URL: base, PALISADE_COMPLIANCE_KEY: secret };
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await w.close();
  });

  const pull = () => run('bash', ['./siem-pull.sh'], { cwd: dir, env });
  const lines = () =>
    readFileSync(join(dir, 'palisade-activities.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; type: string; created_at: string });
  const stored = async () =>
    (
      await w.t.db.database.db
        .selectFrom('audit_events')
        .select('id')
        .where('org_id', 'in', [w.root.orgId, w.alpha.orgId, w.beta.orgId])
        .execute()
    ).map((r) => r.id);

  test('the first run takes the whole history and writes the cursor; later runs append only what is new, oldest first', async () => {
    await pull();
    const first = lines();
    assert.ok(existsSync(join(dir, 'palisade-activities.cursor')));
    const cursor = readFileSync(join(dir, 'palisade-activities.cursor'), 'utf8').trim();
    assert.equal(cursor, first[0]?.id, 'the cursor is the newest activity');
    const before = await stored();
    // Everything the tree had when the run started is there (the run's own later requests may add their use records).
    assert.ok(before.filter((id) => id <= cursor).every((id) => first.some((l) => l.id === id)));

    // The tree keeps working: 2,500 new events, more than two pages.
    const ctx = {
      ...w.t.system,
      caller: {
        kind: 'user' as const,
        userId: w.ann.userId,
        email: w.ann.email,
        via: 'session' as const,
        credentialId: 'ses_x',
      },
    };
    for (let i = 0; i < 2500; i += 500) {
      w.t.clock.advance(1);
      await w.t.db.database.db.transaction().execute(async (tx) => {
        for (let k = 0; k < 500; k++)
          await recordAudit(tx, ctx, {
            orgId: [w.alpha.orgId, w.beta.orgId][k % 2] as string,
            action: testAction('siem.example_event'),
            metadata: { n: i + k },
          });
      });
    }
    await pull();
    await pull();
    const all = lines();
    const ids = all.map((l) => l.id);
    assert.equal(new Set(ids).size, ids.length, 'no activity written twice');
    const now = await stored();
    const missing = now.filter((id) => !ids.includes(id));
    assert.ok(
      missing.length <= 1,
      `every activity reached the SIEM file (missing ${missing.length}: at most the last request's own use record)`,
    );
    const added = all.slice(first.length).filter((l) => l.type === 'siem.example_event');
    assert.equal(added.length, 2500);
    for (let i = 1; i < added.length; i++) {
      const [a, b] = [added[i - 1], added[i]] as [
        { id: string; created_at: string },
        { id: string; created_at: string },
      ];
      assert.ok(a.created_at < b.created_at || (a.created_at === b.created_at && a.id < b.id), 'appended oldest first');
    }
  });
});
