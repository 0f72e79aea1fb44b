import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import {
  type EntityManager,
  inOrganisation,
  isUuid,
  readInOrganisation,
  type SqlQuery,
  SyncRun,
  sql,
} from '@provisioning/db';
import {
  DomainError,
  type LogFormat,
  purgedLogReason,
  RUN_STATUS_INFO,
  type RunStatus,
} from '@provisioning/shared';
import ExcelJS from 'exceljs';
import { readLogChunk } from './log-chunks.ts';
import {
  csvLine,
  LOG_COLUMNS,
  type LogFileEntry,
  type LogFileKind,
  logCells,
  logFileName,
  logHeaders,
} from './log-file.ts';

/** What the CLI and the API need to answer a download: 404, 409 with a reason, or the file's name and kind. */
export type RunLogInfo = {
  runId: string;
  organisationId: string;
  runStatus: RunStatus;
  /** The download name: the run's start (else its queued time) in the organisation's time zone. */
  fileName(format: LogFormat): string;
} & (
  | {
      /** The log the run offers. */
      kind: LogFileKind;
      unavailableReason: null;
    }
  | {
      kind: null;
      /** Why there is nothing to download: the answer to a 409. */
      unavailableReason: string;
    }
);

/**
 * Reads a run and its organisation's time zone. An unknown or malformed ID, or (with `organisationId`)
 * another organisation's run, is NOT_FOUND. A run without a log says why: its status has none, or
 * retention deleted it (when, and under which policy).
 */
export async function runLogInfo(
  em: EntityManager,
  runId: string,
  options: { organisationId?: string } = {},
): Promise<RunLogInfo> {
  const { organisationId } = options;
  const run =
    isUuid(runId) && (organisationId === undefined || isUuid(organisationId))
      ? await scoped(em, organisationId, (scope) =>
          scope.findOne(
            SyncRun,
            organisationId === undefined ? { id: runId } : { id: runId, organisation: organisationId },
            { populate: ['organisation'] },
          ),
        )
      : null;
  if (!run) throw new DomainError('NOT_FOUND', `Run ${runId} not found`);
  const runStatus: RunStatus = run.status;
  const status = RUN_STATUS_INFO[runStatus];
  const startedAt = run.startedAt ?? run.queuedAt;
  const timeZone = run.organisation.timeZone;
  const common = {
    runId: run.id,
    organisationId: run.organisation.id,
    runStatus,
    fileName: (format: LogFormat) => logFileName(startedAt, timeZone, format),
  };
  if (status.logKind === null) {
    return {
      ...common,
      kind: null,
      unavailableReason: `This run has no logs to download: it is ${status.label}. ${status.meaning}`,
    };
  }
  if (run.logPurgedAt && run.logPurgeRetentionDays !== null && run.logPurgeRetentionDays !== undefined) {
    const purge = { purgedAt: run.logPurgedAt.toISOString(), retentionDays: run.logPurgeRetentionDays };
    return { ...common, kind: null, unavailableReason: purgedLogReason(purge, timeZone) };
  }
  return { ...common, kind: status.logKind, unavailableReason: null };
}

/**
 * With an organisation, in a short transaction scoped to it (row-level security for the API's role);
 * without one (support tools), as is.
 */
function scoped<T>(
  em: EntityManager,
  organisationId: string | undefined,
  fn: (em: EntityManager) => Promise<T>,
): Promise<T> {
  return organisationId === undefined ? fn(em) : inOrganisation(em, organisationId, fn);
}

/** Log lines read per query (about): enough to keep round trips few, few enough to keep memory flat. */
export const LOG_EXPORT_BATCH_SIZE = 2000;

/**
 * The run's log entries in seq order, a batch per query: the chunks (see log-chunks.ts) whose first seq
 * lies within `batchSize` of the next one's, keyset on first_seq (the primary key's order). With the
 * consecutive seqs every writer uses, a batch holds at most `batchSize` + LOG_CHUNK_LINES - 1 lines.
 * Not inside one long transaction on purpose (each batch is its own, scoped to the organisation in one
 * round trip by `readInOrganisation`): a final run's log never changes, and a transaction held open for
 * a long download would stall every other connection of the embedded database (it serialises them).
 */
