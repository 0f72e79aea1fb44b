import { findStaleRuns, type Orm, recoverStaleRun } from '@provisioning/db';
import { EmptyJobSchema, JOB_NAMES, QUEUE_OPTIONS, RUN_STALE_AFTER_SECONDS } from '@provisioning/shared';
import type PgBoss from 'pg-boss';
import type { JobDefinition } from './job-definition.ts';

/** Returns runs whose worker died to the queue, or ends them after their last attempt. */
export async function reapStaleRuns(orm: Orm, boss: PgBoss, staleAfterSeconds = RUN_STALE_AFTER_SECONDS) {
  const outcomes: { runId: string; outcome: Awaited<ReturnType<typeof recoverStaleRun>> }[] = [];
  for (const stale of await findStaleRuns(orm.em.fork(), staleAfterSeconds)) {
    outcomes.push({ runId: stale.runId, outcome: await recoverStaleRun(orm, boss, stale) });
  }
  return outcomes;
}

export const syncReaperJob: JobDefinition<typeof EmptyJobSchema> = {
  name: JOB_NAMES.syncReaper,
  payload: EmptyJobSchema,
  queue: QUEUE_OPTIONS[JOB_NAMES.syncReaper],
  cron: '* * * * *',
  async handle(_data, { orm, boss, logger, runStaleAfterSeconds }) {
    const outcomes = await reapStaleRuns(orm, boss, runStaleAfterSeconds);
    if (outcomes.length > 0) logger.warn({ outcomes }, 'recovered runs whose worker stopped responding');
  },
};
