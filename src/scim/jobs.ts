import { addMs } from '../clock.js';
import type { PalisadeConfig } from '../config.js';
import type { JobDefinition } from '../jobs/scheduler.js';

const CHUNK = 2_000;

/**
 * Purges sync-log entries older than PALISADE_SCIM_SYNC_LOG_RETENTION_DAYS. The sync log is an
 * operational diagnosis tool (every request of every IdP); security-relevant changes are in the
 * audit log, which has its own retention. Idempotent: deletes in chunks until nothing is older.
 */
export function scimSyncLogRetentionJob(config: Pick<PalisadeConfig, 'scimSyncLogRetentionDays'>): JobDefinition {
  return {
    name: 'scim.sync_log_retention',
    intervalMs: 6 * 3_600_000,
    async run(ctx) {
      const cutoff = addMs(ctx.clock.now(), -config.scimSyncLogRetentionDays * 86_400_000).toISOString();
      let deleted = 0;
      for (;;) {
        const ids = (
          await ctx.db.selectFrom('scim_sync_log').select('id').where('occurred_at', '<', cutoff).limit(CHUNK).execute()
        ).map((r) => r.id);
        if (!ids.length) break;
        await ctx.db.deleteFrom('scim_sync_log').where('id', 'in', ids).execute();
        deleted += ids.length;
      }
      return { deleted, cutoff };
    },
  };
}
