import { describe, expect, it } from 'vitest';
import { type SheetContext, sheetRows } from './xlsx-rows.ts';

const DATE_STYLE = 1;
const context: SheetContext = {
  sharedStrings: ['Email', { richText: [{ text: 'Ada ' }, { text: 'Lovelace' }] }, null],
  isDateStyle: (styleId) => styleId === DATE_STYLE,
  date1904: false,
};

async function read(xml: string | string[], sheet: SheetContext = context) {
  async function* chunks() {
    yield* Array.isArray(xml) ? xml : [xml];
  }
  const rows = [];
  for await (const batch of sheetRows(chunks(), sheet)) rows.push(...batch);
  return rows;
}

const sheet = (rows: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`;

describe('sheetRows', () => {
  it('reads shared, rich, inline and formula strings, numbers, booleans and errors as the text shown', async () => {
    const rows = await read(
      sheet(
        `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>in &amp; line</t></is></c></row>` +
          `<row r="2"><c r="A2"><v>1.5</v></c><c r="B2"><v>1E+21</v></c><c r="C2" t="b"><v>1</v></c><c r="D2" t="b"><v>0</v></c>` +
          `<c r="E2" t="e"><v>#N/A</v></c><c r="F2" t="str"><f>A1&amp;"x"</f><v>Emailx</v></c><c r="G2"><f>1+1</f><v>2</v></c></row>`,
      ),
    );
    expect(rows).toEqual([
      { rowNumber: 1, cells: ['Email', 'Ada Lovelace', 'in & line'] },
      { rowNumber: 2, cells: ['1.5', '1000000000000000000000', 'TRUE', 'FALSE', '#N/A', 'Emailx', '2'] },
    ]);
  });

  it('turns numbers in a date format into ISO dates, in both date systems', async () => {
    const xml = sheet(
      `<row r="1"><c r="A1" s="1"><v>45306</v></c><c r="B1" s="1"><v>45306.5</v></c><c r="C1"><v>45306</v></c></row>`,
    );
    expect((await read(xml))[0]!.cells).toEqual(['2024-01-15', '2024-01-15T12:00:00', '45306']);
    expect((await read(xml, { ...context, date1904: true }))[0]!.cells[0]).toBe('2028-01-16');
  });

  it('places cells by their reference, leaving gaps empty, and numbers rows by theirs', async () => {
    const rows = await read(
      sheet(
        `<row r="3"><c r="B3"><v>2</v></c><c r="AA3"><v>27</v></c></row><row r="7"><c r="A7"><v>1</v></c></row>`,
      ),
    );
    expect(rows[0]!.rowNumber).toBe(3);
    expect(rows[0]!.cells).toHaveLength(27);
    expect(rows[0]!.cells[1]).toBe('2');
    expect(rows[0]!.cells[26]).toBe('27');
    expect(rows[0]!.cells[0]).toBe('');
    expect(rows[1]).toEqual({ rowNumber: 7, cells: ['1'] });
  });

  it('counts rows and cells in order where the file leaves out their references', async () => {
    const rows = await read(
      sheet(`<row><c><v>1</v></c><c><v>2</v></c></row><row><c t="inlineStr"><is><t>x</t></is></c></row>`),
    );
    expect(rows).toEqual([
      { rowNumber: 1, cells: ['1', '2'] },
      { rowNumber: 2, cells: ['x'] },
    ]);
  });

  it('leaves phonetic guides out of a cell’s text and keeps rich inline runs', async () => {
    const rows = await read(
      sheet(
        `<row r="1"><c r="A1" t="inlineStr"><is><r><t>東</t></r><r><t>京</t></r><rPh sb="0" eb="2"><t>トウキョウ</t></rPh></is></c></row>`,
      ),
    );
    expect(rows[0]!.cells).toEqual(['東京']);
  });

  it('reads a sheet split into chunks anywhere, even inside a tag or a character reference', async () => {
    const xml = sheet(
      `<row r="1"><c r="A1" t="inlineStr"><is><t>caf&#233; &amp; bar</t></is></c><c r="B1"><v>42</v></c></row>`,
    );
    const chunks = xml.match(/.{1,7}/gs) ?? [];
    expect((await read(chunks))[0]!.cells).toEqual(['café & bar', '42']);
  });

  it('fails malformed XML instead of returning part of the sheet as if complete', async () => {
    await expect(
      read(sheet(`<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</c></row>`)),
    ).rejects.toThrow();
    await expect(read(`<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row>`)).rejects.toThrow();
  });
});
