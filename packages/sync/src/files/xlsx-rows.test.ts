import { describe, expect, it } from 'vitest';
import { TextBudget } from '../connectors/source.ts';
import { type SheetContext, sharedStrings, sheetRows } from './xlsx-rows.ts';

const unlimited = () => new TextBudget(Number.POSITIVE_INFINITY, 'test:/file');

const DATE_STYLE = 1;
const context: SheetContext = {
  sharedStrings: ['Email', 'Ada Lovelace'],
  text: unlimited(),
  isDateStyle: (styleId) => styleId === DATE_STYLE,
  date1904: false,
};

async function* chunks(xml: string | string[]) {
  yield* Array.isArray(xml) ? xml : [xml];
}

async function read(xml: string | string[], sheet: SheetContext = context) {
  const rows = [];
  for await (const batch of sheetRows(chunks(xml), sheet)) rows.push(...batch);
  return rows;
}

const sheet = (rows: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows}</sheetData></worksheet>`;

describe('sheetRows', () => {
  it('fails a cell beyond the last column Excel has (XFD) rather than building a row that wide', async () => {
    await expect(read(sheet('<row r="1"><c r="AAAAA1"><v>1</v></c></row>'))).rejects.toThrow(
      'test:/file has a cell beyond column XFD, the last column Excel has (cell AAAAA1).',
    );
  });

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

  it('reads a sheet whose tags carry a namespace prefix, as some .NET tools write it', async () => {
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?><x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
      `<x:sheetData><x:row r="2"><x:c r="A2" t="s"><x:v>1</x:v></x:c><x:c r="B2" t="inlineStr"><x:is><x:t>x</x:t></x:is></x:c>` +
      `<x:c r="C2" s="1"><x:v>45306</x:v></x:c></x:row></x:sheetData></x:worksheet>`;
    expect(await read(xml)).toEqual([{ rowNumber: 2, cells: ['Ada Lovelace', 'x', '2024-01-15'] }]);
  });

  it('gives an empty row for a self-closing row and leaves a cell without a value empty', async () => {
    const rows = await read(
      sheet(`<row r="1" spans="1:2"/><row r="2"><c r="A2" s="1"/><c r="B2"><v>5</v></c></row>`),
    );
    expect(rows).toEqual([
      { rowNumber: 1, cells: [] },
      { rowNumber: 2, cells: ['', '5'] },
    ]);
  });

  it('gives an empty text for a shared string index the table does not hold', async () => {
    expect(
      (await read(sheet(`<row r="1"><c r="A1" t="s"><v>7</v></c><c r="B1"><v>1</v></c></row>`)))[0]!.cells,
    ).toEqual(['', '1']);
  });

  it('rejects a cell whose text has an unknown entity', async () => {
    await expect(
      read(sheet(`<row r="1"><c r="A1" t="inlineStr"><is><t>a &nbsp; b</t></is></c></row>`)),
    ).rejects.toThrow(/unknown entity/);
  });

  it('yields the rows of each chunk as soon as the chunk is read', async () => {
    const rowsXml = Array.from(
      { length: 4 },
      (_, i) => `<row r="${i + 1}"><c r="A${i + 1}"><v>${i}</v></c></row>`,
    );
    const head = `<worksheet><sheetData>`;
    const batches = [];
    for await (const batch of sheetRows(
      chunks([head + rowsXml[0] + rowsXml[1], rowsXml[2]! + rowsXml[3], '</sheetData></worksheet>']),
      context,
    )) {
      batches.push(batch.map((row) => row.rowNumber));
    }
    expect(batches).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });
});

const sst = (items: string) =>
  `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="9" uniqueCount="9">${items}</sst>`;

describe('sharedStrings', () => {
  it('gives the text of each plain and rich item, in order', async () => {
    const strings = await sharedStrings(
      chunks(
        sst(
          `<si><t>Email</t></si>` +
            `<si><r><rPr><b/><sz val="11"/></rPr><t xml:space="preserve">Ada </t></r><r><t>Lovelace</t></r></si>` +
            `<si><t xml:space="preserve">  spaced  </t></si>`,
        ),
      ),
      unlimited(),
    );
    expect(strings).toEqual(['Email', 'Ada Lovelace', '  spaced  ']);
  });

  it('leaves phonetic guides out and decodes entities and character references', async () => {
    const strings = await sharedStrings(
      chunks(
        sst(
          `<si><r><t>東</t></r><r><t>京</t></r><rPh sb="0" eb="2"><t>トウキョウ</t></rPh><phoneticPr fontId="1"/></si>` +
            `<si><t>Smith &amp; Sons &lt;ltd&gt; caf&#233; &#x1F600;</t></si>` +
            `<si><t>line one\r\nline two</t></si>`,
        ),
      ),
      unlimited(),
    );
    expect(strings).toEqual(['東京', 'Smith & Sons <ltd> café 😀', 'line one\nline two']);
  });

  it('keeps the place of empty items, so later indexes still match', async () => {
    const strings = await sharedStrings(
      chunks(sst(`<si/><si><t/></si><si><t></t></si><si><t>last</t></si>`)),
      unlimited(),
    );
    expect(strings).toEqual(['', '', '', 'last']);
  });

  it('reads items whose tags carry a namespace prefix', async () => {
    const strings = await sharedStrings(
      chunks(
        `<x:sst xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:si><x:t>one</x:t></x:si>` +
          `<x:si><x:r><x:t>tw</x:t></x:r><x:r><x:t>o</x:t></x:r></x:si></x:sst>`,
      ),
      unlimited(),
    );
    expect(strings).toEqual(['one', 'two']);
  });

  it('reads the same table from chunks split anywhere', async () => {
    const xml = sst(`<si><t>Ad&#233;le</t></si><si><r><t>a&amp;</t></r><r><t>b</t></r></si><si/>`);
    for (let size = 1; size <= 9; size++) {
      const parts = Array.from({ length: Math.ceil(xml.length / size) }, (_, i) =>
        xml.slice(i * size, (i + 1) * size),
      );
      expect(await sharedStrings(chunks(parts), unlimited())).toEqual(['Adéle', 'a&b', '']);
    }
  });

  it('fails a damaged or cut-off table instead of returning part of it', async () => {
    await expect(sharedStrings(chunks(sst(`<si><t>a</si>`)), unlimited())).rejects.toThrow(/expected/);
    await expect(sharedStrings(chunks(`<sst><si><t>a</t></si><si><t>b`), unlimited())).rejects.toThrow(
      /ends before/,
    );
    await expect(sharedStrings(chunks(sst(`<si><t>AT&T</t></si>`)), unlimited())).rejects.toThrow(/entity/);
  });
});
