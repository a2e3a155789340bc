import { type AuditEventInput, recordAudit } from '../audit/record.js';
import type { Ctx } from '../context.js';
import type { Tx } from '../db/schema.js';
import type { GithubAuditAction } from './audit-actions.js';

/** recordAudit narrowed to the GitHub integration's own actions. */
export function recordGithubAudit(
  tx: Tx,
  ctx: Pick<Ctx, 'clock' | 'caller' | 'meta'> & { db?: Ctx['db'] },
  input: Omit<AuditEventInput, 'action'> & { action: GithubAuditAction },
): Promise<string> {
  return recordAudit(tx, ctx, input);
}
