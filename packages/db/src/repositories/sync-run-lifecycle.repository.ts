import type { EntityManager } from '@mikro-orm/postgresql';
import {
  APPROVAL_VALID_HOURS,
  APPROVAL_WINDOW_HOURS,
  type ApprovalOutcome,
  DomainError,
  parseInput,
  RUN_COUNT_KEYS,
  RUN_MAX_ATTEMPTS,
  RUN_STATUS_INFO,
  RUN_STATUSES,
  type RunApprovalInput,
  RunApprovalInputSchema,
  type RunCounts,
  type RunProgress,
  type RunStatus,
  type RunTrigger,
  type SourceFingerprint,
  statusesBefore,
} from '@provisioning/shared';
import type { Knex } from 'knex';
import type PgBoss from 'pg-boss';
import type { ThresholdDetails } from '../entities/index.ts';
import { sendSyncRunJob } from '../job-queue.ts';
import type { Orm } from '../orm.ts';
import { isUniqueViolation, isUuid, type SqlRunner, sql } from './common.ts';
import { RUN_COUNT_COLUMNS } from './run-list.repository.ts';
import { getConfiguration } from './sync-configuration.repository.ts';
import { getRun } from './sync-run.repository.ts';
import {
  insertApproval,
  insertBlockedUsers,
  markApprovalRefused,
  markApprovalUsed,
} from './sync-run-approval.repository.ts';

/**
 * The run ledger's one writer: every change of a run's status, attempt, heartbeat, progress, counts, error
 * and threshold details is here. A run moves along RUN_TRANSITIONS (queued → in_progress → a final status;
 * in_progress → queued when its worker died; queued → cancelled), and every status update names the
 * statuses it may come from in its WHERE, so an illegal move changes no row and its caller is told.
 * Every change by a worker is fenced on the run's attempt, so a worker that lost the run (it was recovered
 * after a missed heartbeat) can no longer write to it. Writes that must commit with others take the
 * transaction they belong to.
 */

export interface RunMove {
  /** Narrows the statuses the move may start from; each must be a legal start (RUN_TRANSITIONS). */
  from?: readonly RunStatus[];
  /** Further `column = ?` assignments, beside the status, with their parameters. */
  set?: string;
  params?: readonly unknown[];
  /** A further condition on the row, without parameters. */
  where?: string;
  /** Fences the move on the attempt that owns the run; null or absent: any attempt. */
  attempt?: number | null;
  /** Columns returned for the moved row. */
  returning?: string;
}

/**
 * Moves a run to `to` when its status allows it (RUN_TRANSITIONS) and, when given, `attempt` still owns
 * it. Returns the moved row, or undefined when no row moved: the run is not where the move starts, or
 * another attempt owns it. Asking for a move the table does not have is a programming error.
 */
export async function transitionRun<T = { id: string }>(
  db: SqlRunner,
  runId: string,
  to: RunStatus,
  move: RunMove = {},
): Promise<T | undefined> {
  const legal = statusesBefore(to);
  const illegal = move.from?.filter((from) => !legal.includes(from)) ?? [];
  if (illegal.length > 0) throw new Error(`A run cannot move from ${illegal.join(', ')} to ${to}`);
  if (!isUuid(runId)) return undefined;
  const attempt = move.attempt ?? null;
  const [row] = await sql<T>(
    db,
    `update sync_run set status = ?${move.set ? `, ${move.set}` : ''}
     where id = ? and status = any(?::text[]) and (?::int is null or attempt = ?)${move.where ? ` and ${move.where}` : ''}
     returning ${move.returning ?? 'id'}`,
    [to, ...(move.params ?? []), runId, move.from ?? legal, attempt, attempt],
  );
  return row;
}

/** The SQL that sets a finished run's duration from its start. */
const DURATION_SET = `finished_at = now(),
  duration_ms = case when started_at is null then null else (extract(epoch from now() - started_at) * 1000)::int end`;

