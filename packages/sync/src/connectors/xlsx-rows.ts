import { posix } from 'node:path';
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { SourceError } from '../source.ts';
import { formatBytes, type RawRow, type RawRowSource } from './file-reader.ts';
import {
  corruptArchive,
  entryText,
  readZipDirectory,
  type UnpackBudget,
  type ZipEntry,
} from './zip-archive.ts';

interface SheetModel {
  name: string;
  state?: string;
  rId: string;
}

interface Relationship {
  Id: string;
  Type: string;
  Target: string;
}

/**
 * The parts of exceljs's streaming WorkbookReader used here (exceljs is pinned to 4.4.0). Its own
 * parse() reads the archive in one streaming pass, which on Node 18+ intermittently loses
 * xl/workbook.xml (exceljs issue #3064) and decodes each chunk on its own, breaking characters split
 * between chunks; so the entries are read here from the archive's central directory and handed to
 * its part parsers one by one.
 */
interface ExcelJsStreamReader {
  workbookRels?: Relationship[];
  model?: { sheets?: SheetModel[] };
  properties?: { model?: { date1904?: boolean } };
  _parseRels(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
  _parseSharedStrings(entry: Readable): AsyncGenerator<unknown>;
  _parseStyles(entry: Readable): Promise<void>;
  _parseWorksheet(
    iterator: AsyncIterable<string>,
    sheetNo: string,
  ): Generator<{ eventType: string; value: AsyncIterable<ExcelJS.Row> }>;
}

/** Plain digits, never exponent notation: 1e21 → "1000000000000000000000", 1.0 → "1". */
export function numberText(value: number): string {
  if (!Number.isFinite(value)) return '';
  const text = String(value);
  return /e/i.test(text)
    ? value.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 })
    : text;
}

/** ISO date (YYYY-MM-DD), or date and time when the cell has a time of day. */
export function dateText(date: Date): string {
  const time = date.getTime();
  if (Number.isNaN(time)) return '';
  // Excel stores datetimes as fractions of a day; round away the floating-point dust.
  const iso = new Date(Math.round(time / 1000) * 1000).toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 19);
}

/** Whether a number format shows a date or time (d, m, y, h, s outside quoted text and [colour] tags). */
function isDateFormat(format: string | undefined): boolean {
  if (!format) return false;
  const bare = format.replace(/"[^"]*"|\[[^\]]*\]|\\./g, '');
  return /[dmyhs]/i.test(bare) && !/^general$/i.test(bare.trim());
}

function excelSerialToDate(serial: number, date1904: boolean): Date {
  const epoch = date1904 ? Date.UTC(1904, 0, 1) : Date.UTC(1899, 11, 30);
  return new Date(epoch + serial * 86_400_000);
}

function valueText(value: ExcelJS.CellValue, numFmt: string | undefined, date1904: boolean): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return dateText(value);
  if ('richText' in value) return value.richText.map((run) => run.text ?? '').join('');
  if ('formula' in value || 'sharedFormula' in value) {
    // The result Excel saved with the file; formulas are not evaluated here.
    const result = value.result;
    if (typeof result === 'number' && isDateFormat(numFmt))
      return dateText(excelSerialToDate(result, date1904));
    if (result !== null && typeof result === 'object' && 'error' in result) return result.error;
    return valueText(result as ExcelJS.CellValue, numFmt, date1904);
  }
  if ('error' in value) return value.error;
  if ('text' in value) return valueText(value.text as ExcelJS.CellValue, numFmt, date1904);
  return String(value);
}

/** What a ZIP archive that is not a workbook holds, for the message. */
function describeArchive(names: readonly string[]): string {
  if (names.some((name) => name.startsWith('word/'))) return 'a Word document';
  if (names.some((name) => name.startsWith('ppt/'))) return 'a PowerPoint presentation';
  if (names.includes('content.xml') && names.includes('mimetype')) return 'an OpenDocument file (.ods/.odt)';
  const files = names.filter((name) => !name.endsWith('/'));
  const shown = files.slice(0, 5);
  return `a ZIP archive holding ${shown.join(', ') || 'nothing'}${files.length > shown.length ? ', ...' : ''}`;
}

/** A relationship target (relative to xl/, or absolute in the package) as a path inside the archive. */
function partPath(target: string): string {
  return target.startsWith('/') ? target.slice(1) : posix.normalize(posix.join('xl', target));
}

/**
 * Opens one sheet of an XLSX file for streaming: by name when configured, else the first visible sheet
 * in tab order (hidden sheets are skipped). Only the parts needed are unpacked (workbook, shared strings,
 * styles, that sheet), each counted against `maxUncompressedBytes` while it unpacks; the sheet is parsed
 * row by row and never held whole.
 */
