import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  type AccessSubject,
  DomainError,
  type Role,
  SLACK_LINK_CODE_MINUTES,
  type SlackNotifyPolicy,
  type SyncService,
} from '@provisioning/shared';
import { openSecrets, sealSecrets } from '../secret-box.ts';
import { inOrganisation, isUniqueViolation, isUuid, type SqlRunner, sql } from './common.ts';
import { getOrganisation } from './organisation.repository.ts';

/**
 * The Slack bot's tables: workspaces (installations), Slack users linked to accounts, single-use link
 * codes, and requests already taken. The bot token is sealed with the organisation and the
 * installation's ID as its binding, so a sealed token copied onto another row does not open.
 */

/** A connected workspace as support sees it: never the token. */
export interface SlackInstallationView {
  organisationId: string;
  teamId: string;
  teamName: string | null;
  botUserId: string;
  channelId: string;
  notify: SlackNotifyPolicy;
  connectedAt: string;
}

/** A connected workspace with its bot token opened, for the worker's calls to Slack. */
export interface SlackWorkspace extends SlackInstallationView {
  botToken: string;
}

interface InstallationRow {
  id: string;
  organisation_id: string;
  team_id: string;
  team_name: string | null;
  bot_user_id: string;
  bot_token: string;
  channel_id: string;
  notify: SlackNotifyPolicy;
  created_at: Date | string;
}

function binding(row: { id: string; organisation_id: string }) {
  // The secret box binds a sealed value to an organisation and a row; here the row is the installation.
  return { organisationId: row.organisation_id, configurationId: `slack-installation:${row.id}` };
}

function viewOf(row: InstallationRow): SlackInstallationView {
  return {
    organisationId: row.organisation_id,
    teamId: row.team_id,
    teamName: row.team_name,
    botUserId: row.bot_user_id,
    channelId: row.channel_id,
    notify: row.notify,
    connectedAt: new Date(row.created_at).toISOString(),
  };
}

function workspaceOf(row: InstallationRow, secretKey: Buffer): SlackWorkspace {
  const { botToken } = openSecrets(secretKey, binding(row), row.bot_token);
  if (!botToken) throw new Error('The stored Slack installation has no bot token');
  return { ...viewOf(row), botToken };
}

export interface SlackInstallationInput {
  organisationId: string;
  teamId: string;
  teamName: string | null;
  botUserId: string;
  botId: string | null;
  botToken: string;
  channelId: string;
  notify: SlackNotifyPolicy;
}

/**
 * Connects (or reconnects) an organisation's workspace. A workspace belongs to one organisation: one
 * already connected elsewhere is CONFLICT. Reconnecting replaces the token, channel and policy.
 */
export async function saveSlackInstallation(
  em: EntityManager,
  secretKey: Buffer,
  input: SlackInstallationInput,
): Promise<SlackInstallationView> {
  const organisation = await getOrganisation(em, input.organisationId);
  const [existing] = await sql<{ id: string }>(
    em,
    'select id from slack_installation where organisation_id = ?',
    [organisation.id],
  );
  const id = existing?.id ?? randomUUID();
  const sealed = sealSecrets(secretKey, binding({ id, organisation_id: organisation.id }), {
    botToken: input.botToken,
  });
  try {
    const [row] = await sql<InstallationRow>(
      em,
      `insert into slack_installation (id, organisation_id, team_id, team_name, bot_user_id, bot_id, bot_token, channel_id, notify, created_at, updated_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, now(), now())
       on conflict (organisation_id) do update set team_id = excluded.team_id, team_name = excluded.team_name,
         bot_user_id = excluded.bot_user_id, bot_id = excluded.bot_id, bot_token = excluded.bot_token,
         channel_id = excluded.channel_id, notify = excluded.notify, updated_at = now()
       returning *`,
      [
        id,
        organisation.id,
        input.teamId,
        input.teamName,
        input.botUserId,
        input.botId,
        sealed,
        input.channelId,
        input.notify,
      ],
    );
    return viewOf(row as InstallationRow);
  } catch (error) {
    if (isUniqueViolation(error, 'slack_installation_team_unique')) {
      throw new DomainError(
        'CONFLICT',
        `Slack workspace ${input.teamId} is already connected to another organisation: disconnect it there first (slack disconnect --org …)`,
      );
    }
    throw error;
  }
}

