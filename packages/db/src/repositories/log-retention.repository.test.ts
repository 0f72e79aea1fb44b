import type { RunStatus } from '@provisioning/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Orm } from '../orm.ts';
import {
  indexPersonLinesSql,
  seedConfiguration,
  seedLog,
  seedOrganisation,
  seedRun,
} from '../testing/seed.ts';
import { createMigratedTestOrm, type MigratedTestOrm, testDatabaseKind } from '../testing/test-database.ts';
import { sql } from './common.ts';
import { type PurgeBatch, purgeExpiredLogs } from './log-retention.repository.ts';
import { updateOrganisation } from './organisation.repository.ts';

const onServer = (await testDatabaseKind()) === 'server';
const DAY = 24 * 3600_000;
/** The purge's clock in every test: retention counts back from it. */
const NOW = new Date('2027-03-03T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);

let database: MigratedTestOrm;
let orm: Orm;
let organisations = 0;

beforeAll(async () => {
  database = await createMigratedTestOrm('log_retention');
  orm = database.orm;
});

afterAll(async () => {
  await database?.close();
});

/** An organisation of its own (default retention unless given) and a configuration of it. */
async function organisation(retention?: { logRetentionDays: number; runRetentionDays: number }) {
  organisations += 1;
  const { id } = await seedOrganisation(orm, { name: `Retention ${organisations}`, roles: [] });
  if (retention) await updateOrganisation(orm.em.fork(), id, retention);
  return { id, configurationId: await seedConfiguration(orm, id, 'HR file') };
}

/** A run of `status` that ended at `finishedAt`, with a line of log. */
async function runEndedAt(
  owner: { id: string; configurationId: string },
  status: RunStatus,
  finishedAt: Date,
): Promise<string> {
  const runId = await seedRun(orm, {
    organisationId: owner.id,
    configurationId: owner.configurationId,
    status,
    startedAt: new Date(finishedAt.getTime() - 4000),
    durationMs: 4000,
  });
  await seedLog(orm, runId, [
    { rowNumber: 2, email: 'ada@acme.example', action: 'create', outcome: 'applied' },
  ]);
  return runId;
}

async function runState(runId: string) {
  const [row] = await sql<{ chunks: number; purged_at: number | null; days: number | null }>(
    orm.em.fork(),
    `select (select count(*)::int from sync_log_chunk where run_id = r.id) as chunks,
       (extract(epoch from r.log_purged_at) * 1000)::float8 as purged_at, r.log_purge_retention_days as days
     from sync_run r where r.id = ?`,
    [runId],
  );
  return row ?? null;
}

async function purge(options: Parameters<typeof purgeExpiredLogs>[1] = {}) {
  const outcome = await purgeExpiredLogs(orm, { now: NOW, ...options });
  if (outcome === 'busy') throw new Error('the purge lock was held');
  return outcome;
}

describe('the log purge', () => {
  it('deletes the log of a run that ended more than the log retention ago, keeps one within it, and keeps both records', async () => {
    const acme = await organisation();
    const expired = await runEndedAt(acme, 'success', ago(90 * DAY + 60_000));
    const failed = await runEndedAt(acme, 'data_load_failed', ago(90 * DAY + 60_000));
    const kept = await runEndedAt(acme, 'needs_attention', ago(90 * DAY - 60_000));

    await purge();

    for (const runId of [expired, failed]) {
      expect(await runState(runId)).toEqual({ chunks: 0, purged_at: NOW.getTime(), days: 90 });
    }
    expect(await runState(kept)).toEqual({ chunks: 1, purged_at: null, days: null });
  });

  it('drops the person history of a purged log with it, and keeps that of a kept log', async () => {
    const acme = await organisation();
    const expired = await runEndedAt(acme, 'success', ago(90 * DAY + 60_000));
    const kept = await runEndedAt(acme, 'success', ago(90 * DAY - 60_000));
    await sql(orm.em.fork(), indexPersonLinesSql(`'${expired}', '${kept}'`));
    const indexed = async (runId: string) =>
      (
        await sql<{ count: number }>(
          orm.em.fork(),
          'select count(*)::int as count from sync_log_person where run_id = ?',
          [runId],
        )
      )[0]!.count;
    expect([await indexed(expired), await indexed(kept)]).toEqual([1, 1]);

    await purge();

    expect([await indexed(expired), await indexed(kept)]).toEqual([0, 1]);
  });

  it('never touches a queued or in-progress run, however old', async () => {
    const acme = await organisation();
    const queued = await seedRun(orm, {
      organisationId: acme.id,
      configurationId: acme.configurationId,
      status: 'queued',
      queuedAt: ago(5000 * DAY),
    });
    const other = await seedConfiguration(orm, acme.id, 'Directory');
    const running = await seedRun(orm, {
      organisationId: acme.id,
      configurationId: other,
      status: 'in_progress',
      startedAt: ago(5000 * DAY),
    });
    // An end time no unfinished run has: only its status keeps it from the purge.
    await sql(orm.em.fork(), 'update sync_run set finished_at = ? where id = any(?::uuid[])', [
      ago(5000 * DAY),
      [queued, running],
    ]);
    for (const runId of [queued, running]) {
      await seedLog(orm, runId, [{ action: 'create', outcome: 'applied' }]);
    }

    await purge();

    for (const runId of [queued, running]) {
      expect(await runState(runId)).toEqual({ chunks: 1, purged_at: null, days: null });
    }
  });

  it('counts each organisation’s own retention', async () => {
    const short = await organisation({ logRetentionDays: 7, runRetentionDays: 30 });
    const standard = await organisation();
    const shortRun = await runEndedAt(short, 'success', ago(8 * DAY));
    const standardRun = await runEndedAt(standard, 'success', ago(8 * DAY));

    await purge();

    expect(await runState(shortRun)).toEqual({ chunks: 0, purged_at: NOW.getTime(), days: 7 });
    expect(await runState(standardRun)).toEqual({ chunks: 1, purged_at: null, days: null });
  });

  it('purges 500 runs per transaction', async () => {
    const acme = await organisation();
    await sql(
      orm.em.fork(),
      `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at, started_at, finished_at)
       select gen_random_uuid(), ?, ?, 'success', 'schedule', t - interval '5 seconds', t - interval '4 seconds', t
       from generate_series(1, 1201) as i, lateral (select ?::timestamptz - i * interval '1 minute' as t) as x`,
      [acme.id, acme.configurationId, ago(100 * DAY)],
    );
    await sql(
      orm.em.fork(),
      `insert into sync_log_chunk (run_id, first_seq, last_seq, lines)
       select id, 0, 0, '[[0, 2, null, null, null, "create", "applied", null, null, null]]' from sync_run
       where configuration_id = ?`,
      [acme.configurationId],
    );
    const batches: PurgeBatch[] = [];

    const outcome = await purge({ onBatch: (batch) => void batches.push(batch) });

    expect(batches).toEqual([
      { kind: 'logs', runs: 500 },
      { kind: 'logs', runs: 500 },
      { kind: 'logs', runs: 201 },
    ]);
    expect(outcome).toMatchObject({ logsPurged: 1201, runsDeleted: 0, batches: 3, complete: true });
    // Each batch is a transaction of its own: the runs it marked carry its transaction ID.
    const transactions = await sql<{ runs: number }>(
      orm.em.fork(),
      `select count(*)::int as runs from sync_run where organisation_id = ? group by change_xid order by min(change_xid)`,
      [acme.id],
    );
    expect(transactions.map((row) => row.runs)).toEqual([500, 500, 201]);
    const [left] = await sql<{ chunks: number }>(
      orm.em.fork(),
      `select count(*)::int as chunks from sync_log_chunk c join sync_run r on r.id = c.run_id where r.organisation_id = ?`,
      [acme.id],
    );
    expect(left!.chunks).toBe(0);
  });

  it('deletes runs that ended more than the run retention ago, with what refers to them, and keeps newer ones', async () => {
    const acme = await organisation();
    const old = await runEndedAt(acme, 'above_deactivation_threshold', ago(400 * DAY + 60_000));
    const kept = await runEndedAt(acme, 'success', ago(400 * DAY - 60_000));
    const user = '00000000-0000-4000-8000-0000000000f1';
    await sql(orm.em.fork(), 'insert into sync_run_blocked_user (run_id, user_id) values (?, ?)', [
      old,
      user,
    ]);
    const [approval] = await sql<{ id: string }>(
      orm.em.fork(),
      `insert into sync_run_approval (id, blocked_run_id, approved_by, reason, approved_at, expires_at, used_by_run_id, outcome)
       values (gen_random_uuid(), ?, 'Sam Support', 'HR confirmed', now(), now(), ?, 'applied') returning id`,
      [old, kept],
    );
    await sql(orm.em.fork(), `update sync_run set approval_id = ?, trigger = 'approval' where id = ?`, [
      approval!.id,
      kept,
    ]);
    await sql(
      orm.em.fork(),
      `insert into run_notification (run_id, organisation_id, status) values (?, ?, 'above_deactivation_threshold')`,
      [old, acme.id],
    );

    const outcome = await purge();

    expect(outcome.runsDeleted).toBe(1);
    expect(await runState(old)).toBeNull();
    expect(await runState(kept)).toEqual({ chunks: 0, purged_at: NOW.getTime(), days: 90 });
    const [left] = await sql<{
      blocked: number;
      approvals: number;
      notifications: number;
      approval_id: string | null;
    }>(
      orm.em.fork(),
      `select (select count(*)::int from sync_run_blocked_user where run_id = ?) as blocked,
         (select count(*)::int from sync_run_approval where blocked_run_id = ?) as approvals,
         (select count(*)::int from run_notification where run_id = ?) as notifications,
         (select approval_id from sync_run where id = ?) as approval_id`,
      [old, old, old, kept],
    );
    expect(left).toEqual({ blocked: 0, approvals: 0, notifications: 0, approval_id: null });
  });

  it('stops before its next batch once told to, and leaves the rest to the next purge', async () => {
    const acme = await organisation();
    const runId = await runEndedAt(acme, 'success', ago(200 * DAY));
    const stop = new AbortController();
    stop.abort();

    expect(await purge({ signal: stop.signal })).toMatchObject({ batches: 0, complete: false });
    expect(await runState(runId)).toMatchObject({ chunks: 1, purged_at: null });
    await purge();
    expect(await runState(runId)).toMatchObject({ chunks: 0, purged_at: NOW.getTime() });
  });

  // The embedded database has a single session: its advisory locks cannot keep two of its connections apart.
  it.runIf(onServer)(
    'lets one purge run at a time: another finds the lock held and changes nothing',
    async () => {
      const acme = await organisation();
      const first = await runEndedAt(acme, 'success', ago(100 * DAY + 60_000));
      const second = await runEndedAt(acme, 'success', ago(100 * DAY));
      let entered!: () => void;
      const inBatch = new Promise<void>((resolve) => {
        entered = resolve;
      });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });

      const running = purgeExpiredLogs(orm, {
        now: NOW,
        batchSize: 1,
        onBatch: async () => {
          entered();
          await gate;
        },
      });
      await inBatch;
      expect(await purgeExpiredLogs(orm, { now: NOW })).toBe('busy');
      expect(await runState(second)).toMatchObject({ chunks: 1, purged_at: null });

      release();
      expect(await running).toMatchObject({ logsPurged: 2, complete: true });
      expect(await runState(first)).toMatchObject({ chunks: 0 });
      expect(await runState(second)).toMatchObject({ chunks: 0 });
      // Released once done: the next purge takes the lock (and finds nothing left).
      expect(await purgeExpiredLogs(orm, { now: NOW })).toMatchObject({ logsPurged: 0, complete: true });
    },
  );
});