async function* logBatches(
  em: EntityManager,
  runId: string,
  batchSize: number,
  organisationId: string | undefined,
) {
  let after = -1;
  for (;;) {
    const batch: SqlQuery = {
      sql: `select first_seq, lines::text as lines from sync_log_chunk
         where run_id = ? and first_seq > ?
           and first_seq < (select min(first_seq) from sync_log_chunk where run_id = ? and first_seq > ?) + ?
         order by first_seq`,
      params: [runId, after, runId, after, batchSize],
    };
    type Row = { first_seq: number; lines: string };
    const rows =
      organisationId === undefined
        ? await sql<Row>(em, batch.sql, batch.params)
        : (await readInOrganisation<[Row[]]>(em, organisationId, [batch]))[0];
    if (rows.length === 0) return;
    yield rows.flatMap((row) => readLogChunk(row.lines));
    after = rows[rows.length - 1]!.first_seq;
  }
}

export interface ExportRunLogOptions {
  /** An EntityManager of @provisioning/db's Orm (a fork per request or command). */
  em: EntityManager;
  runId: string;
  format: LogFormat;
  /** Any writable: a file, an HTTP response. It is ended when the file is complete. */
  output: Writable;
  /** Only with this organisation's runs (the API's session organisation); others are NOT_FOUND. */
  organisationId?: string;
  batchSize?: number;
  /** Told the number of log lines read so far after each batch: how far the export ran ahead. */
  onProgress?: (lines: number) => void;
}

/**
 * Streams a run's log file (CSV or XLSX) into `output` and resolves once `output` has taken all of it,
 * with the number of log lines written. Memory stays bounded whatever the number of entries: entries
 * are read in batches and each batch waits for the output to keep up.
 *
 * NOT_FOUND and CONFLICT (a run with no log) are thrown before anything is written, leaving `output`
 * untouched so the caller can still answer. A failure once writing has begun destroys `output` with the
 * error: an HTTP client then sees a broken download, never a complete-looking truncated file.
 */
export async function exportRunLog(
  options: ExportRunLogOptions,
): Promise<{ kind: LogFileKind; rows: number }> {
  const { em, runId, format, output } = options;
  const info = await runLogInfo(em, runId, { organisationId: options.organisationId });
  if (info.kind === null) throw new DomainError('CONFLICT', info.unavailableReason);
  const batches = logBatches(
    em,
    info.runId,
    options.batchSize ?? LOG_EXPORT_BATCH_SIZE,
    options.organisationId,
  );
  const rows = await writeLogFile(info.kind, format, batches, output, options.onProgress);
  return { kind: info.kind, rows };
}

type Batches = AsyncIterable<LogFileEntry[]>;

/**
 * Streams log entries, a batch at a time, into `output` as a CSV or XLSX log file of `kind`, and
 * resolves with the number of entries once `output` has taken all of it. A failure destroys `output`.
 * Used for a run's stored log and for a dry run's would-be log alike.
 */
export function writeLogFile(
  kind: LogFileKind,
  format: LogFormat,
  batches: Batches,
  output: Writable,
  onProgress: Progress = () => {},
): Promise<number> {
  return format === 'csv'
    ? writeCsv(kind, batches, output, onProgress)
    : writeXlsx(kind, batches, output, onProgress);
}

type Progress = (lines: number) => void;

async function writeCsv(
  kind: LogFileKind,
  batches: Batches,
  output: Writable,
  progress: Progress,
): Promise<number> {
  let count = 0;
  async function* chunks() {
    // The BOM makes Excel read the file as UTF-8 (accents, non-Latin names) rather than the ANSI code page.
    yield Buffer.from(`\uFEFF${csvLine(logHeaders(kind))}`, 'utf8');
    for await (const batch of batches) {
      let text = '';
      for (const entry of batch) text += csvLine(logCells(kind, entry));
      count += batch.length;
      progress(count);
      yield Buffer.from(text, 'utf8');
    }
  }
  // pipeline waits on the output's backpressure, ends it when done and destroys it on failure.
  await pipeline(Readable.from(chunks(), { objectMode: false }), output);
  return count;
}