/** A final status's `source = ?` parameter: the fingerprint of what the run read, or null when unknown. */
const sourceParam = (source: SourceFingerprint | undefined) => (source ? JSON.stringify(source) : null);

export interface TriggeredRun {
  runId: string;
  /** False when the configuration already had a queued run, which this trigger joined. */
  created: boolean;
}

/** Rounds a trigger takes when the queued run it would join is taken by a worker at that very moment. */
const TRIGGER_ROUNDS = 10;

/**
 * Queues a run of a configuration and its job in one transaction. A trigger while a run is queued joins
 * that run, so triggers never pile up; when that queued run is claimed between the insert and the look-up,
 * the trigger tries again, and so always ends joined or queued.
 */
export async function triggerRun(
  orm: Orm,
  boss: PgBoss,
  configurationId: string,
  trigger: RunTrigger,
): Promise<TriggeredRun> {
  const configuration = await getConfiguration(orm.em.fork(), configurationId);
  const knex = orm.em.getConnection().getKnex();
  for (let round = 1; ; round++) {
    const triggered = await knex.transaction(async (trx): Promise<TriggeredRun | undefined> => {
      const [created] = await sql<{ id: string }>(
        trx,
        // The run's source is its configuration's (the database refuses any other): the runs list filters on it.
        `insert into sync_run (id, organisation_id, configuration_id, connector, status, trigger, queued_at)
         values (gen_random_uuid(), ?, ?, ?, 'queued', ?, now())
         on conflict (configuration_id) where status = 'queued' do nothing
         returning id`,
        [configuration.organisation.id, configuration.id, configuration.connector, trigger],
      );
      if (created) {
        await sendSyncRunJob(boss, { runId: created.id }, { trx });
        return { runId: created.id, created: true };
      }
      const [queued] = await sql<{ id: string }>(
        trx,
        `select id from sync_run where configuration_id = ? and status = 'queued'`,
        [configuration.id],
      );
      return queued ? { runId: queued.id, created: false } : undefined;
    });
    if (triggered) return triggered;
    if (round >= TRIGGER_ROUNDS) {
      throw new Error(`Could not queue a run of ${configuration.id} in ${round} attempts: try again`);
    }
  }
}

export interface ApprovedRun {
  approvalId: string;
  blockedRunId: string;
  approvedBy: string;
  reason: string;
  approvedAt: string;
  /** The approved run must apply the plan before this. */
  expiresAt: string;
  /** Users the approved plan deactivates, at most. */
  plannedDeactivations: number;
  /** The queued run that applies the approved plan. */
  runId: string;
  /** False when the configuration's run already queued became the approved one. */
  created: boolean;
}

/**
 * Support's approval of a run that ended Above Deactivation Threshold, and the run that applies it, in
 * one transaction: the approval row and a queued run of trigger `approval` under it (or the queued run
 * the configuration already has, made that run: two queued runs of one configuration cannot exist, and
 * the next one is what applies). Refused with a reason (CONFLICT) unless the run is the newest blocked
 * run of its configuration, ended within APPROVAL_WINDOW_HOURS, has its plan stored and was not
 * approved before.
 */
