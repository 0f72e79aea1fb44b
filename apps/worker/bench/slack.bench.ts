/**
 * `pnpm bench:slack`: the Slack bot's figures, each beside a bare baseline measured in the same run
 * (absolute times drift on shared machines; the ratio is the figure to watch).
 *
 * 1. A run's final status committed → its message at the (local, fake) Slack: p50/p95, beside a bare
 *    pg-boss send → work round trip on the same worker.
 * 2. `/sync-logs` acknowledged with 50 commands at once: p50/p95, beside a bare node:http handler.
 * 3. `/sync-logs` of a 200k-line log, CSV and XLSX, until the file is at Slack: time and peak RSS of the
 *    process doing it, beside exportRunLog to /dev/null in a process of its own.
 *
 * Needs PostgreSQL (DATABASE_URL's server, else 127.0.0.1:5432). Runs the worker in this process; the
 * 200k-line deliveries run in child processes so their peak RSS is their own.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  confirmSlackLink,
  createBoss,
  createOrm,
  createSlackLinkCode,
  ensureQueues,
  finishCancelled,
  migrate,
  type Orm,
  sendRunNotifyJob,
  sql,
} from '@provisioning/db';
import {
  createTestDatabase,
  insertLogChunksSql,
  seedConfiguration,
  seedOrganisation,
  seedRun,
  seedSlackInstallation,
} from '@provisioning/db/testing';
import type { LogFormat } from '@provisioning/shared';
import { answerSlackCommand } from '@provisioning/slack';
import { exportRunLog } from '@provisioning/sync';
import { type FakeSlack, percentile, startSlackServer } from '@provisioning/testkit';
import { pino } from 'pino';
import { z } from 'zod';
import { JOBS } from '../src/jobs/index.ts';
import { startWorker } from '../src/worker.ts';

const LOG_LINES = 200_000;
const NOTIFY_SAMPLES = 20;
const CONCURRENT_COMMANDS = 50;
const COMMAND_ROUNDS = 4;
const TOKEN = 'xoxb-bench-token-0000';

const ms = (value: number) => `${value.toFixed(1)} ms`;
const ratio = (value: number, baseline: number) => `${(value / baseline).toFixed(2)}×`;

// A child process: deliver one log (or export it to /dev/null), then print its time and peak RSS.
const [mode, ...args] = process.argv.slice(2);
if (mode === '--deliver' || mode === '--export-null') {
  const [databaseUrl, runId, format, apiUrl, secretKeyHex, organisationId] = args as string[];
  const orm = await createOrm({ databaseUrl: databaseUrl!, poolSize: 2 });
  const started = performance.now();
  if (mode === '--deliver') {
    const answer = await answerSlackCommand(
      {
        teamId: 'T0BENCH',
        userId: 'U0ADMIN',
        text: `${runId} ${format}`,
        responseUrl: `${apiUrl!.replace(/api\/$/, '')}response/bench`,
        source: 'command',
      },
      {
        orm,
        secretKey: Buffer.from(secretKeyHex!, 'hex'),
        apiUrl: apiUrl!,
        publicWebUrl: 'http://localhost',
      },
    );
    if (answer.kind !== 'file') throw new Error(`no file: ${answer.text}`);
  } else {
    await exportRunLog({
      em: orm.em.fork(),
      runId: runId!,
      format: format as LogFormat,
      output: createWriteStream('/dev/null'),
      organisationId,
    });
  }
  const elapsed = performance.now() - started;
  await orm.close(true);
  console.log(JSON.stringify({ ms: elapsed, rssMb: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}

const database = await createTestDatabase('bench_slack');
const secretKey = randomBytes(32);
const slack: FakeSlack = await startSlackServer({
  teams: [{ id: 'T0BENCH', token: TOKEN, channels: ['C0RUNS'] }],
});
let orm: Orm | undefined;
try {
  orm = await createOrm({ databaseUrl: database.url, poolSize: 4 });
  await migrate(orm);
  const organisation = await seedOrganisation(orm, { name: 'Bench', roles: ['people-admin'] });
  await seedSlackInstallation(orm, secretKey, {
    organisationId: organisation.id,
    teamId: 'T0BENCH',
    botToken: TOKEN,
    notify: 'all',
  });
  const [admin] = await sql<{ id: string }>(orm.em.fork(), 'select id from account where email = ?', [
    organisation.accounts['people-admin'],
  ]);
  const linkCode = await createSlackLinkCode(orm.em.fork(), {
    organisationId: organisation.id,
    teamId: 'T0BENCH',
    slackUserId: 'U0ADMIN',
  });
  await confirmSlackLink(orm.em.fork(), organisation.id, admin!.id, linkCode);
  const configurationId = await seedConfiguration(orm, organisation.id, 'HR export');

  // The baseline's queue: a job that only says it ran.
  const echoed = new Map<string, () => void>();
  const echo = {
    name: 'bench-echo',
    payload: z.object({ key: z.string() }),
    async handle({ key }: { key: string }) {
      echoed.get(key)?.();
    },
  };
  const worker = await startWorker({
    databaseUrl: database.url,
    logger: pino({ level: 'silent' }),
    secretKey,
    concurrency: 2,
    jobs: [...JOBS, echo as never],
    slack: { apiUrl: slack.apiUrl, publicWebUrl: 'http://localhost:5173' },
    slackReceiver: { port: 0, host: '127.0.0.1', signingSecret: slack.signingSecret },
  });
  const boss = createBoss(database.url, { max: 2, supervise: false, schedule: false });
  await boss.start();
  await ensureQueues(boss);

  console.log(`1. commit → message at Slack (${NOTIFY_SAMPLES} runs), beside a bare pg-boss round trip`);
  const notify: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < NOTIFY_SAMPLES; i++) {
    const runId = await seedRun(orm, {
      organisationId: organisation.id,
      configurationId,
      status: 'in_progress',
      startedAt: new Date(),
    });
    await sql(orm.em.fork(), 'update sync_run set attempt = 1 where id = ?', [runId]);
    const started = performance.now();
    await finishCancelled(orm.em.fork(), runId, 1, 'Cancelled for the benchmark');
    // What the sync-run job does once runSync has returned.
    await sendRunNotifyJob(boss, { runId });
    await slack.until(() => slack.messages.some((m) => m.metadata?.event_payload.run_id === runId));
    notify.push(performance.now() - started);

    const key = String(i);
    const done = new Promise<void>((resolve) => echoed.set(key, resolve));
    const sent = performance.now();
    await boss.send('bench-echo', { key });
    await done;
    bare.push(performance.now() - sent);
  }
  const notifyP50 = percentile(notify, 50);
  const notifyP95 = percentile(notify, 95);
  const bareP50 = percentile(bare, 50);
  const bareP95 = percentile(bare, 95);
  console.log(`   notification: p50 ${ms(notifyP50)}, p95 ${ms(notifyP95)}`);
  console.log(`   bare pg-boss: p50 ${ms(bareP50)}, p95 ${ms(bareP95)}`);
  console.log(`   ratio: p50 ${ratio(notifyP50, bareP50)}, p95 ${ratio(notifyP95, bareP95)}`);

  console.log(
    `2. /sync-logs acknowledged, ${CONCURRENT_COMMANDS} at once × ${COMMAND_ROUNDS}, beside bare node:http`,
  );
  const commandsUrl = `${worker.slackUrl}/slack/commands`;
  const acks: number[] = [];
  for (let round = 0; round < COMMAND_ROUNDS; round++) {
    await Promise.all(
      Array.from({ length: CONCURRENT_COMMANDS }, async (_, index) => {
        const started = performance.now();
        // Not linked: the job that follows answers at once, so the acks measure the receiver.
        const sent = await slack.sendCommand(commandsUrl, {
          teamId: 'T0BENCH',
          userId: `U0NOBODY${index}`,
          text: '',
        });
        if (sent.status !== 200) throw new Error(`command answered ${sent.status}`);
        acks.push(performance.now() - started);
      }),
    );
  }
  const bareServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  bareServer.listen(0, '127.0.0.1');
  await once(bareServer, 'listening');
  const bareUrl = `http://127.0.0.1:${(bareServer.address() as AddressInfo).port}/`;
  const bareAcks: number[] = [];
  for (let round = 0; round < COMMAND_ROUNDS; round++) {
    await Promise.all(
      Array.from({ length: CONCURRENT_COMMANDS }, async () => {
        const started = performance.now();
        const response = await fetch(bareUrl, { method: 'POST', body: 'text=' });
        await response.text();
        bareAcks.push(performance.now() - started);
      }),
    );
  }
  bareServer.close();
  const ackP50 = percentile(acks, 50);
  const ackP95 = percentile(acks, 95);
  const bareAckP50 = percentile(bareAcks, 50);
  const bareAckP95 = percentile(bareAcks, 95);
  console.log(`   ack: p50 ${ms(ackP50)}, p95 ${ms(ackP95)} (Slack's limit: 3000 ms)`);
  console.log(`   bare node:http: p50 ${ms(bareAckP50)}, p95 ${ms(bareAckP95)}`);
  console.log(`   ratio: p50 ${ratio(ackP50, bareAckP50)}, p95 ${ratio(ackP95, bareAckP95)}`);

  await boss.stop({ graceful: false });
  await worker.stop();

  console.log(
    `3. /sync-logs of a ${LOG_LINES.toLocaleString('en-GB')}-line log, beside exportRunLog to /dev/null`,
  );
  const bigRun = await seedRun(orm, {
    organisationId: organisation.id,
    configurationId,
    status: 'needs_attention',
    startedAt: '2024-01-15T22:30:00Z',
  });
  await orm.em.fork().execute(
    insertLogChunksSql(`
      select '${bigRun}'::uuid, g, g + 2, 'E' || lpad(g::text, 7, '0'), 'employee.' || g || '@example.com',
        'Employee ' || g, case when g % 10 = 0 then 'update' else 'unchanged' end,
        case when g % 10 = 0 then 'applied' else 'no_change' end,
        case when g % 10 = 0 then jsonb_build_object('job_title', jsonb_build_object('before', 'Engineer', 'after', 'Senior engineer')) end,
        null, null
      from generate_series(1, ${LOG_LINES}) g`),
  );
  const script = fileURLToPath(import.meta.url);
  const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
  // Asynchronous: the fake Slack answering the child's calls lives in this process's event loop.
  const child = async (childMode: string, format: LogFormat): Promise<{ ms: number; rssMb: number }> => {
    const started = spawn(
      tsx,
      [
        script,
        childMode,
        database.url,
        bigRun,
        format,
        slack.apiUrl,
        secretKey.toString('hex'),
        organisation.id,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    started.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    started.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const [code] = await once(started, 'exit');
    const line = stdout.trim().split('\n').at(-1) ?? '';
    if (code !== 0 || !line.startsWith('{')) throw new Error(`child failed: ${stderr}`);
    return JSON.parse(line);
  };
  for (const format of ['csv', 'xlsx'] as const) {
    const delivered = await child('--deliver', format);
    const baseline = await child('--export-null', format);
    const file = slack.files.at(-1)!;
    console.log(
      `   ${format}: ${ms(delivered.ms)}, ${delivered.rssMb.toFixed(0)} MB peak RSS (${(file.length / 1024 ** 2).toFixed(1)} MB file by DM)`,
    );
    console.log(
      `   ${format} exportRunLog → /dev/null: ${ms(baseline.ms)}, ${baseline.rssMb.toFixed(0)} MB peak RSS`,
    );
    console.log(
      `   ${format} ratio: time ${ratio(delivered.ms, baseline.ms)}, RSS ${ratio(delivered.rssMb, baseline.rssMb)}`,
    );
  }
} finally {
  await orm?.close(true);
  await slack.stop();
  await database.drop();
}
