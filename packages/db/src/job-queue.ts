import { JOB_NAMES, QUEUE_OPTIONS, RUN_MAX_ATTEMPTS, type RunTrigger } from '@provisioning/shared';
import type { Knex } from 'knex';
import PgBoss from 'pg-boss';
import type { Orm } from './orm.ts';
import { getConfiguration } from './repositories/sync-configuration.repository.ts';
import { finishCancelled, type StaleRun } from './repositories/sync-run-lifecycle.repository.ts';

/** pg-boss on the application's database, in its own schema. */
export function createBoss(
  databaseUrl: string,
  options: { max?: number; supervise?: boolean; schedule?: boolean } = {},
): PgBoss {
  return new PgBoss({
    connectionString: databaseUrl,
    schema: 'pgboss',
    max: options.max ?? 4,
    supervise: options.supervise ?? true,
    schedule: options.schedule ?? true,
  });
}

/** Creates the queues that are missing (existing ones keep their options). */
export async function ensureQueues(boss: PgBoss): Promise<void> {
  for (const [name, options] of Object.entries(QUEUE_OPTIONS)) {
    await boss.createQueue(name, { name, ...options });
  }
}

/**
 * Lets pg-boss write its job rows inside one of our transactions (the outbox): the job exists exactly when
 * the transaction that needs it commits. pg-boss speaks $1-style parameters, knex speaks `?`.
 */
export function jobsIn(trx: Knex.Transaction): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[]) {
      const bindings: unknown[] = [];
      const sql = text.replace(/\$(\d+)/g, (_, index: string) => {
        const value = values[Number(index) - 1];
        bindings.push(value === undefined ? null : value);
        return '?';
      });
      const result = await trx.raw(sql, bindings as Knex.RawBinding[]);
      return { rows: (result as { rows: unknown[] }).rows };
    },
  };
}

export interface TriggeredRun {
  runId: string;
  /** False when the configuration already had a queued run, which this trigger joined. */
  created: boolean;
}

/**
 * Queues a run of a configuration and its job in one transaction. A trigger while a run is queued joins
 * that run, so triggers never pile up.
 */
export async function triggerRun(
  orm: Orm,
  boss: PgBoss,
  configurationId: string,
  trigger: RunTrigger,
): Promise<TriggeredRun> {
  const configuration = await getConfiguration(orm.em.fork(), configurationId);
  const knex = orm.em.getConnection().getKnex();
  return knex.transaction(async (trx) => {
    const { rows } = await trx.raw<{ rows: { id: string }[] }>(
      `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at)
       values (gen_random_uuid(), ?, ?, 'queued', ?, now())
       on conflict (configuration_id) where status = 'queued' do nothing
       returning id`,
      [configuration.organisation.id, configuration.id, trigger],
    );
    const created = rows[0];
    if (created) {
      await boss.send(JOB_NAMES.syncRun, { runId: created.id }, { db: jobsIn(trx) });
      return { runId: created.id, created: true };
    }
    const { rows: queued } = await trx.raw<{ rows: { id: string }[] }>(
      `select id from sync_run where configuration_id = ? and status = 'queued'`,
      [configuration.id],
    );
    if (!queued[0]) throw new Error('Could not queue the run: try again');
    return { runId: queued[0].id, created: false };
  });
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
  const knex = orm.em.getConnection().getKnex();
  try {
    return await knex.transaction(async (trx) => {
      const { rows } = await trx.raw<{ rows: unknown[] }>(
        `update sync_run set status = 'queued', heartbeat_at = null
         where id = ? and attempt = ? and status = 'in_progress' returning id`,
        [stale.runId, stale.attempt],
      );
      if (rows.length === 0) return 'skipped';
      await boss.send(JOB_NAMES.syncRun, { runId: stale.runId }, { db: jobsIn(trx) });
      return 'requeued';
    });
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === '23505')) throw error;
    // Another run of the configuration is queued already: that one will bring the directory up to date.
    const ended = await finishCancelled(
      em,
      stale.runId,
      stale.attempt,
      'The worker running this sync stopped responding; a newer run of this configuration was already queued, so this one was stopped without changes.',
    );
    return ended ? 'cancelled' : 'skipped';
  }
}
