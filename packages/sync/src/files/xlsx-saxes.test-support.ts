import { SaxesParser, type SaxesTagNS } from 'saxes';
import type { RawRow } from './raw-rows.ts';
import { cellText, columnOf, type SheetContext } from './xlsx-rows.ts';

/**
 * The shared strings and rows of XLSX parts read with saxes, a maintained SAX parser that checks all of
 * XML: the reference that `sharedStrings` and `sheetRows` (on the project's lean XmlScanner) are tested
 * and benchmarked against. Written from the format, apart from the scanner's code; only turning a cell's
 * type and value into its text (`cellText`) and a reference into a column (`columnOf`) is shared, as
 * neither is XML.
 */
function parse(
  chunks: Iterable<string>,
  on: { open(tag: SaxesTagNS): void; close(local: string): void; text(text: string): void },
): void {
  const parser = new SaxesParser({ xmlns: true });
  let failure: Error | undefined;
  parser.on('error', (error) => {
    failure ??= error;
  });
  parser.on('opentag', (tag) => on.open(tag));
  parser.on('closetag', (tag) => on.close(tag.local));
  parser.on('text', (text) => on.text(text));
  parser.on('cdata', (text) => on.text(text));
  for (const chunk of chunks) {
    parser.write(chunk);
    if (failure) throw failure;
  }
  parser.close();
  if (failure) throw failure;
}

/** An unprefixed attribute's value, as SpreadsheetML writes `r`, `t` and `s`. */
function attribute(tag: SaxesTagNS, name: string): string | undefined {
  const found = tag.attributes[name];
  return found && found.prefix === '' ? found.value : undefined;
}

/** Each `<si>`'s text: its `<t>` elements joined, phonetic guides (`<rPh>`) left out. */
export function sharedStringsWithSaxes(chunks: Iterable<string>): string[] {
  const strings: string[] = [];
  let item: string | null = null;
  let phonetic = 0;
  let inT = false;
  parse(chunks, {
    open(tag) {
      if (tag.local === 'si') item = '';
      else if (tag.local === 'rPh') phonetic++;
      else if (tag.local === 't' && item !== null && phonetic === 0) inT = true;
    },
    close(local) {
      if (local === 'si') {
        strings.push(item ?? '');
        item = null;
      } else if (local === 'rPh') phonetic--;
      else if (local === 't') inT = false;
    },
    text(text) {
      if (inT && item !== null) item += text;
    },
  });
  return strings;
}

/**
 * The rows of a sheet: each `<row>` (numbered by `r`, else after the previous one) with its cells placed
 * by their reference (else after the previous cell); a cell's value is what its `<v>` and `<t>`
 * elements hold, outside phonetic guides; a cell with neither stays empty.
 */
export function sheetRowsWithSaxes(chunks: Iterable<string>, context: SheetContext): RawRow[] {
  const rows: RawRow[] = [];
  let rowNumber = 0;
  let cells: string[] | null = null;
  let column = 0;
  let cell: { type: string | undefined; style: number; value: string | null } | null = null;
  let phonetic = 0;
  let inValue = false;
  parse(chunks, {
    open(tag) {
      switch (tag.local) {
        case 'row': {
          const declared = Number.parseInt(attribute(tag, 'r') ?? '', 10);
          rowNumber = Number.isFinite(declared) && declared > 0 ? declared : rowNumber + 1;
          cells = [];
          column = 0;
          break;
        }
        case 'c': {
          const declared = columnOf(attribute(tag, 'r'));
          column = declared > 0 ? declared : column + 1;
          const style = attribute(tag, 's');
          cell = {
            type: attribute(tag, 't'),
            style: style ? Number.parseInt(style, 10) || 0 : 0,
            value: null,
          };
          break;
        }
        case 'rPh':
          phonetic++;
          break;
        case 'v':
        case 't':
          if (cells !== null && cell !== null && phonetic === 0) {
            inValue = true;
            cell.value ??= '';
          }
      }
    },
    close(local) {
      switch (local) {
        case 'c':
          if (cells !== null && cell?.value != null && column > 0)
            cells[column - 1] = cellText(cell.type, cell.value, cell.style, context);
          cell = null;
          break;
        case 'row':
          if (cells !== null) rows.push({ rowNumber, cells: Array.from(cells, (value) => value ?? '') });
          cells = null;
          break;
        case 'rPh':
          phonetic--;
          break;
        case 'v':
        case 't':
          inValue = false;
      }
    },
    text(text) {
      if (inValue && cell?.value != null) cell.value += text;
    },
  });
  return rows;
}