/** Disconnects the organisation's workspace and forgets its linked Slack users; false when none was connected. */
export async function deleteSlackInstallation(em: EntityManager, organisationId: string): Promise<boolean> {
  const organisation = await getOrganisation(em, organisationId);
  return em.transactional(async (tx) => {
    const [removed] = await sql<{ team_id: string }>(
      tx,
      'delete from slack_installation where organisation_id = ? returning team_id',
      [organisation.id],
    );
    if (!removed) return false;
    await sql(tx, 'delete from slack_account_link where team_id = ?', [removed.team_id]);
    return true;
  });
}

export async function getSlackInstallation(
  db: SqlRunner,
  organisationId: string,
): Promise<SlackInstallationView | null> {
  if (!isUuid(organisationId)) return null;
  const [row] = await sql<InstallationRow>(db, 'select * from slack_installation where organisation_id = ?', [
    organisationId,
  ]);
  return row ? viewOf(row) : null;
}

/** The organisation's workspace with its token, or null when none is connected. */
export async function slackWorkspaceOfOrganisation(
  db: SqlRunner,
  secretKey: Buffer,
  organisationId: string,
): Promise<SlackWorkspace | null> {
  if (!isUuid(organisationId)) return null;
  const [row] = await sql<InstallationRow>(db, 'select * from slack_installation where organisation_id = ?', [
    organisationId,
  ]);
  return row ? workspaceOf(row, secretKey) : null;
}

/** The workspace a request names by its team ID, or null when that workspace is not connected. */
export async function slackWorkspaceOfTeam(
  db: SqlRunner,
  secretKey: Buffer,
  teamId: string,
): Promise<SlackWorkspace | null> {
  const [row] = await sql<InstallationRow>(db, 'select * from slack_installation where team_id = ?', [
    teamId,
  ]);
  return row ? workspaceOf(row, secretKey) : null;
}

/** The account a Slack user is linked to, with what `checkAccess` needs; null when not linked. */
export interface LinkedAccount extends AccessSubject {
  accountId: string;
  organisationId: string;
}

export async function findLinkedAccount(
  db: SqlRunner,
  workspace: Pick<SlackWorkspace, 'teamId' | 'organisationId'>,
  slackUserId: string,
): Promise<LinkedAccount | null> {
  const [row] = await sql<{
    account_id: string;
    roles: Role[];
    provisioning_enabled: boolean;
    sync_service: SyncService;
  }>(
    db,
    `select a.id as account_id, a.roles, o.provisioning_enabled, o.sync_service
     from slack_account_link l
     join account a on a.id = l.account_id and a.organisation_id = l.organisation_id
     join organisation o on o.id = l.organisation_id
     where l.team_id = ? and l.slack_user_id = ? and l.organisation_id = ?`,
    [workspace.teamId, slackUserId, workspace.organisationId],
  );
  if (!row) return null;
  return {
    accountId: row.account_id,
    organisationId: workspace.organisationId,
    roles: row.roles,
    organisation: { provisioningEnabled: row.provisioning_enabled, syncService: row.sync_service },
  };
}

