import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createOrm, type Orm } from '@provisioning/db';
import { createTestDatabase, type TestDatabase, testDatabaseKind } from '@provisioning/db/testing';
import PgBoss from 'pg-boss';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ReadinessLimits } from './http/health-server.ts';
import type { JobDefinition } from './jobs/job-definition.ts';
import { startWorker } from './worker.ts';

const silent = pino({ level: 'silent' });
const onServer = (await testDatabaseKind()) === 'server';
const secretKey = randomBytes(32);
const appDirectory = fileURLToPath(new URL('..', import.meta.url));
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));

async function queryOne<T>(orm: Orm, sql: string): Promise<T> {
  const [row] = await orm.em.getConnection().execute<T[]>(sql);
  return row as T;
}

describe('startWorker', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('worker');
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('creates the app tables and the pgboss schema in a fresh database, and stops cleanly', async () => {
    const worker = await startWorker({ databaseUrl: database.url, logger: silent, secretKey });
    await expect(worker.stop()).resolves.toBeUndefined();

    const orm = await createOrm({ databaseUrl: database.url });
    try {
      const tables = await queryOne<{ syncRun: string | null; pgbossJob: string | null }>(
        orm,
        `select to_regclass('public.sync_run')::text as "syncRun", to_regclass('pgboss.job')::text as "pgbossJob"`,
      );
      expect(tables).toEqual({ syncRun: 'sync_run', pgbossJob: 'pgboss.job' });
      // stop() closed every connection of the worker: only this check's own remains.
      const others = await queryOne<{ count: number }>(
        orm,
        'select count(*)::int as count from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      expect(others.count).toBe(0);
    } finally {
      await orm.close();
    }
  });

  it('removes the download folders of runs that are not in progress as it starts', async () => {
    const leftover = join(tmpdir(), `provisioning-sftp-${randomUUID()}-worker-test`);
    mkdirSync(leftover);
    writeFileSync(join(leftover, 'employees.csv'), 'employee_id,email\n1,a@acme.example\n');
    const worker = await startWorker({ databaseUrl: database.url, logger: silent, secretKey });
    try {
      expect(existsSync(leftover)).toBe(false);
    } finally {
      await worker.stop();
      rmSync(leftover, { recursive: true, force: true });
    }
  });

  it('hands the jobs of a registered queue to its handler with the parsed payload and an EntityManager', async () => {
    let received: (value: { data: unknown; queried: boolean }) => void = () => {};
    const handled = new Promise<{ data: unknown; queried: boolean }>((resolve) => {
      received = resolve;
    });
    const echo: JobDefinition = {
      name: 'test-echo',
      payload: z.object({ greeting: z.string() }),
      async handle(data, { em }) {
        const [row] = await em.getConnection().execute<{ one: number }[]>('select 1 as one');
        received({ data, queried: row?.one === 1 });
      },
    };
    const worker = await startWorker({ databaseUrl: database.url, logger: silent, secretKey, jobs: [echo] });
    const sender = new PgBoss({
      connectionString: database.url,
      schema: 'pgboss',
      supervise: false,
      schedule: false,
    });
    try {
      await sender.start();
      await sender.send('test-echo', { greeting: 'hello' });
      expect(await handled).toEqual({ data: { greeting: 'hello' }, queried: true });
    } finally {
      await sender.stop({ graceful: false });
      await worker.stop();
    }
  });
});

/** A worker serving its health endpoints on a free port that works one unrelated queue, and so no sync run. */
function startIdleWorker(databaseUrl: string, limits: ReadinessLimits) {
  const idle: JobDefinition = { name: 'test-idle', payload: z.object({}), async handle() {} };
  return startWorker({
    databaseUrl,
    logger: silent,
    secretKey,
    jobs: [idle],
    http: { host: '127.0.0.1', port: 0, limits },
  });
}

