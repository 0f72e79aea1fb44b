import { createBoss, createOrm, ensureQueues, migrate, type Orm, runsInProgress } from '@provisioning/db';
import { JOB_NAMES, QUEUE_OPTIONS, RUN_STALE_AFTER_SECONDS } from '@provisioning/shared';
import { type AllowList, parseAllowList, removeLeftoverDownloads } from '@provisioning/sync';
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import { type HealthServer, type ReadinessLimits, startHealthServer } from './http/health-server.ts';
import { JOBS } from './jobs/index.ts';
import type { JobDefinition, SlackSettings } from './jobs/job-definition.ts';
import { createWorkerMetrics, type WorkerMetrics } from './metrics.ts';
import { type RunningSlackReceiver, startSlackReceiver } from './slack/slack-receiver.ts';

export interface WorkerOptions {
  databaseUrl: string;
  logger: Logger;
  secretKey: Buffer;
  /** Jobs of each queue worked on at once by this process, except sync runs (runConcurrency). */
  concurrency?: number;
  /**
   * Sync runs this process works on at once (SYNC_RUN_CONCURRENCY), default 1: a run reads, checks and
   * plans in JavaScript on the process's one thread, so two runs in one process take turns on one core
   * and each takes about twice as long. More runs at once come from more worker processes, one per core.
   */
  runConcurrency?: number;
  /** Non-public hosts connectors may reach; default: public addresses only. */
  allowList?: AllowList;
  jobs?: readonly JobDefinition[];
  /** Seconds without a heartbeat after which the reaper takes a run back (RUN_STALE_AFTER_SECONDS). */
  runStaleAfterSeconds?: number;
  /** SLACK_API_URL and PUBLIC_WEB_URL; by default Slack's API and a local admin panel. */
  slack?: SlackSettings;
  /** Where Slack's requests are received (SLACK_PORT, SLACK_SIGNING_SECRET); absent: not received. */
  slackReceiver?: { port: number; host?: string; signingSecret: string };
  /** The worker's /healthz, /readyz and /metrics; none when absent. */
  http?: {
    host: string;
    port: number;
    /** The port taken (another worker on this machine): serve on a free one instead of failing. */
    fallbackToFreePort?: boolean;
    metricsToken?: string;
    limits: ReadinessLimits;
  };
}

const DEFAULT_SLACK: SlackSettings = {
  apiUrl: 'https://slack.com/api/',
  publicWebUrl: 'http://localhost:5173',
};

export interface RunningWorker {
  /** The Slack receiver's address, when it runs. */
  slackUrl: string | null;
  /** Where /healthz, /readyz and /metrics answer, when the worker serves them. */
  httpUrl: string | null;
  /** Stops fetching jobs, waits for jobs in progress, then closes the database connections. */
  stop(): Promise<void>;
}

