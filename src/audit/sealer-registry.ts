/**
 * Which sealer (src/audit/seal.ts) serves a database object. Kept apart from seal.ts so the write path
 * (record.ts) can find the sealer without importing the sealer's own dependencies on the write path.
 */
/**
 * - `inline`: each transaction links its own events into the chain, under the chain-head lock.
 * - `batched`: a transaction appends its events; a group sealer links them before the response is sent.
 * - `background`: a transaction appends its events and is acknowledged at its commit; a sealer links
 *   them within a second (and before any reader of the chain reads them).
 */
export type AuditSealingMode = 'inline' | 'batched' | 'background';

/** The modes in which a transaction appends its events to audit_pending instead of linking them itself. */
export const appendsPending = (mode: AuditSealingMode | undefined): boolean =>
  mode === 'batched' || mode === 'background';

export interface AuditSealerHandle {
  readonly mode: AuditSealingMode;
  /** An event for `orgId` was appended in a transaction that will commit (or roll back) soon. */
  noteAppended(orgId: string, requestId: string): void;
}

const BY_DB = new WeakMap<object, AuditSealerHandle>();

/** The sealer started for this database object (an app's pool or SQLite handle); none for a transaction or a bare CLI connection. */
export function auditSealerOf(db: object): AuditSealerHandle | undefined {
  return BY_DB.get(db);
}

export function setAuditSealer(db: object, sealer: AuditSealerHandle | undefined): void {
  if (sealer) BY_DB.set(db, sealer);
  else BY_DB.delete(db);
}
