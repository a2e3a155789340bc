import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { migrateTo, migrateToLatest } from '../../src/db/migrate.js';
import { type TestDatabase, openTestDatabase } from '../helpers/db.js';

/**
 * Migration 0016 relaxes two SCIM constraints (externalId unique, user_id not null). On SQLite that
 * rebuilds scim_users and scim_groups: the rows, their group memberships and the cascade from them
 * must survive, and the way back must work too.
 */
describe('migration 0016 (SCIM externalId not unique, users without an account)', () => {
  let t: TestDatabase;
  const at = '2026-01-01T00:00:00.000Z';
  before(async () => {
    t = await openTestDatabase({ migrate: false });
    await migrateTo(t.database, '0013_session_auth_method');
    const db = t.database.db;
    await db
      .insertInto('organizations')
      .values({
        id: 'org_1',
        parent_id: null,
        name: 'Acme',
        billing_email: null,
        status: 'active',
        created_at: at,
        updated_at: at,
        deleted_at: null,
      })
      .execute();
    await db
      .insertInto('users')
      .values({
        id: 'usr_1',
        email: 'ann@acme.example',
        display_name: null,
        password_hash: null,
        status: 'active',
        created_at: at,
        updated_at: at,
      })
      .execute();
    await db
      .insertInto('scim_directories')
      .values({
        id: 'dir_1',
        org_id: 'org_1',
        name: 'Okta',
        role_sync: 1,
        status: 'active',
        created_at: at,
        updated_at: at,
      })
      .execute();
    await db
      .insertInto('scim_users')
      .values({
        id: 'scu_1',
        directory_id: 'dir_1',
        org_id: 'org_1',
        user_id: 'usr_1',
        user_name: 'ann@acme.example',
        user_name_key: 'ann@acme.example',
        external_id: 'ext-1',
        active: 1,
        resource: '{}',
        version: 1,
        created_at: at,
        updated_at: at,
      })
      .execute();
    await db
      .insertInto('scim_groups')
      .values({
        id: 'scg_1',
        directory_id: 'dir_1',
        org_id: 'org_1',
        display_name: 'admins',
        display_key: 'admins',
        external_id: 'g-1',
        resource: '{}',
        version: 1,
        created_at: at,
        updated_at: at,
      })
      .execute();
    await db
      .insertInto('scim_group_members')
      .values({ group_id: 'scg_1', scim_user_id: 'scu_1', directory_id: 'dir_1', created_at: at })
      .execute();
  });
  after(() => t.cleanup());

  test('up keeps every row and membership, and allows shared externalIds and users without an account', async () => {
    await migrateToLatest(t.database);
    const db = t.database.db;
    assert.equal((await db.selectFrom('scim_users').selectAll().execute()).length, 1);
    assert.deepEqual(await db.selectFrom('scim_group_members').select(['group_id', 'scim_user_id']).execute(), [
      { group_id: 'scg_1', scim_user_id: 'scu_1' },
    ]);
    await db
      .insertInto('scim_users')
      .values({
        id: 'scu_2',
        directory_id: 'dir_1',
        org_id: 'org_1',
        user_id: null,
        user_name: 'jdoe',
        user_name_key: 'jdoe',
        external_id: 'ext-1',
        active: 1,
        resource: '{}',
        version: 1,
        created_at: at,
        updated_at: at,
      })
      .execute();
    await db
      .insertInto('scim_groups')
      .values({
        id: 'scg_2',
        directory_id: 'dir_1',
        org_id: 'org_1',
        display_name: 'others',
        display_key: 'others',
        external_id: 'g-1',
        resource: '{}',
        version: 1,
        created_at: at,
        updated_at: at,
      })
      .execute();
    // userName and displayName stay unique per directory.
    await assert.rejects(
      db
        .insertInto('scim_users')
        .values({
          id: 'scu_3',
          directory_id: 'dir_1',
          org_id: 'org_1',
          user_id: null,
          user_name: 'JDOE',
          user_name_key: 'jdoe',
          external_id: null,
          active: 1,
          resource: '{}',
          version: 1,
          created_at: at,
          updated_at: at,
        })
        .execute(),
    );
    // The foreign keys still hold: a membership of an unknown user is refused, and deleting a user cascades.
    await assert.rejects(
      db
        .insertInto('scim_group_members')
        .values({ group_id: 'scg_1', scim_user_id: 'scu_missing', directory_id: 'dir_1', created_at: at })
        .execute(),
    );
    await db
      .insertInto('scim_group_members')
      .values({ group_id: 'scg_1', scim_user_id: 'scu_2', directory_id: 'dir_1', created_at: at })
      .execute();
    await db.deleteFrom('scim_users').where('id', '=', 'scu_2').execute();
    assert.equal((await db.selectFrom('scim_group_members').selectAll().execute()).length, 1);
    const conn = await db
      .selectFrom('sso_connections')
      .select(['saml_allow_sha1', 'oidc_token_auth_method'])
      .executeTakeFirst();
    assert.equal(conn, undefined);
  });

  test('down restores the old constraints, keeping the oldest holder of a shared externalId', async () => {
    const db = t.database.db;
    await db
      .insertInto('scim_users')
      .values({
        id: 'scu_9',
        directory_id: 'dir_1',
        org_id: 'org_1',
        user_id: 'usr_1',
        user_name: 'twin',
        user_name_key: 'twin',
        external_id: 'ext-1',
        active: 1,
        resource: '{}',
        version: 1,
        created_at: at,
        updated_at: at,
      })
      .execute();
    await db
      .insertInto('scim_users')
      .values({
        id: 'scu_8',
        directory_id: 'dir_1',
        org_id: 'org_1',
        user_id: null,
        user_name: 'nobody',
        user_name_key: 'nobody',
        external_id: null,
        active: 1,
        resource: '{}',
        version: 1,
        created_at: at,
        updated_at: at,
      })
      .execute();
    await migrateTo(t.database, '0013_session_auth_method');
    const rows = await db.selectFrom('scim_users').select(['id', 'external_id']).orderBy('id').execute();
    assert.deepEqual(rows, [
      { id: 'scu_1', external_id: 'ext-1' },
      { id: 'scu_9', external_id: null },
    ]);
    assert.equal((await db.selectFrom('scim_group_members').selectAll().execute()).length, 1);
    await assert.rejects(
      db
        .insertInto('scim_users')
        .values({
          id: 'scu_7',
          directory_id: 'dir_1',
          org_id: 'org_1',
          user_id: 'usr_1',
          user_name: 'x',
          user_name_key: 'x',
          external_id: 'ext-1',
          active: 1,
          resource: '{}',
          version: 1,
          created_at: at,
          updated_at: at,
        })
        .execute(),
    );
    await migrateToLatest(t.database);
  });
});