export async function approveBlockedRun(
  orm: Orm,
  boss: PgBoss,
  runId: string,
  input: RunApprovalInput,
): Promise<ApprovedRun> {
  const { by, reason } = parseInput(RunApprovalInputSchema, input, 'Approval');
  if (!isUuid(runId)) throw new DomainError('NOT_FOUND', `Run ${runId} not found`);
  const knex = orm.em.getConnection().getKnex();
  return knex.transaction(async (trx) => {
    // Locked so that two approvals of the run take turns; the unique blocked run settles it anyway.
    const [run] = await sql<{
      status: RunStatus;
      configuration_id: string;
      organisation_id: string;
      finished_at: Date | string | null;
      recent: boolean;
      blocked: number;
      newest_blocked: string;
      approved: boolean;
    }>(
      trx,
      `select r.status, r.configuration_id, r.organisation_id, r.finished_at,
         coalesce(r.finished_at > now() - make_interval(hours => ?), false) as recent,
         (select count(*)::int from sync_run_blocked_user b where b.run_id = r.id) as blocked,
         (select n.id from sync_run n where n.configuration_id = r.configuration_id
            and n.status = 'above_deactivation_threshold'
          order by n.finished_at desc nulls last, n.queued_at desc, n.id desc limit 1) as newest_blocked,
         exists (select 1 from sync_run_approval a where a.blocked_run_id = r.id) as approved
       from sync_run r where r.id = ? for update of r`,
      [APPROVAL_WINDOW_HOURS, runId],
    );
    if (!run) throw new DomainError('NOT_FOUND', `Run ${runId} not found`);
    if (run.status !== 'above_deactivation_threshold') {
      throw new DomainError(
        'CONFLICT',
        `Run ${runId} is ${RUN_STATUS_INFO[run.status].label}: only a run that ended Above Deactivation Threshold can be approved`,
      );
    }
    if (run.approved) throw await alreadyApproved(trx, runId);
    if (run.newest_blocked !== runId) {
      throw new DomainError(
        'CONFLICT',
        `A newer run of this configuration, ${run.newest_blocked}, was also blocked: review and approve that one instead`,
      );
    }
    if (!run.recent) {
      throw new DomainError(
        'CONFLICT',
        `Run ${runId} ended more than ${APPROVAL_WINDOW_HOURS} hours ago (${run.finished_at === null ? 'unknown' : new Date(run.finished_at).toISOString()}): the source may have changed since. Run the sync again and approve the new run if it is blocked again`,
      );
    }
    if (run.blocked === 0) {
      throw new DomainError(
        'CONFLICT',
        `Run ${runId} has no stored plan to approve (it was blocked before approvals were recorded): run the sync again and approve the new run if it is blocked again`,
      );
    }
    const approval = await insertApproval(trx, runId, { by, reason, validHours: APPROVAL_VALID_HOURS });
    if (!approval) throw await alreadyApproved(trx, runId);
    // Not a status move: a queued run (the one the configuration may already have) is given the approval.
    const [queued] = await sql<{ id: string; created: boolean }>(
      trx,
      `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at, approval_id)
       values (gen_random_uuid(), ?, ?, 'queued', 'approval', now(), ?)
       on conflict (configuration_id) where status = 'queued'
       do update set trigger = 'approval', approval_id = excluded.approval_id
       returning id, (xmax = 0) as created`,
      [run.organisation_id, run.configuration_id, approval.id],
    );
    if (!queued) throw new Error(`Could not queue the approved run of ${runId}`);
    if (queued.created) await sendSyncRunJob(boss, { runId: queued.id }, { trx });
    return {
      approvalId: approval.id,
      blockedRunId: runId,
      approvedBy: by,
      reason,
      approvedAt: approval.approvedAt.toISOString(),
      expiresAt: approval.expiresAt.toISOString(),
      plannedDeactivations: run.blocked,
      runId: queued.id,
      created: queued.created,
    };
  });
}

/** The refusal of a second approval of a run, naming the first. */
async function alreadyApproved(trx: Knex.Transaction, runId: string): Promise<DomainError> {
  const [existing] = await sql<{ approved_by: string; approved_at: Date | string }>(
    trx,
    'select approved_by, approved_at from sync_run_approval where blocked_run_id = ?',
    [runId],
  );
  const by = existing ? ` by ${existing.approved_by} at ${new Date(existing.approved_at).toISOString()}` : '';
  return new DomainError('CONFLICT', `Run ${runId} was already approved${by}: a run is approved once`);
}

export type CancelOutcome = 'cancelled' | 'cancel_requested';