describe('retention settings', () => {
  it('refuses a run retention shorter than the log retention, given alone or together, and changes nothing', async () => {
    const acme = await organisation();
    await expect(updateOrganisation(orm.em.fork(), acme.id, { runRetentionDays: 30 })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message:
        "Run retention (30 days) must be at least the log retention (90 days): a run's record is kept at least as long as its log",
    });
    await expect(
      updateOrganisation(orm.em.fork(), acme.id, { name: 'Renamed', logRetentionDays: 500 }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await expect(updateOrganisation(orm.em.fork(), acme.id, { logRetentionDays: 6 })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('at least 7 days'),
    });
    const [row] = await sql<{ name: string; log: number; run: number }>(
      orm.em.fork(),
      'select name, log_retention_days as log, run_retention_days as run from organisation where id = ?',
      [acme.id],
    );
    expect(row).toEqual({ name: `Retention ${organisations}`, log: 90, run: 400 });

    const updated = await updateOrganisation(orm.em.fork(), acme.id, {
      logRetentionDays: 500,
      runRetentionDays: 500,
    });
    expect([updated.logRetentionDays, updated.runRetentionDays]).toEqual([500, 500]);
  });

  it('is checked by the table too: no write can leave a run retention below the log retention', async () => {
    const acme = await organisation();
    await expect(
      sql(orm.em.fork(), 'update organisation set run_retention_days = 10 where id = ?', [acme.id]),
    ).rejects.toThrow(/organisation_run_retention_days_check/);
  });
});
