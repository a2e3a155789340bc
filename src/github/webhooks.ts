import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { recordBadToken } from '../auth/bad-credentials.js';
import type { Ctx } from '../context.js';
import { systemCtx } from '../context.js';
import { PalisadeError } from '../errors.js';
import { recordGithubAudit } from './record-audit.js';
import { rm } from 'node:fs/promises';
import { dropRepositories } from './allowlist.js';
import { appFor } from './connection.js';
import { mirrorDir } from './git.js';
import { githubError } from './errors.js';
import { enqueueGithubJob, kickGithubJobs } from './jobs.js';
import { activeConnection, repositoryByGithubId } from './store.js';
import './pr-scan.js';
import './repo-scan.js';

/**
 * The GitHub webhook endpoint, POST /github/webhooks/:githubConnectionId — its own encapsulated
 * plugin with its own authentication: the X-Hub-Signature-256 HMAC of the raw body under the
 * connection's webhook secret, verified by @octokit/webhooks. No Palisade credential is involved.
 * Each delivery id is accepted once (a replay answers 409 and changes nothing); the organization
 * is the connection's, never anything in the payload.
 */
interface Delivery {
  event: string;
  deliveryId: string;
  signature: string;
  body: string;
}

const DELIVERY_ID = /^[A-Za-z0-9-]{1,100}$/;

