import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type TSchema, Type } from '@sinclair/typebox';
import { recordBadToken } from '../auth/bad-credentials.js';
import type { Ctx } from '../context.js';
import { recordAudit } from '../audit/record.js';
import { databaseFaultOf, faultError } from '../db/faults.js';
import { PalisadeError } from '../errors.js';
import { allowedMethods, errorHandler, toPalisadeError } from '../http/errors.js';
import { parseJsonText } from '../http/json-body.js';
import { type ScimCall, readListQuery } from './common.js';
import { authenticateDirectory, scimBaseUrl } from './directories.js';
import { ScimError, type ScimType, scimErrorBody } from './errors.js';
import { createGroup, deleteGroup, getGroup, listGroups, patchGroup, replaceGroup } from './groups.js';
import { resourceTypeDocs, schemaDocs, serviceProviderConfig } from './discovery.js';
import { recordAuthFailure, recordSync } from './sync-log.js';
import { createUser, deleteUser, getUser, listUsers, patchUser, replaceUser } from './users.js';

/**
 * The SCIM 2.0 protocol endpoints: /scim/v2/<directoryId>/… . They authenticate ONLY with that
 * directory's bearer token; the directory, and so the organization, comes from the token and URL.
 * Every request is written to the directory's sync log (refused tokens: one counted entry per minute).
 */
const SCIM_TYPE = 'application/scim+json; charset=utf-8';

declare module 'fastify' {
  interface FastifyRequest {
    scim?: ScimCall;
    scimError?: ScimError;
  }
}

type Params = { directoryId: string; id?: string; rid?: string };
type Query = Record<string, unknown>;

/** scimType for Palisade's own 400 codes (RFC 7644 §3.12): syntax problems vs values. */
const SCIM_TYPE_OF: Record<string, ScimType> = {
  invalid_json: 'invalidSyntax',
  body_required: 'invalidSyntax',
  invalid_url: 'invalidSyntax',
};

/**
 * Any error as a SCIM error: Palisade's own refusals (text policy, framework errors) keep their code
 * and message; a 400 gets the scimType that fits (invalidSyntax for unreadable requests, else
 * invalidValue); anything unknown is a 500 that leaks nothing.
 */
function toScimError(err: unknown): ScimError {
  if (err instanceof ScimError) return err;
  const pe = err instanceof PalisadeError ? err : toPalisadeError(err);
  const se = new ScimError(
    pe.status,
    pe.code,
    pe.message,
    pe.status === 400 ? (SCIM_TYPE_OF[pe.code] ?? 'invalidValue') : undefined,
  );
  if (pe.headers) se.headers = pe.headers;
  return se;
}

const SCIM_PREFIX = '/scim/v2/';
export const isScimPath = (url: string): boolean => url.startsWith(SCIM_PREFIX);

/** Errors raised before routing (a URL that is not UTF-8, an over-long id) on a SCIM path, in SCIM's shape. */
export function renderScimFrameworkError(_request: FastifyRequest, reply: FastifyReply, err: PalisadeError) {
  const se = toScimError(err);
  return send(reply, se.status, scimErrorBody(se));
}

function send(reply: FastifyReply, status: number, body: unknown, etag?: string) {
  reply.status(status).type(SCIM_TYPE);
  if (etag) reply.header('etag', etag);
  return reply.send(body);
}

/** The bad-token throttle's 429, in SCIM's error shape with its Retry-After. */
async function throttledAsScim(reply: FastifyReply, check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (err) {
    if (err instanceof PalisadeError && err.status === 429) {
      reply.header('retry-after', err.headers?.['retry-after'] ?? '60');
      throw new ScimError(429, err.code, err.message);
    }
    throw err;
  }
}

