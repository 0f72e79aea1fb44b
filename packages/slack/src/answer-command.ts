import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSlackLinkCode,
  deleteSlackLink,
  findLatestRunWithLog,
  findLinkedAccount,
  type Orm,
  slackWorkspaceOfTeam,
} from '@provisioning/db';
import {
  ACCESS_DENIAL_MESSAGES,
  checkAccess,
  DomainError,
  type LogFormat,
  SLACK_LINK_CODE_MINUTES,
  type SlackCommandJob,
} from '@provisioning/shared';
import { writeRunLogFile } from '@provisioning/sync';
import { respondEphemeral, sendFileByDm, slackUrlHosts } from './log-delivery.ts';
import { createSlackClient, slackFailureOf } from './slack-client.ts';
import { parseSyncLogs, SYNC_LOGS_USAGE } from './sync-logs-command.ts';

export interface CommandOptions {
  orm: Orm;
  secretKey: Buffer;
  /** SLACK_API_URL. */
  apiUrl: string;
  /** PUBLIC_WEB_URL: where the link page is. */
  publicWebUrl: string;
}

export type CommandAnswer =
  | { kind: 'answered'; text: string }
  | { kind: 'file'; text: string; fileName: string; bytes: number; fileId: string };

export const NOT_CONNECTED_ANSWER =
  'This Slack workspace is not connected to User Provisioning. Ask support to connect it (slack connect).';
export const NOT_LINKED_ANSWER =
  'Your Slack account is not linked to a User Provisioning account yet. Run `/sync-logs link` and confirm the link it gives you, signed in to the admin panel.';

/**
 * Does what a `/sync-logs` command (or a log button) asked and answers through its response_url. Who
 * asks is known only by the workspace (team) and the Slack user's link to an account, never by a name
 * or email in Slack; the account must be allowed to download logs (the permission table), and only its
 * organisation's runs are found. A file goes to the asker alone, by direct message.
 */
export async function answerSlackCommand(
  job: SlackCommandJob,
  options: CommandOptions,
): Promise<CommandAnswer> {
  const answer = await decide(job, options);
  await respondEphemeral(job.responseUrl, answer.text, slackUrlHosts(options.apiUrl));
  return answer;
}

async function decide(job: SlackCommandJob, options: CommandOptions): Promise<CommandAnswer> {
  const em = options.orm.em.fork();
  const said = (text: string): CommandAnswer => ({ kind: 'answered', text });
  const workspace = await slackWorkspaceOfTeam(em, options.secretKey, job.teamId);
  if (!workspace) return said(NOT_CONNECTED_ANSWER);
  const request = parseSyncLogs(job.text);
  switch (request.kind) {
    case 'help':
      return said(SYNC_LOGS_USAGE);
    case 'invalid':
      return said(`${request.problem}\n\n${SYNC_LOGS_USAGE}`);
    case 'link': {
      const code = await createSlackLinkCode(em, {
        organisationId: workspace.organisationId,
        teamId: workspace.teamId,
        slackUserId: job.userId,
      });
      const url = `${options.publicWebUrl}/slack/link?code=${encodeURIComponent(code)}`;
      return said(
        `Open this link within ${SLACK_LINK_CODE_MINUTES} minutes, signed in to the admin panel as an Organisation Admin or People Admin, and confirm: ${url}\nIt works once. Do not share it.`,
      );
    }
    case 'unlink':
      return said(
        (await deleteSlackLink(em, workspace.teamId, job.userId))
          ? 'Your Slack account is no longer linked to User Provisioning.'
          : 'Your Slack account was not linked.',
      );
    case 'log':
      break;
  }
  const account = await findLinkedAccount(em, workspace, job.userId);
  if (!account) return said(NOT_LINKED_ANSWER);
  const access = checkAccess(account, 'provisioning.download-logs');
  if (!access.allowed) {
    const denial = ACCESS_DENIAL_MESSAGES[access.reason];
    return said(`${denial.title}. ${denial.action}`);
  }
  let runId: string;
  if (request.target.kind === 'run') {
    runId = request.target.runId;
  } else {
    const name = request.target.kind === 'configuration' ? request.target.name : undefined;
    const latest = await findLatestRunWithLog(em, workspace.organisationId, name);
    if (!latest.configuration) return said(`No configuration is named “${name}”.`);
    if (!latest.runId) {
      return said(name ? `No run of “${name}” has a log yet.` : 'No run has a log yet.');
    }
    runId = latest.runId;
  }
  return sendLog(job, options, workspace, runId, request.format);
}

async function sendLog(
  job: SlackCommandJob,
  options: CommandOptions,
  workspace: { organisationId: string; botToken: string },
  runId: string,
  format: LogFormat,
): Promise<CommandAnswer> {
  const dir = await mkdtemp(join(tmpdir(), 'provisioning-slack-log-'));
  try {
    let file: Awaited<ReturnType<typeof writeRunLogFile>>;
    try {
      file = await writeRunLogFile({
        em: options.orm.em.fork(),
        runId,
        format,
        dir,
        organisationId: workspace.organisationId,
      });
    } catch (error) {
      if (error instanceof DomainError && error.code === 'NOT_FOUND') {
        return { kind: 'answered', text: `Run ${runId} was not found in your organisation.` };
      }
      if (error instanceof DomainError) return { kind: 'answered', text: error.message };
      throw error;
    }
    const client = createSlackClient(workspace.botToken, { apiUrl: options.apiUrl });
    let delivered: Awaited<ReturnType<typeof sendFileByDm>>;
    try {
      delivered = await sendFileByDm(client, {
        userId: job.userId,
        path: file.path,
        fileName: file.fileName,
        bytes: file.bytes,
        comment: `The log of run ${runId}.`,
        hosts: slackUrlHosts(options.apiUrl),
      });
    } catch (error) {
      // Told, not retried behind the asker's back: a second try is one command away.
      const failure = slackFailureOf(error);
      const reason = failure.kind === 'unknown' ? (error as Error).message : failure.message;
      return {
        kind: 'answered',
        text: `Slack did not take the file “${file.fileName}” (${reason}). Try again in a minute; the run's details in the admin panel also offer it.`,
      };
    }
    return {
      kind: 'file',
      text: `Sent “${file.fileName}” to you in a direct message.`,
      fileName: file.fileName,
      bytes: file.bytes,
      fileId: delivered.fileId,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
