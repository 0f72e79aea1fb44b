import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { DEFAULT_MAX_TEXT_BYTES } from '@provisioning/shared';
import { SourceError, type SourceRecord, type SourceTable, TextBudget } from '../connectors/source.ts';
import { type CsvEncoding, csvRows } from './csv-rows.ts';
import type { RawRow, RawRowSource } from './raw-rows.ts';
import { xlsxRows } from './xlsx-rows.ts';

export type { CsvEncoding } from './csv-rows.ts';

export interface TabularFileOptions {
  /** `auto` decides by the file's first bytes, then by its extension. */
  format?: 'auto' | 'csv' | 'xlsx';
  /** XLSX: the sheet to read (case-insensitive); default the first visible sheet. */
  sheet?: string;
  /** CSV: default detected from the header line among `,` `;` tab `|`. */
  delimiter?: ',' | ';' | '\t' | '|';
  /** CSV: used when the file has no byte-order mark (a BOM always wins). Default UTF-8. */
  encoding?: CsvEncoding;
  /** More data rows than this fails the load (SizeLimitExceeded). */
  maxRows?: number;
  /** XLSX: cap on the workbook's total unpacked size, the zip-bomb guard. */
  maxUncompressedBytes?: number;
  /** Text the run may hold (TextBudget): the reader charges what it holds, the engine what it keeps. */
  maxTextBytes?: number;
  signal?: AbortSignal;
}

export const DEFAULT_MAX_ROWS = 500_000;
export const DEFAULT_MAX_UNCOMPRESSED_BYTES = 1024 ** 3;

/** Spreadsheet column letters for a 0-based index: 0 → A, 26 → AA. */
export function columnLetters(index: number): string {
  let letters = '';
  for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) {
    letters = String.fromCharCode(65 + ((n - 1) % 26)) + letters;
  }
  return letters;
}

const SNIFF_BYTES = 64 * 1024;

const startsWith = (head: Buffer, ...bytes: number[]) => bytes.every((byte, i) => head[i] === byte);

/** What a non-text, non-zip file looks like, from its magic bytes, for the error message. */
function describeBinary(head: Buffer): { looksLike: string; hint?: string } | null {
  if (startsWith(head, 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1)) {
    return {
      looksLike: 'an Excel 97-2003 workbook (.xls) or a password-protected workbook',
      hint: 'Save the file as .xlsx without a password, or as CSV (UTF-8), and upload it again.',
    };
  }
  if (startsWith(head, 0x89, 0x50, 0x4e, 0x47)) return { looksLike: 'a PNG image' };
  if (startsWith(head, 0xff, 0xd8, 0xff)) return { looksLike: 'a JPEG image' };
  if (startsWith(head, 0x47, 0x49, 0x46, 0x38)) return { looksLike: 'a GIF image' };
  if (startsWith(head, 0x25, 0x50, 0x44, 0x46)) return { looksLike: 'a PDF document' };
  if (startsWith(head, 0x7f, 0x45, 0x4c, 0x46)) return { looksLike: 'a program (ELF executable)' };
  if (startsWith(head, 0x1f, 0x8b)) {
    return { looksLike: 'a gzip-compressed file', hint: 'Upload the file uncompressed (CSV or XLSX).' };
  }
  if (startsWith(head, 0x52, 0x61, 0x72, 0x21)) return { looksLike: 'a RAR archive' };
  if (startsWith(head, 0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c)) return { looksLike: 'a 7-Zip archive' };
  const text = head.subarray(0, 256).toString('latin1').trimStart().toLowerCase();
  if (text.startsWith('<?xml')) return { looksLike: 'an XML document (an Excel 2003 XML spreadsheet?)' };
  if (text.startsWith('<!doctype html') || text.startsWith('<html') || text.startsWith('<table')) {
    return { looksLike: 'a web page (HTML), as some systems save "Excel" exports' };
  }
  return null;
}

function isZip(head: Buffer): boolean {
  return startsWith(head, 0x50, 0x4b, 0x03, 0x04) || startsWith(head, 0x50, 0x4b, 0x05, 0x06);
}

const XLSX_EXTENSIONS = new Set(['.xlsx', '.xlsm']);
const REEXPORT_HINT =
  'Check that the export writes CSV or XLSX; if the file was renamed, export it again in one of those formats.';

