import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { databaseErrorMessage, type Orm, runQueueHealth } from '@provisioning/db';
import { JOB_NAMES, metricsRequestAllowed, RUN_STALE_AFTER_SECONDS } from '@provisioning/shared';
import type PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { WorkerMetrics } from '../metrics.ts';

export interface ReadinessLimits {
  /** Jobs waiting in the sync-run queue above which the worker says it is not ready (falling behind). */
  maxQueue: number;
  /** How long the oldest queued run may wait before the worker says it is not ready. */
  maxQueuedWaitSeconds: number;
}

const CHECK_TIMEOUT_MS = 5_000;

/**
 * Why the workers are not keeping up, or none: the database or the pgboss schema does not answer, the
 * sync-run queue is longer than `maxQueue`, or a queued run has waited longer than allowed.
 */
export async function readinessProblems(orm: Orm, boss: PgBoss, limits: ReadinessLimits): Promise<string[]> {
  const problems: string[] = [];
  const health = await withTimeout(runQueueHealth(orm.em.fork(), RUN_STALE_AFTER_SECONDS)).catch(
    (error: unknown) => {
      problems.push(`database does not answer: ${databaseErrorMessage(error)}`);
      return null;
    },
  );
  const depth = await withTimeout(boss.getQueueSize(JOB_NAMES.syncRun)).catch((error: Error) => {
    problems.push(`pgboss schema does not answer: ${error.message}`);
    return null;
  });
  if (depth !== null && depth > limits.maxQueue) {
    problems.push(`${depth} jobs wait in the ${JOB_NAMES.syncRun} queue (more than ${limits.maxQueue})`);
  }
  const waited = health?.oldestQueuedSeconds ?? null;
  if (waited !== null && waited > limits.maxQueuedWaitSeconds) {
    problems.push(
      `the oldest queued run has waited ${Math.round(waited)} s (more than ${limits.maxQueuedWaitSeconds} s)`,
    );
  }
  return problems;
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface HealthServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The worker's own HTTP endpoints: `/healthz` (the process answers), `/readyz` (503 with the reasons
 * when it is not keeping up) and `/metrics` (Prometheus text; loopback or METRICS_TOKEN only).
 */
export async function startHealthServer({
  host,
  port,
  orm,
  boss,
  metrics,
  limits,
  metricsToken,
  logger,
  fallbackToFreePort = false,
}: {
  host: string;
  port: number;
  fallbackToFreePort?: boolean;
  orm: Orm;
  boss: PgBoss;
  metrics: WorkerMetrics;
  limits: ReadinessLimits;
  metricsToken?: string;
  logger: Logger;
}): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const send = (status: number, body: string, type = 'application/json') => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return send(405, '{"error":"method not allowed"}');
    if (path === '/healthz') return send(200, '{"status":"ok"}');
    if (path === '/readyz') {
      readinessProblems(orm, boss, limits).then(
        (problems) =>
          problems.length === 0
            ? send(200, '{"status":"ready"}')
            : send(503, JSON.stringify({ status: 'unavailable', reasons: problems })),
        (error: unknown) => {
          logger.warn({ err: error }, 'readiness check failed');
          send(503, JSON.stringify({ status: 'unavailable', reasons: ['readiness check failed'] }));
        },
      );
      return;
    }
    if (path === '/metrics') {
      const allowed = metricsRequestAllowed(
        { remoteAddress: request.socket.remoteAddress, authorization: request.headers.authorization },
        metricsToken,
      );
      if (!allowed) return send(403, '{"error":"metrics are served to loopback or with METRICS_TOKEN only"}');
      metrics.registry.metrics().then(
        (text) => send(200, text, metrics.registry.contentType),
        (error: unknown) => {
          logger.warn({ err: error }, 'metrics collection failed');
          send(503, '{"error":"metrics could not be collected"}');
        },
      );
      return;
    }
    send(404, '{"error":"not found"}');
  });
  try {
    server.listen(port, host);
    await once(server, 'listening');
  } catch (error) {
    if (!fallbackToFreePort || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    logger.warn(`port ${port} is taken (another worker on this machine?): health and metrics on a free port`);
    server.listen(0, host);
    await once(server, 'listening');
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
