import { type EntityManager, type SlackInstallationView, saveSlackInstallation } from '@provisioning/db';
import { DomainError, type SlackNotifyPolicy } from '@provisioning/shared';
import { createSlackClient, slackFailureOf } from './slack-client.ts';

/** A bot token as Slack issues it: `xoxb-` and then letters, digits and dashes. */
const BOT_TOKEN = /^xoxb-[A-Za-z0-9-]{10,250}$/;
/** A public or private channel's ID (C…, G…), as Slack's "Copy link" / channel details show it. */
const CHANNEL_ID = /^[CG][A-Z0-9]{6,20}$/;

export interface ConnectWorkspaceInput {
  organisationId: string;
  botToken: string;
  channelId: string;
  notify: SlackNotifyPolicy;
  apiUrl?: string;
}

/**
 * Connects an organisation's workspace: asks Slack who the token belongs to (`auth.test`: the team, the
 * bot user) and stores the installation with the token sealed. The token is checked before it is sent
 * anywhere, and never appears in an error.
 */
export async function connectWorkspace(
  em: EntityManager,
  secretKey: Buffer,
  input: ConnectWorkspaceInput,
): Promise<SlackInstallationView> {
  if (!BOT_TOKEN.test(input.botToken)) {
    throw new DomainError(
      'BAD_INPUT',
      'The token file must hold the app’s Bot User OAuth Token (xoxb-…, from OAuth & Permissions), and nothing else',
    );
  }
  if (!CHANNEL_ID.test(input.channelId)) {
    throw new DomainError(
      'BAD_INPUT',
      `--channel must be a channel ID such as C0123456789 (channel details → About, at the bottom), got ${JSON.stringify(input.channelId.slice(0, 40))}`,
    );
  }
  const client = createSlackClient(input.botToken, { apiUrl: input.apiUrl });
  let auth: Awaited<ReturnType<typeof client.auth.test>>;
  try {
    auth = await client.auth.test();
  } catch (error) {
    throw new DomainError('BAD_INPUT', `Slack did not accept the token: ${slackFailureOf(error).message}`);
  }
  if (!auth.team_id || !auth.user_id) {
    throw new DomainError(
      'BAD_INPUT',
      'Slack’s auth.test did not name a workspace and bot user for this token',
    );
  }
  return saveSlackInstallation(em, secretKey, {
    organisationId: input.organisationId,
    teamId: auth.team_id,
    teamName: auth.team ?? null,
    botUserId: auth.user_id,
    botId: auth.bot_id ?? null,
    botToken: input.botToken,
    channelId: input.channelId,
    notify: input.notify,
  });
}
