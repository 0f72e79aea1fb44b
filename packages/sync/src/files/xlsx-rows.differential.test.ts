import { seededRandom } from '@provisioning/testkit';
import { describe, expect, it } from 'vitest';
import { TextBudget } from '../connectors/source.ts';
import type { RawRow } from './raw-rows.ts';
import { type SheetContext, sharedStrings, sheetRows } from './xlsx-rows.ts';
import { sharedStringsWithSaxes, sheetRowsWithSaxes } from './xlsx-saxes.test-support.ts';

/**
 * The lean XmlScanner (behind `sharedStrings` and `sheetRows`) against saxes, a parser that checks all
 * of XML: generated shared-string and sheet parts, written in every way XML allows for the same content
 * (entities, numeric character references, CDATA, comments, namespace prefixes, self-closing elements,
 * inline and rich strings, phonetic guides, very long text, attribute order, quotes and spacing, line
 * ends), must give the same strings and the same cells. The scanner is fed the part in random chunks.
 * The seed is fixed, so a failure names a document that can be generated again.
 */

const SEED = 20_261_202;
const DOCUMENTS = 400;

class Generator {
  constructor(readonly next: () => number) {}

  chance(p: number): boolean {
    return this.next() < p;
  }

  int(from: number, to: number): number {
    return from + Math.floor(this.next() * (to - from + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }

  /** Text as a person would type it, with the characters XML must escape and some it may. */
  text(mayBeLong = true): string {
    const pieces = [
      'Ada',
      'Lovelace',
      ' ',
      '  ',
      'ada@example.com',
      '&',
      '<',
      '>',
      '"',
      "'",
      ']]',
      ']]>',
      'é',
      'Ünïcödé',
      '漢字',
      'ふりがな',
      '😀',
      '\n',
      '\t',
      '\r',
      '0042',
      '#N/A',
      '&amp;',
      'a;b',
    ];
    if (mayBeLong && this.chance(0.03)) {
      // Very long text, up to Excel's limit for a cell.
      const unit = this.pick(['x', 'Lorem ipsum & dolor <sit> ', 'é漢😀']);
      return unit.repeat(Math.floor(this.int(5_000, 32_000) / unit.length));
    }
    let text = '';
    const count = this.int(0, 8);
    for (let i = 0; i < count; i++) text += this.pick(pieces);
    return text;
  }

  /** One character as XML text: itself where allowed, else (or by chance) an entity or reference. */
  character(char: string, inAttribute: boolean): string {
    const code = char.codePointAt(0) as number;
    const reference = () =>
      this.chance(0.5)
        ? `&#${code};`
        : `&#x${code.toString(16)[this.chance(0.5) ? 'toUpperCase' : 'toLowerCase']()};`;
    switch (char) {
      case '&':
        return this.chance(0.7) ? '&amp;' : reference();
      case '<':
        return this.chance(0.7) ? '&lt;' : reference();
      case '>':
        return this.pick(['>', '&gt;', reference()]);
      case '"':
        return inAttribute ? '&quot;' : this.pick(['"', '&quot;', reference()]);
      case "'":
        return inAttribute ? '&apos;' : this.pick(["'", '&apos;', reference()]);
      case '\r':
        // A CR written as such is a line end; only a reference keeps it.
        return reference();
      case '\n':
        return inAttribute ? reference() : this.pick(['\n', '\r\n', reference()]);
      case '\t':
        return inAttribute ? reference() : this.pick(['\t', reference()]);
      default:
        return this.chance(0.05) ? reference() : char;
    }
  }

  /** `text` as element content: escaped runs and CDATA sections, sometimes split by a comment. */
  content(text: string): string {
    let xml = '';
    let index = 0;
    const chars = Array.from(text);
    while (index < chars.length) {
      const run = chars
        .slice(index, index + (chars.length > 1000 ? this.int(1, 8000) : this.int(1, 40)))
        .join('');
      index += Array.from(run).length;
      if (this.chance(0.2) && !run.includes(']]>') && !run.includes('\r')) {
        xml += `<![CDATA[${this.chance(0.5) ? run.replace(/\n/g, '\r\n') : run}]]>`;
      } else if (run.length > 1000) {
        // Long runs are escaped without per-character choices, to keep generation quick.
        xml += run.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r/g, '&#13;');
      } else {
        for (const char of run) {
          const written = this.character(char, false);
          // "]]>" may not stand in text (only as a CDATA section's end).
          xml += written === '>' && xml.endsWith(']]') ? '&gt;' : written;
        }
      }
      if (this.chance(0.05)) xml += '<!-- a comment -->';
    }
    return xml;
  }

  /** Attributes in random order, quoting and spacing; foreign ones among them. */
  attributes(pairs: [string, string][]): string {
    const all = [...pairs];
    if (this.chance(0.3)) all.push(['x14ac:dyDescent', '0.25']);
    if (this.chance(0.2)) all.push(['cm', '1']);
    let xml = '';
    for (const [name, value] of this.shuffle(all)) {
      const quote = this.chance(0.7) ? '"' : "'";
      const equals = this.pick(['=', ' = ', '=\n']);
      let written = '';
      for (const char of value) written += this.character(char, true);
      xml += `${this.pick([' ', '  ', '\n  ', '\t'])}${name}${equals}${quote}${written}${quote}`;
    }
    return xml;
  }

  /** An element name, with the declared prefix or in the default namespace. */
  name(local: string): string {
    return this.chance(0.2) ? `x:${local}` : local;
  }

  element(local: string, attributes: string, inner: string): string {
    const name = this.name(local);
    if (inner === '' && this.chance(0.5)) return `<${name}${attributes}${this.pick(['/>', ' />'])}`;
    return `<${name}${attributes}>${inner}</${name}${this.chance(0.1) ? ' ' : ''}>`;
  }

  space(): string {
    return this.chance(0.3) ? this.pick(['\n', '\n  ', '\r\n\t']) : '';
  }

  /** A `<t>` (with `xml:space` at times) holding `text`. */
  t(text: string): string {
    return this.element('t', this.chance(0.4) ? ' xml:space="preserve"' : '', this.content(text));
  }

  /** Rich-text runs, with formatting and a phonetic guide at times. */
  runs(): string {
    let xml = '';
    const count = this.int(1, 3);
    for (let i = 0; i < count; i++) {
      const format = this.chance(0.5) ? this.element('rPr', '', '<b/><sz val="11"/>') : '';
      // Short runs only: one item's text stays under Excel's limit for a cell.
      xml += this.element('r', '', format + this.t(this.text(false)));
    }
    if (this.chance(0.4)) xml += this.element('rPh', ' sb="0" eb="1"', this.t('ふりがな'));
    if (this.chance(0.2)) xml += '<phoneticPr fontId="1"/>';
    return xml;
  }

  sharedStringsPart(): { xml: string; count: number } {
    const count = this.int(0, 30);
    let items = '';
    for (let i = 0; i < count; i++) {
      items += this.space();
      if (this.chance(0.1)) items += this.element('si', '', '');
      else items += this.element('si', '', this.chance(0.6) ? this.t(this.text()) : this.runs());
    }
    return { xml: `${this.declaration()}${this.root('sst', ` count="${count}"`, items)}`, count };
  }

  cell(reference: string | undefined, strings: number): string {
    const attributes: [string, string][] = [];
    if (reference) attributes.push(['r', reference]);
    if (this.chance(0.3)) attributes.push(['s', String(this.int(0, 3))]);
    const kind = this.pick(['s', 'inlineStr', 'rich', 'str', 'n', 'b', 'e', 'empty', 'emptyValue']);
    const v = (text: string) => this.element('v', '', this.content(text));
    switch (kind) {
      case 's':
        attributes.push(['t', 's']);
        return this.element('c', this.attributes(attributes), v(String(this.int(0, strings + 1))));
      case 'inlineStr':
      case 'rich':
        attributes.push(['t', 'inlineStr']);
        return this.element(
          'c',
          this.attributes(attributes),
          this.element('is', '', kind === 'rich' ? this.runs() : this.t(this.text())),
        );
      case 'str':
        attributes.push(['t', 'str']);
        return this.element(
          'c',
          this.attributes(attributes),
          this.element('f', '', this.content('A1&"x"')) + v(this.text()),
        );
      case 'n':
        return this.element(
          'c',
          this.attributes(attributes),
          v(this.pick(['0', '42', '-1.5', '1E+21', '0.1', '00123', '3.14159'])),
        );
      case 'b':
        attributes.push(['t', 'b']);
        return this.element('c', this.attributes(attributes), v(this.pick(['0', '1'])));
      case 'e':
        attributes.push(['t', 'e']);
        return this.element('c', this.attributes(attributes), v(this.pick(['#N/A', '#DIV/0!', '#REF!'])));
      case 'emptyValue':
        return this.element('c', this.attributes(attributes), this.element('v', '', ''));
      default:
        return this.element('c', this.attributes(attributes), '');
    }
  }

  sheetPart(strings: number): string {
    let rows = '';
    let rowNumber = 0;
    const count = this.int(0, 25);
    for (let r = 0; r < count; r++) {
      rowNumber += this.int(1, 3);
      const rowAttributes: [string, string][] = [];
      if (this.chance(0.8)) rowAttributes.push(['r', String(rowNumber)]);
      if (this.chance(0.3)) rowAttributes.push(['spans', '1:8']);
      let cells = '';
      let column = 0;
      const width = this.int(0, 8);
      for (let c = 0; c < width; c++) {
        column += this.int(1, 2);
        const letter = String.fromCharCode(64 + ((column - 1) % 26) + 1);
        const reference = this.chance(0.85) ? `${column > 26 ? 'A' : ''}${letter}${rowNumber}` : undefined;
        cells += this.space() + this.cell(reference, strings);
      }
      rows += this.space() + this.element('row', this.attributes(rowAttributes), cells);
    }
    const views = this.chance(0.5) ? '<sheetViews><sheetView workbookViewId="0"/></sheetViews>' : '';
    return `${this.declaration()}${this.root('worksheet', '', `${views}${this.element('sheetData', '', rows)}`)}`;
  }

  declaration(): string {
    return this.chance(0.8) ? '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' : '';
  }

  root(local: string, attributes: string, inner: string): string {
    const name = this.name(local);
    const namespaces =
      ' xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"' +
      ' xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"' +
      ' xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac"';
    return `<${name}${namespaces}${attributes}>${inner}${this.space()}</${name}>`;
  }

  /** The document cut anywhere: single characters, small and large pieces. */
  chunks(xml: string): string[] {
    const chunks: string[] = [];
    for (let index = 0; index < xml.length; ) {
      // Mostly small pieces (a third under 40 characters), some of several kilobytes.
      const size = 1 + Math.floor(this.next() ** 3 * 8000);
      chunks.push(xml.slice(index, index + size));
      index += size;
    }
    return chunks;
  }
}

async function* stream(chunks: readonly string[]): AsyncGenerator<string> {
  yield* chunks;
}

const unlimited = () => new TextBudget(Number.POSITIVE_INFINITY, 'test:/generated');

function context(strings: readonly string[]): SheetContext {
  return { sharedStrings: strings, text: unlimited(), isDateStyle: () => false, date1904: false };
}

async function scannerRows(chunks: readonly string[], sheet: SheetContext): Promise<RawRow[]> {
  const rows: RawRow[] = [];
  for await (const batch of sheetRows(stream(chunks), sheet)) rows.push(...batch);
  return rows;
}

describe('the XML scanner against saxes', () => {
  it(`gives the same shared strings and cells as saxes for ${DOCUMENTS} generated workbooks`, async () => {
    const generate = new Generator(seededRandom(SEED));
    let cells = 0;
    let longTexts = 0;
    for (let document = 0; document < DOCUMENTS; document++) {
      const strings = generate.sharedStringsPart();
      const sheet = generate.sheetPart(strings.count);
      const where = `document ${document} (seed ${SEED})`;

      const expectedStrings = sharedStringsWithSaxes([strings.xml]);
      const actualStrings = await sharedStrings(stream(generate.chunks(strings.xml)), unlimited());
      expect(actualStrings, `${where}: shared strings`).toEqual(expectedStrings);
      expect(expectedStrings).toHaveLength(strings.count);

      const expectedRows = sheetRowsWithSaxes([sheet], context(expectedStrings));
      const actualRows = await scannerRows(generate.chunks(sheet), context(actualStrings));
      expect(actualRows, `${where}: rows`).toEqual(expectedRows);

      for (const row of expectedRows) {
        cells += row.cells.filter((cell) => cell !== '').length;
        longTexts += row.cells.filter((cell) => cell.length > 5000).length;
      }
    }
    // The documents hold what they are meant to: many cells, very long ones among them.
    expect(cells).toBeGreaterThan(10_000);
    expect(longTexts).toBeGreaterThan(10);
  });
});
