import { Type, type Static } from '@sinclair/typebox';
import type { Ctx } from '../context.js';
import type { Queryable } from '../db/schema.js';
import { authorize } from '../orgs/authorize.js';
import { flushGatewayWrites } from './write-behind.js';

/** Token usage counted per organization, user, model and UTC day, for usage reports. */
export async function recordUsage(
  db: Queryable,
  u: { orgId: string; userId: string; model: string; inputTokens: number; outputTokens: number; at: Date },
): Promise<void> {
  const day = u.at.toISOString().slice(0, 10);
  await db
    .insertInto('gateway_usage')
    .values({
      org_id: u.orgId,
      user_id: u.userId,
      day,
      model: u.model.slice(0, 200),
      requests: 1,
      input_tokens: u.inputTokens,
      output_tokens: u.outputTokens,
    })
    .onConflict((oc) =>
      oc.columns(['org_id', 'user_id', 'day', 'model']).doUpdateSet((eb) => ({
        requests: eb('gateway_usage.requests', '+', 1),
        input_tokens: eb('gateway_usage.input_tokens', '+', u.inputTokens),
        output_tokens: eb('gateway_usage.output_tokens', '+', u.outputTokens),
      })),
    )
    .execute();
  // The same request in its UTC hour, for usage reports cut by hour (the Compliance API).
  await db
    .insertInto('gateway_usage_hourly')
    .values({
      org_id: u.orgId,
      user_id: u.userId,
      hour: u.at.toISOString().slice(0, 13),
      model: u.model.slice(0, 200),
      requests: 1,
      input_tokens: u.inputTokens,
      output_tokens: u.outputTokens,
    })
    .onConflict((oc) =>
      oc.columns(['org_id', 'hour', 'user_id', 'model']).doUpdateSet((eb) => ({
        requests: eb('gateway_usage_hourly.requests', '+', 1),
        input_tokens: eb('gateway_usage_hourly.input_tokens', '+', u.inputTokens),
        output_tokens: eb('gateway_usage_hourly.output_tokens', '+', u.outputTokens),
      })),
    )
    .execute();
}

export const UsageRow = Type.Object({
  userId: Type.String(),
  email: Type.Union([Type.String(), Type.Null()]),
  model: Type.String(),
  requests: Type.Integer(),
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
});
export type UsageRow = Static<typeof UsageRow>;

export async function usageReport(
  ctx: Ctx,
  orgId: string,
  from: string | undefined,
  to: string | undefined,
): Promise<{ data: UsageRow[] }> {
  await authorize(ctx, orgId, 'members.read');
  // Counters this process has queued (src/gateway/write-behind.ts) are part of the report.
  await flushGatewayWrites(ctx.db);
  let q = ctx.db
    .selectFrom('gateway_usage')
    .leftJoin('users', 'users.id', 'gateway_usage.user_id')
    .select((eb) => [
      'gateway_usage.user_id',
      'users.email',
      'gateway_usage.model',
      eb.fn.sum<number>('gateway_usage.requests').as('requests'),
      eb.fn.sum<number>('gateway_usage.input_tokens').as('input_tokens'),
      eb.fn.sum<number>('gateway_usage.output_tokens').as('output_tokens'),
    ])
    .where('gateway_usage.org_id', '=', orgId);
  if (from) q = q.where('gateway_usage.day', '>=', from.slice(0, 10));
  if (to) q = q.where('gateway_usage.day', '<=', to.slice(0, 10));
  const rows = await q
    .groupBy(['gateway_usage.user_id', 'users.email', 'gateway_usage.model'])
    .orderBy('gateway_usage.user_id')
    .orderBy('gateway_usage.model')
    .execute();
  return {
    data: rows.map((r) => ({
      userId: r.user_id,
      email: r.email,
      model: r.model,
      requests: Number(r.requests),
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
    })),
  };
}
