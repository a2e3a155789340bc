import type { PalisadeConfig } from '../config.js';
import type { DB, Organization, Queryable } from '../db/schema.js';

type WorkspaceSettingsTable = DB['workspace_settings'];
import { orgLineage } from '../orgs/store.js';

export interface WorkspacePolicy {
  /** 0: content is kept only while the response is produced. */
  retentionDays: number;
  /** Where the period comes from: this organization, an ancestor, or the installation default. */
  retentionSource: { kind: 'organization' | 'inherited' | 'default'; orgId: string | null };
  noTraining: boolean;
}

/** The organization's effective policy: its own settings, else the nearest ancestor's, else the defaults. */
export async function effectivePolicy(db: Queryable, config: PalisadeConfig, orgId: string): Promise<WorkspacePolicy> {
  const lineage = await orgLineage(db, orgId);
  return policyOf(config, lineage, await lineageSettings(db, lineage));
}

/** The workspace settings rows of an organization and its ancestors, by organization (one query). */
export async function lineageSettings(
  db: Queryable,
  lineage: readonly Pick<Organization, 'id'>[],
): Promise<Map<string, WorkspaceSettingsTable>> {
  const ids = lineage.map((o) => o.id);
  const rows = ids.length
    ? await db.selectFrom('workspace_settings').selectAll().where('org_id', 'in', ids).execute()
    : [];
  return new Map(rows.map((r) => [r.org_id, r]));
}

/** The policy from settings already read: the organization's own, else the nearest ancestor's, else the defaults. */
export function policyOf(
  config: PalisadeConfig,
  lineage: readonly Pick<Organization, 'id'>[],
  byOrg: ReadonlyMap<string, WorkspaceSettingsTable>,
): WorkspacePolicy {
  const orgId = lineage[0]?.id;
  const ids = lineage.map((o) => o.id);
  let retention: WorkspacePolicy['retentionSource'] & { days: number } = {
    kind: 'default',
    orgId: null,
    days: config.defaultRetentionDays,
  };
  let noTraining = true;
  let noTrainingFound = false;
  for (const id of ids) {
    const r = byOrg.get(id);
    if (!r) continue;
    if (retention.kind === 'default' && r.retention_days !== null)
      retention = { kind: id === orgId ? 'organization' : 'inherited', orgId: id, days: Number(r.retention_days) };
    if (!noTrainingFound) {
      noTraining = Number(r.no_training) === 1;
      noTrainingFound = true;
    }
  }
  return {
    retentionDays: retention.days,
    retentionSource: { kind: retention.kind, orgId: retention.orgId },
    noTraining,
  };
}

/** Active legal holds of an organization: the whole organization, or the users named. */
export async function activeHolds(db: Queryable, orgId: string): Promise<{ orgHeld: boolean; users: Set<string> }> {
  const lineage = await orgLineage(db, orgId);
  const rows = await db
    .selectFrom('legal_holds')
    .select(['org_id', 'user_id'])
    .where('org_id', 'in', lineage.map((o) => o.id).concat(orgId))
    .where('lifted_at', 'is', null)
    .execute();
  // A hold on an ancestor organization covers its children too.
  return {
    orgHeld: rows.some((r) => r.user_id === null),
    users: new Set(rows.filter((r) => r.org_id === orgId && r.user_id !== null).map((r) => r.user_id as string)),
  };
}