function hashCode(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

/**
 * A single-use code for linking a Slack user to an account: 32 random bytes (base64url), stored only as
 * its SHA-256, valid SLACK_LINK_CODE_MINUTES.
 */
export async function createSlackLinkCode(
  db: SqlRunner,
  link: { organisationId: string; teamId: string; slackUserId: string },
): Promise<string> {
  const code = randomBytes(32).toString('base64url');
  await sql(
    db,
    `insert into slack_link_code (code_hash, organisation_id, team_id, slack_user_id, expires_at, created_at)
     values (?, ?, ?, ?, now() + make_interval(mins => ?), now())`,
    [hashCode(code), link.organisationId, link.teamId, link.slackUserId, SLACK_LINK_CODE_MINUTES],
  );
  return code;
}

const RUN_LINK_AGAIN = 'Run /sync-logs link in Slack for a new link.';

/**
 * The signed-in account confirms a link code: the Slack user who asked for it is linked to this account.
 * Runs as the API's role within the account's organisation, so another organisation's code is not found.
 * Expired and used codes are refused with what to do.
 */
export async function confirmSlackLink(
  em: EntityManager,
  organisationId: string,
  accountId: string,
  code: string,
): Promise<{ teamId: string; slackUserId: string }> {
  return inOrganisation(em, organisationId, async (tx) => {
    const [row] = await sql<{
      team_id: string;
      slack_user_id: string;
      expired: boolean;
      used_at: Date | null;
    }>(
      tx,
      `select team_id, slack_user_id, expires_at < now() as expired, used_at
       from slack_link_code where code_hash = ? for update`,
      [hashCode(code)],
    );
    if (!row) {
      throw new DomainError(
        'NOT_FOUND',
        `This link is not valid for your organisation. Sign in with an account of the organisation that connected this Slack workspace, or ${RUN_LINK_AGAIN.toLowerCase()}`,
      );
    }
    if (row.used_at !== null)
      throw new DomainError('CONFLICT', `This link was already used. ${RUN_LINK_AGAIN}`);
    if (row.expired) {
      throw new DomainError(
        'CONFLICT',
        `This link expired (links last ${SLACK_LINK_CODE_MINUTES} minutes). ${RUN_LINK_AGAIN}`,
      );
    }
    await sql(tx, 'update slack_link_code set used_at = now() where code_hash = ?', [hashCode(code)]);
    await sql(
      tx,
      `insert into slack_account_link (team_id, slack_user_id, organisation_id, account_id, created_at)
       values (?, ?, ?, ?, now())
       on conflict (team_id, slack_user_id) do update set account_id = excluded.account_id,
         organisation_id = excluded.organisation_id, created_at = now()`,
      [row.team_id, row.slack_user_id, organisationId, accountId],
    );
    return { teamId: row.team_id, slackUserId: row.slack_user_id };
  });
}

/** Removes a Slack user's link; false when there was none. */
export async function deleteSlackLink(db: SqlRunner, teamId: string, slackUserId: string): Promise<boolean> {
  const removed = await sql(
    db,
    'delete from slack_account_link where team_id = ? and slack_user_id = ? returning team_id',
    [teamId, slackUserId],
  );
  return removed.length > 0;
}

/** Seconds a taken request is remembered: twice Slack's five-minute window for a request's timestamp. */
export const SLACK_REQUEST_MEMORY_SECONDS = 600;

/**
 * Takes a request once: true the first time a key is seen, false for a replay. Kept in PostgreSQL so
 * every worker agrees; keys older than SLACK_REQUEST_MEMORY_SECONDS are cleared by forgetSlackRequests.
 */
export async function takeSlackRequest(db: SqlRunner, key: string): Promise<boolean> {
  const taken = await sql(
    db,
    'insert into slack_request (key, received_at) values (?, now()) on conflict do nothing returning key',
    [key],
  );
  return taken.length > 0;
}

/**
 * Clears requests older than SLACK_REQUEST_MEMORY_SECONDS (Slack refuses a replay of them by its
 * timestamp anyway) and link codes a day past their expiry. Once a minute, not on every request: a
 * command's acknowledgement has three seconds.
 */
export async function forgetSlackRequests(db: SqlRunner): Promise<void> {
  await sql(db, 'delete from slack_request where received_at < now() - make_interval(secs => ?)', [
    SLACK_REQUEST_MEMORY_SECONDS,
  ]);
  await sql(db, `delete from slack_link_code where expires_at < now() - interval '1 day'`);
}
