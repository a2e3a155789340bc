import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Account security (who may set a credential, consent, email delivery, throttles):
 * - `users.email_verified_at`: when the person proved they control the address (redeemed a link
 *   that was delivered to it), or an organization that verified the address's domain vouched for it
 *   (its identity provider, its SCIM directory, its admin). Existing accounts start unverified: no
 *   one can tell today who set their password. `users.password_changed_at` lets a link issued before
 *   the last password change be refused.
 * - `link_tokens.delivery`: how the link reached its holder (`email` to the address, `shown` to an
 *   operator or to an admin of the organization that manages the address's domain);
 *   `issued_by`: the admin who asked for it.
 * - `email_outbox`: the send queue. Bodies are sealed (they carry one-time links) and erased once sent.
 * - `throttle_counters`: sliding-window counters for every limiter (sign-in failures, discovery,
 *   domain verification, bad tokens, password resets) replace `login_throttle` and
 *   `rate_limit_counters`, which counted in fixed windows. Their contents are short-lived counts.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema.alterTable('users').addColumn('email_verified_at', 'text').execute();
  await db.schema.alterTable('users').addColumn('password_changed_at', 'text').execute();
  await db.schema
    .alterTable('link_tokens')
    .addColumn('delivery', 'text', (c) => c.notNull().defaultTo('shown'))
    .execute();
  await db.schema.alterTable('link_tokens').addColumn('issued_by', 'text').execute();
  await db.schema.createIndex('link_tokens_user').on('link_tokens').columns(['user_id', 'used_at']).execute();

  await db.schema
    .createTable('email_outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    /** The organization the mail is about (its admins see its failures), or null for installation mail. */
    .addColumn('org_id', 'text')
    .addColumn('template', 'text', (c) => c.notNull())
    .addColumn('to_address', 'text', (c) => c.notNull())
    /** Subject, text and HTML as one JSON document sealed under a per-message key wrapped by the KEK. */
    .addColumn('body_ct', 'text')
    .addColumn('body_key', 'text')
    .addColumn('kek_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'text', (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('last_error', 'text')
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('sent_at', 'text')
    .addColumn('dead_at', 'text')
    .execute();
  await db.schema.createIndex('email_outbox_due').on('email_outbox').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('email_outbox_org').on('email_outbox').columns(['org_id', 'status', 'id']).execute();

  await db.schema
    .createTable('throttle_counters')
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    /** Start of the current window, epoch milliseconds. */
    .addColumn('window_ms', 'bigint', (c) => c.notNull())
    .addColumn('hits', 'integer', (c) => c.notNull())
    /** Hits of the window before it, weighted down as the current window advances. */
    .addColumn('prev_hits', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('throttle_counters_pk', ['bucket', 'key'])
    .execute();
  await db.schema.createIndex('throttle_counters_window').on('throttle_counters').column('window_ms').execute();
  await db.schema.dropTable('login_throttle').execute();
  await db.schema.dropTable('rate_limit_counters').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema
    .createTable('login_throttle')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('window_start', 'text', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('rate_limit_counters')
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('window_start', 'text', (c) => c.notNull())
    .addColumn('hits', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limit_counters_pk', ['bucket', 'key'])
    .execute();
  await db.schema.dropTable('throttle_counters').execute();
  await db.schema.dropTable('email_outbox').execute();
  await db.schema.dropIndex('link_tokens_user').execute();
  await db.schema.alterTable('link_tokens').dropColumn('issued_by').execute();
  await db.schema.alterTable('link_tokens').dropColumn('delivery').execute();
  await db.schema.alterTable('users').dropColumn('password_changed_at').execute();
  await db.schema.alterTable('users').dropColumn('email_verified_at').execute();
}
