import type { Scope } from '../../src/compliance/scopes.js';
import type { World } from './world.js';

/** Every Compliance API route, the scope it needs, and a request that reaches it. */
export interface RouteCase {
  scope: Scope;
  url: (w: World) => string;
  body?: unknown;
}

export const ROUTES: Record<string, RouteCase> = {
  'GET /v1/compliance/activities': { scope: 'read:compliance_activities', url: () => '/v1/compliance/activities' },
  'GET /v1/compliance/organizations': { scope: 'read:compliance_directory', url: () => '/v1/compliance/organizations' },
  'GET /v1/compliance/organizations/:organization_id/users': {
    scope: 'read:compliance_directory',
    url: (w) => `/v1/compliance/organizations/${w.alpha.orgId}/users`,
  },
  'GET /v1/compliance/organizations/:organization_id/groups': {
    scope: 'read:compliance_directory',
    url: (w) => `/v1/compliance/organizations/${w.alpha.orgId}/groups`,
  },
  'GET /v1/compliance/organizations/:organization_id/groups/:group_id/members': {
    scope: 'read:compliance_directory',
    url: (w) => `/v1/compliance/organizations/${w.alpha.orgId}/groups/grp_00000000000000000000000000/members`,
  },
  'GET /v1/compliance/roles': { scope: 'read:compliance_directory', url: () => '/v1/compliance/roles' },
  'GET /v1/compliance/apps/chats': { scope: 'read:compliance_user_data', url: () => '/v1/compliance/apps/chats' },
  'POST /v1/compliance/apps/chats/query': {
    scope: 'read:compliance_user_data',
    url: () => '/v1/compliance/apps/chats/query',
    body: {},
  },
  'GET /v1/compliance/apps/chats/:chat_id/messages': {
    scope: 'read:compliance_user_data',
    url: (w) => `/v1/compliance/apps/chats/${w.ann.conversationId}/messages`,
  },
  'DELETE /v1/compliance/apps/chats/:chat_id': {
    scope: 'delete:compliance_user_data',
    url: (w) => `/v1/compliance/apps/chats/${w.cid.conversationId}`,
  },
  'GET /v1/compliance/apps/files': { scope: 'read:compliance_user_data', url: () => '/v1/compliance/apps/files' },
  'POST /v1/compliance/apps/files/query': {
    scope: 'read:compliance_user_data',
    url: () => '/v1/compliance/apps/files/query',
    body: {},
  },
  'GET /v1/compliance/apps/files/:file_id': {
    scope: 'read:compliance_user_data',
    url: (w) => `/v1/compliance/apps/files/${w.ann.fileId}`,
  },
  'GET /v1/compliance/apps/files/:file_id/content': {
    scope: 'read:compliance_user_data',
    url: (w) => `/v1/compliance/apps/files/${w.ann.fileId}/content`,
  },
  'DELETE /v1/compliance/apps/files/:file_id': {
    scope: 'delete:compliance_user_data',
    url: (w) => `/v1/compliance/apps/files/${w.cid.fileId}`,
  },
  'GET /v1/compliance/users/:user_id/export': {
    scope: 'read:compliance_user_data',
    url: (w) => `/v1/compliance/users/${w.ann.userId}/export`,
  },
  'GET /v1/compliance/usage': { scope: 'read:compliance_usage', url: () => '/v1/compliance/usage' },
};

export const complianceRoutesOf = (w: World) =>
  w.t.app.routeTable.filter((r) => r.url.startsWith('/v1/compliance/')).map((r) => `${r.method} ${r.url}`);
