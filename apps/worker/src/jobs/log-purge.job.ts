import { purgeExpiredLogs } from '@provisioning/db';
import { EmptyJobSchema, JOB_NAMES, QUEUE_OPTIONS } from '@provisioning/shared';
import type { JobDefinition } from './job-definition.ts';

/**
 * Daily, at a quiet hour (UTC): deletes the logs of runs past their organisation's log retention, then
 * the records of runs past its run retention (see purgeExpiredLogs). A second worker taking the job while
 * one purges finds the purge's lock held and leaves the work to it.
 */
export const logPurgeJob: JobDefinition<typeof EmptyJobSchema> = {
  name: JOB_NAMES.logPurge,
  payload: EmptyJobSchema,
  queue: QUEUE_OPTIONS[JOB_NAMES.logPurge],
  cron: '17 3 * * *',
  async handle(_data, { orm, logger, signal }) {
    const outcome = await purgeExpiredLogs(orm, { signal });
    if (outcome === 'busy') {
      logger.info('another worker is purging expired logs');
      return;
    }
    logger.info(outcome, outcome.complete ? 'purged expired logs and runs' : 'log purge stopped early');
  },
};
