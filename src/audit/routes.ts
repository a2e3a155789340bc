import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { authorize } from '../orgs/authorize.js';
import { pageSchema } from '../http/pagination.js';
import { OrgParams, errorResponses, ref } from '../http/schemas.js';
import { AuditSearchQuery, searchAuditEvents } from './search.js';
import { Readable } from 'node:stream';
import { WELL_KNOWN_KEYS_PATH, createCheckpoint, listCheckpoints, publishedKeys } from './checkpoints.js';
import { AuditExportQuery, startExport } from './export.js';
import { AuditSettingsBody, getAuditSettings, updateAuditSettings } from './retention.js';
import { verifyChain } from './verify.js';
import {
  AuditContentSettingsInput,
  AuditContentSettingsView,
  getAuditContentSettings,
  updateAuditContentSettings,
} from './content-privacy.js';
import { sealPendingAudit } from './seal.js';

const tags = ['Audit log'];
const Nullable = (t: ReturnType<typeof Type.String>) => Type.Union([t, Type.Null()]);

export const AuditEventSchema = Type.Object({
  id: Type.String(),
  orgId: Type.String(),
  seq: Type.Integer(),
  occurredAt: Type.String(),
  actor: Type.Object({
    type: Type.String(),
    id: Nullable(Type.String()),
    email: Nullable(Type.String()),
    ip: Nullable(Type.String()),
    userAgent: Nullable(Type.String()),
  }),
  action: Type.String(),
  targets: Type.Array(Type.Object({ type: Type.String(), id: Type.String(), name: Type.Optional(Type.String()) })),
  outcome: Type.String(),
  metadata: Type.Record(Type.String(), Type.Unknown()),
  requestId: Nullable(Type.String()),
  prevHash: Type.String(),
  hash: Type.String(),
});

export const AuditChainVerification = Type.Object(
  {
    orgId: Type.String(),
    ok: Type.Boolean(),
    eventsChecked: Type.Integer(),
    firstSeq: Type.Optional(
      Type.Integer({ description: 'Seq the chain starts from: 1, or the first event kept after a retention purge.' }),
    ),
    firstFailure: Type.Optional(
      Type.Object(
        {
          eventId: Nullable(Type.String()),
          seq: Type.Integer(),
          problem: Type.Union([
            Type.Literal('content_modified'),
            Type.Literal('chain_broken'),
            Type.Literal('sequence_gap'),
            Type.Literal('head_mismatch'),
            Type.Literal('anchor_invalid'),
          ]),
          explanation: Type.String(),
        },
        { description: 'The first event that does not verify; everything before it is proven intact.' },
      ),
    ),
    unsealedEvents: Type.Integer({
      description:
        'Events appended (committed with their changes) and not yet linked into the chain when verification ended: they were written while it ran. Sealed within a second; not part of this verification.',
    }),
  },
  { $id: 'AuditChainVerification' },
);

/** A checkpoint exactly as signed: its payload is served as stored, so the signature still verifies. */
const SignedCheckpointSchema = Type.Object(
  {
    id: Type.String(),
    payload: Type.Object(
      {
        v: Type.Literal(1),
        type: Type.Literal('palisade.audit.checkpoint'),
        orgId: Type.String(),
        seq: Type.Integer({ description: 'Seq of the newest event covered.' }),
        hash: Type.String({ description: 'Hash of that event.' }),
        firstSeq: Type.Integer({
          description: 'First seq the log still keeps (1 unless a retention purge removed older events).',
        }),
        count: Type.Integer({ description: 'Events from firstSeq to seq.' }),
        anchorHash: Type.String({
          description: 'Hash the event firstSeq links to: the genesis hash, or the anchor a purge left.',
        }),
        kind: Type.Union([Type.Literal('periodic'), Type.Literal('purge'), Type.Literal('manual')]),
        at: Type.String({ format: 'date-time' }),
        kid: Type.String({ description: 'Signing key id, published at /.well-known/palisade-audit-keys.json.' }),
      },
      {
        // A later payload version may carry more fields: they are served as stored, so the signature still verifies.
        additionalProperties: true,
        description: 'Signed as its RFC 8785 canonical JSON.',
      },
    ),
    signature: Type.String({ description: 'Base64url Ed25519 signature over the canonical JSON of payload.' }),
  },
  { $id: 'AuditCheckpoint' },
);

const AuditSigningKey = Type.Object({
  kty: Type.Literal('OKP'),
  crv: Type.Literal('Ed25519'),
  x: Type.String(),
  kid: Type.String(),
  alg: Type.Literal('EdDSA'),
  use: Type.Literal('sig'),
  status: Type.Union([Type.Literal('active'), Type.Literal('retired')]),
  createdAt: Type.String(),
  retiredAt: Nullable(Type.String()),
});

export const AuditSigningKeySet = Type.Object({ keys: Type.Array(AuditSigningKey) }, { $id: 'AuditSigningKeySet' });

export const AuditCheckpointList = Type.Object(
  { checkpoints: Type.Array(ref(SignedCheckpointSchema)), keys: Type.Array(AuditSigningKey) },
  { $id: 'AuditCheckpointList' },
);

/** Named response components of these routes, registered at the root by app.ts (see sharedSchemas there). */
export const auditSchemas = [AuditChainVerification, AuditSigningKeySet, SignedCheckpointSchema, AuditCheckpointList];

