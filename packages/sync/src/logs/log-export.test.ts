import { Writable } from 'node:stream';
import type { Orm } from '@provisioning/db';
import { createMigratedTestOrm, insertLogChunksSql, type MigratedTestOrm } from '@provisioning/db/testing';
import type { LogFormat } from '@provisioning/shared';
import { DomainError, type FieldChanges, RUN_STATUSES, type RunStatus } from '@provisioning/shared';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportRunLog, runLogInfo } from './log-export.ts';

/** A Writable that keeps what it is given. */
class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void) {
    this.chunks.push(chunk);
    callback();
  }
  get buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** A Writable that only counts bytes, and samples the process's RSS while the export runs. */
class Counter extends Writable {
  bytes = 0;
  peakRss = 0;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void) {
    this.bytes += chunk.length;
    this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
    callback();
  }
}

interface LogLine {
  rowNumber?: number | null;
  externalId?: string | null;
  email?: string | null;
  name?: string | null;
  action?: string;
  outcome?: string;
  changes?: FieldChanges | null;
  message?: string | null;
  hint?: string | null;
}

const UNKNOWN_ID = '6f1c3a52-9d1e-4c1a-8a55-0d7c1b0e9f00';

describe('run log export', () => {
  let database: MigratedTestOrm;
  let orm: Orm;

  async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
    return orm.em.getConnection().execute<T[]>(query, params);
  }

  async function createOrganisation(timeZone = 'UTC'): Promise<string> {
    const [row] = await sql<{ id: string }>(
      `insert into organisation (id, name, time_zone, created_at, updated_at)
       values (gen_random_uuid(), 'Acme', ?, now(), now()) returning id`,
      [timeZone],
    );
    return row!.id;
  }

  async function createRun(
    fields: {
      status?: RunStatus;
      startedAt?: string | null;
      queuedAt?: string;
      timeZone?: string;
      organisationId?: string;
    } = {},
  ): Promise<string> {
    const organisationId = fields.organisationId ?? (await createOrganisation(fields.timeZone));
    const [config] = await sql<{ id: string }>(
      `insert into sync_configuration (id, organisation_id, name, connector, settings, mapping, created_at, updated_at)
       values (gen_random_uuid(), ?, 'HR feed', 'sftp', '{}', '{}', now(), now()) returning id`,
      [organisationId],
    );
    const [run] = await sql<{ id: string }>(
      `insert into sync_run (id, organisation_id, configuration_id, status, trigger, queued_at, started_at)
       values (gen_random_uuid(), ?, ?, ?, 'schedule', ?, ?) returning id`,
      [
        organisationId,
        config!.id,
        fields.status ?? 'success',
        fields.queuedAt ?? '2024-01-15T22:29:00Z',
        fields.startedAt === undefined ? '2024-01-15T22:30:00Z' : fields.startedAt,
      ],
    );
    return run!.id;
  }

  async function insertLog(runId: string, lines: LogLine[]): Promise<void> {
    for (const [index, line] of lines.entries()) {
      await sql(
        `insert into sync_log (run_id, seq, row_number, external_id, email, name, action, outcome, changes, message, hint)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          runId,
          index + 1,
          line.rowNumber ?? null,
          line.externalId ?? null,
          line.email ?? null,
          line.name ?? null,
          line.action ?? 'create',
          line.outcome ?? 'applied',
          line.changes ? JSON.stringify(line.changes) : null,
          line.message ?? null,
          line.hint ?? null,
        ],
      );
    }
  }

  async function exportTo(runId: string, format: LogFormat, batchSize?: number) {
    const output = new Collector();
    const result = await exportRunLog({ em: orm.em.fork(), runId, format, output, batchSize });
    expect(output.writableFinished).toBe(true);
    return { ...result, buffer: output.buffer };
  }

  function parseCsv(buffer: Buffer): string[][] {
    return parse(buffer, { bom: true, relax_column_count: false });
  }

  async function readXlsx(buffer: Buffer) {
    const workbook = new ExcelJS.Workbook();
    // exceljs's types predate Node's generic Buffer.
    await workbook.xlsx.load(buffer as unknown as ArrayBuffer);
    const sheet = workbook.worksheets[0]!;
    const rows: unknown[][] = [];
    sheet.eachRow({ includeEmpty: true }, (row) => {
      rows.push(
        Array.from({ length: sheet.columnCount }, (_, i) => {
          const value = row.getCell(i + 1).value;
          return value === undefined ? null : value;
        }),
      );
    });
    return { sheet, rows };
  }

  const RESULT_HEADERS = ['Row', 'External ID', 'Email', 'Name', 'Action', 'Outcome', 'Changes', 'Message'];
  const ERROR_HEADERS = ['Row', 'Error', 'What to do'];

  const RESULT_LINES: LogLine[] = [
    {
      rowNumber: 2,
      externalId: 'E-1',
      email: 'zoe@acme.example',
      name: 'Zoë Ørsted, Jr.',
      action: 'create',
      outcome: 'applied',
    },
    {
      rowNumber: 3,
      externalId: 'E-2',
      email: 'ada@acme.example',
      name: 'Ada "Countess" Lovelace',
      action: 'update',
      outcome: 'applied',
      changes: {
        job_title: { before: null, after: 'Engineer' },
        department: { before: 'Sales', after: 'Marketing' },
      },
    },
    {
      rowNumber: 4,
      externalId: '=HYPERLINK("http://evil.example")',
      email: 'not-an-email',
      name: '山田 太郎',
      action: 'skip',
      outcome: 'not_applied',
      message: 'Row 4: email "not-an-email" is not a valid email address\nskipped',
    },
    {
      rowNumber: 5,
      externalId: 'E-4',
      email: '@evil',
      name: '+Plus',
      action: 'update',
      outcome: 'warning',
      changes: { phone: { before: '-1', after: '+44 20 7946 0000' } },
      message: '-Unknown manager boss@acme.example',
    },
    {
      rowNumber: null,
      externalId: 'E-9',
      email: 'gone@acme.example',
      name: 'Gone Person',
      action: 'deactivate',
      outcome: 'applied',
      changes: { status: { before: 'active', after: 'deactivated' } },
      message: 'Not in the source any more: deactivated',
    },
  ];

  const RESULT_ROWS = [
    ['2', 'E-1', 'zoe@acme.example', 'Zoë Ørsted, Jr.', 'Created', 'Applied', '', ''],
    [
      '3',
      'E-2',
      'ada@acme.example',
      'Ada "Countess" Lovelace',
      'Updated',
      'Applied',
      'department: Sales → Marketing; job_title: (empty) → Engineer',
      '',
    ],
    [
      '4',
      `'=HYPERLINK("http://evil.example")`,
      'not-an-email',
      '山田 太郎',
      'Skipped',
      'Not applied',
      '',
      'Row 4: email "not-an-email" is not a valid email address\nskipped',
    ],
    [
      '5',
      'E-4',
      "'@evil",
      "'+Plus",
      'Updated',
      'Warning',
      'phone: -1 → +44 20 7946 0000',
      "'-Unknown manager boss@acme.example",
    ],
    [
      '',
      'E-9',
      'gone@acme.example',
      'Gone Person',
      'Deactivated',
      'Applied',
      'status: active → deactivated',
      'Not in the source any more: deactivated',
    ],
  ];

  const ERROR_LINES: LogLine[] = [
    {
      action: 'error',
      outcome: 'failed',
      message: 'Missing required column `email`. Found: Work Email, Name, Department',
      hint: 'Rename the column to "email" or map "Work Email" to email in the configuration.',
    },
    {
      rowNumber: 17,
      action: 'error',
      outcome: 'failed',
      message: "=cmd|' /C calc'!A0 is not valid",
      hint: '@fix the file, then run the sync again',
    },
  ];

  const ERROR_ROWS = [
    [
      '',
      'Missing required column `email`. Found: Work Email, Name, Department',
      'Rename the column to "email" or map "Work Email" to email in the configuration.',
    ],
    ['17', `'=cmd|' /C calc'!A0 is not valid`, "'@fix the file, then run the sync again"],
  ];

  beforeAll(async () => {
    database = await createMigratedTestOrm('sync_log_export', { poolSize: 2 });
    orm = database.orm;
  });

  afterAll(async () => {
    await database?.close();
  });

  describe('runLogInfo', () => {
    it.each([
      ['success', 'result'],
      ['needs_attention', 'result'],
      ['data_load_failed', 'error'],
    ] as const)('offers a %s run’s %s log under its download name', async (status, kind) => {
      const runId = await createRun({ status, startedAt: '2024-01-15T22:30:00Z' });
      const info = await runLogInfo(orm.em.fork(), runId);
      expect(info).toMatchObject({ runId, runStatus: status, kind, unavailableReason: null });
      expect(info.fileName('csv')).toBe('Sync Logs - 15 Jan 2024 10.30pm.csv');
      expect(info.fileName('xlsx')).toBe('Sync Logs - 15 Jan 2024 10.30pm.xlsx');
    });

    it.each(
      RUN_STATUSES.filter((status) => !['success', 'needs_attention', 'data_load_failed'].includes(status)),
    )('says a %s run has no logs to download, and why', async (status) => {
      const runId = await createRun({
        status,
        startedAt: status === 'queued' ? null : '2024-01-15T22:30:00Z',
      });
      const info = await runLogInfo(orm.em.fork(), runId);
      expect(info.kind).toBeNull();
      expect(info.unavailableReason).toMatch(/^This run has no logs to download: it is [A-Z][\w ]+\. .+\.$/);
    });

    it('names the file after the run’s start in the organisation’s time zone', async () => {
      const runId = await createRun({ startedAt: '2024-03-31T00:30:00Z', timeZone: 'Europe/London' });
      expect((await runLogInfo(orm.em.fork(), runId)).fileName('csv')).toBe(
        'Sync Logs - 31 Mar 2024 12.30am.csv',
      );
      const kolkata = await createRun({ startedAt: '2024-01-15T17:00:00Z', timeZone: 'Asia/Kolkata' });
      expect((await runLogInfo(orm.em.fork(), kolkata)).fileName('xlsx')).toBe(
        'Sync Logs - 15 Jan 2024 10.30pm.xlsx',
      );
    });

    it('names the file after the queued time for a run that never started', async () => {
      const runId = await createRun({
        status: 'cancelled',
        startedAt: null,
        queuedAt: '2024-07-04T16:05:00Z',
        timeZone: 'America/New_York',
      });
      expect((await runLogInfo(orm.em.fork(), runId)).fileName('csv')).toBe(
        'Sync Logs - 4 Jul 2024 12.05pm.csv',
      );
    });

    it('answers not found for an unknown or malformed run ID, and for another organisation’s run', async () => {
      const runId = await createRun();
      for (const id of [UNKNOWN_ID, 'run-42', '']) {
        await expect(runLogInfo(orm.em.fork(), id)).rejects.toMatchObject({
          code: 'NOT_FOUND',
          message: `Run ${id} not found`,
        });
      }
      const otherOrganisation = await createOrganisation();
      await expect(
        runLogInfo(orm.em.fork(), runId, { organisationId: otherOrganisation }),
      ).rejects.toBeInstanceOf(DomainError);
      await expect(runLogInfo(orm.em.fork(), runId, { organisationId: 'acme' })).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      const own = (
        await sql<{ organisation_id: string }>('select organisation_id from sync_run where id = ?', [runId])
      )[0]!;
      expect((await runLogInfo(orm.em.fork(), runId, { organisationId: own.organisation_id })).runId).toBe(
        runId,
      );
    });
  });

  describe('CSV', () => {
    it('writes the sync result log: BOM, header, one CRLF line per entry in seq order, labels and changes', async () => {
      const runId = await createRun({ status: 'needs_attention' });
      await insertLog(runId, RESULT_LINES);
      const { buffer, rows, kind } = await exportTo(runId, 'csv');
      expect({ rows, kind }).toEqual({ rows: 5, kind: 'result' });

      expect([...buffer.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      const text = buffer.toString('utf8');
      expect(text).toMatch(/^\uFEFFRow,External ID,Email,Name,Action,Outcome,Changes,Message\r\n2,E-1,/);
      expect(text.endsWith('Not in the source any more: deactivated\r\n')).toBe(true);
      // Outside quoted fields every line ends with CRLF.
      expect(text.replace(/"(?:[^"]|"")*"/g, '').match(/\n/g)?.length).toBe(6);
      expect(text.replace(/"(?:[^"]|"")*"/g, '')).not.toMatch(/[^\r]\n/);
      expect(text).toContain('"Zoë Ørsted, Jr."');
      expect(text).toContain('"Ada ""Countess"" Lovelace"');

      expect(parseCsv(buffer)).toEqual([RESULT_HEADERS, ...RESULT_ROWS]);
    });

    it('writes the error log of a data load failure with what to do', async () => {
      const runId = await createRun({ status: 'data_load_failed' });
      await insertLog(runId, ERROR_LINES);
      const { buffer, kind } = await exportTo(runId, 'csv');
      expect(kind).toBe('error');
      expect(parseCsv(buffer)).toEqual([ERROR_HEADERS, ...ERROR_ROWS]);
    });

    it('keeps seq order across batches', async () => {
      const runId = await createRun();
      const lines = Array.from({ length: 11 }, (_, i) => ({ rowNumber: i + 2, email: `u${i}@acme.example` }));
      await insertLog(runId, lines);
      const { buffer, rows } = await exportTo(runId, 'csv', 2);
      expect(rows).toBe(11);
      expect(
        parseCsv(buffer)
          .slice(1)
          .map((row) => row[0]),
      ).toEqual(lines.map((line) => String(line.rowNumber)));
    });

    it('reads chunks of a thousand lines and chunks of one, in seq order, whatever the batch size', async () => {
      const runId = await createRun();
      await sql(
        insertLogChunksSql(`
         select ?::uuid, n, n + 1, null, null, null, 'unchanged', 'no_change', null, null, null
         from generate_series(1, 2500) as n`),
        [runId],
      );
      await sql(
        `insert into sync_log (run_id, seq, row_number, action, outcome)
         select ?, n, n + 1, 'deactivate', 'applied' from generate_series(2501, 2503) as n`,
        [runId],
      );
      const expected = Array.from({ length: 2503 }, (_, i) => String(i + 2));
      for (const batchSize of [1, 300, 1000, 5000]) {
        const { buffer, rows } = await exportTo(runId, 'csv', batchSize);
        expect(rows).toBe(2503);
        expect(
          parseCsv(buffer)
            .slice(1)
            .map((row) => row[0]),
        ).toEqual(expected);
      }
    });

    it.each([
      ['success', 'result', RESULT_HEADERS],
      ['data_load_failed', 'error', ERROR_HEADERS],
    ] as const)('writes only the header for a %s run with no log entries', async (status, _kind, headers) => {
      const runId = await createRun({ status });
      const { buffer, rows } = await exportTo(runId, 'csv');
      expect(rows).toBe(0);
      expect(buffer.toString('utf8')).toBe(`\uFEFF${headers.join(',')}\r\n`);
    });
  });

  describe('XLSX', () => {
    it('writes the sync result log that Excel reads back: header, values, neutralised cells', async () => {
      const runId = await createRun({ status: 'needs_attention' });
      await insertLog(runId, RESULT_LINES);
      const { buffer, rows } = await exportTo(runId, 'xlsx');
      expect(rows).toBe(5);
      expect(buffer.subarray(0, 2).toString('latin1')).toBe('PK');

      const { sheet, rows: cells } = await readXlsx(buffer);
      expect(sheet.name).toBe('Sync result log');
      expect(cells[0]).toEqual(RESULT_HEADERS);
      // Row numbers are numbers; empty cells are empty.
      expect(cells.slice(1)).toEqual(
        RESULT_ROWS.map((row) =>
          row.map((value, i) => (value === '' ? null : i === 0 ? Number(value) : value)),
        ),
      );
      expect(sheet.getColumn(3).width).toBe(32);
      expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    });

    it('writes the error log of a data load failure with what to do', async () => {
      const runId = await createRun({ status: 'data_load_failed' });
      await insertLog(runId, ERROR_LINES);
      const { buffer } = await exportTo(runId, 'xlsx');
      const { sheet, rows } = await readXlsx(buffer);
      expect(sheet.name).toBe('Error log');
      expect(rows).toEqual([
        ERROR_HEADERS,
        ...ERROR_ROWS.map((row) =>
          row.map((value, i) => (value === '' ? null : i === 0 ? Number(value) : value)),
        ),
      ]);
    });

    it('keeps seq order across batches', async () => {
      const runId = await createRun();
      await insertLog(
        runId,
        Array.from({ length: 7 }, (_, i) => ({ rowNumber: 100 - i })),
      );
      const { buffer } = await exportTo(runId, 'xlsx', 3);
      const { rows } = await readXlsx(buffer);
      expect(rows.slice(1).map((row) => row[0])).toEqual([100, 99, 98, 97, 96, 95, 94]);
    });

    it.each([
      ['success', RESULT_HEADERS],
      ['data_load_failed', ERROR_HEADERS],
    ] as const)('writes only the header for a %s run with no log entries', async (status, headers) => {
      const runId = await createRun({ status });
      const { buffer, rows } = await exportTo(runId, 'xlsx');
      expect(rows).toBe(0);
      expect((await readXlsx(buffer)).rows).toEqual([headers]);
    });

    it('cuts a cell longer than Excel allows instead of writing a file Excel must repair', async () => {
      const runId = await createRun();
      await insertLog(runId, [{ rowNumber: 2, message: 'x'.repeat(40_000) }]);
      const { rows } = await readXlsx((await exportTo(runId, 'xlsx')).buffer);
      const message = rows[1]![7] as string;
      expect(message).toHaveLength(32_767);
      expect(message.endsWith('x…')).toBe(true);
    });
  });

  describe('refusals and failures', () => {
    it.each(['queued', 'in_progress', 'above_deactivation_threshold', 'cancelled'] as const)(
      'refuses a %s run with CONFLICT and leaves the output untouched',
      async (status) => {
        const runId = await createRun({ status });
        for (const format of ['csv', 'xlsx'] as const) {
          const output = new Collector();
          await expect(exportRunLog({ em: orm.em.fork(), runId, format, output })).rejects.toMatchObject({
            code: 'CONFLICT',
            message: expect.stringMatching(/^This run has no logs to download/),
          });
          expect(output.chunks).toEqual([]);
          expect(output.writable).toBe(true);
        }
      },
    );

    it('refuses an unknown run with NOT_FOUND', async () => {
      await expect(
        exportRunLog({ em: orm.em.fork(), runId: UNKNOWN_ID, format: 'csv', output: new Collector() }),
      ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    });

    it.each(['csv', 'xlsx'] as const)(
      'stops with an error, without hanging, when the %s reader goes away midway',
      async (format) => {
        const runId = await createRun();
        await sql(
          insertLogChunksSql(`
           select ?::uuid, n, n + 1, null, 'user' || n || '@acme.example', null, 'create', 'applied', null,
             repeat('m', 200), null
           from generate_series(1, 20000) as n`),
          [runId],
        );
        let written = 0;
        const output = new Writable({
          highWaterMark: 1024,
          write(chunk: Buffer, _encoding, callback) {
            written += chunk.length;
            // The reader hangs up after the first 64 KB.
            if (written > 64 * 1024) {
              callback();
              this.destroy();
              return;
            }
            callback();
          },
        });
        await expect(
          exportRunLog({ em: orm.em.fork(), runId, format, output, batchSize: 1000 }),
        ).rejects.toThrow();
        expect(output.destroyed).toBe(true);
      },
    );
  });

  describe('a 200,000-line log', () => {
    const LINES = 200_000;
    let runId: string;
    /** The bare read of the same chunks, as many lines per query, nothing decoded or written: the baseline for ratios. */
    let readMs: number;

    beforeAll(async () => {
      runId = await createRun({ status: 'needs_attention' });
      const started = performance.now();
      await sql(
        insertLogChunksSql(`
         select ?::uuid, n, n + 1, 'E-' || lpad(n::text, 6, '0'), 'user' || n || '@acme.example', 'User Number ' || n,
           case when n % 10 = 0 then 'update' else 'create' end,
           case when n % 50 = 0 then 'warning' else 'applied' end,
           case when n % 10 = 0 then jsonb_build_object('department', jsonb_build_object('before', 'Sales', 'after', 'Marketing'), 'job_title', jsonb_build_object('before', null, 'after', 'Engineer ' || n)) end,
           case when n % 50 = 0 then 'Unknown manager boss' || n || '@acme.example' end, null
         from generate_series(1, ${LINES}) as n`),
        [runId],
      );
      console.log(`log export: inserted ${LINES} log lines in ${Math.round(performance.now() - started)} ms`);

      const reading = performance.now();
      let after = -1;
      for (;;) {
        const batch = await orm.em.fork().execute<{ first_seq: number }[]>(
          `select first_seq, lines::text as lines from sync_log_chunk
             where run_id = ? and first_seq > ? order by first_seq limit 5`,
          [runId, after],
        );
        if (batch.length === 0) break;
        after = batch[batch.length - 1]!.first_seq;
      }
      readMs = Math.round(performance.now() - reading);
      console.log(`log export: bare keyset read of ${LINES} log lines in ${readMs} ms`);
    });

    it.each(['csv', 'xlsx'] as const)('exports it as %s with bounded memory', async (format) => {
      globalThis.gc?.();
      const rssBefore = process.memoryUsage.rss();
      const output = new Counter();
      const started = performance.now();
      const { rows } = await exportRunLog({ em: orm.em.fork(), runId, format, output });
      const ms = Math.round(performance.now() - started);
      const peakDeltaMb = Math.round(
        (Math.max(output.peakRss, process.memoryUsage.rss()) - rssBefore) / 2 ** 20,
      );
      console.log(
        `log export: ${LINES} lines as ${format} in ${ms} ms, ${(output.bytes / 2 ** 20).toFixed(1)} MB, ` +
          `${(ms / readMs).toFixed(1)}× the bare read, ` +
          `peak RSS ${Math.round(output.peakRss / 2 ** 20)} MB (+${peakDeltaMb} MB over the start)`,
      );
      expect(rows).toBe(LINES);
      expect(output.writableFinished).toBe(true);
      expect(output.bytes).toBeGreaterThan(LINES * 20);
      // Loose: holding every line at once would take several hundred MB.
      expect(peakDeltaMb).toBeLessThan(200);
    });
  });
});
