import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import { API_DATABASE_ROLE, createOrm, migrate, type Orm, sql } from '@provisioning/db';
import { loggerOptions } from '@provisioning/shared';
import { pino } from 'pino';
import { createApp } from './app.ts';
import { readEnv } from './env.ts';
import { DownloadSlots } from './http/download-slots.ts';
import { LoginRateLimiter } from './login-rate-limit.ts';
import { RunChangeFeed } from './run-change-feed.ts';

const env = readEnv();

const logger = pino(loggerOptions('api', env.LOG_LEVEL));

let orm: Orm;
try {
  // Migrations run as the database owner; requests then run as the API's own role, which row-level
  // security applies to.
  const owner = await createOrm({ databaseUrl: env.DATABASE_URL, poolSize: 1 });
  const applied = await migrate(owner).finally(() => owner.close());
  logger.info(
    { migrations: applied },
    applied.length > 0 ? `applied ${applied.length} migration(s)` : 'database schema is up to date',
  );
  orm = await createOrm({
    databaseUrl: env.DATABASE_URL,
    ...(env.DATABASE_SHARED_SESSION ? {} : { role: API_DATABASE_ROLE }),
  });
  await sql(orm.em, 'select 1');
} catch (error) {
  logger.fatal({ err: error }, 'API failed to start: could not connect to or migrate the database');
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
