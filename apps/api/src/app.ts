import type { Orm } from '@provisioning/db';
import { Hono, type MiddlewareHandler } from 'hono';
import { type RequestIdVariables, requestId } from 'hono/request-id';
import type { Logger } from 'pino';

export interface AppDependencies {
  orm: Orm;
  logger: Logger;
}

export type AppEnv = { Variables: RequestIdVariables & { logger: Logger } };

/** A readiness probe that hangs is as bad as a failed one: give up after this long. */
const READINESS_TIMEOUT_MS = 3_000;

export function createApp({ orm, logger }: AppDependencies) {
  const app = new Hono<AppEnv>();

  // An incoming ID is kept only if it is a short token of [A-Za-z0-9_=-], so it is safe to log and echo.
  app.use(requestId({ limitLength: 64 }));
  app.use(requestLog(logger));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    try {
      await withTimeout(orm.em.getConnection().execute('select 1'), READINESS_TIMEOUT_MS);
      return c.json({ status: 'ready' });
    } catch (error) {
      c.var.logger.warn({ err: error }, 'readiness check failed: database unreachable');
      return c.json({ status: 'unavailable', error: 'database unreachable' }, 503);
    }
  });

  app.notFound((c) => c.json({ error: 'not found' }, 404));

  app.onError((error, c) => {
    c.var.logger.error({ err: error }, 'unhandled error');
    return c.json({ error: 'internal error' }, 500);
  });

  return app;
}

/** One structured line per request, and a per-request child logger for handlers. */
function requestLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const log = logger.child({ requestId: c.var.requestId });
    c.set('logger', log);
    await next();
    const status = c.res.status;
    // The path only: query strings may carry tokens.
    const fields = {
      method: c.req.method,
      path: c.req.path,
      status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    };
    if (status >= 500) log.error(fields, 'request failed');
    else log.info(fields, 'request completed');
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
