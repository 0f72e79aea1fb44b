import { listScheduledConfigurations, type Orm, triggerRun } from '@provisioning/db';
import { cronMatches, EmptyJobSchema, JOB_NAMES, parseCron, QUEUE_OPTIONS } from '@provisioning/shared';
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { JobDefinition } from './job-definition.ts';

/**
 * Queues a run of every enabled configuration whose schedule (cron in its time zone) is due in `minute`.
 * Reading the configurations each minute keeps the schedules in step with any change to them. A saved
 * schedule that no longer reads (saved before a check was tightened, or written around the CLI) runs
 * nothing, and says so each minute rather than stopping silently.
 */
export async function scheduleDueRuns(
  orm: Orm,
  boss: PgBoss,
  minute: Date,
  logger?: Logger,
): Promise<string[]> {
  const configurations = await listScheduledConfigurations(orm.em.fork());
  const due: string[] = [];
  for (const configuration of configurations) {
    const parsed = parseCron(configuration.schedule);
    if (!parsed.ok) {
      logger?.warn(
        { configurationId: configuration.id, schedule: configuration.schedule, problem: parsed.problem },
        'saved schedule is not valid: no scheduled runs until it is fixed (config update --schedule)',
      );
      continue;
    }
    if (cronMatches(parsed.schedule, minute, configuration.timeZone)) {
      await triggerRun(orm, boss, configuration.id, 'schedule');
      due.push(configuration.id);
    }
  }
  return due;
}

export const syncSchedulerJob: JobDefinition<typeof EmptyJobSchema> = {
  name: JOB_NAMES.syncScheduler,
  payload: EmptyJobSchema,
  queue: QUEUE_OPTIONS[JOB_NAMES.syncScheduler],
  cron: '* * * * *',
  async handle(_data, { orm, boss, logger, createdOn }) {
    const due = await scheduleDueRuns(orm, boss, createdOn, logger);
    if (due.length > 0) logger.info({ configurations: due }, 'queued scheduled runs');
  },
};
