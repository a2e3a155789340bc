import { streamJobs } from './streams/jobs.js';
import { auditJobs } from './audit/jobs.js';
import type { PalisadeConfig } from './config.js';
import { rewrapJob } from './crypto/jobs.js';
import { domainRecheckJob } from './domains/jobs.js';
import { rateLimitCleanupJob } from './http/jobs.js';
import { emailCleanupJob, emailDeliveryJob } from './email/jobs.js';
import { githubJobs } from './github/jobs.js';
import { notificationJobs } from './notifications/jobs.js';
import './github/webhooks.js';
import './access-replay/reader.js'; // the lockout guard's access reader: the metadata refresh and the domain re-check pass the guard
import { scimSyncLogRetentionJob } from './scim/jobs.js';
import { samlMetadataRefreshJob, ssoCleanupJob, totpRewrapJob } from './sso/jobs.js';
import { resealLegacyContentJob, retentionPurgeJob } from './workspace/jobs.js';
import { type JobDefinition, Scheduler, type SchedulerDeps } from './jobs/scheduler.js';

/**
 * Every periodic job Palisade runs (beside app.ts, which gathers the routes, and above every domain:
 * src/jobs/ keeps only the scheduler the domains build on). A domain adds its job factory here, one line each. SIEM delivery
 * comes first: at start-up every job is due at once, and its claim then gets the first database
 * connection, so delivery resumes first after a restart.
 */
export function allJobs(config: PalisadeConfig): JobDefinition[] {
  return [
    ...streamJobs(config),
    domainRecheckJob(config),
    scimSyncLogRetentionJob(config),
    ssoCleanupJob(),
    samlMetadataRefreshJob(),
    rewrapJob(),
    totpRewrapJob(),
    retentionPurgeJob(),
    resealLegacyContentJob(),
    ...auditJobs(config),
    rateLimitCleanupJob(),
    emailDeliveryJob(),
    emailCleanupJob(),
    ...githubJobs(),
    ...notificationJobs(),
  ];
}

export function createScheduler(deps: SchedulerDeps, jobs: JobDefinition[] = allJobs(deps.config)): Scheduler {
  const scheduler = new Scheduler(deps);
  for (const job of jobs) scheduler.register(job);
  return scheduler;
}
