import { sendRunNotifyJob } from '@provisioning/db';
import { JOB_NAMES, QUEUE_OPTIONS, RUN_NOTIFICATION_KINDS, RunNotifyJobSchema } from '@provisioning/shared';
import { notifyRun } from '@provisioning/slack';
import type { JobDefinition } from './job-definition.ts';
import { labelLogWithRun } from './run-log-labels.ts';

/**
 * Posts every notification a run has: its outcome, and its configuration's failure streak when the run
 * reached the alert or the pause. Each kind is claimed on its own, so a retry of this job posts only what
 * is still unsent; a kind Slack did not answer for is thrown after the others had their turn.
 */
export const runNotifyJob: JobDefinition<typeof RunNotifyJobSchema> = {
  name: JOB_NAMES.runNotify,
  payload: RunNotifyJobSchema,
  queue: QUEUE_OPTIONS[JOB_NAMES.runNotify],
  async handle({ runId }, { em, orm, boss, secretKey, logger, slack }) {
    await labelLogWithRun(em, logger, runId);
    const options = { orm, secretKey, apiUrl: slack.apiUrl, publicWebUrl: slack.publicWebUrl };
    let later: number | null = null;
    let unanswered: unknown = null;
    for (const kind of RUN_NOTIFICATION_KINDS) {
      let outcome: Awaited<ReturnType<typeof notifyRun>>;
      try {
        outcome = await notifyRun(runId, options, kind);
      } catch (error) {
        unanswered ??= error;
        continue;
      }
      if (outcome.kind === 'later') {
        later = Math.min(later ?? outcome.seconds, outcome.seconds);
        logger.info({ kind, seconds: outcome.seconds, reason: outcome.reason }, 'run notification deferred');
      } else if (outcome.kind === 'failed') {
        logger.warn({ kind, reason: outcome.reason }, 'run notification failed');
      } else if (outcome.kind !== 'done') {
        logger.info({ ...outcome, notification: kind }, `run notification ${outcome.kind}`);
      }
    }
    // Not a failure: the same notifications are asked for again once Slack's wait is over.
    if (later !== null) await sendRunNotifyJob(boss, { runId }, { startAfter: later });
    if (unanswered !== null) throw unanswered;
  },
};
