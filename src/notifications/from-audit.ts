import { auditActionSpec } from '../audit/actions.js';
import type { AuditEvent } from '../audit/event.js';
import type { Ctx } from '../context.js';
import { DAY_MS, NOTIFICATION_TYPES } from './catalog.js';
import type { Draft, Link } from './draft.js';
import { domainDraft } from './domain-facts.js';

/**
 * Audit events → notifications. The detectors (domain re-check, metadata refresh, stream delivery,
 * sign-in, key creation…) already write an audit event for every change worth telling someone
 * about; this is the one place that turns those events into notifications, so no detector calls
 * the notification code.
 */
type Sys = Pick<Ctx, 'db' | 'config'>;

const target = (e: AuditEvent, type: string) => e.targets.find((t) => t.type === type);
const who = (e: AuditEvent) => e.actor.email ?? e.actor.id ?? e.actor.type;
const api = (config: Sys['config'], path: string): string => `${config.publicUrl}/api/v1${path}`;
const str = (v: unknown): string =>
  typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v);

function oneOff(
  e: AuditEvent,
  type: Draft['type'],
  title: string,
  facts: Record<string, unknown>,
  fix: string,
  links: Link[] = [],
): Draft {
  return {
    orgId: e.orgId,
    type,
    phase: 'alert',
    severity: NOTIFICATION_TYPES[type].severity,
    causeKey: null,
    title,
    facts: { ...facts, occurredAt: e.occurredAt, auditEventId: e.id },
    fix,
    links,
    dedupKey: `event:${e.id}:${type}`,
    sourceEventId: e.id,
  };
}

