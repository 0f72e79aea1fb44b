import type { RunStatus } from '@provisioning/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Orm } from '../orm.ts';
import { API_DATABASE_ROLE } from '../orm.ts';
import { seedConfiguration, seedOrganisation, seedRun } from '../testing/seed.ts';
import { createMigratedTestOrm, type MigratedTestOrm } from '../testing/test-database.ts';
import { inOrganisation, sql } from './common.ts';
import { getRunDetails } from './run-list.repository.ts';
import {
  claimNotification,
  deferNotification,
  findUnsentNotifications,
  markNotificationSending,
  markNotificationSent,
  previousRunStatus,
} from './run-notification.repository.ts';
import {
  finishApplied,
  finishCancelled,
  finishUnapplied,
  requestCancel,
  transitionRun,
} from './sync-run-lifecycle.repository.ts';

let database: MigratedTestOrm;
let orm: Orm;
let organisationId: string;
let configurations = 0;

beforeAll(async () => {
  database = await createMigratedTestOrm('run_notification');
  orm = database.orm;
  organisationId = (await seedOrganisation(orm, { name: 'Outbox', roles: [] })).id;
});

afterAll(async () => {
  await database?.close();
});

async function runIn(
  status: RunStatus,
  configurationId?: string,
): Promise<{ runId: string; configurationId: string }> {
  configurations += 1;
  const configuration =
    configurationId ?? (await seedConfiguration(orm, organisationId, `Configuration ${configurations}`));
  const runId = await seedRun(orm, {
    organisationId,
    configurationId: configuration,
    status,
    queuedAt: new Date(Date.now() - 60_000),
  });
  await sql(orm.em.fork(), 'update sync_run set attempt = 1 where id = ?', [runId]);
  return { runId, configurationId: configuration };
}

async function notificationsOf(runId: string) {
  return sql<{ status: RunStatus; state: string; organisation_id: string }>(
    orm.em.fork(),
    'select status, state, organisation_id from run_notification where run_id = ?',
    [runId],
  );
}

const knex = () => orm.em.getConnection().getKnex();
const progress = { read: 1, planned: 1, applied: 1 };
const counts = {
  created: 1,
  updated: 0,
  reactivated: 0,
  deactivated: 0,
  unchanged: 0,
  skipped: 0,
  warnings: 0,
  errors: 0,
};