/**
 * Opens a CSV or XLSX file as a SourceTable: reads the header row and checks there is at least one data
 * row before returning, then streams the rest. Every failure is a SourceError saying what is wrong with
 * the file and how to fix it. `origin` names the file in messages (e.g. "host:/outbound/file.csv").
 */
export async function openTabularFile(
  path: string,
  options: TabularFileOptions,
  origin: string,
): Promise<SourceTable> {
  const format = options.format ?? 'auto';
  const size = await stat(path).then(
    (stats) => stats.size,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        throw new SourceError('SourceNotFound', `${origin} does not exist.`, {
          hint: 'Check the path in the configuration.',
          cause: error,
        });
      }
      throw error;
    },
  );
  if (size === 0) {
    throw new SourceError('NoDataRows', `${origin} is empty (0 bytes): no header row and no data rows.`, {
      hint: 'Check that the export that writes the file ran completely; nothing was changed.',
    });
  }

  const head = Buffer.alloc(Math.min(size, SNIFF_BYTES));
  const file = await open(path, 'r');
  try {
    await file.read(head, 0, head.length, 0);
  } finally {
    await file.close();
  }

  const extension = extname(path).toLowerCase();
  const text = new TextBudget(options.maxTextBytes ?? DEFAULT_MAX_TEXT_BYTES, origin);
  let source: RawRowSource;
  if (isZip(head)) {
    if (format === 'csv') {
      throw new SourceError(
        'UnsupportedFormat',
        `${origin} is a ZIP archive (an Excel workbook?), but the configuration says CSV.`,
        { hint: 'Set format to xlsx (or auto) in the configuration, or export the file as CSV.' },
      );
    }
    source = await xlsxRows(
      path,
      {
        sheet: options.sheet,
        maxUncompressedBytes: options.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES,
        text,
      },
      origin,
    );
  } else {
    const binary = describeBinary(head);
    if (binary) {
      throw new SourceError(
        'UnsupportedFormat',
        `${origin} looks like ${binary.looksLike}, not a CSV or XLSX file.`,
        {
          hint: binary.hint ?? REEXPORT_HINT,
        },
      );
    }
    if (format === 'xlsx' || (format === 'auto' && XLSX_EXTENSIONS.has(extension))) {
      throw new SourceError(
        'CorruptFile',
        `${origin} is ${format === 'xlsx' ? 'configured as an Excel workbook' : `named ${extension}`}, but its content is not an Excel workbook (an .xlsx file is a ZIP archive; this one is plain text or damaged).`,
        {
          hint: 'Export the file again as .xlsx; if it is really a CSV export, name it .csv or set format to csv.',
        },
      );
    }
    source = await csvRows(path, head, { delimiter: options.delimiter, encoding: options.encoding }, origin);
  }
  return tableFrom(source, origin, options, text);
}

function toSourceError(error: unknown, origin: string): unknown {
  if (error instanceof SourceError || (error instanceof Error && error.name === 'AbortError')) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SourceError('CorruptFile', `${origin} could not be read: ${message}.`, {
    hint: 'Open the file to check it is complete, save it again (CSV UTF-8 or XLSX) and upload it again.',
    cause: error,
  });
}

const isBlank = (row: RawRow) => row.cells.every((cell) => cell.trim() === '');

function headersFrom(row: RawRow, origin: string): string[] {
  const cells = row.cells.map((cell) => cell.trim());
  // Trailing blank cells are padding (a trailing delimiter, formatted empty columns), not columns.
  while (cells.length > 0 && cells[cells.length - 1] === '') cells.pop();
  const where = (index: number) => `column ${index + 1} (${columnLetters(index)})`;
  const blank = cells.flatMap((cell, index) => (cell === '' ? [index] : []));
  if (blank.length > 0) {
    throw new SourceError(
      'MissingColumns',
      `The header row (row ${row.rowNumber}) of ${origin} has no name in ${blank.map(where).join(', ')}. Found: ${cells.filter(Boolean).join(', ')}.`,
      {
        hint: 'Give every column in the header row its own name; merged or blank header cells are not supported.',
      },
    );
  }
  const seen = new Map<string, number>();
  for (const [index, cell] of cells.entries()) {
    const first = seen.get(cell);
    if (first !== undefined) {
      throw new SourceError(
        'MissingColumns',
        `The header row (row ${row.rowNumber}) of ${origin} has two columns named "${cell}": ${where(first)} and ${where(index)}.`,
        { hint: 'Rename or remove one of the two columns so that every column name is unique.' },
      );
    }
    seen.set(cell, index);
  }
  return cells;
}

