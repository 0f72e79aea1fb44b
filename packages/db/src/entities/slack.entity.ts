import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import {
  RUN_NOTIFICATION_KINDS,
  RUN_NOTIFICATION_STATES,
  RUN_STATUSES,
  SLACK_NOTIFY_POLICIES,
} from '@provisioning/shared';
import { Account } from './account.entity.ts';
import { Organisation } from './organisation.entity.ts';
import { createdAt, updatedAt, uuidPrimaryKey } from './properties.ts';
import { SyncRun } from './sync-run.entity.ts';

/**
 * An organisation's Slack workspace: one per organisation, one organisation per workspace. The bot token
 * is sealed (secret-box.ts), bound to the organisation and this row.
 */
export const SlackInstallation = defineEntity({
  name: 'SlackInstallation',
  tableName: 'slack_installation',
  properties: {
    id: uuidPrimaryKey(),
    organisation: p
      .manyToOne(Organisation)
      .deleteRule('cascade')
      .unique('slack_installation_organisation_unique'),
    teamId: p.text().unique('slack_installation_team_unique'),
    teamName: p.text().nullable(),
    botUserId: p.text(),
    botId: p.text().nullable(),
    botToken: p.text(),
    channelId: p.text(),
    notify: p.enum([...SLACK_NOTIFY_POLICIES]).default('failures-and-recovery'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
});
export type SlackInstallation = InferEntity<typeof SlackInstallation>;

/** A Slack user of a connected workspace, linked to an admin-panel account by that account's own confirmation. */
export const SlackAccountLink = defineEntity({
  name: 'SlackAccountLink',
  tableName: 'slack_account_link',
  properties: {
    teamId: p.text().primary(),
    slackUserId: p.text().primary(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    account: p.manyToOne(Account).deleteRule('cascade').index(),
    createdAt: createdAt(),
  },
  primaryKeys: ['teamId', 'slackUserId'],
});
export type SlackAccountLink = InferEntity<typeof SlackAccountLink>;

/** A single-use `/sync-logs link` code, stored as its SHA-256 only; valid for SLACK_LINK_CODE_MINUTES. */
export const SlackLinkCode = defineEntity({
  name: 'SlackLinkCode',
  tableName: 'slack_link_code',
  properties: {
    codeHash: p.text().primary(),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    teamId: p.text(),
    slackUserId: p.text(),
    expiresAt: p.datetime().index(),
    usedAt: p.datetime().nullable(),
    createdAt: createdAt(),
  },
});
export type SlackLinkCode = InferEntity<typeof SlackLinkCode>;

/**
 * Slack requests already taken (by trigger_id, else by signature), kept ten minutes: a replay inside
 * Slack's five-minute window runs once, whichever worker receives it.
 */
export const SlackRequest = defineEntity({
  name: 'SlackRequest',
  tableName: 'slack_request',
  properties: {
    key: p.text().primary(),
    receivedAt: p.datetime().index(),
  },
});
export type SlackRequest = InferEntity<typeof SlackRequest>;

/**
 * The outbox of run outcomes: one row per finished run (and a `circuit` row when its configuration's failure
 * streak reaches the alert or the pause), inserted by a trigger on sync_run in the
 * transaction that wrote the final status, whichever code path wrote it. The run-notify job moves it
 * pending → sending → sent, or to skipped / failed with the reason.
 */
export const RunNotification = defineEntity({
  name: 'RunNotification',
  tableName: 'run_notification',
  properties: {
    run: p.manyToOne(SyncRun).primary().deleteRule('cascade'),
    /** A run's outcome, or its configuration's failure streak (circuit): at most one of each per run. */
    kind: p
      .enum([...RUN_NOTIFICATION_KINDS])
      .primary()
      .default('run'),
    organisation: p.manyToOne(Organisation).deleteRule('cascade'),
    status: p.enum([...RUN_STATUSES]),
    state: p.enum([...RUN_NOTIFICATION_STATES]).default('pending'),
    attempts: p.integer().default(0),
    channelId: p.text().nullable(),
    messageTs: p.text().nullable(),
    lastError: p.text().nullable(),
    /** Not to be taken before: the lease of a post in flight, or the wait a rate limit asked for. */
    retryAt: p.datetime().nullable(),
    /** circuit only: the failures in a row, and whether the configuration was paused, when it was written. */
    consecutiveFailures: p.integer().nullable(),
    paused: p.boolean().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
  indexes: [
    {
      name: 'run_notification_unfinished_index',
      expression:
        'create index "run_notification_unfinished_index" on "run_notification" ("created_at") where "state" in (\'pending\', \'sending\')',
    },
  ],
});
export type RunNotification = InferEntity<typeof RunNotification>;
