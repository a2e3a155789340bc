import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PageQuerySchema, pageRequest, pageSchema } from '../http/pagination.js';
import { errorResponses, noContent } from '../http/schemas.js';
import {
  AllowlistRepositoryInput,
  InstallationRepositoryView,
  UpdateRepositoryInput,
  allowlistRepository,
  getRepository,
  listInstallationRepositories,
  listRepositories,
  removeRepository,
  rescanRepository,
  updateRepository,
} from './allowlist.js';
import {
  AddInstallationInput,
  AvailableInstallationView,
  CreateConnectionInput,
  UpdateConnectionInput,
  addInstallation,
  createConnection,
  deleteConnection,
  getConnection,
  listAvailableInstallations,
  listConnections,
  removeInstallation,
  updateConnection,
} from './connection.js';
import {
  AcknowledgeFindingInput,
  CreateSuppressionInput,
  ListFindingsQuery,
  acknowledgeFinding,
  createSuppression,
  deleteSuppression,
  listFindings,
  listPrScans,
  listSuppressions,
} from './findings.js';
import { AccessibleRepositoriesView, RulesView, accessibleRepositories, listRules } from './catalog.js';
import {
  FileView,
  PullDiffView,
  SearchQuery,
  SearchView,
  TreeView,
  listTree,
  readFile,
  readPullRequestDiff,
  searchCode,
} from './tools.js';
import { ConnectionView, FindingView, PrScanView, RepositoryView, SuppressionView } from './views.js';

/**
 * The GitHub admin API and the repository tools, under /api/v1/orgs/:orgId/github. Handlers are
 * one line: every decision is in the operations. The webhook endpoint is a separate plugin
 * (webhooks.ts) with its own authentication.
 */
const tags = ['GitHub'];
const toolTags = ['GitHub repository tools'];
const id = (d: string) => Type.String({ maxLength: 64, description: d });
const OrgP = Type.Object({ orgId: id('Organization id') });
const ConnP = Type.Object({ orgId: id('Organization id'), githubConnectionId: id('GitHub connection id') });
const InstP = Type.Object({
  orgId: id('Organization id'),
  githubConnectionId: id('GitHub connection id'),
  installationId: Type.String({ maxLength: 20 }),
});
const RepoP = Type.Object({ orgId: id('Organization id'), repositoryId: id('Allowlisted repository id') });
const FindingP = Type.Object({
  orgId: id('Organization id'),
  repositoryId: id('Allowlisted repository id'),
  findingId: id('Finding id'),
});
const SuppP = Type.Object({
  orgId: id('Organization id'),
  repositoryId: id('Allowlisted repository id'),
  suppressionId: id('Suppression id'),
});
const PullP = Type.Object({
  orgId: id('Organization id'),
  repositoryId: id('Allowlisted repository id'),
  pullNumber: Type.Integer({ minimum: 1, maximum: 100_000_000 }),
});
const PathQuery = Type.Object({
  path: Type.Optional(Type.String({ maxLength: 1000, description: 'Repository-relative path (required).' })),
});
const DirQuery = Type.Object({
  path: Type.Optional(
    Type.String({ maxLength: 1000, description: 'Directory, relative to the root (default: the root).' }),
  ),
});
const list = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Object({ data: Type.Array(item) });
const Queued = Type.Object({ queued: Type.Boolean() });
const Acknowledged = Type.Object({ finding: FindingView, repositoryStatus: Type.String() });

