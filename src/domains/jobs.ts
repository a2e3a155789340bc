import type { PalisadeConfig } from '../config.js';
import type { JobDefinition } from '../jobs/scheduler.js';
import { RECHECK_JOB, recheckDomains } from './recheck-job.js';

export function domainRecheckJob(config: PalisadeConfig): JobDefinition {
  return { name: RECHECK_JOB, intervalMs: config.domainRecheckHours * 3600 * 1000, run: recheckDomains };
}
