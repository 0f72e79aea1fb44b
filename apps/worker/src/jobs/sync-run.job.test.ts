import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createBoss,
  createConfiguration,
  createOrganisation,
  ensureQueues,
  type Orm,
  pauseConfiguration,
  requestCancel,
  resumeConfiguration,
  triggerRun,
} from '@provisioning/db';
import { createMigratedTestOrm, type MigratedTestOrm } from '@provisioning/db/testing';
import { parseAllowList } from '@provisioning/sync';
import { type SftpServer, startSftpServer, writeHrCsv } from '@provisioning/testkit';
import type PgBoss from 'pg-boss';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startWorker } from '../worker.ts';
import { reapStaleRuns } from './sync-reaper.job.ts';
import { scheduleDueRuns } from './sync-scheduler.job.ts';

const silent = pino({ level: 'silent' });
/** The tests' SFTP servers listen on loopback, which connectors refuse unless allowed. */
const LOOPBACK = parseAllowList('127.0.0.1/32');
const secretKey = randomBytes(32);
const appDirectory = fileURLToPath(new URL('../..', import.meta.url));
const BIG = 100_000;

let database: MigratedTestOrm;
let orm: Orm;
let boss: PgBoss;
let sftp: SftpServer;
let root: string;
let organisationId: string;

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  return orm.em.getConnection().execute<T[]>(text, params);
}

/** A worker on the test database that may reach the tests' loopback SFTP servers. */
function startTestWorker(): Promise<RunningWorker> {
  return startWorker({ databaseUrl: database.url, logger: silent, secretKey, allowList: LOOPBACK });
}

let configCount = 0;
async function configuration(
  path: string,
  extra: { schedule?: string | null; enabled?: boolean; organisation?: string; server?: SftpServer } = {},
) {
  const server = extra.server ?? sftp;
  configCount += 1;
  const created = await createConfiguration(
    orm.em.fork(),
    extra.organisation ?? organisationId,
    {
      name: `Feed ${configCount}`,
      connector: 'sftp',
      settings: {
        host: server.host,
        port: server.port,
        username: 'acme',
        password: 'sftp-password',
        hostFingerprint: server.hostFingerprint,
        path,
      },
      mapping: {},
      schedule: extra.schedule ?? null,
      scheduleTimeZone: null,
      thresholdCount: 500,
      thresholdPercent: 20,
      enabled: extra.enabled ?? true,
    },
    secretKey,
  );
  return created.id;
}

