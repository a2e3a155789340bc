import type { Kysely, Migration } from 'kysely';
import type { PalisadeConfig } from '../../config.js';
import { type RecordRef, openText, sealFor } from '../../crypto/data-keys.js';
import { initKeyProvider, keyProviderFor } from '../../crypto/provider.js';
import type { MigrationDeps } from '../migrate.js';
import type { Queryable } from '../schema.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

/**
 * Seals the SSO secrets that were stored in clear:
 * - `sso_connections.oidc_client_secret` → `oidc_client_secret_ct` + `oidc_client_secret_key_version`
 * - `sso_connections.sp_private_key` → `sp_private_key_ct` + `sp_private_key_key_version`
 *   (both with the organization's data key, as src/sso/secrets.ts opens them)
 * - `user_totp.secret` → `secret_ct` + `kek_id` (with the installation KEK, as src/sso/totp-secret.ts opens them)
 *
 * Columns are renamed rather than reused, so code still reading the old names fails to compile
 * instead of handing ciphertext to an IdP. Existing rows are sealed in the same migration; on
 * PostgreSQL Kysely runs it in a transaction, on SQLite this migration opens its own, so a failure
 * leaves the database at the previous migration with nothing half-sealed. An empty database needs no key.
 *
 * A migration is history: what it writes must not change when the SSO code does, so the record
 * bindings and the sealing loops it needs are copied here (below) from the SSO code of its time,
 * and it uses only the key-management primitives of src/crypto/ (the KEK provider and the
 * organization data keys, whose format every release must keep opening anyway).
 */
export function migration(deps: MigrationDeps): Migration {
  return {
    async up(db: AnyDb) {
      await atomically(db, async (tx) => {
        await tx.schema
          .alterTable('sso_connections')
          .renameColumn('oidc_client_secret', 'oidc_client_secret_ct')
          .execute();
        await tx.schema.alterTable('sso_connections').addColumn('oidc_client_secret_key_version', 'integer').execute();
        await tx.schema.alterTable('sso_connections').renameColumn('sp_private_key', 'sp_private_key_ct').execute();
        await tx.schema.alterTable('sso_connections').addColumn('sp_private_key_key_version', 'integer').execute();
        await tx.schema.alterTable('user_totp').renameColumn('secret', 'secret_ct').execute();
        await tx.schema.alterTable('user_totp').addColumn('kek_id', 'text').execute();
        await sealExistingSsoSecrets(tx as unknown as Queryable, deps);
      });
    },
    async down(db: AnyDb) {
      await atomically(db, async (tx) => {
        await unsealSsoSecrets(tx as unknown as Queryable, deps);
        await tx.schema.alterTable('user_totp').dropColumn('kek_id').execute();
        await tx.schema.alterTable('user_totp').renameColumn('secret_ct', 'secret').execute();
        await tx.schema.alterTable('sso_connections').dropColumn('sp_private_key_key_version').execute();
        await tx.schema.alterTable('sso_connections').renameColumn('sp_private_key_ct', 'sp_private_key').execute();
        await tx.schema.alterTable('sso_connections').dropColumn('oidc_client_secret_key_version').execute();
        await tx.schema
          .alterTable('sso_connections')
          .renameColumn('oidc_client_secret_ct', 'oidc_client_secret')
          .execute();
      });
    },
  };
}

/** PostgreSQL migrations already run in Kysely's transaction; SQLite ones do not, so this one opens its own. */
async function atomically(db: AnyDb, fn: (tx: AnyDb) => Promise<void>): Promise<void> {
  if (db.isTransaction) return fn(db);
  await db.transaction().execute(fn);
}

async function pending(db: Queryable): Promise<number> {
  const c = await db
    .selectFrom('sso_connections')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where((eb) => eb.or([eb('oidc_client_secret_ct', 'is not', null), eb('sp_private_key_ct', 'is not', null)]))
    .executeTakeFirstOrThrow();
  const t = await db
    .selectFrom('user_totp')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(c.n) + Number(t.n);
}

function requireConfig(deps: MigrationDeps, n: number, doing: string): PalisadeConfig {
  if (!deps.config) {
    throw new Error(
      `Migration 0010 ${doing} ${n} stored SSO secret(s) and needs the key-encryption key, but was run without configuration. Run \`palisade migrate\` (or \`palisade serve\`) with PALISADE_MASTER_KEY / PALISADE_MASTER_KEY_FILE (or the PKCS#11 settings) set.`,
    );
  }
  // Started here with a logger, so an embedded install that generates its master key now says so.
  initKeyProvider(deps.config, deps.log);
  return deps.config;
}

export async function sealExistingSsoSecrets(
  db: Queryable,
  deps: MigrationDeps,
): Promise<{ connectionSecrets: number; totpSecrets: number }> {
  const n = await pending(db);
  if (n === 0) return { connectionSecrets: 0, totpSecrets: 0 };
  const config = requireConfig(deps, n, 'seals');
  const now = deps.now?.() ?? new Date();
  const c = await sealPlaintextConnectionSecrets(db, config, now);
  const t = await sealPlaintextTotpSecrets(db, config);
  return { connectionSecrets: c.sealed, totpSecrets: t.sealed };
}

/**
 * Reverting 0010 writes the secrets back in clear (the old code reads them so). A secret that can
 * no longer be opened (shredded organization, tampered row) is cleared rather than kept as
 * ciphertext the old code would misread: that connection or enrollment must be set up again.
 */