export async function receiveWebhook(
  ctx: Ctx,
  connectionId: string,
  d: Delivery,
): Promise<{ accepted: boolean; queued: string | null; note: string }> {
  const conn = connectionId.length <= 64 ? await activeConnection(ctx.db, connectionId) : undefined;
  if (!conn)
    throw githubError(
      'webhook_connection_unknown',
      'No GitHub connection answers at this URL. Copy the webhook URL again from the connection in Palisade.',
    );
  const app = await appFor(ctx.db, ctx.config, conn);
  const sys: Ctx = { ...ctx, caller: { kind: 'system', name: `github:${conn.id}` } };
  const valid =
    d.signature.startsWith('sha256=') && (await app.webhooks.verify(d.body, d.signature).catch(() => false));
  if (!valid) {
    await recordBadToken(ctx.db, ctx.clock, ctx.config, ctx.meta.ip);
    await ctx.db.transaction().execute((tx) =>
      recordGithubAudit(tx, sys, {
        orgId: conn.org_id,
        action: 'github_webhook.rejected',
        outcome: 'denied',
        targets: [{ type: 'github_connection', id: conn.id, name: conn.name }],
        metadata: {
          reason: 'webhook_signature_invalid',
          event: d.event.slice(0, 64),
          deliveryId: d.deliveryId.slice(0, 100),
        },
      }),
    );
    throw githubError(
      'webhook_signature_invalid',
      "The X-Hub-Signature-256 header does not match the body under this connection's webhook secret. Set the same secret in the GitHub App and in Palisade.",
    );
  }
  if (!DELIVERY_ID.test(d.deliveryId))
    throw githubError('webhook_payload_invalid', 'The X-GitHub-Delivery header is missing or malformed.');
  let payload: Record<string, unknown>;
  try {
    payload = JSON.parse(d.body) as Record<string, unknown>;
  } catch {
    throw githubError(
      'webhook_payload_invalid',
      'The body is not JSON. Set the App webhook content type to application/json.',
    );
  }
  if (typeof payload !== 'object' || payload === null)
    throw githubError('webhook_payload_invalid', 'The body is not a JSON object.');
  const now = ctx.clock.now();
  const removedMirrors: string[] = [];
  const result = await ctx.db.transaction().execute(async (tx) => {
    const inserted = await tx
      .insertInto('github_webhook_deliveries')
      .values({
        connection_id: conn.id,
        delivery_id: d.deliveryId,
        event: d.event.slice(0, 64),
        received_at: now.toISOString(),
      })
      .onConflict((oc) => oc.columns(['connection_id', 'delivery_id']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
      throw Object.assign(
        githubError(
          'webhook_delivery_replayed',
          `Delivery ${d.deliveryId} was already received; a delivery is processed once. Trigger a new event (or re-run the scan from Palisade) instead.`,
        ),
        { replay: { orgId: conn.org_id, connectionId: conn.id, name: conn.name } },
      );
    }
    // The App lost access on GitHub: what it can no longer read leaves the allowlist (and Palisade's copy is deleted).
    if (
      (d.event === 'installation' && payload.action === 'deleted') ||
      (d.event === 'installation_repositories' && payload.action === 'removed')
    ) {
      const installationId = String((payload.installation as { id?: unknown } | undefined)?.id ?? '');
      const removedIds =
        d.event === 'installation'
          ? null
          : ((payload.repositories_removed as { id?: unknown }[] | undefined) ?? []).map((r) => String(r.id));
      let q = tx
        .selectFrom('github_repositories')
        .selectAll()
        .where('connection_id', '=', conn.id)
        .where('installation_id', '=', installationId);
      if (removedIds) q = q.where('github_id', 'in', removedIds.length ? removedIds : ['']);
      const gone = await q.execute();
      const sysCtx: Ctx = { ...ctx, caller: { kind: 'system', name: `github:${conn.id}` } };
      await dropRepositories(
        tx,
        sysCtx,
        gone,
        d.event === 'installation' ? 'app_uninstalled_on_github' : 'access_removed_on_github',
      );
      if (d.event === 'installation') {
        const inst = await tx
          .selectFrom('github_installations')
          .selectAll()
          .where('connection_id', '=', conn.id)
          .where('installation_id', '=', installationId)
          .executeTakeFirst();
        if (inst) {
          await tx.deleteFrom('github_installations').where('id', '=', inst.id).execute();
          await recordGithubAudit(tx, sysCtx, {
            orgId: conn.org_id,
            action: 'github_installation.removed',
            targets: [
              { type: 'github_connection', id: conn.id, name: conn.name },
              { type: 'github_installation', id: installationId, name: inst.account_login },
            ],
            metadata: { reason: 'app_uninstalled_on_github', repositoriesRemoved: gone.length },
          });
        }
      }
      removedMirrors.push(...gone.map((r) => mirrorDir(ctx.config, r.org_id, r.id)));
      return {
        accepted: true,
        queued: null,
        note: `${gone.length} repositor${gone.length === 1 ? 'y' : 'ies'} left the allowlist.`,
      };
    }
    const repoInfo = payload.repository as { id?: unknown; default_branch?: unknown } | undefined;
    const repo =
      repoInfo && (typeof repoInfo.id === 'number' || typeof repoInfo.id === 'string')
        ? await repositoryByGithubId(tx, conn.id, String(repoInfo.id))
        : undefined;
    if (!repo || repo.org_id !== conn.org_id)
      return {
        accepted: true,
        queued: null,
        note: repoInfo ? 'The repository is not on the allowlist; nothing to do.' : `Event ${d.event} needs no action.`,
      };
    if (d.event === 'push') {
      const defaultBranch =
        typeof repoInfo?.default_branch === 'string' ? repoInfo.default_branch : repo.default_branch;
      if (payload.ref !== `refs/heads/${defaultBranch}` || payload.deleted === true)
        return { accepted: true, queued: null, note: 'Only pushes to the default branch are scanned.' };
      if (defaultBranch !== repo.default_branch)
        await tx
          .updateTable('github_repositories')
          .set({ default_branch: defaultBranch })
          .where('id', '=', repo.id)
          .execute();
      const id = await enqueueGithubJob(tx, now, {
        orgId: repo.org_id,
        repositoryId: repo.id,
        kind: 'repository_scan',
        payload: { reason: 'push', after: String(payload.after ?? ''), deliveryId: d.deliveryId },
      });
      return { accepted: true, queued: id, note: 'The default branch will be secret-scanned.' };
    }
    if (d.event === 'pull_request') {
      const action = String(payload.action ?? '');
      if (!['opened', 'synchronize', 'reopened'].includes(action))
        return { accepted: true, queued: null, note: `pull_request ${action} needs no scan.` };
      if (repo.pr_scan !== 1)
        return { accepted: true, queued: null, note: 'Pull request scanning is off for this repository.' };
      const pr = payload.pull_request as
        { number?: unknown; head?: { sha?: unknown }; base?: { sha?: unknown; ref?: unknown } } | undefined;
      const number = typeof payload.number === 'number' ? payload.number : pr?.number;
      if (
        typeof number !== 'number' ||
        typeof pr?.head?.sha !== 'string' ||
        typeof pr.base?.sha !== 'string' ||
        typeof pr.base.ref !== 'string' ||
        !/^[0-9a-f]{40}$/.test(pr.head.sha) ||
        !/^[0-9a-f]{40}$/.test(pr.base.sha)
      ) {
        throw githubError('webhook_payload_invalid', 'The pull_request payload lacks its number, head or base commit.');
      }
      const id = await enqueueGithubJob(tx, now, {
        orgId: repo.org_id,
        repositoryId: repo.id,
        kind: 'pull_request_scan',
        payload: { number, headSha: pr.head.sha, baseSha: pr.base.sha, baseRef: pr.base.ref, deliveryId: d.deliveryId },
      });
      return { accepted: true, queued: id, note: `Pull request #${number} will be scanned.` };
    }
    return { accepted: true, queued: null, note: `Event ${d.event} needs no action.` };
  });
  for (const dir of removedMirrors) await rm(dir, { recursive: true, force: true });
  return result;
}

export const WebhookAccepted = Type.Object({
  accepted: Type.Boolean(),
  queued: Type.Union([Type.String(), Type.Null()]),
  note: Type.String(),
});

/** The webhook plugin: raw-body parsing, signature auth inside the operation, errors in Palisade's shape, and its own 404. */
export async function githubWebhookRoutes(app: FastifyInstance): Promise<void> {
  await app.register(
    async (hooks) => {
      hooks.removeAllContentTypeParsers();
      hooks.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 25 * 1024 * 1024 }, (_req, body, done) =>
        done(null, body),
      );
      hooks.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
        const e =
          err instanceof PalisadeError
            ? err
            : (err as { code?: string }).code === 'FST_ERR_CTP_BODY_TOO_LARGE'
              ? githubError(
                  'webhook_payload_too_large',
                  'The delivery is larger than 25 MB; GitHub caps payloads at 25 MB.',
                )
              : new PalisadeError(
                  500,
                  'internal_error',
                  'Something went wrong in Palisade; GitHub will show this delivery as failed and you can redeliver it.',
                );
        if (e.status >= 500) request.log.error({ err }, 'GitHub webhook failed');
        const replay = (err as { replay?: { orgId: string; connectionId: string; name: string } }).replay;
        const done = () =>
          reply.status(e.status).send({ error: { code: e.code, message: e.message, requestId: request.id } });
        if (!replay) return done();
        const sys: Ctx = { ...request.ctx, caller: { kind: 'system', name: `github:${replay.connectionId}` } };
        return request.ctx.db
          .transaction()
          .execute((tx) =>
            recordGithubAudit(tx, sys, {
              orgId: replay.orgId,
              action: 'github_webhook.rejected',
              outcome: 'denied',
              targets: [{ type: 'github_connection', id: replay.connectionId, name: replay.name }],
              metadata: {
                reason: 'webhook_delivery_replayed',
                deliveryId: String(request.headers['x-github-delivery'] ?? '').slice(0, 100),
              },
            }),
          )
          .then(done, done);
      });
      hooks.setNotFoundHandler((request, reply) =>
        reply.status(404).send({
          error: {
            code: 'not_found',
            message: 'POST deliveries to /github/webhooks/{connectionId}.',
            requestId: request.id,
          },
        }),
      );
      hooks.post(
        '/:githubConnectionId',
        {
          schema: {
            tags: ['GitHub'],
            operationId: 'receiveGithubWebhook',
            summary:
              'GitHub App webhook deliveries (authenticated by X-Hub-Signature-256, each delivery id accepted once)',
            security: [],
            params: Type.Object({ githubConnectionId: Type.String({ maxLength: 200 }) }),
            response: {
              202: WebhookAccepted,
              200: WebhookAccepted,
              400: Type.Ref('Error'),
              401: Type.Ref('Error'),
              404: Type.Ref('Error'),
              409: Type.Ref('Error'),
              413: Type.Ref('Error'),
              429: Type.Ref('Error'),
            },
          },
        },
        async (request, reply) => {
          const h = request.headers;
          const result = await receiveWebhook(
            request.ctx,
            (request.params as { githubConnectionId: string }).githubConnectionId,
            {
              event: String(h['x-github-event'] ?? ''),
              deliveryId: String(h['x-github-delivery'] ?? ''),
              signature: String(h['x-hub-signature-256'] ?? ''),
              body: typeof request.body === 'string' ? request.body : '',
            },
          );
          if (result.queued)
            kickGithubJobs(systemCtx(request.ctx, 'github'), (err) => request.log.error({ err }, 'GitHub scan failed'));
          return reply.status(result.queued ? 202 : 200).send(result);
        },
      );
    },
    { prefix: '/github/webhooks' },
  );
}