export async function xlsxRows(
  path: string,
  size: number,
  settings: { sheet?: string; maxUncompressedBytes: number },
  origin: string,
): Promise<RawRowSource> {
  const { sheet, maxUncompressedBytes: limit } = settings;
  const entries = await readZipDirectory(path, size, origin);
  const names = [...entries.keys()];
  if (!entries.has('xl/workbook.xml')) {
    throw new SourceError(
      'UnsupportedFormat',
      `${origin} is ${describeArchive(names)}, not an Excel workbook.`,
      {
        hint: 'Check that the export writes CSV or XLSX; if the file was renamed, export it again in one of those formats.',
      },
    );
  }
  const tooBig = (what: string) =>
    new SourceError(
      'SizeLimitExceeded',
      `${origin} unpacks to ${what}, more than the ${formatBytes(limit)} allowed for a workbook; it may be a zip bomb.`,
      { hint: 'Check where the file comes from; a genuine export this large should be sent as CSV instead.' },
    );
  const declared = [...entries.values()].reduce((sum, entry) => sum + entry.uncompressedSize, 0);
  if (declared > limit) throw tooBig(formatBytes(declared));
  const budget: UnpackBudget = { used: 0, limit, exceeded: () => tooBig(`more than ${formatBytes(limit)}`) };

  const reader = new ExcelJS.stream.xlsx.WorkbookReader(path, {
    worksheets: 'emit',
    sharedStrings: 'cache',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  }) as unknown as ExcelJsStreamReader;
  const part = (entry: ZipEntry) => Readable.from(entryText(path, entry, budget, origin));
  const parseFailed = (what: string, error: unknown) =>
    error instanceof SourceError ? error : corruptArchive(origin, `its ${what} cannot be read`, error);

  try {
    const rels = entries.get('xl/_rels/workbook.xml.rels');
    if (rels) await reader._parseRels(part(rels));
    await reader._parseWorkbook(part(entries.get('xl/workbook.xml')!));
  } catch (error) {
    throw parseFailed('list of sheets', error);
  }
  const relationships = reader.workbookRels ?? [];
  const sheets = reader.model?.sheets ?? [];
  const list = sheets
    .map((s) => (s.state && s.state !== 'visible' ? `${s.name} (hidden)` : s.name))
    .join(', ');

  let chosen: SheetModel | undefined;
  if (sheet !== undefined) {
    const wanted = sheet.trim().toLowerCase();
    chosen = sheets.find((s) => s.name.trim().toLowerCase() === wanted);
    if (!chosen) {
      throw new SourceError(
        'SourceNotFound',
        `${origin} has no sheet named "${sheet}". Sheets: ${list || 'none'}.`,
        {
          hint: 'Set sheet in the configuration to one of the sheet names, or leave it empty to read the first visible sheet.',
        },
      );
    }
  } else {
    chosen = sheets.find((s) => !s.state || s.state === 'visible');
    if (!chosen) {
      throw new SourceError('NoDataRows', `${origin} has no visible sheet. Sheets: ${list || 'none'}.`, {
        hint: 'Unhide the sheet that holds the people, or set sheet in the configuration to its name.',
      });
    }
  }
  const target = relationships.find((rel) => rel.Id === chosen.rId)?.Target;
  const sheetEntry = target ? entries.get(partPath(target)) : undefined;
  if (!sheetEntry) {
    throw corruptArchive(origin, `the data of sheet "${chosen.name}" is missing from the file`);
  }

  const partOfType = (type: string, fallback: string) => {
    const rel = relationships.find((r) => r.Type.endsWith(`/${type}`));
    return entries.get(rel ? partPath(rel.Target) : fallback);
  };
  try {
    const sharedStrings = partOfType('sharedStrings', 'xl/sharedStrings.xml');
    if (sharedStrings) for await (const _ of reader._parseSharedStrings(part(sharedStrings)));
  } catch (error) {
    throw parseFailed('text table (shared strings)', error);
  }
  try {
    const styles = partOfType('styles', 'xl/styles.xml');
    if (styles) await reader._parseStyles(part(styles));
  } catch (error) {
    throw parseFailed('styles', error);
  }

  const sheetText = entryText(path, sheetEntry, budget, origin);
  const emitted = reader._parseWorksheet(sheetText, '1').next();
  if (emitted.done) throw corruptArchive(origin, `sheet "${chosen.name}" cannot be read`);
  const worksheet = emitted.value.value;
  const date1904 = reader.properties?.model?.date1904 === true;
  const sheetName = chosen.name;

  async function* rows(): AsyncGenerator<RawRow> {
    try {
      for await (const row of worksheet) {
        const cells: string[] = [];
        row.eachCell({ includeEmpty: false }, (cell, column) => {
          cells[column - 1] = valueText(cell.value, cell.numFmt, date1904);
        });
        yield { rowNumber: row.number, cells: Array.from(cells, (cell) => cell ?? '') };
      }
    } catch (error) {
      throw parseFailed(`sheet "${sheetName}"`, error);
    }
  }

  return {
    rows: rows(),
    shortRowsAreNormal: true,
    release() {
      // Ends the sheet's file and inflate streams (entryText's finally).
      void sheetText.return(undefined).catch(() => {});
    },
  };
}
