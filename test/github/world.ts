import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PalisadeConfig } from '../../src/config.js';
import { githubJobsSettled, runGithubJobs } from '../../src/github/jobs.js';
import { type Agent, type Reply, type TestApp, createTestApp } from '../helpers/harness.js';
import { type FileSpec, GitHubStandIn } from './stand-in.js';

/** An organization connected to the GitHub stand-in, with one installation picked. */
export interface GithubWorld {
  t: TestApp;
  gh: GitHubStandIn;
  orgId: string;
  owner: Agent;
  connectionId: string;
  installationId: number;
  /** Creates a repository on the stand-in and allowlists it; runs its first secret scan. */
  allowlist(
    fullName: string,
    files: Record<string, FileSpec>,
    body?: Record<string, unknown>,
  ): Promise<{ repositoryId: string; repo: Reply }>;
  /** Runs the queued scans (what the scheduler or the webhook's worker would do). */
  runJobs(): Promise<{ ran: number; failed: number }>;
  deliver(
    event: string,
    payload: unknown,
    opts?: { deliveryId?: string; secret?: string; signature?: string },
  ): Promise<Reply>;
  close(): Promise<void>;
}

export async function githubWorld(overrides: Partial<PalisadeConfig> = {}): Promise<GithubWorld> {
  const gh = await new GitHubStandIn().start();
  const cache = mkdtempSync(join(tmpdir(), 'palisade-gh-cache-'));
  const t = await createTestApp({ githubAllowHttp: true, githubCacheDir: cache, ...overrides });
  const { orgId, owner } = await t.seedOrg('Acme Robotics', 'owner@acme.example');
  const installationId = gh.addInstallation('acme');
  const conn = await owner.post(`/api/v1/orgs/${orgId}/github/connections`, {
    name: 'Acme GitHub',
    appId: gh.appId,
    privateKey: gh.privateKey,
    webhookSecret: gh.webhookSecret,
    apiBaseUrl: gh.apiBase,
  });
  if (conn.status !== 201) throw new Error(`connect failed: ${conn.status} ${conn.raw.body}`);
  const connectionId = conn.body.id as string;
  const inst = await owner.post(`/api/v1/orgs/${orgId}/github/connections/${connectionId}/installations`, {
    installationId: String(installationId),
  });
  if (inst.status !== 201) throw new Error(`installation failed: ${inst.status} ${inst.raw.body}`);
  const runJobs = async () => {
    await githubJobsSettled();
    const ran = await runGithubJobs({ db: t.db.database.db, clock: t.clock, config: t.config });
    // Jobs run outside a request: with batched sealing their audit events are pending until a
    // sweep (at most 200 ms in a server). Tests read audit_events right after, so seal now.
    await t.sealAudit();
    return ran;
  };
  return {
    t,
    gh,
    orgId,
    owner,
    connectionId,
    installationId,
    runJobs,
    async allowlist(fullName, files, body = {}) {
      gh.createRepo(fullName, installationId, files);
      const res = await owner.post(`/api/v1/orgs/${orgId}/github/repositories`, {
        connectionId,
        installationId: String(installationId),
        fullName,
        ...body,
      });
      if (res.status !== 201) throw new Error(`allowlist failed: ${res.status} ${res.raw.body}`);
      await runJobs();
      return {
        repositoryId: res.body.id,
        repo: await owner.get(`/api/v1/orgs/${orgId}/github/repositories/${res.body.id}`),
      };
    },
    async deliver(event, payload, opts = {}) {
      const d = gh.signedDelivery(event, payload, opts);
      if (opts.signature !== undefined) d.headers['x-hub-signature-256'] = opts.signature;
      const res = await t.app.inject({
        method: 'POST',
        url: `/github/webhooks/${connectionId}`,
        headers: d.headers,
        payload: d.body,
        remoteAddress: '192.0.2.50',
      });
      return {
        status: res.statusCode,
        body: res.body ? JSON.parse(res.body) : undefined,
        headers: res.headers,
        raw: res,
      };
    },
    async close() {
      await githubJobsSettled();
      await t.close();
      await gh.close();
      rmSync(cache, { recursive: true, force: true });
    },
  };
}