/** Support's cancel: a queued run ends at once; a running one stops at its next checkpoint, before apply. */
export async function requestCancel(em: EntityManager, runId: string): Promise<CancelOutcome> {
  const run = await getRun(em, runId);
  const cancelled = await transitionRun(em, run.id, 'cancelled', {
    from: ['queued'],
    set: `cancel_requested_at = now(), finished_at = now(), error_summary = 'Cancelled by support before it started'`,
  });
  if (cancelled) return 'cancelled';
  const [requested] = await sql<{ id: string }>(
    em,
    `update sync_run set cancel_requested_at = coalesce(cancel_requested_at, now())
     where id = ? and status = 'in_progress' returning id`,
    [run.id],
  );
  if (requested) return 'cancel_requested';
  const [current] = await sql<{ status: RunStatus }>(em, 'select status from sync_run where id = ?', [
    run.id,
  ]);
  const label = current ? RUN_STATUS_INFO[current.status].label : 'gone';
  throw new DomainError(
    'CONFLICT',
    `Run ${run.id} has already finished (${label}); there is nothing to cancel`,
  );
}

export interface ClaimedRun {
  runId: string;
  attempt: number;
  configurationId: string;
  organisationId: string;
  /** Trigger `approval`: the approval the run runs under. */
  approvalId: string | null;
}

/**
 * A worker takes the run: in_progress, attempt + 1, heartbeat now. 'busy' when another run of the same
 * configuration is in progress (try again later); 'gone' when the run is not there to take (finished or
 * cancelled meanwhile). A run whose cancel was requested ends as Cancelled here.
 */
export async function claimRun(db: SqlRunner, runId: string): Promise<ClaimedRun | 'busy' | 'gone'> {
  if (!isUuid(runId)) return 'gone';
  let claimed:
    | { attempt: number; configuration_id: string; organisation_id: string; approval_id: string | null }
    | undefined;
  try {
    claimed = await transitionRun(db, runId, 'in_progress', {
      set: 'attempt = attempt + 1, started_at = coalesce(started_at, now()), heartbeat_at = now()',
      where: 'cancel_requested_at is null',
      returning: 'attempt, configuration_id, organisation_id, approval_id',
    });
  } catch (error) {
    if (isUniqueViolation(error, 'sync_run_one_in_progress_per_configuration')) return 'busy';
    throw error;
  }
  if (!claimed) {
    await finishCancelled(db, runId, null, 'Cancelled by support before it was applied');
    return 'gone';
  }
  return {
    runId,
    attempt: claimed.attempt,
    configurationId: claimed.configuration_id,
    organisationId: claimed.organisation_id,
    approvalId: claimed.approval_id,
  };
}

export interface HeartbeatResult {
  /** False when another attempt owns the run now: stop without writing. */
  owned: boolean;
  cancelRequested: boolean;
}

/**
 * Publishes progress and tells the worker whether to go on. `advance: false` (the run has not moved since
 * the last beat) leaves heartbeat_at as it is, so a run that stalls goes stale even though its worker lives.
 */
export async function heartbeat(
  db: SqlRunner,
  run: Pick<ClaimedRun, 'runId' | 'attempt'>,
  progress?: Partial<RunProgress>,
  { advance = true }: { advance?: boolean } = {},
): Promise<HeartbeatResult> {
  const [row] = await sql<{ cancel_requested_at: Date | null }>(
    db,
    `update sync_run set heartbeat_at = case when ? then now() else heartbeat_at end,
       rows_read = coalesce(?, rows_read), rows_planned = coalesce(?, rows_planned), rows_applied = coalesce(?, rows_applied)
     where id = ? and attempt = ? and status = 'in_progress'
     returning cancel_requested_at`,
    [
      advance,
      progress?.read ?? null,
      progress?.planned ?? null,
      progress?.applied ?? null,
      run.runId,
      run.attempt,
    ],
  );
  return { owned: row !== undefined, cancelRequested: Boolean(row?.cancel_requested_at) };
}