/** Excel shows at most this many characters in a cell and asks to repair a file with longer text. */
const XLSX_MAX_CELL_LENGTH = 32_767;
/**
 * Uncompressed sheet XML allowed to wait for the zip stream. exceljs writes a worksheet's XML into the
 * zip without heeding backpressure, so with a slow reader the backlog would grow to the whole file.
 * 1 MB (some 4k rows) keeps an export whose reader stopped within about two batches of it; 4 MB was no
 * faster on the 200k-line test (4.8 s at 1 MB, 5.7 s at 4 MB, same machine and run).
 */
const XLSX_MAX_BACKLOG_BYTES = 1024 * 1024;

function xlsxCell(value: ReturnType<typeof logCells>[number]) {
  if (typeof value === 'string' && value.length > XLSX_MAX_CELL_LENGTH) {
    return `${value.slice(0, XLSX_MAX_CELL_LENGTH - 1)}…`;
  }
  return value;
}

/**
 * Compressed bytes the zip stream may hold for a slow reader. archiver's default, 1 MB, is some 60k rows
 * of a log: a reader that stopped reading let an export run that far ahead (measured, 100k-line log).
 */
const XLSX_ZIP_HIGH_WATER_MARK = 64 * 1024;

async function writeXlsx(
  kind: LogFileKind,
  batches: Batches,
  output: Writable,
  progress: Progress,
): Promise<number> {
  // Settles when the output finishes, fails or is closed early; a wait on the writer races with it so
  // a reader that goes away cannot leave the export hanging.
  const outputDone = finished(output);
  outputDone.catch(() => {});
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
    stream: output,
    useSharedStrings: false,
    useStyles: false,
    // Passed on to archiver, which takes stream options; exceljs's type lists only the zip ones.
    zip: {
      highWaterMark: XLSX_ZIP_HIGH_WATER_MARK,
    } as ExcelJS.stream.xlsx.WorkbookStreamWriterOptions['zip'],
  });
  workbook.creator = 'User Provisioning';
  let count = 0;
  try {
    const sheet = workbook.addWorksheet(kind === 'result' ? 'Sync result log' : 'Error log', {
      views: [{ state: 'frozen', ySplit: 1 }],
    });
    sheet.columns = LOG_COLUMNS[kind].map((column) => ({ width: column.width }));
    sheet.addRow(logHeaders(kind)).commit();
    for await (const batch of batches) {
      for (const entry of batch) sheet.addRow(logCells(kind, entry).map(xlsxCell)).commit();
      count += batch.length;
      progress(count);
      await Promise.race([sheetBacklogDrained(sheet), outputDone]);
    }
    await Promise.race([workbook.commit(), outputDone]);
    await outputDone;
    return count;
  } catch (error) {
    output.destroy(error as Error);
    (workbook as unknown as { zip?: { abort?(): void } }).zip?.abort?.();
    throw error;
  }
}

interface WritableInternals {
  writableLength?: number;
  _writableState?: { length?: number };
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * Resolves once the sheet's XML waiting for the zip stream is under XLSX_MAX_BACKLOG_BYTES. It reads
 * exceljs 4.4's internals: the worksheet's StreamBuf writes into a PassThrough (readable-stream 2, which
 * has no `writableLength`) without heeding its backpressure. Should they change, it resolves at once and
 * the export still works, only without this bound.
 */
async function sheetBacklogDrained(sheet: ExcelJS.Worksheet): Promise<void> {
  const stream = (sheet as unknown as { stream?: { pipes?: unknown[] } }).stream;
  const target = stream?.pipes?.[0] as WritableInternals | undefined;
  const backlog = () => target?.writableLength ?? target?._writableState?.length;
  if (typeof backlog() !== 'number' || typeof target?.once !== 'function') return;
  while ((backlog() ?? 0) > XLSX_MAX_BACKLOG_BYTES) await once(target as unknown as Writable, 'drain');
}
