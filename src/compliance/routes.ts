import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody, errorHandler, toPalisadeError } from '../http/errors.js';
import { ActivitiesQuery, ActivityView, listActivities } from './activities.js';
import { type ComplianceCall, authenticateKey, authorizeScope, keySecretOf } from './call.js';
import { ChatView, MessageView, MessagesQuery, deleteChat, listChats, listMessages } from './chats.js';
import { ContentListBody, ContentListQuery, bodyAsQuery } from './content-lists.js';
import {
  DirectoryPageQuery,
  DirectoryUserView,
  GroupMemberView,
  GroupView,
  OrganizationView,
  RoleView,
  listGroupMembers,
  listOrganizationGroups,
  listOrganizationUsers,
  listOrganizations,
  listRoles,
  offsetPageSchema,
} from './directory.js';
import { complianceError } from './errors.js';
import { startUserExport } from './export.js';
import { FileView, deleteFile, downloadFile, getFile, listFiles } from './files.js';
import { cursorPageSchema } from './query.js';
import type { Scope } from './scopes.js';
import { UsageQuery, UsageRowView, checkUsageQuery, usageCsv, usageJson } from './usage.js';

/**
 * The Compliance API, /v1/compliance/…: its own credential (compliance keys), its own auth hook,
 * error handler and 404, encapsulated here like the SCIM protocol routes. Every route names the one
 * scope it needs; the hook authenticates the key, applies its rate limit, checks the scope and
 * records the request (`compliance_key.used`) before the handler runs.
 */
declare module 'fastify' {
  interface FastifyContextConfig {
    complianceScope?: Scope;
  }
  interface FastifyRequest {
    compliance?: ComplianceCall;
  }
}

const tags = ['Compliance API'];
const security = [{ complianceKey: [] }];
const errors = {
  400: Type.Ref('Error'),
  401: Type.Ref('Error'),
  403: Type.Ref('Error'),
  404: Type.Ref('Error'),
  429: Type.Ref('Error'),
};
const withConflict = { ...errors, 409: Type.Ref('Error'), 410: Type.Ref('Error') };
const call = (request: FastifyRequest): ComplianceCall => request.compliance as ComplianceCall;

const ChatParams = Type.Object({ chat_id: Type.String({ maxLength: 64 }) });
const FileParams = Type.Object({ file_id: Type.String({ maxLength: 64 }) });
const OrgParams = Type.Object({ organization_id: Type.String({ maxLength: 64 }) });
const GroupParams = Type.Object({
  organization_id: Type.String({ maxLength: 64 }),
  group_id: Type.String({ maxLength: 64 }),
});
const UserParams = Type.Object({ user_id: Type.String({ maxLength: 64 }) });

