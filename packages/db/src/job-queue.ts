import {
  JOB_NAMES,
  QUEUE_OPTIONS,
  type RunNotifyJob,
  RunNotifyJobSchema,
  type SyncRunJob,
  SyncRunJobSchema,
} from '@provisioning/shared';
import type { Knex } from 'knex';
import PgBoss from 'pg-boss';

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

/**
 * Creates the queues that are missing (existing ones keep their options): the product's queues, or the
 * ones named. pg-boss 10 inserts a job only into a queue that exists, so every sender and the worker call it.
 */
export async function ensureQueues(
  boss: PgBoss,
  queues: Record<string, Omit<PgBoss.Queue, 'name'> | undefined> = QUEUE_OPTIONS,
): Promise<void> {
  for (const [name, options] of Object.entries(queues)) {
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

export interface SendOptions {
  /** The transaction the job belongs to: it exists exactly when that transaction commits. */
  trx?: Knex.Transaction;
  /** Seconds before the job may run. */
  startAfter?: number;
}

/** Sends a job; pg-boss answers null instead of a job ID when the queue is missing, which is an error here. */
export async function sendJob(
  boss: PgBoss,
  queue: string,
  payload: object,
  options: SendOptions = {},
): Promise<string> {
  const id = await boss.send(queue, payload, {
    ...(options.trx ? { db: jobsIn(options.trx) } : {}),
    ...(options.startAfter !== undefined ? { startAfter: options.startAfter } : {}),
  });
  if (id === null) throw new Error(`pg-boss did not queue the ${queue} job: its queue is missing`);
  return id;
}

/** Sends a sync-run job, inside `trx` / after `startAfter` seconds when given. */
export function sendSyncRunJob(
  boss: PgBoss,
  payload: SyncRunJob,
  options: SendOptions = {},
): Promise<string> {
  return sendJob(boss, JOB_NAMES.syncRun, SyncRunJobSchema.parse(payload), options);
}

/** Sends a run-notify job: post the run's outcome to Slack (after `startAfter` seconds when given). */
export function sendRunNotifyJob(
  boss: PgBoss,
  payload: RunNotifyJob,
  options: SendOptions = {},
): Promise<string> {
  return sendJob(boss, JOB_NAMES.runNotify, RunNotifyJobSchema.parse(payload), options);
}