export async function auditRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/orgs/:orgId/audit-events',
    {
      schema: {
        tags,
        operationId: 'searchAuditEvents',
        summary: 'Search the audit log (admins and owners)',
        params: OrgParams,
        querystring: AuditSearchQuery,
        response: { 200: pageSchema(AuditEventSchema), ...errorResponses },
      },
    },
    async (request) => searchAuditEvents(request.ctx, request.params.orgId, request.query),
  );
  app.get(
    '/orgs/:orgId/audit-events/verify',
    {
      schema: {
        tags,
        operationId: 'verifyAuditChain',
        summary: "Verify the organization's audit hash chain",
        params: OrgParams,
        response: { 200: ref(AuditChainVerification), ...errorResponses },
      },
    },
    async (request) => {
      await authorize(request.ctx, request.params.orgId, 'audit.read');
      // Everything acknowledged before this request is sealed, then verified.
      await sealPendingAudit(request.ctx.db, request.params.orgId);
      return verifyChain(request.ctx.db, request.params.orgId);
    },
  );
  app.get(
    '/orgs/:orgId/audit-events/export',
    {
      schema: {
        tags,
        operationId: 'exportAuditEvents',
        summary: 'Export the audit log as NDJSON, a JSON array or CSV, streamed (same filters as search)',
        params: OrgParams,
        querystring: AuditExportQuery,
        response: {
          200: {
            description: 'The events, oldest first, streamed in the format asked for (an attachment).',
            content: {
              'application/x-ndjson': { schema: Type.String({ description: 'One audit event (JSON) per line.' }) },
              'application/json': { schema: Type.Array(AuditEventSchema) },
              'text/csv': { schema: Type.String({ description: 'One event per row, with a header row.' }) },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const out = await startExport(request.ctx, request.params.orgId, request.query);
      reply
        .header('content-type', out.contentType)
        .header('content-disposition', `attachment; filename="${out.filename}"`);
      // A byte stream (not object mode): it asks for the next page only once the socket has taken
      // the last, so a slow client holds one page in memory, not the whole export.
      return reply.send(Readable.from(out.body, { objectMode: false }));
    },
  );
  const SettingsSchema = Type.Object({
    retentionDays: Type.Union([Type.Integer(), Type.Literal('forever')]),
    isDefault: Type.Boolean(),
  });
  app.get(
    '/orgs/:orgId/audit-settings',
    {
      schema: {
        tags,
        operationId: 'getAuditSettings',
        summary: 'Audit retention of the organization',
        params: OrgParams,
        response: { 200: SettingsSchema, ...errorResponses },
      },
    },
    async (request) => getAuditSettings(request.ctx, request.params.orgId),
  );
  app.put(
    '/orgs/:orgId/audit-settings',
    {
      schema: {
        tags,
        operationId: 'updateAuditSettings',
        summary: 'Set audit retention in days, or "forever"',
        params: OrgParams,
        body: AuditSettingsBody,
        response: { 200: SettingsSchema, ...errorResponses },
      },
    },
    async (request) => updateAuditSettings(request.ctx, request.params.orgId, request.body),
  );
  app.get(
    '/orgs/:orgId/audit-settings/content',
    {
      schema: {
        tags,
        operationId: 'getAuditContentSettings',
        summary: 'Privacy tier for prompts in audit events: metadata only (default) or prompt excerpts',
        params: OrgParams,
        response: { 200: AuditContentSettingsView, ...errorResponses },
      },
    },
    async (request) => getAuditContentSettings(request.ctx, request.params.orgId),
  );
  app.put(
    '/orgs/:orgId/audit-settings/content',
    {
      schema: {
        tags,
        operationId: 'updateAuditContentSettings',
        summary: 'Opt in to prompt excerpts in audit events, or back to metadata only (primary owners)',
        params: OrgParams,
        body: AuditContentSettingsInput,
        response: { 200: AuditContentSettingsView, ...errorResponses },
      },
    },
    async (request) =>
      updateAuditContentSettings(request.ctx, request.params.orgId, request.body as AuditContentSettingsInput),
  );
  app.get(
    '/orgs/:orgId/audit-checkpoints',
    {
      schema: {
        tags,
        operationId: 'listAuditCheckpoints',
        summary: 'Signed checkpoints of the chain, with the public keys, for offline verification',
        params: OrgParams,
        response: { 200: ref(AuditCheckpointList), ...errorResponses },
      },
    },
    async (request) => {
      await authorize(request.ctx, request.params.orgId, 'audit.read');
      return {
        checkpoints: await listCheckpoints(request.ctx.db, request.params.orgId),
        keys: (await publishedKeys(request.ctx.db)).keys,
      };
    },
  );
  app.post(
    '/orgs/:orgId/audit-checkpoints',
    {
      schema: {
        tags,
        operationId: 'createAuditCheckpoint',
        summary: 'Sign a checkpoint of the chain now',
        params: OrgParams,
        response: {
          201: ref(SignedCheckpointSchema),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { ctx } = request;
      await authorize(ctx, request.params.orgId, 'audit.manage');
      await sealPendingAudit(ctx.db, request.params.orgId);
      const cp = await ctx.db
        .transaction()
        .execute((tx) => createCheckpoint(tx, ctx.clock.now(), request.params.orgId, 'manual', undefined, ctx.config));
      return reply.status(201).send({ ...cp, payload: { ...cp.payload } });
    },
  );
}

/** Installation-level and public: the keys anyone verifying an export needs, at a well-known path. */
export async function auditKeyRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    WELL_KNOWN_KEYS_PATH,
    {
      schema: {
        tags,
        operationId: 'getAuditSigningKeys',
        summary: 'Public Ed25519 keys that sign audit checkpoints (JWK set)',
        security: [],
        response: { 200: ref(AuditSigningKeySet) },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return publishedKeys(_request.ctx.db);
    },
  );
}
