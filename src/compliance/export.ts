import { recordAudit } from '../audit/record.js';
import type { Queryable } from '../db/schema.js';
import type { ComplianceCall } from './call.js';
import { openConversationTitle, openFileData, openFileName, openMessage } from './content.js';
import { notVisible } from './errors.js';
import { TAR_END, tarEntry } from './tar.js';
import { flushGatewayWrites } from '../gateway/write-behind.js';
import { sealPendingAudit } from '../audit/seal.js';

/**
 * Data-subject access requests: everything Palisade holds about one person in the organizations
 * the key sees — profile, memberships, SCIM and SSO identity data, conversations with their
 * messages, files, usage, gateway keys, and the audit events they caused — as one tar archive,
 * produced entry by entry so memory does not grow with the person's history.
 *
 * Nothing of anyone else's: audit events they caused can name other people (an invitation names
 * the invitee); those names, addresses and ids are replaced by "[redacted]". Hashes are left out,
 * since a redacted event no longer matches its chain.
 */
const EVENTS_PER_FILE = 10_000;
const REDACTED = '[redacted]';
const PERSON_TARGETS = new Set(['user', 'member', 'scim_user']);
const EMAIL = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const USER_ID = /\busr_[0-9a-z]{10,40}\b/g;

interface Subject {
  userId: string;
  email: string;
  membershipIds: Set<string>;
  orgIds: string[];
}

/** The organizations (of those the key sees) that hold anything about the person; 404 when none do. */
async function subjectOf(call: ComplianceCall, userId: string): Promise<Subject> {
  const { db } = call.ctx;
  const orgIds = call.key.orgIds;
  const user = orgIds.length
    ? await db.selectFrom('users').select(['id', 'email']).where('id', '=', userId).executeTakeFirst()
    : undefined;
  if (!user) throw notVisible('user');
  const held = new Set<string>();
  const memberships = await db
    .selectFrom('memberships')
    .select(['id', 'org_id'])
    .where('user_id', '=', userId)
    .where('org_id', 'in', orgIds)
    .execute();
  memberships.forEach((m) => held.add(m.org_id));
  for (const table of ['workspace_conversations', 'workspace_files'] as const) {
    const rows = await db
      .selectFrom(table)
      .select('org_id')
      .distinct()
      .where('user_id', '=', userId)
      .where('org_id', 'in', orgIds)
      .execute();
    rows.forEach((r) => held.add(r.org_id));
  }
  const acted = await db
    .selectFrom('audit_events')
    .select('org_id')
    .distinct()
    .where('actor_id', '=', userId)
    .where('org_id', 'in', orgIds)
    .execute();
  acted.forEach((r) => held.add(r.org_id));
  if (held.size === 0) throw notVisible('user');
  return {
    userId,
    email: user.email,
    membershipIds: new Set(memberships.map((m) => m.id)),
    orgIds: orgIds.filter((o) => held.has(o)),
  };
}

function redactString(s: string, subject: Subject): string {
  return s
    .replace(EMAIL, (m) => (m.toLowerCase() === subject.email ? m : REDACTED))
    .replace(USER_ID, (m) => (m === subject.userId ? m : REDACTED));
}

function redactValue(v: unknown, subject: Subject): unknown {
  if (typeof v === 'string') return redactString(v, subject);
  if (Array.isArray(v)) return v.map((x) => redactValue(x, subject));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactValue(x, subject)]));
  return v;
}

