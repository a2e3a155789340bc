import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import { newId } from '../ids.js';
import { authorize } from '../orgs/authorize.js';
import { orgLineage } from '../orgs/store.js';
import { recordAudit } from '../audit/record.js';
import { NOTIFICATION_TYPES, TYPE_NAMES } from './catalog.js';
import { notificationError } from './errors.js';
import type { Severity } from './tables.js';

const SeveritySchema = Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]);

export const RouteInput = Type.Object(
  {
    type: Type.String({
      maxLength: 64,
      description: 'A notification type (GET …/notifications/types) or "*" for all.',
    }),
    channelId: Type.String({ maxLength: 64 }),
    minSeverity: Type.Optional(SeveritySchema),
  },
  { additionalProperties: false },
);
export const RoutingInput = Type.Object(
  { routes: Type.Array(RouteInput, { maxItems: 200 }) },
  { additionalProperties: false },
);
export type RoutingInput = Static<typeof RoutingInput>;

export const RouteView = Type.Object({
  type: Type.String(),
  channelId: Type.String(),
  minSeverity: SeveritySchema,
  organizationId: Type.String({
    description: 'Where the route is set: this organization, or an ancestor whose routes apply here too.',
  }),
});
export const RoutingView = Type.Object({
  routes: Type.Array(RouteView, { description: "This organization's own routes." }),
  inherited: Type.Array(RouteView, { description: 'Routes of parent organizations, which apply here as well.' }),
  defaultRecipients: Type.String({ description: 'What happens when no route matches.' }),
});
export type RoutingView = Static<typeof RoutingView>;

export const TypesView = Type.Object({
  data: Type.Array(Type.Object({ type: Type.String(), severity: SeveritySchema, description: Type.String() })),
});

export async function listTypes(ctx: Ctx, orgId: string): Promise<Static<typeof TypesView>> {
  await authorize(ctx, orgId, 'notifications.manage');
  return {
    data: TYPE_NAMES.map((type) => ({
      type,
      severity: NOTIFICATION_TYPES[type].severity,
      description: NOTIFICATION_TYPES[type].description,
    })),
  };
}

export async function getRouting(ctx: Ctx, orgId: string): Promise<RoutingView> {
  await authorize(ctx, orgId, 'notifications.manage');
  const lineage = (await orgLineage(ctx.db, orgId)).map((o) => o.id);
  const rows = await ctx.db
    .selectFrom('notification_routes')
    .selectAll()
    .where('org_id', 'in', lineage)
    .orderBy('id')
    .execute();
  const view = (r: (typeof rows)[number]) => ({
    type: r.type,
    channelId: r.channel_id,
    minSeverity: r.min_severity,
    organizationId: r.org_id,
  });
  return {
    routes: rows.filter((r) => r.org_id === orgId).map(view),
    inherited: rows.filter((r) => r.org_id !== orgId).map(view),
    defaultRecipients:
      'A notification no route matches (here or in a parent organization) is emailed to the primary owners and admins of the organization.',
  };
}

/** Replaces the organization's own routes in one change (audited with before and after). */
export async function putRouting(ctx: Ctx, orgId: string, input: RoutingInput): Promise<RoutingView> {
  await authorize(ctx, orgId, 'notifications.manage');
  const unknownTypes = input.routes
    .map((r) => r.type)
    .filter((t) => t !== '*' && !(TYPE_NAMES as string[]).includes(t));
  if (unknownTypes.length)
    throw notificationError(
      'notification_type_unknown',
      `Unknown notification type(s): ${[...new Set(unknownTypes)].join(', ')}. GET …/notifications/types lists them; "*" means all.`,
      { field: 'routes', types: [...new Set(unknownTypes)] },
    );
  const ids = [...new Set(input.routes.map((r) => r.channelId))];
  const own = ids.length
    ? await ctx.db
        .selectFrom('notification_channels')
        .select('id')
        .where('org_id', '=', orgId)
        .where('id', 'in', ids)
        .execute()
    : [];
  const missing = ids.filter((id) => !own.some((c) => c.id === id));
  // A channel of another organization reads exactly like one that does not exist.
  if (missing.length)
    throw notificationError(
      'notification_channel_unknown',
      `No channel with id ${missing.join(', ')} exists in this organization. Create the channel first (POST …/notifications/channels), then route to its id.`,
      { field: 'routes', channelIds: missing },
    );
  const now = ctx.clock.now();
  await ctx.db.transaction().execute(async (tx) => {
    const before = await tx
      .selectFrom('notification_routes')
      .select(['type', 'channel_id', 'min_severity'])
      .where('org_id', '=', orgId)
      .orderBy('id')
      .execute();
    await tx.deleteFrom('notification_routes').where('org_id', '=', orgId).execute();
    const seen = new Set<string>();
    const after: { type: string; channelId: string; minSeverity: Severity }[] = [];
    for (const r of input.routes) {
      const key = `${r.type}|${r.channelId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const minSeverity = r.minSeverity ?? 'info';
      after.push({ type: r.type, channelId: r.channelId, minSeverity });
      await tx
        .insertInto('notification_routes')
        .values({
          id: newId('nrt', now),
          org_id: orgId,
          type: r.type,
          channel_id: r.channelId,
          min_severity: minSeverity,
          created_at: now.toISOString(),
        })
        .execute();
    }
    await recordAudit(tx, ctx, {
      orgId,
      action: 'notification_routing.updated',
      targets: ids.map((id) => ({ type: 'notification_channel', id })),
      metadata: {
        before: before.map((b) => ({ type: b.type, channelId: b.channel_id, minSeverity: b.min_severity })),
        after,
      },
    });
  });
  return getRouting(ctx, orgId);
}
