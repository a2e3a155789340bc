import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Ctx } from '../context.js';
import { databaseFaultOf, faultError } from '../db/faults.js';
import { PalisadeError } from '../errors.js';
import type { ScimCall } from './common.js';
import { authenticateDirectory, scimBaseUrl } from './directories.js';
import { ScimError, scimErrorBody } from './errors.js';
import { createGroup, deleteGroup, getGroup, listGroups, patchGroup, replaceGroup } from './groups.js';
import { resourceTypeDocs, schemaDocs, serviceProviderConfig } from './schemas.js';
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
type Query = Record<string, string | undefined>;

function toScimError(err: unknown): ScimError {
  if (err instanceof ScimError) return err;
  if (err instanceof PalisadeError) return new ScimError(err.status, err.code, err.message, err.status === 400 ? 'invalidValue' : undefined);
  const fe = err as { code?: string; statusCode?: number };
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ScimError(415, 'unsupported_media_type', 'Send the body as JSON with Content-Type: application/scim+json (or application/json).');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ScimError(400, 'body_required', 'The request declares a JSON body but sent none.', 'invalidSyntax');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ScimError(413, 'body_too_large', 'The request body is too large; send fewer members per request.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ScimError(400, 'invalid_json', 'The body is not valid JSON.', 'invalidSyntax');
  }
  if (err instanceof SyntaxError) return new ScimError(400, 'invalid_json', 'The body is not valid JSON.', 'invalidSyntax');
  // A full disk or a database restarting: 503 naming the cause, which identity providers retry.
  const fault = databaseFaultOf(err);
  if (fault) return new ScimError(503, fault.code, faultError(fault).message);
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return new ScimError(fe.statusCode, 'bad_request', 'The request could not be read; check the method, headers and body.');
  return new ScimError(500, 'internal_error', 'Something went wrong in Palisade. Retry; if it persists, give your Palisade administrator the request id from the X-Request-Id header.');
}

function send(reply: FastifyReply, status: number, body: unknown, etag?: string) {
  reply.status(status).type(SCIM_TYPE);
  if (etag) reply.header('etag', etag);
  return reply.send(body);
}

