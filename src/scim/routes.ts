import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { OrgParams, errorResponses, noContent, ref } from '../http/schemas.js';
import {
  CreateDirectoryInput,
  DirectoryView,
  RotateTokenInput,
  UpdateDirectoryInput,
  createDirectory,
  deleteDirectory,
  getDirectory,
  listDirectories,
  rotateDirectoryToken,
  updateDirectory,
} from './directories.js';
import { DirectoryUserView, DirectoryUsersQuery, listDirectoryUsers } from './people.js';
import {
  RolePreviewInput,
  ScimRoleApplicationView,
  ScimRolePreviewView,
  applyDirectoryRoles,
  applyRolesInTx,
  previewDirectoryRoles,
} from './preview.js';
import { ScimSyncProblemsView, SyncLogEntryView, SyncLogQuery, searchSyncLog, syncProblems } from './sync-log.js';

const tags = ['SCIM provisioning'];
const DirParams = Type.Object({ orgId: Type.String({ maxLength: 64 }), directoryId: Type.String({ maxLength: 64 }) });
const WithToken = Type.Object({
  directory: DirectoryView,
  token: Type.String({ description: 'Bearer token for the identity provider. Shown once.' }),
});

/** Named response components of these routes, registered at the root by app.ts (see sharedSchemas there). */
export const scimSchemas = [ScimSyncProblemsView, ScimRolePreviewView, ScimRoleApplicationView];

/** Admin API for SCIM directories: tokens, sync log, role preview. The SCIM protocol itself is in protocol-routes.ts. */
export async function scimRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const base = '/orgs/:orgId/scim/directories';
  app.post(
    base,
    {
      schema: {
        tags,
        operationId: 'createScimDirectory',
        summary: 'Create a SCIM directory: returns its base URL and a bearer token (shown once)',
        params: OrgParams,
        body: CreateDirectoryInput,
        response: { 201: WithToken, ...errorResponses },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await createDirectory(request.ctx, request.params.orgId, request.body)),
  );
  app.get(
    base,
    {
      schema: {
        tags,
        operationId: 'listScimDirectories',
        summary: 'List SCIM directories',
        params: OrgParams,
        response: { 200: Type.Object({ data: Type.Array(DirectoryView) }), ...errorResponses },
      },
    },
    async (request) => listDirectories(request.ctx, request.params.orgId),
  );
  app.get(
    `${base}/:directoryId`,
    {
      schema: {
        tags,
        operationId: 'getScimDirectory',
        summary: 'Read a SCIM directory',
        params: DirParams,
        response: { 200: DirectoryView, ...errorResponses },
      },
    },
    async (request) => getDirectory(request.ctx, request.params.orgId, request.params.directoryId),
  );
  app.patch(
    `${base}/:directoryId`,
    {
      schema: {
        tags,
        operationId: 'updateScimDirectory',
        summary: 'Rename a directory or turn group-driven roles on/off',
        params: DirParams,
        body: UpdateDirectoryInput,
        response: { 200: DirectoryView, ...errorResponses },
      },
    },
    async (request) =>
      updateDirectory(request.ctx, request.params.orgId, request.params.directoryId, request.body, applyRolesInTx),
  );
  app.post(
    `${base}/:directoryId/rotate-token`,
    {
      schema: {
        tags,
        operationId: 'rotateScimDirectoryToken',
        summary: 'New bearer token; the previous one keeps working for overlapHours (default 24)',
        params: DirParams,
        body: RotateTokenInput,
        response: { 200: WithToken, ...errorResponses },
      },
    },
    async (request) =>
      rotateDirectoryToken(request.ctx, request.params.orgId, request.params.directoryId, request.body),
  );
  app.delete(
    `${base}/:directoryId`,
    {
      schema: {
        tags,
        operationId: 'deleteScimDirectory',
        summary: 'Delete a directory and end its tokens',
        params: DirParams,
        response: { ...noContent, ...errorResponses },
      },
    },
    async (request, reply) => {
      await deleteDirectory(request.ctx, request.params.orgId, request.params.directoryId);
      return reply.status(204).send();
    },
  );
  app.get(
    `${base}/:directoryId/sync-log`,
    {
      schema: {
        tags,
        operationId: 'listScimSyncLog',
        summary: 'Every SCIM request: what it did, how it ended, and the fix when it failed (newest first)',
        params: DirParams,
        querystring: SyncLogQuery,
        response: {
          200: Type.Object({
            data: Type.Array(SyncLogEntryView),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => searchSyncLog(request.ctx, request.params.orgId, request.params.directoryId, request.query),
  );
  app.get(
    `${base}/:directoryId/users`,
    {
      schema: {
        tags,
        operationId: 'listScimDirectoryUsers',
        summary:
          'People this directory provisioned: their Palisade account (or why there is none yet, such as no email address), membership and whether they can sign in',
        params: DirParams,
        querystring: DirectoryUsersQuery,
        response: {
          200: Type.Object({
            data: Type.Array(DirectoryUserView),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => listDirectoryUsers(request.ctx, request.params.orgId, request.params.directoryId, request.query),
  );
  app.get(
    `${base}/:directoryId/sync-log/problems`,
    {
      schema: {
        tags,
        operationId: 'listScimSyncProblems',
        summary: 'Failures and warnings grouped by cause, with the fix and the people/groups affected',
        params: DirParams,
        querystring: Type.Object({ from: Type.Optional(Type.String({ format: 'date-time' })) }),
        response: { 200: ref(ScimSyncProblemsView), ...errorResponses },
      },
    },
    async (request) => syncProblems(request.ctx, request.params.orgId, request.params.directoryId, request.query),
  );
  app.post(
    `${base}/:directoryId/role-preview`,
    {
      schema: {
        tags,
        operationId: 'previewScimRoles',
        summary: 'Dry run: which role each provisioned person would get from their groups (saved or proposed mapping)',
        params: DirParams,
        body: RolePreviewInput,
        response: { 200: ref(ScimRolePreviewView), ...errorResponses },
      },
    },
    async (request) =>
      previewDirectoryRoles(request.ctx, request.params.orgId, request.params.directoryId, request.body),
  );
  app.post(
    `${base}/:directoryId/apply-roles`,
    {
      schema: {
        tags,
        operationId: 'applyScimRoles',
        summary: 'Apply the saved group-to-role mapping to every provisioned person now (after changing the mapping)',
        params: DirParams,
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: { 200: ref(ScimRoleApplicationView), ...errorResponses },
      },
    },
    async (request) => applyDirectoryRoles(request.ctx, request.params.orgId, request.params.directoryId),
  );
}
