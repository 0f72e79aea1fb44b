import { serve } from '@hono/node-server';
import { createOrm, migrate } from '@provisioning/db';
import { pino } from 'pino';
import { createApp } from './app.ts';
import { readEnv } from './env.ts';

/** How long open requests get to finish on shutdown before the process exits anyway. */
const SHUTDOWN_TIMEOUT_MS = 10_000;

const env = readEnv();

const logger = pino({ level: env.LOG_LEVEL, base: { service: 'api' } });

let orm: Awaited<ReturnType<typeof createOrm>>;
try {
  orm = await createOrm({ databaseUrl: env.DATABASE_URL });
  const applied = await migrate(orm);
  logger.info(
    { migrations: applied },
    applied.length > 0 ? `applied ${applied.length} migration(s)` : 'database schema is up to date',
  );
} catch (error) {
  logger.fatal({ err: error }, 'API failed to start: could not connect to or migrate the database');
  process.exit(1);
}

const app = createApp({ orm, logger });
const server = serve({ fetch: app.fetch, hostname: env.HOST, port: env.PORT }, (address) => {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info({ url: `http://${host}:${address.port}` }, `API listening on http://${host}:${address.port}`);
});
server.on('error', (error) => {
  logger.fatal({ err: error }, 'API failed to listen');
  process.exit(1);
});

let shuttingDown = false;
function shutdown(signal: NodeJS.Signals) {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info({ signal }, 'shutting down');
  setTimeout(() => {
    logger.error('open requests did not finish in time; exiting');
    process.exit(1);
  }, SHUTDOWN_TIMEOUT_MS).unref();
  // Stop accepting connections and let open requests finish, then release the database.
  server.close(async (closeError) => {
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
