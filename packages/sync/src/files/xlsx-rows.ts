import { posix } from 'node:path';
import { Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import { SourceError, type TextBudget } from '../connectors/source.ts';
import { formatBytes, type RawRow, type RawRowSource } from './raw-rows.ts';
import { decodeXmlText, readAttributes, XmlScanner } from './xml-scanner.ts';
import {
  corruptArchive,
  openZipArchive,
  type UnpackBudget,
  type ZipArchive,
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
 * The parts of exceljs's streaming WorkbookReader used here (exceljs is pinned to 4.4.0): its parsers of
 * the workbook, relationships and styles (small parts). Its own parse() reads the archive in one
 * streaming pass, which on Node 18+ intermittently loses xl/workbook.xml (exceljs issue #3064) and
 * decodes each chunk on its own, breaking characters split between chunks; so the entries are read here
 * from the archive's central directory and handed to its part parsers one by one. The large parts are
 * read by `sharedStrings` and `sheetRows` below on a lean XML scanner: exceljs parses them with saxes,
 * which checks every character, and its worksheet reader builds a styled Row and Cell model per cell;
 * together they cost more than the rest of an import.
 */
interface ExcelJsStreamReader {
  workbookRels?: Relationship[];
  model?: { sheets?: SheetModel[] };
  properties?: { model?: { date1904?: boolean } };
  _parseRels(entry: Readable): Promise<void>;
  _parseWorkbook(entry: Readable): Promise<void>;
  _parseStyles(entry: Readable): Promise<void>;
  styles?: { getStyleModel(id: number): { numFmt?: string } | undefined };
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

/** Column number (1-based) of a cell reference such as "AB12"; 0 when it has none. */
export function columnOf(reference: string | undefined): number {
  if (!reference) return 0;
  let column = 0;
  for (let index = 0; index < reference.length; index++) {
    const code = reference.charCodeAt(index);
    if (code >= 65 && code <= 90) column = column * 26 + (code - 64);
    else if (code >= 97 && code <= 122) column = column * 26 + (code - 96);
    else break;
  }
  return column;
}

export interface SheetContext {
  sharedStrings: readonly string[];
  /** Charged with each shared string a cell refers to: a reference hands the text on once more. */
  text: TextBudget;
  /** Whether cells of this style show a date or time (answered once per style: it is asked per cell). */
  isDateStyle(styleId: number): boolean;
  date1904: boolean;
}

/** A cell's text: the type (`t`) and value (`v`, or the inline string) as the sheet XML holds them. */
export function cellText(
  type: string | undefined,
  value: string,
  styleId: number,
  context: SheetContext,
): string {
  switch (type) {
    case 's': {
      const text = context.sharedStrings[Number.parseInt(value, 10)] ?? '';
      context.text.add(text.length);
      return text;
    }
    case 'inlineStr':
    case 'str':
    case 'e':
      return value;
    case 'b':
      return value === '' ? '' : Number(value) !== 0 ? 'TRUE' : 'FALSE';
    default: {
      if (value === '') return '';
      const number = Number(value);
      if (Number.isNaN(number)) return value;
      // A number shown as a date (by its style's format) is a serial day count since the epoch.
      if (styleId > 0 && context.isDateStyle(styleId)) {
        return dateText(excelSerialToDate(number, context.date1904));
      }
      return numberText(number);
    }
  }
}

/** Excel's own limits: characters in a cell, and columns (A to XFD). */
const MAX_CELL_CHARACTERS = 32_767;
const MAX_COLUMNS = 16_384;

function notFromExcel(origin: string, what: string): SourceError {
  return new SourceError('CorruptFile', `${origin} has ${what}.`, {
    hint: 'The file was not saved by Excel, or is damaged: check where it comes from, or open it in Excel, save it again as .xlsx and upload it again.',
  });
}

/**
 * The text of an item (a shared string, a cell): what its value elements (`<t>`, and `<v>` in a sheet)
 * hold, joined, entities decoded; phonetic guides (`<rPh>`) are left out. Fed the scanner's events.
 * Past Excel's limit for a cell it fails (`tooLong`) rather than collect more: a zip bomb's padding put
 * in one cell would otherwise grow one string to the unpacking budget.
 */
class ItemText {
  text = '';
  /** Whether a value element has opened since `start`: an empty `<v></v>` is a value, no element is none. */
  found = false;
  private collecting = false;
  private phonetic = false;

  constructor(
    private readonly valueTags: ReadonlySet<string>,
    private readonly tooLong: () => Error,
  ) {}

  start(): void {
    this.text = '';
    this.found = false;
  }

  /** An element opens; `inItem` says whether an item is being read. */
  open(name: string, inItem: boolean): void {
    if (name === 'rPh') this.phonetic = true;
    else if (inItem && !this.phonetic && this.valueTags.has(name)) {
      this.collecting = true;
      this.found = true;
    }
  }

  close(name: string): void {
    if (name === 'rPh') this.phonetic = false;
    else if (this.valueTags.has(name)) this.collecting = false;
  }

  /** For XmlHandler.text and .cdata. */
  readonly handler = {
    text: (raw: string) => {
      if (!this.collecting) return;
      this.text += decodeXmlText(raw);
      if (this.text.length > MAX_CELL_CHARACTERS) throw this.tooLong();
    },
    cdata: (value: string) => {
      if (!this.collecting) return;
      this.text += value;
      if (this.text.length > MAX_CELL_CHARACTERS) throw this.tooLong();
    },
  };
}

const SHARED_STRING_TAGS: ReadonlySet<string> = new Set(['t']);
const CELL_VALUE_TAGS: ReadonlySet<string> = new Set(['v', 't']);

/**
 * The shared strings part (`<sst><si>`): each item's text, in order, for cells of type `s` to point at.
 * An item is one `<t>` or rich-text runs (`<r><t>`), joined; phonetic guides (`<rPh>`) are left out.
 * The table is held whole while the sheet is read, so each item is charged to `text` as it is read.
 */
export async function sharedStrings(xml: AsyncIterable<string>, text: TextBudget): Promise<string[]> {
  const strings: string[] = [];
  const item = new ItemText(SHARED_STRING_TAGS, () =>
    notFromExcel(
      text.origin,
      `a shared string (number ${strings.length + 1}) longer than ${MAX_CELL_CHARACTERS.toLocaleString('en-US')} characters, more than Excel allows in a cell`,
    ),
  );
  let inItem = false;
  const scanner = new XmlScanner({
    ...item.handler,
    open(name) {
      if (name === 'si') {
        inItem = true;
        item.start();
      } else item.open(name, inItem);
    },
    close(name) {
      if (name === 'si') {
        text.add(item.text.length);
        strings.push(item.text);
        inItem = false;
      } else item.close(name);
    },
  });
  for await (const chunk of xml) scanner.write(chunk);
  scanner.close();
  return strings;
}

/**
 * The rows of a sheet's XML (`<sheetData><row r><c r t s><v>` / `<is><t>`), one array of cell texts per
 * row, streamed chunk by chunk. Formulas are not evaluated: a formula cell gives the result Excel saved.
 * Phonetic runs (`<rPh>`) are not part of a cell's text.
 */
export async function* sheetRows(
  xml: AsyncIterable<string>,
  context: SheetContext,
): AsyncGenerator<RawRow[]> {
  let ready: RawRow[] = [];
  let rowNumber = 0;
  let cells: string[] | null = null;
  let column = 0;
  let cellType: string | undefined;
  let cellStyle = 0;
  const where = () => (reference ? `cell ${reference}` : `row ${rowNumber}, column ${column}`);
  const cell = new ItemText(CELL_VALUE_TAGS, () =>
    notFromExcel(
      context.text.origin,
      `a cell longer than ${MAX_CELL_CHARACTERS.toLocaleString('en-US')} characters, more than Excel allows (${where()})`,
    ),
  );
  // Attributes read by the open tag being handled (readAttributes calls back, once per attribute).
  let reference: string | undefined;
  let type: string | undefined;
  let style: string | undefined;
  const onAttribute = (name: string, value: string) => {
    if (name === 'r') reference = value;
    else if (name === 't') type = value;
    else if (name === 's') style = value;
  };

  const scanner = new XmlScanner({
    ...cell.handler,
    open(name, attributes) {
      switch (name) {
        case 'row': {
          reference = undefined;
          readAttributes(attributes, onAttribute);
          const declared = Number.parseInt(reference ?? '', 10);
          rowNumber = Number.isFinite(declared) && declared > 0 ? declared : rowNumber + 1;
          cells = [];
          column = 0;
          break;
        }
        case 'c': {
          reference = undefined;
          type = undefined;
          style = undefined;
          readAttributes(attributes, onAttribute);
          const declared = columnOf(reference);
          column = declared > 0 ? declared : column + 1;
          // The row's cells become an array as wide as its last column: a hostile column number would
          // make one row gigabytes.
          if (column > MAX_COLUMNS) {
            throw notFromExcel(
              context.text.origin,
              `a cell beyond column XFD, the last column Excel has (${where()})`,
            );
          }
          cellType = type;
          cellStyle = style ? Number.parseInt(style, 10) || 0 : 0;
          cell.start();
          break;
        }
        default:
          cell.open(name, cells !== null);
      }
    },
    close(name) {
      switch (name) {
        case 'c':
          if (cells && cell.found && column > 0)
            cells[column - 1] = cellText(cellType, cell.text, cellStyle, context);
          break;
        case 'row':
          if (cells) ready.push({ rowNumber, cells: Array.from(cells, (value) => value ?? '') });
          cells = null;
          break;
        default:
          cell.close(name);
      }
    },
  });

  for await (const chunk of xml) {
    scanner.write(chunk);
    if (ready.length > 0) {
      yield ready;
      ready = [];
    }
  }
  scanner.close();
  if (ready.length > 0) yield ready;
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
  settings: { sheet?: string; maxUncompressedBytes: number; text: TextBudget },
  origin: string,
): Promise<RawRowSource> {
  const archive = await openZipArchive(path, origin);
  try {
    return await openSheet(path, archive, settings, origin);
  } catch (error) {
    archive.close();
    throw error;
  }
}

async function openSheet(
  path: string,
  archive: ZipArchive,
  settings: { sheet?: string; maxUncompressedBytes: number; text: TextBudget },
  origin: string,
): Promise<RawRowSource> {
  const { sheet, maxUncompressedBytes: limit, text } = settings;
  const { entries } = archive;
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
    sharedStrings: 'ignore',
    styles: 'cache',
    hyperlinks: 'ignore',
    entries: 'ignore',
  }) as unknown as ExcelJsStreamReader;
  const part = (entry: ZipEntry) => Readable.from(archive.text(entry, budget));
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
  let strings: string[] = [];
  try {
    const stringsEntry = partOfType('sharedStrings', 'xl/sharedStrings.xml');
    if (stringsEntry) strings = await sharedStrings(archive.text(stringsEntry, budget), text);
  } catch (error) {
    throw parseFailed('text table (shared strings)', error);
  }
  try {
    const styles = partOfType('styles', 'xl/styles.xml');
    if (styles) await reader._parseStyles(part(styles));
  } catch (error) {
    throw parseFailed('styles', error);
  }

  const sheetText = archive.text(sheetEntry, budget);
  const styles = reader.styles;
  const dateStyles = new Map<number, boolean>();
  const context: SheetContext = {
    sharedStrings: strings,
    text,
    isDateStyle(styleId) {
      let known = dateStyles.get(styleId);
      if (known === undefined) {
        known = isDateFormat(styles?.getStyleModel(styleId)?.numFmt);
        dateStyles.set(styleId, known);
      }
      return known;
    },
    date1904: reader.properties?.model?.date1904 === true,
  };
  const sheetName = chosen.name;

  async function* rows(): AsyncGenerator<RawRow[]> {
    try {
      yield* sheetRows(sheetText, context);
    } catch (error) {
      throw parseFailed(`sheet "${sheetName}"`, error);
    }
  }

  return {
    rows: rows(),
    shortRowsAreNormal: true,
    release() {
      // Ends the sheet's file and inflate streams (the text generator's finally), then the file.
      void sheetText.return(undefined).catch(() => {});
      archive.close();
    },
  };
}