export function redactTarget(
  t: { type: string; id: string; name?: string },
  subject: Subject,
): { type: string; id: string; name?: string } {
  const isOther =
    (PERSON_TARGETS.has(t.type) && t.id !== subject.userId) ||
    (t.type === 'membership' && !subject.membershipIds.has(t.id));
  if (isOther) return { type: t.type, id: REDACTED };
  return {
    type: t.type,
    id: redactString(t.id, subject),
    ...(t.name !== undefined ? { name: redactString(t.name, subject) } : {}),
  };
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

export async function startUserExport(
  call: ComplianceCall,
  userId: string,
): Promise<{ filename: string; body: AsyncGenerator<Buffer> }> {
  const { ctx } = call;
  const subject = await subjectOf(call, userId);
  // Usage counters and key last-used times this process has not written yet belong in the export.
  await flushGatewayWrites(ctx.db);
  for (const orgId of subject.orgIds) await sealPendingAudit(ctx.db, orgId);
  const counts = await countsOf(ctx.db, subject);
  await ctx.db.transaction().execute((tx) =>
    recordAudit(tx, ctx, {
      orgId: call.key.rootOrgId,
      action: 'compliance.user_exported',
      targets: [
        { type: 'compliance_key', id: call.key.id, name: call.key.name },
        { type: 'user', id: userId },
        ...subject.orgIds.map((id) => ({ type: 'organization', id })),
      ],
      metadata: { organizations: subject.orgIds.length, ...counts },
    }),
  );
  return { filename: `palisade-dsar-${userId}.tar`, body: archive(call, subject, counts) };
}

async function countsOf(db: Queryable, s: Subject) {
  const n = async (table: 'workspace_conversations' | 'workspace_files') =>
    Number(
      (
        await db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('user_id', '=', s.userId)
          .where('org_id', 'in', s.orgIds)
          .executeTakeFirstOrThrow()
      ).n,
    );
  const events = Number(
    (
      await db
        .selectFrom('audit_events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('actor_id', '=', s.userId)
        .where('org_id', 'in', s.orgIds)
        .executeTakeFirstOrThrow()
    ).n,
  );
  return { conversations: await n('workspace_conversations'), files: await n('workspace_files'), auditEvents: events };
}

async function* archive(call: ComplianceCall, s: Subject, counts: Record<string, number>): AsyncGenerator<Buffer> {
  const { db, config, clock } = call.ctx;
  const now = clock.now();
  const dir = `palisade-dsar-${s.userId}`;
  const entry = (name: string, data: Buffer | string) => tarEntry(`${dir}/${name}`, data, now);

  yield entry(
    'README.txt',
    [
      `Everything Palisade holds about ${s.email} (${s.userId}) in ${s.orgIds.length} organization(s), exported ${now.toISOString()}.`,
      '',
      'profile.json            the account',
      'memberships.json        organizations, roles and statuses',
      'identities.json         what SCIM directories and SSO sign-ins sent about the person',
      'conversations/*.json    each conversation with its messages, decrypted',
      'files/*.json, *.bin     each uploaded file: metadata, and the bytes as uploaded',
      'usage.json              model usage per day and model',
      'gateway-keys.json       gateway keys (names and dates; never the secrets)',
      'audit-events/*.ndjson   audit events the person caused; other people named in them are [redacted]',
      '',
    ].join('\n'),
  );

  const user = await db
    .selectFrom('users')
    .select([
      'id',
      'email',
      'display_name',
      'status',
      'created_at',
      'updated_at',
      'email_verified_at',
      'password_changed_at',
      'password_hash',
    ])
    .where('id', '=', s.userId)
    .executeTakeFirstOrThrow();
  const totp = await db
    .selectFrom('user_totp')
    .select(['confirmed_at'])
    .where('user_id', '=', s.userId)
    .executeTakeFirst();
  yield entry(
    'profile.json',
    json({
      id: user.id,
      email_address: user.email,
      full_name: user.display_name,
      status: user.status,
      created_at: user.created_at,
      updated_at: user.updated_at,
      email_verified_at: user.email_verified_at,
      has_password: user.password_hash !== null,
      password_changed_at: user.password_changed_at,
      second_factor_enrolled_at: totp?.confirmed_at ?? null,
    }),
  );

  const memberships = await db
    .selectFrom('memberships')
    .innerJoin('organizations', 'organizations.id', 'memberships.org_id')
    .select([
      'memberships.id',
      'memberships.org_id',
      'organizations.name as org_name',
      'memberships.role',
      'memberships.status',
      'memberships.created_at',
      'memberships.updated_at',
      'memberships.suspended_at',
    ])
    .where('memberships.user_id', '=', s.userId)
    .where('memberships.org_id', 'in', s.orgIds)
    .orderBy('memberships.id')
    .execute();
  yield entry(
    'memberships.json',
    json(
      memberships.map((m) => ({
        id: m.id,
        organization_id: m.org_id,
        organization_name: m.org_name,
        role: m.role,
        status: m.status,
        created_at: m.created_at,
        updated_at: m.updated_at,
        suspended_at: m.suspended_at,
      })),
    ),
  );

  const scim = await db
    .selectFrom('scim_users')
    .select([
      'id',
      'org_id',
      'directory_id',
      'user_name',
      'external_id',
      'active',
      'resource',
      'created_at',
      'updated_at',
    ])
    .where('user_id', '=', s.userId)
    .where('org_id', 'in', s.orgIds)
    .orderBy('id')
    .execute();
  const groups = scim.length
    ? await db
        .selectFrom('scim_group_members')
        .innerJoin('scim_groups', 'scim_groups.id', 'scim_group_members.group_id')
        .select(['scim_group_members.scim_user_id', 'scim_groups.display_name'])
        .where(
          'scim_group_members.scim_user_id',
          'in',
          scim.map((x) => x.id),
        )
        .execute()
    : [];
  const sso = await db
    .selectFrom('sso_logins')
    .select(['connection_id', 'org_id', 'email', 'attributes', 'role', 'purpose', 'occurred_at'])
    .where('user_id', '=', s.userId)
    .where('org_id', 'in', s.orgIds)
    .orderBy('occurred_at')
    .execute();
  yield entry(
    'identities.json',
    json({
      scim: scim.map((x) => ({
        organization_id: x.org_id,
        directory_id: x.directory_id,
        user_name: x.user_name,
        external_id: x.external_id,
        active: Number(x.active) === 1,
        attributes: JSON.parse(x.resource) as unknown,
        groups: groups.filter((g) => g.scim_user_id === x.id).map((g) => g.display_name),
        created_at: x.created_at,
        updated_at: x.updated_at,
      })),
      sso_sign_ins: sso.map((x) => ({
        organization_id: x.org_id,
        connection_id: x.connection_id,
        email_address: x.email,
        attributes: JSON.parse(x.attributes) as unknown,
        role: x.role,
        purpose: x.purpose,
        occurred_at: x.occurred_at,
      })),
    }),
  );

  // Conversations in id order, in batches: each is one entry with its messages.
  let afterConv = '';
  for (;;) {
    const convs = await db
      .selectFrom('workspace_conversations')
      .selectAll()
      .where('user_id', '=', s.userId)
      .where('org_id', 'in', s.orgIds)
      .where('id', '>', afterConv)
      .orderBy('id')
      .limit(100)
      .execute();
    if (convs.length === 0) break;
    for (const c of convs) {
      afterConv = c.id;
      const t = await openConversationTitle(db, config, c);
      const msgs = await db
        .selectFrom('workspace_messages')
        .selectAll()
        .where('conversation_id', '=', c.id)
        .where('org_id', '=', c.org_id)
        .orderBy('id')
        .execute();
      const messages = [];
      for (const m of msgs) {
        const content = await openMessage(db, config, m);
        messages.push({
          id: m.id,
          role: m.role,
          content,
          content_status: content === null ? 'shredded' : 'available',
          model: m.model,
          input_tokens: m.input_tokens === null ? null : Number(m.input_tokens),
          output_tokens: m.output_tokens === null ? null : Number(m.output_tokens),
          created_at: m.created_at,
        });
      }
      yield entry(
        `conversations/${c.id}.json`,
        json({
          id: c.id,
          organization_id: c.org_id,
          name: t.title,
          source: c.source,
          content_status: t.status,
          created_at: c.created_at,
          updated_at: c.updated_at,
          last_message_at: c.last_message_at,
          messages,
        }),
      );
    }
  }

  let afterFile = '';
  for (;;) {
    const files = await db
      .selectFrom('workspace_files')
      .selectAll()
      .where('user_id', '=', s.userId)
      .where('org_id', 'in', s.orgIds)
      .where('id', '>', afterFile)
      .orderBy('id')
      .limit(20)
      .execute();
    if (files.length === 0) break;
    for (const f of files) {
      afterFile = f.id;
      const name = await openFileName(db, config, f);
      const data = await openFileData(db, config, f);
      yield entry(
        `files/${f.id}.json`,
        json({
          id: f.id,
          organization_id: f.org_id,
          filename: name,
          content_type: f.content_type,
          size_bytes: Number(f.size_bytes),
          sha256: f.sha256,
          content_status: data === null ? 'shredded' : 'available',
          content_file: data === null ? null : `files/${f.id}.bin`,
          created_at: f.created_at,
        }),
      );
      if (data !== null) yield entry(`files/${f.id}.bin`, data);
    }
  }

  const usage = await db
    .selectFrom('gateway_usage')
    .selectAll()
    .where('user_id', '=', s.userId)
    .where('org_id', 'in', s.orgIds)
    .orderBy('day')
    .orderBy('org_id')
    .orderBy('model')
    .execute();
  yield entry(
    'usage.json',
    json(
      usage.map((u) => ({
        organization_id: u.org_id,
        day: u.day,
        model: u.model,
        requests: Number(u.requests),
        input_tokens: Number(u.input_tokens),
        output_tokens: Number(u.output_tokens),
      })),
    ),
  );

  const keys = await db
    .selectFrom('gateway_keys')
    .select(['id', 'org_id', 'name', 'display_prefix', 'created_at', 'last_used_at', 'revoked_at'])
    .where('user_id', '=', s.userId)
    .where('org_id', 'in', s.orgIds)
    .orderBy('id')
    .execute();
  yield entry(
    'gateway-keys.json',
    json(
      keys.map((k) => ({
        id: k.id,
        organization_id: k.org_id,
        name: k.name,
        prefix: k.display_prefix,
        created_at: k.created_at,
        last_used_at: k.last_used_at,
        revoked_at: k.revoked_at,
      })),
    ),
  );

  // Audit events as actor, per organization in time order, NDJSON files of EVENTS_PER_FILE lines.
  let fileNo = 0;
  let lines: string[] = [];
  const flush = () => {
    fileNo += 1;
    const e = entry(`audit-events/events-${String(fileNo).padStart(4, '0')}.ndjson`, lines.join(''));
    lines = [];
    return e;
  };
  for (const orgId of s.orgIds) {
    let after: [string, string] | undefined;
    for (;;) {
      let q = db
        .selectFrom('audit_events')
        .select([
          'id',
          'org_id',
          'occurred_at',
          'actor_type',
          'actor_ip',
          'actor_user_agent',
          'action',
          'outcome',
          'targets',
          'metadata',
          'request_id',
        ])
        .where('org_id', '=', orgId)
        .where('actor_id', '=', s.userId);
      if (after) {
        const [at, id] = after;
        q = q.where((eb) =>
          eb.or([eb('occurred_at', '>', at), eb.and([eb('occurred_at', '=', at), eb('id', '>', id)])]),
        );
      }
      const rows = await q.orderBy('occurred_at').orderBy('id').limit(2000).execute();
      if (rows.length === 0) break;
      for (const r of rows) {
        after = [r.occurred_at, r.id];
        const targets = (JSON.parse(r.targets) as { type: string; id: string; name?: string }[]).map((t) =>
          redactTarget(t, s),
        );
        lines.push(
          `${JSON.stringify({ id: r.id, organization_id: r.org_id, created_at: r.occurred_at, type: r.action, outcome: r.outcome, actor: { type: r.actor_type, ip_address: r.actor_ip, user_agent: r.actor_user_agent }, targets, metadata: redactValue(JSON.parse(r.metadata), s), request_id: r.request_id })}\n`,
        );
        if (lines.length >= EVENTS_PER_FILE) yield flush();
      }
    }
  }
  if (lines.length || fileNo === 0) yield flush();

  yield entry(
    'manifest.json',
    json({
      subject: { id: s.userId, email_address: s.email },
      organizations: s.orgIds,
      generated_at: now.toISOString(),
      compliance_key: call.key.id,
      counts,
    }),
  );
  yield TAR_END;
}
