import { type Kysely, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * The Compliance API (issue 16):
 * - `compliance_keys`: an organization's keys for /v1/compliance/ (`pls_cmp_…`, SHA-256 only),
 *   with their scopes, the organizations they may see, an optional expiry and rate limit.
 * - `gateway_usage_hourly`: token usage per organization, user, model and UTC hour, beside the
 *   daily `gateway_usage`, so usage reports can be cut by hour. Filled from here on by the same
 *   write as the daily row, and back-filled from the audit log (each `gateway.request` and
 *   `conversation.message_sent` event carries the model and token counts) for what it still holds.
 * - `audit_content_settings`: an organization's privacy tier for prompts in its audit log: null
 *   (metadata only, the default) or the number of characters of each prompt its events carry.
 * - Indexes for listing an organization's conversations and files newest first.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('compliance_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('display_prefix', 'text', (c) => c.notNull())
    /** JSON array of scopes. */
    .addColumn('scopes', 'text', (c) => c.notNull())
    /** JSON array of organization ids (each with its descendants); null: the whole tree. */
    .addColumn('org_ids', 'text')
    .addColumn('rate_limit_per_minute', 'integer')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text')
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .addColumn('revoked_by', 'text')
    .execute();
  await db.schema.createIndex('compliance_keys_org').on('compliance_keys').columns(['org_id', 'id']).execute();

  await db.schema
    .createTable('gateway_usage_hourly')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    /** UTC hour, `YYYY-MM-DDTHH`. */
    .addColumn('hour', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('requests', 'integer', (c) => c.notNull())
    .addColumn('input_tokens', 'bigint', (c) => c.notNull())
    .addColumn('output_tokens', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('gateway_usage_hourly_pk', ['org_id', 'hour', 'user_id', 'model'])
    .execute();
  // The daily table's key starts (org, user, day): a report over a time range for every user reads it by day.
  await db.schema
    .createIndex('gateway_usage_org_day')
    .on('gateway_usage')
    .columns(['org_id', 'day', 'user_id', 'model'])
    .execute();

  await db.schema
    .createTable('audit_content_settings')
    .addColumn('org_id', 'text', (c) => c.primaryKey().references('organizations.id'))
    .addColumn('prompt_excerpt_chars', 'integer')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .execute();

  await db.schema
    .createIndex('workspace_conversations_org_id')
    .on('workspace_conversations')
    .columns(['org_id', 'id'])
    .execute();
  await db.schema.createIndex('workspace_files_org_id').on('workspace_files').columns(['org_id', 'id']).execute();

  await backfillHourlyUsage(db);
}

/**
 * Hourly usage for the past, from the audit events still held: the same requests the daily table
 * counted (gateway requests the provider answered below 400, and every workspace message).
 */
async function backfillHourlyUsage(db: AnyDb): Promise<void> {
  const totals = new Map<
    string,
    {
      org_id: string;
      user_id: string;
      hour: string;
      model: string;
      requests: number;
      input_tokens: number;
      output_tokens: number;
    }
  >();
  let after = '';
  for (;;) {
    const rows: {
      id: string;
      org_id: string;
      actor_id: string | null;
      occurred_at: string;
      action: string;
      metadata: string;
    }[] = await db
      .selectFrom('audit_events')
      .select(['id', 'org_id', 'actor_id', 'occurred_at', 'action', 'metadata'])
      .where('action', 'in', ['gateway.request', 'conversation.message_sent'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(5000)
      .execute();
    if (rows.length === 0) break;
    for (const r of rows) {
      after = r.id;
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(r.metadata) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (r.action === 'gateway.request' && !(typeof m.upstreamStatus === 'number' && m.upstreamStatus < 400)) continue;
      const model = typeof m.model === 'string' ? m.model.slice(0, 200) : '';
      const key = `${r.org_id}|${r.occurred_at.slice(0, 13)}|${r.actor_id ?? ''}|${model}`;
      const t = totals.get(key) ?? {
        org_id: r.org_id,
        user_id: r.actor_id ?? '',
        hour: r.occurred_at.slice(0, 13),
        model,
        requests: 0,
        input_tokens: 0,
        output_tokens: 0,
      };
      t.requests += 1;
      t.input_tokens += Number(m.inputTokens) || 0;
      t.output_tokens += Number(m.outputTokens) || 0;
      totals.set(key, t);
    }
  }
  const values = [...totals.values()];
  for (let i = 0; i < values.length; i += 500)
    await db
      .insertInto('gateway_usage_hourly')
      .values(values.slice(i, i + 500))
      .execute();
  await sql`select 1`.execute(db);
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.dropIndex('workspace_files_org_id').ifExists().execute();
  await db.schema.dropIndex('workspace_conversations_org_id').ifExists().execute();
  await db.schema.dropIndex('gateway_usage_org_day').ifExists().execute();
  for (const t of ['audit_content_settings', 'gateway_usage_hourly', 'compliance_keys'])
    await db.schema.dropTable(t).ifExists().execute();
}
