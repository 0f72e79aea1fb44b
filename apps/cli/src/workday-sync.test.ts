import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createBoss,
  createOrm,
  ensureQueues,
  generateSecretKey,
  type Orm,
  parseSecretKey,
} from '@provisioning/db';
import { createTestDatabase, type TestDatabase } from '@provisioning/db/testing';
import { JOB_NAMES, SyncRunJobSchema } from '@provisioning/shared';
import { parseAllowList, runSync } from '@provisioning/sync';
import {
  generateHrRows,
  startWorkdayServer,
  type WorkdayServer,
  type WorkdayWorker,
} from '@provisioning/testkit';
import type PgBoss from 'pg-boss';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cli, output } from './cli-harness.test-support.ts';
import { type Env, parseEnv } from './env.ts';

/**
 * Workday end to end, as support drives it: `config create` with settings pointing at a local Workday
 * tenant (real HTTP, Workday's wire formats), then `sync run --wait`, with a worker taking the queued run
 * from pg-boss and running the real sync.
 */

const USER = 'ISU_Provisioning';
const PASSWORD = 'isu-Secret-Pa55word';
const WORKERS = 30;

interface RunView {
  id: string;
  status: string;
  errorSummary: string | null;
  counts: Record<string, number>;
}

describe('syncing from Workday through the CLI', () => {
  let database: TestDatabase;
  let orm: Orm;
  let env: Env;
  let boss: PgBoss;
  let server: WorkdayServer;
  let dir: string;
  let fileCount = 0;
  const secretKey = generateSecretKey();

  beforeAll(async () => {
    database = await createTestDatabase('cli_workday');
    env = parseEnv({
      DATABASE_URL: database.url,
      PROVISIONING_SECRET_KEY: secretKey,
      CONNECTOR_ALLOWED_HOSTS: '127.0.0.1/32',
    });
    output(await cli(env, 'migrate'));
    orm = await createOrm({ databaseUrl: database.url });
    dir = mkdtempSync(join(tmpdir(), 'cli-workday-'));
    server = await startWorkdayServer({ user: USER, password: PASSWORD, workers: WORKERS });

    // The worker's part: take each queued run and sync it (apps/worker does the same with more around it).
    boss = createBoss(database.url, { max: 3, supervise: false, schedule: false });
    await boss.start();
    await ensureQueues(boss);
    const allowList = parseAllowList('127.0.0.1/32');
    await boss.work(JOB_NAMES.syncRun, { pollingIntervalSeconds: 0.5 }, async ([job]) => {
      const { runId } = SyncRunJobSchema.parse(job?.data);
      await runSync(runId, { orm, secretKey: parseSecretKey(secretKey), allowList, canRetry: false });
    });
  });

  afterEach(() => {
    server.fault(null);
    server.setWorkers(WORKERS);
    server.requests.length = 0;
  });

  afterAll(async () => {
    await boss?.stop({ graceful: false, wait: true });
    await server?.stop();
    await orm?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function jsonFile(value: unknown): string {
    const path = join(dir, `file-${++fileCount}.json`);
    writeFileSync(path, JSON.stringify(value));
    return path;
  }

  async function setUp(settings: Record<string, unknown>, ...flags: string[]) {
    const { id: org } = output(await cli(env, 'org', 'create', '--name', 'Acme')) as { id: string };
    const created = output(
      await cli(
        env,
        'config',
        'create',
        '--org',
        org,
        '--name',
        'Workday feed',
        '--connector',
        'workday',
        '--settings',
        jsonFile({ username: USER, password: PASSWORD, ...settings }),
        ...flags,
      ),
    );
    expect(created).toEqual({ id: expect.any(String) });
    return { org, config: (created as { id: string }).id };
  }

  const syncNow = async (config: string) =>
    output(await cli(env, 'sync', 'run', config, '--wait')) as RunView;

  /** Every directory user of the organisation with its row version: equal before and after = nothing written. */
  const directory = (org: string) =>
    orm.em.getConnection().execute<{ externalId: string; email: string; active: boolean; version: string }[]>(
      `select external_id as "externalId", email, status = 'active' as active, xmin::text as version
           from directory_user where organisation_id = ? order by external_id`,
      [org],
    );

  async function errorLog(runId: string): Promise<string> {
    const { path } = output(await cli(env, 'logs', 'export', runId, '--format', 'csv', '--out', dir)) as {
      path: string;
    };
    return readFileSync(path, 'utf8');
  }

  const terminated = (numbers: number[]): WorkdayWorker[] =>
    generateHrRows(WORKERS).map((row, index) => ({ ...row, active: !numbers.includes(index + 1) }));

  it('creates every worker of the report, writes nothing on an unchanged rerun, and deactivates terminated workers', async () => {
    const { org, config } = await setUp({ reportUrl: server.reportUrl });

    const first = await syncNow(config);
    expect(first).toMatchObject({ status: 'success', counts: { created: WORKERS, skipped: 0, warnings: 0 } });
    const users = await directory(org);
    expect(users).toHaveLength(WORKERS);
    expect(users[0]).toMatchObject({ externalId: 'E000001', email: 'user.1@example.com', active: true });
    const [someone] = output(await cli(env, 'users', 'list', '--org', org)) as Record<string, unknown>[];
    expect(someone).toMatchObject({ startDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });

    const rerun = await syncNow(config);
    expect(rerun).toMatchObject({
      status: 'success',
      counts: { created: 0, updated: 0, deactivated: 0, unchanged: WORKERS },
    });
    expect(await directory(org)).toEqual(users);

    server.setWorkers(terminated([29, 30]));
    const afterLeavers = await syncNow(config);
    expect(afterLeavers).toMatchObject({
      status: 'success',
      counts: { deactivated: 2, unchanged: WORKERS - 2 },
    });
    expect((await directory(org)).filter((user) => !user.active).map((user) => user.externalId)).toEqual([
      'E000029',
      'E000030',
    ]);
  });

  it('reads Get_Workers over 3 pages, writes nothing on an unchanged rerun, and deactivates terminated workers', async () => {
    const soap = { mode: 'soap', baseUrl: server.baseUrl, tenant: server.tenant, pageSize: 12 };
    const { org, config } = await setUp(soap);

    const first = await syncNow(config);
    expect(first).toMatchObject({ status: 'success', counts: { created: WORKERS, skipped: 0, warnings: 0 } });
    const soapPages = server.requests.filter((request) => request.endpoint === 'soap');
    expect(soapPages.map((request) => request.soap?.page)).toEqual([1, 2, 3]);
    expect(new Set(soapPages.map((request) => request.soap?.asOfEntryDateTime)).size).toBe(1);
    const users = await directory(org);
    expect(users).toHaveLength(WORKERS);
    // Managers come from the management chain, resolved to emails across pages.
    const listed = output(await cli(env, 'users', 'list', '--org', org)) as {
      externalId: string;
      managerEmail: string | null;
    }[];
    expect(listed.find((user) => user.externalId === 'E000030')?.managerEmail).toBe(
      generateHrRows(WORKERS)[29]?.manager_email,
    );

    expect(await syncNow(config)).toMatchObject({
      status: 'success',
      counts: { created: 0, updated: 0, deactivated: 0, unchanged: WORKERS },
    });
    expect(await directory(org)).toEqual(users);

    server.setWorkers(terminated([5, 17, 30]));
    expect(await syncNow(config)).toMatchObject({
      status: 'success',
      counts: { deactivated: 3, unchanged: WORKERS - 3 },
    });
    expect((await directory(org)).filter((user) => !user.active).map((user) => user.externalId)).toEqual([
      'E000005',
      'E000017',
      'E000030',
    ]);
  });

  it('ends Data Load Failed, nothing written, when a Get_Workers page keeps failing', async () => {
    const { org, config } = await setUp({
      mode: 'soap',
      baseUrl: server.baseUrl,
      tenant: server.tenant,
      pageSize: 12,
    });
    expect(await syncNow(config)).toMatchObject({ status: 'success' });
    const before = await directory(org);

    server.setWorkers(terminated([1]));
    // Retry-After 0: the connector's own retries go at once (the wait is not what this is about).
    server.fault({ kind: 'page-failing', page: 2, status: 500, times: 100, retryAfter: '0' });
    const run = await syncNow(config);
    expect(run).toMatchObject({
      status: 'data_load_failed',
      errorSummary: expect.stringMatching(/^Get_Workers page 2 of 3 .* answered HTTP 500 \(a server error\)/),
    });
    expect(await errorLog(run.id)).toMatch(/Pages read before it: 1; nothing was used\./);
    expect(await directory(org)).toEqual(before);
  });

  it('writes nothing when the terminated workers are more than the deactivation threshold', async () => {
    const { org, config } = await setUp({ reportUrl: server.reportUrl }, '--threshold-count', '2');
    expect(await syncNow(config)).toMatchObject({ status: 'success' });
    const before = await directory(org);

    server.setWorkers(terminated([1, 2, 3]));
    const run = await syncNow(config);
    expect(run).toMatchObject({ status: 'above_deactivation_threshold' });
    expect(await directory(org)).toEqual(before);
  });

  it('ends Data Load Failed with the reason and what to do in the error log, the directory unchanged, when the ISU password is refused', async () => {
    const { org, config } = await setUp({ reportUrl: server.reportUrl });
    expect(await syncNow(config)).toMatchObject({ status: 'success' });
    const before = await directory(org);

    server.fault({ kind: 'status', status: 401, times: 5 });
    const run = await syncNow(config);
    expect(run).toMatchObject({
      status: 'data_load_failed',
      errorSummary: expect.stringMatching(
        /^The Workday report ISU_Provisioning\/All_Workers on 127\.0\.0\.1:\d+ refused the sign-in of the Integration System User "ISU_Provisioning" \(HTTP 401\)\.$/,
      ),
    });
    const log = await errorLog(run.id);
    expect(log).toMatch(/^\uFEFFRow,Error,What to do\r\n/);
    expect(log).toContain('refused the sign-in of the Integration System User');
    expect(log).toContain("Check the Integration System User's password in the configuration");
    expect(log).not.toContain(PASSWORD);
    expect(await directory(org)).toEqual(before);
  });

  it('ends Data Load Failed, nothing written, when the report answers with a sign-in page', async () => {
    const { org, config } = await setUp({ reportUrl: server.reportUrl });
    server.fault({ kind: 'html', times: 5 });
    const run = await syncNow(config);
    expect(run).toMatchObject({
      status: 'data_load_failed',
      errorSummary: expect.stringMatching(/answered with a web page instead of JSON/),
    });
    expect(await errorLog(run.id)).toMatch(/enabled as a web service/);
    expect(await directory(org)).toEqual([]);
  });
});
