import type PgBoss from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBoss, ensureQueues } from '../job-queue.ts';
import type { Orm } from '../orm.ts';
import { seedConfiguration, seedOrganisation, seedRun } from '../testing/seed.ts';
import { createMigratedTestOrm, type MigratedTestOrm } from '../testing/test-database.ts';
import { sql } from './common.ts';
import {
  ApprovalLapsed,
  approveBlockedRun,
  finishApplied,
  finishUnapplied,
} from './sync-run-lifecycle.repository.ts';

let database: MigratedTestOrm;
let orm: Orm;
let boss: PgBoss;
let organisationId: string;
let configurations = 0;

beforeAll(async () => {
  database = await createMigratedTestOrm('run_approval');
  orm = database.orm;
  boss = createBoss(database.url, { max: 2, supervise: false, schedule: false });
  await boss.start();
  await ensureQueues(boss);
  organisationId = (await seedOrganisation(orm, { name: 'Approvals', roles: [] })).id;
});

afterAll(async () => {
  await boss?.stop({ graceful: false, wait: true });
  await database?.close();
});

const BY = { by: 'Sam Support', reason: 'HR confirmed the leavers' };
const USERS = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002'];

/** A configuration whose run was just blocked, its plan stored by finishUnapplied as a run stores it. */
async function blockedRun(): Promise<{ runId: string; configurationId: string }> {
  configurations += 1;
  const configurationId = await seedConfiguration(orm, organisationId, `Configuration ${configurations}`);
  const runId = await seedRun(orm, {
    organisationId,
    configurationId,
    status: 'in_progress',
    queuedAt: new Date(Date.now() - 60_000),
  });
  await sql(orm.em.fork(), 'update sync_run set attempt = 1 where id = ?', [runId]);
  const knex = orm.em.getConnection().getKnex();
  await knex.transaction((trx) =>
    finishUnapplied(
      trx,
      { runId, attempt: 1 },
      {
        status: 'above_deactivation_threshold',
        errorSummary: 'Over the threshold',
        blockedUserIds: USERS,
        errors: 0,
        progress: { read: 1, planned: 3, applied: 0 },
      },
    ),
  );
  return { runId, configurationId };
}

describe('approving a blocked run', () => {
  it('stores the blocked plan with the final status, and nothing when the run had moved on', async () => {
    const { runId } = await blockedRun();
    expect(
      await sql(
        orm.em.fork(),
        'select user_id from sync_run_blocked_user where run_id = ? order by user_id',
        [runId],
      ),
    ).toEqual(USERS.map((user_id) => ({ user_id })));
    const knex = orm.em.getConnection().getKnex();
    const again = await knex.transaction((trx) =>
      finishUnapplied(
        trx,
        { runId, attempt: 1 },
        {
          status: 'above_deactivation_threshold',
          errorSummary: 'Again',
          blockedUserIds: ['00000000-0000-4000-8000-000000000009'],
          errors: 0,
          progress: { read: 1, planned: 1, applied: 0 },
        },
      ),
    );
    expect(again).toBe(false);
    expect(
      await sql(orm.em.fork(), 'select count(*)::int as n from sync_run_blocked_user where run_id = ?', [
        runId,
      ]),
    ).toEqual([{ n: 2 }]);
  });

  it('lets one of two approvals given at once through, and refuses the other', async () => {
    const { runId } = await blockedRun();
    const results = await Promise.allSettled([
      approveBlockedRun(orm, boss, runId, BY),
      approveBlockedRun(orm, boss, runId, { ...BY, by: 'Alex Support' }),
    ]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('already approved'),
    });
    expect(
      await sql(
        orm.em.fork(),
        `select count(*)::int as n from sync_run where trigger = 'approval' and approval_id is not null and configuration_id = (select configuration_id from sync_run where id = ?)`,
        [runId],
      ),
    ).toEqual([{ n: 1 }]);
  });

  it('makes the configuration’s run already queued the approved one, instead of queueing a second', async () => {
    const { runId, configurationId } = await blockedRun();
    const scheduled = await seedRun(orm, {
      organisationId,
      configurationId,
      status: 'queued',
      queuedAt: new Date(),
    });
    const approved = await approveBlockedRun(orm, boss, runId, BY);
    expect(approved).toMatchObject({ runId: scheduled, created: false, plannedDeactivations: 2 });
    expect(
      await sql(orm.em.fork(), 'select trigger, approval_id from sync_run where id = ?', [scheduled]),
    ).toEqual([{ trigger: 'approval', approval_id: approved.approvalId }]);
  });

  it('marks the approval used in the apply’s transaction, once: a second apply under it rolls back', async () => {
    const { runId, configurationId } = await blockedRun();
    const { approvalId, runId: approvedRun } = await approveBlockedRun(orm, boss, runId, BY);
    await sql(
      orm.em.fork(),
      `update sync_run set status = 'in_progress', attempt = 1, started_at = now() where id = ?`,
      [approvedRun],
    );
    const knex = orm.em.getConnection().getKnex();
    const outcome = {
      status: 'success' as const,
      counts: {
        created: 0,
        updated: 0,
        reactivated: 0,
        deactivated: 2,
        unchanged: 0,
        skipped: 0,
        warnings: 0,
        errors: 0,
      },
      progress: { read: 1, planned: 3, applied: 3 },
      approvalId,
    };
    expect(
      await knex.transaction((trx) => finishApplied(trx, { runId: approvedRun, attempt: 1 }, outcome)),
    ).toBe(true);
    expect(
      await sql(orm.em.fork(), 'select used_by_run_id, outcome from sync_run_approval where id = ?', [
        approvalId,
      ]),
    ).toEqual([{ used_by_run_id: approvedRun, outcome: 'applied' }]);

    const another = await seedRun(orm, {
      organisationId,
      configurationId,
      status: 'in_progress',
      queuedAt: new Date(),
    });
    await sql(orm.em.fork(), 'update sync_run set attempt = 1 where id = ?', [another]);
    await expect(
      knex.transaction((trx) => finishApplied(trx, { runId: another, attempt: 1 }, outcome)),
    ).rejects.toBeInstanceOf(ApprovalLapsed);
    expect(await sql(orm.em.fork(), 'select status from sync_run where id = ?', [another])).toEqual([
      { status: 'in_progress' },
    ]);
  });
});