async function unsealSsoSecrets(db: Queryable, deps: MigrationDeps): Promise<void> {
  const n = await pending(db);
  if (n === 0) return;
  const config = requireConfig(deps, n, 'reverts (decrypts)');
  const rows = await db.selectFrom('sso_connections').selectAll().execute();
  const open = async (
    row: (typeof rows)[number],
    secret: 'oidc_client_secret' | 'sp_private_key',
    ct: string | null,
    version: number | null,
  ) => {
    if (ct === null || version === null) return null;
    try {
      return await openText(db, config, connectionSecretRef(row, secret), ct, Number(version));
    } catch {
      return null;
    }
  };
  for (const row of rows) {
    const clientSecret = await open(
      row,
      'oidc_client_secret',
      row.oidc_client_secret_ct,
      row.oidc_client_secret_key_version,
    );
    const spKey = await open(row, 'sp_private_key', row.sp_private_key_ct, row.sp_private_key_key_version);
    await db
      .updateTable('sso_connections')
      .set({ oidc_client_secret_ct: clientSecret, sp_private_key_ct: spKey })
      .where('id', '=', row.id)
      .execute();
  }
  const totps = await db.selectFrom('user_totp').selectAll().execute();
  for (const row of totps) {
    const secret = await openTotpSecret(config, row);
    if (secret === null) await db.deleteFrom('user_totp').where('user_id', '=', row.user_id).execute();
    else await db.updateTable('user_totp').set({ secret_ct: secret }).where('user_id', '=', row.user_id).execute();
  }
}

type ConnectionSecret = 'oidc_client_secret' | 'sp_private_key';

/** The record a connection secret is bound to (`connectionSecretRef`, src/sso/secrets.ts). */
const connectionSecretRef = (conn: { id: string; org_id: string }, secret: ConnectionSecret): RecordRef => ({
  orgId: conn.org_id,
  table: `sso_connections.${secret}`,
  recordId: conn.id,
});

/**
 * Seals every connection secret still stored in clear (key-version column null). Idempotent.
 * Formerly `sealPlaintextConnectionSecrets` in src/sso/secrets.ts, used only by this migration.
 */
async function sealPlaintextConnectionSecrets(
  db: Queryable,
  config: PalisadeConfig,
  now: Date,
): Promise<{ sealed: number }> {
  let sealed = 0;
  const clientSecrets = await db
    .selectFrom('sso_connections')
    .select(['id', 'org_id', 'oidc_client_secret_ct'])
    .where('oidc_client_secret_ct', 'is not', null)
    .where('oidc_client_secret_key_version', 'is', null)
    .execute();
  for (const row of clientSecrets) {
    const s = await sealFor(
      db,
      config,
      now,
      connectionSecretRef(row, 'oidc_client_secret'),
      row.oidc_client_secret_ct as string,
    );
    await db
      .updateTable('sso_connections')
      .set({ oidc_client_secret_ct: s.ct, oidc_client_secret_key_version: s.keyVersion })
      .where('id', '=', row.id)
      .where('oidc_client_secret_key_version', 'is', null)
      .execute();
    sealed++;
  }
  const spKeys = await db
    .selectFrom('sso_connections')
    .select(['id', 'org_id', 'sp_private_key_ct'])
    .where('sp_private_key_ct', 'is not', null)
    .where('sp_private_key_key_version', 'is', null)
    .execute();
  for (const row of spKeys) {
    const s = await sealFor(
      db,
      config,
      now,
      connectionSecretRef(row, 'sp_private_key'),
      row.sp_private_key_ct as string,
    );
    await db
      .updateTable('sso_connections')
      .set({ sp_private_key_ct: s.ct, sp_private_key_key_version: s.keyVersion })
      .where('id', '=', row.id)
      .where('sp_private_key_key_version', 'is', null)
      .execute();
    sealed++;
  }
  return { sealed };
}

/** The associated data binding a TOTP secret to its person (src/sso/totp-secret.ts). */
const totpAad = (userId: string) => Buffer.from(`palisade-totp|v1|user_totp|${userId}`);

/** Seals every TOTP secret still stored in clear (kek_id null) with the installation KEK. Idempotent. */
async function sealPlaintextTotpSecrets(db: Queryable, config: PalisadeConfig): Promise<{ sealed: number }> {
  const rows = await db.selectFrom('user_totp').select(['user_id', 'secret_ct']).where('kek_id', 'is', null).execute();
  for (const row of rows) {
    const { kekId, wrapped } = await keyProviderFor(config).wrap(
      Buffer.from(row.secret_ct, 'utf8'),
      totpAad(row.user_id),
    );
    await db
      .updateTable('user_totp')
      .set({ secret_ct: wrapped.toString('base64'), kek_id: kekId })
      .where('user_id', '=', row.user_id)
      .where('kek_id', 'is', null)
      .execute();
  }
  return { sealed: rows.length };
}

/** The base32 secret, or null when it cannot be opened (modified, moved, never sealed, or its KEK is gone). */
async function openTotpSecret(
  config: PalisadeConfig,
  row: { user_id: string; secret_ct: string; kek_id: string | null },
): Promise<string | null> {
  if (!row.kek_id) return null;
  try {
    return (
      await keyProviderFor(config).unwrap(row.kek_id, Buffer.from(row.secret_ct, 'base64'), totpAad(row.user_id))
    ).toString('utf8');
  } catch {
    return null;
  }
}