describe('the run outcome outbox', () => {
  it('queues one notification when a run is applied, committed with its final status', async () => {
    const { runId } = await runIn('in_progress');
    await knex().transaction((trx) =>
      finishApplied(trx, { runId, attempt: 1 }, { status: 'success', counts, progress }),
    );
    expect(await notificationsOf(runId)).toEqual([
      { status: 'success', state: 'pending', organisation_id: organisationId },
    ]);
  });

  it('queues nothing when the transaction that wrote the final status rolls back', async () => {
    const { runId } = await runIn('in_progress');
    await expect(
      knex().transaction(async (trx) => {
        await finishApplied(trx, { runId, attempt: 1 }, { status: 'needs_attention', counts, progress });
        throw new Error('the apply failed after the status was written');
      }),
    ).rejects.toThrow('the apply failed');
    expect(await notificationsOf(runId)).toEqual([]);
  });

  it('queues one for a run that wrote nothing, one for a cancel by support, one for the reaper’s end', async () => {
    const failed = await runIn('in_progress');
    await knex().transaction((trx) =>
      finishUnapplied(
        trx,
        { runId: failed.runId, attempt: 1 },
        {
          status: 'data_load_failed',
          errorSummary: 'The file was not found',
          errors: 1,
          progress,
        },
      ),
    );
    const queued = await runIn('queued');
    await requestCancel(orm.em.fork(), queued.runId);
    const stale = await runIn('in_progress');
    await finishCancelled(orm.em.fork(), stale.runId, 1, 'The worker stopped responding');

    expect(await notificationsOf(failed.runId)).toMatchObject([{ status: 'data_load_failed' }]);
    expect(await notificationsOf(queued.runId)).toMatchObject([{ status: 'cancelled' }]);
    expect(await notificationsOf(stale.runId)).toMatchObject([{ status: 'cancelled' }]);
  });

  it('queues nothing for moves that are not final: claimed, requeued', async () => {
    const { runId } = await runIn('queued');
    await transitionRun(orm.em.fork(), runId, 'in_progress');
    await transitionRun(orm.em.fork(), runId, 'queued');
    expect(await notificationsOf(runId)).toEqual([]);
  });

  it('lets a claim move the row only while it holds the latest attempt', async () => {
    const { runId } = await runIn('in_progress');
    await finishCancelled(orm.em.fork(), runId, 1, 'stopped');
    const first = await knex().transaction((trx) => claimNotification(trx, runId));
    expect(first).toMatchObject({ kind: 'claimed', claim: { attempt: 1, recovering: false } });
    if (first.kind !== 'claimed') return;
    await markNotificationSending(orm.em.fork(), first.claim, 'C1', 0);
    // The lease is over (0 s): a second claim takes over, and the first can no longer record anything.
    const second = await knex().transaction((trx) => claimNotification(trx, runId));
    expect(second).toMatchObject({
      kind: 'claimed',
      claim: { attempt: 2, recovering: true, channelId: 'C1' },
    });
    expect(await markNotificationSent(orm.em.fork(), first.claim, { channelId: 'C1', ts: '1.1' })).toBe(
      false,
    );
    if (second.kind !== 'claimed') return;
    expect(await markNotificationSent(orm.em.fork(), second.claim, { channelId: 'C1', ts: '1.2' })).toBe(
      true,
    );
    expect(await knex().transaction((trx) => claimNotification(trx, runId))).toEqual({ kind: 'done' });
  });

  it('keeps a deferred notification from claims and from the sweep until its wait is over', async () => {
    const { runId } = await runIn('in_progress');
    await finishCancelled(orm.em.fork(), runId, 1, 'stopped');
    await sql(
      orm.em.fork(),
      `update run_notification set created_at = now() - interval '5 minutes' where run_id = ?`,
      [runId],
    );
    const claimed = await knex().transaction((trx) => claimNotification(trx, runId));
    if (claimed.kind !== 'claimed') throw new Error('not claimed');
    await deferNotification(orm.em.fork(), claimed.claim, 30, 'rate limited');
    expect(await knex().transaction((trx) => claimNotification(trx, runId))).toMatchObject({ kind: 'later' });
    expect(await findUnsentNotifications(orm.em.fork(), 60)).not.toContain(runId);
    await sql(orm.em.fork(), 'update run_notification set retry_at = now() where run_id = ?', [runId]);
    expect(await findUnsentNotifications(orm.em.fork(), 60)).toContain(runId);
  });

  it('finds the previous finished run of the same configuration', async () => {
    const first = await runIn('in_progress');
    await finishCancelled(orm.em.fork(), first.runId, 1, 'stopped');
    const second = await runIn('in_progress', first.configurationId);
    await knex().transaction((trx) =>
      finishApplied(trx, { runId: second.runId, attempt: 1 }, { status: 'success', counts, progress }),
    );
    expect(await previousRunStatus(orm.em.fork(), second.runId, first.configurationId)).toBe('cancelled');
    expect(await previousRunStatus(orm.em.fork(), first.runId, first.configurationId)).toBeNull();
  });

  it('shows the notification in the run’s details to the organisation’s API role, and to no other organisation', async () => {
    const { runId } = await runIn('in_progress');
    await finishCancelled(orm.em.fork(), runId, 1, 'stopped');
    await sql(
      orm.em.fork(),
      `update run_notification set state = 'failed', last_error = 'The bot is not in the channel' where run_id = ?`,
      [runId],
    );
    const details = await getRunDetails(orm.em.fork(), organisationId, runId);
    expect(details.notification).toEqual({
      state: 'failed',
      reason: 'The bot is not in the channel',
      sentAt: null,
    });
    const other = (await seedOrganisation(orm, { name: 'Other', roles: [] })).id;
    const seen = await inOrganisation(orm.em.fork(), other, (tx) =>
      sql(tx, 'select run_id from run_notification where run_id = ?', [runId]),
    );
    expect(seen).toEqual([]);
    const [role] = await inOrganisation(orm.em.fork(), other, (tx) =>
      sql<{ role: string }>(tx, 'select current_user as role'),
    );
    expect(role?.role).toBe(API_DATABASE_ROLE);
  });
});
