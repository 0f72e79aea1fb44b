import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { DomainError, RUN_STATUS_INFO, type RunProgress, type RunStatus } from '@provisioning/shared';
import { isUuid } from './common.ts';
import { getRun } from './sync-run.repository.ts';

/**
 * The run ledger's state changes. A run moves queued → in_progress → a final status; every change by a
 * worker is fenced on the run's attempt, so a worker that lost the run (it was recovered after a missed
 * heartbeat) can no longer write to it.
 */

async function rows<T>(em: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  return em.getConnection().execute<T[]>(sql, params, 'all', em.getTransactionContext());
}

export type CancelOutcome = 'cancelled' | 'cancel_requested';

/** Support's cancel: a queued run ends at once; a running one stops at its next checkpoint, before apply. */
export async function requestCancel(em: EntityManager, runId: string): Promise<CancelOutcome> {
  const run = await getRun(em, runId);
  const [cancelled] = await rows<{ id: string }>(
    em,
    `update sync_run set status = 'cancelled', cancel_requested_at = now(), finished_at = now(),
       error_summary = 'Cancelled by support before it started'
     where id = ? and status = 'queued' returning id`,
    [run.id],
  );
  if (cancelled) return 'cancelled';
  const [requested] = await rows<{ id: string }>(
    em,
    `update sync_run set cancel_requested_at = coalesce(cancel_requested_at, now())
     where id = ? and status = 'in_progress' returning id`,
    [run.id],
  );
  if (requested) return 'cancel_requested';
  const [current] = await rows<{ status: RunStatus }>(em, 'select status from sync_run where id = ?', [
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
}

/**
 * A worker takes the run: in_progress, attempt + 1, heartbeat now. 'busy' when another run of the same
 * configuration is in progress (try again later); 'gone' when the run is not there to take (finished or
 * cancelled meanwhile). A run whose cancel was requested ends as Cancelled here.
 */
export async function claimRun(em: EntityManager, runId: string): Promise<ClaimedRun | 'busy' | 'gone'> {
  if (!isUuid(runId)) return 'gone';
  let claimed: { attempt: number; configuration_id: string; organisation_id: string } | undefined;
  try {
    [claimed] = await rows<{ attempt: number; configuration_id: string; organisation_id: string }>(
      em,
      `update sync_run set status = 'in_progress', attempt = attempt + 1, started_at = coalesce(started_at, now()),
         heartbeat_at = now()
       where id = ? and status in ('queued', 'in_progress') and cancel_requested_at is null
       returning attempt, configuration_id, organisation_id`,
      [runId],
    );
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) return 'busy';
    throw error;
  }
  if (!claimed) {
    await finishCancelled(em, runId, null, 'Cancelled by support before it was applied');
    return 'gone';
  }
  return {
    runId,
    attempt: claimed.attempt,
    configurationId: claimed.configuration_id,
    organisationId: claimed.organisation_id,
  };
}

export interface HeartbeatResult {
  /** False when another attempt owns the run now: stop without writing. */
  owned: boolean;
  cancelRequested: boolean;
}

/** Keeps the run alive and publishes progress; tells the worker whether to go on. */
export async function heartbeat(
  em: EntityManager,
  run: Pick<ClaimedRun, 'runId' | 'attempt'>,
  progress?: Partial<RunProgress>,
): Promise<HeartbeatResult> {
  const [row] = await rows<{ cancel_requested_at: Date | null }>(
    em,
    `update sync_run set heartbeat_at = now(),
       rows_read = coalesce(?, rows_read), rows_planned = coalesce(?, rows_planned), rows_applied = coalesce(?, rows_applied)
     where id = ? and attempt = ? and status = 'in_progress'
     returning cancel_requested_at`,
    [progress?.read ?? null, progress?.planned ?? null, progress?.applied ?? null, run.runId, run.attempt],
  );
  return { owned: row !== undefined, cancelRequested: Boolean(row?.cancel_requested_at) };
}

/** Ends an unfinished run as Cancelled (nothing written), fenced on `attempt` when one is given. */
export async function finishCancelled(
  em: EntityManager,
  runId: string,
  attempt: number | null,
  reason: string,
): Promise<boolean> {
  const result = await rows<{ id: string }>(
    em,
    `update sync_run set status = 'cancelled', finished_at = now(),
       duration_ms = case when started_at is null then null else (extract(epoch from now() - started_at) * 1000)::int end,
       error_summary = ?
     where id = ? and status in ('queued', 'in_progress') and (?::int is null or attempt = ?)
     returning id`,
    [reason, runId, attempt, attempt],
  );
  return result.length > 0;
}

export interface StaleRun {
  runId: string;
  attempt: number;
  configurationId: string;
}

/** In-progress runs whose worker has not beaten for `staleAfterSeconds`: their worker died or hangs. */
export async function findStaleRuns(em: EntityManager, staleAfterSeconds: number): Promise<StaleRun[]> {
  const stale = await rows<{ id: string; attempt: number; configuration_id: string }>(
    em,
    `select id, attempt, configuration_id from sync_run
     where status = 'in_progress' and heartbeat_at < now() - make_interval(secs => ?)
     order by heartbeat_at limit 100`,
    [staleAfterSeconds],
  );
  return stale.map((row) => ({ runId: row.id, attempt: row.attempt, configurationId: row.configuration_id }));
}