/** Ends an unfinished run as Cancelled (nothing written), fenced on `attempt` when one is given. */
export async function finishCancelled(
  db: SqlRunner,
  runId: string,
  attempt: number | null,
  reason: string,
): Promise<boolean> {
  const row = await transitionRun(db, runId, 'cancelled', {
    set: `${DURATION_SET}, error_summary = ?`,
    params: [reason],
    attempt,
  });
  return row !== undefined;
}

export type ApplyFence = 'owned' | 'lost' | 'cancelled';

/**
 * Inside the apply's transaction: locks the run's row until commit and says whether `attempt` still owns
 * it ('lost': another attempt took over, or the run is no longer in progress) and whether support asked
 * to cancel it meanwhile.
 */
export async function lockRunForApply(
  trx: Knex.Transaction,
  run: Pick<ClaimedRun, 'runId' | 'attempt'>,
): Promise<ApplyFence> {
  const [row] = await sql<{ attempt: number; status: RunStatus; cancel: Date | null }>(
    trx,
    'select attempt, status, cancel_requested_at as cancel from sync_run where id = ? for update',
    [run.runId],
  );
  if (!row || row.attempt !== run.attempt || row.status !== 'in_progress') return 'lost';
  return row.cancel ? 'cancelled' : 'owned';
}

/** Thrown inside an apply whose approval was used or expired since the run checked it: nothing commits. */
export class ApprovalLapsed extends Error {
  constructor() {
    super('The approval was used or expired before this run could apply it');
    this.name = 'ApprovalLapsed';
  }
}

/**
 * Inside the apply's transaction, after the directory writes: the run's final status, counts and progress
 * (every planned row applied), and with `approvalId` the approval marked used by this run (ApprovalLapsed
 * when it no longer can be). Fenced on the attempt; false when no row moved.
 */
export async function finishApplied(
  trx: Knex.Transaction,
  run: Pick<ClaimedRun, 'runId' | 'attempt'>,
  outcome: {
    status: 'success' | 'needs_attention';
    counts: RunCounts;
    progress: RunProgress;
    approvalId?: string | undefined;
    /** What the run read (SourceTable.fingerprint()). */
    source?: SourceFingerprint | undefined;
  },
): Promise<boolean> {
  if (outcome.approvalId !== undefined && !(await markApprovalUsed(trx, outcome.approvalId, run.runId))) {
    throw new ApprovalLapsed();
  }
  const row = await transitionRun(trx, run.runId, outcome.status, {
    set: `${DURATION_SET}, ${RUN_COUNT_KEYS.map((key) => `${RUN_COUNT_COLUMNS[key]} = ?`).join(', ')},
      rows_read = ?, rows_planned = ?, rows_applied = ?, heartbeat_at = now(), source = ?::jsonb`,
    params: [
      ...RUN_COUNT_KEYS.map((key) => outcome.counts[key]),
      outcome.progress.read,
      outcome.progress.planned,
      outcome.progress.applied,
      sourceParam(outcome.source),
    ],
    attempt: run.attempt,
  });
  return row !== undefined;
}

/**
 * Inside a transaction with the run's log: a final status that wrote nothing to the directory (Data Load
 * Failed, Above Deactivation Threshold), with its error summary, threshold details and progress; for a
 * blocked run, every user it would have deactivated, and the approval it could not use and why. Fenced
 * on the attempt; false when no row moved (then the log must not be written either).
 */
