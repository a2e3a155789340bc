import type { JobDefinition } from '../jobs/scheduler.js';
import { resealLegacyContent } from './reseal.js';
import { purgeExpiredContent } from './retention.js';

export function retentionPurgeJob(): JobDefinition {
  return { name: 'workspace.retention_purge', intervalMs: 60 * 60_000, run: (ctx) => purgeExpiredContent(ctx) };
}

export function resealLegacyContentJob(): JobDefinition {
  return {
    name: 'workspace.reseal_legacy_content',
    intervalMs: 6 * 60 * 60_000,
    run: (ctx) => resealLegacyContent(ctx),
  };
}