function recordFrom(row: RawRow, headers: readonly string[], shortRowsAreNormal: boolean): SourceRecord {
  const values: Record<string, string> = {};
  for (let index = 0; index < headers.length; index++) {
    const header = headers[index] as string;
    const value = row.cells[index] ?? '';
    // A column named "__proto__" would otherwise set the object's prototype instead of a value.
    if (header === '__proto__') {
      Object.defineProperty(values, header, { value, enumerable: true, writable: true });
    } else {
      values[header] = value;
    }
  }
  const record: SourceRecord = { rowNumber: row.rowNumber, values };
  let found = row.cells.length;
  while (found > headers.length && (row.cells[found - 1] ?? '').trim() === '') found--;
  const short = found < headers.length && !shortRowsAreNormal;
  if (short || found > headers.length) {
    record.columnCountMismatch = {
      expected: headers.length,
      found,
      extraValues: row.cells.slice(headers.length, found).filter((cell) => cell.trim() !== ''),
    };
  }
  return record;
}

async function tableFrom(
  source: RawRowSource,
  origin: string,
  options: TabularFileOptions,
  textBudget: TextBudget,
): Promise<SourceTable> {
  const maxRows = options.maxRows ?? DEFAULT_MAX_ROWS;
  const nextBatch = async (): Promise<RawRow[] | null> => {
    let step: IteratorResult<RawRow[]>;
    try {
      step = await source.rows.next();
    } catch (error) {
      throw toSourceError(error, origin);
    }
    return step.done ? null : step.value;
  };
  // The batch the header and the first data row came in; its rest starts the records.
  let pending: RawRow[] = [];
  let at = 0;
  const nextNonBlank = async (): Promise<RawRow | null> => {
    for (;;) {
      while (at < pending.length) {
        const row = pending[at++] as RawRow;
        if (!isBlank(row)) return row;
      }
      const batch = await nextBatch();
      if (batch === null) return null;
      pending = batch;
      at = 0;
    }
  };

  let headers: string[];
  let first: RawRow | null;
  try {
    const headerRow = await nextNonBlank();
    if (!headerRow) {
      throw new SourceError('NoDataRows', `${origin} has no rows: no header row and no data rows.`, {
        hint: 'Check that the export that writes the file ran completely; nothing was changed.',
      });
    }
    headers = headersFrom(headerRow, origin);
    first = await nextNonBlank();
    if (!first) {
      throw new SourceError('NoDataRows', `${origin} has a header row but no data rows.`, {
        hint: 'Check that the export that writes the file ran completely; nothing was changed.',
      });
    }
  } catch (error) {
    source.release();
    throw error;
  }

  let opened = false;
  async function* records(): AsyncGenerator<SourceRecord[]> {
    try {
      let count = 0;
      for (let batch = [first as RawRow, ...pending.slice(at)]; ; ) {
        options.signal?.throwIfAborted();
        const out: SourceRecord[] = [];
        for (const row of batch) {
          if (isBlank(row)) continue;
          if (++count > maxRows) {
            throw new SourceError(
              'SizeLimitExceeded',
              `${origin} has more than ${maxRows.toLocaleString('en-US')} data rows, the limit for this configuration (maxRows).`,
              {
                hint: 'If the source really has this many people, raise maxRows in the configuration; otherwise check the export.',
              },
            );
          }
          out.push(recordFrom(row, headers, source.shortRowsAreNormal));
        }
        if (out.length > 0) yield out;
        const next = await nextBatch();
        if (next === null) return;
        batch = next;
      }
    } finally {
      source.release();
    }
  }

  return {
    origin,
    headers,
    textBudget,
    batches: {
      [Symbol.asyncIterator]() {
        if (opened) throw new Error(`The rows of ${origin} can be read only once`);
        opened = true;
        return records();
      },
    },
    close: async () => {
      source.release();
    },
  };
}
