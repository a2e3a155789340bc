import { createHash, createPrivateKey } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { App } from '@octokit/app';
import { Octokit } from '@octokit/rest';
import { Type, type Static } from '@sinclair/typebox';
import type { PalisadeConfig } from '../config.js';
import type { Ctx } from '../context.js';
import { type RecordRef, openText, sealFor } from '../crypto/data-keys.js';
import type { Queryable } from '../db/schema.js';
import { PalisadeError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { DENIED_CODE, assertDestinationAllowed, outboundFetch } from '../net/outbound.js';
import { authorize } from '../orgs/authorize.js';
import { recordGithubAudit } from './record-audit.js';
import { githubError } from './errors.js';
import { mirrorDir } from './git.js';
import { connectionById } from './store.js';
import type { GithubConnectionsTable } from './tables.js';
import { type ConnectionView, connectionView } from './views.js';

export const CreateConnectionInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    appId: Type.String({
      pattern: '^[0-9]{1,20}$',
      description: "The GitHub App's numeric id (App settings → About).",
    }),
    privateKey: Type.String({
      minLength: 100,
      maxLength: 16_384,
      description: "The App's private key (PEM). Stored encrypted with the organization's data key; never shown again.",
    }),
    webhookSecret: Type.String({
      minLength: 16,
      maxLength: 256,
      description: 'The webhook secret set in the App. Stored encrypted; never shown again.',
    }),
    apiBaseUrl: Type.Optional(
      Type.String({
        maxLength: 500,
        description: 'https://api.github.com (default), or https://HOST/api/v3 for GitHub Enterprise Server.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateConnectionInput = Static<typeof CreateConnectionInput>;

export const DEFAULT_API_BASE_URL = 'https://api.github.com';

type Secret = 'private_key' | 'webhook_secret';
const secretRef = (conn: Pick<GithubConnectionsTable, 'id' | 'org_id'>, secret: Secret): RecordRef => ({
  orgId: conn.org_id,
  table: `github_connections.${secret}`,
  recordId: conn.id,
});

/** The API base URL, checked: http(s), no credentials or query, https unless the operator allowed http. */
export function normalizeApiBaseUrl(config: PalisadeConfig, raw: string | undefined): string {
  const text = (raw ?? DEFAULT_API_BASE_URL).trim().replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw githubError(
      'github_api_url_invalid',
      'apiBaseUrl must be an absolute URL such as https://api.github.com or https://github.example.com/api/v3.',
    );
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && config.githubAllowHttp)) {
    throw githubError(
      'github_api_url_invalid',
      'apiBaseUrl must use https:// (the App key signs requests sent there). An operator may allow http:// for a lab with PALISADE_GITHUB_ALLOW_HTTP=true.',
    );
  }
  if (url.username || url.password || url.search || url.hash)
    throw githubError('github_api_url_invalid', 'apiBaseUrl must not carry credentials, a query or a fragment.');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** Where repositories are cloned from: github.com for api.github.com, the server's root for GitHub Enterprise Server (/api/v3). */
export function gitBaseUrl(apiBaseUrl: string): string {
  const url = new URL(apiBaseUrl);
  if (url.hostname === 'api.github.com') return 'https://github.com';
  return `${url.origin}${url.pathname.replace(/\/api\/v3$/, '')}`;
}

function assertPrivateKey(pem: string): void {
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType === 'rsa') return;
  } catch {
    /* reported below */
  }
  throw githubError(
    'github_private_key_invalid',
    'privateKey must be the RSA private key GitHub generated for the App, in PEM form (-----BEGIN RSA PRIVATE KEY----- …). Generate a new one under the App settings → Private keys if you lost it.',
  );
}

/** Octokit going through the outbound policy (src/net/outbound.ts) against the connection's API base URL. */
function octokitClass(config: PalisadeConfig, baseUrl: string): typeof Octokit {
  return Octokit.defaults({
    baseUrl,
    request: { fetch: outboundFetch(config), timeout: 20_000 },
    userAgent: 'palisade-github-integration',
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
}

const apps = new Map<string, App<{ Octokit: typeof Octokit }>>();

/** The App client of a connection (its installation tokens are cached inside it until they expire). */
export async function appFor(
  db: Queryable,
  config: PalisadeConfig,
  conn: GithubConnectionsTable,
): Promise<App<{ Octokit: typeof Octokit }>> {
  // Keyed by the sealed credentials themselves: a rotation (in this process or another) yields a new client at once.
  const key = `${conn.id}:${createHash('sha256').update(`${conn.private_key_ct}|${conn.private_key_key_version}|${conn.webhook_secret_ct}|${conn.webhook_secret_key_version}|${conn.api_base_url}`).digest('hex').slice(0, 32)}`;
  const cached = apps.get(key);
  if (cached) return cached;
  const privateKey = await openSecret(db, config, conn, 'private_key');
  const webhookSecret = await openSecret(db, config, conn, 'webhook_secret');
  const app = new App({
    appId: conn.app_id,
    privateKey,
    webhooks: { secret: webhookSecret },
    Octokit: octokitClass(config, conn.api_base_url),
  });
  for (const k of apps.keys()) if (k.startsWith(`${conn.id}:`)) apps.delete(k);
  if (apps.size > 500) apps.delete(apps.keys().next().value as string);
  apps.set(key, app);
  return app;
}

async function openSecret(
  db: Queryable,
  config: PalisadeConfig,
  conn: GithubConnectionsTable,
  secret: Secret,
): Promise<string> {
  const ct = secret === 'private_key' ? conn.private_key_ct : conn.webhook_secret_ct;
  const version = secret === 'private_key' ? conn.private_key_key_version : conn.webhook_secret_key_version;
  const text = await openText(db, config, secretRef(conn, secret), ct, Number(version));
  if (text === null)
    throw new PalisadeError(
      410,
      'content_shredded',
      "This GitHub connection's credentials were destroyed with the organization's encryption keys; connect the App again.",
    );
  return text;
}

/** Maps a failure of a GitHub API call to one of our errors: unreachable (or refused by policy), or what GitHub answered. */
export function githubCallFailed(err: unknown, what: string): PalisadeError {
  if (err instanceof PalisadeError) {
    if (err.code === DENIED_CODE)
      return new PalisadeError(502, 'github_unreachable', `GitHub could not be reached for ${what}: ${err.message}`, {
        details: { ...err.details, reason: DENIED_CODE },
      });
    return err;
  }
  const status = (err as { status?: number }).status;
  if (typeof status === 'number' && status > 0) {
    const message = String(
      (err as { response?: { data?: { message?: unknown } } }).response?.data?.message ?? '',
    ).slice(0, 200);
    return githubError(
      'github_api_error',
      `GitHub answered ${status} to ${what}${message ? `: ${message}` : ''}. Check the App's permissions and that it is installed where you expect.`,
      { githubStatus: status },
    );
  }
  return githubError(
    'github_unreachable',
    `GitHub could not be reached for ${what}. Check the API base URL and the network; Palisade will retry scheduled work.`,
  );
}

export async function createConnection(ctx: Ctx, orgId: string, input: CreateConnectionInput): Promise<ConnectionView> {
  await authorize(ctx, orgId, 'github.manage');
  const apiBaseUrl = normalizeApiBaseUrl(ctx.config, input.apiBaseUrl);
  await assertDestinationAllowed(ctx.config, new URL(apiBaseUrl).hostname);
  assertPrivateKey(input.privateKey);
  // Prove the credentials before storing them: GitHub must accept a JWT signed by this key for this App.
  const probe = new App({
    appId: input.appId,
    privateKey: input.privateKey,
    Octokit: octokitClass(ctx.config, apiBaseUrl),
  });
  let appSlug: string | null = null;
  try {
    const { data } = await probe.octokit.request('GET /app');
    appSlug = (data as { slug?: string } | null)?.slug ?? null;
  } catch (err) {
    const status = (err as { status?: number }).status;
    if (status === 401 || status === 404)
      throw githubError(
        'github_private_key_invalid',
        `GitHub refused a token signed with this key for App ${input.appId} (HTTP ${status}). Check the App id and use a current private key of that App.`,
      );
    throw githubCallFailed(err, 'checking the App credentials');
  }
  const now = ctx.clock.now();
  const at = now.toISOString();
  const id = newId('ghc', now);
  return ctx.db.transaction().execute(async (tx) => {
    const owner = { id, org_id: orgId };
    const key = await sealFor(tx, ctx.config, now, secretRef(owner, 'private_key'), input.privateKey);
    const hook = await sealFor(tx, ctx.config, now, secretRef(owner, 'webhook_secret'), input.webhookSecret);
    const row: GithubConnectionsTable = {
      id,
      org_id: orgId,
      name: input.name,
      app_id: input.appId,
      api_base_url: apiBaseUrl,
      private_key_ct: key.ct,
      private_key_key_version: key.keyVersion,
      webhook_secret_ct: hook.ct,
      webhook_secret_key_version: hook.keyVersion,
      status: 'active',
      created_by: ctx.caller.kind === 'user' ? ctx.caller.userId : null,
      created_at: at,
      updated_at: at,
    };
    await tx.insertInto('github_connections').values(row).execute();
    await recordGithubAudit(tx, ctx, {
      orgId,
      action: 'github_connection.created',
      targets: [{ type: 'github_connection', id, name: input.name }],
      metadata: { appId: input.appId, appSlug, apiBaseUrl },
    });
    return connectionView(ctx.config, row, []);
  });
}

export const UpdateConnectionInput = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    privateKey: Type.Optional(
      Type.String({
        minLength: 100,
        maxLength: 16_384,
        description:
          'A new private key of the same App (rotation). Checked with GitHub before it replaces the old one.',
      }),
    ),
    webhookSecret: Type.Optional(
      Type.String({
        minLength: 16,
        maxLength: 256,
        description: 'The new webhook secret; set the same in the App at the same time.',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** Renames a connection or rotates its private key or webhook secret; a new key must be accepted by GitHub first. */
export async function updateConnection(
  ctx: Ctx,
  orgId: string,
  connectionId: string,
  input: Static<typeof UpdateConnectionInput>,
): Promise<ConnectionView> {
  await authorize(ctx, orgId, 'github.manage');
  const conn = await connectionById(ctx.db, orgId, connectionId);
  if (input.privateKey !== undefined) {
    assertPrivateKey(input.privateKey);
    const probe = new App({
      appId: conn.app_id,
      privateKey: input.privateKey,
      Octokit: octokitClass(ctx.config, conn.api_base_url),
    });
    try {
      await probe.octokit.request('GET /app');
    } catch (err) {
      const status = (err as { status?: number }).status;
      if (status === 401 || status === 404)
        throw githubError(
          'github_private_key_invalid',
          `GitHub refused a token signed with the new key for App ${conn.app_id} (HTTP ${status}). Use a current private key of that App; the old key stays in place.`,
        );
      throw githubCallFailed(err, 'checking the new private key');
    }
  }
  const now = ctx.clock.now();
  return ctx.db.transaction().execute(async (tx) => {
    const set: Partial<GithubConnectionsTable> = { updated_at: now.toISOString() };
    if (input.name !== undefined) set.name = input.name;
    if (input.privateKey !== undefined) {
      const key = await sealFor(tx, ctx.config, now, secretRef(conn, 'private_key'), input.privateKey);
      set.private_key_ct = key.ct;
      set.private_key_key_version = key.keyVersion;
    }
    if (input.webhookSecret !== undefined) {
      const hook = await sealFor(tx, ctx.config, now, secretRef(conn, 'webhook_secret'), input.webhookSecret);
      set.webhook_secret_ct = hook.ct;
      set.webhook_secret_key_version = hook.keyVersion;
    }
    await tx.updateTable('github_connections').set(set).where('id', '=', conn.id).execute();
    await recordGithubAudit(tx, ctx, {
      orgId,
      action: 'github_connection.updated',
      targets: [{ type: 'github_connection', id: conn.id, name: input.name ?? conn.name }],
      metadata: {
        renamed: input.name !== undefined && input.name !== conn.name,
        privateKeyRotated: input.privateKey !== undefined,
        webhookSecretRotated: input.webhookSecret !== undefined,
      },
    });
    const installs = await tx
      .selectFrom('github_installations')
      .selectAll()
      .where('connection_id', '=', conn.id)
      .execute();
    return connectionView(ctx.config, { ...conn, ...set } as GithubConnectionsTable, installs);
  });
}

export async function listConnections(ctx: Ctx, orgId: string): Promise<{ data: ConnectionView[] }> {
  await authorize(ctx, orgId, 'github.manage');
  const rows = await ctx.db
    .selectFrom('github_connections')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('status', '=', 'active')
    .orderBy('id')
    .execute();
  const installs = await ctx.db.selectFrom('github_installations').selectAll().where('org_id', '=', orgId).execute();
  return {
    data: rows.map((r) =>
      connectionView(
        ctx.config,
        r,
        installs.filter((i) => i.connection_id === r.id),
      ),
    ),
  };
}

export async function getConnection(ctx: Ctx, orgId: string, connectionId: string): Promise<ConnectionView> {
  await authorize(ctx, orgId, 'github.manage');
  const conn = await connectionById(ctx.db, orgId, connectionId);
  const installs = await ctx.db
    .selectFrom('github_installations')
    .selectAll()
    .where('connection_id', '=', conn.id)
    .execute();
  return connectionView(ctx.config, conn, installs);
}

/** Removes the connection and everything under it: installations, allowlisted repositories, findings, pending jobs. */
export async function deleteConnection(ctx: Ctx, orgId: string, connectionId: string): Promise<void> {
  await authorize(ctx, orgId, 'github.manage');
  const conn = await connectionById(ctx.db, orgId, connectionId);
  const removed = await ctx.db.transaction().execute(async (tx) => {
    const repos = await tx
      .selectFrom('github_repositories')
      .select('id')
      .where('connection_id', '=', conn.id)
      .execute();
    const ids = repos.map((r) => r.id);
    if (ids.length) {
      await tx.deleteFrom('github_findings').where('repository_id', 'in', ids).execute();
      await tx.deleteFrom('github_suppressions').where('repository_id', 'in', ids).execute();
      await tx
        .deleteFrom('github_jobs')
        .where('repository_id', 'in', ids)
        .where('status', 'in', ['queued', 'running'])
        .execute();
      await tx.deleteFrom('github_repositories').where('id', 'in', ids).execute();
    }
    await tx.deleteFrom('github_installations').where('connection_id', '=', conn.id).execute();
    await tx
      .updateTable('github_connections')
      .set({ status: 'deleted', updated_at: ctx.clock.now().toISOString() })
      .where('id', '=', conn.id)
      .execute();
    await recordGithubAudit(tx, ctx, {
      orgId,
      action: 'github_connection.deleted',
      targets: [{ type: 'github_connection', id: conn.id, name: conn.name }],
      metadata: { repositoriesRemoved: ids.length },
    });
    return ids;
  });
  // Palisade's copies go too: nothing of these repositories stays on disk.
  for (const id of removed) await rm(mirrorDir(ctx.config, orgId, id), { recursive: true, force: true });
}

export const AvailableInstallationView = Type.Object({
  installationId: Type.String(),
  accountLogin: Type.String(),
  accountType: Type.String(),
  picked: Type.Boolean(),
});
export type AvailableInstallationView = Static<typeof AvailableInstallationView>;

/** The App's installations as GitHub lists them, each marked picked or not. */
export async function listAvailableInstallations(
  ctx: Ctx,
  orgId: string,
  connectionId: string,
): Promise<{ data: AvailableInstallationView[] }> {
  await authorize(ctx, orgId, 'github.manage');
  const conn = await connectionById(ctx.db, orgId, connectionId);
  const app = await appFor(ctx.db, ctx.config, conn);
  let list: { id: number; account: { login?: string; type?: string; slug?: string } | null }[];
  try {
    list = (await app.octokit.request('GET /app/installations', { per_page: 100 })).data as typeof list;
  } catch (err) {
    throw githubCallFailed(err, 'listing the App installations');
  }
  const picked = new Set(
    (
      await ctx.db
        .selectFrom('github_installations')
        .select('installation_id')
        .where('connection_id', '=', conn.id)
        .execute()
    ).map((r) => r.installation_id),
  );
  return {
    data: list.map((i) => ({
      installationId: String(i.id),
      accountLogin: i.account?.login ?? i.account?.slug ?? '',
      accountType: i.account?.type ?? 'Organization',
      picked: picked.has(String(i.id)),
    })),
  };
}

export const AddInstallationInput = Type.Object(
  { installationId: Type.String({ pattern: '^[0-9]{1,20}$' }) },
  { additionalProperties: false },
);

export async function addInstallation(
  ctx: Ctx,
  orgId: string,
  connectionId: string,
  input: Static<typeof AddInstallationInput>,
): Promise<AvailableInstallationView> {
  await authorize(ctx, orgId, 'github.manage');
  const conn = await connectionById(ctx.db, orgId, connectionId);
  const app = await appFor(ctx.db, ctx.config, conn);
  let account: { login?: string; type?: string; slug?: string } | null;
  try {
    account = (
      await app.octokit.request('GET /app/installations/{installation_id}', {
        installation_id: Number(input.installationId),
      })
    ).data.account as typeof account;
  } catch (err) {
    if ((err as { status?: number }).status === 404)
      throw githubError(
        'github_installation_not_found',
        `GitHub knows no installation ${input.installationId} of this App. List them with GET …/github/connections/${connectionId}/available-installations.`,
      );
    throw githubCallFailed(err, 'reading the installation');
  }
  const login = account?.login ?? account?.slug ?? '';
  const now = ctx.clock.now();
  await ctx.db.transaction().execute(async (tx) => {
    const existing = await tx
      .selectFrom('github_installations')
      .select('id')
      .where('connection_id', '=', conn.id)
      .where('installation_id', '=', input.installationId)
      .executeTakeFirst();
    if (existing) return;
    const id = newId('ghi', now);
    await tx
      .insertInto('github_installations')
      .values({
        id,
        org_id: orgId,
        connection_id: conn.id,
        installation_id: input.installationId,
        account_login: login,
        created_at: now.toISOString(),
      })
      .execute();
    await recordGithubAudit(tx, ctx, {
      orgId,
      action: 'github_installation.added',
      targets: [
        { type: 'github_connection', id: conn.id, name: conn.name },
        { type: 'github_installation', id: input.installationId, name: login },
      ],
      metadata: { accountLogin: login },
    });
  });
  return {
    installationId: input.installationId,
    accountLogin: login,
    accountType: account?.type ?? 'Organization',
    picked: true,
  };
}

export async function removeInstallation(
  ctx: Ctx,
  orgId: string,
  connectionId: string,
  installationId: string,
): Promise<void> {
  await authorize(ctx, orgId, 'github.manage');
  const conn = await connectionById(ctx.db, orgId, connectionId);
  const inst = await ctx.db
    .selectFrom('github_installations')
    .selectAll()
    .where('connection_id', '=', conn.id)
    .where('installation_id', '=', installationId)
    .executeTakeFirst();
  if (!inst) throw notFound('installation');
  const removed = await ctx.db.transaction().execute(async (tx) => {
    const repos = (
      await tx
        .selectFrom('github_repositories')
        .select('id')
        .where('connection_id', '=', conn.id)
        .where('installation_id', '=', installationId)
        .execute()
    ).map((r) => r.id);
    if (repos.length) {
      await tx.deleteFrom('github_findings').where('repository_id', 'in', repos).execute();
      await tx.deleteFrom('github_suppressions').where('repository_id', 'in', repos).execute();
      await tx.deleteFrom('github_repositories').where('id', 'in', repos).execute();
    }
    await tx.deleteFrom('github_installations').where('id', '=', inst.id).execute();
    await recordGithubAudit(tx, ctx, {
      orgId,
      action: 'github_installation.removed',
      targets: [
        { type: 'github_connection', id: conn.id, name: conn.name },
        { type: 'github_installation', id: installationId, name: inst.account_login },
      ],
      metadata: { repositoriesRemoved: repos.length },
    });
    return repos;
  });
  for (const id of removed) await rm(mirrorDir(ctx.config, orgId, id), { recursive: true, force: true });
}

export interface GithubRepositoryInfo {
  id: number;
  full_name: string;
  default_branch?: string;
  private: boolean;
}

/** An installation's client (installation token, cached and renewed by @octokit/auth-app). */
export async function installationOctokit(
  db: Queryable,
  config: PalisadeConfig,
  conn: GithubConnectionsTable,
  installationId: string,
): Promise<Octokit> {
  const app = await appFor(db, config, conn);
  return app.getInstallationOctokit(Number(installationId));
}

/** A short-lived installation access token, for git over HTTPS. */
export async function installationToken(
  db: Queryable,
  config: PalisadeConfig,
  conn: GithubConnectionsTable,
  installationId: string,
): Promise<string> {
  const octokit = await installationOctokit(db, config, conn, installationId);
  try {
    const auth = (await octokit.auth({ type: 'installation' })) as { token: string };
    return auth.token;
  } catch (err) {
    throw githubCallFailed(err, 'creating an installation token');
  }
}
