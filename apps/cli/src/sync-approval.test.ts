import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOrm, generateSecretKey, type Orm, parseSecretKey } from '@provisioning/db';
import { createTestDatabase, type TestDatabase } from '@provisioning/db/testing';
import { parseAllowList, runSync } from '@provisioning/sync';
import { type SftpServer, startSftpServer, writeHrCsv } from '@provisioning/testkit';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cli, expectFailure, output, UNKNOWN_ID } from './cli-harness.test-support.ts';
import { type Env, parseEnv } from './env.ts';

const SFTP_USER = 'acme-sync';
const SFTP_PASSWORD = 'sftp-Secret-Pa55word';

let database: TestDatabase;
let orm: Orm;
let env: Env;
let secretKey: string;
let root: string;
let served: string;
let sftp: SftpServer;
let org: string;

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return orm.em.getConnection().execute<T[]>(query, params);
}

/** What a dry run or a refused approval must leave as it was. */
async function footprint() {
  const [row] = await sql(
    `select (select count(*)::int from sync_run) as runs,
       (select count(*)::int from directory_user) as users,
       (select count(*)::int from directory_user where status = 'active') as active,
       (select count(*)::int from sync_log_chunk) as log_chunks,
       (select count(*)::int from sync_run_approval) as approvals,
       (select count(*)::int from sync_run_blocked_user) as blocked`,
  );
  return row;
}

let fileCount = 0;
/** A fresh SFTP path holding the first `count` HR rows. */
async function hrFile(count: number): Promise<string> {
  const name = `employees-${++fileCount}.csv`;
  await writeHrCsv(join(served, name), { rows: count });
  return `/${name}`;
}

async function rewrite(path: string, count: number): Promise<void> {
  await writeHrCsv(join(served, path), { rows: count });
}

let configCount = 0;
async function createConfig(path: string, password = SFTP_PASSWORD, organisation = org): Promise<string> {
  const settings = join(root, `settings-${++configCount}.json`);
  writeFileSync(
    settings,
    JSON.stringify({
      host: '127.0.0.1',
      port: sftp.port,
      username: SFTP_USER,
      password,
      hostFingerprint: sftp.hostFingerprint,
      path,
    }),
  );
  const created = output(
    await cli(
      env,
      'config',
      'create',
      '--org',
      organisation,
      '--name',
      `HR feed ${configCount}`,
      '--connector',
      'sftp',
      '--settings',
      settings,
    ),
  ) as { id: string };
  return created.id;
}

/** A run of the configuration, queued by the CLI and run here as the worker would. */
async function runOnce(configId: string): Promise<{ id: string; status: string }> {
  const queued = output(await cli(env, 'sync', 'run', configId)) as { id: string };
  return runQueued(queued.id);
}

async function runQueued(runId: string): Promise<{ id: string; status: string }> {
  const result = await runSync(runId, {
    orm,
    secretKey: parseSecretKey(secretKey),
    allowList: parseAllowList('127.0.0.1/32'),
  });
  return { id: runId, status: 'status' in result ? result.status : 'unknown' };
}

beforeAll(async () => {
  database = await createTestDatabase('cli_sync_approval');
  secretKey = generateSecretKey();
  env = parseEnv({
    DATABASE_URL: database.url,
    PROVISIONING_SECRET_KEY: secretKey,
    CONNECTOR_ALLOWED_HOSTS: '127.0.0.1/32',
  });
  output(await cli(env, 'migrate'));
  orm = await createOrm({ databaseUrl: database.url, poolSize: 4 });
  root = mkdtempSync(join(tmpdir(), 'provisioning-sync-approval-test-'));
  served = join(root, 'sftp');
  mkdirSync(served);
  sftp = await startSftpServer({ root: served, username: SFTP_USER, password: SFTP_PASSWORD });
  org = (
    output(await cli(env, 'org', 'create', '--name', 'Acme', '--timezone', 'Europe/London')) as { id: string }
  ).id;
});

