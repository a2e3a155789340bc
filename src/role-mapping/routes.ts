import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { OrgParams, errorResponses, ref } from '../http/schemas.js';
import { pendingScimRoleChanges } from '../scim/preview.js';
import {
  PreviewInput,
  RoleMappingPreviewView,
  RoleMappingView,
  getRoleMapping,
  previewRoleMapping,
} from '../orgs/role-mapping.js';
import { PutRoleMappingInput, PutRoleMappingView, putRoleMapping } from './change.js';

/**
 * The group-to-role mapping's API. The mapping itself (rules, evaluation) is in orgs/role-mapping.ts,
 * where SSO, SCIM and the lockout guard read it; replacing it passes the lockout guard and reports
 * pending SCIM role changes, so this sits above orgs, lockout and scim rather than inside orgs.
 */
const tags = ['Role mapping'];

/** Named response components of these routes, registered at the root by app.ts (see sharedSchemas there). */
export const roleMappingSchemas = [RoleMappingView, RoleMappingPreviewView];

export async function roleMappingRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/orgs/:orgId/role-mapping',
    {
      schema: {
        tags,
        operationId: 'getRoleMapping',
        summary: 'Group-to-role rules and the required group prefix',
        params: OrgParams,
        response: { 200: ref(RoleMappingView), ...errorResponses },
      },
    },
    async (request) => getRoleMapping(request.ctx, request.params.orgId),
  );
  app.put(
    '/orgs/:orgId/role-mapping',
    {
      schema: {
        operationId: 'putRoleMapping',
        tags,
        summary:
          'Replace the group-to-role rules (used by SSO and SCIM). Recent sign-ins and SCIM roles are replayed first: a mapping that takes access or a role away is refused (409 sso_change_would_lock_out) unless acknowledged; pendingRoleChanges says, per SCIM directory, how many members would change and the apply-roles call that applies it',
        params: OrgParams,
        body: PutRoleMappingInput,
        response: { 200: PutRoleMappingView, ...errorResponses },
      },
    },
    async (request) => {
      const mapping = await putRoleMapping(request.ctx, request.params.orgId, request.body);
      // SSO applies the mapping at each login; SCIM directories apply it only through apply-roles (or a person's next SCIM update).
      return { ...mapping, pendingRoleChanges: await pendingScimRoleChanges(request.ctx.db, request.params.orgId) };
    },
  );
  app.post(
    '/orgs/:orgId/role-mapping/preview',
    {
      schema: {
        tags,
        operationId: 'previewRoleMapping',
        summary: 'Dry run: which role given groups or people would get, and why',
        params: OrgParams,
        body: PreviewInput,
        response: { 200: ref(RoleMappingPreviewView), ...errorResponses },
      },
    },
    async (request) => previewRoleMapping(request.ctx, request.params.orgId, request.body),
  );
}
