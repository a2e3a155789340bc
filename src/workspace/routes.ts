import multipart from '@fastify/multipart';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { EncryptionView, ShredInput, encryptionStatus, rotateOrgKey, shredOrgKeys } from './encryption.js';
import { PalisadeError, badRequest } from '../errors.js';
import { PageQuerySchema, pageRequest, pageSchema } from '../http/pagination.js';
import { OrgParams, errorResponses, noContent } from '../http/schemas.js';
import {
  ConversationView,
  CreateConversationInput,
  MessageView,
  RenameConversationInput,
  SendMessageInput,
  createConversation,
  deleteConversation,
  getConversation,
  listConversations,
  renameConversation,
  sendMessage,
} from './conversations.js';
import { FileView, authorizeUpload, deleteFile, downloadFile, getFile, listFiles, storeFile } from './files.js';
import { HoldInput, HoldView, liftHold, listHolds, placeHold } from './legal-holds.js';
import { PurgePreview, previewRetention } from './retention.js';
import { SettingsInput, SettingsView, getWorkspaceSettings, updateWorkspaceSettings } from './settings.js';

const tags = ['Workspace'];
const PageQuery = Type.Object(PageQuerySchema);
const ConvParams = Type.Object({
  orgId: Type.String({ maxLength: 64 }),
  conversationId: Type.String({ maxLength: 64 }),
});
const FileParams = Type.Object({ orgId: Type.String({ maxLength: 64 }), fileId: Type.String({ maxLength: 64 }) });
const HoldParams = Type.Object({ orgId: Type.String({ maxLength: 64 }), holdId: Type.String({ maxLength: 64 }) });

