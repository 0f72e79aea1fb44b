import type { RunNotificationKind, RunNotificationState, RunStatus } from '@provisioning/shared';
import type { Knex } from 'knex';
import { isUuid, type SqlRunner, sql } from './common.ts';

/**
 * The one writer of run_notification after the trigger on sync_run inserted its row. A row moves
 * pending → sending → sent, or to skipped / failed with the reason; sending → pending when Slack asked to
 * wait. Each move by a job is fenced on the attempt that claimed the row, so a job that lost the row
 * (its lease ran out and another job took over) changes nothing. A run has a row per kind of notification
 * (`run`, and `circuit` when its failure streak reached the alert or the pause); each moves on its own.
 */

/** What a `circuit` notification says, as the trigger wrote it and the configuration is now. */
export interface CircuitFacts {
  /** Data Load Failed runs in a row when the notification was written. */
  consecutiveFailures: number;
  /** Whether the configuration was paused then. */
  paused: boolean;
  /** Its pause limit (for "paused after N"). */
  pauseAfterFailures: number;
}

export interface NotificationClaim {
  runId: string;
  kind: RunNotificationKind;
  organisationId: string;
  configurationId: string;
  status: RunStatus;
  /** The attempt this claim holds: every later move names it. */
  attempt: number;
  /**
   * The row was found in `sending` with its lease over: an earlier attempt may have posted before it
   * died, so look for its message before posting again.
   */
  recovering: boolean;
  /** Where the earlier attempt posted (recovering only). */
  channelId: string | null;
  createdAt: Date;
  /** circuit only. */
  circuit: CircuitFacts | null;
}

export type ClaimOutcome =
  | { kind: 'claimed'; claim: NotificationClaim }
  /** Nothing to do: no such row, or it is sent, skipped or failed already. */
  | { kind: 'done' }
  /** Another job holds the row, or it must wait (a post in flight, or a rate limit): try in `seconds`. */
  | { kind: 'later'; seconds: number };

/**
 * Inside `trx`: takes a run's notification for one attempt (`for update skip locked`: a job holding it
 * makes this one come back later). The row is locked until `trx` ends, so the caller decides, within the
 * same transaction, whether to skip it or to mark it sending.
 */
export async function claimNotification(
  trx: Knex.Transaction,
  runId: string,
  kind: RunNotificationKind = 'run',
): Promise<ClaimOutcome> {
  if (!isUuid(runId)) return { kind: 'done' };
  const [row] = await sql<{
    organisation_id: string;
    configuration_id: string;
    status: RunStatus;
    state: RunNotificationState;
    attempts: number;
    channel_id: string | null;
    created_at: Date;
    wait_seconds: number | null;
    consecutive_failures: number | null;
    paused: boolean | null;
    pause_after_failures: number;
  }>(
    trx,
    `select n.organisation_id, r.configuration_id, n.status, n.state, n.attempts, n.channel_id, n.created_at,
       ceil(extract(epoch from n.retry_at - now()))::int as wait_seconds,
       n.consecutive_failures, n.paused, c.pause_after_failures
     from run_notification n join sync_run r on r.id = n.run_id
       join sync_configuration c on c.id = r.configuration_id
     where n.run_id = ? and n.kind = ? for update of n skip locked`,
    [runId, kind],
  );
  if (!row) {
    const [exists] = await sql(trx, 'select 1 from run_notification where run_id = ? and kind = ?', [
      runId,
      kind,
    ]);
    return exists ? { kind: 'later', seconds: 1 } : { kind: 'done' };
  }
  if (row.state !== 'pending' && row.state !== 'sending') return { kind: 'done' };
  if (row.wait_seconds !== null && row.wait_seconds > 0) return { kind: 'later', seconds: row.wait_seconds };
  const attempt = row.attempts + 1;
  await sql(
    trx,
    'update run_notification set attempts = ?, updated_at = now() where run_id = ? and kind = ?',
    [attempt, runId, kind],
  );
  return {
    kind: 'claimed',
    claim: {
      runId,
      kind,
      organisationId: row.organisation_id,
      configurationId: row.configuration_id,
      status: row.status,
      attempt,
      recovering: row.state === 'sending',
      channelId: row.state === 'sending' ? row.channel_id : null,
      createdAt: new Date(row.created_at),
      circuit:
        kind === 'circuit'
          ? {
              consecutiveFailures: row.consecutive_failures ?? 0,
              paused: row.paused ?? false,
              pauseAfterFailures: row.pause_after_failures,
            }
          : null,
    },
  };
}

/** Which notification a move is for, and the attempt that must still hold it (kind `run` when absent). */
type Fence = Pick<NotificationClaim, 'runId' | 'attempt'> & { kind?: RunNotificationKind };

async function move(db: SqlRunner, fence: Fence, set: string, params: unknown[]): Promise<boolean> {
  const rows = await sql(
    db,
    `update run_notification set ${set}, updated_at = now()
     where run_id = ? and kind = ? and attempts = ? and state in ('pending', 'sending') returning run_id`,
    [...params, fence.runId, fence.kind ?? 'run', fence.attempt],
  );
  return rows.length > 0;
}

