import { type Kysely, SqliteAdapter, sql } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Standards conformance (SCIM RFC 7643/7644, SAML, OIDC):
 *
 * - `scim_users.external_id` and `scim_groups.external_id` are no longer unique per directory
 *   (RFC 7643 §3.1 gives externalId uniqueness "none"); a plain index keeps filters on them fast.
 * - `scim_users.user_id` may be null: a SCIM user without a usable email address exists in the
 *   directory (and in its groups) but has no Palisade account until an address arrives.
 * - `sso_connections.saml_allow_sha1`: 1 lets one SAML connection accept SHA-1 signatures and
 *   digests (refused by default); the change is audited.
 * - `sso_connections.oidc_token_auth_method`: how Palisade authenticates to the OIDC token endpoint
 *   (`client_secret_basic`, `client_secret_post`, `private_key_jwt`); null chooses from discovery.
 *
 * SQLite cannot drop a table constraint or a NOT NULL, so its two SCIM tables are rebuilt (the
 * documented twelve-step procedure: foreign keys off, copy, swap, check, foreign keys on).
 */
export async function up(db: AnyDb): Promise<void> {
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  if (sqlite) await rebuildSqlite(db, 'up');
  else {
    await sql`alter table scim_users alter column user_id drop not null`.execute(db);
    await sql`alter table scim_users drop constraint scim_users_dir_external`.execute(db);
    await sql`alter table scim_groups drop constraint scim_groups_dir_external`.execute(db);
    await db.schema
      .createIndex('scim_users_dir_external')
      .on('scim_users')
      .columns(['directory_id', 'external_id'])
      .execute();
    await db.schema
      .createIndex('scim_groups_dir_external')
      .on('scim_groups')
      .columns(['directory_id', 'external_id'])
      .execute();
  }
  await db.schema
    .alterTable('sso_connections')
    .addColumn('saml_allow_sha1', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('sso_connections').addColumn('oidc_token_auth_method', 'text').execute();
}

export async function down(db: AnyDb): Promise<void> {
  await db.schema.alterTable('sso_connections').dropColumn('oidc_token_auth_method').execute();
  await db.schema.alterTable('sso_connections').dropColumn('saml_allow_sha1').execute();
  // Before this migration every SCIM user had an account and externalIds were unique: SCIM users
  // without an account go, and of several sharing an externalId only the oldest keeps it.
  await db.deleteFrom('scim_users').where('user_id', 'is', null).execute();
  for (const table of ['scim_users', 'scim_groups'] as const) {
    await sql`update ${sql.table(table)} set external_id = null where external_id is not null and id not in (
      select min(id) from ${sql.table(table)} where external_id is not null group by directory_id, external_id)`.execute(
      db,
    );
  }
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  if (sqlite) await rebuildSqlite(db, 'down');
  else {
    await db.schema.dropIndex('scim_users_dir_external').execute();
    await db.schema.dropIndex('scim_groups_dir_external').execute();
    await sql`alter table scim_users alter column user_id set not null`.execute(db);
    await sql`alter table scim_users add constraint scim_users_dir_external unique (directory_id, external_id)`.execute(
      db,
    );
    await sql`alter table scim_groups add constraint scim_groups_dir_external unique (directory_id, external_id)`.execute(
      db,
    );
  }
}

async function rebuildSqlite(db: AnyDb, direction: 'up' | 'down'): Promise<void> {
  const relaxed = direction === 'up';
  // PRAGMA foreign_keys is ignored inside a transaction: it is switched off around it.
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await db.transaction().execute(async (tx) => {
      await sql`create table scim_users_rebuilt (
        id text primary key,
        directory_id text not null references scim_directories(id),
        org_id text not null,
        user_id text ${relaxed ? sql`` : sql`not null`} references users(id),
        user_name text not null,
        user_name_key text not null,
        external_id text,
        active integer not null,
        resource text not null,
        version integer not null,
        created_at text not null,
        updated_at text not null,
        constraint scim_users_dir_username unique (directory_id, user_name_key)
        ${relaxed ? sql`` : sql`, constraint scim_users_dir_external unique (directory_id, external_id)`}
      )`.execute(tx);
      await sql`insert into scim_users_rebuilt (id, directory_id, org_id, user_id, user_name, user_name_key, external_id, active, resource, version, created_at, updated_at)
        select id, directory_id, org_id, user_id, user_name, user_name_key, external_id, active, resource, version, created_at, updated_at from scim_users`.execute(
        tx,
      );
      await sql`drop table scim_users`.execute(tx);
      await sql`alter table scim_users_rebuilt rename to scim_users`.execute(tx);
      await sql`create index scim_users_user on scim_users (user_id)`.execute(tx);
      if (relaxed)
        await sql`create index scim_users_dir_external on scim_users (directory_id, external_id)`.execute(tx);

      await sql`create table scim_groups_rebuilt (
        id text primary key,
        directory_id text not null references scim_directories(id),
        org_id text not null,
        display_name text not null,
        display_key text not null,
        external_id text,
        resource text not null,
        version integer not null,
        created_at text not null,
        updated_at text not null,
        constraint scim_groups_dir_name unique (directory_id, display_key)
        ${relaxed ? sql`` : sql`, constraint scim_groups_dir_external unique (directory_id, external_id)`}
      )`.execute(tx);
      await sql`insert into scim_groups_rebuilt (id, directory_id, org_id, display_name, display_key, external_id, resource, version, created_at, updated_at)
        select id, directory_id, org_id, display_name, display_key, external_id, resource, version, created_at, updated_at from scim_groups`.execute(
        tx,
      );
      await sql`drop table scim_groups`.execute(tx);
      await sql`alter table scim_groups_rebuilt rename to scim_groups`.execute(tx);
      if (relaxed)
        await sql`create index scim_groups_dir_external on scim_groups (directory_id, external_id)`.execute(tx);

      // The group memberships still point at the same ids: prove it before committing.
      const broken = await sql<{ table: string }>`pragma foreign_key_check`.execute(tx);
      if (broken.rows.length)
        throw new Error(
          `rebuilding the SCIM tables left ${broken.rows.length} dangling reference(s), first in ${broken.rows[0]?.table}`,
        );
    });
  } finally {
    await sql`pragma foreign_keys = on`.execute(db);
  }
}
