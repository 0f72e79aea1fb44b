import { DomainError, type RunStatus } from '@provisioning/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Orm } from '../orm.ts';
import { seedConfiguration, seedOrganisation, seedRun } from '../testing/seed.ts';
import { createMigratedTestOrm, type MigratedTestOrm } from '../testing/test-database.ts';
import { sql } from './common.ts';
import {
  configurationView,
  getConfiguration,
  listScheduledConfigurations,
  pauseConfiguration,
  resumeConfiguration,
} from './sync-configuration.repository.ts';
import { finishApplied, finishCancelled, finishUnapplied } from './sync-run-lifecycle.repository.ts';

let database: MigratedTestOrm;
let orm: Orm;
let organisationId: string;
let configurations = 0;

beforeAll(async () => {
  database = await createMigratedTestOrm('circuit_breaker');
  orm = database.orm;
  organisationId = (await seedOrganisation(orm, { name: 'Circuit', roles: [] })).id;
});

afterAll(async () => {
  await database?.close();
});

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

/** A scheduled configuration of its own, with the circuit limits given (the defaults otherwise). */
async function configuration(limits: { alertAfter?: number; pauseAfter?: number } = {}): Promise<string> {
  configurations += 1;
  const id = await seedConfiguration(orm, organisationId, `Configuration ${configurations}`);
  await sql(
    orm.em.fork(),
    `update sync_configuration set schedule = '* * * * *',
       alert_after_failures = coalesce(?, alert_after_failures), pause_after_failures = coalesce(?, pause_after_failures)
     where id = ?`,
    [limits.alertAfter ?? null, limits.pauseAfter ?? null, id],
  );
  return id;
}

/** A run of the configuration ended as `status` through the run ledger, as the worker (or reaper) ends it. */
async function finish(
  configurationId: string,
  status: RunStatus,
  error = 'The file was not found',
): Promise<string> {
  const runId = await seedRun(orm, {
    organisationId,
    configurationId,
    status: 'in_progress',
    startedAt: new Date(),
  });
  await sql(orm.em.fork(), 'update sync_run set attempt = 1 where id = ?', [runId]);
  const run = { runId, attempt: 1 };
  if (status === 'success' || status === 'needs_attention') {
    await knex().transaction((trx) => finishApplied(trx, run, { status, counts, progress }));
  } else if (status === 'data_load_failed' || status === 'above_deactivation_threshold') {
    await knex().transaction((trx) =>
      finishUnapplied(trx, run, { status, errorSummary: error, errors: 1, progress }),
    );
  } else {
    await finishCancelled(orm.em.fork(), runId, 1, 'Cancelled by support');
  }
  return runId;
}

async function failures(configurationId: string, times: number): Promise<string[]> {
  const runIds: string[] = [];
  for (let i = 0; i < times; i++) runIds.push(await finish(configurationId, 'data_load_failed'));
  return runIds;
}

async function stateOf(configurationId: string) {
  const [row] = await sql<{
    consecutive_failures: number;
    paused_at: Date | null;
    paused_reason: string | null;
  }>(
    orm.em.fork(),
    'select consecutive_failures, paused_at, paused_reason from sync_configuration where id = ?',
    [configurationId],
  );
  return row!;
}

async function circuitNotifications(configurationId: string) {
  return sql<{
    run_id: string;
    consecutive_failures: number;
    paused: boolean;
    status: RunStatus;
    state: string;
  }>(
    orm.em.fork(),
    `select n.run_id, n.consecutive_failures, n.paused, n.status, n.state
     from run_notification n join sync_run r on r.id = n.run_id
     where r.configuration_id = ? and n.kind = 'circuit' order by n.consecutive_failures`,
    [configurationId],
  );
}

async function scheduled(): Promise<string[]> {
  return (await listScheduledConfigurations(orm.em.fork())).map((row) => row.id);
}