export async function startWorker({
  databaseUrl,
  logger,
  secretKey,
  concurrency = 2,
  runConcurrency = 1,
  jobs = JOBS,
  runStaleAfterSeconds = RUN_STALE_AFTER_SECONDS,
  allowList = parseAllowList(undefined),
  http,
  slack = DEFAULT_SLACK,
  slackReceiver,
}: WorkerOptions): Promise<RunningWorker> {
  const orm = await createOrm({ databaseUrl, logger });
  // Told to the jobs when the worker stops, so a run in progress is handed back instead of left behind.
  const stopping = new AbortController();
  let boss: PgBoss | undefined;
  let healthServer: HealthServer | undefined;
  let receiver: RunningSlackReceiver | undefined;
  try {
    const applied = await migrate(orm);
    logger.info(
      { migrations: applied },
      applied.length > 0 ? `applied ${applied.length} migration(s)` : 'database schema is up to date',
    );

    const removed = await removeLeftoverDownloads((runIds) => runsInProgress(orm.em.fork(), runIds));
    if (removed.length > 0) logger.info({ folders: removed }, 'removed downloads left by stopped runs');

    boss = createBoss(databaseUrl, { max: Math.max(concurrency, runConcurrency) + 4 });
    boss.on('error', (error) => logger.error({ err: error }, 'pg-boss error'));
    // Creates or upgrades the pgboss schema, under pg-boss's own advisory lock.
    await boss.start();
    // The product's queues, and those of any job list a test passes in.
    const queues = { ...QUEUE_OPTIONS, ...Object.fromEntries(jobs.map((job) => [job.name, job.queue])) };
    await ensureQueues(boss, queues);
    const metrics = createWorkerMetrics({
      orm,
      boss,
      queues: Object.keys(queues),
      staleAfterSeconds: runStaleAfterSeconds,
    });

    for (const job of jobs) {
      await registerJob(boss, job, {
        orm,
        logger,
        concurrency: job.name === JOB_NAMES.syncRun ? runConcurrency : concurrency,
        secretKey,
        allowList,
        runStaleAfterSeconds,
        signal: stopping.signal,
        metrics,
        slack,
      });
    }
    if (slackReceiver) {
      receiver = await startSlackReceiver({ ...slackReceiver, orm, boss, secretKey, logger });
    } else {
      logger.info(
        'Slack is not configured (SLACK_SIGNING_SECRET is not set): /sync-logs and the log buttons are off. Run outcomes are still posted to workspaces connected with `slack connect`.',
      );
    }
    if (http) {
      healthServer = await startHealthServer({ ...http, orm, boss, metrics, logger });
      logger.info({ url: healthServer.url }, `worker health and metrics on ${healthServer.url}`);
    }
  } catch (error) {
    await receiver?.stop();
    await healthServer?.close();
    await boss?.stop({ graceful: false });
    await orm.close();
    throw error;
  }
  logger.info({ queues: jobs.map((job) => job.name), concurrency, runConcurrency }, 'worker ready');

  const running = boss;
  let stopped: Promise<void> | undefined;
  const health = healthServer;
  const slackServer = receiver;
  return {
    httpUrl: health?.url ?? null,
    slackUrl: slackServer?.url ?? null,
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await health?.close();
        await slackServer?.stop();
        // wait: true resolves once jobs in progress have finished (or pg-boss's 30 s timeout has passed).
        await running.stop({ graceful: true, wait: true });
        await orm.close();
      })();
      return stopped;
    },
  };
}

async function registerJob(
  boss: PgBoss,
  job: JobDefinition,
  {
    orm,
    logger,
    concurrency,
    secretKey,
    allowList,
    runStaleAfterSeconds,
    signal,
    metrics,
    slack,
  }: {
    orm: Orm;
    logger: Logger;
    concurrency: number;
    secretKey: Buffer;
    allowList: AllowList;
    runStaleAfterSeconds: number;
    signal: AbortSignal;
    metrics: WorkerMetrics;
    slack: SlackSettings;
  },
): Promise<void> {
  // pg-boss keeps one schedule per queue and sends it once a minute across all workers.
  if (job.cron) await boss.schedule(job.name, job.cron, {});
  // pg-boss 10 has no per-worker concurrency option: each work() call is one poller taking one job at a time.
  for (let slot = 0; slot < concurrency; slot++) {
    await boss.work(job.name, { includeMetadata: true }, async (batch) => {
      for (const item of batch) {
        const jobLogger = logger.child({ queue: job.name, jobId: item.id });
        try {
          const data = job.payload.parse(item.data);
          await job.handle(data, {
            em: orm.em.fork(),
            orm,
            boss,
            logger: jobLogger,
            secretKey,
            jobId: item.id,
            retryCount: item.retryCount,
            retryLimit: item.retryLimit,
            createdOn: item.createdOn,
            allowList,
            runStaleAfterSeconds,
            signal,
            metrics,
            slack,
          });
        } catch (error) {
          // Rethrown so pg-boss records the failure and applies the queue's retry policy.
          jobLogger.error({ err: error }, 'job failed');
          throw error;
        }
      }
    });
  }
}