describe("the worker's health and metrics endpoints", () => {
  let database: TestDatabase;
  let orm: Orm;

  beforeAll(async () => {
    database = await createTestDatabase('worker_health');
  });

  afterAll(async () => {
    await orm?.close();
    await database?.drop();
  });

  it('answers healthz, says why it is not ready, and serves the queue and ledger figures as metrics', async () => {
    // Only an unrelated job is worked: what is sent to sync-run waits in its queue.
    const worker = await startIdleWorker(database.url, { maxQueue: 2, maxQueuedWaitSeconds: 600 });
    const sender = new PgBoss({
      connectionString: database.url,
      schema: 'pgboss',
      supervise: false,
      schedule: false,
    });
    try {
      orm = await createOrm({ databaseUrl: database.url });
      await sender.start();
      const get = async (path: string) => {
        const response = await fetch(`${worker.httpUrl}${path}`);
        return { status: response.status, body: await response.text() };
      };
      expect(await get('/healthz')).toEqual({ status: 200, body: '{"status":"ok"}' });
      expect(await get('/readyz')).toEqual({ status: 200, body: '{"status":"ready"}' });

      for (let index = 0; index < 3; index++) await sender.send('sync-run', { runId: randomUUID() });
      const organisation = await queryOne<{ id: string }>(
        orm,
        `insert into organisation (id, name, created_at, updated_at) values (gen_random_uuid(), 'Acme', now(), now()) returning id`,
      );
      const configuration = await queryOne<{ id: string }>(
        orm,
        `insert into sync_configuration (id, organisation_id, name, connector, settings, mapping, created_at, updated_at)
         values (gen_random_uuid(), '${organisation.id}', 'HR', 'sftp', '{}', '{}', now(), now()) returning id`,
      );
      await orm.em.getConnection().execute(
        `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at)
         values (gen_random_uuid(), '${organisation.id}', '${configuration.id}', 'queued', 'schedule', now() - interval '20 minutes')`,
      );
      const notReady = await get('/readyz');
      expect(notReady.status).toBe(503);
      expect(JSON.parse(notReady.body)).toEqual({
        status: 'unavailable',
        reasons: [
          '3 jobs wait in the sync-run queue (more than 2)',
          expect.stringMatching(/^the oldest queued run has waited 12\d\d s \(more than 600 s\)$/),
        ],
      });

      const metrics = await get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toContain('provisioning_queue_depth{queue="sync-run"} 3');
      expect(metrics.body).toContain('provisioning_runs_in_progress 0');
      expect(metrics.body).toContain('provisioning_stale_runs 0');
      expect(metrics.body).toContain('# TYPE provisioning_runs_finished_total counter');
      expect(metrics.body).toContain('# TYPE provisioning_run_phase_seconds histogram');
      expect(metrics.body).toMatch(/^process_cpu_user_seconds_total \d/m);
      expect((await get('/nowhere')).status).toBe(404);
      expect((await get('/healthz?probe=kubelet')).status).toBe(200);
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const refused = await fetch(`${worker.httpUrl}/metrics`, { method, body: 'x'.repeat(10_000) });
        expect(refused.status).toBe(405);
      }
    } finally {
      await sender.stop({ graceful: false });
      await worker.stop();
    }
    // Stopping the worker closes its endpoints too.
    await expect(fetch(`${worker.httpUrl}/healthz`)).rejects.toThrow();
  });
});

