import { randomBytes } from 'node:crypto';
import { createBoss, ensureQueues, type Orm, sql } from '@provisioning/db';
import {
  createMigratedTestOrm,
  type MigratedTestOrm,
  seedConfiguration,
  seedLog,
  seedOrganisation,
  seedRun,
} from '@provisioning/db/testing';
import { JOB_NAMES } from '@provisioning/shared';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../worker.ts';
import { logPurgeJob } from './log-purge.job.ts';

let database: MigratedTestOrm;
let orm: Orm;

beforeAll(async () => {
  database = await createMigratedTestOrm('log_purge_job');
  orm = database.orm;
});

afterAll(async () => {
  await database?.close();
});

const DAY = 24 * 3600_000;

describe('the log-purge job', () => {
  it('is scheduled daily and, when it runs, deletes the logs past retention and keeps the others', async () => {
    const { id: organisationId } = await seedOrganisation(orm, { name: 'Acme', roles: [] });
    const configurationId = await seedConfiguration(orm, organisationId, 'HR file');
    const runEnded = async (daysAgo: number) => {
      const runId = await seedRun(orm, {
        organisationId,
        configurationId,
        status: 'success',
        startedAt: new Date(Date.now() - daysAgo * DAY),
      });
      await seedLog(orm, runId, [{ rowNumber: 2, action: 'create', outcome: 'applied' }]);
      return runId;
    };
    const expired = await runEnded(91);
    const kept = await runEnded(89);

    const worker = await startWorker({
      databaseUrl: database.url,
      logger: pino({ level: 'silent' }),
      secretKey: randomBytes(32),
      concurrency: 1,
      jobs: [logPurgeJob],
      slack: { apiUrl: 'http://127.0.0.1:9', publicWebUrl: 'https://admin.acme.example' },
    });
    const boss = createBoss(database.url, { max: 2, supervise: false, schedule: false });
    await boss.start();
    try {
      const schedules = await boss.getSchedules();
      expect(schedules.find((schedule) => schedule.name === JOB_NAMES.logPurge)?.cron).toBe('17 3 * * *');
      // The day's run, now rather than at 03:17.
      await ensureQueues(boss);
      const jobId = await boss.send(JOB_NAMES.logPurge, {});
      for (;;) {
        const job = await boss.getJobById(JOB_NAMES.logPurge, jobId!);
        if (job?.state === 'completed') break;
        if (job?.state === 'failed') throw new Error(`the job failed: ${JSON.stringify(job.output)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await boss.stop({ graceful: false });
      await worker.stop();
    }
    const rows = await sql<{ id: string; chunks: number; purged: boolean }>(
      orm.em.fork(),
      `select r.id, (select count(*)::int from sync_log_chunk c where c.run_id = r.id) as chunks,
         r.log_purged_at is not null as purged
       from sync_run r where r.id = any(?::uuid[])`,
      [[expired, kept]],
    );
    expect(
      Object.fromEntries(rows.map((row) => [row.id, { chunks: row.chunks, purged: row.purged }])),
    ).toEqual({
      [expired]: { chunks: 0, purged: true },
      [kept]: { chunks: 1, purged: false },
    });
  });
});
