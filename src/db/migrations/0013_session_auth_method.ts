import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * `sessions.auth_method`: how the session was opened (`password`, `link`, `sso`, `break_glass`), so
 * that a password session of someone whose organization enforces SSO ends, including one opened
 * before enforcement was turned on. Sessions from before this migration count as `password`: in an
 * organization that enforces SSO their holders sign in again once, through SSO.
 */
export async function up(db: AnyDb): Promise<void> {
  await db.schema
    .alterTable('sessions')
    .addColumn('auth_method', 'text', (c) => c.notNull().defaultTo('password'))
    .execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('sessions').dropColumn('auth_method').execute();
}
