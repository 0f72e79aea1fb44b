import type { JobDefinition } from './job-definition.ts';
import { syncReaperJob } from './sync-reaper.job.ts';
import { syncRunJob } from './sync-run.job.ts';
import { syncSchedulerJob } from './sync-scheduler.job.ts';

// Every queue the worker serves: one `<queue>.job.ts` file per queue, exporting its JobDefinition, listed here.
export const JOBS: readonly JobDefinition[] = [
  syncRunJob,
  syncSchedulerJob,
  syncReaperJob,
] as JobDefinition[];