/**
 * The claim will post to `channelId`: `sending`, leased for `leaseSeconds` (no other job takes the row
 * while the post may still be in flight).
 */
export function markNotificationSending(
  db: SqlRunner,
  fence: Fence,
  channelId: string,
  leaseSeconds: number,
): Promise<boolean> {
  return move(db, fence, `state = 'sending', channel_id = ?, retry_at = now() + make_interval(secs => ?)`, [
    channelId,
    leaseSeconds,
  ]);
}

export function markNotificationSent(
  db: SqlRunner,
  fence: Fence,
  message: { channelId: string; ts: string },
): Promise<boolean> {
  return move(
    db,
    fence,
    `state = 'sent', channel_id = ?, message_ts = ?, last_error = null, retry_at = null`,
    [message.channelId, message.ts],
  );
}

/** Not to be sent (policy, no workspace): kept with the reason, for the run's details. */
export function markNotificationSkipped(db: SqlRunner, fence: Fence, reason: string): Promise<boolean> {
  return move(db, fence, `state = 'skipped', last_error = ?, retry_at = null`, [reason]);
}

/** Slack refused it for good (token revoked, channel gone...): kept with the reason, never retried. */
export function markNotificationFailed(db: SqlRunner, fence: Fence, reason: string): Promise<boolean> {
  return move(db, fence, `state = 'failed', last_error = ?, retry_at = null`, [reason]);
}

/** Slack asked to wait (rate limit): not posted, back to pending, not to be taken for `seconds`. */
export function deferNotification(
  db: SqlRunner,
  fence: Fence,
  seconds: number,
  reason: string,
): Promise<boolean> {
  return move(db, fence, `state = 'pending', last_error = ?, retry_at = now() + make_interval(secs => ?)`, [
    reason,
    seconds,
  ]);
}

/**
 * The post's outcome is unknown (network error): the lease ends now, the row stays `sending` so the next
 * attempt looks for the message before posting again.
 */
export function releaseNotification(db: SqlRunner, fence: Fence, reason: string): Promise<boolean> {
  return move(db, fence, `last_error = ?, retry_at = null`, [reason]);
}

/**
 * The previous finished run of the same configuration before this one, by finish time: what the
 * "first Success after a failure" policy compares with.
 */
export async function previousRunStatus(
  db: SqlRunner,
  runId: string,
  configurationId: string,
): Promise<RunStatus | null> {
  const [row] = await sql<{ status: RunStatus }>(
    db,
    `select p.status from sync_run p, sync_run r
     where r.id = ? and p.configuration_id = ? and p.id <> r.id
       and p.status in ('success', 'needs_attention', 'data_load_failed', 'above_deactivation_threshold', 'cancelled')
       and (coalesce(p.finished_at, p.queued_at), p.id) < (coalesce(r.finished_at, r.queued_at), r.id)
     order by coalesce(p.finished_at, p.queued_at) desc, p.id desc limit 1`,
    [runId, configurationId],
  );
  return row?.status ?? null;
}

/**
 * Runs with notifications still unsent a while after the run finished, whose wait (if any) is over: what
 * the sweep sends jobs for (a job lost to a crash, a run ended by the reaper or by support). Each run once:
 * its job posts every kind it has.
 */
export async function findUnsentNotifications(
  db: SqlRunner,
  olderThanSeconds: number,
  limit = 500,
): Promise<string[]> {
  const rows = await sql<{ run_id: string }>(
    db,
    `select run_id from run_notification
     where state in ('pending', 'sending') and created_at < now() - make_interval(secs => ?)
       and (retry_at is null or retry_at <= now())
     group by run_id order by min(created_at) limit ?`,
    [olderThanSeconds, limit],
  );
  return rows.map((row) => row.run_id);
}

/** Notifications of an organisation by state (support's `slack status`), with the latest failures. */
export async function notificationSummary(
  db: SqlRunner,
  organisationId: string,
): Promise<{
  counts: Record<RunNotificationState, number>;
  recentFailures: { runId: string; reason: string | null; at: string }[];
}> {
  const counts: Record<RunNotificationState, number> = {
    pending: 0,
    sending: 0,
    sent: 0,
    skipped: 0,
    failed: 0,
  };
  if (!isUuid(organisationId)) return { counts, recentFailures: [] };
  for (const row of await sql<{ state: RunNotificationState; count: number }>(
    db,
    'select state, count(*)::int as count from run_notification where organisation_id = ? group by state',
    [organisationId],
  )) {
    counts[row.state] = row.count;
  }
  const failures = await sql<{ run_id: string; last_error: string | null; updated_at: Date }>(
    db,
    `select run_id, last_error, updated_at from run_notification
     where organisation_id = ? and state = 'failed' order by updated_at desc limit 5`,
    [organisationId],
  );
  return {
    counts,
    recentFailures: failures.map((row) => ({
      runId: row.run_id,
      reason: row.last_error,
      at: new Date(row.updated_at).toISOString(),
    })),
  };
}
