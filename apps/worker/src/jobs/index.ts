import type { JobDefinition } from './job-definition.ts';
import { logPurgeJob } from './log-purge.job.ts';
import { runNotifyJob } from './run-notify.job.ts';
import { runNotifySweepJob } from './run-notify-sweep.job.ts';
import { slackCommandJob } from './slack-command.job.ts';
import { syncReaperJob } from './sync-reaper.job.ts';
import { syncRunJob } from './sync-run.job.ts';
import { syncSchedulerJob } from './sync-scheduler.job.ts';

// Every queue the worker serves: one `<queue>.job.ts` file per queue, exporting its JobDefinition, listed here.
export const JOBS: readonly JobDefinition[] = [
  syncRunJob,
  syncSchedulerJob,
  syncReaperJob,
  runNotifyJob,
  runNotifySweepJob,
  slackCommandJob,
  logPurgeJob,
] as JobDefinition[];