describe("the worker's readiness when PostgreSQL does not answer", () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('worker_unready');
  });

  afterAll(async () => {
    await database?.drop();
  });

  // Renaming a schema, holding a lock from another session and refusing connections need a server.
  it.runIf(onServer)(
    'answers 503 naming the pgboss schema or the database that does not answer, within its timeout, and ready again once they do',
    async () => {
      const maintenance = new URL(database.url);
      maintenance.pathname = '/postgres';
      // A superuser on the server's maintenance database: it stays connected when the test database refuses.
      const superuser = await createOrm({ databaseUrl: maintenance.toString(), poolSize: 1 });
      const asAdmin = (sql: string) => superuser.em.getConnection().execute(sql);
      const worker = await startIdleWorker(database.url, { maxQueue: 1000, maxQueuedWaitSeconds: 600 });
      const owner = await createOrm({ databaseUrl: database.url, poolSize: 1 });
      const readiness = async () => {
        const response = await fetch(`${worker.httpUrl}/readyz`);
        return {
          code: response.status,
          body: (await response.json()) as { status: string; reasons?: string[] },
        };
      };
      try {
        expect(await readiness()).toEqual({ code: 200, body: { status: 'ready' } });

        await owner.em.getConnection().execute('alter schema pgboss rename to pgboss_away');
        expect(await readiness()).toEqual({
          code: 503,
          body: {
            status: 'unavailable',
            reasons: [expect.stringMatching(/^pgboss schema does not answer: .*pgboss\./)],
          },
        });
        await owner.em.getConnection().execute('alter schema pgboss_away rename to pgboss');
        expect(await readiness()).toEqual({ code: 200, body: { status: 'ready' } });

        // A run ledger that hangs (a long lock on sync_run) is an answer only once the check gives up.
        await owner.em.transactional(async (em) => {
          await em
            .getConnection()
            .execute('lock table sync_run in access exclusive mode', [], 'all', em.getTransactionContext());
          expect(await readiness()).toEqual({
            code: 503,
            body: { status: 'unavailable', reasons: ['database does not answer: no answer within 5000 ms'] },
          });
        });
        expect(await readiness()).toEqual({ code: 200, body: { status: 'ready' } });
        await owner.close();

        // The database refuses connections and drops the ones it had.
        await asAdmin(`alter database "${database.name}" with allow_connections false`);
        await asAdmin(
          `select pg_terminate_backend(pid) from pg_stat_activity where datname = '${database.name}'`,
        );
        // A pooled connection the check takes may be one the server has just dropped: either is the answer.
        const gone = `(database error \\w+: )?(terminating connection due to administrator command|database "${database.name}" is not currently accepting connections|Connection terminated unexpectedly)`;
        const refused = await readiness();
        expect(refused.code).toBe(503);
        expect(refused.body.reasons).toEqual([
          expect.stringMatching(new RegExp(`^database does not answer: ${gone}$`)),
          expect.stringMatching(new RegExp(`^pgboss schema does not answer: ${gone}$`)),
        ]);
        await asAdmin(`alter database "${database.name}" with allow_connections true`);
        expect(await readiness()).toEqual({ code: 200, body: { status: 'ready' } });
      } finally {
        await asAdmin(`alter database "${database.name}" with allow_connections true`);
        if (await owner.isConnected()) await owner.close();
        await superuser.close();
        await worker.stop();
      }
    },
    30_000,
  );
});

describe('the worker health port taken by another worker on this machine', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('worker_health_port');
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('serves on a free port when the port was the default, and fails when it was asked for', async () => {
    const other = createServer();
    other.listen(0, '127.0.0.1');
    await once(other, 'listening');
    const taken = (other.address() as AddressInfo).port;
    const limits = { maxQueue: 1000, maxQueuedWaitSeconds: 600 };
    try {
      const worker = await startWorker({
        databaseUrl: database.url,
        logger: silent,
        secretKey,
        http: { host: '127.0.0.1', port: taken, fallbackToFreePort: true, limits },
      });
      try {
        expect(new URL(worker.httpUrl!).port).not.toBe(String(taken));
        expect((await fetch(`${worker.httpUrl}/healthz`)).status).toBe(200);
      } finally {
        await worker.stop();
      }
      await expect(
        startWorker({
          databaseUrl: database.url,
          logger: silent,
          secretKey,
          http: { host: '127.0.0.1', port: taken, limits },
        }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      other.close();
    }
  });
});

describe('the worker process (tsx src/main.ts)', () => {
  let database: TestDatabase;
  let child: ChildProcessByStdio<null, Readable, Readable> | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('worker_main');
  });

  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  afterAll(async () => {
    await database?.drop();
  });

  function startMain(env: Record<string, string | undefined>) {
    const { DATABASE_URL: _inherited, ...rest } = process.env;
    const started = spawn(tsx, ['src/main.ts'], {
      cwd: appDirectory,
      env: { ...rest, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    return started;
  }

  it('logs "worker ready", then exits 0 on SIGTERM', async () => {
    const worker = startMain({
      DATABASE_URL: database.url,
      PROVISIONING_SECRET_KEY: secretKey.toString('base64'),
      WORKER_HTTP_PORT: '0',
    });
    const exited = once(worker, 'exit');
    const ready = new Promise<void>((resolve, reject) => {
      createInterface({ input: worker.stdout }).on('line', (line) => {
        if (line.startsWith('{') && JSON.parse(line).msg === 'worker ready') resolve();
      });
      exited.then(([code]) => reject(new Error(`worker exited with ${code} before it was ready`)));
    });
    let stderr = '';
    worker.stderr.on('data', (chunk) => {
      stderr += chunk;
    });

    await ready;
    worker.kill('SIGTERM');
    const [code, signal] = await exited;
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  });

  it('exits non-zero with a readable message when DATABASE_URL is missing', async () => {
    const worker = startMain({});
    let stderr = '';
    worker.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const [code] = await once(worker, 'exit');
    expect(code).not.toBe(0);
    expect(stderr).toContain('DATABASE_URL is not set');
    expect(stderr).toContain('`pnpm start`');
  });
});
