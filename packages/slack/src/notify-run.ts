import {
  claimNotification,
  deferNotification,
  getOrganisation,
  getRunDetailsForSupport,
  markNotificationFailed,
  markNotificationSending,
  markNotificationSent,
  markNotificationSkipped,
  type NotificationClaim,
  type Orm,
  previousRunStatus,
  releaseNotification,
  type SlackWorkspace,
  slackWorkspaceOfOrganisation,
} from '@provisioning/db';
import type { RunNotificationKind } from '@provisioning/shared';
import type { WebClient } from '@slack/web-api';
import { CIRCUIT_MESSAGE_EVENT, circuitMessage } from './circuit-message.blocks.ts';
import { notifyDecision } from './notify-policy.ts';
import { RUN_MESSAGE_EVENT, runMessage } from './run-message.blocks.ts';
import { createSlackClient, SLACK_CALL_TIMEOUT_MS, slackFailureOf } from './slack-client.ts';

/**
 * Seconds a claimed notification is left to its job: no other job takes it meanwhile. Well above the
 * longest post (SLACK_CALL_TIMEOUT_MS), so a job that is still posting is never taken over.
 */
export const NOTIFICATION_LEASE_SECONDS = 60;
/** Attempts after which a notification that never got an answer from Slack is given up as failed. */
export const NOTIFICATION_MAX_ATTEMPTS = 10;

export interface NotifyOptions {
  orm: Orm;
  secretKey: Buffer;
  /** SLACK_API_URL. */
  apiUrl?: string;
  /** PUBLIC_WEB_URL: where "Open run" leads. */
  publicWebUrl: string;
}

export type NotifyOutcome =
  | { kind: 'sent'; channelId: string; ts: string; recovered: boolean }
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; reason: string }
  /** Not now: Slack asked to wait, or another job holds the notification. Send the job again then. */
  | { kind: 'later'; seconds: number; reason: string }
  /** Nothing to do: already sent, skipped or failed, or no such notification. */
  | { kind: 'done' };

type Claimed =
  | { kind: 'post'; claim: NotificationClaim; workspace: SlackWorkspace }
  | Exclude<NotifyOutcome, { kind: 'sent' }>;

const NOT_CONNECTED = 'No Slack workspace is connected to this organisation (slack connect).';

/** The metadata event of each kind's message: what a recovering attempt looks for in the channel. */
const MESSAGE_EVENTS: Record<RunNotificationKind, string> = {
  run: RUN_MESSAGE_EVENT,
  circuit: CIRCUIT_MESSAGE_EVENT,
};

/**
 * Posts a finished run's outcome to its organisation's channel, once. The notification row (inserted by
 * the trigger on sync_run) is claimed for one attempt and marked `sending` before the post, `sent` with
 * the message's ts after it. A row found `sending` (a job died after posting, before recording it) is
 * first looked for in the channel's history by the run ID in the message's metadata, so a crash never
 * posts twice. Rate limits come back as `later`; Slack errors no retry can fix end as `failed`; an
 * unanswered call is thrown for the queue to retry.
 *
 * `kind` picks which of the run's notifications: its outcome (`run`), or its configuration's failure
 * streak (`circuit`: posted whatever the policy, as every policy posts failures).
 */
