import { Type, type Static } from '@sinclair/typebox';
import { recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import { guardChange } from '../lockout/guard.js';
import { ImpactFields, type ImpactView, impactView } from '../lockout/views.js';
import { authorize } from '../orgs/authorize.js';
import {
  MappableRole,
  type RoleMapping,
  RoleMappingInput,
  loadRoleMapping,
  mappingForAudit,
  validateRoleMapping,
  writeRoleMapping,
} from '../orgs/role-mapping.js';

export const PutRoleMappingInput = Type.Composite(
  [
    RoleMappingInput,
    Type.Object({
      acknowledgeWarnings: Type.Optional(
        Type.Boolean({
          description:
            'Apply the mapping even though the lockout guard lists people who would lose access or a role (SSO sign-ins and SCIM-derived roles are replayed first).',
        }),
      ),
    }),
  ],
  { additionalProperties: false },
);
export type PutRoleMappingInput = Static<typeof PutRoleMappingInput>;

export const PutRoleMappingView = Type.Object({
  requiredPrefix: Type.Union([Type.String(), Type.Null()]),
  defaultRole: Type.Union([MappableRole, Type.Null()]),
  rules: Type.Array(Type.Object({ id: Type.String(), group: Type.String(), role: MappableRole })),
  ...ImpactFields,
  pendingRoleChanges: Type.Array(
    Type.Object({
      directoryId: Type.String(),
      name: Type.String(),
      roleSync: Type.Boolean(),
      wouldChange: Type.Integer(),
      applyWith: Type.String(),
      message: Type.String(),
    }),
    {
      description: 'Per SCIM directory: how many members the saved mapping would change, and the call that applies it.',
    },
  ),
});

/**
 * Replaces the group-to-role mapping (used by SSO at each sign-in and by SCIM directories with
 * group-driven roles). It passes the lockout guard: recent SSO sign-ins and SCIM people are replayed
 * against the new mapping, and a mapping that would take access or a role away from anyone is
 * refused with the list unless acknowledged.
 */
export async function putRoleMapping(
  ctx: Ctx,
  orgId: string,
  input: PutRoleMappingInput,
): Promise<RoleMapping & ImpactView> {
  await authorize(ctx, orgId, 'members.manage');
  const { acknowledgeWarnings, ...mapping } = input;
  validateRoleMapping(mapping);
  return ctx.db.transaction().execute(async (tx) => {
    const before = await loadRoleMapping(tx, orgId);
    const { result, impact } = await guardChange(
      tx,
      ctx,
      {
        orgId,
        change: 'role_mapping',
        target: { type: 'organization', id: orgId },
        acknowledge: acknowledgeWarnings === true,
      },
      async () => {
        await writeRoleMapping(tx, orgId, mapping, ctx.clock.now());
        const after = await loadRoleMapping(tx, orgId);
        await recordAudit(tx, ctx, {
          orgId,
          action: 'role_mapping.updated',
          targets: [{ type: 'organization', id: orgId }],
          metadata: { before: mappingForAudit(before), after: mappingForAudit(after) },
        });
        return after;
      },
    );
    return { ...result, ...impactView(impact) };
  });
}
