import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createOrm, generateSecretKey, type Orm, purgeExpiredLogs } from '@provisioning/db';
import { createTestDatabase, type TestDatabase } from '@provisioning/db/testing';
import type { RunStatus } from '@provisioning/shared';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, expectFailure, output, UNKNOWN_ID } from './cli-harness.test-support.ts';
import { type Env, parseEnv } from './env.ts';

const RESULT_HEADER = 'Row,External ID,Email,Name,Action,Outcome,Changes,Message';

describe('pnpm provisioning logs export', () => {
  let database: TestDatabase;
  let orm: Orm;
  let env: Env;
  let root: string;
  let dirCount = 0;

  /** A fresh, empty output directory. */
  function outDir(): string {
    const dir = join(root, `out-${++dirCount}`);
    mkdirSync(dir);
    return dir;
  }

  async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
    return orm.em.getConnection().execute<T[]>(query, params);
  }

  async function createRun(
    status: RunStatus,
    { timeZone = 'UTC', startedAt = '2024-01-15T22:30:00Z' as string | null } = {},
  ): Promise<string> {
    const [organisation] = await sql<{ id: string }>(
      `insert into organisation (id, name, time_zone, created_at, updated_at)
       values (gen_random_uuid(), 'Acme', ?, now(), now()) returning id`,
      [timeZone],
    );
    const [config] = await sql<{ id: string }>(
      `insert into sync_configuration (id, organisation_id, name, connector, settings, mapping, created_at, updated_at)
       values (gen_random_uuid(), ?, 'HR feed', 'sftp', '{}', '{}', now(), now()) returning id`,
      [organisation!.id],
    );
    const [run] = await sql<{ id: string }>(
      `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at, started_at)
       values (gen_random_uuid(), ?, ?, ?, 'manual', '2024-01-15T22:29:00Z', ?) returning id`,
      [organisation!.id, config!.id, status, startedAt],
    );
    return run!.id;
  }

  async function insertResultLog(runId: string): Promise<void> {
    await sql(
      `insert into sync_log (run_id, seq, row_number, external_id, email, name, action, outcome, changes, message)
       values (?, 1, 2, 'E-1', 'zoe@acme.example', 'Zoë Ørsted, Jr.', 'create', 'applied', null, null),
              (?, 2, 3, 'E-2', 'ada@acme.example', 'Ada Lovelace', 'update', 'applied',
               '{"department": {"before": "Sales", "after": "Marketing"}, "job_title": {"before": null, "after": "Engineer"}}', null),
              (?, 3, 4, '=1+1', 'bad', '@Evil "Quote"', 'skip', 'not_applied', null, 'Row 4: email "bad" is not valid')`,
      [runId, runId, runId],
    );
  }

  const EXPECTED_CSV = [
    `\uFEFF${RESULT_HEADER}`,
    '2,E-1,zoe@acme.example,"Zoë Ørsted, Jr.",Created,Applied,,',
    // Quoted for its semicolon: a de/fr/nl Excel splits on it.
    '3,E-2,ada@acme.example,Ada Lovelace,Updated,Applied,"department: Sales → Marketing; job_title: (empty) → Engineer",',
    `4,'=1+1,bad,"'@Evil ""Quote""",Skipped,Not applied,,"Row 4: email ""bad"" is not valid"`,
    '',
  ].join('\r\n');

  beforeAll(async () => {
    database = await createTestDatabase('cli_logs_export');
    env = parseEnv({ DATABASE_URL: database.url, PROVISIONING_SECRET_KEY: generateSecretKey() });
    output(await cli(env, 'migrate'));
    orm = await createOrm({ databaseUrl: database.url, poolSize: 2 });
    root = mkdtempSync(join(tmpdir(), 'provisioning-logs-export-test-'));
  });

  afterAll(async () => {
    await orm?.close(true);
    await database?.drop();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('writes a CSV sync result log under its download name and prints its absolute path', async () => {
    const runId = await createRun('needs_attention');
    await insertResultLog(runId);
    const dir = outDir();

    const result = output(await cli(env, 'logs', 'export', runId, '--format', 'csv', '--out', dir));
    const path = join(dir, 'Sync Logs - 15 Jan 2024 10.30pm.csv');
    expect(result).toEqual({ path });
    expect(readFileSync(path, 'utf8')).toBe(EXPECTED_CSV);
    expect(readdirSync(dir)).toEqual(['Sync Logs - 15 Jan 2024 10.30pm.csv']);
  });

  it('writes an XLSX sync result log that Excel reads back', async () => {
    const runId = await createRun('success');
    await insertResultLog(runId);
    const dir = outDir();

    const { path } = output(await cli(env, 'logs', 'export', runId, '--format', 'xlsx', '--out', dir)) as {
      path: string;
    };
    expect(path).toBe(join(dir, 'Sync Logs - 15 Jan 2024 10.30pm.xlsx'));
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(path);
    const sheet = workbook.worksheets[0]!;
    const rows = (sheet.getSheetValues() as unknown[][]).slice(1).map((row) => row.slice(1));
    expect(rows).toEqual([
      RESULT_HEADER.split(','),
      [2, 'E-1', 'zoe@acme.example', 'Zoë Ørsted, Jr.', 'Created', 'Applied'],
      [
        3,
        'E-2',
        'ada@acme.example',
        'Ada Lovelace',
        'Updated',
        'Applied',
        'department: Sales → Marketing; job_title: (empty) → Engineer',
      ],
      [
        4,
        "'=1+1",
        'bad',
        '\'@Evil "Quote"',
        'Skipped',
        'Not applied',
        undefined,
        'Row 4: email "bad" is not valid',
      ],
    ]);
  });

  it('names the file after the run’s start in the organisation’s time zone, else after its queued time', async () => {
    const london = await createRun('success', {
      timeZone: 'Europe/London',
      startedAt: '2024-03-31T00:30:00Z',
    });
    const dir = outDir();
    expect(output(await cli(env, 'logs', 'export', london, '--format', 'csv', '--out', dir))).toEqual({
      path: join(dir, 'Sync Logs - 31 Mar 2024 12.30am.csv'),
    });
    const kolkata = await createRun('data_load_failed', { timeZone: 'Asia/Kolkata', startedAt: null });
    expect(output(await cli(env, 'logs', 'export', kolkata, '--format', 'csv', '--out', dir))).toEqual({
      path: join(dir, 'Sync Logs - 16 Jan 2024 3.59am.csv'),
    });
  });

  it('writes the error log of a data load failure', async () => {
    const runId = await createRun('data_load_failed');
    await sql(
      `insert into sync_log (run_id, seq, row_number, action, outcome, message, hint)
       values (?, 1, null, 'error', 'failed', 'Missing required column \`email\`. Found: Work Email, Name',
               'Rename the column to "email", or map "Work Email" to email in the configuration.')`,
      [runId],
    );
    const dir = outDir();
    const { path } = output(await cli(env, 'logs', 'export', runId, '--format', 'csv', '--out', dir)) as {
      path: string;
    };
    expect(readFileSync(path, 'utf8')).toBe(
      '\uFEFFRow,Error,What to do\r\n' +
        ',"Missing required column `email`. Found: Work Email, Name",' +
        '"Rename the column to ""email"", or map ""Work Email"" to email in the configuration."\r\n',
    );
  });

  it('replaces an existing file of the same name and leaves no temporary file', async () => {
    const runId = await createRun('success');
    await insertResultLog(runId);
    const dir = outDir();
    const path = join(dir, 'Sync Logs - 15 Jan 2024 10.30pm.csv');
    writeFileSync(path, 'an older export');
    writeFileSync(join(dir, 'notes.txt'), 'kept');

    expect(output(await cli(env, 'logs', 'export', runId, '--format', 'csv', '--out', dir))).toEqual({
      path,
    });
    expect(readFileSync(path, 'utf8')).toBe(EXPECTED_CSV);
    expect(readdirSync(dir).sort()).toEqual(['Sync Logs - 15 Jan 2024 10.30pm.csv', 'notes.txt']);
  });

  it('fails with exit code 1 and removes its temporary file when the finished file cannot take the name', async () => {
    const runId = await createRun('success');
    await insertResultLog(runId);
    const dir = outDir();
    // A non-empty directory holds the download name: the rename at the end fails.
    mkdirSync(join(dir, 'Sync Logs - 15 Jan 2024 10.30pm.csv'));
    writeFileSync(join(dir, 'Sync Logs - 15 Jan 2024 10.30pm.csv', 'inside.txt'), 'kept');

    const result = await cli(env, 'logs', 'export', runId, '--format', 'csv', '--out', dir);
    expectFailure(result, 1, /^Error: /);
    expect(readdirSync(dir)).toEqual(['Sync Logs - 15 Jan 2024 10.30pm.csv']);
    expect(readdirSync(join(dir, 'Sync Logs - 15 Jan 2024 10.30pm.csv'))).toEqual(['inside.txt']);
  });

  it('writes a header-only file for a run with no log entries', async () => {
    const runId = await createRun('success');
    const dir = outDir();
    const { path } = output(await cli(env, 'logs', 'export', runId, '--format', 'csv', '--out', dir)) as {
      path: string;
    };
    expect(readFileSync(path, 'utf8')).toBe(`\uFEFF${RESULT_HEADER}\r\n`);
  });

  it.each([
    ['queued', /no logs to download: it is Queued\. The sync is scheduled/],
    ['in_progress', /no logs to download: it is In Progress\./],
    [
      'above_deactivation_threshold',
      /no logs to download: it is Above Deactivation Threshold\. .*Nothing was written/,
    ],
    ['cancelled', /no logs to download: it is Cancelled\. The sync was stopped/],
  ] as const)('refuses a %s run with exit code 2 and the reason, writing nothing', async (status, reason) => {
    const runId = await createRun(status, { startedAt: status === 'queued' ? null : '2024-01-15T22:30:00Z' });
    const dir = outDir();
    expectFailure(await cli(env, 'logs', 'export', runId, '--format', 'xlsx', '--out', dir), 2, reason);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a run whose log retention deleted with exit code 2, saying when in the organisation’s time zone', async () => {
    const runId = await createRun('success', { timeZone: 'Asia/Kolkata' });
    await insertResultLog(runId);
    await sql(`update sync_run set finished_at = '2026-09-01T10:00:00Z' where id = ?`, [runId]);
    // Past the log retention (90 days), within the run retention (400). 23:30 UTC on 2 March is 5.00am
    // on 3 March in Kolkata.
    expect(await purgeExpiredLogs(orm, { now: new Date('2027-03-02T23:30:00Z') })).toMatchObject({
      complete: true,
    });
    const dir = outDir();

    for (const format of ['csv', 'xlsx']) {
      expectFailure(
        await cli(env, 'logs', 'export', runId, '--format', format, '--out', dir),
        2,
        /^Error: This log was deleted on 3 Mar 2027 under the 90-day retention policy\.\n$/,
      );
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses an unknown or malformed run ID with exit code 2', async () => {
    const dir = outDir();
    expectFailure(
      await cli(env, 'logs', 'export', UNKNOWN_ID, '--format', 'csv', '--out', dir),
      2,
      `Run ${UNKNOWN_ID} not found`,
    );
    expectFailure(
      await cli(env, 'logs', 'export', 'run-42', '--format', 'csv', '--out', dir),
      2,
      /not found/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a missing or unknown --format with exit code 2', async () => {
    const runId = await createRun('success');
    const dir = outDir();
    expectFailure(
      await cli(env, 'logs', 'export', runId, '--format', 'pdf', '--out', dir),
      2,
      '--format must be "csv" or "xlsx", got "pdf"',
    );
    expectFailure(
      await cli(env, 'logs', 'export', runId, '--format', 'CSV ', '--out', dir),
      2,
      /--format must be/,
    );
    expectFailure(await cli(env, 'logs', 'export', runId, '--out', dir), 2, '--format is required');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses a missing --out, a directory that does not exist, or a file, with exit code 2', async () => {
    const runId = await createRun('success');
    const missing = join(root, 'no-such-dir');
    const file = join(outDir(), 'a-file.txt');
    writeFileSync(file, 'not a directory');

    expectFailure(await cli(env, 'logs', 'export', runId, '--format', 'csv'), 2, '--out is required');
    expectFailure(
      await cli(env, 'logs', 'export', runId, '--format', 'csv', '--out', missing),
      2,
      `--out: ${missing} does not exist`,
    );
    expectFailure(
      await cli(env, 'logs', 'export', runId, '--format', 'csv', '--out', file),
      2,
      `--out: ${file} is not a directory`,
    );
  });

  it('prints the absolute path when --out is given with dots in it', async () => {
    const runId = await createRun('success');
    const dir = outDir();
    const { path } = output(
      await cli(env, 'logs', 'export', runId, '--format', 'xlsx', '--out', `${dir}/./../${basename(dir)}/`),
    ) as { path: string };
    expect(path).toBe(join(dir, 'Sync Logs - 15 Jan 2024 10.30pm.xlsx'));
  });
});
