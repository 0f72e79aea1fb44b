import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { DIRECTORY_FIELDS } from '@provisioning/shared';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';

/** The columns of a generated HR export: the directory fields, under their default header names. */
export const HR_COLUMNS = DIRECTORY_FIELDS;
export type HrColumn = (typeof HR_COLUMNS)[number];
export type HrRow = Record<HrColumn, string>;

// biome-ignore format: a table reads better packed
const FIRST_NAMES = [
  'Ada', 'Amira', 'Bruno', 'Chen', 'Chloé', 'Dmitri', 'Elif', 'Fatima', 'Grace', 'Hiro', 'Ines', 'Jonas',
  'Kwame', 'Lena', 'Mateo', 'Nadia', 'Olu', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tariq', 'Uma', 'Yusuf',
];
// biome-ignore format: a table reads better packed
const LAST_NAMES = [
  'Adeyemi', 'Berg', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Haddad', 'Ivanova', 'Jensen',
  'Kowalski', 'Lindqvist', 'Moreau', 'Nakamura', "O'Brien", 'Patel', 'Rossi', 'Schmidt', 'Tanaka', 'Weber',
];
const DEPARTMENTS = [
  'Engineering',
  'Sales',
  'Finance',
  'People',
  'Operations',
  'Marketing',
  'Legal',
  'Support',
];
const TITLES = [
  'Analyst',
  'Engineer',
  'Manager',
  'Specialist',
  'Coordinator',
  'Director',
  'Associate',
  'Lead',
];
const LOCATIONS = ['London', 'Paris', 'Berlin', 'New York', 'Lisbon', 'Singapore', 'Toronto', 'Remote'];

/** Per-row random numbers that depend only on (seed, user number), so row N is the same in every file. */
function rowRandom(seed: number, n: number): () => number {
  return seededRandom(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(n, 0xc2b2ae35));
}

/** Numbers in [0, 1) that depend only on `seed` (mulberry32): generated data that is the same every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(list: readonly T[], random: () => number): T => list[Math.floor(random() * list.length)]!;

/**
 * User N (1-based) of a deterministic HR export: employee_id `E000001`, email `user.N@example.com`, a
 * manager with a lower number (user 1 has none), employee_number with leading zeros, an ISO start date.
 */
export function hrRow(n: number, seed = 1): HrRow {
  const random = rowRandom(seed, n);
  const first = pick(FIRST_NAMES, random);
  const last = pick(LAST_NAMES, random);
  const department = pick(DEPARTMENTS, random);
  const start = new Date(Date.UTC(2005, 0, 1) + Math.floor(random() * 7300) * 86_400_000);
  return {
    employee_id: `E${String(n).padStart(6, '0')}`,
    email: `user.${n}@example.com`,
    first_name: first,
    last_name: last,
    job_title: `${department} ${pick(TITLES, random)}`,
    department,
    location: pick(LOCATIONS, random),
    // A tree roughly eight wide: always a lower-numbered user, so the file never has a cycle.
    manager_email: n === 1 ? '' : `user.${Math.max(1, Math.floor((n - 2) / 8) + 1)}@example.com`,
    employee_number: String(n).padStart(8, '0'),
    phone: `+44 20 7${String(1_000_000 + ((n * 7919) % 9_000_000)).slice(1)}`,
    start_date: start.toISOString().slice(0, 10),
  };
}

/** Rows 1..n, lazily: big files are written without holding every row. */
export function* iterateHrRows(n: number, seed = 1): Generator<HrRow> {
  for (let i = 1; i <= n; i++) yield hrRow(i, seed);
}

/** Rows 1..n as an array, the same rows the file writers produce for the same seed. */
export function generateHrRows(n: number, seed = 1): HrRow[] {
  return Array.from(iterateHrRows(n, seed));
}

/** The benchmarks' 5% delta of `rows`: 2.5% change job title, 1.25% leave, 1.25% join. */
export function deltaHrRows(rows: HrRow[]): HrRow[] {
  const n = rows.length;
  const changed = rows.map((row, i) => (i % 40 === 0 ? { ...row, job_title: `${row.job_title} II` } : row));
  const leavers = new Set(Array.from({ length: Math.floor(n * 0.0125) }, (_, i) => i * 80 + 1));
  const joiners = generateHrRows(n + Math.floor(n * 0.0125), 1).slice(n);
  return [...changed.filter((_, i) => !leavers.has(i)), ...joiners];
}

type RowInput = Partial<Record<string, string>>;

interface HrFileOptions {
  /** How many generated users, or the rows themselves (keyed by HR column). */
  rows: number | Iterable<RowInput>;
  seed?: number;
  /** Which columns, in which order (default: all of HR_COLUMNS). */
  columns?: readonly string[];
  /** Header text per column, to write e.g. "Work Email" instead of `email`. */
  headers?: Partial<Record<string, string>>;
}

