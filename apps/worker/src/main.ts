import { parseSecretKey } from '@provisioning/db';
import { loggerOptions } from '@provisioning/shared';
import { pino } from 'pino';
import { readEnv } from './env.ts';
import { type RunningWorker, startWorker } from './worker.ts';

const env = readEnv();

const DEFAULT_WORKER_HTTP_PORT = 3002;

const logger = pino(loggerOptions('worker', env.LOG_LEVEL));

let worker: RunningWorker;
try {
  worker = await startWorker({
    databaseUrl: env.DATABASE_URL,
    logger,
    secretKey: parseSecretKey(env.PROVISIONING_SECRET_KEY),
    concurrency: env.WORKER_CONCURRENCY,
    runConcurrency: env.SYNC_RUN_CONCURRENCY,
    allowList: env.CONNECTOR_ALLOWED_HOSTS,
    runStaleAfterSeconds: env.RUN_STALE_AFTER_SECONDS,
    http: {
      host: env.WORKER_HTTP_HOST,
      port: env.WORKER_HTTP_PORT ?? DEFAULT_WORKER_HTTP_PORT,
      fallbackToFreePort: env.WORKER_HTTP_PORT === undefined,
      metricsToken: env.METRICS_TOKEN,
      limits: { maxQueue: env.READY_MAX_QUEUE, maxQueuedWaitSeconds: env.READY_MAX_QUEUED_WAIT_SECONDS },
    },
    slack: { apiUrl: env.SLACK_API_URL, publicWebUrl: env.PUBLIC_WEB_URL },
    ...(env.SLACK_SIGNING_SECRET
      ? { slackReceiver: { port: env.SLACK_PORT, signingSecret: env.SLACK_SIGNING_SECRET } }
      : {}),
  });
} catch (error) {
  logger.fatal({ err: error }, 'worker failed to start');
  process.exit(1);
}

let stopping = false;
function shutdown(signal: NodeJS.Signals) {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting without waiting for jobs in progress');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'stopping worker');
  worker.stop().then(
    () => {
      logger.info('worker stopped');
      process.exit(0);
    },
    (error: unknown) => {
      logger.error({ err: error }, 'worker did not stop cleanly');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