export async function scimProtocolRoutes(app: FastifyInstance): Promise<void> {
  await app.register(
    async (scim) => {
      scim.addContentTypeParser(['application/scim+json'], { parseAs: 'string' }, (_req, body, done) => {
        try {
          done(null, JSON.parse(body as string));
        } catch {
          done(new ScimError(400, 'invalid_json', 'The body is not valid JSON.', 'invalidSyntax'), undefined);
        }
      });

      scim.addHook('onRequest', async (request) => {
        // Unknown endpoints have no route params: take the directory from the URL.
        const directoryId = (request.params as Partial<Params> | undefined)?.directoryId ?? /^\/scim\/v2\/([^/?]+)/.exec(request.url)?.[1] ?? '';
        const dir = await authenticateDirectory(request.ctx.db, request.ctx.clock.now(), directoryId, request.headers.authorization);
        const ctx: Ctx = { ...request.ctx, caller: { kind: 'system', name: `scim:${dir.id}` } };
        request.scim = { ctx, dir, base: scimBaseUrl(ctx, dir.id), notes: [], log: { operation: 'request', resourceType: null, resourceId: null, userName: null, groupName: null } };
      });

      scim.addHook('onSend', async (request, reply) => {
        const call = request.scim;
        let directoryId = call?.dir.id;
        let orgId = call?.dir.org_id;
        if (!call) {
          // A refused token is logged under the directory the URL names, so the admin sees "token rotated past its window".
          const id = (request.params as Partial<Params> | undefined)?.directoryId;
          if (!id || id.length > 64) return;
          const d = await request.ctx.db.selectFrom('scim_directories').select(['id', 'org_id']).where('id', '=', id).where('status', '=', 'active').executeTakeFirst();
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
        try {
          // A refused token is counted on one entry per directory per minute; everything else gets its own row.
          if (!call && reply.statusCode === 401) await recordAuthFailure(request.ctx.db, request.ctx.clock.now(), entry, request.ip ?? null);
          else await recordSync(request.ctx.db, request.ctx.clock.now(), entry);
        } catch (e) {
          request.log.error({ err: e }, 'could not write the SCIM sync log');
        }
      });

      scim.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
        const se = toScimError(err);
        request.scimError = se;
        if (se.status === 401) reply.header('www-authenticate', 'Bearer realm="scim", error="invalid_token"');
        if (se.status >= 500) request.log.error({ err }, 'unhandled SCIM error');
        else request.log.info({ code: se.code, status: se.status }, 'SCIM request refused');
        return send(reply, se.status, scimErrorBody(se));
      });
      scim.setNotFoundHandler((request, reply) => {
        const se = new ScimError(404, 'endpoint_not_found', `There is no SCIM endpoint ${request.method} ${request.url.split('?')[0]}. Endpoints: /Users, /Groups, /ServiceProviderConfig, /ResourceTypes, /Schemas.`);
        return send(reply, 404, scimErrorBody(se));
      });

      const call = (request: FastifyRequest, operation: string, resourceType: string | null): ScimCall => {
        const c = request.scim as ScimCall;
        c.log.operation = operation;
        c.log.resourceType = resourceType;
        return c;
      };
      const ifMatch = (request: FastifyRequest) => (typeof request.headers['if-match'] === 'string' ? request.headers['if-match'] : undefined);
      const hide = { schema: { hide: true } };

      // Discovery (RFC 7644 §4).
      scim.get('/:directoryId/ServiceProviderConfig', hide, async (request, reply) => send(reply, 200, serviceProviderConfig(call(request, 'discovery', null).base)));
      scim.get('/:directoryId/ResourceTypes', hide, async (request, reply) => {
        const docs = resourceTypeDocs(call(request, 'discovery', null).base);
        return send(reply, 200, { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: docs.length, startIndex: 1, itemsPerPage: docs.length, Resources: docs });
      });
      scim.get('/:directoryId/ResourceTypes/:rid', hide, async (request, reply) => {
        const doc = resourceTypeDocs(call(request, 'discovery', null).base).find((d) => d.id === (request.params as Params).rid);
        if (!doc) throw new ScimError(404, 'resource_not_found', 'Resource types are User and Group.');
        return send(reply, 200, doc);
      });
      scim.get('/:directoryId/Schemas', hide, async (request, reply) => {
        const docs = schemaDocs(call(request, 'discovery', null).base);
        return send(reply, 200, { schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'], totalResults: docs.length, startIndex: 1, itemsPerPage: docs.length, Resources: docs });
      });
      scim.get('/:directoryId/Schemas/:rid', hide, async (request, reply) => {
        const doc = schemaDocs(call(request, 'discovery', null).base).find((d) => String(d.id).toLowerCase() === String((request.params as Params).rid).toLowerCase());
        if (!doc) throw new ScimError(404, 'resource_not_found', 'Schemas served: core User, core Group and the enterprise User extension.');
        return send(reply, 200, doc);
      });
      // RFC 7644 §3.11: a provider without /Me answers 501.
      scim.all('/:directoryId/Me', hide, async (request) => {
        call(request, 'me', null);
        throw new ScimError(501, 'me_not_supported', 'The /Me endpoint is not supported: a directory token acts for the identity provider, not for a person.');
      });
      scim.post('/:directoryId/Bulk', hide, async (request) => {
        call(request, 'bulk', null);
        throw new ScimError(501, 'bulk_not_supported', 'Bulk operations are not supported (see /ServiceProviderConfig); send one request per resource.');
      });

      // Users and Groups: the same seven routes over each resource type's operations.
      const resources = [
        { path: 'Users', type: 'User', noun: 'user', list: listUsers, get: getUser, create: createUser, replace: replaceUser, patch: patchUser, remove: deleteUser },
        { path: 'Groups', type: 'Group', noun: 'group', list: listGroups, get: getGroup, create: createGroup, replace: replaceGroup, patch: patchGroup, remove: deleteGroup },
      ] as const;
      for (const r of resources) {
        const id = (request: FastifyRequest) => (request.params as Params).id as string;
        scim.get(`/:directoryId/${r.path}`, hide, async (request, reply) => send(reply, 200, await r.list(call(request, `list_${r.noun}s`, r.type), request.query as Query)));
        scim.post(`/:directoryId/${r.path}/.search`, hide, async (request, reply) => send(reply, 200, await r.list(call(request, `search_${r.noun}s`, r.type), (request.body ?? {}) as Query)));
        scim.get(`/:directoryId/${r.path}/:id`, hide, async (request, reply) => {
          const found = await r.get(call(request, `get_${r.noun}`, r.type), id(request), request.query as Query);
          if (request.headers['if-none-match'] === found.etag) return reply.status(304).header('etag', found.etag).send();
          return send(reply, 200, found.body, found.etag);
        });
        scim.post(`/:directoryId/${r.path}`, hide, async (request, reply) => {
          const created = await r.create(call(request, `create_${r.noun}`, r.type), request.body);
          reply.header('location', (created.body.meta as { location: string }).location);
          return send(reply, 201, created.body, created.etag);
        });
        scim.put(`/:directoryId/${r.path}/:id`, hide, async (request, reply) => {
          const replaced = await r.replace(call(request, `replace_${r.noun}`, r.type), id(request), request.body, ifMatch(request));
          return send(reply, 200, replaced.body, replaced.etag);
        });
        scim.patch(`/:directoryId/${r.path}/:id`, hide, async (request, reply) => {
          const patched = await r.patch(call(request, `patch_${r.noun}`, r.type), id(request), request.body, ifMatch(request));
          return send(reply, 200, patched.body, patched.etag);
        });
        scim.delete(`/:directoryId/${r.path}/:id`, hide, async (request, reply) => {
          await r.remove(call(request, `delete_${r.noun}`, r.type), id(request), ifMatch(request));
          return reply.status(204).send();
        });
      }
    },
    { prefix: '/scim/v2' },
  );
}