/** Waits for a condition of the database to hold, checking it as it changes; fails after `timeoutMs`. */
async function until<T>(
  read: () => Promise<T>,
  holds: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (holds(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not reached: last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function runRow(runId: string) {
  const [run] = await sql<{ status: string; attempt: number; error_summary: string | null; trigger: string }>(
    'select status, attempt, error_summary, trigger from sync_run where id = ?',
    [runId],
  );
  return run as { status: string; attempt: number; error_summary: string | null; trigger: string };
}

async function usersOf(configurationId: string): Promise<number> {
  const [row] = await sql<{ n: number }>(
    'select count(*)::int as n from directory_user where managed_by_id = ?',
    [configurationId],
  );
  return row?.n ?? 0;
}

beforeAll(async () => {
  database = await createMigratedTestOrm('sync_run_job');
  orm = database.orm;
  boss = createBoss(database.url, { supervise: false, schedule: false });
  await boss.start();
  await ensureQueues(boss);
  root = mkdtempSync(join(tmpdir(), 'sync-job-sftp-'));
  mkdirSync(join(root, 'outbound'));
  await writeHrCsv(join(root, 'outbound', 'small.csv'), { rows: 25 });
  await writeHrCsv(join(root, 'outbound', 'big.csv'), { rows: BIG });
  sftp = await startSftpServer({ root, username: 'acme', password: 'sftp-password' });
  organisationId = (
    await createOrganisation(orm.em.fork(), {
      name: 'Acme',
      timeZone: 'Europe/London',
      provisioningEnabled: true,
      syncService: 'user-sync',
    })
  ).id;
});

afterAll(async () => {
  await boss?.stop({ graceful: false, wait: true });
  await sftp?.stop();
  await database?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the sync-run job', () => {
  it('runs a manual trigger from the queue to Success over a real SFTP server', async () => {
    const configurationId = await configuration('/outbound/small.csv');
    const worker = await startTestWorker();
    try {
      const { runId } = await triggerRun(orm, boss, configurationId, 'manual');
      const run = await until(
        () => runRow(runId),
        (r) => r.status !== 'queued' && r.status !== 'in_progress',
      );
      expect(run).toMatchObject({ status: 'success', attempt: 1, trigger: 'manual' });
      expect(await usersOf(configurationId)).toBe(25);
    } finally {
      await worker.stop();
    }
  });

  it('labels its log lines with the run, configuration and organisation, and counts the outcome in metrics', async () => {
    const configurationId = await configuration('/outbound/small.csv');
    let finishedLine: (line: Record<string, unknown>) => void = () => {};
    const finished = new Promise<Record<string, unknown>>((resolve) => {
      finishedLine = resolve;
    });
    const logger = pino(
      { level: 'info' },
      {
        write(text: string) {
          const line = JSON.parse(text) as Record<string, unknown>;
          if (line.msg === 'sync run finished') finishedLine(line);
        },
      },
    );
    const worker = await startWorker({
      databaseUrl: database.url,
      logger,
      secretKey,
      allowList: LOOPBACK,
      http: { host: '127.0.0.1', port: 0, limits: { maxQueue: 1000, maxQueuedWaitSeconds: 600 } },
    });
    try {
      const { runId } = await triggerRun(orm, boss, configurationId, 'manual');
      const line = await finished;
      expect(line).toMatchObject({ runId, configurationId, organisationId });
      // Success alone, or Needs Attention where an earlier test's configuration holds the same people.
      const { status } = await runRow(runId);
      expect(['success', 'needs_attention']).toContain(status);
      expect(line.status).toBe(status);
      const metrics = await (await fetch(`${worker.httpUrl}/metrics`)).text();
      expect(metrics).toContain(`provisioning_runs_finished_total{status="${status}",connector="sftp"} 1`);
      for (const phase of ['load', 'plan', 'apply']) {
        expect(metrics).toContain(
          `provisioning_run_phase_seconds_count{connector="sftp",phase="${phase}"} 1`,
        );
      }
    } finally {
      await worker.stop();
    }
  });

  it('labels the lines of a run whose source does not answer, the worker\'s "job failed" line included', async () => {
    const gone = await startSftpServer({ root, username: 'acme', password: 'sftp-password' });
    await gone.stop();
    const configurationId = await configuration('/outbound/small.csv', { server: gone });
    const lines: Record<string, unknown>[] = [];
    let jobFailed: () => void = () => {};
    const failed = new Promise<void>((resolve) => {
      jobFailed = resolve;
    });
    const logger = pino(
      { level: 'info' },
      {
        write(text: string) {
          const line = JSON.parse(text) as Record<string, unknown>;
          lines.push({ ...line, text });
          if (line.msg === 'job failed') jobFailed();
        },
      },
    );
    const worker = await startWorker({ databaseUrl: database.url, logger, secretKey, allowList: LOOPBACK });
    let runId = '';
    try {
      ({ runId } = await triggerRun(orm, boss, configurationId, 'manual'));
      await failed;
    } finally {
      await worker.stop();
    }
    // Its retry would otherwise sync when a later test's worker takes it.
    expect(['cancelled', 'cancel_requested']).toContain(await requestCancel(orm.em.fork(), runId));
    const aboutTheRun = lines.filter((line) => line.queue === 'sync-run');
    expect(aboutTheRun.map((line) => line.msg)).toEqual([
      'source unavailable; pg-boss retries with backoff',
      'job failed',
    ]);
    for (const line of aboutTheRun) {
      expect(line).toMatchObject({ runId, configurationId, organisationId, connector: 'sftp' });
      // Each label once: pino writes a binding given again as a field as a repeated key.
      expect((line.text as string).match(/"runId"/g)).toHaveLength(1);
    }
  });

  it('shares the runs of several configurations between two worker processes side by side', async () => {
    const organisation = await createOrganisation(orm.em.fork(), {
      name: 'Two Workers Ltd',
      timeZone: 'UTC',
      provisioningEnabled: true,
      syncService: 'user-sync',
    });
    await writeHrCsv(join(root, 'outbound', 'side-by-side.csv'), { rows: 40, seed: 4 });
    const configurations = await Promise.all(
      [1, 2, 3, 4].map(() => configuration('/outbound/side-by-side.csv', { organisation: organisation.id })),
    );
    const workers = await Promise.all([startTestWorker(), startTestWorker()]);
    try {
      const runs = [];
      for (const id of configurations) runs.push((await triggerRun(orm, boss, id, 'manual')).runId);
      const finished = await Promise.all(
        runs.map((runId) =>
          until(
            () => runRow(runId),
            (r) => r.status !== 'queued' && r.status !== 'in_progress',
          ),
        ),
      );
      // The first to apply creates the 40 users; the others find them managed by it and skip them. Applies of
      // one organisation take turns, and a plan made before another's apply is made again, not failed.
      expect(finished.map((r) => r.status).sort()).toEqual([
        'needs_attention',
        'needs_attention',
        'needs_attention',
        'success',
      ]);
      expect(finished.map((r) => r.attempt)).toEqual([1, 1, 1, 1]);
      const [warning] = await sql<{ message: string }>(
        `select message from sync_log where run_id in (?) and action = 'skip' limit 1`,
        [runs],
      );
      expect(warning?.message).toMatch(/belongs to a user managed by configuration "Feed \d+"/);
    } finally {
      await Promise.all(workers.map((worker) => worker.stop()));
    }
  });

  it('runs one sync at a time in a worker process by default (SYNC_RUN_CONCURRENCY)', async () => {
    // A run plans in JavaScript on the process's one thread: two at once in one process share a core.
    await writeHrCsv(join(root, 'outbound', 'one-at-a-time.csv'), { rows: 40, seed: 5 });
    const organisation = await createOrganisation(orm.em.fork(), {
      name: 'One At A Time Ltd',
      timeZone: 'UTC',
      provisioningEnabled: true,
      syncService: 'user-sync',
    });
    const configurations = await Promise.all(
      [1, 2, 3].map(() => configuration('/outbound/one-at-a-time.csv', { organisation: organisation.id })),
    );
    const worker = await startTestWorker();
    let rows: { started: number; finished: number }[];
    try {
      const runs = [];
      for (const id of configurations) runs.push((await triggerRun(orm, boss, id, 'manual')).runId);
      await Promise.all(
        runs.map((runId) =>
          until(
            () => runRow(runId),
            (r) => r.status !== 'queued' && r.status !== 'in_progress',
          ),
        ),
      );
      rows = await sql<{ started: number; finished: number }>(
        `select extract(epoch from started_at)::float8 as started, extract(epoch from finished_at)::float8 as finished
           from sync_run where id in (?, ?, ?)
           order by started_at`,
        runs,
      );
    } finally {
      await worker.stop();
    }
    // Each run was claimed after the one before it had finished.
    expect(rows.slice(1).filter((row, index) => row.started < rows[index]!.finished)).toEqual([]);
  });

  it('ends as Data Load Failed, writing nothing, when the file is missing', async () => {
    const configurationId = await configuration('/outbound/missing_*.csv');
    const worker = await startTestWorker();
    try {
      const { runId } = await triggerRun(orm, boss, configurationId, 'manual');
      const run = await until(
        () => runRow(runId),
        (r) => r.status !== 'queued' && r.status !== 'in_progress',
      );
      expect(run.status).toBe('data_load_failed');
      expect(run.error_summary).toMatch(/missing_\*\.csv/);
      expect(await usersOf(configurationId)).toBe(0);
    } finally {
      await worker.stop();
    }
  });

  it('joins two triggers of one configuration made at once into one queued run', async () => {
    const configurationId = await configuration('/outbound/small.csv');
    const [a, b] = await Promise.all([
      triggerRun(orm, boss, configurationId, 'manual'),
      triggerRun(orm, boss, configurationId, 'schedule'),
    ]);
    expect(a.runId).toBe(b.runId);
    expect([a.created, b.created].sort()).toEqual([false, true]);
    expect(
      await sql(`select count(*)::int as n from sync_run where configuration_id = ?`, [configurationId]),
    ).toEqual([{ n: 1 }]);
  });

  it('ends every trigger joined or queued while workers keep taking the queued run away', async () => {
    const configurationId = await configuration('/outbound/small.csv');
    let taking = true;
    let taken = 0;
    // What busy workers do to the queued run between a trigger's insert and its look-up: take it.
    const takeQueued = (async () => {
      while (taking) {
        const rows = await sql(
          `update sync_run set status = 'cancelled', finished_at = now()
           where configuration_id = ? and status = 'queued' returning id`,
          [configurationId],
        );
        taken += rows.length;
      }
    })();
    const triggers = await Promise.allSettled(
      Array.from({ length: 160 }, () => triggerRun(orm, boss, configurationId, 'manual')),
    );
    taking = false;
    await takeQueued;
    expect(triggers.filter((trigger) => trigger.status === 'rejected')).toEqual([]);
    expect(taken).toBeGreaterThan(0);
    await sql(`update sync_run set status = 'cancelled' where configuration_id = ? and status = 'queued'`, [
      configurationId,
    ]);
    // A worker polls a job at most every 2 s per slot (pg-boss's interval): the jobs of these many cancelled
    // runs would keep the next test's worker busy for minutes.
    await sql(
      `delete from pgboss.job where name = 'sync-run'
       and data->>'runId' in (select id::text from sync_run where configuration_id = ?)`,
      [configurationId],
    );
  });

  it('lets no second run of a configuration start while one is in progress', async () => {
    const configurationId = await configuration('/outbound/small.csv');
    const first = await triggerRun(orm, boss, configurationId, 'manual');
    await sql(
      `update sync_run set status = 'in_progress', started_at = now(), heartbeat_at = now() where id = ?`,
      [first.runId],
    );
    const second = await triggerRun(orm, boss, configurationId, 'manual');
    expect(second.runId).not.toBe(first.runId);
    // What a second worker does with the second run's job: it may not take it while the first runs.
    await expect(
      sql(`update sync_run set status = 'in_progress' where id = ?`, [second.runId]),
    ).rejects.toThrow(/sync_run_one_in_progress_per_configuration/);
    await sql(`update sync_run set status = 'cancelled' where configuration_id = ?`, [configurationId]);
  });
});

describe('a run whose download stalls (the file cut short while it is read)', () => {
  let shrinking: SftpServer;
  let files = 0;
  beforeAll(async () => {
    shrinking = await startSftpServer({
      root,
      username: 'acme',
      password: 'sftp-password',
      truncateAfterBytes: 64 * 1024,
    });
  });
  afterAll(async () => {
    await shrinking?.stop();
  });

  /** A run in progress, its download stuck: the server cut the file short under it. */
  async function stuckRun(): Promise<string> {
    files += 1;
    // The server truncates the file it serves: each run gets a file of its own.
    await writeHrCsv(join(root, 'outbound', `shrinking-${files}.csv`), { rows: 5_000 });
    const configurationId = await configuration(`/outbound/shrinking-${files}.csv`, { server: shrinking });
    const { runId } = await triggerRun(orm, boss, configurationId, 'manual');
    await until(
      () => runRow(runId),
      (r) => r.status === 'in_progress',
    );
    return runId;
  }

  it('is handed back to the queue, not left In Progress, when its worker stops', async () => {
    const worker = await startTestWorker();
    let runId: string;
    try {
      runId = await stuckRun();
    } finally {
      await worker.stop();
    }
    expect(await runRow(runId)).toMatchObject({ status: 'queued', attempt: 1 });
    const jobs = await sql<{ state: string }>(
      `select state from pgboss.job where name = 'sync-run' and data->>'runId' = ? order by created_on`,
      [runId],
    );
    // The first job completed by handing the run back; the second waits for the next worker.
    expect(jobs.map((job) => job.state)).toEqual(['completed', 'created']);
    await sql(`update sync_run set status = 'cancelled' where id = ?`, [runId]);
  });

  it('ends as Cancelled when support cancels it', async () => {
    const worker = await startTestWorker();
    try {
      const runId = await stuckRun();
      expect(await requestCancel(orm.em.fork(), runId)).toBe('cancel_requested');
      const run = await until(
        () => runRow(runId),
        (r) => r.status !== 'in_progress',
      );
      expect(run).toMatchObject({
        status: 'cancelled',
        error_summary: 'Cancelled by support before it was applied',
      });
    } finally {
      await worker.stop();
    }
  });
});

describe('the reaper', () => {
  it('returns a run whose worker stopped heart-beating to the queue with a new job', async () => {
    const configurationId = await configuration('/outbound/small.csv');
    const { runId } = await triggerRun(orm, boss, configurationId, 'manual');
    await sql(
      `update sync_run set status = 'in_progress', attempt = 1, heartbeat_at = now() - interval '10 minutes' where id = ?`,
      [runId],
    );
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (text: string) => lines.push(JSON.parse(text)) });
    const outcomes = await reapStaleRuns(orm, boss, undefined, logger);
    expect(outcomes).toContainEqual({ runId, outcome: 'requeued' });
    expect(lines.filter((line) => line.runId === runId)).toEqual([
      expect.objectContaining({
        msg: 'recovered a run whose worker stopped responding',
        runId,
        configurationId,
        organisationId,
        attempt: 1,
        outcome: 'requeued',
      }),
    ]);
    expect(await runRow(runId)).toMatchObject({ status: 'queued', attempt: 1 });
    expect(
      await sql(`select count(*)::int as n from pgboss.job where name = 'sync-run' and data->>'runId' = ?`, [
        runId,
      ]),
    ).toEqual([{ n: 2 }]);
  });

  it('ends a run as Cancelled with the reason after its last attempt, so nothing stays In Progress', async () => {
    const configurationId = await configuration('/outbound/small.csv');
    const { runId } = await triggerRun(orm, boss, configurationId, 'manual');
    await sql(
      `update sync_run set status = 'in_progress', attempt = 3, heartbeat_at = now() - interval '10 minutes' where id = ?`,
      [runId],
    );
    expect(await reapStaleRuns(orm, boss)).toContainEqual({ runId, outcome: 'cancelled' });
    const run = await runRow(runId);
    expect(run.status).toBe('cancelled');
    expect(run.error_summary).toMatch(/stopped responding on each of 3 attempts/);
  });

  it('leaves a run alone while its worker keeps heart-beating', async () => {
    const configurationId = await configuration('/outbound/small.csv');
    const { runId } = await triggerRun(orm, boss, configurationId, 'manual');
    await sql(`update sync_run set status = 'in_progress', attempt = 1, heartbeat_at = now() where id = ?`, [
      runId,
    ]);
    expect((await reapStaleRuns(orm, boss)).map((o) => o.runId)).not.toContain(runId);
    await sql(`update sync_run set status = 'cancelled' where id = ?`, [runId]);
  });
});

describe('the scheduler', () => {
  it('queues runs of enabled configurations whose cron is due in their time zone, and no others', async () => {
    await sql(`update sync_configuration set enabled = false`);
    const everyMinute = await configuration('/outbound/small.csv', { schedule: '* * * * *' });
    const londonTwoAm = await configuration('/outbound/small.csv', { schedule: '0 2 * * *' });
    const disabled = await configuration('/outbound/small.csv', { schedule: '* * * * *', enabled: false });
    // 01:00 UTC on a July day is 02:00 in London (BST).
    const due = await scheduleDueRuns(orm, boss, new Date('2024-07-01T01:00:00Z'));
    expect(due.sort()).toEqual([everyMinute, londonTwoAm].sort());
    expect(await scheduleDueRuns(orm, boss, new Date('2024-07-01T02:00:00Z'))).toEqual([everyMinute]);
    expect(due).not.toContain(disabled);
    const [run] = await sql<{ trigger: string; status: string }>(
      'select trigger, status from sync_run where configuration_id = ?',
      [londonTwoAm],
    );
    expect(run).toEqual({ trigger: 'schedule', status: 'queued' });
    await sql(`update sync_configuration set schedule = null`);
  });

  it('runs nothing for a saved schedule that no longer reads, and says which configuration and why', async () => {
    await sql(`update sync_configuration set enabled = false`);
    const broken = await configuration('/outbound/small.csv', { schedule: '* * * * *' });
    const fine = await configuration('/outbound/small.csv', { schedule: '* * * * *' });
    // Saved around the CLI's check: a step larger than the minute field.
    await sql(`update sync_configuration set schedule = '*/90 * * * *' where id = ?`, [broken]);
    const warnings: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (text: string) => void warnings.push(JSON.parse(text)) });
    expect(await scheduleDueRuns(orm, boss, new Date('2024-07-01T01:00:00Z'), logger)).toEqual([fine]);
    expect(warnings).toEqual([
      expect.objectContaining({
        configurationId: broken,
        schedule: '*/90 * * * *',
        problem: 'Schedule minute "*/90" is not valid (allowed 0-59)',
      }),
    ]);
    await sql(`update sync_run set status = 'cancelled' where configuration_id = ? and status = 'queued'`, [
      fine,
    ]);
    await sql(`update sync_configuration set schedule = null`);
  });

  it('skips a paused configuration until it is resumed; a manual run of it is still queued', async () => {
    await sql(`update sync_configuration set enabled = false`);
    const paused = await configuration('/outbound/small.csv', { schedule: '* * * * *' });
    const running = await configuration('/outbound/small.csv', { schedule: '* * * * *' });
    await pauseConfiguration(orm.em.fork(), paused, { reason: 'The HR system is being migrated' });
    expect(await scheduleDueRuns(orm, boss, new Date('2024-07-01T01:00:00Z'))).toEqual([running]);

    const manual = await triggerRun(orm, boss, paused, 'manual');
    expect(manual.created).toBe(true);
    expect((await runRow(manual.runId)).status).toBe('queued');

    await resumeConfiguration(orm.em.fork(), paused);
    expect((await scheduleDueRuns(orm, boss, new Date('2024-07-01T01:01:00Z'))).sort()).toEqual(
      [paused, running].sort(),
    );
    await sql(
      `update sync_run set status = 'cancelled' where configuration_id in (?, ?) and status = 'queued'`,
      [paused, running],
    );
    await sql(`update sync_configuration set schedule = null`);
  });
});