describe('the failure circuit breaker (trigger on sync_run)', () => {
  it('counts each Data Load Failed run, and a Success or Needs Attention run resets the count', async () => {
    const id = await configuration();
    await failures(id, 2);
    expect((await stateOf(id)).consecutive_failures).toBe(2);
    await finish(id, 'success');
    expect((await stateOf(id)).consecutive_failures).toBe(0);
    await failures(id, 2);
    await finish(id, 'needs_attention');
    expect((await stateOf(id)).consecutive_failures).toBe(0);
  });

  it('leaves the count as it is on Above Deactivation Threshold and Cancelled', async () => {
    const id = await configuration();
    await failures(id, 2);
    await finish(id, 'above_deactivation_threshold', 'Planned 600 deactivations');
    await finish(id, 'cancelled');
    expect((await stateOf(id)).consecutive_failures).toBe(2);
    await failures(id, 1);
    expect((await stateOf(id)).consecutive_failures).toBe(3);
  });

  it('queues one circuit notification at the third failure in a row, none at the second or fourth', async () => {
    const id = await configuration();
    const runs = await failures(id, 4);
    expect(await circuitNotifications(id)).toEqual([
      {
        run_id: runs[2],
        consecutive_failures: 3,
        paused: false,
        status: 'data_load_failed',
        state: 'pending',
      },
    ]);
    // Beside the run's own outcome notification, not instead of it.
    const [both] = await sql<{ kinds: string[] }>(
      orm.em.fork(),
      'select array_agg(kind order by kind) as kinds from run_notification where run_id = ?',
      [runs[2]],
    );
    expect(both!.kinds).toEqual(['circuit', 'run']);
    expect((await stateOf(id)).paused_at).toBeNull();
    expect(await scheduled()).toContain(id);
  });

  it('pauses at the fifth failure in a row, with a notification saying so, and the scheduler leaves it out', async () => {
    const id = await configuration();
    const runs = await failures(id, 5);
    const state = await stateOf(id);
    expect(state.paused_at).not.toBeNull();
    expect(state.paused_reason).toBe('Paused after 5 consecutive Data Load Failed runs');
    expect(await circuitNotifications(id)).toEqual([
      expect.objectContaining({ run_id: runs[2], consecutive_failures: 3, paused: false }),
      expect.objectContaining({ run_id: runs[4], consecutive_failures: 5, paused: true }),
    ]);
    expect(await scheduled()).not.toContain(id);

    // Manual runs that still fail change neither the pause nor the notifications.
    await failures(id, 2);
    expect((await stateOf(id)).consecutive_failures).toBe(7);
    expect(await circuitNotifications(id)).toHaveLength(2);
  });

  it('keeps the pause after a successful manual run, until support resumes', async () => {
    const id = await configuration();
    await failures(id, 5);
    await finish(id, 'success');
    expect(await stateOf(id)).toMatchObject({ consecutive_failures: 0, paused_reason: expect.any(String) });
    expect(await scheduled()).not.toContain(id);
  });

  it('sends one notification that says paused when the alert and the pause are the same count', async () => {
    const id = await configuration({ alertAfter: 2, pauseAfter: 2 });
    await failures(id, 3);
    expect(await circuitNotifications(id)).toEqual([
      expect.objectContaining({ consecutive_failures: 2, paused: true }),
    ]);
  });

  it('writes nothing when the transaction that ended the run rolls back', async () => {
    const id = await configuration({ alertAfter: 1, pauseAfter: 1 });
    const runId = await seedRun(orm, {
      organisationId,
      configurationId: id,
      status: 'in_progress',
      startedAt: new Date(),
    });
    await sql(orm.em.fork(), 'update sync_run set attempt = 1 where id = ?', [runId]);
    await expect(
      knex().transaction(async (trx) => {
        await finishUnapplied(
          trx,
          { runId, attempt: 1 },
          {
            status: 'data_load_failed',
            errorSummary: 'x',
            errors: 1,
            progress,
          },
        );
        throw new Error('the log could not be written');
      }),
    ).rejects.toThrow('the log could not be written');
    expect(await stateOf(id)).toEqual({ consecutive_failures: 0, paused_at: null, paused_reason: null });
    expect(await circuitNotifications(id)).toEqual([]);
  });

  it('refuses limits out of range, or a pause below the alert', async () => {
    const id = await configuration();
    for (const [alert, pause] of [
      [0, 5],
      [3, 2],
      [3, 101],
    ]) {
      await expect(
        sql(
          orm.em.fork(),
          'update sync_configuration set alert_after_failures = ?, pause_after_failures = ? where id = ?',
          [alert, pause, id],
        ),
      ).rejects.toThrow('sync_configuration_circuit_check');
    }
  });
});

describe('pauseConfiguration and resumeConfiguration', () => {
  it('pauses with the reason, shows it, and resuming clears the pause and the streak', async () => {
    const id = await configuration();
    await failures(id, 3);
    const paused = await pauseConfiguration(orm.em.fork(), id, { reason: '  Source moving to Workday  ' });
    expect(paused).toMatchObject({ id, pausedReason: 'Source moving to Workday' });
    expect(configurationView(await getConfiguration(orm.em.fork(), id))).toMatchObject({
      consecutiveFailures: 3,
      alertAfterFailures: 3,
      pauseAfterFailures: 5,
      failing: true,
      paused: true,
      pausedAt: paused.pausedAt,
      pausedReason: 'Source moving to Workday',
    });
    expect(await scheduled()).not.toContain(id);

    const resumed = await resumeConfiguration(orm.em.fork(), id);
    expect(resumed.resumedFrom).toMatchObject({
      pausedReason: 'Source moving to Workday',
      consecutiveFailures: 3,
    });
    expect(await stateOf(id)).toEqual({ consecutive_failures: 0, paused_at: null, paused_reason: null });
    expect(await scheduled()).toContain(id);
  });

  it('resumes a configuration the circuit breaker paused; its next failures count from zero', async () => {
    const id = await configuration();
    await failures(id, 5);
    await resumeConfiguration(orm.em.fork(), id);
    await failures(id, 3);
    expect(await circuitNotifications(id)).toHaveLength(3);
    expect((await stateOf(id)).paused_at).toBeNull();
  });

  it('refuses to resume a configuration that is not paused, changing nothing', async () => {
    const id = await configuration();
    await failures(id, 2);
    await expect(resumeConfiguration(orm.em.fork(), id)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('is not paused'),
    });
    expect((await stateOf(id)).consecutive_failures).toBe(2);
  });

  it('refuses to pause a paused configuration again, keeping the first reason', async () => {
    const id = await configuration();
    await pauseConfiguration(orm.em.fork(), id, { reason: 'First' });
    await expect(pauseConfiguration(orm.em.fork(), id, { reason: 'Second' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('already paused'),
    });
    expect((await stateOf(id)).paused_reason).toBe('First');
  });

  it.each([
    ['empty', '   ', 'is required'],
    ['too long', 'x'.repeat(501), 'at most 500 characters'],
    ['multi-line', 'line one\nline two', 'control characters'],
  ])('refuses a reason that is %s, changing nothing', async (_label, reason, message) => {
    const id = await configuration();
    const error = await pauseConfiguration(orm.em.fork(), id, { reason }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining(message) });
    expect((await stateOf(id)).paused_at).toBeNull();
  });

  it('answers NOT_FOUND for an unknown or malformed ID', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id', `${'a'.repeat(10_000)}`]) {
      await expect(pauseConfiguration(orm.em.fork(), id, { reason: 'x' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(resumeConfiguration(orm.em.fork(), id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
  });
});
