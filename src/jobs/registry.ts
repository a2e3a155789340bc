import { streamJobs } from '../streams/jobs.js';
import { auditJobs } from '../audit/jobs.js';
import type { PalisadeConfig } from '../config.js';
import { type JobDefinition, Scheduler, type SchedulerDeps } from './scheduler.js';

/** Every periodic job Palisade runs. A domain adds its job factory here, one line each. */
export function allJobs(config: PalisadeConfig): JobDefinition[] {
  return [...auditJobs(config), ...streamJobs(config)];
}

export function createScheduler(deps: SchedulerDeps, jobs: JobDefinition[] = allJobs(deps.config)): Scheduler {
  const scheduler = new Scheduler(deps);
  for (const job of jobs) scheduler.register(job);
  return scheduler;
}
