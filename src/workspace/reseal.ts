import type { Ctx } from '../context.js';
import { createContentKey, sealWithContentKey } from '../crypto/content-keys.js';
import { flushErasedPages } from '../db/wal.js';
import { openFor } from '../crypto/data-keys.js';

const convRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_conversations', recordId: id });
const msgRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_messages', recordId: id });
const fileNameRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_files.name', recordId: id });
const fileDataRef = (orgId: string, id: string) => ({ orgId, table: 'workspace_files', recordId: id });

/**
 * Moves content sealed before content keys existed (directly under the organization's data key)
 * onto a content key of its own, one conversation or file per transaction, so that its deletion
 * erases it like any other. Idempotent: each step re-selects what is still unconverted. Content of
 * a crypto-shredded organization cannot be opened and stays as it is (already unreadable).
 */
export async function resealLegacyContent(
  ctx: Ctx,
  batch = 200,
): Promise<{ conversations: number; files: number; skipped: number }> {
  const out = { conversations: 0, files: 0, skipped: 0 };
  let after = '';
  for (;;) {
    // Legacy: no content key yet, and a title or a message sealed under a data key.
    const convs = await ctx.db
      .selectFrom('workspace_conversations')
      .selectAll()
      .where('content_key_id', 'is', null)
      .where('id', '>', after)
      .where((eb) =>
        eb.or([
          eb('title_ct', 'is not', null),
          eb.exists(
            eb
              .selectFrom('workspace_messages')
              .select('id')
              .whereRef('workspace_messages.conversation_id', '=', 'workspace_conversations.id'),
          ),
        ]),
      )
      .orderBy('id')
      .limit(batch)
      .execute();
    if (convs.length === 0) break;
    for (const c of convs) {
      after = c.id;
      const done = await ctx.db.transaction().execute(async (tx) => {
        const fresh = await tx
          .selectFrom('workspace_conversations')
          .selectAll()
          .where('id', '=', c.id)
          .executeTakeFirst();
        if (!fresh || fresh.content_key_id !== null) return true;
        const msgs = await tx
          .selectFrom('workspace_messages')
          .selectAll()
          .where('conversation_id', '=', c.id)
          .where('content_key_id', 'is', null)
          .execute();
        const title =
          fresh.title_ct !== null && fresh.key_version !== null
            ? await openFor(tx, ctx.config, convRef(fresh.org_id, fresh.id), fresh.title_ct, Number(fresh.key_version))
            : null;
        const opened = [];
        for (const m of msgs)
          opened.push({
            m,
            o: await openFor(tx, ctx.config, msgRef(m.org_id, m.id), m.content_ct, Number(m.key_version)),
          });
        if ((title && !title.ok) || opened.some((x) => !x.o.ok)) return false;
        const key = await createContentKey(tx, ctx.config, ctx.clock.now(), fresh.org_id);
        const title_ct = title?.ok ? sealWithContentKey(key, convRef(fresh.org_id, fresh.id), title.data) : null;
        await tx
          .updateTable('workspace_conversations')
          .set({ title_ct, key_version: title_ct ? key.dkVersion : null, content_key_id: key.id })
          .where('id', '=', fresh.id)
          .execute();
        for (const { m, o } of opened) {
          if (!o.ok) continue;
          await tx
            .updateTable('workspace_messages')
            .set({
              content_ct: sealWithContentKey(key, msgRef(m.org_id, m.id), o.data),
              key_version: key.dkVersion,
              content_key_id: key.id,
            })
            .where('id', '=', m.id)
            .execute();
        }
        return true;
      });
      if (done) out.conversations += 1;
      else out.skipped += 1;
    }
  }
  after = '';
  for (;;) {
    const files = await ctx.db
      .selectFrom('workspace_files')
      .selectAll()
      .where('content_key_id', 'is', null)
      .where('id', '>', after)
      .orderBy('id')
      .limit(batch)
      .execute();
    if (files.length === 0) break;
    for (const f of files) {
      after = f.id;
      const done = await ctx.db.transaction().execute(async (tx) => {
        const name = await openFor(tx, ctx.config, fileNameRef(f.org_id, f.id), f.name_ct, Number(f.key_version));
        const data = await openFor(tx, ctx.config, fileDataRef(f.org_id, f.id), f.content_ct, Number(f.key_version));
        if (!name.ok || !data.ok) return false;
        const key = await createContentKey(tx, ctx.config, ctx.clock.now(), f.org_id);
        const r = await tx
          .updateTable('workspace_files')
          .set({
            name_ct: sealWithContentKey(key, fileNameRef(f.org_id, f.id), name.data),
            content_ct: sealWithContentKey(key, fileDataRef(f.org_id, f.id), data.data),
            key_version: key.dkVersion,
            content_key_id: key.id,
          })
          .where('id', '=', f.id)
          .where('content_key_id', 'is', null)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) await tx.deleteFrom('content_keys').where('id', '=', key.id).execute();
        return true;
      });
      if (done) out.files += 1;
      else out.skipped += 1;
    }
  }
  // The data-key ciphertexts just replaced are zeroed in their pages (secure_delete); drop old WAL frames too.
  if (out.conversations + out.files > 0) await flushErasedPages(ctx.db);
  return out;
}
