import type { Insertable } from 'kysely';
import type { AuditPendingTable } from '../../src/audit/tables.js';

type NewAuditPendingRow = Insertable<AuditPendingTable>;

/**
 * An audit event as a writer appends it before a sealer links it into the chain (audit_pending):
 * what a test leaves behind to stand for an instance killed between its commit and its seal, or a
 * sealer that keeps failing. A system event (`org.updated`) unless the test says otherwise.
 */
export function pendingAuditRow(
  row: Pick<NewAuditPendingRow, 'id' | 'org_id' | 'occurred_at'> & Partial<NewAuditPendingRow>,
): NewAuditPendingRow {
  return {
    actor_type: 'system',
    actor_id: 'test',
    actor_email: null,
    actor_ip: null,
    actor_user_agent: null,
    action: 'org.updated',
    targets: '[]',
    outcome: 'success',
    metadata: '{}',
    request_id: null,
    ...row,
  };
}
