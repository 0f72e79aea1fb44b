import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getConnInfo } from '@hono/node-server/conninfo';
import { serveStatic } from '@hono/node-server/serve-static';
import { trpcServer } from '@hono/trpc-server';
import { sql } from '@provisioning/db';
import { metricsRequestAllowed } from '@provisioning/shared';
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import type { Logger } from 'pino';
import { LIVE_ACCESS_CHECK_INTERVAL_MS_DEFAULT } from './env.ts';
import type { AppEnv } from './http/app-env.ts';
import { DownloadSlots } from './http/download-slots.ts';
import { logDownload } from './http/log-download.ts';
import { type ApiMetrics, createApiMetrics } from './http/metrics.ts';
import { originCheck } from './http/origin-check.ts';
import { requestSignal } from './http/request-signal.ts';
import { sessionMiddleware } from './http/session.ts';
import { LoginRateLimiter } from './login-rate-limit.ts';
import { RunChangeFeed } from './run-change-feed.ts';
import { type ApiServices, createContext } from './trpc/context.ts';
import { appRouter } from './trpc/router.ts';

export interface AppDependencies extends Partial<ApiServices> {
  orm: ApiServices['orm'];
  logger: Logger;
  /** Origins besides the API's own that may send mutations. */
  trustedOrigins?: readonly string[];
  /** Take the client's address from X-Forwarded-For. */
  trustProxy?: boolean;
  /** Proxies in front of the API that each append to X-Forwarded-For (default 1). */
  trustedProxyHops?: number;
  /** The built web app to serve from the same origin (production); none in development. */
  webDistDir?: string | null;
  /** Log exports allowed at once; by default 2 per session and 4 in all. */
  downloadSlots?: DownloadSlots;
  /** A log download whose client reads nothing for this long is dropped (default 30 s). */
  downloadStallTimeoutMs?: number;
  /** Served at /metrics; the app's own when absent. */
  metrics?: ApiMetrics;
  /** Lets a scraper that is not on this machine read /metrics (`Authorization: Bearer <token>`). */
  metricsToken?: string;
}

/** tRPC request bodies are small JSON inputs; anything bigger is refused before it is read. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * Refuses a body over MAX_BODY_BYTES before it is read. GET and HEAD carry none that anything reads, and
 * are let by without looking: asking for the body makes @hono/node-server build a whole fetch Request, a
 * few percent of the API's CPU on every read (a CPU profile of `pnpm bench:api --load-only --cpu-prof`).
 */
const bodyLimited = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) => c.json({ error: `The request body is larger than ${MAX_BODY_BYTES / 1024} KB.` }, 413),
});
const limitBody: MiddlewareHandler<AppEnv> = (c, next) =>
  c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : bodyLimited(c, next);

/** A readiness probe that hangs is as bad as a failed one: give up after this long. */
const READINESS_TIMEOUT_MS = 3_000;