export interface HrCsvOptions extends HrFileOptions {
  delimiter?: ',' | ';' | '\t' | '|';
  encoding?: 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252' | 'iso-8859-1';
  /** Writes the byte-order mark of the encoding (UTF-8 or UTF-16). */
  bom?: boolean;
  lineEnding?: '\n' | '\r\n';
}

const BOMS: Partial<Record<NonNullable<HrCsvOptions['encoding']>, Buffer>> = {
  'utf-8': Buffer.from([0xef, 0xbb, 0xbf]),
  'utf-16le': Buffer.from([0xff, 0xfe]),
  'utf-16be': Buffer.from([0xfe, 0xff]),
};

function rowsOf(options: HrFileOptions): Iterable<RowInput> {
  return typeof options.rows === 'number' ? iterateHrRows(options.rows, options.seed) : options.rows;
}

function csvCell(value: string, delimiter: string): string {
  return value.includes(delimiter) || /["\r\n]/.test(value) || value !== value.trim()
    ? `"${value.replaceAll('"', '""')}"`
    : value;
}

/** Writes an HR export as CSV (RFC 4180 quoting), streamed in batches so 200k rows stay cheap. */
export async function writeHrCsv(path: string, options: HrCsvOptions): Promise<void> {
  const delimiter = options.delimiter ?? ',';
  const encoding = options.encoding ?? 'utf-8';
  const newline = options.lineEnding ?? '\r\n';
  const columns = options.columns ?? HR_COLUMNS;
  const out = createWriteStream(path);
  const closed = once(out, 'close');
  const write = async (text: string) => {
    if (!out.write(iconv.encode(text, encoding, { addBOM: false }))) await once(out, 'drain');
  };
  const bom = options.bom ? BOMS[encoding] : undefined;
  if (bom) out.write(bom);
  const line = (cells: readonly string[]) => cells.map((cell) => csvCell(cell, delimiter)).join(delimiter);
  let batch = `${line(columns.map((column) => options.headers?.[column] ?? column))}${newline}`;
  let count = 0;
  for (const row of rowsOf(options)) {
    batch += line(columns.map((column) => row[column] ?? '')) + newline;
    if (++count % 2_000 === 0) {
      await write(batch);
      batch = '';
    }
  }
  await write(batch);
  out.end();
  await closed;
}

export interface HrXlsxOptions extends HrFileOptions {
  /** Name of the sheet holding the HR rows (default "Employees"). */
  sheetName?: string;
  /** Hidden sheets written before the HR sheet, each with a small decoy table (`code`, `label`). */
  hiddenSheets?: readonly string[];
  /** Visible sheets written after the HR sheet, each with a small decoy table (`code`, `label`). */
  sheets?: readonly string[];
  /** Uses the shared-strings table, as Excel itself does (default false: a third faster to write). */
  useSharedStrings?: boolean;
}

/**
 * Writes an HR export as XLSX with exceljs's streaming writer. start_date is a real Excel date
 * (formatted yyyy-mm-dd); every other cell is text, so IDs keep their leading zeros.
 */
export async function writeHrXlsx(path: string, options: HrXlsxOptions): Promise<void> {
  const columns = options.columns ?? HR_COLUMNS;
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
    filename: path,
    useSharedStrings: options.useSharedStrings ?? false,
    useStyles: true,
  });
  const decoy = (name: string, state: 'visible' | 'hidden') => {
    const sheet = workbook.addWorksheet(name, { state });
    sheet.addRow(['code', 'label']).commit();
    sheet.addRow(['X1', `not the HR data (${name})`]).commit();
    sheet.commit();
  };
  for (const name of options.hiddenSheets ?? []) decoy(name, 'hidden');

  const sheet = workbook.addWorksheet(options.sheetName ?? 'Employees');
  sheet.addRow(columns.map((column) => options.headers?.[column] ?? column)).commit();
  const dateColumn = columns.indexOf('start_date') + 1;
  // A column format is copied into each new cell: cheaper than styling 200k cells one by one.
  if (dateColumn > 0) sheet.getColumn(dateColumn).numFmt = 'yyyy-mm-dd';
  for (const row of rowsOf(options)) {
    sheet
      .addRow(
        columns.map((column) => {
          const value = row[column] ?? '';
          if (column === 'start_date' && /^\d{4}-\d{2}-\d{2}$/.test(value))
            return new Date(`${value}T00:00:00Z`);
          return value === '' ? null : value;
        }),
      )
      .commit();
  }
  sheet.commit();

  for (const name of options.sheets ?? []) decoy(name, 'visible');
  await workbook.commit();
}