export async function scimProtocolRoutes(app: FastifyInstance): Promise<void> {
  await app.register(
    async (scim) => {
      // An empty body is no body (a DELETE with Content-Type: application/scim+json and nothing after it).
      scim.addContentTypeParser(['application/scim+json'], { parseAs: 'string' }, (_req, body, done) => {
        try {
          done(null, parseJsonText(body as string));
        } catch (err) {
          done(toScimError(err), undefined);
        }
      });

      scim.addHook('onRequest', async (request, reply) => {
        // Unknown endpoints have no route params: take the directory from the URL.
        const directoryId =
          (request.params as Partial<Params> | undefined)?.directoryId ??
          /^\/scim\/v2\/([^/?]+)/.exec(request.url)?.[1] ??
          '';
        const { db, clock, config } = request.ctx;
        let dir: Awaited<ReturnType<typeof authenticateDirectory>>;
        try {
          dir = await authenticateDirectory(db, clock.now(), directoryId, request.headers.authorization);
        } catch (err) {
          if (err instanceof ScimError && err.status === 401)
            await throttledAsScim(reply, () => recordBadToken(db, clock, config, request.ip ?? null));
          throw err;
        }
        const ctx: Ctx = { ...request.ctx, caller: { kind: 'system', name: `scim:${dir.id}` } };
        request.scim = {
          ctx,
          dir,
          base: scimBaseUrl(ctx, dir.id),
          notes: [],
          log: { operation: 'request', resourceType: null, resourceId: null, userName: null, groupName: null },
        };
      });

      scim.addHook('onSend', async (request, reply) => {
        const call = request.scim;
        let directoryId = call?.dir.id;
        let orgId = call?.dir.org_id;
        if (!call) {
          // Only a refused token is logged for an unauthenticated request (counted, one row a minute):
          // anything else refused before authentication (bad text in the URL) must not let anyone write rows.
          if (reply.statusCode !== 401) return;
          // A refused token is logged under the directory the URL names, so the admin sees "token rotated past its window".
          const id = (request.params as Partial<Params> | undefined)?.directoryId;
          if (!id || id.length > 64) return;
          const d = await request.ctx.db
            .selectFrom('scim_directories')
            .select(['id', 'org_id'])
            .where('id', '=', id)
            .where('status', '=', 'active')
            .executeTakeFirst();
          if (!d) return;
          directoryId = d.id;
          orgId = d.org_id;
        }
        const err = request.scimError;
        const entry = {
          directoryId: directoryId as string,
          orgId: orgId as string,
          method: request.method,
          path: request.url.split('?')[0] ?? request.url,
          operation: call?.log.operation ?? 'authenticate',
          resourceType: call?.log.resourceType ?? null,
          resourceId: call?.log.resourceId ?? null,
          userName: call?.log.userName ?? null,
          groupName: call?.log.groupName ?? null,
          status: reply.statusCode,
          scimType: err?.scimType ?? null,
          errorCode: err?.code ?? (reply.statusCode >= 400 ? `http_${reply.statusCode}` : null),
          errorDetail: err?.message ?? null,
          notes: call?.notes ?? [],
          members: call?.log.members,
          requestId: request.id,
        };
        // Refusals that protect another organization's people are security events, not only sync-log lines.
        if (call && err?.code === 'email_domain_captured') {
          try {
            await request.ctx.db.transaction().execute((tx) =>
              recordAudit(tx, call.ctx, {
                orgId: call.dir.org_id,
                action: 'scim.user_refused',
                outcome: 'denied',
                targets: [{ type: 'scim_directory', id: call.dir.id }],
                metadata: { reason: err.code, userName: call.log.userName },
              }),
            );
          } catch (e) {
            request.log.error({ err: e }, 'could not audit a refused SCIM request');
          }
        }
        try {
          // A refused token is counted on one entry per directory per minute; everything else gets its own row.
          if (!call && reply.statusCode === 401)
            await recordAuthFailure(request.ctx.db, request.ctx.clock.now(), entry, request.ip ?? null);
          else await recordSync(request.ctx.db, request.ctx.clock.now(), entry);
        } catch (e) {
          request.log.error({ err: e }, 'could not write the SCIM sync log');
        }
      });

      // The shared handler (src/http/errors.ts), rendering in SCIM's error shape.
      scim.setErrorHandler(
        errorHandler('SCIM ', toScimError, (request, reply, se) => {
          request.scimError = se;
          if (se.status === 401) reply.header('www-authenticate', 'Bearer realm="scim", error="invalid_token"');
          return send(reply, se.status, scimErrorBody(se));
        }),
      );
      scim.setNotFoundHandler((request, reply) => {
        const path = request.url.split('?')[0] ?? request.url;
        // A path that exists with other methods is a 405 naming them (RFC 7231 §6.5.5), as scim2-tester expects of discovery endpoints.
        const allowed = allowedMethods(request.server.routeTable, path);
        const se = allowed.length
          ? new ScimError(
              405,
              'method_not_allowed',
              `${request.method} is not supported on ${path.slice(0, 200)}; it accepts ${allowed.join(', ')}.`,
            )
          : new ScimError(
              404,
              'endpoint_not_found',
              `There is no SCIM endpoint ${request.method} ${path.slice(0, 200)}. Endpoints: /Users, /Groups, /ServiceProviderConfig, /ResourceTypes, /Schemas.`,
            );
        request.scimError = se;
        if (allowed.length) reply.header('allow', allowed.join(', '));
        return send(reply, se.status, scimErrorBody(se));
      });

      const call = (request: FastifyRequest, operation: string, resourceType: string | null): ScimCall => {
        const c = request.scim as ScimCall;
        c.log.operation = operation;
        c.log.resourceType = resourceType;
        return c;
      };
      const ifMatch = (request: FastifyRequest) =>
        typeof request.headers['if-match'] === 'string' ? request.headers['if-match'] : undefined;
      const hide = { schema: { hide: true } };
      // Documented in /openapi.json (tag "SCIM 2.0") for the reader; bodies are SCIM's own (RFC 7643),
      // validated by the operations, and responses are serialized as they are (the schemas below
      // describe, they do not filter: this plugin's serializer ignores them).
      scim.setSerializerCompiler(() => (data: unknown) => JSON.stringify(data));
      const ScimResource = Type.Object(
        {
          schemas: Type.Array(Type.String(), {
            description: 'SCIM schema URNs of the resource, or of a ListResponse.',
          }),
        },
        {
          additionalProperties: true,
          description: 'A SCIM resource, or a ListResponse of them (RFC 7643, RFC 7644 §3.4.2).',
        },
      );
      const DirParams = Type.Object({
        directoryId: Type.String({ description: 'The SCIM directory (its base URL is /scim/v2/{directoryId}).' }),
      });
      const withId = (name: 'id' | 'rid') => Type.Object({ directoryId: Type.String(), [name]: Type.String() });
      const doc = (operationId: string, summary: string, params: TSchema, response: Record<number, TSchema>) => ({
        schema: { tags: ['SCIM 2.0'], operationId, summary, security: [{ scimToken: [] }], params, response },
      });
      const ok = { 200: ScimResource };

      // Discovery (RFC 7644 §4): query parameters are ignored, except that a filter is refused with
      // 403 "to ensure that clients cannot incorrectly assume that any matching conditions specified
      // in a filter are true".
      const discovery = (request: FastifyRequest): ScimCall => {
        const c = call(request, 'discovery', null);
        const filter = (request.query as Query).filter;
        if (filter !== undefined && filter !== '')
          throw new ScimError(
            403,
            'discovery_filter_unsupported',
            'Discovery endpoints (/ServiceProviderConfig, /ResourceTypes, /Schemas) do not filter (RFC 7644 §4); request them without "filter" and select what you need.',
          );
        return c;
      };
      scim.get(
        '/:directoryId/ServiceProviderConfig',
        doc('scimGetServiceProviderConfig', 'What this SCIM service supports (RFC 7644 §5)', DirParams, ok),
        async (request, reply) => send(reply, 200, serviceProviderConfig(discovery(request).base)),
      );
      scim.get(
        '/:directoryId/ResourceTypes',
        doc('scimListResourceTypes', 'The resource types served: User and Group', DirParams, ok),
        async (request, reply) => {
          const docs = resourceTypeDocs(discovery(request).base);
          return send(reply, 200, {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
            totalResults: docs.length,
            startIndex: 1,
            itemsPerPage: docs.length,
            Resources: docs,
          });
        },
      );
      scim.get(
        '/:directoryId/ResourceTypes/:rid',
        doc('scimGetResourceType', 'One resource type', withId('rid'), ok),
        async (request, reply) => {
          const doc = resourceTypeDocs(discovery(request).base).find((d) => d.id === (request.params as Params).rid);
          if (!doc) throw new ScimError(404, 'resource_not_found', 'Resource types are User and Group.');
          return send(reply, 200, doc);
        },
      );
      scim.get(
        '/:directoryId/Schemas',
        doc('scimListSchemas', 'The schemas served, with their attributes', DirParams, ok),
        async (request, reply) => {
          const docs = schemaDocs(discovery(request).base);
          return send(reply, 200, {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
            totalResults: docs.length,
            startIndex: 1,
            itemsPerPage: docs.length,
            Resources: docs,
          });
        },
      );
      scim.get(
        '/:directoryId/Schemas/:rid',
        doc('scimGetSchema', 'One schema', withId('rid'), ok),
        async (request, reply) => {
          const docs = schemaDocs(discovery(request).base);
          const doc = docs.find(
            (d) => String(d.id).toLowerCase() === String((request.params as Params).rid).toLowerCase(),
          );
          if (!doc)
            throw new ScimError(
              404,
              'resource_not_found',
              `No schema with that id. Schemas served: ${docs.map((d) => d.id).join(', ')}.`,
            );
          return send(reply, 200, doc);
        },
      );
      // RFC 7644 §3.11: a provider without /Me answers 501.
      scim.all('/:directoryId/Me', hide, async (request) => {
        call(request, 'me', null);
        throw new ScimError(
          501,
          'me_not_supported',
          'The /Me endpoint is not supported: a directory token acts for the identity provider, not for a person.',
        );
      });
      scim.post('/:directoryId/Bulk', hide, async (request) => {
        call(request, 'bulk', null);
        throw new ScimError(
          501,
          'bulk_not_supported',
          'Bulk operations are not supported (see /ServiceProviderConfig); send one request per resource.',
        );
      });
      // RFC 7644 §3.4.3: a search at the server root spans every resource type; Palisade searches one type at a time.
      scim.post('/:directoryId/.search', hide, async (request) => {
        call(request, 'search', null);
        throw new ScimError(
          501,
          'root_search_not_supported',
          'Searching across resource types at the server root is not supported; POST the SearchRequest to /Users/.search or /Groups/.search instead.',
        );
      });

      // Users and Groups: the same seven routes over each resource type's operations.
      const resources = [
        {
          path: 'Users',
          type: 'User',
          noun: 'user',
          list: listUsers,
          get: getUser,
          create: createUser,
          replace: replaceUser,
          patch: patchUser,
          remove: deleteUser,
        },
        {
          path: 'Groups',
          type: 'Group',
          noun: 'group',
          list: listGroups,
          get: getGroup,
          create: createGroup,
          replace: replaceGroup,
          patch: patchGroup,
          remove: deleteGroup,
        },
      ] as const;
      for (const r of resources) {
        const id = (request: FastifyRequest) => (request.params as Params).id as string;
        scim.get(
          `/:directoryId/${r.path}`,
          doc(`scimList${r.path}`, `List or filter ${r.path} (filter, startIndex, count, attributes)`, DirParams, ok),
          async (request, reply) =>
            send(
              reply,
              200,
              await r.list(call(request, `list_${r.noun}s`, r.type), readListQuery(request.query, 'query')),
            ),
        );
        scim.post(
          `/:directoryId/${r.path}/.search`,
          doc(`scimSearch${r.path}`, `Search ${r.path} with a SearchRequest body`, DirParams, ok),
          async (request, reply) =>
            send(
              reply,
              200,
              await r.list(call(request, `search_${r.noun}s`, r.type), readListQuery(request.body, 'body')),
            ),
        );
        scim.get(
          `/:directoryId/${r.path}/:id`,
          doc(`scimGet${r.type}`, `One ${r.type} (ETag; If-None-Match answers 304)`, withId('id'), ok),
          async (request, reply) => {
            const found = await r.get(
              call(request, `get_${r.noun}`, r.type),
              id(request),
              readListQuery(request.query, 'query'),
            );
            if (request.headers['if-none-match'] === found.etag)
              return reply.status(304).header('etag', found.etag).send();
            return send(reply, 200, found.body, found.etag);
          },
        );
        scim.post(
          `/:directoryId/${r.path}`,
          doc(`scimCreate${r.type}`, `Create a ${r.type}`, DirParams, { 201: ScimResource }),
          async (request, reply) => {
            const created = await r.create(call(request, `create_${r.noun}`, r.type), request.body);
            reply.header('location', (created.body.meta as { location: string }).location);
            return send(reply, 201, created.body, created.etag);
          },
        );
        scim.put(
          `/:directoryId/${r.path}/:id`,
          doc(`scimReplace${r.type}`, `Replace a ${r.type} (If-Match honoured)`, withId('id'), ok),
          async (request, reply) => {
            const replaced = await r.replace(
              call(request, `replace_${r.noun}`, r.type),
              id(request),
              request.body,
              ifMatch(request),
            );
            return send(reply, 200, replaced.body, replaced.etag);
          },
        );
        scim.patch(
          `/:directoryId/${r.path}/:id`,
          doc(`scimPatch${r.type}`, `Change a ${r.type} with PatchOp operations (If-Match honoured)`, withId('id'), ok),
          async (request, reply) => {
            const patched = await r.patch(
              call(request, `patch_${r.noun}`, r.type),
              id(request),
              request.body,
              ifMatch(request),
            );
            return send(reply, 200, patched.body, patched.etag);
          },
        );
        scim.delete(
          `/:directoryId/${r.path}/:id`,
          doc(`scimDelete${r.type}`, `Delete a ${r.type}`, withId('id'), {
            204: Type.Null({ description: 'Deleted.' }),
          }),
          async (request, reply) => {
            await r.remove(call(request, `delete_${r.noun}`, r.type), id(request), ifMatch(request));
            return reply.status(204).send();
          },
        );
      }
    },
    { prefix: '/scim/v2' },
  );
}
