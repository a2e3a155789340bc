import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { unauthenticated } from '../errors.js';
import { errorResponses } from '../http/schemas.js';
import { OCSF_ACTIVITIES, type OcsfActivity } from './action-spec.js';
import { AUDIT_ACTIONS } from './actions.js';

export const AuditActionView = Type.Object(
  {
    action: Type.String({ description: 'The name events carry, e.g. member.role_changed.' }),
    domain: Type.String({ description: 'The part of Palisade that writes it.' }),
    description: Type.String(),
    securityRelevant: Type.Boolean({
      description:
        'A change to who signs in with which rights, to security settings, keys or the audit trail, or a refusal of one.',
    }),
    ocsf: Type.Object({
      classUid: Type.Integer(),
      className: Type.String(),
      activityId: Type.Integer(),
      activityName: Type.String(),
    }),
    formerNames: Type.Array(Type.String(), {
      description: 'Names older events of this action were stored under; filters match them too.',
    }),
    synthetic: Type.Boolean({ description: 'Never stored: sent only to SIEM destinations (a test event).' }),
  },
  { $id: 'AuditActionView' },
);
export type AuditActionView = Static<typeof AuditActionView>;

export const AuditActionList = Type.Object(
  { data: Type.Array(Type.Ref('AuditActionView')) },
  { $id: 'AuditActionList' },
);

const view = (): AuditActionView[] =>
  AUDIT_ACTIONS.map((e) => {
    const [className, activityName] = e.ocsf.split(': ') as [string, string];
    const { classUid, activityId } = OCSF_ACTIVITIES[e.ocsf as OcsfActivity];
    return {
      action: e.action,
      domain: e.domain,
      description: e.description,
      securityRelevant: e.security,
      ocsf: { classUid, className, activityId, activityName },
      formerNames: [...(e.formerly ?? [])],
      synthetic: e.synthetic === true,
    };
  });

/** The audit action catalog, for the console's filters, Compliance API event types and notification rules. */
export async function auditCatalogRoutes(root: FastifyInstance): Promise<void> {
  const app = root.withTypeProvider<TypeBoxTypeProvider>();
  const list = { data: view() };
  app.get(
    '/audit-actions',
    {
      schema: {
        tags: ['Audit log'],
        operationId: 'listAuditActions',
        summary:
          'Every audit action Palisade writes, with its OCSF class, whether it is security-relevant and its former names',
        response: { 200: Type.Ref('AuditActionList'), ...errorResponses },
      },
    },
    async (request) => {
      if (request.ctx.caller.kind !== 'user')
        throw unauthenticated(
          'authentication_required',
          'Sign in, or send a personal API token as "Authorization: Bearer pls_pat_…".',
        );
      return list;
    },
  );
}
