import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import {
  API_DATABASE_ROLE,
  API_LOGIN_ROLE,
  apiLoginProblem,
  createOrm,
  type Orm,
  pendingMigrations,
} from '@provisioning/db';
import { loggerOptions } from '@provisioning/shared';
import { pino } from 'pino';
import { createApp } from './app.ts';
import { readEnv } from './env.ts';
import { DownloadSlots } from './http/download-slots.ts';
import { LoginRateLimiter } from './login-rate-limit.ts';
import { RunChangeFeed } from './run-change-feed.ts';

const env = readEnv();

/**
 * Why the API must not serve from this database, or null: a login that could escape row-level security,
 * or a schema older than this code. On the embedded database (one shared session, `pnpm start` only)
 * the login is the owner's: there the role is switched per transaction instead.
 */
async function startUpRefusal(orm: Orm, sharedSession: boolean): Promise<string | null> {
  const problem = sharedSession ? null : await apiLoginProblem(orm);
  if (problem) {
    return (
      `API refused to start: DATABASE_URL must log in as a role that holds only ${API_DATABASE_ROLE}, ` +
      `and ${problem}. Create one as the owner (e.g. create role ${API_LOGIN_ROLE} login password '...'; ` +
      `grant ${API_DATABASE_ROLE} to ${API_LOGIN_ROLE};) and give the API its URL: see "Database roles" in the README.`
    );
  }
  const pending = await pendingMigrations(orm);
  if (pending.length === 0) return null;
  return (
    `API refused to start: the database schema is ${pending.length} migration(s) behind this code ` +
    `(${pending.at(-1)} is missing). Migrate it with the owner's connection first: ` +
    '`pnpm provisioning migrate`, or start the worker, which migrates as it starts.'
  );
}

const logger = pino(loggerOptions('api', env.LOG_LEVEL));

let orm: Orm;
try {
  // The API does not migrate: its login holds only the API's role, which row-level security applies to.
  // The worker and `pnpm provisioning migrate` migrate, with the owner's connection.
  orm = await createOrm({
    databaseUrl: env.DATABASE_URL,
    logger,
    ...(env.DATABASE_SHARED_SESSION ? {} : { role: API_DATABASE_ROLE }),
  });
} catch (error) {
  logger.fatal({ err: error }, 'API failed to start: could not connect to the database');
  process.exit(1);
}
const refusal = await startUpRefusal(orm, env.DATABASE_SHARED_SESSION).catch((error: unknown) => {
  logger.fatal({ err: error }, 'API failed to start: could not read the database');
  return process.exit(1);
});
if (refusal) {
  logger.fatal(refusal);
  process.exit(1);
}

const changeFeed = new RunChangeFeed({
  databaseUrl: env.DATABASE_URL,
  logger,
  fallbackPollIntervalMs: env.LIVE_POLL_INTERVAL_MS,
});
await changeFeed.start();

const app = createApp({
  orm,
  logger,
  changeFeed,
  loginLimiter: new LoginRateLimiter(),
  trustedOrigins: env.TRUSTED_ORIGINS,
  trustProxy: env.TRUST_PROXY,
  trustedProxyHops: env.TRUSTED_PROXY_HOPS,
  liveAccessCheckIntervalMs: env.LIVE_ACCESS_CHECK_INTERVAL_MS,
  downloadSlots: new DownloadSlots({
    perSession: env.LOG_DOWNLOADS_PER_SESSION,
    perProcess: env.LOG_DOWNLOADS_PER_PROCESS,
  }),
  downloadStallTimeoutMs: env.LOG_DOWNLOAD_STALL_TIMEOUT_MS,
  metricsToken: env.METRICS_TOKEN,
  // In production the API serves the built page itself, from the same origin.
  webDistDir:
    env.NODE_ENV === 'production' ? fileURLToPath(new URL('../../web/dist', import.meta.url)) : null,
});
const server = serve({ fetch: app.fetch, hostname: env.HOST, port: env.PORT }, (address) => {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info({ url: `http://${host}:${address.port}` }, `API listening on http://${host}:${address.port}`);
});
server.on('error', (error) => {
  logger.fatal({ err: error }, 'API failed to listen');
  process.exit(1);
});

function closeIdleConnections(server: ServerType) {
  if ('closeIdleConnections' in server) server.closeIdleConnections();
}

let shuttingDown = false;
function shutdown(signal: NodeJS.Signals) {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info({ signal }, 'shutting down');
  setTimeout(() => {
    logger.error('open requests did not finish in time; exiting');
    process.exit(1);
  }, env.SHUTDOWN_TIMEOUT_MS).unref();
  // End the live views (their responses never finish on their own), stop accepting connections and
  // let open requests finish, then release the database. `close` drops the connections idle at that
  // moment only: the sweep also drops those whose request ends later (an ended live view), which a
  // browser would otherwise keep open for seconds.
  void changeFeed.close();
  const sweep = setInterval(() => closeIdleConnections(server), 50);
  server.close(async (closeError) => {
    clearInterval(sweep);
    if (closeError) logger.error({ err: closeError }, 'error while closing the server');
    try {
      await orm.close();
    } catch (error) {
      logger.error({ err: error }, 'error while closing the database connections');
      process.exit(1);
    }
    logger.info('API stopped');
    process.exit(0);
  });
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