export async function draftsForEvent(ctx: Sys, e: AuditEvent): Promise<Draft[]> {
  const { config } = ctx;
  // Stored events keep the name an action had when they were written: match on its current name.
  const action = auditActionSpec(e.action)?.action ?? e.action;
  switch (action) {
    case 'domain.failing':
    case 'domain.expired':
    case 'domain.recovered':
    case 'domain.verified': {
      const d = target(e, 'domain');
      if (!d) return [];
      const phase = action === 'domain.failing' ? 'failing' : action === 'domain.expired' ? 'expired' : 'resolved';
      const draft = await domainDraft(ctx, e.orgId, d.id, phase, new Date(e.occurredAt), e.metadata);
      return draft ? [{ ...draft, dedupKey: `event:${e.id}`, sourceEventId: e.id }] : [];
    }
    case 'sso.metadata_refresh_failed': {
      const c = target(e, 'sso_connection');
      if (!c) return [];
      const error = str(e.metadata.error);
      return [
        {
          orgId: e.orgId,
          type: 'sso.metadata_refresh_failing',
          phase: 'alert',
          severity: 'critical',
          causeKey: `sso_metadata:${c.id}`,
          remindEveryMs: DAY_MS,
          title: `Identity provider metadata for ${c.name ?? c.id} cannot be refreshed`,
          facts: { connection: c.name ?? c.id, connectionId: c.id, error, failingSince: e.occurredAt },
          fix: `${error} Palisade keeps the last metadata it fetched meanwhile; when the identity provider rotates its certificate, sign-ins fail until the URL works again.`,
          links: [{ label: 'Connection', url: api(config, `/orgs/${e.orgId}/sso/connections/${c.id}`) }],
          dedupKey: `event:${e.id}`,
          sourceEventId: e.id,
        },
      ];
    }
    case 'sso.metadata_refreshed': {
      const c = target(e, 'sso_connection');
      if (!c || e.outcome !== 'success') return [];
      return [
        resolvedDraft(
          e,
          'sso.metadata_refresh_failing',
          `sso_metadata:${c.id}`,
          `Identity provider metadata for ${c.name ?? c.id} refreshes again`,
          { connection: c.name ?? c.id, connectionId: c.id },
        ),
      ];
    }
    case 'sso.login_failed': {
      if (e.metadata.code !== 'oidc_discovery_failed') return [];
      const c = target(e, 'sso_connection');
      if (!c) return [];
      const day = e.occurredAt.slice(0, 10);
      const detail = str(e.metadata.detail);
      return [
        {
          ...oneOff(
            e,
            'sso.oidc_discovery_failing',
            `Sign-ins through OIDC connection ${c.id} fail: discovery cannot be fetched`,
            { connectionId: c.id, discoveryUrl: str(e.metadata.expected), error: detail },
            `Palisade could not fetch ${str(e.metadata.expected)}: ${detail} Check the issuer URL of the connection and that the provider is reachable from Palisade.`,
            [{ label: 'Connection', url: api(config, `/orgs/${e.orgId}/sso/connections/${c.id}`) }],
          ),
          dedupKey: `oidc_discovery:${c.id}:${day}`,
        },
      ];
    }
    case 'sso.enforcement_enabled':
    case 'sso.enforcement_disabled': {
      const on = action === 'sso.enforcement_enabled';
      const c = target(e, 'sso_connection');
      return [
        oneOff(
          e,
          'sso.enforcement_changed',
          `Single sign-on enforcement was turned ${on ? 'on' : 'off'} by ${who(e)}`,
          { enforced: on, connectionId: c?.id ?? null, by: who(e) },
          on
            ? 'Members now sign in only through single sign-on; primary owners keep break-glass. If this was not expected, turn it off (DELETE …/sso/enforcement) and ask who changed it.'
            : 'Members may sign in with passwords again. If this was not expected, turn enforcement back on (PUT …/sso/enforcement) and ask who changed it.',
          [{ label: 'Enforcement', url: api(config, `/orgs/${e.orgId}/sso/enforcement`) }],
        ),
      ];
    }
    case 'auth.break_glass_used': {
      const u = target(e, 'user');
      return [
        oneOff(
          e,
          'auth.break_glass_used',
          `Break-glass sign-in used by ${u?.name ?? who(e)}`,
          {
            user: u?.name ?? who(e),
            ip: e.actor.ip,
            userAgent: e.actor.userAgent,
            ssoEnforced: e.metadata.ssoEnforced ?? null,
          },
          str(e.metadata.review) ||
            'A primary owner bypassed single sign-on. Confirm with them that this was expected.',
          [{ label: 'Audit event', url: api(config, `/orgs/${e.orgId}/audit-events?action=auth.break_glass_used`) }],
        ),
      ];
    }
    case 'stream.delivery_failed':
    case 'stream.circuit_opened':
    case 'stream.dead_lettered': {
      const s = target(e, 'audit_stream');
      if (!s) return [];
      const dead = action === 'stream.dead_lettered';
      const state = dead
        ? 'is dead-lettered: delivery stopped until an admin retries it'
        : action === 'stream.circuit_opened'
          ? `failed ${str(e.metadata.failures)} times in a row (circuit open; attempts continue, spaced out)`
          : 'failed to deliver';
      const error = str(e.metadata.error);
      return [
        {
          orgId: e.orgId,
          type: 'stream.failing',
          phase: 'alert',
          severity: dead || action === 'stream.circuit_opened' ? 'critical' : 'warning',
          causeKey: `stream:${s.id}`,
          stage: dead ? 3 : action === 'stream.circuit_opened' ? 2 : 1,
          remindEveryMs: DAY_MS,
          title: `SIEM stream ${s.name ?? s.id} ${state}`,
          facts: {
            stream: s.name ?? s.id,
            streamId: s.id,
            kind: e.metadata.kind ?? null,
            failures: e.metadata.failures ?? null,
            pendingFromSeq: e.metadata.pendingFromSeq ?? null,
            receiverStatus: e.metadata.status ?? null,
            error,
          },
          fix: `${error}${dead ? ' Fix the receiver, then POST …/audit-streams/' + s.id + '/retry: nothing is lost, delivery resumes from the first undelivered event.' : ' Nothing is lost: delivery resumes from the first undelivered event once the receiver accepts it.'}`,
          links: [{ label: 'Stream health', url: api(config, `/orgs/${e.orgId}/audit-streams/${s.id}`) }],
          dedupKey: `event:${e.id}`,
          sourceEventId: e.id,
        },
      ];
    }
    case 'stream.recovered': {
      const s = target(e, 'audit_stream');
      if (!s) return [];
      return [
        resolvedDraft(e, 'stream.failing', `stream:${s.id}`, `SIEM stream ${s.name ?? s.id} delivers again`, {
          stream: s.name ?? s.id,
          streamId: s.id,
          failuresBefore: e.metadata.failuresBefore ?? null,
          failingSince: e.metadata.since ?? null,
        }),
      ];
    }
    case 'retention.purged': {
      const m = e.metadata;
      return [
        oneOff(
          e,
          'retention.purge_summary',
          `Retention purge removed ${str(m.conversations)} conversation(s), ${str(m.messages)} message(s), ${str(m.files)} file(s)`,
          {
            retentionDays: m.retentionDays ?? null,
            cutoff: m.cutoff ?? null,
            conversations: m.conversations ?? 0,
            messages: m.messages ?? 0,
            files: m.files ?? 0,
            keysDestroyed: m.keysDestroyed ?? 0,
            usersOnHold: m.usersOnHold ?? 0,
          },
          `Content older than ${str(m.retentionDays)} days (before ${str(m.cutoff)}) was destroyed as the retention policy says; ${str(m.usersOnHold)} user(s) on legal hold were kept. To keep more, lengthen the retention (PATCH …/workspace/settings) or place a legal hold.`,
        ),
      ];
    }
    case 'member.role_changed':
    case 'member.joined': {
      const role = action === 'member.role_changed' ? e.metadata.to : e.metadata.role;
      if (role !== 'primary_owner') return [];
      const u = target(e, 'user');
      const m = target(e, 'membership');
      return [
        oneOff(
          e,
          'member.primary_owner_added',
          `${u?.name ?? m?.id ?? 'A member'} is now a primary owner`,
          {
            member: u?.name ?? null,
            membershipId: m?.id ?? null,
            by: who(e),
            previousRole: e.metadata.from ?? null,
            source: e.metadata.source ?? e.metadata.via ?? null,
          },
          'Primary owners can delete the organization, manage owners and use break-glass. If this was not expected, demote them (PATCH …/members/{memberId}) and review the audit log.',
          [{ label: 'Members', url: api(config, `/orgs/${e.orgId}/members`) }],
        ),
      ];
    }
    case 'compliance_key.created':
    case 'gateway_key.created':
    case 'api_token.created': {
      const kind =
        action === 'compliance_key.created'
          ? 'compliance key'
          : action === 'gateway_key.created'
            ? 'gateway key'
            : 'personal API token';
      const k = e.targets[0];
      return [
        oneOff(
          e,
          'key.created',
          `New ${kind} "${k?.name ?? ''}" created by ${who(e)}`,
          {
            keyKind: kind,
            keyId: k?.id ?? null,
            name: k?.name ?? null,
            by: who(e),
            scopes: e.metadata.scopes ?? null,
            expiresAt: e.metadata.expiresAt ?? null,
          },
          `If you do not recognise this ${kind}, revoke it now and ask ${who(e)} about it.`,
        ),
      ];
    }
    default:
      return [];
  }
}

function resolvedDraft(
  e: AuditEvent,
  type: Draft['type'],
  causeKey: string,
  title: string,
  facts: Record<string, unknown>,
): Draft {
  return {
    orgId: e.orgId,
    type,
    phase: 'resolved',
    severity: 'info',
    causeKey,
    title,
    facts: { ...facts, resolvedAt: e.occurredAt },
    fix: 'Nothing to do: the problem is over.',
    links: [],
    dedupKey: `event:${e.id}`,
    sourceEventId: e.id,
  };
}