export async function finishUnapplied(
  trx: Knex.Transaction,
  run: Pick<ClaimedRun, 'runId' | 'attempt'>,
  outcome: {
    status: 'data_load_failed' | 'above_deactivation_threshold';
    errorSummary: string;
    thresholdDetails?: ThresholdDetails;
    blockedUserIds?: readonly string[];
    refusedApproval?: { id: string; outcome: Exclude<ApprovalOutcome, 'applied'> } | undefined;
    errors: number;
    progress: RunProgress;
    /** What the run read, when the source was read to the end (SourceTable.fingerprint()). */
    source?: SourceFingerprint | undefined;
  },
): Promise<boolean> {
  const row = await transitionRun(trx, run.runId, outcome.status, {
    set: `${DURATION_SET}, error_summary = ?, threshold_details = ?::jsonb, error_count = ?, rows_read = ?, rows_planned = ?,
      source = ?::jsonb`,
    params: [
      outcome.errorSummary,
      outcome.thresholdDetails ? JSON.stringify(outcome.thresholdDetails) : null,
      outcome.errors,
      outcome.progress.read,
      outcome.progress.planned,
      sourceParam(outcome.source),
    ],
    attempt: run.attempt,
  });
  if (row === undefined) return false;
  if (outcome.blockedUserIds) await insertBlockedUsers(trx, run.runId, outcome.blockedUserIds);
  if (outcome.refusedApproval) {
    await markApprovalRefused(trx, outcome.refusedApproval.id, outcome.refusedApproval.outcome);
  }
  return true;
}

/** Statuses a run never leaves: the only runs retention may touch, never a queued or in-progress one. */
const FINAL_STATUSES = RUN_STATUSES.filter((status) => RUN_STATUS_INFO[status].final);

/**
 * Inside a log-purge batch's transaction, before its log rows are deleted: marks these runs' logs purged
 * at `purgedAt` under each one's retention (days). Only final runs whose log is still kept move; the IDs
 * of those that did come back, and only their log rows may be deleted.
 */
export async function markLogsPurged(
  trx: Knex.Transaction,
  runs: readonly { runId: string; retentionDays: number }[],
  purgedAt: Date,
): Promise<string[]> {
  if (runs.length === 0) return [];
  const rows = await sql<{ id: string }>(
    trx,
    `update sync_run r set log_purged_at = ?, log_purge_retention_days = p.days
     from unnest(?::uuid[], ?::int[]) as p(id, days)
     where r.id = p.id and r.status = any(?::text[]) and r.log_purged_at is null
     returning r.id`,
    [purgedAt, runs.map((run) => run.runId), runs.map((run) => run.retentionDays), FINAL_STATUSES],
  );
  return rows.map((row) => row.id);
}

/**
 * Inside a purge transaction: deletes these runs' records, when final and their log already purged (the
 * log always goes first). What refers to a run goes with it by its reference's delete rule: its Slack
 * notification, blocked users and approval are deleted, an approval it used forgets it.
 */
export async function deleteExpiredRuns(trx: Knex.Transaction, runIds: readonly string[]): Promise<number> {
  if (runIds.length === 0) return 0;
  const rows = await sql<{ id: string }>(
    trx,
    `delete from sync_run where id = any(?::uuid[]) and status = any(?::text[]) and log_purged_at is not null
     returning id`,
    [runIds, FINAL_STATUSES],
  );
  return rows.length;
}

/** Which of `runIds` are in progress. */
export async function runsInProgress(db: SqlRunner, runIds: readonly string[]): Promise<Set<string>> {
  const ids = runIds.filter(isUuid);
  if (ids.length === 0) return new Set();
  const rows = await sql<{ id: string }>(
    db,
    `select id from sync_run where id = any(?::uuid[]) and status = 'in_progress'`,
    [ids],
  );
  return new Set(rows.map((row) => row.id));
}

export interface StaleRun {
  runId: string;
  attempt: number;
  configurationId: string;
  organisationId: string;
}

/** In-progress runs whose worker has not beaten for `staleAfterSeconds`: their worker died or hangs. */
export async function findStaleRuns(db: SqlRunner, staleAfterSeconds: number): Promise<StaleRun[]> {
  const stale = await sql<{ id: string; attempt: number; configuration_id: string; organisation_id: string }>(
    db,
    `select id, attempt, configuration_id, organisation_id from sync_run
     where status = 'in_progress' and heartbeat_at < now() - make_interval(secs => ?)
     order by heartbeat_at limit 100`,
    [staleAfterSeconds],
  );
  return stale.map((row) => ({
    runId: row.id,
    attempt: row.attempt,
    configurationId: row.configuration_id,
    organisationId: row.organisation_id,
  }));
}