export function createApp(dependencies: AppDependencies) {
  const {
    orm,
    logger,
    trustedOrigins = [],
    trustProxy = false,
    trustedProxyHops = 1,
    webDistDir = null,
    metrics = createApiMetrics(),
  } = dependencies;
  const services: ApiServices = {
    orm,
    loginLimiter: dependencies.loginLimiter ?? new LoginRateLimiter(),
    // Without a started feed, live views still see every change, by polling.
    changeFeed:
      dependencies.changeFeed ?? new RunChangeFeed({ databaseUrl: '', logger, fallbackPollIntervalMs: 500 }),
    liveAccessCheckIntervalMs:
      dependencies.liveAccessCheckIntervalMs ?? LIVE_ACCESS_CHECK_INTERVAL_MS_DEFAULT,
  };
  const app = new Hono<AppEnv>();

  // An incoming ID is kept only if it is a short token of [A-Za-z0-9_=-], so it is safe to log and echo.
  app.use(requestId({ limitLength: 64 }));
  app.use(requestLog(logger, metrics));
  app.use(securityHeaders);

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/metrics', async (c) => {
    const allowed = metricsRequestAllowed(
      { remoteAddress: remoteAddress(c), authorization: c.req.header('authorization') },
      dependencies.metricsToken,
    );
    if (!allowed) return c.json({ error: 'metrics are served to loopback or with METRICS_TOKEN only' }, 403);
    return c.body(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });

  app.get('/readyz', async (c) => {
    try {
      await withTimeout(sql(orm.em, 'select 1'), READINESS_TIMEOUT_MS);
      return c.json({ status: 'ready' });
    } catch (error) {
      c.var.logger.warn({ err: error }, 'readiness check failed: database unreachable');
      return c.json({ status: 'unavailable', error: 'database unreachable' }, 503);
    }
  });

  for (const path of ['/trpc/*', '/api/*']) {
    app.use(path, async (c, next) => {
      c.set('em', orm.em.fork());
      c.set('clientAddress', clientAddress(c, trustProxy ? trustedProxyHops : 0));
      await next();
    });
    app.use(path, originCheck(trustedOrigins));
    app.use(path, limitBody);
    app.use(path, sessionMiddleware());
  }

  app.get(
    '/api/runs/:runId/:file',
    logDownload({
      slots: dependencies.downloadSlots ?? new DownloadSlots({ perSession: 2, perProcess: 4 }),
      stallTimeoutMs: dependencies.downloadStallTimeoutMs ?? 30_000,
    }),
  );

  app.use('/trpc/*', requestSignal());
  app.use(
    '/trpc/*',
    trpcServer({
      router: appRouter,
      createContext: (options, c) =>
        createContext(c, options.resHeaders, services) as unknown as Record<string, unknown>,
      onError({ error, ctx }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          const log = (ctx as { logger?: Logger } | undefined)?.logger ?? logger;
          log.error({ err: error.cause ?? error }, 'procedure failed');
        }
      },
    }),
  );

  // Unknown API paths answer as the API, never with the page.
  app.all('/api/*', (c) => c.json({ error: 'not found' }, 404));

  if (webDistDir) {
    if (existsSync(join(webDistDir, 'index.html'))) {
      app.use('/*', serveStatic({ root: webDistDir }));
      // Client-side routes (/provisioning?status=...) all load the page itself.
      app.get('*', serveStatic({ root: webDistDir, path: 'index.html' }));
    } else {
      logger.warn({ webDistDir }, 'the built web app is missing: run `pnpm build` to serve it from the API');
    }
  }

  app.notFound((c) => c.json({ error: 'not found' }, 404));

  app.onError((error, c) => {
    c.var.logger.error({ err: error }, 'unhandled error');
    return c.json({ error: 'internal error' }, 500);
  });

  return app;
}

/** One structured line per request, and a per-request child logger for handlers. */
function requestLog(logger: Logger, metrics: ApiMetrics): MiddlewareHandler<AppEnv> {
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
    // The matched route (`/api/runs/:runId/:file`), never the path itself: one series per route, not per run.
    metrics.request(c.req.method, c.req.routePath, status, (performance.now() - started) / 1000);
  };
}

/**
 * The page is the built Vite app: module scripts and stylesheets from its own origin, no inline script.
 * Styles allow 'unsafe-inline' because Radix's dialogs and menus lock scrolling with a <style> element
 * they insert at run time; that lets a page restyle itself, never run code. The API's own answers carry
 * the same policy: nothing they return is meant to be framed or run.
 */
const securityHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    // The favicon is a data: URL in index.html.
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  xFrameOptions: 'DENY',
  xContentTypeOptions: 'nosniff',
  referrerPolicy: 'no-referrer',
});

/**
 * The client's address. Behind `trustedProxyHops` proxies that each append the address they were
 * connected from to X-Forwarded-For, the client's is that many entries from the right: entries to its
 * left were sent by the client itself, who can write anything there. A header with fewer entries than
 * trusted proxies was not built by them, and is ignored.
 */
function clientAddress(c: Parameters<MiddlewareHandler<AppEnv>>[0], trustedProxyHops: number): string {
  if (trustedProxyHops > 0) {
    const entries = (c.req.header('x-forwarded-for') ?? '').split(',').map((entry) => entry.trim());
    const forwarded = entries.length >= trustedProxyHops ? entries[entries.length - trustedProxyHops] : '';
    if (forwarded) return forwarded.slice(0, 100);
  }
  return remoteAddress(c) ?? 'unknown';
}

/** The socket's peer, whatever X-Forwarded-For says; none for app.request() in tests (no socket). */
function remoteAddress(c: Parameters<MiddlewareHandler<AppEnv>>[0]): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