export async function notifyRun(
  runId: string,
  options: NotifyOptions,
  kind: RunNotificationKind = 'run',
): Promise<NotifyOutcome> {
  const { orm } = options;
  const knex = orm.em.getConnection().getKnex();
  const claimed = await knex.transaction(async (trx): Promise<Claimed> => {
    const outcome = await claimNotification(trx, runId, kind);
    if (outcome.kind === 'done') return outcome;
    if (outcome.kind === 'later') {
      return { kind: 'later', seconds: outcome.seconds, reason: 'another attempt holds this notification' };
    }
    const { claim } = outcome;
    if (claim.attempt > NOTIFICATION_MAX_ATTEMPTS) {
      const reason = `Slack did not answer after ${NOTIFICATION_MAX_ATTEMPTS} attempts; the message was not sent.`;
      await markNotificationFailed(trx, claim, reason);
      return { kind: 'failed', reason };
    }
    const workspace = await slackWorkspaceOfOrganisation(trx, options.secretKey, claim.organisationId);
    if (!workspace) {
      await markNotificationSkipped(trx, claim, NOT_CONNECTED);
      return { kind: 'skipped', reason: NOT_CONNECTED };
    }
    if (!claim.recovering && claim.circuit === null) {
      const previous = await previousRunStatus(trx, runId, claim.configurationId);
      const decision = notifyDecision(workspace.notify, claim.status, previous);
      if (!decision.send) {
        await markNotificationSkipped(trx, claim, decision.reason);
        return { kind: 'skipped', reason: decision.reason };
      }
    }
    // Where an earlier attempt may have posted is kept until this one knows.
    const leaseChannel = claim.recovering && claim.channelId ? claim.channelId : workspace.channelId;
    await markNotificationSending(trx, claim, leaseChannel, NOTIFICATION_LEASE_SECONDS);
    return { kind: 'post', claim, workspace };
  });
  if (claimed.kind !== 'post') return claimed;

  const { claim, workspace } = claimed;
  const db = orm.em.fork();
  const client = createSlackClient(workspace.botToken, {
    apiUrl: options.apiUrl,
    timeoutMs: SLACK_CALL_TIMEOUT_MS,
  });
  try {
    if (claim.recovering && claim.channelId) {
      const ts = await findRunMessage(client, claim.channelId, runId, claim.createdAt, MESSAGE_EVENTS[kind]);
      if (ts !== null) {
        await markNotificationSent(db, claim, { channelId: claim.channelId, ts });
        return { kind: 'sent', channelId: claim.channelId, ts, recovered: true };
      }
      if (claim.channelId !== workspace.channelId) {
        await markNotificationSending(db, claim, workspace.channelId, NOTIFICATION_LEASE_SECONDS);
      }
    }
    const run = await getRunDetailsForSupport(db, runId);
    const organisation = await getOrganisation(db, claim.organisationId);
    const message = claim.circuit
      ? circuitMessage({ run, circuit: claim.circuit, publicWebUrl: options.publicWebUrl })
      : runMessage({ run, timeZone: organisation.timeZone, publicWebUrl: options.publicWebUrl });
    const posted = await client.chat.postMessage({
      channel: workspace.channelId,
      text: message.text,
      blocks: message.blocks as never,
      metadata: message.metadata,
      unfurl_links: false,
      unfurl_media: false,
    });
    const channelId = posted.channel ?? workspace.channelId;
    const ts = String(posted.ts);
    await markNotificationSent(db, claim, { channelId, ts });
    return { kind: 'sent', channelId, ts, recovered: false };
  } catch (error) {
    const failure = slackFailureOf(error);
    if (failure.kind === 'rate-limited') {
      await deferNotification(db, claim, failure.retryAfter, failure.message);
      return { kind: 'later', seconds: failure.retryAfter, reason: failure.message };
    }
    if (failure.kind === 'permanent') {
      await markNotificationFailed(db, claim, failure.message);
      return { kind: 'failed', reason: failure.message };
    }
    // Whether Slack took the message is unknown: the next attempt looks for it before posting again.
    await releaseNotification(db, claim, failure.message);
    throw new SlackUnavailableError(failure.message);
  }
}

/** Slack did not answer (or answered an error worth another try): the job is retried by its queue. */
export class SlackUnavailableError extends Error {
  override name = 'SlackUnavailableError';
}

/** Pages of history read when looking for a message already posted (200 messages a page). */
const HISTORY_PAGES = 5;

/**
 * The ts of the run's message (of `eventType`: its outcome unless told) in the channel since the
 * notification was created, found by the run ID in its metadata; null when it is not there.
 */
export async function findRunMessage(
  client: WebClient,
  channelId: string,
  runId: string,
  since: Date,
  eventType = RUN_MESSAGE_EVENT,
): Promise<string | null> {
  let cursor: string | undefined;
  for (let page = 0; page < HISTORY_PAGES; page++) {
    const history = await client.conversations.history({
      channel: channelId,
      oldest: String(Math.floor(since.getTime() / 1000) - 1),
      include_all_metadata: true,
      limit: 200,
      ...(cursor ? { cursor } : {}),
    });
    for (const message of history.messages ?? []) {
      const metadata = message.metadata as { event_type?: string; event_payload?: { run_id?: string } };
      if (metadata?.event_type === eventType && metadata.event_payload?.run_id === runId) {
        return message.ts ?? null;
      }
    }
    cursor = history.response_metadata?.next_cursor || undefined;
    if (!cursor) return null;
  }
  return null;
}