export async function workspaceRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();

  // Multipart only inside this plugin; files stream through with the configured size limit.
  await app.register(multipart, { limits: { files: 1, fields: 5, parts: 6 } });

  app.get(
    '/orgs/:orgId/conversations',
    {
      schema: {
        tags,
        operationId: 'listConversations',
        summary: 'Your conversations in this organization',
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: pageSchema(ConversationView), ...errorResponses },
      },
    },
    async (req) => listConversations(req.ctx, req.params.orgId, pageRequest(req.query)),
  );
  app.post(
    '/orgs/:orgId/conversations',
    {
      schema: {
        tags,
        operationId: 'createConversation',
        summary: 'Start a conversation',
        params: OrgParams,
        body: CreateConversationInput,
        response: { 201: ConversationView, ...errorResponses },
      },
    },
    async (req, reply) => reply.status(201).send(await createConversation(req.ctx, req.params.orgId, req.body)),
  );
  app.get(
    '/orgs/:orgId/conversations/:conversationId',
    {
      schema: {
        tags,
        operationId: 'getConversation',
        summary: 'Read one of your conversations with its messages',
        params: ConvParams,
        response: {
          200: Type.Object({ conversation: ConversationView, messages: Type.Array(MessageView) }),
          ...errorResponses,
        },
      },
    },
    async (req) => getConversation(req.ctx, req.params.orgId, req.params.conversationId),
  );
  app.patch(
    '/orgs/:orgId/conversations/:conversationId',
    {
      schema: {
        tags,
        operationId: 'renameConversation',
        summary: 'Rename a conversation',
        params: ConvParams,
        body: RenameConversationInput,
        response: { 200: ConversationView, ...errorResponses },
      },
    },
    async (req) => renameConversation(req.ctx, req.params.orgId, req.params.conversationId, req.body),
  );
  app.delete(
    '/orgs/:orgId/conversations/:conversationId',
    {
      schema: {
        tags,
        operationId: 'deleteConversation',
        summary: 'Delete a conversation and its messages',
        params: ConvParams,
        response: { ...noContent, ...errorResponses },
      },
    },
    async (req, reply) => {
      await deleteConversation(req.ctx, req.params.orgId, req.params.conversationId);
      return reply.status(204).send();
    },
  );
  app.post(
    '/orgs/:orgId/conversations/:conversationId/messages',
    {
      schema: {
        tags,
        operationId: 'sendConversationMessage',
        summary: "Send a prompt to the organization's model; both turns are stored encrypted per retention",
        params: ConvParams,
        body: SendMessageInput,
        response: {
          201: Type.Object({ messages: Type.Array(MessageView), retained: Type.Boolean() }),
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      // The client going away shows on the response: Node 20 emits the request's 'close' as soon
      // as its body has been read, so listening there cancelled every call before it left.
      const abort = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) abort.abort();
      });
      return reply
        .status(201)
        .send(await sendMessage(req.ctx, req.params.orgId, req.params.conversationId, req.body, abort.signal));
    },
  );

  app.post(
    '/orgs/:orgId/files',
    {
      schema: {
        tags,
        operationId: 'uploadFile',
        summary: 'Upload a file (multipart/form-data, field "file")',
        params: OrgParams,
        consumes: ['multipart/form-data'],
        response: { 201: FileView, ...errorResponses },
      },
    },
    async (req, reply) => {
      await authorizeUpload(req.ctx, req.params.orgId);
      if (!req.isMultipart())
        throw new PalisadeError(
          415,
          'multipart_required',
          'Upload files as multipart/form-data with the file in a field named "file".',
        );
      const limit = req.ctx.config.uploadMaxBytes;
      const part = await req.file({ limits: { fileSize: limit } });
      if (!part)
        throw badRequest('file_required', 'The upload has no file part; send the file in a field named "file".');
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of part.file) {
        size += (chunk as Buffer).length;
        if (size > limit) break;
        chunks.push(chunk as Buffer);
      }
      if (part.file.truncated || size > limit) {
        part.file.resume();
        throw new PalisadeError(
          413,
          'file_too_large',
          `Files are limited to ${limit} bytes (PALISADE_UPLOAD_MAX_BYTES); this one is larger.`,
          { details: { limitBytes: limit } },
        );
      }
      return reply.status(201).send(
        await storeFile(req.ctx, req.params.orgId, {
          filename: part.filename || 'upload',
          declaredType: part.mimetype || undefined,
          data: Buffer.concat(chunks),
        }),
      );
    },
  );
  app.get(
    '/orgs/:orgId/files',
    {
      schema: {
        tags,
        operationId: 'listFiles',
        summary: 'Your uploaded files',
        params: OrgParams,
        querystring: PageQuery,
        response: { 200: pageSchema(FileView), ...errorResponses },
      },
    },
    async (req) => listFiles(req.ctx, req.params.orgId, pageRequest(req.query)),
  );
  app.get(
    '/orgs/:orgId/files/:fileId',
    {
      schema: {
        tags,
        operationId: 'getFile',
        summary: "A file's metadata",
        params: FileParams,
        response: { 200: FileView, ...errorResponses },
      },
    },
    async (req) => getFile(req.ctx, req.params.orgId, req.params.fileId),
  );
  app.get(
    '/orgs/:orgId/files/:fileId/content',
    {
      schema: {
        tags,
        operationId: 'downloadFile',
        summary: 'Download a file',
        params: FileParams,
        response: {
          200: {
            description: 'The file as uploaded, as an attachment; Content-Type is the type sniffed from its bytes.',
            content: { '*/*': { schema: Type.String({ format: 'binary' }) } },
          },
          ...errorResponses,
        },
      },
    },
    async (req, reply) => {
      const f = await downloadFile(req.ctx, req.params.orgId, req.params.fileId);
      // Served as an attachment with the sniffed type, never rendered inline.
      return reply.header('content-type', f.contentType).header('content-disposition', 'attachment').send(f.data);
    },
  );
  app.delete(
    '/orgs/:orgId/files/:fileId',
    {
      schema: {
        tags,
        operationId: 'deleteFile',
        summary: 'Delete a file',
        params: FileParams,
        response: { ...noContent, ...errorResponses },
      },
    },
    async (req, reply) => {
      await deleteFile(req.ctx, req.params.orgId, req.params.fileId);
      return reply.status(204).send();
    },
  );

  app.get(
    '/orgs/:orgId/workspace/settings',
    {
      schema: {
        tags,
        operationId: 'getWorkspaceSettings',
        summary: 'Retention and no-training policy in effect',
        params: OrgParams,
        response: { 200: SettingsView, ...errorResponses },
      },
    },
    async (req) => getWorkspaceSettings(req.ctx, req.params.orgId),
  );
  app.patch(
    '/orgs/:orgId/workspace/settings',
    {
      schema: {
        tags,
        operationId: 'updateWorkspaceSettings',
        summary: 'Change retention or the no-training policy (shortening asks for confirmation)',
        params: OrgParams,
        body: SettingsInput,
        response: { 200: SettingsView, ...errorResponses },
      },
    },
    async (req) => updateWorkspaceSettings(req.ctx, req.params.orgId, req.body as SettingsInput),
  );
  app.post(
    '/orgs/:orgId/workspace/retention-preview',
    {
      schema: {
        tags,
        operationId: 'previewWorkspaceRetention',
        summary: 'How much content a retention period would delete now',
        params: OrgParams,
        body: Type.Object(
          { retentionDays: Type.Integer({ minimum: 0, maximum: 36500 }) },
          { additionalProperties: false },
        ),
        response: { 200: PurgePreview, ...errorResponses },
      },
    },
    async (req) => previewRetention(req.ctx, req.params.orgId, req.body.retentionDays),
  );
  app.get(
    '/orgs/:orgId/legal-holds',
    {
      schema: {
        tags,
        operationId: 'listLegalHolds',
        summary: 'Legal holds',
        params: OrgParams,
        response: { 200: Type.Object({ data: Type.Array(HoldView) }), ...errorResponses },
      },
    },
    async (req) => listHolds(req.ctx, req.params.orgId),
  );
  app.post(
    '/orgs/:orgId/legal-holds',
    {
      schema: {
        tags,
        operationId: 'placeLegalHold',
        summary: 'Place a legal hold on the organization or one user',
        params: OrgParams,
        body: HoldInput,
        response: { 201: HoldView, ...errorResponses },
      },
    },
    async (req, reply) =>
      reply.status(201).send(await placeHold(req.ctx, req.params.orgId, req.body as Static<typeof HoldInput>)),
  );
  app.delete(
    '/orgs/:orgId/legal-holds/:holdId',
    {
      schema: {
        tags,
        operationId: 'liftLegalHold',
        summary: 'Lift a legal hold',
        params: HoldParams,
        response: { 200: HoldView, ...errorResponses },
      },
    },
    async (req) => liftHold(req.ctx, req.params.orgId, req.params.holdId),
  );

  app.get(
    '/orgs/:orgId/encryption',
    {
      schema: {
        tags,
        operationId: 'getEncryption',
        summary: 'Data key versions and the key-encryption key in use',
        params: OrgParams,
        response: { 200: EncryptionView, ...errorResponses },
      },
    },
    async (req) => encryptionStatus(req.ctx, req.params.orgId),
  );
  app.post(
    '/orgs/:orgId/encryption/rotate',
    {
      schema: {
        tags,
        operationId: 'rotateDataKey',
        summary: 'New data key version for new writes; old data stays readable',
        params: OrgParams,
        response: { 200: EncryptionView, ...errorResponses },
      },
    },
    async (req) => rotateOrgKey(req.ctx, req.params.orgId),
  );
  app.post(
    '/orgs/:orgId/encryption/shred',
    {
      schema: {
        tags,
        operationId: 'shredDataKeys',
        summary: "Crypto-shred: destroy the organization's data keys (irreversible)",
        params: OrgParams,
        body: ShredInput,
        response: { 200: EncryptionView, ...errorResponses },
      },
    },
    async (req) => shredOrgKeys(req.ctx, req.params.orgId, req.body.confirm),
  );
}
