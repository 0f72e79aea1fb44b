import type { Knex } from 'knex';
import type { Orm } from '../orm.ts';
import { sql } from './common.ts';
import { deletePersonIndexForRuns } from './person-history.repository.ts';
import { deleteExpiredRuns, markLogsPurged } from './sync-run-lifecycle.repository.ts';

/**
 * Log retention (the worker's daily `log-purge` job): the log lines of final runs that ended more than
 * their organisation's `log_retention_days` ago are deleted, each run marked with when and under which
 * retention; then the records of runs that ended more than `run_retention_days` ago. A queued or
 * in-progress run is never touched.
 */

/** Runs per transaction: each batch commits on its own, so the purge never holds many locks for long. */
export const PURGE_BATCH_RUNS = 500;

/** The advisory lock (session-level, held for the whole purge) that lets one purge run at a time. */
export const LOG_PURGE_LOCK = 'provisioning:log-purge';

/**
 * Every row a purged log leaves behind, deleted in its batch's transaction, after the runs are marked
 * purged: the log's chunks and the person history's index of its lines.
 */
async function deleteLogRows(trx: Knex.Transaction, runIds: readonly string[]): Promise<void> {
  await sql(trx, 'delete from sync_log_chunk where run_id = any(?::uuid[])', [runIds]);
  await deletePersonIndexForRuns(trx, runIds);
}

/**
 * Up to `limit` final runs whose log is kept and expired at `now`, with their organisation's log
 * retention: per organisation, from its partial index (sync_run_log_kept_index), oldest end first.
 */
async function runsWithExpiredLogs(
  trx: Knex.Transaction,
  now: Date,
  limit: number,
): Promise<{ runId: string; retentionDays: number }[]> {
  const rows = await sql<{ id: string; days: number }>(
    trx,
    `select r.id, o.log_retention_days as days
     from organisation o cross join lateral (
       select r.id from sync_run r
       where r.organisation_id = o.id and r.log_purged_at is null and r.status not in ('queued', 'in_progress')
         and r.finished_at < ?::timestamptz - make_interval(days => o.log_retention_days)
       order by r.finished_at limit ?
     ) r
     limit ?`,
    [now, limit, limit],
  );
  return rows.map((row) => ({ runId: row.id, retentionDays: row.days }));
}

/** Up to `limit` runs whose log is purged and whose record expired at `now` (sync_run_log_purged_index). */
async function runsWithExpiredRecords(trx: Knex.Transaction, now: Date, limit: number): Promise<string[]> {
  const rows = await sql<{ id: string }>(
    trx,
    `select r.id
     from organisation o cross join lateral (
       select r.id from sync_run r
       where r.organisation_id = o.id and r.log_purged_at is not null
         and r.finished_at < ?::timestamptz - make_interval(days => o.run_retention_days)
       order by r.finished_at limit ?
     ) r
     limit ?`,
    [now, limit, limit],
  );
  return rows.map((row) => row.id);
}

export interface PurgeBatch {
  kind: 'logs' | 'runs';
  /** Runs whose log was purged, or whose record was deleted, by this batch's transaction. */
  runs: number;
}

export interface PurgeOutcome {
  /** Runs whose log lines were deleted. */
  logsPurged: number;
  /** Runs whose records were deleted. */
  runsDeleted: number;
  /** Transactions committed. */
  batches: number;
  /** False when `signal` stopped the purge before it was done (the next one carries on). */
  complete: boolean;
}

export interface PurgeOptions {
  /** The purge's clock: retention counts back from it, and purged logs are stamped with it. */
  now?: Date;
  batchSize?: number;
  /** Checked between batches: a stopping worker ends the purge after the batch in hand. */
  signal?: AbortSignal;
  /** Told after each committed batch. */
  onBatch?: (batch: PurgeBatch) => Promise<void> | void;
}

/**
 * Purges expired logs, then deletes expired run records, `batchSize` runs per transaction. 'busy' when
 * another purge holds LOG_PURGE_LOCK: it does the work. The lock is session-level on a connection of the
 * purge's own, on which every batch runs, so it lasts across the batches' commits and goes with the
 * connection should the process die.
 */
export async function purgeExpiredLogs(orm: Orm, options: PurgeOptions = {}): Promise<PurgeOutcome | 'busy'> {
  const { now = new Date(), batchSize = PURGE_BATCH_RUNS, signal, onBatch } = options;
  const knex = orm.em.getConnection().getKnex();
  const connection = (await knex.client.acquireConnection()) as { end(): Promise<void> };
  const onConnection = <T>(fn: (trx: Knex.Transaction) => Promise<T>) => knex.transaction(fn, { connection });
  let held = false;
  try {
    const [lock] = await onConnection((trx) =>
      sql<{ locked: boolean }>(trx, 'select pg_try_advisory_lock(hashtext(?)) as locked', [LOG_PURGE_LOCK]),
    );
    if (!lock?.locked) return 'busy';
    held = true;
    const outcome: PurgeOutcome = { logsPurged: 0, runsDeleted: 0, batches: 0, complete: false };
    for (const kind of ['logs', 'runs'] as const) {
      for (;;) {
        if (signal?.aborted) return outcome;
        const done = await onConnection(async (trx) => {
          if (kind === 'logs') {
            const purged = await markLogsPurged(trx, await runsWithExpiredLogs(trx, now, batchSize), now);
            if (purged.length > 0) await deleteLogRows(trx, purged);
            return purged.length;
          }
          return deleteExpiredRuns(trx, await runsWithExpiredRecords(trx, now, batchSize));
        });
        if (done === 0) break;
        outcome.batches += 1;
        if (kind === 'logs') outcome.logsPurged += done;
        else outcome.runsDeleted += done;
        await onBatch?.({ kind, runs: done });
      }
    }
    outcome.complete = true;
    return outcome;
  } finally {
    if (held) {
      try {
        await onConnection((trx) => sql(trx, 'select pg_advisory_unlock(hashtext(?))', [LOG_PURGE_LOCK]));
        held = false;
      } catch {
        // The connection failed: ended below, which releases the lock, rather than pooled still holding it.
      }
    }
    if (held) await connection.end().catch(() => {});
    await knex.client.releaseConnection(connection);
  }
}
