import { JOB_NAMES, QUEUE_OPTIONS, SlackCommandJobSchema } from '@provisioning/shared';
import { answerSlackCommand } from '@provisioning/slack';
import type { JobDefinition } from './job-definition.ts';

export const slackCommandJob: JobDefinition<typeof SlackCommandJobSchema> = {
  name: JOB_NAMES.slackCommand,
  payload: SlackCommandJobSchema,
  queue: QUEUE_OPTIONS[JOB_NAMES.slackCommand],
  async handle(job, { orm, secretKey, logger, slack }) {
    const answer = await answerSlackCommand(job, {
      orm,
      secretKey,
      apiUrl: slack.apiUrl,
      publicWebUrl: slack.publicWebUrl,
    });
    logger.info(
      {
        teamId: job.teamId,
        source: job.source,
        answer: answer.kind,
        ...(answer.kind === 'file' ? { bytes: answer.bytes } : {}),
      },
      'Slack command answered',
    );
  },
};
