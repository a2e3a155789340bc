/**
 * Crypto-erasure costs: what a key per conversation costs against sealing everything under the
 * organization's data key (the design before content keys), on writes, reads and the purge, and
 * what SQLite's secure_delete and the truncating WAL checkpoint add to a purge. Prints Palisade
 * beside the data-key-only baseline measured in the same run.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { systemCtx } from '../src/context.js';
import {
  createContentKey,
  destroyContentKeys,
  openRecordText,
  sealWithContentKey,
} from '../src/crypto/content-keys.js';
import { flushErasedPages } from '../src/db/wal.js';
import { openText, sealFor } from '../src/crypto/data-keys.js';
import { type Database, dropPostgresSchema, openDatabase, sqliteHandleOf } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { newId } from '../src/ids.js';
import { createOrganization } from '../src/membership/organizations.js';

const PG_URL = process.env.PALISADE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const N = Number(process.env.BENCH_CONTENT_KEY_CONVERSATIONS ?? 2000);
const PROMPT = 'Summarise the quarterly figures for the board, keeping every number. '.repeat(6);

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function openDb(dialect: 'sqlite' | 'postgres'): Promise<{ database: Database; cleanup: () => Promise<void> }> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-ck-'));
    const database = await openDatabase(`sqlite:${join(dir, 'bench.db')}`);
    return {
      database,
      cleanup: async () => {
        await database.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = `bench_ck_${randomBytes(4).toString('hex')}`;
  const database = await openDatabase(PG_URL, { pgSchema: schema, pgPoolSize: 4 });
  return {
    database,
    cleanup: async () => {
      await database.close();
      await dropPostgresSchema(PG_URL, schema);
    },
  };
}

async function runDialect(dialect: 'sqlite' | 'postgres'): Promise<void> {
  const { database, cleanup } = await openDb(dialect);
  await migrateToLatest(database);
  const db = database.db;
  const config = loadConfig(
    {},
    { databaseUrl: 'sqlite::memory:', logLevel: 'silent', masterKey: randomBytes(32).toString('base64') },
  );
  try {
    const sys = systemCtx({ db, clock: systemClock, config }, 'bench');
    const { organization } = await createOrganization(sys, { name: 'Bench', ownerEmail: 'owner@bench.example' });
    const orgId = organization.id;
    const user = await db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'owner@bench.example')
      .executeTakeFirstOrThrow();

    /** One conversation with a title and two messages, in one transaction, sealed either way. */
    const write = async (perConversationKey: boolean) => {
      const now = new Date();
      const at = now.toISOString();
      const id = newId('cnv', now);
      await db.transaction().execute(async (tx) => {
        const key = perConversationKey ? await createContentKey(tx, config, now, orgId) : null;
        const title = key
          ? {
              ct: sealWithContentKey(
                key,
                { orgId, table: 'workspace_conversations', recordId: id },
                'Quarterly figures',
              ),
              keyVersion: key.dkVersion,
            }
          : await sealFor(
              tx,
              config,
              now,
              { orgId, table: 'workspace_conversations', recordId: id },
              'Quarterly figures',
            );
        await tx
          .insertInto('workspace_conversations')
          .values({
            id,
            org_id: orgId,
            user_id: user.id,
            source: 'workspace',
            title_ct: title.ct,
            key_version: title.keyVersion,
            content_key_id: key?.id ?? null,
            retention_days: null,
            created_at: at,
            updated_at: at,
            last_message_at: at,
          })
          .execute();
        for (const role of ['user', 'assistant'] as const) {
          const mid = newId('msg', now);
          const ref = { orgId, table: 'workspace_messages', recordId: mid };
          const s = key
            ? { ct: sealWithContentKey(key, ref, PROMPT), keyVersion: key.dkVersion }
            : await sealFor(tx, config, now, ref, PROMPT);
          await tx
            .insertInto('workspace_messages')
            .values({
              id: mid,
              org_id: orgId,
              conversation_id: id,
              role,
              content_ct: s.ct,
              key_version: s.keyVersion,
              content_key_id: key?.id ?? null,
              size_bytes: PROMPT.length,
              model: null,
              input_tokens: null,
              output_tokens: null,
              created_at: at,
            })
            .execute();
        }
      });
      return id;
    };

    const results: Record<string, { writeMs: number; readMs: number }> = {};
    const ids: Record<string, string[]> = { dataKey: [], contentKey: [] };
    for (const mode of ['dataKey', 'contentKey'] as const) {
      for (let i = 0; i < 50; i++) await write(mode === 'contentKey'); // warm-up
      let t0 = process.hrtime.bigint();
      for (let i = 0; i < N; i++) ids[mode]?.push(await write(mode === 'contentKey'));
      const writeMs = ms(t0);
      // Reading every message of every conversation back (the conversation view's work).
      t0 = process.hrtime.bigint();
      for (const id of ids[mode] as string[]) {
        const msgs = await db.selectFrom('workspace_messages').selectAll().where('conversation_id', '=', id).execute();
        const keys = new Map();
        for (const m of msgs) {
          const ref = { orgId, table: 'workspace_messages', recordId: m.id };
          if (m.content_key_id)
            await openRecordText(
              db,
              config,
              ref,
              { ct: m.content_ct, keyVersion: Number(m.key_version), contentKeyId: m.content_key_id },
              keys,
            );
          else await openText(db, config, ref, m.content_ct, Number(m.key_version));
        }
      }
      results[mode] = { writeMs, readMs: ms(t0) };
    }
    const per = (x: number) => ((x * 1000) / N).toFixed(0).padStart(5);
    const dk = results.dataKey as { writeMs: number; readMs: number };
    const ck = results.contentKey as { writeMs: number; readMs: number };
    console.log(
      `content keys ${dialect.padEnd(8)} write conversation (title + 2 messages): data key only ${per(dk.writeMs)} µs | key per conversation ${per(ck.writeMs)} µs (+${(((ck.writeMs - dk.writeMs) * 1000) / N).toFixed(0)} µs)` +
        ` · read back: ${per(dk.readMs)} µs | ${per(ck.readMs)} µs`,
    );

    // Purge: delete conversations with their messages and keys, batch of 500 per transaction, then flush.
    const purge = async (list: string[]) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < list.length; i += 500) {
        const batch = list.slice(i, i + 500);
        await db.transaction().execute(async (tx) => {
          const keyIds = (
            await tx.selectFrom('workspace_conversations').select('content_key_id').where('id', 'in', batch).execute()
          ).map((r) => r.content_key_id);
          await tx.deleteFrom('workspace_messages').where('conversation_id', 'in', batch).execute();
          await tx.deleteFrom('workspace_conversations').where('id', 'in', batch).execute();
          await destroyContentKeys(tx, orgId, keyIds);
        });
      }
      const deleteMs = ms(t0);
      const t1 = process.hrtime.bigint();
      await flushErasedPages(db);
      return { deleteMs, flushMs: ms(t1) };
    };
    const handle = sqliteHandleOf(db);
    if (handle) {
      // The baseline purge without secure_delete, then Palisade's (secure_delete on, key rows destroyed, WAL truncated).
      handle.pragma('secure_delete = OFF');
      const off = await purge(ids.dataKey as string[]);
      handle.pragma('secure_delete = ON');
      const on = await purge(ids.contentKey as string[]);
      console.log(
        `content keys ${dialect.padEnd(8)} purge ${N} conversations: plain delete ${off.deleteMs.toFixed(0)} ms | secure_delete + key rows ${on.deleteMs.toFixed(0)} ms, then WAL checkpoint(TRUNCATE) ${on.flushMs.toFixed(1)} ms`,
      );
    } else {
      const off = await purge(ids.dataKey as string[]);
      const on = await purge(ids.contentKey as string[]);
      console.log(
        `content keys ${dialect.padEnd(8)} purge ${N} conversations: rows only ${off.deleteMs.toFixed(0)} ms | rows + key rows ${on.deleteMs.toFixed(0)} ms`,
      );
    }
    const keyRow = await db.selectFrom('content_keys').selectAll().limit(1).executeTakeFirst();
    if (keyRow)
      console.log(`content keys ${dialect.padEnd(8)} one key row: ${JSON.stringify(keyRow).length} bytes of data`);
  } finally {
    await cleanup();
  }
}

export async function benchContentKeys(dialects: ('sqlite' | 'postgres')[]): Promise<void> {
  console.log(
    `\nCrypto-erasure: ${N} conversations (title + 2 messages of ${PROMPT.length} bytes) sealed under the organization data key vs a key per conversation; read back; purged.`,
  );
  for (const d of dialects) await runDialect(d);
}
