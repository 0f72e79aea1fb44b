import { findStaleRuns, type Orm, recoverStaleRun } from '@provisioning/db';
import { EmptyJobSchema, JOB_NAMES, QUEUE_OPTIONS, RUN_STALE_AFTER_SECONDS } from '@provisioning/shared';
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { JobDefinition } from './job-definition.ts';

/**
 * Returns runs whose worker died to the queue, or ends them after their last attempt; each recovery is
 * one line in `logger`, naming the run, its configuration and its organisation.
 */
export async function reapStaleRuns(
  orm: Orm,
  boss: PgBoss,
  staleAfterSeconds = RUN_STALE_AFTER_SECONDS,
  logger?: Logger,
) {
  const outcomes: { runId: string; outcome: Awaited<ReturnType<typeof recoverStaleRun>> }[] = [];
  for (const stale of await findStaleRuns(orm.em.fork(), staleAfterSeconds)) {
    const outcome = await recoverStaleRun(orm, boss, stale);
    const { runId, configurationId, organisationId, attempt } = stale;
    logger?.warn(
      { runId, configurationId, organisationId, attempt, outcome },
      'recovered a run whose worker stopped responding',
    );
    outcomes.push({ runId, outcome });
  }
  return outcomes;
}

export const syncReaperJob: JobDefinition<typeof EmptyJobSchema> = {
  name: JOB_NAMES.syncReaper,
  payload: EmptyJobSchema,
  queue: QUEUE_OPTIONS[JOB_NAMES.syncReaper],
  cron: '* * * * *',
  async handle(_data, { orm, boss, logger, runStaleAfterSeconds }) {
    await reapStaleRuns(orm, boss, runStaleAfterSeconds, logger);
  },
};
