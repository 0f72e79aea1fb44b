import { RUN_STATUSES, RUN_TRANSITIONS, type RunStatus } from '@provisioning/shared';
import type PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoss, ensureQueues } from '../job-queue.ts';
import type { Orm } from '../orm.ts';
import { seedConfiguration, seedOrganisation, seedRun } from '../testing/seed.ts';
import { createMigratedTestOrm, type MigratedTestOrm } from '../testing/test-database.ts';
import { sql } from './common.ts';
import {
  finishApplied,
  finishCancelled,
  finishUnapplied,
  heartbeat,
  transitionRun,
  triggerRun,
} from './sync-run-lifecycle.repository.ts';

let database: MigratedTestOrm;
let orm: Orm;
let organisationId: string;
let configurations = 0;

beforeAll(async () => {
  database = await createMigratedTestOrm('run_lifecycle');
  orm = database.orm;
  organisationId = (await seedOrganisation(orm, { name: 'Ledger', roles: [] })).id;
});

let boss: PgBoss | undefined;

afterAll(async () => {
  await boss?.stop({ graceful: false, wait: true });
  await database?.close();
});

/** A run in `status` of a configuration of its own, so the one-queued and one-running indexes never meet. */
async function runIn(status: RunStatus, attempt = 1): Promise<string> {
  configurations += 1;
  const configurationId = await seedConfiguration(orm, organisationId, `Configuration ${configurations}`);
  const runId = await seedRun(orm, {
    organisationId,
    configurationId,
    status,
    queuedAt: new Date(Date.now() - 60_000),
  });
  await sql(orm.em.fork(), 'update sync_run set attempt = ? where id = ?', [attempt, runId]);
  return runId;
}

async function statusOf(runId: string): Promise<RunStatus> {
  const [row] = await sql<{ status: RunStatus }>(orm.em.fork(), 'select status from sync_run where id = ?', [
    runId,
  ]);
  return row!.status;
}

describe('the run ledger', () => {
  it('moves a run along RUN_TRANSITIONS only, for every pair of statuses', async () => {
    const seen: string[] = [];
    for (const from of RUN_STATUSES) {
      for (const to of RUN_STATUSES) {
        const runId = await runIn(from);
        const moved = await transitionRun(orm.em.fork(), runId, to);
        const legal = RUN_TRANSITIONS[from].includes(to);
        expect(moved !== undefined, `${from} → ${to}`).toBe(legal);
        expect(await statusOf(runId), `${from} → ${to}`).toBe(legal ? to : from);
        seen.push(`${from}→${to}`);
      }
    }
    expect(seen).toHaveLength(RUN_STATUSES.length ** 2);
  });

  it('refuses to be asked for a move the table does not have, before touching the run', async () => {
    const runId = await runIn('queued');
    await expect(transitionRun(orm.em.fork(), runId, 'success', { from: ['queued'] })).rejects.toThrow(
      'A run cannot move from queued to success',
    );
    expect(await statusOf(runId)).toBe('queued');
  });

  it('narrows a move to the statuses it names', async () => {
    const running = await runIn('in_progress');
    expect(await transitionRun(orm.em.fork(), running, 'cancelled', { from: ['queued'] })).toBeUndefined();
    expect(await statusOf(running)).toBe('in_progress');
  });

  it('lets only the attempt that owns a run finish it', async () => {
    const runId = await runIn('in_progress', 2);
    const knex = orm.em.getConnection().getKnex();
    const outcome = {
      status: 'success' as const,
      counts: {
        created: 1,
        updated: 0,
        reactivated: 0,
        deactivated: 0,
        unchanged: 0,
        skipped: 0,
        warnings: 0,
        errors: 0,
      },
      progress: { read: 1, planned: 1, applied: 1 },
    };
    expect(await knex.transaction((trx) => finishApplied(trx, { runId, attempt: 1 }, outcome))).toBe(false);
    expect(await statusOf(runId)).toBe('in_progress');
    expect(await knex.transaction((trx) => finishApplied(trx, { runId, attempt: 2 }, outcome))).toBe(true);
    const [row] = await sql<{
      status: string;
      created_count: number;
      rows_applied: number;
      duration_ms: number;
    }>(orm.em.fork(), 'select status, created_count, rows_applied, duration_ms from sync_run where id = ?', [
      runId,
    ]);
    expect(row).toMatchObject({ status: 'success', created_count: 1, rows_applied: 1 });
    expect(row!.duration_ms).toBeGreaterThanOrEqual(0);
  });

  it('does not end a cancelled run again as Data Load Failed', async () => {
    const runId = await runIn('in_progress');
    expect(await finishCancelled(orm.em.fork(), runId, 1, 'Stopped by support')).toBe(true);
    const knex = orm.em.getConnection().getKnex();
    const finished = await knex.transaction((trx) =>
      finishUnapplied(
        trx,
        { runId, attempt: 1 },
        {
          status: 'data_load_failed',
          errorSummary: 'late failure',
          errors: 1,
          progress: { read: 0, planned: 0, applied: 0 },
        },
      ),
    );
    expect(finished).toBe(false);
    const [row] = await sql<{ status: string; error_summary: string }>(
      orm.em.fork(),
      'select status, error_summary from sync_run where id = ?',
      [runId],
    );
    expect(row).toEqual({ status: 'cancelled', error_summary: 'Stopped by support' });
  });

  it('beats only for a run in progress under the attempt that owns it', async () => {
    const runId = await runIn('in_progress', 3);
    expect(await heartbeat(orm.em.fork(), { runId, attempt: 3 }, { read: 10 })).toEqual({
      owned: true,
      cancelRequested: false,
    });
    expect((await heartbeat(orm.em.fork(), { runId, attempt: 2 })).owned).toBe(false);
    const queued = await runIn('queued', 3);
    expect((await heartbeat(orm.em.fork(), { runId: queued, attempt: 3 })).owned).toBe(false);
    const [row] = await sql<{ rows_read: number }>(
      orm.em.fork(),
      'select rows_read from sync_run where id = ?',
      [runId],
    );
    expect(row!.rows_read).toBe(10);
  });

  it('queues a run with its configuration’s source, which the runs list filters on', async () => {
    boss = createBoss(database.url, { max: 2, supervise: false, schedule: false });
    await boss.start();
    await ensureQueues(boss);
    for (const connector of ['workday', 'google-workspace', 'sftp'] as const) {
      const configurationId = await seedConfiguration(
        orm,
        organisationId,
        `Triggered ${connector}`,
        connector,
      );
      const { runId, created } = await triggerRun(orm, boss, configurationId, 'manual');
      expect(created).toBe(true);
      const [row] = await sql<{ connector: string; status: string }>(
        orm.em.fork(),
        'select connector, status from sync_run where id = ?',
        [runId],
      );
      expect(row).toEqual({ connector, status: 'queued' });
    }
  });
});
