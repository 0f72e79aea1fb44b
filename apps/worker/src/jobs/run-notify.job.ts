import { sendRunNotifyJob } from '@provisioning/db';
import { JOB_NAMES, QUEUE_OPTIONS, RunNotifyJobSchema } from '@provisioning/shared';
import { notifyRun } from '@provisioning/slack';
import type { JobDefinition } from './job-definition.ts';

export const runNotifyJob: JobDefinition<typeof RunNotifyJobSchema> = {
  name: JOB_NAMES.runNotify,
  payload: RunNotifyJobSchema,
  queue: QUEUE_OPTIONS[JOB_NAMES.runNotify],
  async handle({ runId }, { orm, boss, secretKey, logger, slack }) {
    const outcome = await notifyRun(runId, {
      orm,
      secretKey,
      apiUrl: slack.apiUrl,
      publicWebUrl: slack.publicWebUrl,
    });
    if (outcome.kind === 'later') {
      // Not a failure: the same notification is asked for again once Slack's wait is over.
      await sendRunNotifyJob(boss, { runId }, { startAfter: outcome.seconds });
      logger.info({ runId, seconds: outcome.seconds, reason: outcome.reason }, 'run notification deferred');
      return;
    }
    if (outcome.kind === 'failed') logger.warn({ runId, reason: outcome.reason }, 'run notification failed');
    else if (outcome.kind !== 'done') logger.info({ runId, ...outcome }, `run notification ${outcome.kind}`);
  },
};