afterAll(async () => {
  await sftp?.stop();
  await orm?.close(true);
  await database?.drop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('pnpm provisioning sync dry-run', () => {
  it('prints what a first import would do and writes nothing: no run, no users, no log', async () => {
    const path = await hrFile(120);
    const config = await createConfig(path);
    const file = readFileSync(join(served, path));
    const before = await footprint();

    const report = output(await cli(env, 'sync', 'dry-run', config));
    expect(report).toEqual({
      counts: {
        created: 120,
        updated: 0,
        reactivated: 0,
        deactivated: 0,
        unchanged: 0,
        skipped: 0,
        warnings: 0,
      },
      threshold: {
        wouldBlock: false,
        planned: 0,
        activeManagedUsers: 0,
        limits: { count: 500, percent: 20 },
        message: null,
      },
      source: {
        connector: 'sftp',
        origin: expect.stringContaining('employees-'),
        rows: 120,
        fingerprint: {
          connector: 'sftp',
          origin: `sftp://127.0.0.1:${sftp.port}${path}`,
          sha256: createHash('sha256').update(file).digest('hex'),
          bytes: file.length,
          records: 120,
        },
      },
      warnings: [],
    });
    expect(await footprint()).toEqual(before);
  });

  it('says a run would be blocked, and with --out writes the would-be log under its download name', async () => {
    const path = await hrFile(200);
    const config = await createConfig(path);
    expect(await runOnce(config)).toMatchObject({ status: 'success' });
    await rewrite(path, 150);
    const before = await footprint();

    const dir = join(root, 'dry-run-out');
    mkdirSync(dir);
    const report = output(await cli(env, 'sync', 'dry-run', config, '--out', dir)) as Record<string, unknown>;
    expect(report).toMatchObject({
      counts: { created: 0, unchanged: 150, deactivated: 50 },
      threshold: {
        wouldBlock: true,
        planned: 50,
        activeManagedUsers: 200,
        limits: { count: 500, percent: 20 },
        message:
          'The sync would deactivate 50 of 200 active users it manages, more than 20% of them (40). A run would end Above Deactivation Threshold and write nothing.',
      },
    });
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^Sync Logs - \d{1,2} [A-Z][a-z]{2} \d{4} \d{1,2}\.\d{2}[ap]m\.csv$/);
    expect(report.log).toBe(join(dir, files[0]!));
    const lines = readFileSync(join(dir, files[0]!), 'utf8').split('\r\n');
    expect(lines[0]).toBe('\uFEFFRow,External ID,Email,Name,Action,Outcome,Changes,Message');
    // A line per source row and per deactivation, and the final line end.
    expect(lines).toHaveLength(1 + 150 + 50 + 1);
    expect(lines.filter((line) => line.includes(',Deactivated,'))).toHaveLength(50);
    expect(lines.find((line) => line.includes('user.151@example.com'))).toContain(
      'Not in the source any more: deactivated',
    );
    expect(await footprint()).toEqual(before);

    const xlsx = output(await cli(env, 'sync', 'dry-run', config, '--out', dir, '--format', 'xlsx')) as {
      log: string;
    };
    expect(xlsx.log).toMatch(/\.xlsx$/);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(xlsx.log);
    expect(workbook.worksheets[0]!.rowCount).toBe(1 + 200);
  });

  it('gives the source’s message and what to do, exits 1 and writes nothing, when the credentials are wrong', async () => {
    const config = await createConfig(await hrFile(10), 'not-the-password');
    const before = await footprint();
    const result = await cli(env, 'sync', 'dry-run', config);
    expectFailure(result, 1, /What to do: /);
    expect(result.stderr).toMatch(/password|credentials|authenticat/i);
    expect(await footprint()).toEqual(before);
  });

  it('refuses bad flags and an unknown configuration with exit 2', async () => {
    const config = await createConfig(await hrFile(5));
    expectFailure(
      await cli(env, 'sync', 'dry-run', config, '--format', 'csv'),
      2,
      /--format applies to the log written with --out/,
    );
    expectFailure(
      await cli(env, 'sync', 'dry-run', config, '--out', root, '--format', 'pdf'),
      2,
      /--format must be "csv" or "xlsx"/,
    );
    expectFailure(
      await cli(env, 'sync', 'dry-run', config, '--out', join(root, 'missing')),
      2,
      /does not exist/,
    );
    expectFailure(await cli(env, 'sync', 'dry-run', config, '--wait'), 2, /Unknown option '--wait'/);
    expectFailure(await cli(env, 'sync', 'dry-run', UNKNOWN_ID), 2, `Configuration ${UNKNOWN_ID} not found`);
    expectFailure(await cli(env, 'sync', 'dry-run', "1' or '1'='1"), 2, /not found/);
    expectFailure(await cli(env, 'sync', 'dry-run'), 2, /Expected CONFIG/);
  });
});

describe('pnpm provisioning sync approve', () => {
  let path: string;
  let config: string;

  /** A configuration whose last run was blocked: 200 users synced, then a file of the first 150. */
  async function blockedRun(): Promise<string> {
    // An organisation of its own: every file has the same people, and an email belongs to one user.
    const own = (output(await cli(env, 'org', 'create', '--name', 'Blocked Ltd')) as { id: string }).id;
    path = await hrFile(200);
    config = await createConfig(path, SFTP_PASSWORD, own);
    expect(await runOnce(config)).toMatchObject({ status: 'success' });
    await rewrite(path, 150);
    const blocked = await runOnce(config);
    expect(blocked.status).toBe('above_deactivation_threshold');
    return blocked.id;
  }

  const approve = (runId: string, ...flags: string[]) =>
    cli(
      env,
      'sync',
      'approve',
      runId,
      ...(flags.length > 0 ? flags : ['--by', 'Sam Support', '--reason', 'HR confirmed the 50 leavers']),
    );

  let blocked: string;
  beforeEach(async () => {
    blocked = await blockedRun();
  });

  it('stores every would-be deactivation of a blocked run, and the plan’s digest', async () => {
    const ids = await sql<{ user_id: string }>(
      'select user_id from sync_run_blocked_user where run_id = ? order by user_id',
      [blocked],
    );
    expect(ids).toHaveLength(50);
    const [run] = await sql<{ digest: string }>(
      `select threshold_details->>'planDigest' as digest from sync_run where id = ?`,
      [blocked],
    );
    const { createHash } = await import('node:crypto');
    const expected = createHash('sha256')
      .update(ids.map((row) => row.user_id).join('\n'))
      .digest('hex');
    expect(run?.digest).toBe(expected);
  });

  it('approves the blocked run and queues the run that applies exactly that plan, naming the approver', async () => {
    const approved = output(await approve(blocked)) as Record<string, unknown>;
    expect(approved).toMatchObject({
      blockedRunId: blocked,
      approvedBy: 'Sam Support',
      reason: 'HR confirmed the 50 leavers',
      plannedDeactivations: 50,
      created: true,
    });
    const queued = approved.runId as string;
    const shown = output(await cli(env, 'runs', 'show', queued)) as Record<string, unknown>;
    expect(shown).toMatchObject({
      status: 'queued',
      trigger: 'approval',
      triggerApproval: { blockedRunId: blocked, approvedBy: 'Sam Support', usedByRunId: null, outcome: null },
    });
    expect(output(await cli(env, 'runs', 'show', blocked))).toMatchObject({
      approval: { approvedBy: 'Sam Support', reason: 'HR confirmed the 50 leavers' },
    });

    expect(await runQueued(queued)).toMatchObject({ status: 'success' });
    expect(output(await cli(env, 'runs', 'show', queued))).toMatchObject({
      status: 'success',
      counts: { deactivated: 50, unchanged: 150 },
      triggerApproval: { usedByRunId: queued, outcome: 'applied' },
    });
    const messages = await sql<{ message: string }>(
      `select message from sync_log where run_id = ? and action = 'deactivate'`,
      [queued],
    );
    expect(messages).toHaveLength(50);
    expect(new Set(messages.map((row) => row.message))).toEqual(
      new Set(['Not in the source any more: deactivated (above the threshold, approved by Sam Support)']),
    );
    // Once: a second approval is refused, and changes nothing.
    const before = await footprint();
    expectFailure(
      await approve(blocked),
      2,
      /was already approved by Sam Support at .*: a run is approved once/,
    );
    expect(await footprint()).toEqual(before);
  });

  it('blocks the approved run again when its plan grew, saying how many deactivations were not approved', async () => {
    const { runId } = output(await approve(blocked)) as { runId: string };
    await rewrite(path, 140);
    expect(await runQueued(runId)).toMatchObject({ status: 'above_deactivation_threshold' });
    const shown = output(await cli(env, 'runs', 'show', runId)) as Record<string, unknown>;
    expect(shown.errorSummary).toBe(
      'The sync would deactivate 60 of 200 active users it manages, more than 20% of them (40). 10 deactivations were not in the approved plan (approved by Sam Support). Nothing was written.',
    );
    expect(shown).toMatchObject({ triggerApproval: { usedByRunId: null, outcome: 'plan_grew' } });
    const [{ active }] = (await sql<{ active: number }>(
      `select count(*)::int as active from directory_user where managed_by_id = ? and status = 'active'`,
      [config],
    )) as [{ active: number }];
    expect(active).toBe(200);
    // The run blocked again is now the newest blocked run: it has its own plan, and may be approved.
    expectFailure(await approve(blocked), 2, /already approved/);
    expect(output(await approve(runId))).toMatchObject({ blockedRunId: runId, plannedDeactivations: 60 });
  });

  it('refuses, changing nothing, a run that is not blocked, an older blocked run, one that ended over 24 hours ago, and bad input', async () => {
    const other = (output(await cli(env, 'org', 'create', '--name', 'Other Ltd')) as { id: string }).id;
    const { id: success } = await runOnce(await createConfig(await hrFile(3), SFTP_PASSWORD, other));
    await rewrite(path, 149);
    const newer = await runOnce(config);
    expect(newer.status).toBe('above_deactivation_threshold');
    const before = await footprint();

    expectFailure(
      await approve(success),
      2,
      /is Success: only a run that ended Above Deactivation Threshold can be approved/,
    );
    expectFailure(
      await approve(blocked),
      2,
      `A newer run of this configuration, ${newer.id}, was also blocked`,
    );
    await sql(`update sync_run set finished_at = now() - interval '26 hours' where id = ?`, [blocked]);
    await sql(`update sync_run set finished_at = now() - interval '25 hours' where id = ?`, [newer.id]);
    expectFailure(await approve(newer.id), 2, /ended more than 24 hours ago/);
    expectFailure(await approve(UNKNOWN_ID), 2, `Run ${UNKNOWN_ID} not found`);
    expectFailure(await approve('not-a-run'), 2, 'Run not-a-run not found');
    expectFailure(await approve(newer.id, '--reason', 'why'), 2, '--by is required');
    expectFailure(await approve(newer.id, '--by', 'Sam'), 2, '--reason is required');
    expectFailure(await approve(newer.id, '--by', 'Sam', '--reason', '   '), 2, '--reason is required');
    expectFailure(
      await approve(newer.id, '--by', 'Sam', '--reason', 'line one\nforged line'),
      2,
      /must not contain control characters/,
    );
    expectFailure(
      await approve(newer.id, '--by', 'Sam', '--reason', 'x'.repeat(1001)),
      2,
      /at most 1000 characters/,
    );
    expectFailure(await approve(newer.id, '--by', 'Sam', '--reason', 'nul \u0000'), 2, /NUL/);
    expect(await footprint()).toEqual(before);
  });
});

describe('pnpm provisioning runs show', () => {
  /** A configuration of an organisation of its own (every file has the same people) reading `path`. */
  async function ownConfig(path: string): Promise<string> {
    const own = (output(await cli(env, 'org', 'create', '--name', 'Source Ltd')) as { id: string }).id;
    return createConfig(path, SFTP_PASSWORD, own);
  }

  const runShown = async (runId: string) =>
    output(await cli(env, 'runs', 'show', runId)) as { status: string; source: unknown };

  it('shows the source a run read: where from, the SHA-256 and size of the file, and its records', async () => {
    const path = await hrFile(40);
    const config = await ownConfig(path);
    const run = await runOnce(config);
    const file = readFileSync(join(served, path));
    expect(await runShown(run.id)).toMatchObject({
      status: 'success',
      source: {
        connector: 'sftp',
        origin: `sftp://127.0.0.1:${sftp.port}${path}`,
        sha256: createHash('sha256').update(file).digest('hex'),
        bytes: file.length,
        records: 40,
      },
    });
  });

  it('keeps the source a run blocked by the threshold read, which support can compare with the file', async () => {
    const path = await hrFile(200);
    const config = await ownConfig(path);
    expect(await runOnce(config)).toMatchObject({ status: 'success' });
    await rewrite(path, 150);
    const blocked = await runOnce(config);
    const file = readFileSync(join(served, path));
    expect(await runShown(blocked.id)).toMatchObject({
      status: 'above_deactivation_threshold',
      source: { sha256: createHash('sha256').update(file).digest('hex'), bytes: file.length, records: 150 },
    });
  });

  it('keeps the source of a Data Load Failed run that read its file to the end, and has none when it could not', async () => {
    const path = await hrFile(0);
    const config = await ownConfig(path);
    const empty = await runOnce(config);
    const file = readFileSync(join(served, path));
    expect(await runShown(empty.id)).toMatchObject({
      status: 'data_load_failed',
      source: { sha256: createHash('sha256').update(file).digest('hex'), bytes: file.length, records: 0 },
    });

    rmSync(join(served, path));
    const missing = await runOnce(config);
    expect(await runShown(missing.id)).toMatchObject({ status: 'data_load_failed', source: null });
  });
});