export async function complianceRoutes(root: FastifyInstance): Promise<void> {
  await root.register(
    async (plugin) => {
      const app = plugin.withTypeProvider<TypeBoxTypeProvider>();

      app.addHook('onRequest', async (request) => {
        const base = request.ctx;
        const key = await authenticateKey(base, keySecretOf(request.headers));
        const scope = request.routeOptions.config.complianceScope;
        // Unknown endpoints have no scope: the key is checked, then the 404 below answers.
        if (!scope) return;
        request.compliance = await authorizeScope(base, key, scope, {
          method: request.method,
          url: request.routeOptions.url ?? request.url.split('?')[0] ?? '',
        });
      });
      app.setErrorHandler(
        errorHandler('Compliance API ', toPalisadeError, (request, reply, pe) => {
          if (pe.status === 401) reply.header('www-authenticate', 'Bearer realm="compliance"');
          return reply.status(pe.status).send(errorBody(pe, request.id));
        }),
      );
      app.setNotFoundHandler((request, reply) =>
        reply
          .status(404)
          .send(
            errorBody(
              complianceError(
                'route_not_found',
                `There is no ${request.method} ${request.url.split('?')[0]} endpoint in the Compliance API. Its endpoints are documented at /docs (tag "Compliance API") and in docs/compliance-api.md.`,
              ),
              request.id,
            ),
          ),
      );

      const json = (reply: FastifyReply, text: string) => reply.type('application/json; charset=utf-8').send(text);

      app.get(
        '/activities',
        {
          config: { complianceScope: 'read:compliance_activities' },
          schema: {
            tags,
            security,
            operationId: 'listComplianceActivities',
            summary:
              'The activity feed: audit events of the organization tree, newest first (read:compliance_activities)',
            querystring: ActivitiesQuery,
            response: {
              200: Type.Union([
                cursorPageSchema(ActivityView),
                cursorPageSchema(
                  Type.Record(Type.String(), Type.Unknown(), { description: 'An OCSF 1.1 event (format=ocsf).' }),
                ),
              ]),
              ...errors,
            },
          },
        },
        async (request, reply) => json(reply, (await listActivities(call(request), request.query)).json),
      );

      const dir = { complianceScope: 'read:compliance_directory' as const };
      app.get(
        '/organizations',
        {
          config: dir,
          schema: {
            tags,
            security,
            operationId: 'listComplianceOrganizations',
            summary: 'Organizations the key sees (read:compliance_directory)',
            response: { 200: Type.Object({ data: Type.Array(OrganizationView) }), ...errors },
          },
        },
        async (request) => listOrganizations(call(request)),
      );
      app.get(
        '/organizations/:organization_id/users',
        {
          config: dir,
          schema: {
            tags,
            security,
            operationId: 'listComplianceOrganizationUsers',
            summary: 'Members with role, status, SSO/SCIM source and last sign-in (read:compliance_directory)',
            params: OrgParams,
            querystring: DirectoryPageQuery,
            response: { 200: offsetPageSchema(DirectoryUserView), ...errors },
          },
        },
        async (request) => listOrganizationUsers(call(request), request.params.organization_id, request.query),
      );
      app.get(
        '/organizations/:organization_id/groups',
        {
          config: dir,
          schema: {
            tags,
            security,
            operationId: 'listComplianceOrganizationGroups',
            summary: 'SCIM groups of the organization (read:compliance_directory)',
            params: OrgParams,
            querystring: DirectoryPageQuery,
            response: { 200: offsetPageSchema(GroupView), ...errors },
          },
        },
        async (request) => listOrganizationGroups(call(request), request.params.organization_id, request.query),
      );
      app.get(
        '/organizations/:organization_id/groups/:group_id/members',
        {
          config: dir,
          schema: {
            tags,
            security,
            operationId: 'listComplianceGroupMembers',
            summary: 'Members of a SCIM group (read:compliance_directory)',
            params: GroupParams,
            querystring: DirectoryPageQuery,
            response: { 200: offsetPageSchema(GroupMemberView), ...errors },
          },
        },
        async (request) =>
          listGroupMembers(call(request), request.params.organization_id, request.params.group_id, request.query),
      );
      app.get(
        '/roles',
        {
          config: dir,
          schema: {
            tags,
            security,
            operationId: 'listComplianceRoles',
            summary: 'Roles and their permissions (read:compliance_directory)',
            response: { 200: Type.Object({ data: Type.Array(RoleView) }), ...errors },
          },
        },
        async () => listRoles(),
      );

      const read = { complianceScope: 'read:compliance_user_data' as const };
      const remove = { complianceScope: 'delete:compliance_user_data' as const };
      app.get(
        '/apps/chats',
        {
          config: read,
          schema: {
            tags,
            security,
            operationId: 'listComplianceChats',
            summary:
              'Chats of any number of people, or everyone (read:compliance_user_data; titles are audited as read)',
            querystring: ContentListQuery,
            response: { 200: cursorPageSchema(ChatView), ...errors },
          },
        },
        async (request) => listChats(call(request), request.query),
      );
      app.post(
        '/apps/chats/query',
        {
          config: read,
          schema: {
            tags,
            security,
            operationId: 'queryComplianceChats',
            summary:
              'Same as GET /apps/chats with the filters in a JSON body, for long user lists (read:compliance_user_data)',
            body: ContentListBody,
            response: { 200: cursorPageSchema(ChatView), ...errors },
          },
        },
        async (request) => listChats(call(request), bodyAsQuery(request.body)),
      );
      app.get(
        '/apps/chats/:chat_id/messages',
        {
          config: read,
          schema: {
            tags,
            security,
            operationId: 'listComplianceChatMessages',
            summary: "A chat's messages, decrypted, oldest first; every call is audited (read:compliance_user_data)",
            params: ChatParams,
            querystring: MessagesQuery,
            response: { 200: cursorPageSchema(MessageView), ...withConflict },
          },
        },
        async (request) => listMessages(call(request), request.params.chat_id, request.query),
      );
      app.delete(
        '/apps/chats/:chat_id',
        {
          config: remove,
          schema: {
            tags,
            security,
            operationId: 'deleteComplianceChat',
            summary:
              'Delete a chat and its messages; refused (409 legal_hold) under a legal hold (delete:compliance_user_data)',
            params: ChatParams,
            response: { 204: Type.Null(), ...withConflict },
          },
        },
        async (request, reply) => {
          await deleteChat(call(request), request.params.chat_id);
          return reply.status(204).send(null);
        },
      );
      app.get(
        '/apps/files',
        {
          config: read,
          schema: {
            tags,
            security,
            operationId: 'listComplianceFiles',
            summary: 'Uploaded files of any number of people, or everyone (read:compliance_user_data)',
            querystring: ContentListQuery,
            response: { 200: cursorPageSchema(FileView), ...errors },
          },
        },
        async (request) => listFiles(call(request), request.query),
      );
      app.post(
        '/apps/files/query',
        {
          config: read,
          schema: {
            tags,
            security,
            operationId: 'queryComplianceFiles',
            summary: 'Same as GET /apps/files with the filters in a JSON body (read:compliance_user_data)',
            body: ContentListBody,
            response: { 200: cursorPageSchema(FileView), ...errors },
          },
        },
        async (request) => listFiles(call(request), bodyAsQuery(request.body)),
      );
      app.get(
        '/apps/files/:file_id',
        {
          config: read,
          schema: {
            tags,
            security,
            operationId: 'getComplianceFile',
            summary: "A file's metadata (read:compliance_user_data)",
            params: FileParams,
            response: { 200: FileView, ...errors },
          },
        },
        async (request) => getFile(call(request), request.params.file_id),
      );
      app.get(
        '/apps/files/:file_id/content',
        {
          config: read,
          schema: {
            tags,
            security,
            operationId: 'downloadComplianceFile',
            summary: 'Download a file as uploaded; audited (read:compliance_user_data)',
            params: FileParams,
            response: {
              200: Type.String({ description: 'The file bytes (application/octet-stream).' }),
              ...withConflict,
            },
          },
        },
        async (request, reply) => {
          const f = await downloadFile(call(request), request.params.file_id);
          // Always an attachment, never rendered: the bytes are whatever someone uploaded.
          return reply
            .type('application/octet-stream')
            .header('content-disposition', 'attachment')
            .header('x-palisade-sha256', f.sha256)
            .header('x-palisade-content-type', f.contentType)
            .send(f.data);
        },
      );
      app.delete(
        '/apps/files/:file_id',
        {
          config: remove,
          schema: {
            tags,
            security,
            operationId: 'deleteComplianceFile',
            summary: 'Delete a file; refused (409 legal_hold) under a legal hold (delete:compliance_user_data)',
            params: FileParams,
            response: { 204: Type.Null(), ...withConflict },
          },
        },
        async (request, reply) => {
          await deleteFile(call(request), request.params.file_id);
          return reply.status(204).send(null);
        },
      );
      app.get(
        '/users/:user_id/export',
        {
          config: read,
          schema: {
            tags,
            security,
            operationId: 'exportComplianceUser',
            summary:
              'Everything held about one person, as one streamed tar archive (data-subject access request; read:compliance_user_data)',
            params: UserParams,
            response: { 200: Type.String({ description: 'A tar archive (application/x-tar).' }), ...errors },
          },
        },
        async (request, reply) => {
          const out = await startUserExport(call(request), request.params.user_id);
          reply.type('application/x-tar').header('content-disposition', `attachment; filename="${out.filename}"`);
          return reply.send(Readable.from(out.body));
        },
      );

      app.get(
        '/usage',
        {
          config: { complianceScope: 'read:compliance_usage' },
          schema: {
            tags,
            security,
            operationId: 'getComplianceUsage',
            summary: 'Tokens and requests per user, model and day or hour, as JSON or CSV (read:compliance_usage)',
            querystring: UsageQuery,
            response: { 200: offsetPageSchema(UsageRowView), ...errors },
          },
        },
        async (request, reply) => {
          const c = call(request);
          if (request.query.format !== 'csv') return usageJson(c, request.query);
          checkUsageQuery(c, request.query);
          reply
            .type('text/csv; charset=utf-8')
            .header('content-disposition', 'attachment; filename="palisade-usage.csv"');
          return reply.send(Readable.from(usageCsv(c, request.query)));
        },
      );
    },
    { prefix: '/v1/compliance' },
  );
}
