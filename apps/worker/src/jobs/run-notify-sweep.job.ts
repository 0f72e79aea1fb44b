import { findUnsentNotifications, forgetSlackRequests, sendRunNotifyJob } from '@provisioning/db';
import {
  EmptyJobSchema,
  JOB_NAMES,
  NOTIFICATION_SWEEP_AFTER_SECONDS,
  QUEUE_OPTIONS,
} from '@provisioning/shared';
import type { JobDefinition } from './job-definition.ts';

/**
 * Sends run-notify for notifications still unsent a minute after their run finished: runs ended by the
 * reaper or by support (which send no job), and jobs lost to a crash. A second job for one notification
 * is harmless: the first to claim it does the work.
 */
export const runNotifySweepJob: JobDefinition<typeof EmptyJobSchema> = {
  name: JOB_NAMES.runNotifySweep,
  payload: EmptyJobSchema,
  queue: QUEUE_OPTIONS[JOB_NAMES.runNotifySweep],
  cron: '* * * * *',
  async handle(_data, { em, boss, logger }) {
    const runIds = await findUnsentNotifications(em, NOTIFICATION_SWEEP_AFTER_SECONDS);
    for (const runId of runIds) await sendRunNotifyJob(boss, { runId });
    if (runIds.length > 0) logger.info({ runs: runIds.length }, 'sent jobs for unsent run notifications');
    // Slack's remembered requests and spent link codes age out on the same minute.
    await forgetSlackRequests(em);
  },
};