describe('crash safety', () => {
  it('leaves the directory untouched when the worker is killed mid-apply, recovers the run, and converges on rerun', async () => {
    // An organisation of its own: earlier tests' users hold some of the same emails in Acme.
    const organisation = await createOrganisation(orm.em.fork(), {
      name: 'Crash Test Ltd',
      timeZone: 'UTC',
      provisioningEnabled: true,
      syncService: 'user-sync',
    });
    const configurationId = await configuration('/outbound/big.csv', { organisation: organisation.id });
    // Runs that earlier tests left queued would be taken first by the new worker, and their writes would look
    // like this run's apply; cancelled, their jobs end without writing.
    await sql(`update sync_run set status = 'cancelled' where status in ('queued', 'in_progress')`);
    // node itself runs the worker (tsx as a loader, not as a wrapper process), so SIGKILL hits the worker.
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: appDirectory,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        PROVISIONING_SECRET_KEY: secretKey.toString('base64'),
        CONNECTOR_ALLOWED_HOSTS: '127.0.0.1/32',
        LOG_LEVEL: 'warn',
        // Test files run side by side: the health endpoints on a free port, not the default one.
        WORKER_HTTP_PORT: '0',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    const { runId } = await triggerRun(orm, boss, configurationId, 'manual');
    // The apply transaction is writing: the worker's connection is inserting into the directory or the log.
    await until(
      () =>
        sql<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity
           where datname = current_database() and state = 'active'
             and query ~ '^(insert into|copy) (directory_user|sync_log_chunk) '
             and exists (select 1 from sync_run where id = ? and status = 'in_progress')`,
          [runId],
        ),
      (rows) => (rows[0]?.n ?? 0) > 0,
      120_000,
    );
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    expect(await usersOf(configurationId)).toBe(0);
    expect(await sql('select count(*)::int as n from sync_log where run_id = ?', [runId])).toEqual([
      { n: 0 },
    ]);
    expect(await runRow(runId)).toMatchObject({ status: 'in_progress', attempt: 1 });

    // The reaper finds the silent run (here without waiting the production 90 s) and queues it again.
    expect(await reapStaleRuns(orm, boss, 0)).toContainEqual({ runId, outcome: 'requeued' });
    const worker: RunningWorker = await startTestWorker();
    try {
      const run = await until(
        () => runRow(runId),
        (r) => r.status !== 'queued' && r.status !== 'in_progress',
        120_000,
      );
      const warnings = await sql<{ message: string }>(
        `select message from sync_log where run_id = ? and outcome <> 'applied' limit 3`,
        [runId],
      );
      expect(warnings).toEqual([]);
      expect(run).toMatchObject({ status: 'success', attempt: 2 });
      expect(await usersOf(configurationId)).toBe(BIG);
    } finally {
      await worker.stop();
    }
  }, 240_000);
});
