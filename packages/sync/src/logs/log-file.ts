import { ACTION_LABELS, type FieldChanges, type LogFormat, OUTCOME_LABELS } from '@provisioning/shared';
import type { LogEntry } from './log-entry.ts';

/** What a run's log file is: the sync result log (Success, Needs Attention) or the error log (Data Load Failed). */
export type LogFileKind = 'result' | 'error';

export const LOG_CONTENT_TYPES: Record<LogFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The numeric parts of an instant on the wall clock of a time zone (UTC when the zone is unknown). */
function wallClock(instant: Date, timeZone: string) {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      hourCycle: 'h23',
    });
  } catch {
    // Organisation time zones are validated when saved; one a later ICU drops must not block downloads.
    return wallClock(instant, 'UTC');
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, part.value]));
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    // Some ICU versions print midnight as 24 even with h23.
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
  };
}

/**
 * The download name of a run's log: `Sync Logs - 15 Jan 2024 10.30pm.csv`, the run's start on the
 * organisation's wall clock (12-hour, no leading zero on day or hour). The caller passes the queued time
 * for a run that never started.
 */
export function logFileName(runStartedAt: Date, timeZone: string, format: LogFormat): string {
  const { year, month, day, hour, minute } = wallClock(runStartedAt, timeZone);
  const hour12 = hour % 12 === 0 ? 12 : hour % 12;
  const period = hour < 12 ? 'am' : 'pm';
  const time = `${hour12}.${String(minute).padStart(2, '0')}${period}`;
  return `Sync Logs - ${day} ${MONTHS[month - 1]} ${year} ${time}.${format}`;
}

/**
 * Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"), the full-width
 * forms included: Excel in East Asian locales reads ＝ as =.
 */
const FORMULA_TRIGGERS = '=+\\-@\\t\\r\\n＝＋－＠';
/** What Excel may split a CSV line on, by the reader's locale: `;` in de/fr/nl, tab and `|` by choice. */
const CSV_SEPARATORS = ',;\\t|';
const STARTS_WITH_TRIGGER = new RegExp(`^[${FORMULA_TRIGGERS}]`);
const TRIGGER_AFTER_SEPARATOR = new RegExp(`([${CSV_SEPARATORS}])([${FORMULA_TRIGGERS}])`, 'g');
const NEEDS_CSV_QUOTES = new RegExp(`["\\r\\n${CSV_SEPARATORS}]`);

/**
 * Neutralises a cell a spreadsheet could run as a formula: text starting with `=`, `+`, `-`, `@`, tab,
 * CR or LF (or a full-width `＝ ＋ － ＠`) gets a leading single quote; the rest of the text is kept as is.
 */
export function neutraliseCell(value: string): string {
  return STARTS_WITH_TRIGGER.test(value) ? `'${value}` : value;
}

const EMPTY = '(empty)';

/**
 * Field-level changes as one readable cell: `department: Sales → Marketing; job_title: (empty) → Engineer`.
 * Fields in name order (jsonb does not keep the order they were written in).
 */
export function formatChanges(changes: FieldChanges | null | undefined): string {
  if (!changes) return '';
  return Object.keys(changes)
    .sort()
    .map((field) => {
      const change = changes[field];
      const before = change?.before ?? '';
      const after = change?.after ?? '';
      return `${field}: ${before === '' ? EMPTY : before} → ${after === '' ? EMPTY : after}`;
    })
    .join('; ');
}

/** A sync_log row as the export reads it. */
export interface LogFileEntry extends Omit<LogEntry, 'hint'> {
  seq: number;
  hint: string | null;
}

export type LogCell = string | number | null;

export interface LogColumn {
  header: string;
  /** Width in Excel character units. */
  width: number;
  value(entry: LogFileEntry): LogCell;
}

export const LOG_COLUMNS: Record<LogFileKind, LogColumn[]> = {
  result: [
    { header: 'Row', width: 8, value: (entry) => entry.rowNumber },
    { header: 'External ID', width: 16, value: (entry) => entry.externalId },
    { header: 'Email', width: 32, value: (entry) => entry.email },
    { header: 'Name', width: 24, value: (entry) => entry.name },
    { header: 'Action', width: 13, value: (entry) => ACTION_LABELS[entry.action] ?? entry.action },
    { header: 'Outcome', width: 12, value: (entry) => OUTCOME_LABELS[entry.outcome] ?? entry.outcome },
    { header: 'Changes', width: 60, value: (entry) => formatChanges(entry.changes) },
    { header: 'Message', width: 60, value: (entry) => entry.message },
  ],
  error: [
    { header: 'Row', width: 8, value: (entry) => entry.rowNumber },
    { header: 'Error', width: 70, value: (entry) => entry.message },
    { header: 'What to do', width: 70, value: (entry) => entry.hint },
  ],
};

/** The header cells of a log file. */
export function logHeaders(kind: LogFileKind): string[] {
  return LOG_COLUMNS[kind].map((column) => column.header);
}

/** One line of a log file, every text cell neutralised; empty values are null. */
export function logCells(kind: LogFileKind, entry: LogFileEntry): LogCell[] {
  return LOG_COLUMNS[kind].map((column) => {
    const value = column.value(entry);
    if (value === '' || value === null) return null;
    return typeof value === 'string' ? neutraliseCell(value) : value;
  });
}

/**
 * One CSV field (RFC 4180): quoted when it holds a quote, CR, LF or any separator Excel may split on
 * (a semicolon-locale Excel splits `Bob;=1+1` unquoted, and would see `=1+1` as a cell of its own); quotes
 * doubled. A formula trigger right after a separator inside the field gets a single quote too, for
 * readers that split on that separator whatever the quotes say.
 */
export function csvField(value: LogCell): string {
  if (value === null) return '';
  const text = String(value);
  if (!NEEDS_CSV_QUOTES.test(text)) return text;
  return `"${text.replace(TRIGGER_AFTER_SEPARATOR, "$1'$2").replaceAll('"', '""')}"`;
}

/** One CSV record with its CRLF line end. */
export function csvLine(cells: readonly LogCell[]): string {
  return `${cells.map(csvField).join(',')}\r\n`;
}
