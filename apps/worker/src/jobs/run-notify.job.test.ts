import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  createBoss,
  ensureQueues,
  finishCancelled,
  type Orm,
  sendRunNotifyJob,
  sql,
  triggerRun,
} from '@provisioning/db';
import {
  createMigratedTestOrm,
  type MigratedTestOrm,
  seedConfiguration,
  seedOrganisation,
  seedRun,
  seedSlackInstallation,
} from '@provisioning/db/testing';
import { CIRCUIT_MESSAGE_EVENT, notifyRun } from '@provisioning/slack';
import { type FakeSlack, startSlackServer } from '@provisioning/testkit';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../worker.ts';
import { runNotifyJob } from './run-notify.job.ts';
import { syncRunJob } from './sync-run.job.ts';

const secretKey = randomBytes(32);
const appDirectory = fileURLToPath(new URL('../..', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
let database: MigratedTestOrm;
let orm: Orm;
let slack: FakeSlack;
let organisationId: string;
let configurations = 0;

beforeAll(async () => {
  database = await createMigratedTestOrm('run_notify_job');
  orm = database.orm;
  slack = await startSlackServer({
    teams: [{ id: 'T0ACME', token: 'xoxb-acme-token-0000', channels: ['C0RUNS'] }],
  });
  organisationId = (await seedOrganisation(orm, { name: 'Acme', roles: [] })).id;
  await seedSlackInstallation(orm, secretKey, {
    organisationId,
    teamId: 'T0ACME',
    botToken: 'xoxb-acme-token-0000',
  });
});

afterAll(async () => {
  await slack?.stop();
  await database?.close();
});

/** A run of a configuration of its own, ended as Cancelled the way the reaper ends it (no job sent). */
async function cancelledRun(): Promise<string> {
  configurations += 1;
  const configurationId = await seedConfiguration(orm, organisationId, `HR ${configurations}`);
  const runId = await seedRun(orm, {
    organisationId,
    configurationId,
    status: 'in_progress',
    startedAt: new Date(),
  });
  await sql(orm.em.fork(), 'update sync_run set attempt = 1 where id = ?', [runId]);
  await finishCancelled(orm.em.fork(), runId, 1, 'The worker stopped responding');
  return runId;
}

const messagesOf = (runId: string) =>
  slack.messages.filter((m) => m.metadata?.event_payload.run_id === runId);

async function stateOf(runId: string): Promise<string | undefined> {
  const [row] = await sql<{ state: string }>(
    orm.em.fork(),
    'select state from run_notification where run_id = ?',
    [runId],
  );
  return row?.state;
}

describe('the run-notify job', () => {
  it('posts a run ended without a job (the reaper’s) once the sweep finds it a minute later', async () => {
    const runId = await cancelledRun();
    await sql(
      orm.em.fork(),
      `update run_notification set created_at = now() - interval '2 minutes' where run_id = ?`,
      [runId],
    );
    const worker = await startWorker({
      databaseUrl: database.url,
      logger: pino({ level: 'silent' }),
      secretKey,
      concurrency: 1,
      slack: { apiUrl: slack.apiUrl, publicWebUrl: 'https://admin.acme.example' },
    });
    const boss = createBoss(database.url, { max: 2, supervise: false, schedule: false });
    await boss.start();
    try {
      // The sweep's minute, now rather than at pg-boss's next cron tick.
      await ensureQueues(boss);
      await boss.send('run-notify-sweep', {});
      await slack.until(() => messagesOf(runId).length === 1);
    } finally {
      await boss.stop({ graceful: false });
      // Waits for the job in progress, which records the message.
      await worker.stop();
    }
    expect(await stateOf(runId)).toBe('sent');
  });

  it('posts the outcome as soon as the sync-run job ends the run, without waiting for the sweep', async () => {
    configurations += 1;
    // Never given settings: the load fails at once (Data Load Failed), which the policy always posts.
    const configurationId = await seedConfiguration(orm, organisationId, `HR ${configurations}`);
    // The sweep is not among the jobs: only the send after runSync can post this message.
    const lines: { line: Record<string, unknown>; text: string }[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (text: string) => lines.push({ line: JSON.parse(text), text }) },
    );
    const worker = await startWorker({
      databaseUrl: database.url,
      logger,
      secretKey,
      concurrency: 1,
      jobs: [syncRunJob, runNotifyJob],
      slack: { apiUrl: slack.apiUrl, publicWebUrl: 'https://admin.acme.example' },
    });
    const boss = createBoss(database.url, { max: 2, supervise: false, schedule: false });
    await boss.start();
    let runId = '';
    try {
      ({ runId } = await triggerRun(orm, boss, configurationId, 'manual'));
      await slack.until(() => messagesOf(runId).length === 1);
      const [run] = await sql<{ status: string }>(orm.em.fork(), 'select status from sync_run where id = ?', [
        runId,
      ]);
      expect(run?.status).toBe('data_load_failed');
    } finally {
      await boss.stop({ graceful: false });
      await worker.stop();
    }
    // Every line either job wrote about the run names it, its configuration and organisation, once each.
    const aboutTheRun = lines.filter(({ line }) => line.queue === 'sync-run' || line.queue === 'run-notify');
    expect(aboutTheRun.map(({ line }) => line.msg)).toEqual(['sync run finished', 'run notification sent']);
    for (const { line, text } of aboutTheRun) {
      expect(line).toMatchObject({ runId, configurationId, organisationId });
      expect(text.match(/"runId"/g)).toHaveLength(1);
    }
  });

  it('posts the circuit message beside the outcome when a run reaches the pause, both from the one job', async () => {
    configurations += 1;
    // Never given settings: the load fails at once (Data Load Failed); one failure is the alert and the pause.
    const configurationId = await seedConfiguration(orm, organisationId, `HR ${configurations}`);
    await sql(
      orm.em.fork(),
      'update sync_configuration set alert_after_failures = 1, pause_after_failures = 1 where id = ?',
      [configurationId],
    );
    const worker = await startWorker({
      databaseUrl: database.url,
      logger: pino({ level: 'silent' }),
      secretKey,
      concurrency: 1,
      jobs: [syncRunJob, runNotifyJob],
      slack: { apiUrl: slack.apiUrl, publicWebUrl: 'https://admin.acme.example' },
    });
    const boss = createBoss(database.url, { max: 2, supervise: false, schedule: false });
    await boss.start();
    let runId = '';
    try {
      ({ runId } = await triggerRun(orm, boss, configurationId, 'manual'));
      await slack.until(() => messagesOf(runId).length === 2);
    } finally {
      await boss.stop({ graceful: false });
      await worker.stop();
    }
    const circuit = messagesOf(runId).find((m) => m.metadata?.event_type === CIRCUIT_MESSAGE_EVENT);
    expect(circuit?.text).toContain(`Paused: HR ${configurations} ended Data Load Failed 1 time in a row.`);
    const rows = await sql<{ kind: string; state: string }>(
      orm.em.fork(),
      'select kind, state from run_notification where run_id = ? order by kind',
      [runId],
    );
    expect(rows).toEqual([
      { kind: 'circuit', state: 'sent' },
      { kind: 'run', state: 'sent' },
    ]);
  });

  it('posts once when the worker is killed (kill -9) between posting and recording it', async () => {
    const runId = await cancelledRun();
    // The first worker's post reaches Slack, and the answer never comes back to it.
    slack.fault({ method: 'chat.postMessage', hold: true });
    const { DATABASE_URL: _inherited, ...inherited } = process.env;
    const child: ChildProcessByStdio<null, Readable, Readable> = spawn(tsx, ['src/main.ts'], {
      cwd: appDirectory,
      env: {
        ...inherited,
        LOG_LEVEL: 'info',
        DATABASE_URL: database.url,
        PROVISIONING_SECRET_KEY: secretKey.toString('base64'),
        SLACK_API_URL: slack.apiUrl,
        WORKER_CONCURRENCY: '1',
        // Test files run side by side: the health endpoints on a free port, not the default one.
        WORKER_HTTP_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
    const exited = once(child, 'exit');
    try {
      const boss = createBoss(database.url, { max: 2, supervise: false, schedule: false });
      await boss.start();
      await ensureQueues(boss);
      await sendRunNotifyJob(boss, { runId });
      await boss.stop({ graceful: false });
      await slack.until(() => messagesOf(runId).length === 1);
      expect(await stateOf(runId)).toBe('sending');
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // It said, once, that Slack's requests are not received (no signing secret), and went on working.
    expect(lines.filter((line) => line.includes('Slack is not configured'))).toHaveLength(1);

    // The dead worker's lease runs out; the next attempt finds the message instead of posting again.
    await sql(orm.em.fork(), 'update run_notification set retry_at = now() where run_id = ?', [runId]);
    const outcome = await notifyRun(runId, {
      orm,
      secretKey,
      apiUrl: slack.apiUrl,
      publicWebUrl: 'https://admin.acme.example',
    });
    expect(outcome).toMatchObject({ kind: 'sent', recovered: true });
    expect(messagesOf(runId)).toHaveLength(1);
    expect(await stateOf(runId)).toBe('sent');
  }, 120_000);
});