/** The ledger's unfinished work at a glance, for metrics and readiness. */
export interface RunQueueHealth {
  queued: number;
  inProgress: number;
  /** In progress without a heartbeat for `staleAfterSeconds`: the reaper's next catch. */
  stale: number;
  /** How long the longest-waiting queued run has waited, or null when none waits. */
  oldestQueuedSeconds: number | null;
}

/** One read of the unfinished runs (a partial index holds only those, so it stays cheap at any history). */
export async function runQueueHealth(db: SqlRunner, staleAfterSeconds: number): Promise<RunQueueHealth> {
  const [row] = await sql<{ queued: number; in_progress: number; stale: number; oldest: number | null }>(
    db,
    `select count(*) filter (where status = 'queued')::int as queued,
            count(*) filter (where status = 'in_progress')::int as in_progress,
            count(*) filter (where status = 'in_progress'
                               and heartbeat_at < now() - make_interval(secs => ?))::int as stale,
            extract(epoch from now() - min(queued_at) filter (where status = 'queued'))::float8 as oldest
       from sync_run where status in ('queued', 'in_progress')`,
    [staleAfterSeconds],
  );
  return {
    queued: row?.queued ?? 0,
    inProgress: row?.in_progress ?? 0,
    stale: row?.stale ?? 0,
    oldestQueuedSeconds: row?.oldest ?? null,
  };
}

/**
 * A run whose worker stopped heart-beating goes back to the queue with a new job, or, after its last
 * attempt, ends as Cancelled with the reason; nothing is ever left In Progress. Fenced on the attempt seen.
 */
export async function recoverStaleRun(
  orm: Orm,
  boss: PgBoss,
  stale: StaleRun,
): Promise<'requeued' | 'cancelled' | 'skipped'> {
  const em = orm.em.fork();
  if (stale.attempt >= RUN_MAX_ATTEMPTS) {
    const ended = await finishCancelled(
      em,
      stale.runId,
      stale.attempt,
      `The worker running this sync stopped responding on each of ${stale.attempt} attempts; the sync was stopped without changes. Contact support if this happens again.`,
    );
    return ended ? 'cancelled' : 'skipped';
  }
  return requeueRun(
    orm,
    boss,
    stale,
    'The worker running this sync stopped responding; a newer run of this configuration was already queued, so this one was stopped without changes.',
  );
}

/**
 * Puts a run back in the queue with a new job, fenced on the attempt that held it: its worker died or is
 * stopping. When another run of the configuration is queued already, that one will bring the directory up
 * to date, and this one ends as Cancelled with `whenQueuedAlready`.
 */
export async function requeueRun(
  orm: Orm,
  boss: PgBoss,
  run: Pick<ClaimedRun, 'runId' | 'attempt'>,
  whenQueuedAlready: string,
): Promise<'requeued' | 'cancelled' | 'skipped'> {
  const knex = orm.em.getConnection().getKnex();
  try {
    return await knex.transaction(async (trx) => {
      const requeued = await transitionRun(trx, run.runId, 'queued', {
        set: 'heartbeat_at = null',
        attempt: run.attempt,
      });
      if (!requeued) return 'skipped';
      await sendSyncRunJob(boss, { runId: run.runId }, { trx });
      return 'requeued';
    });
  } catch (error) {
    if (!isUniqueViolation(error, 'sync_run_one_queued_per_configuration')) throw error;
    const ended = await finishCancelled(orm.em.fork(), run.runId, run.attempt, whenQueuedAlready);
    return ended ? 'cancelled' : 'skipped';
  }
}