export async function githubRoutes(root: FastifyInstance): Promise<void> {
  await root.register(
    async (r) => {
      const app = r.withTypeProvider<TypeBoxTypeProvider>();
      // Routes that call GitHub also answer 502 when it cannot be reached or refuses.
      const upstream = { 502: Type.Ref('Error') };
      const res = <S extends 200 | 201 | 202, T>(status: S, schema: T) =>
        ({ ...errorResponses, [status]: schema }) as typeof errorResponses & { [K in S]: T };

      // Connection and installations.
      app.post(
        '/connections',
        {
          schema: {
            tags,
            operationId: 'createGithubConnection',
            summary: 'Connect a GitHub App (credentials are checked with GitHub, then stored encrypted)',
            params: OrgP,
            body: CreateConnectionInput,
            response: { ...upstream, ...res(201, ConnectionView) },
          },
        },
        async (q, reply) => reply.status(201).send(await createConnection(q.ctx, q.params.orgId, q.body)),
      );
      app.get(
        '/connections',
        {
          schema: {
            tags,
            operationId: 'listGithubConnections',
            summary: 'GitHub App connections with their picked installations',
            params: OrgP,
            response: res(200, list(ConnectionView)),
          },
        },
        async (q) => listConnections(q.ctx, q.params.orgId),
      );
      app.get(
        '/connections/:githubConnectionId',
        {
          schema: {
            tags,
            operationId: 'getGithubConnection',
            summary: 'A GitHub App connection and its webhook URL',
            params: ConnP,
            response: res(200, ConnectionView),
          },
        },
        async (q) => getConnection(q.ctx, q.params.orgId, q.params.githubConnectionId),
      );
      app.patch(
        '/connections/:githubConnectionId',
        {
          schema: {
            tags,
            operationId: 'updateGithubConnection',
            summary: 'Rename a connection, or rotate its private key or webhook secret',
            params: ConnP,
            body: UpdateConnectionInput,
            response: { ...res(200, ConnectionView), ...upstream },
          },
        },
        async (q) => updateConnection(q.ctx, q.params.orgId, q.params.githubConnectionId, q.body),
      );
      app.delete(
        '/connections/:githubConnectionId',
        {
          schema: {
            tags,
            operationId: 'deleteGithubConnection',
            summary: 'Remove a connection with its installations and allowlisted repositories',
            params: ConnP,
            response: { ...noContent, ...errorResponses },
          },
        },
        async (q, reply) => {
          await deleteConnection(q.ctx, q.params.orgId, q.params.githubConnectionId);
          return reply.status(204).send();
        },
      );
      app.get(
        '/connections/:githubConnectionId/available-installations',
        {
          schema: {
            tags,
            operationId: 'listGithubAvailableInstallations',
            summary: "The App's installations on GitHub, marked picked or not",
            params: ConnP,
            response: { ...upstream, ...res(200, list(AvailableInstallationView)) },
          },
        },
        async (q) => listAvailableInstallations(q.ctx, q.params.orgId, q.params.githubConnectionId),
      );
      app.post(
        '/connections/:githubConnectionId/installations',
        {
          schema: {
            tags,
            operationId: 'addGithubInstallation',
            summary: 'Pick an installation for this organization',
            params: ConnP,
            body: AddInstallationInput,
            response: { ...upstream, ...res(201, AvailableInstallationView) },
          },
        },
        async (q, reply) =>
          reply.status(201).send(await addInstallation(q.ctx, q.params.orgId, q.params.githubConnectionId, q.body)),
      );
      app.delete(
        '/connections/:githubConnectionId/installations/:installationId',
        {
          schema: {
            tags,
            operationId: 'removeGithubInstallation',
            summary: 'Drop an installation (its repositories leave the allowlist)',
            params: InstP,
            response: { ...noContent, ...errorResponses },
          },
        },
        async (q, reply) => {
          await removeInstallation(q.ctx, q.params.orgId, q.params.githubConnectionId, q.params.installationId);
          return reply.status(204).send();
        },
      );
      app.get(
        '/connections/:githubConnectionId/installations/:installationId/repositories',
        {
          schema: {
            tags,
            operationId: 'listGithubInstallationRepositories',
            summary: 'Repositories an installation can read, marked with their allowlist entry',
            params: InstP,
            response: { ...upstream, ...res(200, list(InstallationRepositoryView)) },
          },
        },
        async (q) =>
          listInstallationRepositories(q.ctx, q.params.orgId, q.params.githubConnectionId, q.params.installationId),
      );

      // Allowlist, findings, suppressions, scans.
      app.post(
        '/repositories',
        {
          schema: {
            tags,
            operationId: 'allowlistGithubRepository',
            summary: 'Allowlist a repository (readable once its secret scan is clear)',
            params: OrgP,
            body: AllowlistRepositoryInput,
            response: { ...upstream, ...res(201, RepositoryView) },
          },
        },
        async (q, reply) => reply.status(201).send(await allowlistRepository(q.ctx, q.params.orgId, q.body)),
      );
      app.get(
        '/repositories',
        {
          schema: {
            tags,
            operationId: 'listGithubRepositories',
            summary: 'The repository allowlist',
            params: OrgP,
            response: res(200, list(RepositoryView)),
          },
        },
        async (q) => listRepositories(q.ctx, q.params.orgId),
      );
      app.get(
        '/repositories/:repositoryId',
        {
          schema: {
            tags,
            operationId: 'getGithubRepository',
            summary: 'An allowlisted repository: access, deny rules, scan state',
            params: RepoP,
            response: res(200, RepositoryView),
          },
        },
        async (q) => getRepository(q.ctx, q.params.orgId, q.params.repositoryId),
      );
      app.patch(
        '/repositories/:repositoryId',
        {
          schema: {
            tags,
            operationId: 'updateGithubRepository',
            summary: 'Change access (roles, groups), deny rules, secret patterns or scanning settings',
            params: RepoP,
            body: UpdateRepositoryInput,
            response: res(200, RepositoryView),
          },
        },
        async (q) => updateRepository(q.ctx, q.params.orgId, q.params.repositoryId, q.body),
      );
      app.delete(
        '/repositories/:repositoryId',
        {
          schema: {
            tags,
            operationId: 'removeGithubRepository',
            summary: 'Remove a repository from the allowlist (nothing in it stays reachable)',
            params: RepoP,
            response: { ...noContent, ...errorResponses },
          },
        },
        async (q, reply) => {
          await removeRepository(q.ctx, q.params.orgId, q.params.repositoryId);
          return reply.status(204).send();
        },
      );
      app.post(
        '/repositories/:repositoryId/rescan',
        {
          schema: {
            tags,
            operationId: 'rescanGithubRepository',
            summary: 'Secret-scan the default branch again',
            params: RepoP,
            body: Type.Optional(Type.Object({}, { additionalProperties: false })),
            response: res(202, Queued),
          },
        },
        async (q, reply) =>
          reply.status(202).send(await rescanRepository(q.ctx, q.params.orgId, q.params.repositoryId)),
      );
      app.get(
        '/repositories/:repositoryId/findings',
        {
          schema: {
            tags,
            operationId: 'listGithubFindings',
            summary: 'Secret-scan findings (path, line, rule, redacted match)',
            params: RepoP,
            querystring: ListFindingsQuery,
            response: res(200, pageSchema(FindingView)),
          },
        },
        async (q) => listFindings(q.ctx, q.params.orgId, q.params.repositoryId, pageRequest(q.query), q.query.status),
      );
      app.post(
        '/repositories/:repositoryId/findings/:findingId/acknowledge',
        {
          schema: {
            tags,
            operationId: 'acknowledgeGithubFinding',
            summary: 'Acknowledge an open finding with a reason',
            params: FindingP,
            body: AcknowledgeFindingInput,
            response: res(200, Acknowledged),
          },
        },
        async (q) => acknowledgeFinding(q.ctx, q.params.orgId, q.params.repositoryId, q.params.findingId, q.body),
      );
      app.get(
        '/repositories/:repositoryId/suppressions',
        {
          schema: {
            tags,
            operationId: 'listGithubSuppressions',
            summary: 'Admin suppressions of PR-scan rules',
            params: RepoP,
            response: res(200, list(SuppressionView)),
          },
        },
        async (q) => listSuppressions(q.ctx, q.params.orgId, q.params.repositoryId),
      );
      app.post(
        '/repositories/:repositoryId/suppressions',
        {
          schema: {
            tags,
            operationId: 'createGithubSuppression',
            summary: 'Suppress a PR-scan rule for paths, with a reason',
            params: RepoP,
            body: CreateSuppressionInput,
            response: res(201, SuppressionView),
          },
        },
        async (q, reply) =>
          reply.status(201).send(await createSuppression(q.ctx, q.params.orgId, q.params.repositoryId, q.body)),
      );
      app.delete(
        '/repositories/:repositoryId/suppressions/:suppressionId',
        {
          schema: {
            tags,
            operationId: 'deleteGithubSuppression',
            summary: 'Remove a suppression',
            params: SuppP,
            response: { ...noContent, ...errorResponses },
          },
        },
        async (q, reply) => {
          await deleteSuppression(q.ctx, q.params.orgId, q.params.repositoryId, q.params.suppressionId);
          return reply.status(204).send();
        },
      );
      app.get(
        '/repositories/:repositoryId/pr-scans',
        {
          schema: {
            tags,
            operationId: 'listGithubPrScans',
            summary: 'Pull request scans, newest first',
            params: RepoP,
            querystring: Type.Object(PageQuerySchema),
            response: res(200, pageSchema(PrScanView)),
          },
        },
        async (q) => listPrScans(q.ctx, q.params.orgId, q.params.repositoryId, pageRequest(q.query)),
      );
      app.get(
        '/rules',
        {
          schema: {
            tags,
            operationId: 'listGithubRules',
            summary: 'The PR-scan rules and the default deny rules',
            params: OrgP,
            response: res(200, RulesView),
          },
        },
        async (q) => listRules(q.ctx, q.params.orgId),
      );

      // The repository tools (members; narrowed per repository).
      app.get(
        '/accessible-repositories',
        {
          schema: {
            tags: toolTags,
            operationId: 'listGithubAccessibleRepositories',
            summary: 'Repositories you may read through the tools, with the tool definitions for a model',
            params: OrgP,
            response: res(200, AccessibleRepositoriesView),
          },
        },
        async (q) => accessibleRepositories(q.ctx, q.params.orgId),
      );
      app.get(
        '/repositories/:repositoryId/tree',
        {
          schema: {
            tags: toolTags,
            operationId: 'listGithubTree',
            summary: 'List a directory (deny-ruled entries withheld)',
            params: RepoP,
            querystring: DirQuery,
            response: res(200, TreeView),
          },
        },
        async (q) => listTree(q.ctx, q.params.orgId, q.params.repositoryId, q.query.path ?? ''),
      );
      app.get(
        '/repositories/:repositoryId/file',
        {
          schema: {
            tags: toolTags,
            operationId: 'readGithubFile',
            summary: 'Read a file (403 path_denied names the deny rule)',
            params: RepoP,
            querystring: PathQuery,
            response: { ...res(200, FileView), 413: Type.Ref('Error'), 422: Type.Ref('Error') },
          },
        },
        async (q) => readFile(q.ctx, q.params.orgId, q.params.repositoryId, q.query.path ?? ''),
      );
      app.get(
        '/repositories/:repositoryId/search',
        {
          schema: {
            tags: toolTags,
            operationId: 'searchGithubCode',
            summary: 'Search the code (matches in deny-ruled files withheld)',
            params: RepoP,
            querystring: SearchQuery,
            response: res(200, SearchView),
          },
        },
        async (q) => searchCode(q.ctx, q.params.orgId, q.params.repositoryId, q.query),
      );
      app.get(
        '/repositories/:repositoryId/pulls/:pullNumber/diff',
        {
          schema: {
            tags: toolTags,
            operationId: 'readGithubPullRequestDiff',
            summary: "A pull request's diff (deny-ruled files withheld, credentials redacted)",
            params: PullP,
            response: { ...res(200, PullDiffView), 413: Type.Ref('Error'), 502: Type.Ref('Error') },
          },
        },
        async (q) => readPullRequestDiff(q.ctx, q.params.orgId, q.params.repositoryId, q.params.pullNumber),
      );
    },
    { prefix: '/api/v1/orgs/:orgId/github' },
  );
}
